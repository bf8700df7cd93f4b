"""Identity (身份): accounts mapped to operating-system logins, demo accounts marked, the
launches of runs recorded by the platform, and the registry's own id (which names the folder of
its signed audit checkpoints).

Revision ID: 0007
Revises: 0006
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("os_account", sa.String(64)))
        users.add_column(sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()))
        users.create_unique_constraint("uq_users_os_account", ["os_account"])
    meta = op.create_table(
        "registry_meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.bulk_insert(meta, [{"name": "registry_id", "value": uuid.uuid4().hex}])
    op.create_table(
        "launches",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("launcher", sa.String(64), nullable=False),
        sa.Column("job", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("launches")
    op.drop_table("registry_meta")
    with op.batch_alter_table("users") as users:
        users.drop_constraint("uq_users_os_account", type_="unique")
        users.drop_column("demo")
        users.drop_column("os_account")
