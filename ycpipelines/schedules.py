"""Daily collection (自动归集): at its bureau's `collect_at` (Asia/Shanghai), each dataset's
schedule requests yesterday's bureau × day partition on the dataset's ingest job.

A Dagster schedule launches every run on its own job, so there is one schedule per dataset
(`collect_<dataset>_daily`), at the time its bureau sets in the catalog. Runs carry the
`dagster/partition/bureau` tag, so the queue's per-bureau limit holds for them as for a backfill.
"""

from datetime import datetime, timedelta

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.environment import is_prod
from ycpipelines.foundation.lake import TIMEZONE
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.foundation.settings import Settings
from ycpipelines.jobs import dataset_job_name


def schedule_name(dataset: Dataset) -> str:
    return f"collect_{dataset.id}_daily"


def yesterday(scheduled: datetime) -> str:
    """The pilot's day before the one a tick fires in."""
    return (pilot_today(scheduled) - timedelta(days=1)).isoformat()


def daily_collection(catalog: Catalog, dataset: Dataset, status: dg.DefaultScheduleStatus):
    """The schedule collecting yesterday's partition of `dataset`; one run key per dataset × day,
    so a tick evaluated again requests nothing twice."""

    def tick(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        day = yesterday(context.scheduled_execution_time)
        if day < catalog.start_date.isoformat():
            return dg.SkipReason(f"{day} is before the catalog's start_date")
        return dg.RunRequest(
            run_key=f"{dataset.id}:{day}", partition_key=partition_key(dataset.bureau, day)
        )

    bureau = catalog.bureau(dataset.bureau)
    return dg.ScheduleDefinition(
        name=schedule_name(dataset),
        cron_schedule=bureau.collect_cron,
        execution_timezone=TIMEZONE,
        job_name=dataset_job_name(dataset),
        execution_fn=tick,
        default_status=status,
        description=f"自动归集 {dataset.label}: yesterday's partition from {bureau.label} "
        f"at {bureau.collect_at} {TIMEZONE}",
    )


def schedules(catalog: Catalog, settings: Settings | None = None) -> list[dg.ScheduleDefinition]:
    """One daily collection per dataset; running by default in production only (development
    sources are demo files with no new day to collect)."""
    status = (
        dg.DefaultScheduleStatus.RUNNING if is_prod(settings) else dg.DefaultScheduleStatus.STOPPED
    )
    return [daily_collection(catalog, d, status) for d in catalog.datasets]
