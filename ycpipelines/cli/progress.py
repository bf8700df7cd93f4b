"""Progress of long work (进度) on stderr: runs (or days) done of total, rows/s when known,
elapsed."""

import time
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from ycpipelines.cli.output import console


class RunsProgress:
    """A progress bar of Dagster runs, or of what they do (`unit`: days of a backfill);
    `update` it with what is known so far."""

    def __init__(self, what: str, unit: str = "runs") -> None:
        self.started = time.monotonic()
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit + "{task.fields[failed]}{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console(err=True),
        )
        self.task = self.bar.add_task(what, total=None, failed="", rate="")

    def update(
        self, done: int, total: int | None, failed: int = 0, rows: int | None = None
    ) -> None:
        """Done of `total` (None while unknown), how many runs failed, rows handled so far."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = f", {rows / elapsed:,.0f} rows/s" if rows else ""
        self.bar.update(
            self.task,
            completed=done,
            total=total,
            failed=f", {failed} runs failed" if failed else "",
            rate=rate,
        )

    def __enter__(self) -> "RunsProgress":
        self.bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.bar.stop()
