"""`ycp trace`: name the consumer a leaked copy came from (溯源)."""

from pathlib import Path

import click

from ycpipelines.cli.context import Cli, pass_cli
from ycpipelines.cli.output import json_option, show


@click.command("trace")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@pass_cli
def command(cli: Cli, file: Path, as_json: bool) -> None:
    """溯源: name the consumer and delivery a leaked copy (Parquet or CSV) came from."""
    from ycpipelines.egress.trace import trace

    matches = trace(file, cli.catalog(), cli.registry())
    if not matches:
        raise click.ClickException("no delivery carries these pseudonyms")
    rows = [
        {
            "consumer": m.delivery.consumer,
            "delivery": m.delivery.id,
            "scenario": m.delivery.scenario,
            "version": m.delivery.version,
            "delivered_at": m.delivery.delivered_at,
            "column": m.column,
            "matched": round(m.share, 4),
        }
        for m in matches
    ]
    show(rows, as_json, title="deliveries this copy matches")
