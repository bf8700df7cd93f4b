"""Settlements (收益分配) per period and per bureau, for the supervisor to read and the admin to
act on: settle a period, or reopen a wrongly closed one through an audited correction (结算更正)
with its reason. The registry decides each; its refusal is shown as it words it."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi import Path as InPath
from fastapi.responses import Response

from ycpipelines.console import pages
from ycpipelines.console.context import App, Console
from ycpipelines.console.pages import render
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import Viewer
from ycpipelines.registry.corrections import SettlementCorrection
from ycpipelines.registry.models import Settlement

router = APIRouter(include_in_schema=False)
Admin = Annotated[Viewer, needs("admin")]
Overseer = Annotated[Viewer, needs("admin", "supervisor")]
MONTH = r"^\d{4}-\d{2}$"
Period = Annotated[str, InPath(pattern=MONTH)]
PAGE = "/settlements"
DONE = {"settled": "已结算，并记入审计链。", "reopened": "已重开：原结算标记为已更正，可重新结算。"}


@dataclass
class PeriodView:
    """One period: its current shares and the rounds a correction superseded."""

    period: str
    current: list[Settlement] = field(default_factory=list)
    superseded: list[Settlement] = field(default_factory=list)
    corrections: list[SettlementCorrection] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(s.cents for s in self.current)


def periods(app: Console) -> list[PeriodView]:
    """Every settled period, newest first, with its history."""
    found: dict[str, PeriodView] = {}
    for row in app.registry.settlements():
        view = found.setdefault(row.period, PeriodView(row.period))
        (view.current if row.superseded_at is None else view.superseded).append(row)
    for correction in app.registry.corrections():
        found.setdefault(correction.period, PeriodView(correction.period))
        found[correction.period].corrections.append(correction)
    return [found[p] for p in sorted(found, reverse=True)]


def by_bureau(views: list[PeriodView]) -> list[tuple[str, int]]:
    """Each bureau's current total over all periods, in cents."""
    totals: dict[str, int] = {}
    for view in views:
        for row in view.current:
            totals[row.bureau] = totals.get(row.bureau, 0) + row.cents
    return sorted(totals.items())


def ledger_page(
    request: Request, app: Console, seen: Viewer, status: int = 200, **context: object
) -> Response:
    views = periods(app)
    return render(
        request,
        "settlements.html",
        status=status,
        periods=views,
        bureaus=by_bureau(views),
        acting=seen.has("admin"),
        done=DONE.get(request.query_params.get("done", "")),
        **context,
    )


def acted(request: Request, app: Console, seen: Viewer, action: Callable[[], str]) -> Response:
    """Run the action (it returns the notice's query); a refusal is shown on the page, 409."""
    return pages.acted(lambda: f"{PAGE}?{action()}", partial(ledger_page, request, app, seen))


@router.get(PAGE)
def settlements(request: Request, seen: Overseer, app: App) -> Response:
    return ledger_page(request, app, seen)


@router.post(PAGE)
def settle(
    request: Request,
    seen: Admin,
    app: App,
    period: Annotated[str, Form(pattern=MONTH)],
) -> Response:
    """Settle a period: split its deliveries' revenue among the contributing bureaus."""

    def apply() -> str:
        app.registry.settle(period, seen.name)
        return "done=settled"

    return acted(request, app, seen, apply)


@router.post(PAGE + "/{period}/reopen")
def reopen(
    request: Request,
    period: Period,
    seen: Admin,
    app: App,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Reopen a wrongly closed period through an audited correction (a reason is required)."""

    def apply() -> str:
        app.registry.reopen_settlement(period, seen.name, reason)
        return "done=reopened"

    return acted(request, app, seen, apply)
