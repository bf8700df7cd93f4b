"""A consumer's deliveries (我的交付): its authorizations with their 预案, its delivered versions
with the standing the registry gives each, checked downloads, and the destruction confirmation
(销毁确认) of a revoked or ended version. Another consumer's delivery is 404."""

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from ycpipelines.console.context import App, Console, Id
from ycpipelines.console.pages import acted, render
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import Viewer
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry.deliveries import DESTROYABLE, standing
from ycpipelines.registry.models import Authorization, Delivery

router = APIRouter(include_in_schema=False)
Consumer = Annotated[Viewer, needs("consumer:")]
Note = Annotated[str, Form(max_length=2000)]

STANDINGS = {  # standing -> (label, css class)
    "delivered": ("可下载 delivered", "ok"),
    "revoked": ("已撤回 revoked", "bad"),
    "ended": ("授权已到期 ended", "bad"),
    "suspended": ("已暂停 suspended", "warn"),
    "destroyed": ("已确认销毁 destroyed", "muted"),
}


class PrivateCopy(FileResponse):
    """A private download copy, deleted once sent or when sending fails (the client went away),
    so no copy outlives its request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            Path(self.path).unlink(missing_ok=True)


@dataclass(frozen=True)
class DeliveryRow:
    """A delivered version and what its consumer may do with it now."""

    delivery: Delivery
    standing: str

    @property
    def label(self) -> tuple[str, str]:
        return STANDINGS.get(self.standing, (self.standing, "muted"))

    @property
    def destroyable(self) -> bool:
        return self.standing in DESTROYABLE


def delivery_rows(app: Console, name: str, grants: list[Authorization]) -> list[DeliveryRow]:
    """The account's deliveries, newest first, each with its standing today."""
    by_id, today = {g.id: g for g in grants}, pilot_today()
    found = app.registry.deliveries_for(name)
    return [
        DeliveryRow(d, standing(d, by_id.get(d.authorization_id), today)) for d in reversed(found)
    ]


def deliveries_page(
    request: Request, app: Console, seen: Viewer, status: int = 200, **context: object
) -> Response:
    grants = app.registry.authorizations_for(seen.name)
    rows = delivery_rows(app, seen.name, grants)
    return render(
        request,
        "deliveries.html",
        status=status,
        grants=list(reversed(grants)),
        rows=rows,
        to_destroy=[r for r in rows if r.destroyable],
        today=pilot_today(),
        consumers=sorted(seen.scoped("consumer")),
        **context,
    )


@router.get("/deliveries")
def deliveries(request: Request, seen: Consumer, app: App) -> Response:
    return deliveries_page(request, app, seen)


@router.get("/deliveries/{delivery_id}/download")
def download(delivery_id: Id, seen: Consumer, app: App) -> PrivateCopy:
    """The delivered bytes, as the registry checked them into a private copy (deleted once
    sent); the header repeats their SHA-256 for the consumer to compare."""
    found = app.registry.open_download(seen.name, delivery_id)
    return PrivateCopy(
        found.path,
        filename=found.filename,
        media_type="application/octet-stream",
        headers={"X-Content-SHA256": found.sha256},
    )


@router.post("/deliveries/{delivery_id}/destroyed")
def destroyed(
    request: Request, delivery_id: Id, seen: Consumer, app: App, note: Note = ""
) -> Response:
    """Confirm that every copy of a revoked or ended version was destroyed; the registry's
    refusal is shown on the page."""

    def step() -> str:
        app.registry.confirm_destroyed(seen.name, delivery_id, note)  # another's: 404
        return f"/deliveries?destroyed={delivery_id}"

    return acted(step, partial(deliveries_page, request, app, seen))
