"""Output of lists (列表输出): a table with headers for people, or `--json` for programs.

Timestamps carry their zone: the pilot's (Asia/Shanghai, +08:00) in ISO 8601.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ycpipelines.foundation.clock import stamp

F = TypeVar("F", bound=Callable[..., Any])
Row = Mapping[str, Any]
WIDE = 200  # columns of a table written to a pipe or a file: one line per row


def plain(value: Any) -> Any:
    """A value as JSON carries it: instants stamped with their zone, days and paths as text."""
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, date | Path | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def cell(value: Any) -> str:
    """A value as a table cell."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(plain(value), ensure_ascii=False)
    return str(plain(value))


def console(err: bool = False) -> Console:
    """A rich console on click's stream: the terminal's width, or one line per row in a pipe."""
    stream = click.get_text_stream("stderr" if err else "stdout")
    wide = None if stream.isatty() else WIDE
    return Console(file=stream, width=wide, highlight=False, soft_wrap=False)


def titled(table: Table, title: str | None) -> None:
    """Print a table under its title (a line of its own: never wrapped to the table's width)."""
    out = console()
    if title:
        out.print(Text(title, style="bold"))
    out.print(table)


def json_option(command: F) -> F:
    """The `--json` flag of a list command."""
    return click.option(
        "--json", "as_json", is_flag=True, help="print a JSON list of objects instead of a table"
    )(command)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(plain(value), ensure_ascii=False, indent=1))


def show(
    rows: Sequence[Row],
    as_json: bool,
    *,
    title: str | None = None,
    hide: Sequence[str] = (),
) -> None:
    """Print rows (dicts with the same keys) as a table with headers, or as JSON; `hide` names
    keys only JSON carries (long values a person reads with `show`)."""
    if as_json:
        echo_json(list(rows))
        return
    if not rows:
        click.echo(f"no {title or 'rows'}", err=True)
        return
    columns = [c for c in rows[0] if c not in hide]
    table = Table()
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(cell(row[c]) for c in columns))
    titled(table, title)


def fields(pairs: Mapping[str, Any], title: str | None = None) -> None:
    """A record as a two-column table: name, value."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in pairs.items():
        table.add_row(name, cell(value))
    titled(table, title)
