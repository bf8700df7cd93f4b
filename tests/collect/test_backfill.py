"""A bureau's backfill, submitted with `ycp backfill`, is run by the real Dagster daemon."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from click.testing import CliRunner
from dagster._core.execution.backfill import BulkActionStatus

from ycpipelines.cli import main
from ycpipelines.foundation.settings import PROJECT_ROOT

DAYS = ("2025-06-29", "2025-06-30")


def test_a_bureau_backfill_runs_through_the_daemon(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance
) -> None:
    log = (yc_home / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [Path(sys.executable).parent / "dagster-daemon", "run", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        submitted = CliRunner().invoke(
            main, ["backfill", "--bureau", "population", "--from", DAYS[0], "--to", DAYS[1]]
        )
        assert submitted.exit_code == 0, submitted.output
        backfill_id = re.search(r"backfill (\S+) submitted", submitted.output)[1]
        deadline = time.monotonic() + 400
        while instance.get_backfill(backfill_id).status == BulkActionStatus.REQUESTED:
            assert daemon.poll() is None, (yc_home / "daemon.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the daemon did not finish the backfill"
            time.sleep(2)
        assert instance.get_backfill(backfill_id).status in (
            BulkActionStatus.COMPLETED,
            BulkActionStatus.COMPLETED_SUCCESS,
        )
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        log.close()
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    assert sorted(r.tags["dagster/partition/date"] for r in runs) == list(DAYS)
    assert {r.tags["dagster/partition/bureau"] for r in runs} == {"population"}
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    for day in DAYS:
        assert (
            yc_home / "lake/safe/residents/bureau=population" / f"date={day}" / "data.parquet"
        ).exists()


def test_a_backfill_of_a_bureau_without_that_dataset_is_refused(yc_home: Path) -> None:
    refused = CliRunner().invoke(
        main,
        [
            "backfill",
            "--bureau",
            "health",
            "--from",
            DAYS[0],
            "--to",
            DAYS[1],
            "--dataset",
            "residents",
        ],
    )
    assert refused.exit_code == 1
    assert "bureau 'health' delivers none of ['residents']" in refused.output
