"""Parameter types (参数校验): days, months, writable outputs and catalog names, each refused
with a usage error that says what is valid instead of a traceback."""

import tempfile
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import click

from ycpipelines.cli.context import Cli
from ycpipelines.foundation.clock import FIRST_YEAR, LAST_YEAR, in_calendar

REQUEST_STATUSES = ("pending", "approved", "rejected", "published", "superseded", "voided")
TICKET_STATUSES = ("open", "acknowledged", "disputed", "fixed", "closed")
AUTHORIZATION_STATUSES = ("active", "suspended", "revoked")


class Day(click.ParamType):
    """A calendar day, YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a day (YYYY-MM-DD)", param, ctx)


class Month(click.ParamType):
    """A calendar month, YYYY-MM (kept as that text)."""

    name = "YYYY-MM"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        try:
            valid = len(text) == 7 and in_calendar(date.fromisoformat(f"{text}-01"))
        except ValueError:
            valid = False
        if not valid:
            self.fail(f"{text!r} is not a month (YYYY-MM) of {FIRST_YEAR}..{LAST_YEAR}", param, ctx)
        return text


def probe_file(path: Path) -> None:
    """Open `path` for appending (removing it again if it was new): OSError if unwritable."""
    existed = path.exists()
    with path.open("a", encoding="utf-8"):
        pass
    if not existed:
        path.unlink()


def probe_folder(path: Path) -> None:
    """Make the folder and a scratch file in it: OSError if that is not possible."""
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
        pass


class Output(click.ParamType):
    """A file (or a folder, `folder=True`) this command may write; checked before any work."""

    def __init__(self, folder: bool = False) -> None:
        self.folder = folder
        self.name = "FOLDER" if folder else "FILE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        if not self.folder and path.is_dir():
            self.fail(f"{str(path)!r} is a folder, not a file", param, ctx)
        try:
            (probe_folder if self.folder else probe_file)(path)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            self.fail(f"cannot write {str(path)!r}: {reason}", param, ctx)
        return path


class CatalogName(click.ParamType):
    """A name the catalog knows (a bureau, a dataset, a product's scenario), listed when wrong."""

    def __init__(self, name: str, names: Callable[[Any], Iterable[str]]) -> None:
        self.name = name
        self.names = names

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        cli = ctx.find_object(Cli) if ctx else None
        if cli is None:
            return str(value)
        valid = sorted(self.names(cli.catalog()))
        if value not in valid:
            self.fail(f"{value!r} is not one of {', '.join(valid)}", param, ctx)
        return str(value)


BUREAU = CatalogName("bureau", lambda c: (b.id for b in c.bureaus))
DATASET = CatalogName("dataset", lambda c: (d.id for d in c.datasets))
