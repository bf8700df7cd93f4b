"""Demands (供需对接) pages: an admitted consumer files a demand for a scenario (purpose, legal
basis, fields from the catalog with their levels; 禁止开放 fields are not offered, and the
registry refuses them if posted); the joint lab's scenario review (应用场景评审: lab or reviewer)
approves with a 预案, or refuses, with a comment. Approval records the authorization and, for a
new scenario, a product manifest proposal file that a data engineer commits: the console writes
no code, and says so."""

from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from ycpipelines.console import pages
from ycpipelines.console.context import MAX_ID, App, Console, Id
from ycpipelines.console.pages import render
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import Viewer
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry import NotFound
from ycpipelines.registry.demands import Demanded
from ycpipelines.registry.offer import offer

router = APIRouter(include_in_schema=False)
PAGE = "/demands"
NEW = "__new__"  # the scenario choice of a scenario with no product yet
Party = Annotated[Viewer, needs("consumer:", "lab", "reviewer")]
Consumer = Annotated[Viewer, needs("consumer:")]
Review = Annotated[Viewer, needs("lab", "reviewer")]
Text = Annotated[str, Form(max_length=2000)]
DONE = {
    "filed": "需求已提交，并记入审计链；等待联合实验室应用场景评审。",
    "refused": "已驳回需求，意见已记入审计链。",
    "approved": "已批准：授权已生成并记入审计链（批准人为授权人，不得审核其出域申请）。",
}


def field_offer(app: Console, scenario: str) -> dict:
    """The fields a form offers for a scenario (a product's, or safe/ columns for a new one)
    and how many the catalog holds back (禁止开放 or dropped by de-identification)."""
    name = "" if scenario == NEW else scenario
    new, offered = offer(app.catalog, name)
    shown = [f for f in offered if f.openable]
    return {"new": new, "offered": shown, "withheld": len(offered) - len(shown)}


def notice(app: Console, seen: Viewer, request: Request) -> str | None:
    """What the last action did; an approval names the proposal file a data engineer commits.
    The demand is looked up among those the viewer may see: another's is `NotFound` (404)."""
    done = DONE.get(request.query_params.get("done", ""))
    demand = request.query_params.get("id", "")
    if done and demand.isdigit() and int(demand) <= MAX_ID:
        visible = app.registry.visible_demands(seen.name)
        found = next((d for d in visible if d.id == int(demand)), None)
        if found is None:
            raise NotFound(f"no demand {demand}")
        if found.proposal:
            where = app.registry.proposals_dir() / found.proposal
            done += (
                f"新场景的产品清单提案已写入 {where}：须由数据工程师补全并审阅后提交到 "
                f"assets/products/{found.scenario}.yaml。控制台不写代码。"
            )
    return done


def demands_page(
    request: Request, app: Console, seen: Viewer, status: int = 200, **context: object
) -> Response:
    today, scenario = pilot_today(), request.query_params.get("scenario", "")
    products = app.catalog.products
    scenario = scenario if scenario == NEW else (scenario or products[0].scenario)
    return render(
        request,
        "demands.html",
        status=status,
        filing=bool(seen.scoped("consumer")),
        reviewing=seen.has("lab", "reviewer"),
        consumers=sorted(seen.scoped("consumer")),
        products=products,
        scenario=scenario,
        demands=list(reversed(app.registry.visible_demands(seen.name))),
        today=today,
        until=today + timedelta(days=365),
        done=notice(app, seen, request),
        new_choice=NEW,
        **field_offer(app, scenario),
        **context,
    )


def acted(request: Request, app: Console, seen: Viewer, action: Callable[[], str]) -> Response:
    """Run the action (it returns the notice's query); a refusal is shown on the page, 409."""
    return pages.acted(lambda: f"{PAGE}?{action()}", partial(demands_page, request, app, seen))


@router.get(PAGE)
def demands(request: Request, seen: Party, app: App) -> Response:
    return demands_page(request, app, seen)


@router.get(f"{PAGE}/fields")
def fields_of(request: Request, _: Consumer, app: App, scenario: str = "") -> Response:
    """The field checkboxes of one scenario (swapped in when the scenario changes)."""
    return render(request, "_demand_fields.html", new_choice=NEW, **field_offer(app, scenario))


@router.post(PAGE)
def file(
    request: Request,
    seen: Consumer,
    app: App,
    consumer: Annotated[str, Form(max_length=64)],
    scenario: Annotated[str, Form(max_length=64)],
    purpose: Text,
    legal_basis: Text,
    valid_from: Annotated[date, Form()],
    valid_to: Annotated[date, Form()],
    new_scenario: Annotated[str, Form(max_length=64)] = "",
    fields: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """File the demand; the registry checks admission, fields and validity."""
    name = new_scenario.strip() if scenario == NEW else scenario
    asked = Demanded(consumer, name, purpose, legal_basis, fields or [], valid_from, valid_to)

    def record() -> str:
        return f"done=filed&id={app.registry.file_demand(seen.name, asked, app.catalog).id}"

    return acted(request, app, seen, record)


@router.post(PAGE + "/{demand_id}/decision")
def decide(
    request: Request,
    demand_id: Id,
    seen: Review,
    app: App,
    decision: Annotated[Literal["approve", "refuse"], Form()],
    comment: Text = "",
    plan: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Approve (with the authorization's 预案) or refuse, with a comment."""
    approve = decision == "approve"

    def record() -> str:
        app.registry.decide_demand(demand_id, seen.name, approve, comment, app.catalog, plan)
        return f"done={'approved' if approve else 'refused'}&id={demand_id}"

    return acted(request, app, seen, record)
