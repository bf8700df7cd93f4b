"""Users and roles, authorizations, deliveries and settlements; one request per consumer.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def one_request_per_consumer() -> None:
    """The first schema made requests unique per scenario and content; now each authorized
    consumer gets its own request for the same content. SQLite's constraint was unnamed."""
    if op.get_bind().dialect.name == "sqlite":
        naming = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
        with op.batch_alter_table("approval_requests", naming_convention=naming) as batch:
            batch.drop_constraint("uq_approval_requests_scenario", type_="unique")
    else:
        op.drop_constraint(
            "approval_requests_scenario_content_hash_key", "approval_requests", type_="unique"
        )
    with op.batch_alter_table("approval_requests") as batch:
        batch.add_column(sa.Column("authorization_id", sa.Integer))
        batch.add_column(sa.Column("launched_by", sa.String(64)))
        batch.create_unique_constraint(
            "uq_request_content", ["scenario", "consumer", "content_hash"]
        )


def upgrade() -> None:
    one_request_per_consumer()
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "authorizations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("consumer", sa.String(64), nullable=False, index=True),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("authorization_id", sa.Integer, nullable=False),
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(71), nullable=False),
        sa.Column("product_sha256", sa.String(71), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("price_cents", sa.Integer, nullable=False),
        sa.Column("contributions", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("consumer", "scenario", "version", name="uq_delivery"),
    )
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("bureau", sa.String(64), nullable=False),
        sa.Column("cents", sa.Integer, nullable=False),
        sa.Column("deliveries", sa.JSON, nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("period", "bureau", name="uq_settlement"),
    )


def downgrade() -> None:
    for table in ("settlements", "deliveries", "authorizations", "users"):
        op.drop_table(table)
