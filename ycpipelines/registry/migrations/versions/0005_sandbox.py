"""Sandbox queries and the privacy budget (ε) of an authorization.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("authorizations") as batch:
        batch.add_column(sa.Column("epsilon", sa.Float))
    op.create_table(
        "sandbox_queries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("consumer", sa.String(64), nullable=False, index=True),
        sa.Column("authorization_id", sa.Integer, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("epsilon", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("request_id", sa.Integer),
        sa.Column("result_path", sa.Text),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sandbox_queries")
    with op.batch_alter_table("authorizations") as batch:
        batch.drop_column("epsilon")
