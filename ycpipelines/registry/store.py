"""The registry database: approval requests, collection state, tickets and the append-only,
hash-chained audit log (users, authorizations, deliveries, the sandbox and alerts are in their
own modules)."""

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ycpipelines.foundation.feedback import ROW_KEYS_KEPT, Finding
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry.alerts import AlertsMixin
from ycpipelines.registry.anchor import Anchor, Checkpoint
from ycpipelines.registry.authorizations import AuthorizationsMixin
from ycpipelines.registry.collection import CollectionMixin
from ycpipelines.registry.deliveries import DeliveriesMixin
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.identity import ADMIN, OPERATOR, IdentityMixin
from ycpipelines.registry.models import (
    ApprovalRequest,
    AuditEntry,
    Authorization,
    Conflict,
    RegistryMeta,
    SourceColumn,
    Ticket,
    User,
    Watermark,
)
from ycpipelines.registry.sandbox import SandboxMixin
from ycpipelines.registry.verify import (
    GENESIS,
    REQUEST_STATES,
    AuditVerdict,
    as_recorded,
    check_chain,
    check_checkpoints,
    check_coverage,
    check_states,
)

MIGRATION_LOCK = 7_265_512  # PostgreSQL advisory lock key of registry migrations
T = TypeVar("T")

# Ticket actions: the states each may start from, and the state it leads to.
TICKET_ACTIONS = {
    "ack": ({"open"}, "acknowledged"),
    "dispute": ({"open", "acknowledged"}, "disputed"),  # 异议: the bureau says its data is right
    "close": ({"open", "acknowledged", "disputed", "fixed"}, "closed"),
}
# Audit actions that change a request's state; the newest one must be its approval to deliver.
STATE_CHANGES = frozenset(REQUEST_STATES)
# What a decision entry binds: publish delivers only a request that still names all of it.
DECISION_BINDS = ("scenario", "consumer", "content_hash", "authorization_id", "launched_by")
HEAD, FIRST = "audit_head", "audit_first"  # session.info: the range a transaction wrote
AUDIT_LOCK = 7_265_513  # PostgreSQL advisory lock key of appends to the audit chain


@dataclass(frozen=True)
class Decision:
    """A reviewer's approval as the verified audit chain records it (审核记录), not a status."""

    request_id: int
    reviewer: str
    decided_at: str
    content_hash: str
    entry_id: int


def default_registry_url() -> str:
    return Settings().registry


