"""The cross-check sensors: a day of a dataset is checked against the datasets its checks read
(一数一源, journalist risk) once both are committed, whichever came first, once per
materialization, read from the event log after a cursor."""

import dagster as dg
import pytest
from dagster._core.storage.tags import PARTITION_NAME_TAG

from ycpipelines import sensors as sensor_module
from ycpipelines.catalog import load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.foundation.keys import safe_key, std_key
from ycpipelines.foundation.settings import Settings
from ycpipelines.jobs import check_job_name, cross_check_inputs, cross_checks
from ycpipelines.sensors import sensors

from helpers import sensor_tick

CATALOG = load_catalog(Settings().catalog)
VISITS = CATALOG.dataset("outpatient_visits")
RESIDENTS = CATALOG.dataset("residents")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions()


def commit(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str, ok: bool = True) -> None:
    """A materialization as an ingest run records it (`ok=False`: a day its range run failed,
    recorded with `committed: False`)."""
    metadata = {} if ok else {"committed": False, "failure": "QuarantineThresholdExceeded"}
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=key, partition=partition, metadata=metadata)
    )


def visits(instance: dg.DagsterInstance, day: str, ok: bool = True) -> None:
    commit(instance, safe_key(VISITS), f"health|{day}", ok)


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
    # what the visits' checks read: the authority's std/ and the register's safe/
    assert [k for k, _ in cross_check_inputs(CATALOG, VISITS)] == [
        std_key(RESIDENTS),
        safe_key(RESIDENTS),
    ]


def test_each_committed_day_is_checked_once_and_again_when_collected_again(
    defs: dg.Definitions,
) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        visits(instance, "2025-06-25")  # before the sensor started: not replayed
        first, _, cursor = tick(defs, instance, None)
        assert first == []
        visits(instance, "2025-06-29")
        visits(instance, "2025-06-30")
        visits(instance, "2025-06-30")  # re-run, same tick
        visits(instance, "2025-06-28", ok=False)  # failed inside its range run: not in the lake
        commit(instance, safe_key(VISITS), "not-a-day")  # an odd key is skipped, not fatal
        partitions, keys, cursor = tick(defs, instance, cursor)
        assert partitions == ["health|2025-06-29", "health|2025-06-30"]
        assert len(set(keys)) == 2
        assert tick(defs, instance, cursor)[:2] == ([], [])  # evaluated again: nothing twice
        visits(instance, "2025-06-29")  # collected again
        again, new_keys, _ = tick(defs, instance, cursor)
        assert again == ["health|2025-06-29"] and not set(new_keys) & set(keys)


def test_a_day_is_checked_again_when_what_its_checks_read_arrives_later(
    defs: dg.Definitions,
) -> None:
    """The health bureau's day first, the population bureau's after: checked both times; the
    authority's day for a day the visits lack, or failed there, requests nothing."""
    with dg.DagsterInstance.ephemeral() as instance:
        _, _, cursor = tick(defs, instance, None)
        visits(instance, "2025-06-27")
        visits(instance, "2025-06-26", ok=False)
        first, first_keys, cursor = tick(defs, instance, cursor)
        assert first == ["health|2025-06-27"]
        commit(instance, std_key(RESIDENTS), "population|2025-06-27")
        commit(instance, std_key(RESIDENTS), "population|2025-06-26")  # visits' day not in lake
        commit(instance, std_key(RESIDENTS), "population|2025-06-20")  # no visits that day
        second, second_keys, cursor = tick(defs, instance, cursor)
        assert second == ["health|2025-06-27"] and second_keys != first_keys
        commit(instance, safe_key(RESIDENTS), "population|2025-06-27")  # the register's too
        assert tick(defs, instance, cursor)[0] == ["health|2025-06-27"]


def test_a_long_history_is_read_a_batch_per_tick(
    defs: dg.Definitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sensor_module, "BATCH", 2)
    days = ["2025-06-27", "2025-06-28", "2025-06-29"]
    with dg.DagsterInstance.ephemeral() as instance:
        _, _, cursor = tick(defs, instance, None)
        for day in days:
            visits(instance, day)
        first, _, cursor = tick(defs, instance, cursor)
        second, _, end = tick(defs, instance, cursor)
        assert first + second == [f"health|{d}" for d in days]
        assert tick(defs, instance, end)[:2] == ([], [])
