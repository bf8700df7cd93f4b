"""`ycp tickets`: feedback tickets to bureaus (问题数据反馈) and what bureaus answer."""

import click

from ycpipelines.cli.context import Cli, pass_cli, registry_refusals
from ycpipelines.cli.output import fields, json_option, show, stamp
from ycpipelines.cli.params import BUREAU, DATASET, TICKET_STATUSES


@click.group("tickets")
def command() -> None:
    """问题数据反馈: feedback tickets to bureaus about quarantined and conflicting rows."""


@command.command("list")
@click.option("--status", type=click.Choice(TICKET_STATUSES), help="only tickets in this state")
@click.option("--bureau", type=BUREAU, help="only this bureau's tickets")
@click.option("--dataset", type=DATASET, help="only this dataset's tickets")
@json_option
@pass_cli
def tickets_list(
    cli: Cli, status: str | None, bureau: str | None, dataset: str | None, as_json: bool
) -> None:
    """Tickets, oldest first: state, bureau, dataset, day, rule and how many rows."""
    rows = [
        {
            "id": t.id,
            "status": t.status,
            "bureau": t.bureau,
            "dataset": t.dataset,
            "day": t.day,
            "stage": t.stage,
            "rule": t.rule,
            "rows": t.count,
            "opened_at": t.opened_at,
            "updated_at": t.updated_at,
        }
        for t in cli.registry().tickets(status=status, bureau=bureau, dataset=dataset)
    ]
    show(rows, as_json, title="feedback tickets")


@command.command("show")
@click.argument("ticket_id", type=int)
@pass_cli
def tickets_show(cli: Cli, ticket_id: int) -> None:
    """A ticket with the rows it names (masked key and source line) and its history."""
    registry = cli.registry()
    with registry_refusals():
        t = registry.ticket(ticket_id)
    click.echo(f"ticket {t.id} [{t.status}] {t.bureau} / {t.dataset} / {t.day} ({t.stage})")
    fields({"rule": t.rule, "reason": t.reason, "rows": t.count, "note": t.note})
    for key in t.row_keys:
        click.echo(f"  {key}")
    history = [
        {"at": stamp(e.at), "actor": e.actor, "action": e.action}
        for e in registry.history(f"ticket/{t.id}")
    ]
    show(history, False, title="history")


def act(cli: Cli, ticket_id: int, action: str, note: str) -> None:
    registry = cli.registry()
    actor = cli.acting_user()
    with registry_refusals():
        t = registry.act_on_ticket(ticket_id, action, actor=actor, note=note)
    click.echo(f"ticket {t.id} {t.status} by {actor}")


@command.command("ack")
@click.argument("ticket_id", type=int)
@click.option("--comment", default="", help="a note for the governance team")
@pass_cli
def tickets_ack(cli: Cli, ticket_id: int, comment: str) -> None:
    """The bureau has seen the ticket and will re-deliver (its bureau:<id> accounts only)."""
    act(cli, ticket_id, "ack", comment)


@command.command("dispute")
@click.argument("ticket_id", type=int)
@click.option("--reason", required=True, help="the objection (异议): why the data is right")
@pass_cli
def tickets_dispute(cli: Cli, ticket_id: int, reason: str) -> None:
    """The bureau objects: its data is right (its bureau:<id> accounts only)."""
    act(cli, ticket_id, "dispute", reason)


@command.command("close")
@click.argument("ticket_id", type=int)
@click.option("--comment", required=True, help="the resolution")
@pass_cli
def tickets_close(cli: Cli, ticket_id: int, comment: str) -> None:
    """The governance team (admin or operator) closes a ticket; never the bureau itself."""
    act(cli, ticket_id, "close", comment)
