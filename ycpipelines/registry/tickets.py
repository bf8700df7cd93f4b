"""Tickets (问题工单): feedback to a bureau, one per partition × stage × rule; each step audited.

open → acknowledged | disputed → closed; a clean re-run closes the stage's tickets whose rule
found nothing, via `fixed`. Tickets name problem rows by masked key and line only. Each person's
step, and each answer of the governance team (admin or operator), is also a message of the
ticket's thread (工单往来), written in the step's transaction.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.foundation.feedback import ROW_KEYS_KEPT, Finding
from ycpipelines.registry.bureau_models import TicketMessage
from ycpipelines.registry.errors import RegistryError
from ycpipelines.registry.identity import ADMIN, OPERATOR
from ycpipelines.registry.models import Ticket

# Ticket actions: the states each may start from, and the state it leads to.
TICKET_ACTIONS = {
    "ack": ({"open"}, "acknowledged"),
    "dispute": ({"open", "acknowledged"}, "disputed"),  # 异议: the bureau says its data is right
    "close": ({"open", "acknowledged", "disputed", "fixed"}, "closed"),
}


@dataclass(frozen=True)
class Partition:
    """The partition and stage a ticket sync is about, and the run that found it."""

    dataset: str
    bureau: str
    day: str
    stage: str
    run_id: str

    @property
    def actor(self) -> str:
        return f"pipeline:{self.stage}"

    def open_tickets(self, session: Session) -> dict[str, Ticket]:
        """The stage's tickets on this partition that are not closed, by rule."""
        found = session.scalars(
            select(Ticket).where(
                Ticket.dataset == self.dataset,
                Ticket.bureau == self.bureau,
                Ticket.day == self.day,
                Ticket.stage == self.stage,
                Ticket.status != "closed",
            )
        )
        return {t.rule: t for t in found}

    def new_ticket(self, rule: str, finding: Finding, now: datetime) -> Ticket:
        return Ticket(
            bureau=self.bureau,
            dataset=self.dataset,
            day=self.day,
            stage=self.stage,
            rule=rule,
            reason=finding.reason,
            count=finding.count,
            row_keys=finding.row_keys[:ROW_KEYS_KEPT],
            status="open",
            run_id=self.run_id,
            opened_at=now,
            updated_at=now,
        )


class TicketsMixin:
    """Registry operations on tickets (mixed into `Registry`)."""

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
        partition = Partition(dataset, bureau, day, stage, run_id)

        def work(session: Session) -> dict[str, int]:
            now = datetime.now(UTC)
            current = partition.open_tickets(session)
            tally = self._record_findings(session, partition, current, found, now)
            if clean:
                fixed = {rule: t for rule, t in current.items() if rule not in found}
                tally["closed"] = self._close_fixed(session, partition, fixed, now)
            return tally

        return self._transact(work)

    def _record_findings(
        self,
        session: Session,
        partition: Partition,
        current: dict[str, Ticket],
        found: Mapping[str, Finding],
        now: datetime,
    ) -> dict[str, int]:
        """Open a ticket per new rule, update those whose rows changed; count each."""
        tally = {"opened": 0, "updated": 0, "closed": 0}
        for rule, finding in sorted(found.items()):
            keys = finding.row_keys[:ROW_KEYS_KEPT]
            ticket = current.get(rule)
            if ticket is None:
                ticket = partition.new_ticket(rule, finding, now)
                session.add(ticket)
                session.flush()
                tally["opened"] += 1
                action = "ticket.opened"
            elif (ticket.count, ticket.row_keys) != (finding.count, keys):
                ticket.count, ticket.row_keys = finding.count, keys
                ticket.run_id, ticket.updated_at = partition.run_id, now
                tally["updated"] += 1
                action = "ticket.updated"
            else:
                continue
            detail = {
                "dataset": partition.dataset,
                "bureau": partition.bureau,
                "day": partition.day,
                "rule": rule,
                "count": finding.count,
                "run_id": partition.run_id,
            }
            self._audit(session, partition.actor, action, f"ticket/{ticket.id}", detail)
        return tally

    def _close_fixed(
        self, session: Session, partition: Partition, fixed: dict[str, Ticket], now: datetime
    ) -> int:
        """Close, via `fixed`, the tickets whose rule found nothing in a committed re-run."""
        for rule, ticket in fixed.items():
            detail = {"run_id": partition.run_id, "rule": rule}
            subject = f"ticket/{ticket.id}"
            ticket.status, ticket.updated_at = "fixed", now
            self._audit(session, partition.actor, "ticket.fixed", subject, detail)
            ticket.status = "closed"
            ticket.note = f"fixed: the re-delivered partition passed in run {partition.run_id}"
            session.add(_message(ticket.id, partition.actor, "close", ticket.note, now))
            self._audit(session, partition.actor, "ticket.closed", subject, detail)
        return len(fixed)

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
        if action == "close":
            self._require_governance(actor, ticket_id, "close")
        else:
            owner = f"bureau:{self.ticket(ticket_id).bureau}"
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
            session.add(_message(ticket_id, actor, action, note, ticket.updated_at))
            return ticket

        return self._transact(work)

    def reply_ticket(self, ticket_id: int, *, actor: str, text: str) -> TicketMessage:
        """The governance team's answer (治理答复) on a ticket's thread: admin or operator, never
        an account of the owning bureau; the status stays, the answer is audited."""
        self._require_governance(actor, ticket_id, "answer")
        if not text.strip():
            raise RegistryError("an answer needs text")

        def work(session: Session) -> TicketMessage:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise RegistryError(f"no ticket {ticket_id}")
            message = _message(ticket_id, actor, "reply", text, datetime.now(UTC))
            session.add(message)
            ticket.updated_at = message.at
            detail = {"status": ticket.status, "text": text}
            self._audit(session, actor, "ticket.answered", f"ticket/{ticket_id}", detail)
            return message

        return self._transact(work)

    def ticket_thread(self, ticket_id: int) -> list[TicketMessage]:
        """A ticket's thread, oldest first (read it through `ticket_for` first)."""
        query = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
        with Session(self.engine) as session:
            return list(session.scalars(query.order_by(TicketMessage.id)))

    def _require_governance(self, actor: str, ticket_id: int, what: str) -> None:
        """Refuse, audited, unless `actor` is admin or operator and acts for no owning bureau."""
        owner = f"bureau:{self.ticket(ticket_id).bureau}"
        roles = self.require(actor, (ADMIN, OPERATOR), f"{what} ticket {ticket_id}")
        if owner in roles:
            self.refuse(actor, f"{actor} acts for {owner}; a bureau does not {what} its ticket")


def _message(ticket_id: int, actor: str, kind: str, text: str, at: datetime) -> TicketMessage:
    return TicketMessage(ticket_id=ticket_id, actor=actor, kind=kind, text=text, at=at)
