"""`ycp ledger`: revenue of deliveries split among contributing bureaus (收益分配)."""

import click

from ycpipelines.cli.context import Cli, pass_cli, registry_refusals
from ycpipelines.cli.output import json_option, show
from ycpipelines.cli.params import Month


@click.group("ledger")
def command() -> None:
    """收益分配: revenue of deliveries, split among contributing bureaus."""


@command.command("settle")
@click.option("--period", required=True, type=Month(), help="month, YYYY-MM")
@json_option
@pass_cli
def ledger_settle(cli: Cli, period: str, as_json: bool) -> None:
    """Split the period's delivery prices by the rows each bureau contributed, in cents."""
    registry = cli.registry()
    actor = cli.acting_user()
    with registry_refusals():
        shares = registry.settle(period, actor)
    rows = [
        {
            "period": period,
            "bureau": s.bureau,
            "cents": s.cents,
            "yuan": f"{s.cents / 100:.2f}",
            "deliveries": list(s.deliveries),
        }
        for s in shares
    ]
    show(rows, as_json, title=f"settlement of {period}")
    if not as_json:
        click.echo(f"{period} total: {sum(s.cents for s in shares) / 100:.2f} yuan")


@command.command("reopen")
@click.option("--period", required=True, type=Month(), help="month, YYYY-MM")
@click.option("--reason", required=True, help="why the settlement was wrong (kept and audited)")
@pass_cli
def ledger_reopen(cli: Cli, period: str, reason: str) -> None:
    """Reopen a wrongly closed period through an audited correction; settle it again after."""
    registry = cli.registry()
    actor = cli.acting_user()
    with registry_refusals():
        correction = registry.reopen_settlement(period, actor, reason)
    superseded = sum(correction.cents.values()) / 100
    click.echo(
        f"reopened {period} (round {correction.round}, {superseded:.2f} yuan superseded); "
        f"run `ycp ledger settle --period {period}` to settle it again"
    )
