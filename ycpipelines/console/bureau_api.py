"""The bureaus' desk in the JSON API (数源部门接口), under /api/bureau: the same session, CSRF
header, scopes and registry rules as the pages (another bureau's ticket or dataset → 404, a
refused step → 409)."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Security
from pydantic import BaseModel, Field

from ycpipelines.collect.backfill import request_backfill
from ycpipelines.console import api_models as out
from ycpipelines.console.api import CSRF, REFUSALS, SESSION, SignedInFirst
from ycpipelines.console.bureau import take_step
from ycpipelines.console.context import App, Id
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import Viewer

router = APIRouter(
    prefix="/api/bureau",
    tags=["bureau"],
    dependencies=[Security(SESSION)],
    responses=REFUSALS,
    route_class=SignedInFirst,
)
Reader = Annotated[Viewer, needs("bureau:", "admin", "operator", "supervisor")]
Bureau = Annotated[Viewer, needs("bureau:")]


class Message(out.Row):
    """One step of a ticket's thread (工单往来)."""

    actor: str
    kind: str
    text: str
    at: out.Stamp


class Thread(BaseModel):
    ticket: out.Ticket
    messages: list[Message]


class StepIn(BaseModel):
    """A step on a ticket: the bureau acks or disputes (a reason required); the governance team
    answers or closes."""

    action: Literal["ack", "dispute", "close", "reply"]
    note: str = Field(default="", max_length=2000)


class Backfill(out.Row):
    """A backfill request (补采) and its progress."""

    id: int
    bureau: str
    dataset: str
    first: date
    last: date
    requested_by: str
    status: str
    runs: int
    done: int
    failed: int
    rows: int


class BackfillIn(BaseModel):
    dataset: str = Field(max_length=64)
    first: date
    last: date


@router.get("/tickets")
def tickets(seen: Reader, app: App) -> list[out.Ticket]:
    """The tickets the viewer may see (its bureaus' own, or all for the governance team)."""
    return [out.Ticket.model_validate(t) for t in app.registry.visible_tickets(seen.name)]


@router.get("/tickets/{ticket_id}")
def thread(ticket_id: Id, seen: Reader, app: App) -> Thread:
    found = app.registry.ticket_for(seen.name, ticket_id)
    messages = app.registry.ticket_thread(ticket_id)
    return Thread(
        ticket=out.Ticket.model_validate(found),
        messages=[Message.model_validate(m) for m in messages],
    )


@router.post("/tickets/{ticket_id}", openapi_extra=CSRF)
def step(ticket_id: Id, taken: StepIn, seen: Reader, app: App) -> Thread:
    app.registry.ticket_for(seen.name, ticket_id)  # another bureau's: 404
    take_step(app, seen, ticket_id, taken.action, taken.note)
    return thread(ticket_id, seen, app)


@router.get("/backfills")
def backfills(seen: Reader, app: App) -> list[Backfill]:
    return [Backfill.model_validate(b) for b in app.registry.backfills_for(seen.name)]


@router.post("/backfills", openapi_extra=CSRF)
def new_backfill(asked: BackfillIn, seen: Bureau, app: App) -> Backfill:
    """Request a backfill of one of the bureau's own datasets' days (another's: 404)."""
    found = request_backfill(
        app.registry, app.catalog, seen.name, asked.dataset, asked.first, asked.last
    )
    return Backfill.model_validate(found)
