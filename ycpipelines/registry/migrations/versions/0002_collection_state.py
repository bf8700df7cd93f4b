"""Collection state: watermarks, source column baselines, one-source conflicts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "watermarks",
        sa.Column("dataset", sa.String(64), primary_key=True),
        sa.Column("bureau", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("column", sa.String(64), nullable=False),
        sa.Column("high", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "source_columns",
        sa.Column("dataset", sa.String(64), primary_key=True),
        sa.Column("bureau", sa.String(64), primary_key=True),
        sa.Column("column", sa.String(64), primary_key=True),
        sa.Column("family", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dataset", sa.String(64), nullable=False, index=True),
        sa.Column("bureau", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("element", sa.String(64), nullable=False),
        sa.Column("authority", sa.String(64), nullable=False),
        sa.Column("row_key", sa.Text, nullable=False),
        sa.Column("found", sa.Text, nullable=False),
        sa.Column("expected", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("conflicts")
    op.drop_table("source_columns")
    op.drop_table("watermarks")
