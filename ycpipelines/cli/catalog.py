"""`ycp catalog`: the declarative catalog under assets/ (资源目录)."""

from dataclasses import asdict

import click

from ycpipelines.cli.context import Cli, pass_cli
from ycpipelines.cli.output import json_option, show
from ycpipelines.cli.params import DATASET


@click.group("catalog")
def command() -> None:
    """资源目录: the declarative catalog under assets/."""


@command.command("classify")
@click.argument("dataset", type=DATASET)
@click.option("--sample", default=10_000, show_default=True, help="rows sampled")
@json_option
@pass_cli
def catalog_classify(cli: Cli, dataset: str, sample: int, as_json: bool) -> None:
    """分类分级: propose category and level per column from a sample of the dataset's newest
    std/ partitions (raw/ before any is governed) and print where the catalog differs."""
    from ycpipelines.deid.classify import classify, dataset_files, differences
    from ycpipelines.foundation.lake import Lake, duck

    entry = cli.catalog().dataset(dataset)
    files = dataset_files(Lake(cli.settings.lake_root), entry)
    if not files:
        raise click.ClickException(f"no std/ or raw/ data of {dataset!r} in the lake yet")
    with duck() as con:
        proposals = classify(con, files, sample)
    found = differences(entry, proposals)
    show([asdict(d) for d in found], as_json, title="differences from the catalog")
    if as_json:
        return
    below = sum(d.below_minimum for d in found)
    click.echo(
        f"{dataset}: {len(proposals)} columns sampled from {len(files)} partitions; "
        f"{len(found)} differences, {below} below the minimum level"
    )
