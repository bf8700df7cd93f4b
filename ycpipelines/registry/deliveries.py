"""Deliveries (出域交付) and revenue settlement (收益分配) in the registry, each audited.

A delivery is `delivered` until its authorization is revoked (the revocation marks it `revoked`
in the same transaction); the consumer then destroys its copies and confirms it (`destroyed`).
What a consumer may do with one is `standing`: the one rule downloads and confirmations follow.
"""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import ApprovalRequest, Authorization, Delivery, Settlement

DELIVERED, REVOKED, DESTROYED = "delivered", "revoked", "destroyed"  # Delivery.status
ENDED, SUSPENDED = "ended", "suspended"  # what its authorization makes of a delivered one
DESTROYABLE = frozenset({REVOKED, ENDED})


def is_revoked(delivery: Delivery, grant: Authorization | None) -> bool:
    """The one rule of revocation (撤回): the delivery is marked revoked, or its authorization
    is revoked (or its row is gone), whatever the delivery's own row says."""
    return delivery.status == REVOKED or grant is None or grant.status == "revoked"


def standing(delivery: Delivery, grant: Authorization | None, today: date) -> str:
    """What the consumer may do with a delivery on the pilot's day `today` (交付状态):
    `delivered` (download it), `revoked` or `ended` (its authorization's validity is over:
    destroy the copies and confirm), `suspended` (wait: suspended, or not yet valid),
    `destroyed` (confirmed); any other status of the row is returned as it is."""
    if delivery.status == DESTROYED:
        return DESTROYED
    if grant is None or is_revoked(delivery, grant):
        return REVOKED
    if grant.valid_to < today:
        return ENDED
    if delivery.status != DELIVERED:
        return delivery.status
    if grant.status != "active" or today < grant.valid_from:
        return SUSPENDED
    return DELIVERED


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


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """The first instant of a `YYYY-MM` period (UTC) and of the month after it."""
    try:
        start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    except ValueError as error:
        raise RegistryError("a period is a month, YYYY-MM") from error
    return start, start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


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

    def confirm_destroyed(self, actor: str, delivery_id: int, note: str) -> Delivery:
        """The consumer confirms that it destroyed every copy of a revoked or ended delivery
        (销毁确认), once; audited `delivery.destroyed` with its note. Another consumer's delivery
        is `NotFound`."""
        found = self.delivery_for(actor, delivery_id)
        if not note.strip():
            raise RegistryError("a destruction confirmation needs a note: what was destroyed, how")

        def work(session: Session) -> Delivery:
            # The grant first, then the delivery: the order a revocation locks them in.
            grant = session.get(Authorization, found.authorization_id, with_for_update=True)
            delivery = session.get(Delivery, delivery_id, with_for_update=True)
            assert delivery is not None  # deliveries are never deleted
            state = standing(delivery, grant, pilot_today())
            if state == DESTROYED:
                raise RegistryError(f"delivery {delivery_id} was confirmed destroyed already")
            if state not in DESTROYABLE:
                raise RegistryError(
                    f"delivery {delivery_id} is {state}: only a revoked delivery, or one whose "
                    "authorization ended, is destroyed"
                )
            delivery.status = DESTROYED
            detail = {"consumer": delivery.consumer, "was": state, "note": note}
            self._audit(session, actor, "delivery.destroyed", f"delivery/{delivery_id}", detail)
            return delivery

        return self._transact(work)

    def settle(self, period: str, actor: str) -> list[Settlement]:
        """Split the period's delivery revenue among contributing bureaus, once per period (again
        only after `reopen_settlement`)."""
        self.require(actor, "admin", f"settle {period}")
        start, end = period_bounds(period)

        def work(session: Session) -> list[Settlement]:
            rounds = list(
                session.execute(
                    select(Settlement.round, Settlement.superseded_at).where(
                        Settlement.period == period
                    )
                )
            )
            if any(superseded is None for _, superseded in rounds):
                raise RegistryError(
                    f"period {period} is already settled (reopen it through a correction first)"
                )
            round_ = max((r for r, _ in rounds), default=0) + 1
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
                Settlement(
                    period=period,
                    bureau=b,
                    cents=c,
                    deliveries=paid_by[b],
                    settled_at=now,
                    round=round_,
                )
                for b, c in sorted(owed.items())
            ]
            session.add_all(rows)
            detail = {"cents": dict(owed), "round": round_}
            self._audit(session, actor, "ledger.settled", f"period/{period}", detail)
            return rows

        return self._transact(work)
