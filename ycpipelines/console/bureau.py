"""The bureaus' desk (数源部门工作台): a bureau's datasets and their deliveries calendar, its
feedback tickets with a thread (acknowledge, dispute 异议 with a reason, the governance team's
answers), and its backfills (补采) with progress. Another bureau's ticket or dataset is 404;
every rule is the registry's (`act_on_ticket`, `reply_ticket`, `request_backfill`)."""

from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from ycpipelines.collect.backfill import request_backfill
from ycpipelines.console.calendar import FRESHNESS, QUALITY, calendar, weeks_back
from ycpipelines.console.context import App, Console, Id
from ycpipelines.console.pages import acted, render
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import Viewer
from ycpipelines.foundation.clock import in_calendar, pilot_today

router = APIRouter(include_in_schema=False)
Bureau = Annotated[Viewer, needs("bureau:")]
TicketDesk = Annotated[Viewer, needs("bureau:", "admin", "operator", "supervisor")]
BackfillDesk = Annotated[Viewer, needs("bureau:", "admin", "operator", "supervisor")]
Text = Annotated[str, Form(max_length=2000)]
Step = Literal["ack", "dispute", "close", "reply"]
MAX_WEEKS = 12


def own_datasets(app: Console, seen: Viewer) -> list:
    """The catalog's datasets of the viewer's bureaus."""
    mine = seen.scoped("bureau")
    return [d for d in app.catalog.datasets if d.bureau in mine]


@router.get("/bureau")
def desk(
    request: Request,
    seen: Bureau,
    app: App,
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS)] = 4,
    until: Annotated[date | None, Query()] = None,
) -> Response:
    """The bureau's datasets, each a calendar of `weeks` weeks ending with `until`'s week
    (default: today's), coloured by freshness and open tickets."""
    today, now = pilot_today(), datetime.now(UTC)
    last = until if until and in_calendar(until) else today
    grid = weeks_back(last, weeks)
    days = [d for week in grid for d in week]
    rows = [(d, calendar(app.registry, d, days, now)) for d in own_datasets(app, seen)]
    return render(
        request,
        "bureau.html",
        datasets=[(d, [cells[i : i + 7] for i in range(0, len(cells), 7)]) for d, cells in rows],
        today=today,
        weeks=weeks,
        until=last,
        freshness=FRESHNESS,
        quality=QUALITY,
        bureaus=sorted(seen.scoped("bureau")),
    )


@router.get("/bureau/tickets")
def tickets(request: Request, seen: TicketDesk, app: App) -> Response:
    found = app.registry.visible_tickets(seen.name)
    return render(request, "bureau_tickets.html", tickets=found)


def key_and_line(row_key: str) -> tuple[str, str]:
    """A ticket row's masked key and its source line (`key @ line`; a conflict names no line)."""
    masked, sep, line = row_key.rpartition(" @ ")
    return (masked, line) if sep else (row_key, "")


def ticket_page(
    request: Request, app: Console, seen: Viewer, ticket_id: int, status: int = 200, **more: object
) -> Response:
    found = app.registry.ticket_for(seen.name, ticket_id)
    return render(
        request,
        "bureau_ticket.html",
        status=status,
        ticket=found,
        rows=[key_and_line(key) for key in found.row_keys],
        thread=app.registry.ticket_thread(ticket_id),
        owner=found.bureau in seen.scoped("bureau"),
        governance=seen.has("admin", "operator") and found.bureau not in seen.scoped("bureau"),
        **more,
    )


@router.get("/bureau/tickets/{ticket_id}")
def ticket(request: Request, ticket_id: Id, seen: TicketDesk, app: App) -> Response:
    return ticket_page(request, app, seen, ticket_id)


@router.post("/bureau/tickets/{ticket_id}")
def step(
    request: Request,
    ticket_id: Id,
    seen: TicketDesk,
    app: App,
    action: Annotated[Step, Form()],
    note: Text = "",
) -> Response:
    """A step on the ticket's thread; the registry decides who may take it."""
    app.registry.ticket_for(seen.name, ticket_id)  # another bureau's: 404

    def step() -> str:
        take_step(app, seen, ticket_id, action, note)
        return f"/bureau/tickets/{ticket_id}?done={action}"

    return acted(step, partial(ticket_page, request, app, seen, ticket_id))


def take_step(app: Console, seen: Viewer, ticket_id: int, action: str, note: str) -> None:
    if action == "reply":
        app.registry.reply_ticket(ticket_id, actor=seen.name, text=note)
    else:
        app.registry.act_on_ticket(ticket_id, action, actor=seen.name, note=note)


def backfills_page(
    request: Request, app: Console, seen: Viewer, status: int = 200, **more: object
) -> Response:
    return render(
        request,
        "bureau_backfills.html",
        status=status,
        backfills=app.registry.backfills_for(seen.name),
        datasets=own_datasets(app, seen),
        today=pilot_today(),
        **more,
    )


@router.get("/bureau/backfills")
def backfills(request: Request, seen: BackfillDesk, app: App) -> Response:
    return backfills_page(request, app, seen)


@router.post("/bureau/backfills")
def new_backfill(
    request: Request,
    seen: Bureau,
    app: App,
    dataset: Annotated[str, Form(max_length=64)],
    first: Annotated[date, Form()],
    last: Annotated[date, Form()],
) -> Response:
    """Request a backfill of one of the bureau's own datasets (another's: 404)."""

    def step() -> str:
        found = request_backfill(app.registry, app.catalog, seen.name, dataset, first, last)
        return f"/bureau/backfills?requested={found.id}"

    return acted(step, partial(backfills_page, request, app, seen))
