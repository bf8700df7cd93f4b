"""`ycp auth`: authorizations of consumers for scenarios (授权), each with its contingency plan."""

from datetime import date
from typing import TYPE_CHECKING, Any

import click

from ycpipelines.cli.context import Cli, pass_cli, registry_refusals
from ycpipelines.cli.output import json_option, show
from ycpipelines.cli.params import AUTHORIZATION_STATUSES, Day
from ycpipelines.foundation.keys import AssetRef, Layer

if TYPE_CHECKING:
    from ycpipelines.registry.models import Authorization


@click.group("auth")
def command() -> None:
    """授权: authorizations of consumers for scenarios, each with its contingency plan."""


def grantable_fields(cli: Cli, scenario: str, epsilon: float | None) -> list[str]:
    """The fields a scenario (a product, or safe/<dataset> for the sandbox) can grant."""
    from ycpipelines.catalog import Policy

    catalog = cli.catalog()
    sandbox = {
        str(AssetRef(Layer.SAFE, d.id)): [
            f.safe_column for f in d.fields if f.policy != Policy.DROP
        ]
        for d in catalog.datasets
    }
    grantable = {p.scenario: [f.name for f in p.fields] for p in catalog.products} | sandbox
    if scenario not in grantable:
        raise click.BadParameter(
            f"no product or safe dataset {scenario!r}; one of {', '.join(sorted(grantable))}",
            param_hint="--scenario",
        )
    if scenario in sandbox and epsilon is None:
        raise click.UsageError("sandbox access needs a privacy budget (--epsilon)")
    return grantable[scenario]


@command.command("grant")
@click.option("--consumer", required=True, help="the consumer (使用方) authorized")
@click.option("--scenario", required=True, help="a product, or safe/<dataset> for sandbox queries")
@click.option("--field", "fields", multiple=True, help="granted fields [every field]")
@click.option("--from", "first", required=True, type=Day(), help="valid from, YYYY-MM-DD")
@click.option("--to", "last", required=True, type=Day(), help="valid to, YYYY-MM-DD")
@click.option("--plan", required=True, help="the contingency plan (预案) or its reference")
@click.option("--epsilon", type=float, default=None, help="privacy budget of sandbox queries")
@pass_cli
def auth_grant(
    cli: Cli,
    consumer: str,
    scenario: str,
    fields: tuple[str, ...],
    first: date,
    last: date,
    plan: str,
    epsilon: float | None,
) -> None:
    """Authorize a consumer for a scenario (an admin only)."""
    grantable = grantable_fields(cli, scenario, epsilon)
    if unknown := sorted(set(fields) - set(grantable)):
        raise click.BadParameter(f"fields {unknown} are not in {scenario}", param_hint="--field")
    registry = cli.registry()
    actor = cli.acting_user()
    with registry_refusals():
        grant = registry.grant(
            consumer=consumer,
            scenario=scenario,
            fields=list(fields) or grantable,
            valid_from=first,
            valid_to=last,
            plan=plan,
            actor=actor,
            epsilon=epsilon,
        )
    click.echo(f"authorization {grant.id}: {consumer} may receive {scenario} until {last}")


def authorization_row(a: "Authorization") -> dict[str, Any]:
    """An authorization as a row of `auth list` and a part of `egress show`."""
    return {
        "id": a.id,
        "status": a.status,
        "consumer": a.consumer,
        "scenario": a.scenario,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "fields": list(a.fields),
        "epsilon": a.epsilon,
        "plan": a.plan,
        "granted_by": a.granted_by,
        "granted_at": a.granted_at,
    }


@command.command("list")
@click.option("--consumer", default=None, help="only this consumer's authorizations")
@click.option("--status", type=click.Choice(AUTHORIZATION_STATUSES), help="only in this state")
@json_option
@pass_cli
def auth_list(cli: Cli, consumer: str | None, status: str | None, as_json: bool) -> None:
    """Authorizations, oldest first: consumer, scenario, validity, fields and plan."""
    rows = [
        authorization_row(a)
        for a in cli.registry().authorizations(consumer=consumer)
        if status is None or a.status == status
    ]
    show(rows, as_json, title="authorizations")


def change(cli: Cli, grant_id: int, status: str, reason: str) -> None:
    registry = cli.registry()
    actor = cli.acting_user()
    with registry_refusals():
        grant, voided, revoked = registry.change_authorization(
            grant_id, status, actor=actor, reason=reason
        )
    click.echo(f"authorization {grant.id} {grant.status}")
    if status == "revoked":
        click.echo(f"voided {voided} open requests; {revoked} delivered versions marked revoked")
        click.echo(f"contingency plan (预案): {grant.plan}")


reason_option = click.option("--reason", required=True, help="why, for the audit log")


@command.command("suspend")
@click.argument("grant_id", type=int)
@reason_option
@pass_cli
def auth_suspend(cli: Cli, grant_id: int, reason: str) -> None:
    """Stop deliveries until resumed."""
    change(cli, grant_id, "suspended", reason)


@command.command("resume")
@click.argument("grant_id", type=int)
@reason_option
@pass_cli
def auth_resume(cli: Cli, grant_id: int, reason: str) -> None:
    """Let a suspended authorization deliver again."""
    change(cli, grant_id, "active", reason)


@command.command("revoke")
@click.argument("grant_id", type=int)
@reason_option
@pass_cli
def auth_revoke(cli: Cli, grant_id: int, reason: str) -> None:
    """Stop deliveries for good, void open requests, mark deliveries revoked, print the plan."""
    change(cli, grant_id, "revoked", reason)
