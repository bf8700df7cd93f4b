"""Admission and demand (准入与供需对接): processing entities' applications and consumers'
demands for scenarios.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "admissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("applicant", sa.String(64), nullable=False, index=True),
        sa.Column("entity_id", sa.String(64), nullable=False, index=True),
        sa.Column("entity_name", sa.String(200), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("qualifications", sa.Text, nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("commitments", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("reason", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "demands",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("consumer", sa.String(64), nullable=False, index=True),
        sa.Column("filed_by", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("new_scenario", sa.Boolean, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("comment", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("authorization_id", sa.Integer),
        sa.Column("proposal", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("demands")
    op.drop_table("admissions")
