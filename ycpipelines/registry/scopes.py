"""Scoped reads (按主体可见): what one account may see of requests, tickets, authorizations and
deliveries. A consumer (`consumer:<id>`) sees its own, a bureau (`bureau:<id>`) its own tickets,
the admin, reviewers and the supervisor every request and ticket, and the admin and the
supervisor every delivery and authorization. Anything else is `NotFound`, worded as for an id
that does not exist, so another party's object never shows that it exists; the refusal is
audited (`access.refused`) for the supervisor all the same."""

from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.registry.errors import NotFound
from ycpipelines.registry.identity import ADMIN, OPERATOR, REVIEWER, SUPERVISOR
from ycpipelines.registry.models import ApprovalRequest, Authorization, Delivery, Ticket

READ_ALL = frozenset({ADMIN, REVIEWER, SUPERVISOR})  # may read every request and ticket
TICKET_READERS = READ_ALL | {OPERATOR}  # operators close tickets, so they read them
DELIVERY_READERS = frozenset({ADMIN, SUPERVISOR})  # may read every delivery and authorization


def scoped(roles: set[str], kind: str) -> set[str]:
    """The ids of the `kind:<id>` roles among `roles`."""
    return {role.partition(":")[2] for role in roles if role.startswith(f"{kind}:")}


class ScopesMixin:
    """Reads scoped to the account asking (mixed into `Registry`); roles are the verified ones."""

    def consumer_of(self, actor: str) -> set[str]:
        """The consumers (加工使用主体) an account acts for, from its `consumer:<id>` roles."""
        return scoped(self.verified_roles(actor), "consumer")

    def bureaus_of(self, actor: str) -> set[str]:
        """The bureaus (数源部门) an account acts for, from its `bureau:<id>` roles."""
        return scoped(self.verified_roles(actor), "bureau")

    def request_for(self, actor: str, request_id: int) -> ApprovalRequest:
        """A request the account may see: any for the admin, reviewers and the supervisor, its
        consumers' own for a consumer; otherwise `NotFound`."""
        roles = self.verified_roles(actor)
        with Session(self.engine) as session:
            found = session.get(ApprovalRequest, request_id)
        if found is not None and (roles & READ_ALL or found.consumer in scoped(roles, "consumer")):
            return found
        self._not_found(actor, "request", request_id, found is not None)

    def ticket_for(self, actor: str, ticket_id: int) -> Ticket:
        """A ticket the account may see: any for the governance team and the supervisor, its
        own bureau's for a bureau; otherwise `NotFound`."""
        roles = self.verified_roles(actor)
        with Session(self.engine) as session:
            found = session.get(Ticket, ticket_id)
        if found is not None and (
            roles & TICKET_READERS or found.bureau in scoped(roles, "bureau")
        ):
            return found
        self._not_found(actor, "ticket", ticket_id, found is not None)

    def visible_tickets(self, actor: str) -> list[Ticket]:
        """Every ticket for the governance team and the supervisor, else the account's
        bureaus' own, newest first."""
        roles = self.verified_roles(actor)
        query = select(Ticket).order_by(Ticket.id.desc())
        if not roles & TICKET_READERS:
            query = query.where(Ticket.bureau.in_(scoped(roles, "bureau")))
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def authorizations_for(self, actor: str) -> list[Authorization]:
        """The authorizations of the account's consumers, oldest first."""
        consumers = self.consumer_of(actor)
        query = select(Authorization).where(Authorization.consumer.in_(consumers))
        with Session(self.engine) as session:
            return list(session.scalars(query.order_by(Authorization.id)))

    def deliveries_for(self, actor: str) -> list[Delivery]:
        """The deliveries to the account's consumers, oldest first."""
        consumers = self.consumer_of(actor)
        query = select(Delivery).where(Delivery.consumer.in_(consumers))
        with Session(self.engine) as session:
            return list(session.scalars(query.order_by(Delivery.id)))

    def delivery_for(self, actor: str, delivery_id: int) -> Delivery:
        """A delivery to one of the account's consumers; otherwise `NotFound`."""
        consumers = self.consumer_of(actor)
        with Session(self.engine) as session:
            found = session.get(Delivery, delivery_id)
        if found is not None and found.consumer in consumers:
            return found
        self._not_found(actor, "delivery", delivery_id, found is not None)

    def visible_requests(self, actor: str, status: str | None = None) -> list[ApprovalRequest]:
        """The requests the account may see (all, or its consumers' own), oldest first."""
        roles = self.verified_roles(actor)
        found = self.requests(status)
        if roles & READ_ALL:
            return found
        return [r for r in found if r.consumer in scoped(roles, "consumer")]

    def visible_deliveries(self, actor: str) -> list[Delivery]:
        """Every delivery for the admin and the supervisor, else the account's consumers'."""
        if self.verified_roles(actor) & DELIVERY_READERS:
            return self.deliveries()
        return self.deliveries_for(actor)

    def visible_delivery(self, actor: str, delivery_id: int) -> Delivery:
        """A delivery the account may see (any for the admin and the supervisor); otherwise
        `NotFound`."""
        if not self.verified_roles(actor) & DELIVERY_READERS:
            return self.delivery_for(actor, delivery_id)
        with Session(self.engine) as session:
            found = session.get(Delivery, delivery_id)
        if found is None:
            self._not_found(actor, "delivery", delivery_id, False)
        return found

    def visible_authorizations(self, actor: str) -> list[Authorization]:
        """Every authorization for the admin and the supervisor, else the account's
        consumers'."""
        if self.verified_roles(actor) & DELIVERY_READERS:
            return self.authorizations()
        return self.authorizations_for(actor)

    def _not_found(self, actor: str, kind: str, object_id: int | str, exists: bool) -> NoReturn:
        """Audit that `actor` asked for what it may not see (or what does not exist), then
        raise `NotFound` with the same words either way."""
        detail = {"reason": f"{kind} {object_id} is not visible to {actor}", "exists": exists}
        self.audit(actor or "(nobody)", "access.refused", f"user/{actor}", detail)
        raise NotFound(f"no {kind} {object_id}")
