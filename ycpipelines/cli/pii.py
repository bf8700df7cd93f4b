"""`ycp pii`: find personal information with the Chinese recognizers (敏感信息扫描)."""

import json
from pathlib import Path

import click

from ycpipelines.cli.context import refused


@click.group("pii")
def command() -> None:
    """敏感信息扫描: find personal information with the Chinese recognizers."""


def scan_table(table: Path, sample: int) -> None:
    """One line per column: the entity types and the share of values carrying each."""
    from ycpipelines.deid.scan import scan_columns, table_relation
    from ycpipelines.foundation.lake import duck

    with refused(ValueError):
        relation = table_relation(table)
    with duck() as con:
        for column in scan_columns(con, relation, sample):
            click.echo(json.dumps(column.to_json(), ensure_ascii=False))


@command.command("scan")
@click.option(
    "--table",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="scan a CSV or Parquet table per column instead of JSON lines on stdin",
)
@click.option("--sample", default=10_000, show_default=True, help="rows of the table sampled")
@click.option(
    "--explain",
    is_flag=True,
    help="name each finding's recognizer (rule or model), why, and every candidate's score",
)
def pii_scan(table: Path | None, sample: int, explain: bool) -> None:
    """Read JSON lines {"text": …} on stdin, write one line {"findings": […]} for each, in
    order; with --table, write one line per column: the entity types and the share of values
    carrying each."""
    from ycpipelines.deid.scan import findings

    if table is not None:
        scan_table(table, sample)
        return
    stdin = click.get_text_stream("stdin", encoding="utf-8")
    for number, line in enumerate(stdin, start=1):
        try:
            text = json.loads(line)["text"] if line.strip() else ""
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise click.ClickException(f'line {number}: expected {{"text": …}}') from error
        if not isinstance(text, str):
            raise click.ClickException(f'line {number}: "text" is not a string')
        click.echo(json.dumps({"findings": findings(text, explain=explain)}, ensure_ascii=False))
