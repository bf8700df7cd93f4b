"""Daily collection (自动归集): at its `collect_at` (Asia/Shanghai), each bureau's schedule
`collect_<bureau>_daily` requests yesterday's partition on the bureau's job `collect_<bureau>`:
one run collects, governs and de-identifies all the bureau's datasets for that day.

Runs carry the `dagster/partition/bureau` tag, so the queue's per-bureau limit holds for them as
for a backfill.
"""

from datetime import datetime, timedelta

import dagster as dg

from ycpipelines.catalog import Catalog
from ycpipelines.catalog.models import Bureau
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.environment import is_prod
from ycpipelines.foundation.lake import TIMEZONE
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.foundation.settings import Settings
from ycpipelines.jobs import bureau_job_name, collected_bureaus


def schedule_name(bureau: Bureau) -> str:
    return f"collect_{bureau.id}_daily"


def yesterday(scheduled: datetime) -> str:
    """The pilot's day before the one a tick fires in."""
    return (pilot_today(scheduled) - timedelta(days=1)).isoformat()


def daily_collection(catalog: Catalog, bureau: Bureau, status: dg.DefaultScheduleStatus):
    """The schedule collecting yesterday's partition of `bureau`; one run key per bureau × day,
    so a tick evaluated again requests nothing twice."""

    def tick(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        day = yesterday(context.scheduled_execution_time)
        if day < catalog.start_date.isoformat():
            return dg.SkipReason(f"{day} is before the catalog's start_date")
        return dg.RunRequest(
            run_key=f"{bureau.id}:{day}", partition_key=partition_key(bureau.id, day)
        )

    datasets = ", ".join(d.label for d in catalog.datasets_of(bureau.id))
    return dg.ScheduleDefinition(
        name=schedule_name(bureau),
        cron_schedule=bureau.collect_cron,
        execution_timezone=TIMEZONE,
        job_name=bureau_job_name(bureau),
        execution_fn=tick,
        default_status=status,
        description=f"自动归集 {bureau.label}: yesterday's partition of {datasets} "
        f"at {bureau.collect_at} {TIMEZONE}",
    )


def schedules(catalog: Catalog, settings: Settings | None = None) -> list[dg.ScheduleDefinition]:
    """One daily collection per bureau; running by default in production only (development
    sources are demo files with no new day to collect)."""
    status = (
        dg.DefaultScheduleStatus.RUNNING if is_prod(settings) else dg.DefaultScheduleStatus.STOPPED
    )
    return [daily_collection(catalog, b, status) for b in collected_bureaus(catalog)]
