"""The JSON API's answers (接口响应模型): plain figures copied out of registry rows and the review
sheet, never an ORM object, a file path, a key fingerprint or a sample row."""

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from ycpipelines.egress.desk import ReviewSheet
from ycpipelines.foundation.clock import stamp


def as_stamp(value: Any) -> Any:
    """An instant as ISO 8601 in the pilot's zone ("" for none); a day as ISO text."""
    if isinstance(value, datetime) or value is None:
        return stamp(value)
    return value.isoformat() if isinstance(value, date) else value


Stamp = Annotated[str, BeforeValidator(as_stamp)]


class Row(BaseModel):
    """Read from a registry row's attributes: only the fields declared here."""

    model_config = ConfigDict(from_attributes=True)


class Me(BaseModel):
    """The signed-in account (当前账户) and its verified roles."""

    name: str
    roles: list[str]
    consumers: list[str]
    bureaus: list[str]


class Request(Row):
    """An approval request (出域申请) as the registry holds it, without its file paths."""

    id: int
    status: str
    scenario: str
    consumer: str
    content_hash: str
    row_count: int
    authorization_id: int | None
    launched_by: str | None
    reviewer: str | None
    comment: str | None
    requested_at: Stamp
    decided_at: Stamp
    published_at: Stamp


class FieldRow(BaseModel):
    """A requested or authorized field: level, lineage and de-identification policy."""

    name: str
    label: str
    level: str
    requested: bool
    authorized: bool
    lineage: list[str]
    policy: str


class Quality(BaseModel):
    dataset: str
    partitions: int
    passed: int


class Privacy(BaseModel):
    """A privacy figure measured against its threshold (隐私核验)."""

    name: str
    measured: float | None
    threshold: float | None
    op: str
    passed: bool
    note: str


class ColumnStats(BaseModel):
    nulls_pct: float
    distinct: int | None
    mean: float | None = None
    stddev: float | None = None


class ColumnChange(BaseModel):
    column: str
    before: ColumnStats | None
    after: ColumnStats | None
    pseudonym: bool


class Changes(BaseModel):
    """What changed since the consumer's previous delivery of the scenario (与上次交付相比)."""

    previous_delivery: int
    previous_version: str
    rows_before: int
    rows_after: int
    added: list[str]
    removed: list[str]
    retyped: list[tuple[str, str, str]]
    distribution: list[ColumnChange]


class Contribution(BaseModel):
    bureau: str
    rows: float
    share: float


class Evidence(BaseModel):
    """The review sheet's figures (审核证据摘要): how many sample rows there are, never them."""

    content_verified: bool
    fields: list[FieldRow]
    quality: list[Quality]
    residual_identifiers: int | None
    privacy: list[Privacy]
    sample_columns: list[str]
    sample_rows: int
    sample_note: str
    changes: Changes | None
    changes_note: str
    contributions: list[Contribution]
    price: str
    purpose: str
    legal_basis: str
    retention_days: int | None


class RequestDetail(BaseModel):
    request: Request
    evidence: Evidence


class Decision(BaseModel):
    """A reviewer's decision (审核决定): approve or reject, with a comment."""

    approve: bool
    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Delivery(Row):
    """A delivered version (交付) and its standing today, without its zone path."""

    id: int
    request_id: int
    authorization_id: int
    consumer: str
    scenario: str
    version: str
    rows: int
    sha256: str
    product_sha256: str
    status: str
    standing: str = ""
    delivered_at: Stamp


class Authorization(Row):
    """An authorization (授权) and its contingency plan (预案)."""

    id: int
    consumer: str
    scenario: str
    fields: list[str]
    valid_from: Stamp
    valid_to: Stamp
    plan: str
    status: str
    epsilon: float | None
    granted_by: str
    granted_at: Stamp


class Ticket(Row):
    """A ticket to a bureau (问题工单): problem rows by masked key only."""

    id: int
    bureau: str
    dataset: str
    day: str
    stage: str
    rule: str
    reason: str
    count: int
    row_keys: list[str] = Field(description="masked row keys")
    status: str
    note: str | None
    opened_at: Stamp
    updated_at: Stamp


def evidence_of(sheet: ReviewSheet) -> Evidence:
    """The figures of a review sheet; its sample's rows are counted, not copied."""
    sample = sheet.sample
    return Evidence.model_validate(
        {
            "content_verified": sheet.content_verified,
            "fields": [asdict(f) for f in sheet.fields],
            "quality": [asdict(q) for q in sheet.quality],
            "residual_identifiers": sheet.residual_identifiers,
            "privacy": [asdict(p) for p in sheet.privacy],
            "sample_columns": sample.columns if sample else [],
            "sample_rows": len(sample.rows) if sample else 0,
            "sample_note": sheet.sample_note,
            "changes": asdict(sheet.changes) if sheet.changes else None,
            "changes_note": sheet.changes_note,
            "contributions": [c._asdict() for c in sheet.contributions],
            "price": sheet.price,
            "purpose": sheet.purpose,
            "legal_basis": sheet.legal_basis,
            "retention_days": sheet.retention_days,
        }
    )
