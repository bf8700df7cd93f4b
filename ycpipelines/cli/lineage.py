"""`ycp lineage`: column-level lineage for auditors (字段级血缘)."""

from pathlib import Path

import click

from ycpipelines.cli.context import Cli, pass_cli, refused
from ycpipelines.cli.params import Output
from ycpipelines.foundation.environment import EnvironmentRefused


@click.group("lineage")
def command() -> None:
    """字段级血缘: column-level lineage for auditors."""


@command.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json", "openlineage"]),
    default="html",
    show_default=True,
    help="an HTML page, plain JSON or OpenLineage events",
)
@click.option("--out", required=True, type=Output(), help="file to write")
@pass_cli
def lineage_export(cli: Cli, fmt: str, out: Path) -> None:
    """Write every asset's columns and the columns each came from, as runs recorded them."""
    import dagster as dg

    from ycpipelines.definitions import build_definitions
    from ycpipelines.ops.lineage import FORMATS, collect

    with refused(EnvironmentRefused), dg.DagsterInstance.get() as instance:
        assets = collect(build_definitions(cli.catalog(), cli.settings), instance)
    with refused(OSError, prefix=f"cannot write {out}: "):
        out.write_text(FORMATS[fmt](assets), encoding="utf-8")
    traced = sum(len(a.sources) for a in assets)
    click.echo(f"wrote {len(assets)} assets, {traced} traced columns to {out}")
