"""The console's JSON API (控制台接口) under /api/, described at /api/openapi.json: the same
session cookie as the pages, the X-CSRF-Token header on every unsafe request (the app's guard),
the registry's scopes and rules. Not the viewer's → 404, not signed in → 401, wrong role → 403,
a registry refusal → 409 (errors.py)."""

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ycpipelines.console import api_models as out
from ycpipelines.console.context import App, Id
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import COOKIE, SignedIn, SignInNeeded, Viewer, session_of
from ycpipelines.egress.desk import review_sheet
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry.credentials import Stage
from ycpipelines.registry.deliveries import standing
from ycpipelines.registry.verify import REQUEST_STATES

# The session cookie, documented (auto_error off: the session dependency answers 401).
SESSION = APIKeyCookie(
    name=COOKIE, scheme_name="session", auto_error=False, description="the console's session"
)
# Every unsafe request repeats the session's CSRF token (checked by the app's guard: 403).
CSRF = {
    "parameters": [
        {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
            "description": "the session's CSRF token (会话的防伪令牌)",
        }
    ]
}
RequestStatus = StrEnum("RequestStatus", {s: s for s in sorted(set(REQUEST_STATES.values()))})


class Refusal(BaseModel):
    """Why a request was refused; never a value that was sent."""

    detail: str


class SignedInFirst(APIRoute):
    """A route that answers 401 to a caller without a signed-in session before it reads the
    body (FastAPI parses it before the dependencies run): input sent anonymously is never
    looked at, nor answered about."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            app = request.app.state.console
            found = await run_in_threadpool(session_of, request, app)  # a registry read
            if found is None or found.stage != Stage.FULL:
                raise SignInNeeded()
            return await handler(request)

        return checked


REFUSALS = {code: {"model": Refusal} for code in (400, 401, 403, 404, 409, 422)}
router = APIRouter(
    prefix="/api",
    tags=["console"],
    dependencies=[Security(SESSION)],
    responses=REFUSALS,
    route_class=SignedInFirst,
)
RequestReader = Annotated[Viewer, needs("admin", "reviewer", "supervisor", "consumer:")]
DeliveryReader = Annotated[Viewer, needs("admin", "supervisor", "consumer:")]
TicketReader = Annotated[Viewer, needs("admin", "reviewer", "supervisor", "operator", "bureau:")]
Reviewer = Annotated[Viewer, needs("reviewer")]


@router.get("/me")
def me(seen: SignedIn) -> out.Me:
    """The signed-in account and its verified roles."""
    return out.Me(
        name=seen.name,
        roles=sorted(seen.roles),
        consumers=sorted(seen.scoped("consumer")),
        bureaus=sorted(seen.scoped("bureau")),
    )


@router.get("/requests")
def requests(
    seen: RequestReader, app: App, status: Annotated[RequestStatus | None, Query()] = None
) -> list[out.Request]:
    """Approval requests the viewer may see (all, or its consumers' own), oldest first."""
    found = app.registry.visible_requests(seen.name, status.value if status else None)
    return [out.Request.model_validate(r) for r in found]


@router.get("/requests/{request_id}")
def request(request_id: Id, seen: RequestReader, app: App) -> out.RequestDetail:
    """One request and the figures of its review sheet (no sample rows)."""
    found = app.registry.request_for(seen.name, request_id)
    sheet = review_sheet(app.registry, app.catalog, request_id)
    return out.RequestDetail(
        request=out.Request.model_validate(found), evidence=out.evidence_of(sheet)
    )


@router.post("/requests/{request_id}/decision", openapi_extra=CSRF)
def decide(request_id: Id, decision: out.Decision, seen: Reviewer, app: App) -> out.Request:
    """A reviewer approves or rejects a pending request; the registry's rules decide whether
    this reviewer may (four eyes, grantor, still pending)."""
    app.registry.request_for(seen.name, request_id)
    decided = app.registry.decide(
        request_id, approve=decision.approve, reviewer=seen.name, comment=decision.comment
    )
    return out.Request.model_validate(decided)


def delivery_out(delivery: object, grants: dict) -> out.Delivery:
    found = out.Delivery.model_validate(delivery)
    grant = grants.get(found.authorization_id)
    return found.model_copy(update={"standing": standing(delivery, grant, pilot_today())})


@router.get("/deliveries")
def deliveries(seen: DeliveryReader, app: App) -> list[out.Delivery]:
    """Deliveries the viewer may see (its consumers', or all for the admin and supervisor)."""
    grants = {a.id: a for a in app.registry.authorizations()}
    return [delivery_out(d, grants) for d in app.registry.visible_deliveries(seen.name)]


@router.get("/deliveries/{delivery_id}")
def delivery(delivery_id: Id, seen: DeliveryReader, app: App) -> out.Delivery:
    found = app.registry.visible_delivery(seen.name, delivery_id)
    grants = {a.id: a for a in app.registry.authorizations(consumer=found.consumer)}
    return delivery_out(found, grants)


@router.get("/authorizations")
def authorizations(seen: DeliveryReader, app: App) -> list[out.Authorization]:
    """Authorizations the viewer may see, with their contingency plans."""
    found = app.registry.visible_authorizations(seen.name)
    return [out.Authorization.model_validate(a) for a in found]


@router.get("/tickets/{ticket_id}")
def ticket(ticket_id: Id, seen: TicketReader, app: App) -> out.Ticket:
    """A ticket the viewer may see (the governance team's, or its bureau's own)."""
    return out.Ticket.model_validate(app.registry.ticket_for(seen.name, ticket_id))
