"""Approval requests and reviewers' decisions (审核) in the registry; each change is audited.

一场景一清单一审核: one request per product content and authorized consumer; a decision is what
the verified audit chain records, not a status column.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.models import ApprovalRequest, AuditEntry
from ycpipelines.registry.verify import REQUEST_STATES, as_recorded

# Audit actions that change a request's state; the newest one must be its approval to deliver.
STATE_CHANGES = frozenset(REQUEST_STATES)
# The statuses a request has once approved: its approval is read from the chain.
APPROVALS = frozenset({"approved", "published"})
# What a decision entry binds: publish delivers only a request that still names all of it.
DECISION_BINDS = ("scenario", "consumer", "content_hash", "authorization_id", "launched_by")
# What an `egress.requested` entry records of the request.
REQUEST_RECORDS = (
    "scenario",
    "consumer",
    "content_hash",
    "row_count",
    "authorization_id",
    "launched_by",
)


@dataclass(frozen=True)
class Decision:
    """A reviewer's approval as the verified audit chain records it (审核记录), not a status."""

    request_id: int
    reviewer: str
    decided_at: str
    content_hash: str
    entry_id: int


class RequestsMixin:
    """Registry operations on approval requests and their decisions (mixed into `Registry`)."""

    def file_request(self, actor: str, **fields: Any) -> tuple[ApprovalRequest, bool]:
        """File an approval request for one product content and consumer; idempotent. Open
        requests for the same scenario and consumer are superseded."""

        def work(session: Session) -> tuple[ApprovalRequest, bool]:
            existing = session.scalar(
                select(ApprovalRequest).where(
                    ApprovalRequest.scenario == fields["scenario"],
                    ApprovalRequest.consumer == fields["consumer"],
                    ApprovalRequest.content_hash == fields["content_hash"],
                )
            )
            if existing:
                return existing, False
            for older in session.scalars(
                select(ApprovalRequest).where(
                    ApprovalRequest.scenario == fields["scenario"],
                    ApprovalRequest.consumer == fields["consumer"],
                    ApprovalRequest.status.in_(("pending", "approved")),
                )
            ):
                older.status = "superseded"
                self._audit(session, actor, "egress.superseded", f"request/{older.id}", {})
            request = ApprovalRequest(status="pending", requested_at=datetime.now(UTC), **fields)
            session.add(request)
            session.flush()
            recorded = {k: fields.get(k) for k in REQUEST_RECORDS}
            self._audit(session, actor, "egress.requested", f"request/{request.id}", recorded)
            return request, True

        return self._transact(work)

    def requested_consumers(self, scenario: str, content_hash: str) -> set[str]:
        """The consumers already holding a request (of any status) for this product content."""
        query = select(ApprovalRequest.consumer).where(
            ApprovalRequest.scenario == scenario, ApprovalRequest.content_hash == content_hash
        )
        with Session(self.engine) as session:
            return set(session.scalars(query))

    def requests(self, status: str | None = None) -> list[ApprovalRequest]:
        query = select(ApprovalRequest).order_by(ApprovalRequest.id)
        if status:
            query = query.where(ApprovalRequest.status == status)
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def request(self, request_id: int) -> ApprovalRequest:
        with Session(self.engine) as session:
            found = session.get(ApprovalRequest, request_id)
        if found is None:
            raise RegistryError(f"no approval request {request_id}")
        return found

    def decide(
        self, request_id: int, *, approve: bool, reviewer: str, comment: str
    ) -> ApprovalRequest:
        """Record a reviewer's decision on a pending request (一场景一清单一审核).

        Only an account with the reviewer role that neither launched the build nor granted its
        authorization may decide (`check_reviewer`), and only on a request whose row is what its
        `egress.requested` entry recorded; a refused attempt is audited too.
        """
        if not reviewer.strip():
            raise RegistryError("a decision must name its reviewer")
        if not comment.strip():
            raise RegistryError("a decision needs a comment: why it may or may not leave")
        request = self.request(request_id)
        history = self.history(f"request/{request_id}")
        requested = next((e for e in history if e.action == "egress.requested"), None)
        refusal = self.check_reviewer(request, reviewer) or (
            None
            if as_recorded(request, requested)
            else f"request {request_id} is not what its egress.requested entry recorded"
        )
        if refusal:
            self.audit(
                reviewer, "egress.decision_refused", f"request/{request_id}", {"reason": refusal}
            )
            raise RegistryError(refusal)

        def work(session: Session) -> ApprovalRequest:
            request = session.get(ApprovalRequest, request_id)
            if request is None:
                raise RegistryError(f"no approval request {request_id}")
            if request.status != "pending":
                raise RegistryError(f"request {request_id} is {request.status}, not pending")
            request.status = "approved" if approve else "rejected"
            request.reviewer = reviewer
            request.comment = comment
            request.decided_at = datetime.now(UTC)
            self._audit(
                session,
                reviewer,
                f"egress.{request.status}",
                f"request/{request_id}",
                {k: getattr(request, k) for k in DECISION_BINDS} | {"comment": comment},
            )
            return request

        return self._transact(work)

    def verified_decision(self, request_id: int) -> Decision:
        """The approval of an approved request as recorded in the audit chain, after verifying
        the chain (what publish delivers under).

        Raises `RegistryError` when the chain or its checkpoints do not verify, when the request or
        its authorization is not what the chain recorded, when no signed `egress.approved` entry
        records it, or when that entry names another reviewer, consumer or content: a status
        column edited in the database is not a decision. (Rows edited elsewhere in the registry
        fail `verify_audit`, not this delivery.)
        """
        return self._verified(request_id, "approved")

    def verified_approval(self, request_id: int) -> Decision | None:
        """The approval an approved or published request stands on (审核记录), verified as
        `verified_decision` does; for a published one the newest state change before its
        `egress.published` entry must be that signed approval. None for a request never
        approved (pending, rejected, superseded, voided): it has no decision to read."""
        status = self.request(request_id).status
        return self._verified(request_id, status) if status in APPROVALS else None

    def _verified(self, request_id: int, status: str) -> Decision:
        """The verified approval of a request that must be `status` (approved or published)."""
        request = self.request(request_id)
        if request.status != status:
            raise RegistryError(f"request {request_id} is {request.status}, not {status}")
        own = {f"request/{request_id}", f"authorization/{request.authorization_id}"}
        problems = [
            p for p in self.verify_audit().problems if p.check != "state" or p.subject in own
        ]
        if problems:
            raise RegistryError(f"the audit chain does not verify: {problems[0].message}")
        last = self._approval_entry(request_id, published=status == "published")
        bound = {k: getattr(request, k) for k in DECISION_BINDS}
        if last.actor != request.reviewer or {k: last.detail.get(k) for k in bound} != bound:
            raise RegistryError(
                f"request {request_id}: the recorded approval names another reviewer, consumer "
                "or content"
            )
        return Decision(
            request_id=request_id,
            reviewer=last.actor,
            decided_at=last.at.isoformat(),
            content_hash=last.detail["content_hash"],
            entry_id=last.id,
        )

    def _approval_entry(self, request_id: int, published: bool) -> AuditEntry:
        """The request's signed approval: its newest state change, or for a published request
        the newest before its `egress.published` entry (which must name that approval)."""
        changes = [e for e in self.history(f"request/{request_id}") if e.action in STATE_CHANGES]
        named = None
        if published:
            last = changes.pop() if changes else None
            if last is None or last.action != "egress.published":
                raise RegistryError(f"request {request_id} has no egress.published entry")
            named = last.detail.get("decision_entry")
        last = changes[-1] if changes else None
        if last is None or last.action != "egress.approved" or not self.anchor.covered(last.id):
            raise RegistryError(f"request {request_id} has no signed approval in the audit chain")
        if named is not None and named != last.id:
            raise RegistryError(
                f"request {request_id} was published under another decision than its approval"
            )
        return last
