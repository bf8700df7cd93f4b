"""Operational alerts (告警) in the registry: one per key, each raised with its audit entry."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import Alert

ALERT_ACTOR = "alert-sensor"


class AlertsMixin:
    """Registry operations on alerts (mixed into `Registry`)."""

    def raise_alert(
        self, kind: str, subject: str, run_id: str | None, message: str, detail: dict
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
            self._audit(session, ALERT_ACTOR, f"alert.{kind}", subject, {"alert": alert.id})
            return alert, True

        return self._transact(work)

    def alerts(self) -> list[Alert]:
        with Session(self.engine) as session:
            return list(session.scalars(select(Alert).order_by(Alert.id)))

    def alert_notified(self, alert_id: int, outcome: str) -> None:
        """Record how the webhook answered an alert."""

        def work(session: Session) -> None:
            alert = session.get(Alert, alert_id)
            if alert is None:
                raise RegistryError(f"no alert {alert_id}")
            alert.notified = outcome

        self._transact(work)
