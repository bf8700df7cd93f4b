"""Evidence from runs only (运行所产证据): what egress reads from the event log comes from a run.
Dagster also records events reported outside any run (`reportRunlessAssetEvents`,
`reportAssetCheckEvaluations`, the REST `report_asset_*` endpoints: run id ""); such a report
could pass a quality gate or hide a build, so the review and every delivery skip them."""

from collections.abc import Iterator

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecord

PAGE = 100


def newest_run_materialization(
    instance: dg.DagsterInstance, key: dg.AssetKey
) -> dg.EventLogEntry | None:
    """The asset's newest materialization made by a run, skipping runless reports."""
    cursor: str | None = None
    while True:
        found = instance.fetch_materializations(key, limit=PAGE, cursor=cursor)
        for record in found.records:
            if record.event_log_entry.run_id:
                return record.event_log_entry
        if not found.has_more:
            return None
        cursor = found.cursor


def run_check_history(
    instance: dg.DagsterInstance, check: dg.AssetCheckKey
) -> Iterator[AssetCheckExecutionRecord]:
    """The check's executions by runs, newest first, skipping runless evaluations."""
    cursor: int | None = None
    while True:
        page = instance.event_log_storage.get_asset_check_execution_history(
            check, limit=PAGE, cursor=cursor
        )
        yield from (execution for execution in page if execution.run_id)
        if len(page) < PAGE:
            return
        cursor = page[-1].id
