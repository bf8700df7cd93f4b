"""Daily collection (自动归集): each dataset's schedule fires at its bureau's catalog time and
requests yesterday's (Asia/Shanghai) partition on the dataset's ingest job, once per day."""

from datetime import UTC, datetime

import dagster as dg
import pytest
from pydantic import ValidationError

from ycpipelines.catalog import load_catalog
from ycpipelines.catalog.models import Bureau
from ycpipelines.definitions import build_definitions
from ycpipelines.foundation.settings import Settings
from ycpipelines.schedules import schedules

# 00:05 on 1 July in Asia/Shanghai is still 30 June in UTC: yesterday is 30 June, not the 29th.
JUST_AFTER_MIDNIGHT = datetime(2025, 6, 30, 16, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions()


def requests(defs: dg.Definitions, name: str, when: datetime) -> list[dg.RunRequest]:
    schedule = defs.get_repository_def().get_schedule_def(name)
    with dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def()
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


@pytest.mark.parametrize(
    ("dataset", "bureau", "cron"),
    [("outpatient_visits", "health", "30 1 * * *"), ("residents", "population", "30 2 * * *")],
)
def test_a_tick_requests_yesterdays_partition_of_its_dataset_only(
    defs: dg.Definitions, dataset: str, bureau: str, cron: str
) -> None:
    schedule = defs.get_repository_def().get_schedule_def(f"collect_{dataset}_daily")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (cron, "Asia/Shanghai")
    assert schedule.job_name == f"ingest_{dataset}"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # dev: demo sources
    (request,) = requests(defs, f"collect_{dataset}_daily", JUST_AFTER_MIDNIGHT)
    assert request.run_key == f"{dataset}:2025-06-30"
    assert request.partition_key == dg.MultiPartitionKey({"bureau": bureau, "date": "2025-06-30"})
    # the tag the queue limits per bureau, and the schedule's own
    assert request.tags["dagster/partition/bureau"] == bureau
    assert request.tags["dagster/partition/date"] == "2025-06-30"
    assert request.tags["dagster/schedule_name"] == f"collect_{dataset}_daily"
    job = defs.get_repository_def().get_job(f"ingest_{dataset}")
    assert job.tags["dagster/max_runtime"] == str(6 * 3600)  # a run left STARTED fails then
    again = requests(defs, f"collect_{dataset}_daily", JUST_AFTER_MIDNIGHT)
    assert [r.run_key for r in again] == [request.run_key]  # same key: the daemon adds nothing


def test_every_dataset_has_one_schedule_at_its_bureaus_time(defs: dg.Definitions) -> None:
    catalog = load_catalog(Settings().catalog)
    found = {s.name: s for s in defs.get_repository_def().schedule_defs}
    assert sorted(found) == sorted(f"collect_{d.id}_daily" for d in catalog.datasets)
    for dataset in catalog.datasets:
        bureau = catalog.bureau(dataset.bureau)
        hour, minute = bureau.collect_at.split(":")
        assert found[f"collect_{dataset.id}_daily"].cron_schedule == (
            f"{int(minute)} {int(hour)} * * *"
        )


def test_no_day_before_the_catalogs_start_is_requested(defs: dg.Definitions) -> None:
    first_tick = datetime(2024, 12, 31, 18, 0, tzinfo=UTC)  # 1 January 2025, 02:00 +08:00
    assert requests(defs, "collect_residents_daily", first_tick) == []


def test_production_collects_by_default() -> None:
    catalog = load_catalog(Settings().catalog)
    running = schedules(catalog, Settings(env="prod"))
    assert {s.default_status for s in running} == {dg.DefaultScheduleStatus.RUNNING}


@pytest.mark.parametrize("bad", ["25:00", "1:30", "01:60", "0130", 90])
def test_a_collection_time_is_hh_mm(bad: object) -> None:
    fields = {"id": "x", "label": "x", "name_en": "x", "owner": "team:x"}
    assert Bureau(**fields).collect_at == "01:30"
    with pytest.raises(ValidationError):
        Bureau(**fields, collect_at=bad)
