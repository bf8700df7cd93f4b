"""Alerts (告警): a failed run is recorded in the registry (audited) and posted to the
operators' webhook, whose URL comes from `YC_ALERT_WEBHOOK` (a secret: never logged)."""

import json
import os
import urllib.error
import urllib.request
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import JSON, DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ycpipelines.registry import Registry
from ycpipelines.registry.models import Base
from ycpipelines.resources import RegistryResource

ALERT_ACTOR = "alert-sensor"
WEBHOOK_ENV = "YC_ALERT_WEBHOOK"
WEBHOOK_TIMEOUT_SECONDS = 10


class Alert(Base):
    """One alert, once per key (a run fails once; a re-evaluated tick files nothing new)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(256))
    run_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notified: Mapped[str | None] = mapped_column(String(128))


def raise_alert(
    registry: Registry, kind: str, subject: str, run_id: str | None, message: str, detail: dict
) -> tuple[Alert, bool]:
    """Record an alert and its audit entry in one transaction; idempotent per run."""
    key = f"{kind}:{run_id or subject}"

    def work(session: Session) -> tuple[Alert, bool]:
        existing = session.scalar(select(Alert).where(Alert.key == key))
        if existing:
            return existing, False
        alert = Alert(
            key=key,
            kind=kind,
            subject=subject,
            run_id=run_id,
            message=message,
            detail=detail,
            raised_at=datetime.now(UTC),
        )
        session.add(alert)
        session.flush()
        Registry._audit(session, ALERT_ACTOR, f"alert.{kind}", subject, {"alert": alert.id})
        return alert, True

    return registry._transact(work)


def alerts(registry: Registry) -> list[Alert]:
    with Session(registry.engine) as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


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

    def work(session: Session) -> None:
        stored = session.get(Alert, alert.id)
        assert stored is not None
        stored.notified = outcome

    registry._transact(work)
    return outcome


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
        "partition": run.tags.get("dagster/partition"),
        "bureau": run.tags.get("dagster/partition/bureau"),
        "backfill": run.tags.get("dagster/backfill"),
        "failed_steps": sorted(
            {e.step_key for e in context.get_step_failure_events() if e.step_key}
        ),
    }
    alert, created = raise_alert(
        store,
        "run_failure",
        f"job/{run.job_name}",
        run.run_id,
        context.failure_event.message or "run failed",
        detail,
    )
    if created or alert.notified is None:
        outcome = notify(store, alert, os.environ.get(WEBHOOK_ENV))
        context.log.info(f"alert {alert.id} for run {run.run_id}: webhook {outcome}")
