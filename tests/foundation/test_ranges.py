"""A run of a range of days (批次范围): each day materialized, counted and checked on its own;
a day that fails leaves the others committed and stops the steps after it."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.definitions.automation_tick_evaluation_context import (
    build_run_requests_with_backfill_policies,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from ycpipelines.catalog import load_catalog
from ycpipelines.collect.backfill import add_backfill
from ycpipelines.definitions import build_definitions
from ycpipelines.demo.run import QUIET
from ycpipelines.foundation.keys import Layer, raw_key, safe_key, std_key
from ycpipelines.foundation.lake import Lake, Partition
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.foundation.ranges import RANGE_DAYS, Event, check_each, materialize_each, ranged
from ycpipelines.registry import Registry

from bad_inputs import bad_inputs, delivery, identifiers
from helpers import failures, materializations


def days_of(sources: dict) -> list[str]:
    """The demo sources' three days."""
    first = date.fromisoformat(sources["first"])
    return [str(first + timedelta(days=n)) for n in range(3)]


def run_range(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    dataset: str,
    keys: list[str],
    config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """The dataset's ingest job (raw → std → safe, with its checks) as ONE run of the range."""
    tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    return defs.resolve_job_def(f"ingest_{dataset}").execute_in_process(
        instance=instance, run_config={**QUIET, **(config or {})}, tags=tags, raise_on_error=False
    )


def file_rows(lake: Lake, layer: str, dataset: str, partition: Partition) -> int:
    path = lake.file(layer, dataset, partition)
    return duckdb.connect().execute(f"SELECT count(*) FROM '{path}'").fetchone()[0]


@pytest.fixture(scope="module")
def defs(yc_home: Path) -> dg.Definitions:
    return build_definitions()


def test_a_range_run_records_each_day_as_a_run_of_that_day_would(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance, defs: dg.Definitions
) -> None:
    dataset, bureau = "outpatient_visits", "health"
    days = days_of(sources)
    keys = [partition_key(bureau, day) for day in days]
    result = run_range(defs, instance, dataset, keys)
    assert result.success, failures(result)[:2000]

    lake = Lake(yc_home / "lake")
    assets = {
        Layer.RAW: dg.AssetKey(["raw", bureau, dataset]),
        Layer.STD: dg.AssetKey(["std", dataset]),
        Layer.SAFE: dg.AssetKey(["safe", dataset]),
    }
    events = result.get_asset_materialization_events()
    for layer, key in assets.items():
        # One materialization per day, all of them in this one run.
        mine = [e.materialization.partition for e in events if e.asset_key == key]
        assert sorted(mine) == keys, layer
        recorded = materializations(instance, key)
        for day, partition in zip(days, keys, strict=True):
            meta = recorded[partition]
            rows = file_rows(lake, layer, dataset, Partition(bureau, day))
            assert (meta["committed"], meta["dagster/row_count"]) == (True, rows), (layer, day)
            assert meta["ycp/cpu_seconds"] >= 0 and meta["ycp/peak_rss_mib"] > 0
    records = instance.fetch_materializations(assets[Layer.SAFE], limit=100).records
    assert {r.run_id for r in records} == {result.run_id}

    # Each check's result is recorded under each day it checked, the blocking ones passed.
    checked: dict[dg.AssetCheckKey, set[str]] = defaultdict(set)
    blocking = set()
    for evaluation in result.get_asset_check_evaluations():
        check = dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name)
        checked[check].add(evaluation.partition)
        if evaluation.blocking:
            blocking.add(check)
            assert evaluation.passed, (check, evaluation.partition)
    assert dg.AssetCheckKey(assets[Layer.RAW], "reconciled") in blocking
    assert {k.asset_key for k in blocking} == set(assets.values())
    assert all(checked[k] == set(keys) for k in checked), dict(checked)


def test_a_failed_day_of_a_range_leaves_the_other_days_committed(
    yc_home: Path, sources: dict, instance: dg.DagsterInstance, defs: dg.Definitions
) -> None:
    dataset, bureau = "enterprises", "market_regulation"
    days = days_of(sources)
    keys = [partition_key(bureau, day) for day in days]
    middle = delivery(yc_home, days[1])
    good = middle.read_bytes()
    middle.write_bytes(bad_inputs(good)["utf16"])  # the middle day's file cannot be read
    try:
        result = run_range(defs, instance, dataset, keys)
    finally:
        middle.write_bytes(good)

    assert not result.success
    assert "does not decode as gb18030" in failures(result)
    raw = dg.AssetKey(["raw", bureau, dataset])
    recorded = materializations(instance, raw)
    lake = Lake(yc_home / "lake")
    for day, key in zip(days, keys, strict=True):
        audit = Registry().history(f"raw/{bureau}/{dataset}/{day}")
        commits = [e.detail["run_id"] for e in audit if e.action == "collect.committed"]
        exists = lake.file(Layer.RAW, dataset, Partition(bureau, day)).exists()
        if day == days[1]:
            assert (exists, commits, recorded[key]["committed"]) == (False, [], False)
            failure = recorded[key]["failure"]
            assert "does not decode as gb18030" in failure and middle.name in failure
            assert not any(value in failure for value in identifiers(good))
        else:
            assert (exists, commits, recorded[key]["committed"]) == (True, [result.run_id], True)
    # The step failed after its days, so the steps after it did not run for any of them.
    materialized = {e.asset_key.path[0] for e in result.get_asset_materialization_events()}
    assert materialized == {"raw"}
    assert not instance.fetch_materializations(dg.AssetKey(["std", dataset]), limit=1).records


