"""`ycp map`: the resource map (资源图谱) as an HTML graph."""

from pathlib import Path

import click

from ycpipelines.cli.context import Cli, pass_cli, refused
from ycpipelines.cli.params import Output


@click.command("map")
@click.option("--out", required=True, type=Output(), help="HTML file to write")
@pass_cli
def command(cli: Cli, out: Path) -> None:
    """资源图谱: bureaus → datasets → fields (level) → products → consumers, as an HTML graph."""
    from ycpipelines.ops.resource_map import render

    consumers: dict[str, set[str]] = {}
    for grant in cli.registry().authorizations():
        if grant.status == "active":
            consumers.setdefault(grant.scenario, set()).add(grant.consumer)
    with refused(OSError, prefix=f"cannot write {out}: "):
        out.write_text(render(cli.catalog(), consumers), encoding="utf-8")
    click.echo(f"wrote the resource map to {out}")
