"""Settlement corrections (结算更正): a wrongly closed period is reopened, never deleted; its rows
are marked superseded, each round of a period numbered, and the correction kept with its reason.

Revision ID: 0011
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(sa.Column("round", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True)))
        batch.drop_constraint("uq_settlement", type_="unique")
        batch.create_unique_constraint("uq_settlement_round", ["period", "bureau", "round"])
    op.create_table(
        "settlement_corrections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("period", sa.String(7), nullable=False, index=True),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("cents", sa.JSON, nullable=False),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("period", "round", name="uq_correction_round"),
    )


def downgrade() -> None:
    op.drop_table("settlement_corrections")
    op.execute("DELETE FROM settlements WHERE superseded_at IS NOT NULL")
    with op.batch_alter_table("settlements") as batch:
        batch.drop_constraint("uq_settlement_round", type_="unique")
        batch.create_unique_constraint("uq_settlement", ["period", "bureau"])
        batch.drop_column("superseded_at")
        batch.drop_column("round")
