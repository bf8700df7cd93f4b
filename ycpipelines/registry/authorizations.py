"""Authorizations (授权) in the registry; each change is audited.

一授权一预案: an authorization names one consumer, one scenario, the fields it may receive, its
validity and its contingency plan. Revoking one voids its open requests and marks what it
delivered as revoked, in the same transaction as the audit entry.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.identity import ADMIN, OPERATOR, REVIEWER
from ycpipelines.registry.models import ApprovalRequest, Authorization, Delivery

OPEN_REQUESTS = ("pending", "approved")
CONSUMER_ID = re.compile(r"[a-z][a-z0-9_-]{0,63}")  # names a zone folder: no path in it


@dataclass(frozen=True)
class GrantTerms:
    """What an authorization grants: consumer, scenario, fields, validity, 预案 and ε."""

    consumer: str
    scenario: str
    fields: list[str]
    valid_from: date
    valid_to: date
    plan: str
    epsilon: float | None = None

    def check(self) -> None:
        """Refuse terms no authorization may have."""
        if not CONSUMER_ID.fullmatch(self.consumer):
            raise RegistryError(
                f"{self.consumer!r} is not a consumer id (lower-case letters, digits, _ -)"
            )
        if self.valid_to < self.valid_from:
            raise RegistryError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        if not self.plan.strip():
            raise RegistryError("an authorization needs its contingency plan (一授权一预案)")


class AuthorizationsMixin:
    """Registry operations on authorizations (mixed into `Registry`); only an admin changes them."""

    def grant(
        self,
        *,
        consumer: str,
        scenario: str,
        fields: list[str],
        valid_from: date,
        valid_to: date,
        plan: str,
        actor: str,
        epsilon: float | None = None,
    ) -> Authorization:
        """Record an authorization; the caller has checked the fields against the manifest.
        `epsilon` is the privacy budget of sandbox queries over a `safe/<dataset>` scenario."""
        self.require(actor, ADMIN, f"grant {consumer} {scenario}")
        terms = GrantTerms(consumer, scenario, fields, valid_from, valid_to, plan, epsilon)
        return self._transact(lambda session: self._record_grant(session, terms, actor))

    def _record_grant(self, session: Session, terms: GrantTerms, actor: str) -> Authorization:
        """The authorization row and its `auth.granted` entry, in the caller's transaction; the
        same rules for an admin's grant and a scenario review's approval (应用场景评审)."""
        terms.check()
        grant = Authorization(
            consumer=terms.consumer,
            scenario=terms.scenario,
            fields=terms.fields,
            valid_from=terms.valid_from,
            valid_to=terms.valid_to,
            plan=terms.plan,
            epsilon=terms.epsilon,
            status="active",
            granted_by=actor,
            granted_at=datetime.now(UTC),
        )
        session.add(grant)
        session.flush()
        detail = {
            "consumer": terms.consumer,
            "scenario": terms.scenario,
            "fields": terms.fields,
            "valid_from": terms.valid_from.isoformat(),
            "valid_to": terms.valid_to.isoformat(),
            "plan": terms.plan,
            "epsilon": terms.epsilon,
        }
        self._audit(session, actor, "auth.granted", f"authorization/{grant.id}", detail)
        return grant

    def authorizations(
        self, *, consumer: str | None = None, scenario: str | None = None
    ) -> list[Authorization]:
        query = select(Authorization).order_by(Authorization.id)
        if consumer:
            query = query.where(Authorization.consumer == consumer)
        if scenario:
            query = query.where(Authorization.scenario == scenario)
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def authorization(self, grant_id: int) -> Authorization:
        with Session(self.engine) as session:
            found = session.get(Authorization, grant_id)
        if found is None:
            raise RegistryError(f"no authorization {grant_id}")
        return found

    def active_authorizations(self, scenario: str, on: date) -> list[Authorization]:
        """The authorizations of a scenario that are active and valid on a day."""
        return [
            a
            for a in self.authorizations(scenario=scenario)
            if a.status == "active" and a.valid_from <= on <= a.valid_to
        ]

    def change_authorization(
        self, grant_id: int, status: str, *, actor: str, reason: str
    ) -> tuple[Authorization, int, int]:
        """Suspend, resume or revoke. Revoking voids the open requests of the authorization and
        marks its deliveries revoked; returns (authorization, voided, revoked deliveries)."""
        allowed = {
            "suspended": {"active"},
            "active": {"suspended"},
            "revoked": {"active", "suspended"},
        }
        self.require(actor, ADMIN, f"set authorization {grant_id} {status}")
        if not reason.strip():
            raise RegistryError(f"setting an authorization {status} needs a reason")

        def work(session: Session) -> tuple[Authorization, int, int]:
            grant = session.get(Authorization, grant_id, with_for_update=True)
            if grant is None:
                raise RegistryError(f"no authorization {grant_id}")
            if grant.status not in allowed[status]:
                raise RegistryError(
                    f"authorization {grant_id} is {grant.status}; cannot set {status}"
                )
            grant.status = status
            voided = revoked = 0
            if status == "revoked":
                voided = self._void_requests(session, [grant.id], actor, reason)
                revoked = session.execute(
                    update(Delivery)  # a delivery confirmed destroyed stays destroyed
                    .where(Delivery.authorization_id == grant.id, Delivery.status == "delivered")
                    .values(status="revoked")
                ).rowcount
            self._audit(
                session,
                actor,
                f"auth.{status}",
                f"authorization/{grant_id}",
                {"reason": reason, "voided_requests": voided, "revoked_deliveries": revoked},
            )
            return grant, voided, revoked

        return self._transact(work)

    def void_expired(self, today: date, actor: str) -> int:
        """Void the open requests of authorizations whose validity has ended."""

        def work(session: Session) -> int:
            expired = list(
                session.scalars(
                    select(Authorization.id).where(
                        Authorization.status == "active", Authorization.valid_to < today
                    )
                )
            )
            return self._void_requests(session, expired, actor, f"authorization expired by {today}")

        return self._transact(work)

    def _void_requests(self, session: Session, grant_ids: list[int], actor: str, why: str) -> int:
        requests = list(
            session.scalars(
                select(ApprovalRequest)
                .where(
                    ApprovalRequest.authorization_id.in_(grant_ids),
                    ApprovalRequest.status.in_(OPEN_REQUESTS),
                )
                .with_for_update()
            )
        )
        for request in requests:
            request.status = "voided"
            self._audit(session, actor, "egress.voided", f"request/{request.id}", {"reason": why})
        return len(requests)

    def check_reviewer(self, request: ApprovalRequest, reviewer: str) -> str | None:
        """Why `reviewer` may not decide `request`, or None (审核员, 双人复核 four eyes): a
        reviewer decides, never the launcher of the build nor the grantor of its authorization;
        when the launcher is unknown, nobody who could have launched it (an operator)."""
        roles = self.verified_roles(reviewer)
        if REVIEWER not in roles:
            return f"{reviewer} is not an account with the {REVIEWER} role"
        if request.launched_by == reviewer:
            return f"{reviewer} launched the product run of request {request.id}; four eyes needed"
        if request.launched_by is None and OPERATOR in roles:
            return (
                f"the launcher of request {request.id}'s build is unknown and {reviewer} is an "
                "operator who could have launched it; four eyes needed"
            )
        if request.authorization_id is not None:
            grant = self.authorization(request.authorization_id)
            if grant.granted_by == reviewer:
                return (
                    f"{reviewer} granted authorization {grant.id}; its grantor may not approve "
                    "deliveries under it"
                )
        return None
