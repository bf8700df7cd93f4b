"""Tables of admission and demand (准入与供需对接): a processing entity's application and a
consumer's demand for a scenario, each decided once and audited."""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ycpipelines.registry.models import Base


class Admission(Base):
    """A processing entity's application for admission (加工使用主体准入申请); `entity_id` becomes
    its consumer id (`consumer:<entity_id>`) when admitted."""

    __tablename__ = "admissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant: Mapped[str] = mapped_column(String(64), index=True)  # the account applying
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    entity_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18))  # unified social credit code (统一社会信用代码)
    qualifications: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(200))
    commitments: Mapped[bool] = mapped_column(Boolean)  # security commitments accepted
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending, admitted, refused
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Demand(Base):
    """An admitted consumer's demand for a scenario (供需对接): purpose, legal basis and the
    fields chosen from the catalog, decided by the joint lab's scenario review (应用场景评审)."""

    __tablename__ = "demands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consumer: Mapped[str] = mapped_column(String(64), index=True)
    filed_by: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(64))
    new_scenario: Mapped[bool] = mapped_column(Boolean)  # no product in the catalog yet
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    fields: Mapped[list] = mapped_column(JSON)  # product fields, or dataset.column of safe/
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending, approved, refused
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    authorization_id: Mapped[int | None] = mapped_column(Integer)
    proposal: Mapped[str | None] = mapped_column(Text)  # the manifest proposal's file name
