"""Tables of the bureaus' desk (数源部门): the thread of each feedback ticket and the backfills
(补采) a bureau asks for; revision 0010."""

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ycpipelines.registry.models import Base


class TicketMessage(Base):
    """One step of a ticket's thread (工单往来): the bureau's acknowledgement or objection (异议),
    the governance team's answer or closing; written with the step's audit entry."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # ack, dispute, reply or close
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BackfillRequest(Base):
    """A bureau's request to collect again its own dataset's days (补采); the collect stage's
    sensor submits it to the Dagster instance and records the backfill's progress here."""

    __tablename__ = "backfill_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bureau: Mapped[str] = mapped_column(String(64), index=True)
    dataset: Mapped[str] = mapped_column(String(64))
    first: Mapped[date] = mapped_column(Date)
    last: Mapped[date] = mapped_column(Date)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), index=True)  # requested … succeeded|failed
    backfill_id: Mapped[str | None] = mapped_column(String(64))
    runs: Mapped[int] = mapped_column(Integer, default=0)  # one per day
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
