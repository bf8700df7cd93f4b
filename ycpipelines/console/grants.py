"""Authorizations and their contingency plans (授权与预案) for the admin, read-only for the
supervisor: every authorization, a grant form (a consumer, a product of the catalog, its fields
as checkboxes, the validity, the 预案 and an optional ε) and suspend / resume / revoke with a
reason. The registry decides each: its refusal is shown as it words it."""

import math
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from ycpipelines.catalog import Product
from ycpipelines.console import pages
from ycpipelines.console.context import MAX_ID, App, Console, Id
from ycpipelines.console.pages import render
from ycpipelines.console.roles import needs
from ycpipelines.console.sessions import Viewer
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry import RegistryError
from ycpipelines.registry.scopes import scoped

router = APIRouter(include_in_schema=False)
Admin = Annotated[Viewer, needs("admin")]
Overseer = Annotated[Viewer, needs("admin", "supervisor")]
Text = Annotated[str, Form(min_length=1, max_length=64)]
Day = Annotated[date, Form()]
PAGE = "/admin/authorizations"
DONE = {
    "granted": "已授权，并记入审计链。",
    "suspended": "已暂停：暂停期间不再交付。",
    "active": "已恢复。",
    "revoked": "已撤回：未决申请已作废，已交付版本标记为撤回，使用方须销毁并确认。请执行预案：",
}


def products(app: Console) -> dict[str, Product]:
    return {p.scenario: p for p in app.catalog.products}


def consumer_ids(app: Console) -> list[str]:
    """The consumer ids the accounts hold, offered in the grant form."""
    return sorted({c for u in app.registry.users() for c in scoped(set(u.roles), "consumer")})


def notice(app: Console, request: Request) -> str | None:
    """What the last action did; a revocation repeats its authorization's 预案."""
    done = DONE.get(request.query_params.get("done", ""))
    grant = request.query_params.get("id", "")
    revoked = request.query_params.get("done") == "revoked"
    if done and revoked and grant.isdigit() and int(grant) <= MAX_ID:
        try:
            return f"{done}{app.registry.authorization(int(grant)).plan}"
        except RegistryError:
            return done
    return done


def grants_page(
    request: Request, app: Console, seen: Viewer, status: int = 200, **context: object
) -> Response:
    catalog = products(app)
    chosen = request.query_params.get("scenario", "")
    chosen = chosen if chosen in catalog else next(iter(catalog), "")
    today = pilot_today()
    return render(
        request,
        "admin_authorizations.html",
        status=status,
        grants=list(reversed(app.registry.authorizations())),
        acting=seen.has("admin"),
        products=list(catalog.values()),
        chosen=catalog.get(chosen),
        consumers=consumer_ids(app),
        today=today,
        until=today + timedelta(days=365),
        done=notice(app, request),
        **context,
    )


def acted(request: Request, app: Console, seen: Viewer, action: Callable[[], str]) -> Response:
    """Run the action (it returns the notice's query); a refusal is shown on the page, 409."""
    return pages.acted(lambda: f"{PAGE}?{action()}", partial(grants_page, request, app, seen))


def chosen_fields(app: Console, scenario: str, fields: list[str]) -> list[str]:
    """The ticked fields of a catalog product, in the product's order (一清单)."""
    product = products(app).get(scenario)
    if product is None:
        raise RegistryError(f"no product {scenario!r} in the catalog")
    known = [f.name for f in product.fields]
    if unknown := sorted(set(fields) - set(known)):
        raise RegistryError(f"fields {unknown} are not in {scenario}")
    if not fields:
        raise RegistryError("an authorization needs at least one field")
    return [name for name in known if name in fields]


def budget(text: str) -> float | None:
    """The optional privacy budget ε, a positive number."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise RegistryError("ε (epsilon) must be a positive number")
    return value


@router.get(PAGE)
def authorizations(request: Request, seen: Overseer, app: App) -> Response:
    return grants_page(request, app, seen)


@router.get(f"{PAGE}/fields")
def fields_of(request: Request, _: Admin, app: App, scenario: str = "") -> Response:
    """The field checkboxes of one product (the grant form swaps them in when the scenario
    changes)."""
    return render(request, "_grant_fields.html", chosen=products(app).get(scenario))


@router.post(PAGE)
def grant(
    request: Request,
    seen: Admin,
    app: App,
    consumer: Text,
    scenario: Text,
    valid_from: Day,
    valid_to: Day,
    plan: Annotated[str, Form(max_length=4000)] = "",
    fields: Annotated[list[str] | None, Form()] = None,
    epsilon: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    def record() -> str:
        made = app.registry.grant(
            consumer=consumer.strip(),
            scenario=scenario,
            fields=chosen_fields(app, scenario, fields or []),
            valid_from=valid_from,
            valid_to=valid_to,
            plan=plan,
            actor=seen.name,
            epsilon=budget(epsilon),
        )
        return f"done=granted&id={made.id}"

    return acted(request, app, seen, record)


@router.post(PAGE + "/{grant_id}/status")
def change(
    request: Request,
    grant_id: Id,
    seen: Admin,
    app: App,
    status: Annotated[Literal["suspended", "active", "revoked"], Form()],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Suspend, resume or revoke, with the reason the audit chain keeps."""

    def apply() -> str:
        app.registry.change_authorization(grant_id, status, actor=seen.name, reason=reason)
        return f"done={status}&id={grant_id}"

    return acted(request, app, seen, apply)
