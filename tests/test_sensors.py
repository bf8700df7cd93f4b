"""The cross-check sensors: each ingest of a partition is followed by its dataset's check job
(一数一源, journalist risk) on that partition, once per materialization, read from the event log
after a cursor."""

import dagster as dg
import pytest
from dagster._core.storage.tags import PARTITION_NAME_TAG

from ycpipelines import sensors as sensor_module
from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.foundation.keys import safe_key
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.foundation.settings import Settings
from ycpipelines.jobs import check_job_name, cross_checks
from ycpipelines.sensors import sensors

from helpers import sensor_tick

CATALOG = load_catalog(Settings().catalog)
VISITS = CATALOG.dataset("outpatient_visits")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions()


def committed(
    instance: dg.DagsterInstance, dataset_id: str, bureau: str, day: str, ok: bool = True
) -> None:
    """A safe/ materialization of one partition, as an ingest run records it (`ok=False`: a day
    its range run failed, recorded with `committed: False`)."""
    key = safe_key(CATALOG.dataset(dataset_id))
    metadata = {} if ok else {"committed": False, "failure": "QuarantineThresholdExceeded"}
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=key, partition=partition_key(bureau, day), metadata=metadata
        )
    )


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> tuple:
    """(partitions requested, run keys, the cursor after) of one evaluation."""
    requests, after = sensor_tick(defs, instance, "cross_checks_outpatient_visits", cursor)
    for request in requests:
        assert request.job_name in (None, check_job_name(VISITS))
    return [r.tags[PARTITION_NAME_TAG] for r in requests], [r.run_key for r in requests], after


def test_one_sensor_per_dataset_with_cross_checks_stopped_outside_production(
    defs: dg.Definitions,
) -> None:
    repo = defs.get_repository_def()
    crossing = [d for d in CATALOG.datasets if cross_checks(CATALOG, d)]
    assert VISITS in crossing
    for dataset in crossing:
        sensor = repo.get_sensor_def(f"cross_checks_{dataset.id}")
        assert sensor.job_name == check_job_name(dataset)
        assert sensor.default_status == dg.DefaultSensorStatus.STOPPED  # the demo checks itself
    running = sensors(CATALOG, Settings(env="prod"))
    assert len(running) == len(crossing)
    assert {s.default_status for s in running} == {dg.DefaultSensorStatus.RUNNING}


def test_each_committed_partition_is_checked_once_and_again_when_collected_again(
    defs: dg.Definitions,
) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        assert tick(defs, instance, None) == ([], [], None)  # nothing ingested yet
        committed(instance, "outpatient_visits", "health", "2025-06-29")
        committed(instance, "outpatient_visits", "health", "2025-06-30")
        committed(instance, "outpatient_visits", "health", "2025-06-30")  # re-run, same tick
        committed(instance, "residents", "population", "2025-06-30")  # another dataset's
        committed(
            instance, "outpatient_visits", "health", "2025-06-28", ok=False
        )  # not in the lake
        partitions, keys, cursor = tick(defs, instance, None)
        assert partitions == ["health|2025-06-29", "health|2025-06-30"]
        assert len(set(keys)) == 2
        assert tick(defs, instance, cursor)[:2] == ([], [])  # evaluated again: nothing twice
        committed(instance, "outpatient_visits", "health", "2025-06-29")  # collected again
        again, new_keys, _ = tick(defs, instance, cursor)
        assert again == ["health|2025-06-29"] and not set(new_keys) & set(keys)


def test_a_long_history_is_read_a_batch_per_tick(
    defs: dg.Definitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sensor_module, "BATCH", 2)
    days = ["2025-06-27", "2025-06-28", "2025-06-29"]
    with dg.DagsterInstance.ephemeral() as instance:
        for day in days:
            committed(instance, "outpatient_visits", "health", day)
        first, _, cursor = tick(defs, instance, None)
        second, _, end = tick(defs, instance, cursor)
        assert first + second == [f"health|{d}" for d in days]
        assert tick(defs, instance, end)[:2] == ([], [])