def migrate(url: str) -> None:
    """Bring the registry schema to the newest Alembic revision."""
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    engine = create_engine(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Workers starting together on a fresh database migrate one after the other.
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()


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


@cache
def open_registry(url: str) -> "Registry":
    """One registry (and connection pool) per database per process."""
    return Registry(url)


class Registry(
    IdentityMixin,
    AlertsMixin,
    AuthorizationsMixin,
    CollectionMixin,
    DeliveriesMixin,
    SandboxMixin,
):
    """Operations on the registry; every change is audited in the same transaction, and the
    range of entries each transaction wrote is signed outside the database."""

    def __init__(self, url: str | None = None, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.url = url or settings.registry
        migrate(self.url)
        self.engine: Engine = create_engine(self.url)
        with Session(self.engine) as session:
            meta = session.get(RegistryMeta, "registry_id")
        if meta is None:
            raise RegistryError("the registry has no id (registry_meta): it was tampered with")
        self.anchor = Anchor.load(meta.value, settings)

    def _transact(self, work: Callable[[Session], T], attempts: int = 8) -> T:
        """Run `work` in one transaction, then sign the range of audit entries it appended; when
        a concurrent writer won a race on a unique key (the chain's head on SQLite, a watermark,
        a column baseline), wait a little and run it again: each `work` reads the state it
        changes, so a retry sees the winner's row."""
        for attempt in range(attempts):
            with Session(self.engine, expire_on_commit=False) as session:
                try:
                    result = work(session)
                    session.commit()
                    if HEAD in session.info:
                        self.anchor.checkpoint(session.info[FIRST], *session.info[HEAD])
                    return result
                except IntegrityError:
                    session.rollback()
                    if attempt == attempts - 1:
                        raise
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
        raise AssertionError("unreachable")

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

    def file_request(self, actor: str, **fields: Any) -> tuple[ApprovalRequest, bool]:
        """File an approval request for one product content and consumer; idempotent."""

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
            self._audit(
                session,
                actor,
                "egress.requested",
                f"request/{request.id}",
                {
                    k: fields.get(k)
                    for k in (
                        "scenario",
                        "consumer",
                        "content_hash",
                        "row_count",
                        "authorization_id",
                        "launched_by",
                    )
                },
            )
            return request, True

        return self._transact(work)

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
        """The approval of a request as recorded in the audit chain, after verifying the chain.

        Raises `RegistryError` when the chain or its checkpoints do not verify, when the request or
        its authorization is not what the chain recorded, when no signed `egress.approved` entry
        records it, or when that entry names another reviewer, consumer or content: a status
        column edited in the database is not a decision. (Rows edited elsewhere in the registry
        fail `verify_audit`, not this delivery.)
        """
        request = self.request(request_id)
        if request.status != "approved":
            raise RegistryError(f"request {request_id} is {request.status}, not approved")
        own = {f"request/{request_id}", f"authorization/{request.authorization_id}"}
        problems = [
            p for p in self.verify_audit().problems if p.check != "state" or p.subject in own
        ]
        if problems:
            raise RegistryError(f"the audit chain does not verify: {problems[0].message}")
        changes = [e for e in self.history(f"request/{request_id}") if e.action in STATE_CHANGES]
        last = changes[-1] if changes else None
        if last is None or last.action != "egress.approved" or not self.anchor.covered(last.id):
            raise RegistryError(f"request {request_id} has no signed approval in the audit chain")
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

    def watermark(self, dataset: str, bureau: str, day: str) -> Watermark | None:
        with Session(self.engine) as session:
            return session.get(Watermark, (dataset, bureau, day))

    def source_columns(self, dataset: str, bureau: str) -> dict[str, str]:
        """Type family of each source column at the last committed collection."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(SourceColumn).where(
                    SourceColumn.dataset == dataset, SourceColumn.bureau == bureau
                )
            )
            return {r.column: r.family for r in rows}

    def commit_collection(
        self,
        *,
        dataset: str,
        bureau: str,
        day: str,
        run_id: str,
        columns: dict[str, str],
        watermark: tuple[str, str] | None,
        counts: dict[str, int],
    ) -> None:
        """Record a committed partition: column baseline, watermark, and an audit entry.

        Called only after the partition's files were swapped in, so a watermark never runs
        ahead of the data it describes (归集可追溯).
        """

        def work(session: Session) -> None:
            for column, family in columns.items():
                session.merge(
                    SourceColumn(
                        dataset=dataset, bureau=bureau, column=column, family=family, run_id=run_id
                    )
                )
            if watermark:
                session.merge(
                    Watermark(
                        dataset=dataset,
                        bureau=bureau,
                        day=day,
                        column=watermark[0],
                        high=watermark[1],
                        run_id=run_id,
                        committed_at=datetime.now(UTC),
                    )
                )
            self._audit(
                session,
                "collector",
                "collect.committed",
                f"raw/{bureau}/{dataset}/{day}",
                {"run_id": run_id, **counts, "watermark": watermark[1] if watermark else None},
            )

        self._transact(work)

    def replace_conflicts(
        self, *, dataset: str, bureau: str, day: str, run_id: str, found: list[dict]
    ) -> None:
        """The one-source conflicts of a partition, replacing those of its earlier runs."""

        def work(session: Session) -> None:
            session.execute(
                delete(Conflict).where(
                    Conflict.dataset == dataset, Conflict.bureau == bureau, Conflict.day == day
                )
            )
            session.add_all(
                Conflict(dataset=dataset, bureau=bureau, day=day, run_id=run_id, **row)
                for row in found
            )

        self._transact(work)

    def conflicts(self, dataset: str) -> list[Conflict]:
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(Conflict).where(Conflict.dataset == dataset).order_by(Conflict.id)
                )
            )

    def sync_tickets(
        self,
        *,
        dataset: str,
        bureau: str,
        day: str,
        stage: str,
        run_id: str,
        found: Mapping[str, Finding],
        clean: bool,
    ) -> dict[str, int]:
        """Open or update one ticket per rule that found rows in a partition; when the partition
        was committed (`clean`), close the stage's tickets whose rule found nothing this time.

        Returns how many tickets were opened, updated and closed.
        """
        actor = f"pipeline:{stage}"

        def work(session: Session) -> dict[str, int]:
            tally = {"opened": 0, "updated": 0, "closed": 0}
            now = datetime.now(UTC)
            current = {
                t.rule: t
                for t in session.scalars(
                    select(Ticket).where(
                        Ticket.dataset == dataset,
                        Ticket.bureau == bureau,
                        Ticket.day == day,
                        Ticket.stage == stage,
                        Ticket.status != "closed",
                    )
                )
            }
            for rule, finding in sorted(found.items()):
                keys = finding.row_keys[:ROW_KEYS_KEPT]
                ticket = current.get(rule)
                if ticket is None:
                    ticket = Ticket(
                        bureau=bureau,
                        dataset=dataset,
                        day=day,
                        stage=stage,
                        rule=rule,
                        reason=finding.reason,
                        count=finding.count,
                        row_keys=keys,
                        status="open",
                        run_id=run_id,
                        opened_at=now,
                        updated_at=now,
                    )
                    session.add(ticket)
                    session.flush()
                    tally["opened"] += 1
                    action = "ticket.opened"
                elif (ticket.count, ticket.row_keys) != (finding.count, keys):
                    ticket.count, ticket.row_keys = finding.count, keys
                    ticket.run_id, ticket.updated_at = run_id, now
                    tally["updated"] += 1
                    action = "ticket.updated"
                else:
                    continue
                self._audit(
                    session,
                    actor,
                    action,
                    f"ticket/{ticket.id}",
                    {
                        "dataset": dataset,
                        "bureau": bureau,
                        "day": day,
                        "rule": rule,
                        "count": finding.count,
                        "run_id": run_id,
                    },
                )
            if clean:
                for rule, ticket in current.items():
                    if rule in found:
                        continue
                    detail = {"run_id": run_id, "rule": rule}
                    ticket.status, ticket.updated_at = "fixed", now
                    self._audit(session, actor, "ticket.fixed", f"ticket/{ticket.id}", detail)
                    ticket.status = "closed"
                    ticket.note = f"fixed: the re-delivered partition passed in run {run_id}"
                    self._audit(session, actor, "ticket.closed", f"ticket/{ticket.id}", detail)
                    tally["closed"] += 1
            return tally

        return self._transact(work)

    def tickets(
        self, *, status: str | None = None, bureau: str | None = None, dataset: str | None = None
    ) -> list[Ticket]:
        query = select(Ticket).order_by(Ticket.id)
        for column, value in (
            (Ticket.status, status),
            (Ticket.bureau, bureau),
            (Ticket.dataset, dataset),
        ):
            if value:
                query = query.where(column == value)
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def ticket(self, ticket_id: int) -> Ticket:
        with Session(self.engine) as session:
            found = session.get(Ticket, ticket_id)
        if found is None:
            raise RegistryError(f"no ticket {ticket_id}")
        return found

    def act_on_ticket(self, ticket_id: int, action: str, *, actor: str, note: str) -> Ticket:
        """A person's step on a ticket: the owning bureau's accounts ack or dispute (with the
        objection); the governance team (admin or operator) closes, never the bureau itself."""
        allowed, target = TICKET_ACTIONS[action]
        owner = f"bureau:{self.ticket(ticket_id).bureau}"
        if action == "close":
            roles = self.require(actor, (ADMIN, OPERATOR), f"close ticket {ticket_id}")
            if owner in roles:
                self.refuse(actor, f"{actor} acts for {owner}; a bureau does not close its ticket")
        else:
            self.require(actor, owner, f"{action} ticket {ticket_id} of {owner}")
        if action != "ack" and not note.strip():
            raise RegistryError(f"{action} needs a reason")

        def work(session: Session) -> Ticket:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise RegistryError(f"no ticket {ticket_id}")
            if ticket.status not in allowed:
                raise RegistryError(f"ticket {ticket_id} is {ticket.status}; cannot {action} it")
            ticket.status, ticket.updated_at = target, datetime.now(UTC)
            if note:
                ticket.note = note
            self._audit(session, actor, f"ticket.{target}", f"ticket/{ticket_id}", {"note": note})
            return ticket

        return self._transact(work)

    def history(self, subject: str) -> list[AuditEntry]:
        """The audit entries about one subject, e.g. `ticket/3`, oldest first."""
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.id)
                )
            )
