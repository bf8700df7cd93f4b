"""`ycp quality`: the quality report of the govern stage (数据质量)."""

from pathlib import Path

import click

from ycpipelines.cli.context import Cli, pass_cli
from ycpipelines.cli.params import Output


@click.group("quality")
def command() -> None:
    """数据质量: the quality report of the govern stage."""


@command.command("report")
@click.option(
    "--out",
    type=Output(folder=True),
    default=None,
    help="folder for the HTML pages [YC_HOME/reports/quality]",
)
@pass_cli
def quality_report(cli: Cli, out: Path | None) -> None:
    """Write a static HTML report: pass/fail per dataset and partition, trends, tickets."""
    import dagster as dg

    from ycpipelines.govern.report import write_report

    folder = out or cli.settings.home / "reports" / "quality"
    with dg.DagsterInstance.get() as instance:
        pages = write_report(instance, cli.catalog(), cli.registry(), folder)
    click.echo(f"wrote {len(pages)} pages; open {pages[0]}")
