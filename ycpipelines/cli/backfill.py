"""`ycp backfill`: submit a bureau's days to the daemon (补采), and wait for them if asked."""

import time
from datetime import date
from typing import TYPE_CHECKING

import click

from ycpipelines.cli.context import Cli, pass_cli, refused
from ycpipelines.cli.params import BUREAU, DATASET, Day
from ycpipelines.cli.progress import RunsProgress
from ycpipelines.foundation.environment import EnvironmentRefused

if TYPE_CHECKING:
    import dagster as dg

POLL_SECONDS = 2.0


@click.command("backfill")
@click.option("--bureau", required=True, type=BUREAU, help="bureau id, e.g. health")
@click.option("--from", "first", required=True, type=Day(), help="first day, YYYY-MM-DD")
@click.option("--to", "last", required=True, type=Day(), help="last day, YYYY-MM-DD")
@click.option(
    "--dataset", "datasets", multiple=True, type=DATASET, help="only these datasets of the bureau"
)
@click.option(
    "--wait", is_flag=True, help="show the runs' progress until they finish; fail if any failed"
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="with --wait: give up waiting after this many seconds (the backfill goes on)",
)
@pass_cli
def command(
    cli: Cli,
    first: date,
    last: date,
    bureau: str,
    datasets: tuple[str, ...],
    wait: bool,
    timeout: float | None,
) -> None:
    """补采: submit a backfill of a bureau's days; the Dagster daemon runs it."""
    import dagster as dg

    from ycpipelines.collect.backfill import chosen_datasets, submit_backfill
    from ycpipelines.definitions import build_definitions

    catalog = cli.catalog()
    with dg.DagsterInstance.get() as instance:
        with refused(ValueError, EnvironmentRefused):
            backfill_id = submit_backfill(
                instance,
                build_definitions(catalog, cli.settings),
                catalog,
                bureau,
                first,
                last,
                list(datasets),
            )
        click.echo(
            f"backfill {backfill_id} submitted: {bureau} {first}..{last}; "
            "the daemon runs it (dagster-daemon, or make dev)"
        )
        if wait:
            covered = len(chosen_datasets(catalog, bureau, list(datasets)))
            await_backfill(instance, backfill_id, ((last - first).days + 1) * covered, timeout)


def await_backfill(
    instance: "dg.DagsterInstance", backfill_id: str, total: int, timeout: float | None
) -> None:
    """Poll the instance until the backfill's runs (each up to a month of days) finish,
    showing the `total` days × datasets collected; a clean error if any run failed, or if
    `timeout` seconds passed first."""
    from ycpipelines.collect.backfill import Committed, backfill_state

    rows: dict[str, int] = {}
    partitions: dict[str, Committed] = {}
    started = time.monotonic()
    with RunsProgress(f"backfill {backfill_id}", unit="days × datasets") as progress:
        while True:
            state = backfill_state(instance, backfill_id, rows, partitions)
            progress.update(state.partitions, total, state.failed, state.rows)
            if state.finished:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                raise click.ClickException(
                    f"backfill {backfill_id}: {state.partitions} of {total} days × datasets "
                    f"collected ({state.done} runs finished) after {timeout:g}s; "
                    "is the daemon running (dagster-daemon, or make dev)?"
                )
            time.sleep(POLL_SECONDS)
    if not state.ok:
        raise click.ClickException(
            f"backfill {backfill_id}: {state.failed} of {state.done} runs failed; "
            f"{state.partitions} of {total} days × datasets collected"
            if state.failed
            else f"backfill {backfill_id} did not complete"
        )
    click.echo(
        f"backfill {backfill_id}: {state.done} runs succeeded, {state.days} days, "
        f"{state.rows} rows collected"
    )
