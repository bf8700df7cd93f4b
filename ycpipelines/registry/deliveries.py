"""Deliveries (出域交付) and revenue settlement (收益分配) in the registry, each audited."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import ApprovalRequest, Authorization, Delivery, Settlement


def split_cents(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split integer cents by weight; the shares sum exactly to `total` (largest remainder)."""
    positive = {k: w for k, w in weights.items() if w > 0}
    if not positive:
        raise RegistryError("nothing contributed to this delivery; its revenue cannot be split")
    whole = sum(positive.values())
    exact = {k: total * w / whole for k, w in positive.items()}
    shares = {k: int(v) for k, v in exact.items()}
    left = total - sum(shares.values())
    for k in sorted(exact, key=lambda k: (shares[k] - exact[k], k))[:left]:
        shares[k] += 1
    return shares


class DeliveriesMixin:
    """Registry operations on deliveries and settlements (mixed into `Registry`)."""

    def next_version(self, consumer: str, scenario: str) -> str:
        with Session(self.engine) as session:
            done = session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.consumer == consumer, Delivery.scenario == scenario)
            )
        return f"v{done + 1}"

    def record_delivery(
        self, request_id: int, actor: str, decision_entry: int | None = None, **fields: Any
    ) -> Delivery:
        """Record a delivery and mark its request published, in one audited transaction; the
        audit entry names the decision's entry in the chain it was delivered under."""

        def work(session: Session) -> Delivery:
            # The grant first, then the request: the order change_authorization locks them in,
            # so a suspension or revocation either lands before this check or waits for it.
            grant = session.get(Authorization, fields["authorization_id"], with_for_update=True)
            request = session.get(ApprovalRequest, request_id, with_for_update=True)
            if request is None or request.status != "approved":
                raise RegistryError(f"request {request_id} is not approved")
            today = pilot_today()
            if grant is None or grant.status != "active" or grant.consumer != request.consumer:
                raise RegistryError(f"the authorization of request {request_id} is not active")
            if not grant.valid_from <= today <= grant.valid_to:
                raise RegistryError(f"the authorization of request {request_id} ended")
            now = datetime.now(UTC)
            delivery = Delivery(
                request_id=request_id, status="delivered", delivered_at=now, **fields
            )
            session.add(delivery)
            session.flush()
            request.status, request.published_at = "published", now
            request.published_path = fields["path"]
            self._audit(
                session,
                actor,
                "egress.published",
                f"request/{request_id}",
                {
                    "delivery": delivery.id,
                    "decision_entry": decision_entry,
                    **{k: fields[k] for k in ("consumer", "version", "path", "sha256", "rows")},
                },
            )
            return delivery

        return self._transact(work)

    def deliveries(self, *, consumer: str | None = None) -> list[Delivery]:
        query = select(Delivery).order_by(Delivery.id)
        if consumer:
            query = query.where(Delivery.consumer == consumer)
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def settle(self, period: str, actor: str) -> list[Settlement]:
        """Split the period's delivery revenue among contributing bureaus, once per period."""
        self.require(actor, "admin", f"settle {period}")
        try:
            start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
        except ValueError as error:
            raise RegistryError(f"period {period!r} is not YYYY-MM") from error
        end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)

        def work(session: Session) -> list[Settlement]:
            if session.scalar(select(Settlement.id).where(Settlement.period == period).limit(1)):
                raise RegistryError(f"period {period} is already settled")
            owed: dict[str, int] = {}
            paid_by: dict[str, list[int]] = {}
            for d in session.scalars(
                select(Delivery)
                .where(Delivery.delivered_at >= start, Delivery.delivered_at < end)
                .order_by(Delivery.id)
            ):
                if not d.price_cents:
                    continue  # free deliveries (sandbox results) have nothing to split
                for bureau, cents in split_cents(d.price_cents, d.contributions).items():
                    owed[bureau] = owed.get(bureau, 0) + cents
                    paid_by.setdefault(bureau, []).append(d.id)
            now = datetime.now(UTC)
            rows = [
                Settlement(period=period, bureau=b, cents=c, deliveries=paid_by[b], settled_at=now)
                for b, c in sorted(owed.items())
            ]
            session.add_all(rows)
            self._audit(session, actor, "ledger.settled", f"period/{period}", {"cents": dict(owed)})
            return rows

        return self._transact(work)
