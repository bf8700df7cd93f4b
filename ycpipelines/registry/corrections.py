"""A settlement correction (结算更正): who reopened which round of a period, why, and the
totals that round had; the round's rows stay, marked superseded."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ycpipelines.registry.models import Base


class SettlementCorrection(Base):
    """One reopening of a settled period (收益分配更正), kept beside the rows it superseded."""

    __tablename__ = "settlement_corrections"
    __table_args__ = (UniqueConstraint("period", "round", name="uq_correction_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    round: Mapped[int] = mapped_column(Integer)  # the round reopened
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    cents: Mapped[dict] = mapped_column(JSON)  # bureau -> cents of the superseded round
    reopened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
