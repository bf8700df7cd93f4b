"""The settlement ledger (收益分配台账): each period's current shares and its history, and the
audited correction that reopens a wrongly closed period (结算更正) so it can be settled again.
Nothing is deleted: the reopened round's rows are marked superseded and the correction kept."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.registry.corrections import SettlementCorrection
from ycpipelines.registry.deliveries import period_bounds
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import Settlement

REASON_MAX = 1000


class LedgerMixin:
    """Reading the ledger and reopening a period (mixed into `Registry`)."""

    def settlements(self, *, period: str | None = None, current: bool = False) -> list[Settlement]:
        """Settlement rows, newest period first, then by round and bureau; `current` leaves
        out the rows of reopened rounds."""
        query = select(Settlement).order_by(
            Settlement.period.desc(), Settlement.round.desc(), Settlement.bureau
        )
        if period:
            query = query.where(Settlement.period == period)
        if current:
            query = query.where(Settlement.superseded_at.is_(None))
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def corrections(self, *, period: str | None = None) -> list[SettlementCorrection]:
        """The reopenings, newest first."""
        query = select(SettlementCorrection).order_by(SettlementCorrection.id.desc())
        if period:
            query = query.where(SettlementCorrection.period == period)
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def reopen_settlement(self, period: str, actor: str, reason: str) -> SettlementCorrection:
        """Reopen a settled period through an audited correction (admin only, with a reason):
        its current rows are marked superseded and the correction records their totals;
        `settle` may then run again for the period."""
        period_bounds(period)
        self.require(actor, "admin", f"reopen the settlement of {period}")
        reason = reason.strip()
        if not reason:
            raise RegistryError("reopening a settled period needs a reason")
        if len(reason) > REASON_MAX:
            raise RegistryError(f"the reason is longer than {REASON_MAX} characters")

        def work(session: Session) -> SettlementCorrection:
            rows = list(
                session.scalars(
                    select(Settlement)
                    .where(Settlement.period == period, Settlement.superseded_at.is_(None))
                    .with_for_update()
                )
            )
            if not rows:
                raise RegistryError(f"period {period} has no current settlement to reopen")
            now = datetime.now(UTC)
            for row in rows:
                row.superseded_at = now
            correction = SettlementCorrection(
                period=period,
                round=rows[0].round,
                actor=actor,
                reason=reason,
                cents={r.bureau: r.cents for r in rows},
                reopened_at=now,
            )
            session.add(correction)
            session.flush()
            detail = {
                "round": correction.round,
                "reason": reason,
                "superseded": dict(correction.cents),
                "correction": correction.id,
            }
            self._audit(session, actor, "ledger.reopened", f"period/{period}", detail)
            return correction

        return self._transact(work)
