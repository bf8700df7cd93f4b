"""A bureau's backfill, submitted with `ycp backfill`, is run by the real Dagster daemon."""

import re
import subprocess
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from ycpipelines.cli import main
from ycpipelines.foundation.partitions import partition_key

from helpers import materializations

DAYS = ("2025-06-29", "2025-06-30")


def test_a_bureau_backfill_runs_through_the_daemon(
    yc_home: Path, instance: dg.DagsterInstance, daemon: subprocess.Popen
) -> None:
    days = ("--from", DAYS[0], "--to", DAYS[1])
    waited = CliRunner().invoke(
        main, ["backfill", "--bureau", "population", *days, "--wait", "--timeout", "400"]
    )
    assert daemon.poll() is None, (yc_home / "daemon.log").read_text()[-3000:]
    assert waited.exit_code == 0, waited.output
    backfill_id = re.search(r"backfill (\S+) submitted", waited.output)[1]
    assert instance.get_backfill(backfill_id).status in (
        BulkActionStatus.COMPLETED,
        BulkActionStatus.COMPLETED_SUCCESS,
    )
    # Both days in one run (a backfill run takes up to a month of days), each day committed.
    [run] = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    keys = [partition_key("population", day) for day in DAYS]
    assert (run.tags[ASSET_PARTITION_RANGE_START_TAG], run.tags[ASSET_PARTITION_RANGE_END_TAG]) == (
        keys[0],
        keys[1],
    )
    assert (run.tags["ycp/bureau"], run.tags["dagster/max_runtime"]) == (
        "population",
        str(6 * 3600),
    )
    raw = materializations(instance, dg.AssetKey(["raw", "population", "residents"]))
    assert [raw[k]["committed"] for k in keys] == [True, True]
    rows = sum(raw[k]["dagster/row_count"] for k in keys)
    # What it says counts runs and days truthfully: one run, two days, their rows.
    assert f"backfill {backfill_id}: 1 runs succeeded, 2 days, {rows} rows collected" in (
        waited.output
    )
    assert "2/2 days × datasets" in waited.output  # the progress shown on stderr
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


@pytest.mark.parametrize(
    ("first", "last", "refusal"),
    [
        ("2024-12-31", "2025-01-02", "outside the partitions 2025-01-01.."),
        ("2025-06-29", "2999-01-01", "outside the partitions 2025-01-01.."),
        ("2025-06-30", "2025-06-29", "--to 2025-06-29 is before --from 2025-06-30"),
        ("2025-13-01", "2025-06-29", "'2025-13-01' is not a day (YYYY-MM-DD)"),
    ],
)
def test_days_outside_the_partitions_are_refused_before_submitting(
    yc_home: Path, instance: dg.DagsterInstance, first: str, last: str, refusal: str
) -> None:
    before = len(instance.get_backfills())
    refused = CliRunner().invoke(
        main, ["backfill", "--bureau", "health", "--from", first, "--to", last]
    )
    assert refused.exit_code != 0 and refusal in refused.output, refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)
    assert len(instance.get_backfills()) == before


def test_an_unknown_bureau_is_refused_naming_the_bureaus(yc_home: Path) -> None:
    refused = CliRunner().invoke(
        main, ["backfill", "--bureau", "nope", "--from", DAYS[0], "--to", DAYS[1]]
    )
    assert refused.exit_code == 2
    assert "'nope' is not one of health, market_regulation" in refused.output
