"""Tables of the registry database (运营登记库): approvals, the audit chain, collection state,
feedback tickets, accounts and their console credentials and sessions."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ApprovalRequest(Base):
    """An egress review request (出域审核) bound to one exact product content."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        UniqueConstraint("scenario", "consumer", "content_hash", name="uq_request_content"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario: Mapped[str] = mapped_column(String(64))
    consumer: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(71))
    row_count: Mapped[int] = mapped_column(Integer)
    product_path: Mapped[str] = mapped_column(Text)
    product_run_id: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewer: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_path: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    authorization_id: Mapped[int | None] = mapped_column(Integer)
    launched_by: Mapped[str | None] = mapped_column(String(64))  # who ran the product build


class AuditEntry(Base):
    """One append-only entry of the audit log (审计日志); each entry hashes its predecessor."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject"),)  # revision 0012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Watermark(Base):
    """How far incremental collection of one bureau × day partition has read (增量水位)."""

    __tablename__ = "watermarks"

    dataset: Mapped[str] = mapped_column(String(64), primary_key=True)
    bureau: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    column: Mapped[str] = mapped_column(String(64))
    high: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SourceColumn(Base):
    """The type family a source column had when it was last committed (schema drift baseline)."""

    __tablename__ = "source_columns"

    dataset: Mapped[str] = mapped_column(String(64), primary_key=True)
    bureau: Mapped[str] = mapped_column(String(64), primary_key=True)
    column: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(64))


class Conflict(Base):
    """A shared data element that disagrees with its authoritative source (一数一源)."""

    __tablename__ = "conflicts"
    __table_args__ = (Index("ix_conflicts_partition", "dataset", "bureau", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset: Mapped[str] = mapped_column(String(64), index=True)
    bureau: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))
    element: Mapped[str] = mapped_column(String(64))
    authority: Mapped[str] = mapped_column(String(64))
    row_key: Mapped[str] = mapped_column(Text)
    found: Mapped[str] = mapped_column(Text)  # masked
    expected: Mapped[str] = mapped_column(Text)  # masked
    run_id: Mapped[str] = mapped_column(String(64))


class Ticket(Base):
    """A feedback ticket (问题数据反馈单) to the bureau owning a partition's problem rows.

    It names rows by key and line, never by their values (可反馈可追溯可定责).
    """

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_partition", "dataset", "bureau", "day", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bureau: Mapped[str] = mapped_column(String(64), index=True)
    dataset: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))
    stage: Mapped[str] = mapped_column(String(16))  # collect, one_source or govern
    rule: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer)
    row_keys: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    run_id: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)  # the bureau's objection or the resolution


class User(Base):
    """An account of the registry (账户), with roles such as `reviewer` (审核员).

    `os_account` is the operating-system login the CLI acts as; `demo` marks the accounts that
    `make demo` creates, which production refuses.
    """

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    roles: Mapped[list] = mapped_column(JSON)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    os_account: Mapped[str | None] = mapped_column(String(64), unique=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)


class Credential(Base):
    """An account's console credentials (登录凭据): an argon2id password hash, the TOTP second
    factor's secret encrypted at rest (bound to the account), and the consecutive failures that
    lock it; `seal` binds the values that decide a sign-in to the account."""

    __tablename__ = "credentials"

    user: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    must_change: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    totp_secret: Mapped[str | None] = mapped_column(Text)  # Fernet token, never the base32
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # the last code used
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # a keyed hash of user, hash, secret, flags and changed_at: a row copied or edited is void
    seal: Mapped[str] = mapped_column(String(64))


class ConsoleSession(Base):
    """A signed-in console session (会话): the cookie's sha256 only, the sign-in stage reached,
    its CSRF token and both expiries; `seal` is a keyed hash binding the row's values, so a row
    edited or inserted by hand is no session."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(64), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seal: Mapped[str] = mapped_column(String(64))


class RegistryMeta(Base):
    """Facts about the registry itself, such as its id (`registry_id`)."""

    __tablename__ = "registry_meta"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Launch(Base):
    """Who launched a Dagster run (运行发起人), recorded by the platform before the run exists;
    a run tag naming a person is never taken as this record."""

    __tablename__ = "launches"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    launcher: Mapped[str] = mapped_column(String(64))
    job: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Authorization(Base):
    """An authorization (授权) of a consumer for a scenario, with its contingency plan (预案)."""

    __tablename__ = "authorizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consumer: Mapped[str] = mapped_column(String(64), index=True)
    scenario: Mapped[str] = mapped_column(String(64))
    fields: Mapped[list] = mapped_column(JSON)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    plan: Mapped[str] = mapped_column(Text)  # the contingency plan (一授权一预案)
    status: Mapped[str] = mapped_column(String(16))  # active, suspended, revoked
    epsilon: Mapped[float | None] = mapped_column(Float)  # privacy budget of sandbox queries
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """One version of a product delivered into a consumer's zone (出域交付)."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("consumer", "scenario", "version", name="uq_delivery"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer)
    authorization_id: Mapped[int] = mapped_column(Integer)
    consumer: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(71))  # of the delivered file
    product_sha256: Mapped[str] = mapped_column(String(71))  # of the approved product content
    rows: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))  # id of the recipient's pseudonym key
    price_cents: Mapped[int] = mapped_column(Integer)
    contributions: Mapped[dict] = mapped_column(JSON)  # bureau -> weighted rows contributed
    status: Mapped[str] = mapped_column(String(16))  # delivered, revoked, destroyed
    delivered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Settlement(Base):
    """One bureau's share of one period's delivery revenue (收益分配), in integer cents."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("period", "bureau", "round", name="uq_settlement_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    bureau: Mapped[str] = mapped_column(String(64))
    cents: Mapped[int] = mapped_column(Integer)
    deliveries: Mapped[list] = mapped_column(JSON)
    settled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    round: Mapped[int] = mapped_column(Integer, default=1)  # 1, then one more per reopening
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # reopened


class SandboxQuery(Base):
    """An aggregate query run inside the domain for a consumer (数据可用不可见), and its ε."""

    __tablename__ = "sandbox_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consumer: Mapped[str] = mapped_column(String(64), index=True)
    authorization_id: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict] = mapped_column(JSON)
    epsilon: Mapped[float] = mapped_column(Float)  # charged unless refused
    status: Mapped[str] = mapped_column(String(16))  # refused, review (a request is filed)
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(Integer)
    result_path: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Alert(Base):
    """One alert, once per key (a run fails once; a re-evaluated tick files nothing new)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(256))
    run_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notified: Mapped[str | None] = mapped_column(String(128))  # how the webhook answered
