"""The append-only audit log (审计日志): a keyed hash chain, each change's entry written in the
same transaction as the change, and its verification against the signed checkpoints."""

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ycpipelines.foundation.clock import as_utc
from ycpipelines.registry.anchor import Checkpoint
from ycpipelines.registry.models import ApprovalRequest, AuditEntry, Authorization, User
from ycpipelines.registry.verify import (
    GENESIS,
    AuditVerdict,
    check_chain,
    check_checkpoints,
    check_coverage,
    check_states,
)

HEAD, FIRST = "audit_head", "audit_first"  # session.info: the range a transaction wrote
SEARCH_MAX = 500  # entries one search returns at most
AUDIT_LOCK = 7_265_513  # PostgreSQL advisory lock key of appends to the audit chain


def snapshot(session: Session) -> None:
    """Make the session's reads one snapshot (the log and the tables it must agree with)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif dialect == "sqlite":
        session.connection().exec_driver_sql("BEGIN")  # pysqlite starts no transaction for reads


def canonical(entry: AuditEntry) -> str:
    """The text an entry's keyed hash covers, in UTC whatever the database's zone returns."""
    at = entry.at.astimezone(UTC) if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
    body = {
        "at": at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class AuditMixin:
    """Appending to and reading the audit chain (mixed into `Registry`)."""

    def _audit(self, session: Session, actor: str, action: str, subject: str, detail: dict) -> None:
        if FIRST not in session.info and self.engine.dialect.name == "postgresql":
            # Appends to the chain queue one transaction at a time instead of racing for its head.
            session.execute(text(f"SELECT pg_advisory_xact_lock({AUDIT_LOCK})"))
        last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
        entry = AuditEntry(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            subject=subject,
            detail=detail,
            prev_hash=last or GENESIS,
        )
        entry.hash = self.anchor.seal(canonical(entry))
        session.add(entry)
        session.flush()
        session.info.setdefault(FIRST, entry.id)
        session.info[HEAD] = (entry.id, entry.hash)

    def audit(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """Append one audit entry on its own (for refusals and events without a state change)."""
        self._transact(lambda s: self._audit(s, actor, action, subject, detail))

    def audit_log(self) -> list[AuditEntry]:
        with Session(self.engine) as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))

    def search_audit(
        self,
        *,
        actor: str | None = None,
        subject: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Audit entries, newest first, filtered and paged in the database (审计检索): `actor`
        exactly, `subject` and `action` by prefix, `since` ≤ at < `until`."""
        query = select(AuditEntry)
        if actor:
            query = query.where(AuditEntry.actor == actor)
        for column, prefix in ((AuditEntry.subject, subject), (AuditEntry.action, action)):
            if prefix:
                query = query.where(column.startswith(prefix, autoescape=True))
        if since is not None:  # in UTC: SQLite compares the stored text
            query = query.where(AuditEntry.at >= as_utc(since))
        if until is not None:
            query = query.where(AuditEntry.at < as_utc(until))
        query = query.order_by(AuditEntry.id.desc())
        query = query.limit(max(0, min(limit, SEARCH_MAX))).offset(max(0, offset))
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def history(self, subject: str) -> list[AuditEntry]:
        """The audit entries about one subject, e.g. `ticket/3`, oldest first."""
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.id)
                )
            )

    def verify_audit(self, exported: list[Checkpoint] | None = None) -> AuditVerdict:
        """Check the keyed chain, the signed checkpoints outside the database (and a copy the
        supervisor exported, if given), and that requests, authorizations and accounts are what
        the chain's entries left (全流程可审计)."""
        points, bad = self.anchor.checkpoints()  # before the entries: each follows its commit
        with Session(self.engine) as session:
            snapshot(session)
            entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
            requests = list(session.scalars(select(ApprovalRequest)))
            grants = list(session.scalars(select(Authorization)))
            users = list(session.scalars(select(User)))
        problems = check_chain(entries, lambda e: self.anchor.seal(canonical(e)))
        checkpoint, missing = check_checkpoints(entries, [*points, *(exported or [])], bad)
        problems += missing + check_coverage(entries, self.anchor.covered, datetime.now(UTC))
        problems += check_states(entries, requests, grants, users)
        head = (entries[-1].id, entries[-1].hash) if entries else None
        return AuditVerdict(len(entries), head, checkpoint, problems)