@pytest.mark.parametrize("option", ["accept_shrink", "accept_source_types"])
def test_an_acceptance_for_one_delivery_is_refused_over_a_range(
    sources: dict, instance: dg.DagsterInstance, defs: dg.Definitions, option: str
) -> None:
    """Accepting a shrink or new source types is a decision about one checked delivery: a run
    over several days may not carry it to the others."""
    dataset, bureau = "enterprises", "market_regulation"
    keys = [partition_key(bureau, day) for day in days_of(sources)]
    config = {"ops": {f"raw__{bureau}__{dataset}": {"config": {option: True}}}}
    result = run_range(defs, instance, dataset, keys, config)
    assert not result.success
    assert "apply to one partition" in failures(result)
    assert not result.get_asset_materialization_events()


def test_a_backfill_runs_a_month_of_days_per_run(
    yc_home: Path, instance: dg.DagsterInstance
) -> None:
    catalog = load_catalog()
    graph = build_definitions(catalog).resolve_asset_graph()
    ranged = [k(d) for d in catalog.datasets for k in (raw_key, std_key, safe_key)]
    assert all(
        graph.get(k).backfill_policy == dg.BackfillPolicy.multi_run(RANGE_DAYS) for k in ranged
    )
    first = date(2025, 3, 1)
    backfill_id = add_backfill(
        instance, graph, catalog, "health", (first, first + timedelta(days=39)), [], {}
    )
    backfill = instance.get_backfill(backfill_id)
    assert backfill is not None and backfill.asset_backfill_data is not None
    wanted = backfill.asset_backfill_data.target_subset.iterate_asset_partitions()
    roots = [p for p in wanted if p.asset_key.path[0] == "raw"]
    assert len(roots) == 40
    requests = build_run_requests_with_backfill_policies(roots, graph, instance)
    spans = sorted(
        (r.tags[ASSET_PARTITION_RANGE_START_TAG], r.tags[ASSET_PARTITION_RANGE_END_TAG])
        for r in requests
    )
    assert spans == [
        (partition_key("health", "2025-03-01"), partition_key("health", "2025-03-31")),
        (partition_key("health", "2025-04-01"), partition_key("health", "2025-04-09")),
    ]


def test_each_days_check_result_is_about_that_days_materialization() -> None:
    """Dagster shows a check result as current only when it names the materialization it
    checked: each day's, in a range run and in a run of one day alike."""
    days = dg.MultiPartitionsDefinition(
        {
            "bureau": dg.StaticPartitionsDefinition(["b"]),
            "date": dg.DailyPartitionsDefinition(start_date="2025-01-01"),
        }
    )
    key = dg.AssetKey(["raw", "b", "x"])
    spec = dg.AssetCheckSpec("rows", asset=key, blocking=True, partitions_def=days)

    @dg.asset(key=key, partitions_def=days, check_specs=[spec])
    def raw(context: dg.AssetExecutionContext) -> Iterator[Event]:
        yield from materialize_each(
            context,
            lambda p: dg.MaterializeResult(
                metadata={"day": p.date},
                check_results=[dg.AssetCheckResult(check_name="rows", passed=True)],
            ),
        )

    @dg.asset_check(asset=key, name="late", partitions_def=days)
    def late(context: dg.AssetCheckExecutionContext) -> Iterator[Event]:
        yield from check_each(
            context,
            dg.AssetCheckKey(key, "late"),
            lambda p: dg.AssetCheckResult(passed=p.date != "2025-01-02"),
        )

    instance = dg.DagsterInstance.ephemeral()
    ranged_run = dg.materialize(
        [ranged(raw), late],
        instance=instance,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: "b|2025-01-01",
            ASSET_PARTITION_RANGE_END_TAG: "b|2025-01-03",
        },
    )
    single = dg.materialize([ranged(raw), late], instance=instance, partition_key="b|2025-01-05")
    assert ranged_run.success and single.success
    stored = {
        m.asset_materialization.partition: m.storage_id
        for m in instance.fetch_materializations(key, limit=10).records
    }
    assert sorted(stored) == ["b|2025-01-01", "b|2025-01-02", "b|2025-01-03", "b|2025-01-05"]
    for name, failed in (("rows", set()), ("late", {"b|2025-01-02"})):
        check = dg.AssetCheckKey(key, name)
        history = instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
        found = {e.partition: e.evaluation for e in history}
        assert {p for p, e in found.items() if not e.passed} == failed
        assert {p: e.target_materialization_data.storage_id for p, e in found.items()} == stored
        infos = instance.event_log_storage.get_asset_check_partition_info([check])
        assert {i.partition_key: i.is_current for i in infos} == dict.fromkeys(stored, True)
