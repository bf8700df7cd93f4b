"""Alerts (告警): a failed run is recorded in the registry (audited) and posted to the
operators' webhook, whose URL comes from `YC_ALERT_WEBHOOK` (a secret: never logged)."""

import json
import urllib.error
import urllib.request
from collections.abc import Mapping

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from ycpipelines.foundation.partitions import BUREAU_TAG
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry import Registry
from ycpipelines.registry.models import Alert
from ycpipelines.registry.resource import RegistryResource

WEBHOOK_ENV = "YC_ALERT_WEBHOOK"
WEBHOOK_TIMEOUT_SECONDS = 10


def notify(registry: Registry, alert: Alert, url: str | None) -> str:
    """Post the alert as JSON to the webhook; record and return how it answered."""
    if not url:
        outcome = f"not sent: {WEBHOOK_ENV} unset"
    else:
        body = {
            "alert": alert.id,
            "kind": alert.kind,
            "subject": alert.subject,
            "run_id": alert.run_id,
            "message": alert.message,
            "detail": alert.detail,
            "raised_at": alert.raised_at.isoformat(),
        }
        request = urllib.request.Request(
            url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as answer:
                outcome = f"HTTP {answer.status}"
        except (urllib.error.URLError, TimeoutError) as error:
            outcome = f"failed: {type(error).__name__}"
    registry.alert_notified(alert.id, outcome)
    return outcome


def days_of(tags: Mapping[str, str]) -> str | None:
    """A range run's partitions, first..last (a backfill's month)."""
    first, last = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    return f"{first}..{last}" if first and last else None


@dg.run_failure_sensor(
    name="run_failure_alerts",
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="告警: records every failed run in the registry and posts it to the "
    f"operators' webhook ({WEBHOOK_ENV}).",
)
def run_failure_alerts(context: dg.RunFailureSensorContext, registry: RegistryResource) -> None:
    run = context.dagster_run
    store = registry.registry
    detail = {
        "job": run.job_name,
        "partition": run.tags.get("dagster/partition") or days_of(run.tags),
        "bureau": run.tags.get("dagster/partition/bureau") or run.tags.get(BUREAU_TAG),
        "backfill": run.tags.get("dagster/backfill"),
        "failed_steps": sorted(
            {e.step_key for e in context.get_step_failure_events() if e.step_key}
        ),
    }
    alert, created = store.raise_alert(
        "run_failure",
        f"job/{run.job_name}",
        run.run_id,
        context.failure_event.message or "run failed",
        detail,
    )
    if created or alert.notified is None:
        outcome = notify(store, alert, Settings().alert_webhook)
        context.log.info(f"alert {alert.id} for run {run.run_id}: webhook {outcome}")
