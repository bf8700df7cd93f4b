"""Daily collection (自动归集): each bureau's schedule fires at its catalog time and requests
yesterday's (Asia/Shanghai) partition on the bureau's job, all its datasets in one run, once per
day."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError

from ycpipelines.catalog import Catalog, load_catalog
from ycpipelines.catalog.models import Bureau
from ycpipelines.definitions import build_definitions
from ycpipelines.foundation.keys import raw_key, safe_key, std_key
from ycpipelines.foundation.settings import Settings
from ycpipelines.jobs import cross_checks
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
    ("bureau", "cron"), [("health", "30 1 * * *"), ("population", "30 2 * * *")]
)
def test_a_tick_requests_yesterdays_partition_of_its_bureau(
    defs: dg.Definitions, bureau: str, cron: str
) -> None:
    schedule = defs.get_repository_def().get_schedule_def(f"collect_{bureau}_daily")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (cron, "Asia/Shanghai")
    assert schedule.job_name == f"collect_{bureau}"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # dev: demo sources
    (request,) = requests(defs, f"collect_{bureau}_daily", JUST_AFTER_MIDNIGHT)
    assert request.run_key == f"{bureau}:2025-06-30"
    assert request.partition_key == dg.MultiPartitionKey({"bureau": bureau, "date": "2025-06-30"})
    # the tag the queue limits per bureau, and the schedule's own
    assert request.tags["dagster/partition/bureau"] == bureau
    assert request.tags["dagster/partition/date"] == "2025-06-30"
    assert request.tags["dagster/schedule_name"] == f"collect_{bureau}_daily"
    job = defs.get_repository_def().get_job(f"collect_{bureau}")
    assert job.tags["dagster/max_runtime"] == str(6 * 3600)  # a run left STARTED fails then
    again = requests(defs, f"collect_{bureau}_daily", JUST_AFTER_MIDNIGHT)
    assert [r.run_key for r in again] == [request.run_key]  # same key: the daemon adds nothing


@pytest.fixture(params=["as_delivered", "settlements_from_health"])
def catalog(request: pytest.FixtureRequest, catalog_copy: Path) -> Catalog:
    """The catalog, and one where a bureau delivers two datasets and another none."""
    if request.param == "settlements_from_health":
        manifest = catalog_copy / "assets" / "datasets" / "settlements.yaml"
        text = manifest.read_text(encoding="utf-8")
        assert "bureau: medical_insurance" in text
        manifest.write_text(text.replace("bureau: medical_insurance", "bureau: health"))
    return load_catalog(catalog_copy / "assets")


def test_a_bureaus_job_runs_all_its_datasets_on_their_partitions(catalog: Catalog) -> None:
    defs = build_definitions(catalog)
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    repo = defs.get_repository_def()
    delivering = [b for b in catalog.bureaus if catalog.datasets_of(b.id)]
    assert sorted(s.job_name for s in repo.schedule_defs) == sorted(
        f"collect_{b.id}" for b in delivering
    )
    for bureau in delivering:
        datasets = catalog.datasets_of(bureau.id)
        job = repo.get_job(f"collect_{bureau.id}")
        stages = {k for d in datasets for k in (raw_key(d), std_key(d), safe_key(d))}
        assert job.asset_layer.selected_asset_keys == stages
        # every asset of the run is partitioned as the job: [bureau] × day from the start
        assert {specs[k].partitions_def for k in stages} == {job.partitions_def}
        assert job.partitions_def.get_partition_keys()[0] == dg.MultiPartitionKey(
            {"bureau": bureau.id, "date": catalog.start_date.isoformat()}
        )
        # checks reading another dataset run in the check_<dataset> jobs, after both
        selected = job.asset_layer.asset_graph.asset_check_keys
        assert not selected & {c for d in datasets for c in cross_checks(catalog, d)}


def test_every_bureau_has_one_schedule_at_its_time(defs: dg.Definitions) -> None:
    catalog = load_catalog(Settings().catalog)
    found = {s.name: s for s in defs.get_repository_def().schedule_defs}
    assert sorted(found) == sorted(f"collect_{b.id}_daily" for b in catalog.bureaus)
    for bureau in catalog.bureaus:
        hour, minute = bureau.collect_at.split(":")
        schedule = found[f"collect_{bureau.id}_daily"]
        assert schedule.cron_schedule == f"{int(minute)} {int(hour)} * * *"
        assert schedule.job_name == f"collect_{bureau.id}"


def test_no_day_before_the_catalogs_start_is_requested(defs: dg.Definitions) -> None:
    first_tick = datetime(2024, 12, 31, 18, 0, tzinfo=UTC)  # 1 January 2025, 02:00 +08:00
    assert requests(defs, "collect_population_daily", first_tick) == []


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
