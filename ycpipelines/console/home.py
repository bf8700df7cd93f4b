"""The home page (首页): what waits for the signed-in account, by role, and its notifications
(通知: the registry's notices for the account's verified roles)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ycpipelines.console.context import App
from ycpipelines.console.pages import render
from ycpipelines.console.roles import LABELS
from ycpipelines.console.sessions import SignedIn
from ycpipelines.foundation.clock import pilot_today

router = APIRouter(include_in_schema=False)


def role_label(role: str) -> str:
    kind, _, scope = role.partition(":")
    return f"{LABELS[kind + ':']} · {scope}" if scope else LABELS.get(role, role)


@router.get("/")
def home(request: Request, seen: SignedIn, app: App) -> Response:
    waiting = {}
    if seen.has("reviewer", "supervisor"):
        waiting["pending"] = len(app.registry.requests("pending"))
    if seen.scoped("consumer"):
        waiting["deliveries"] = len(app.registry.deliveries_for(seen.name))
    roles = [role_label(r) for r in sorted(seen.roles)]
    notices = app.registry.notices_for(seen.name, pilot_today())
    return render(request, "home.html", roles=roles, waiting=waiting, notices=notices)
