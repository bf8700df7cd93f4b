"""`ycp sandbox`: aggregate queries with differential privacy, released after review
(数据可用不可见)."""

import json
from pathlib import Path

import click

from ycpipelines.cli.context import Cli, pass_cli, refused, registry_refusals
from ycpipelines.cli.output import fields, json_option


@click.group("sandbox")
def command() -> None:
    """数据可用不可见: aggregate queries with differential privacy, released after review."""


@command.command("submit")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--consumer", required=True, help="the consumer asking (an authorized one)")
@pass_cli
def sandbox_submit(cli: Cli, spec: Path, consumer: str) -> None:
    """Run a query spec (JSON: dataset, dimensions, measures, filters, epsilon) in the domain."""
    from ycpipelines.foundation.clock import pilot_today
    from ycpipelines.foundation.lake import Lake
    from ycpipelines.sandbox.query import QueryRefused
    from ycpipelines.sandbox.service import submit

    with refused(json.JSONDecodeError, prefix=f"{spec} is not JSON: "):
        asked = json.loads(spec.read_text(encoding="utf-8"))
    with refused(QueryRefused, prefix="refused: "):
        query = submit(
            asked,
            consumer,
            cli.catalog(),
            cli.registry(),
            Lake(cli.settings.lake_root),
            pilot_today(),
        )
    click.echo(
        f"query {query.id}: ε {query.epsilon} charged; result awaits review "
        f"(approval request {query.request_id})"
    )


@command.command("status")
@click.argument("query_id", type=int)
@json_option
@pass_cli
def sandbox_status(cli: Cli, query_id: int, as_json: bool) -> None:
    """A query's state, its review, the ε it charged and the budget left."""
    registry = cli.registry()
    with registry_refusals():
        query = registry.sandbox_query(query_id)
    review = registry.request(query.request_id).status if query.request_id else "-"
    left = registry.authorization(query.authorization_id).epsilon - registry.spent(
        query.authorization_id
    )
    record = {
        "query": query.id,
        "consumer": query.consumer,
        "status": query.status,
        "review": review,
        "epsilon": query.epsilon,
        "budget_left": round(left, 4),
        "reason": query.reason or "",
    }
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False))
    else:
        fields(record, title=f"sandbox query {query.id}")


@command.command("result")
@click.argument("query_id", type=int)
@click.option("--consumer", required=True, help="the consumer the result is delivered to")
@pass_cli
def sandbox_result(cli: Cli, query_id: int, consumer: str) -> None:
    """Deliver an approved result into the consumer's zone and print its rows."""
    import pyarrow.parquet as pq

    from ycpipelines.sandbox.query import QueryRefused
    from ycpipelines.sandbox.service import deliver_result

    with refused(QueryRefused):
        path = deliver_result(query_id, consumer, cli.registry(), Path(cli.settings.zone_root))
    click.echo(f"delivered: {path}")
    for row in pq.read_table(path).to_pylist():
        click.echo(json.dumps(row, ensure_ascii=False, default=str))
