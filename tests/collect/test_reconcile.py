"""Counts that must add up (对账) are checked on the staged files before commit: a step whose
counts do not reconcile commits nothing, and the previous version of the partition stays."""

import dataclasses
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from ycpipelines.collect import partition as collect_partition
from ycpipelines.definitions import build_definitions
from ycpipelines.deid import partition as deid_partition
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.lake import Lake, Partition
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.govern import partition as govern_partition

from helpers import checks, materializations

DATASET, BUREAU = "outpatient_visits", "health"
LAYERS = ["raw", "std", "safe"]


def ingest(instance: dg.DagsterInstance, day: str) -> dg.ExecuteInProcessResult:
    return (
        build_definitions()
        .resolve_job_def(f"ingest_{DATASET}")
        .execute_in_process(
            partition_key=partition_key(BUREAU, day),
            instance=instance,
            run_config=QUIET,
            raise_on_error=False,
        )
    )


def off_by_one(function: Callable, count: str) -> Callable:
    """`function`, its result's `count` one higher: a counter that no longer matches the files."""

    def broken(*args: object, **kwargs: object) -> object:
        done = function(*args, **kwargs)
        return dataclasses.replace(done, **{count: getattr(done, count) + 1})

    return broken


def versions(lake: Lake, day: str) -> dict[str, tuple[int, int]]:
    """Each layer's committed file, by inode and modification time (a commit replaces both)."""
    partition = Partition(BUREAU, day)
    files = {layer: lake.file(layer, DATASET, partition) for layer in LAYERS}
    return {layer: (p.stat().st_ino, p.stat().st_mtime_ns) for layer, p in files.items()}


@pytest.mark.parametrize(
    ("module", "function", "count", "layer"),
    [
        (collect_partition, "write_partition", "collected", "raw"),
        (govern_partition, "route", "standardized", "std"),
    ],
)
def test_a_partition_whose_counts_do_not_reconcile_is_not_committed(
    yc_home: Path,
    sources: dict,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    module: object,
    function: str,
    count: str,
    layer: str,
) -> None:
    day = sources["end"]
    lake = Lake(yc_home / "lake")
    assert ingest(instance, day).success
    before = versions(lake, day)

    monkeypatch.setattr(module, function, off_by_one(getattr(module, function), count))
    broken = ingest(instance, day)
    evaluations = {
        (e.asset_key.path[0], e.check_name): e.passed for e in broken.get_asset_check_evaluations()
    }
    assert evaluations[(layer, "reconciled")] is False
    after = versions(lake, day)
    kept = LAYERS[LAYERS.index(layer) :]  # the layer and the ones it feeds
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}, "the previous version stays"
    rejected = list((lake.root / "rejected" / layer).rglob(f"*{broken.run_id}*"))
    assert rejected and all(DATASET in str(p) and f"date={day}" in str(p) for p in rejected)
    key = next(k for k in broken.get_asset_materialization_events() if k.asset_key.path[0] == layer)
    meta = materializations(instance, key.asset_key)[partition_key(BUREAU, day)]
    assert meta["committed"] is False and "≠" in meta["reconciliation"]
    materialized = {e.asset_key.path[0] for e in broken.get_asset_materialization_events()}
    assert "safe" not in materialized, "the blocking check stops the steps after it"

    monkeypatch.undo()
    fixed = ingest(instance, day)
    assert fixed.success and checks(fixed)["reconciled"] is True
    assert versions(lake, day)[layer] != before[layer]


def test_a_de_identified_partition_whose_counts_do_not_reconcile_is_not_committed(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = sources["first"]
    lake = Lake(yc_home / "lake")
    assert ingest(instance, day).success
    before = versions(lake, day)["safe"]
    monkeypatch.setattr(deid_partition, "deidentify", off_by_one_int(deid_partition.deidentify))
    broken = ingest(instance, day)
    assert not broken.success or checks(broken)["reconciled"] is False
    evaluations = {
        (e.asset_key.path[0], e.check_name): e.passed for e in broken.get_asset_check_evaluations()
    }
    assert evaluations[("safe", "reconciled")] is False
    assert versions(lake, day)["safe"] == before, "the previous safe/ version stays"
    assert list((lake.root / "rejected" / "safe" / DATASET).rglob(f"*{broken.run_id}*"))


def off_by_one_int(function: Callable[..., int]) -> Callable[..., int]:
    """`function`, its row count one higher than the rows it wrote."""

    def broken(*args: object, **kwargs: object) -> int:
        return function(*args, **kwargs) + 1

    return broken
