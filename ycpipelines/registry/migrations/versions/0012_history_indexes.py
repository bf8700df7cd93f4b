"""Indexes for the lookups one partition's run makes, so their cost does not grow with history:
audit entries by subject (a partition's commits and accepted shrinks, a ticket's or request's
history, an account's roles), a partition's tickets and its one-source conflicts.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])
    op.create_index("ix_tickets_partition", "tickets", ["dataset", "bureau", "day", "stage"])
    op.create_index("ix_conflicts_partition", "conflicts", ["dataset", "bureau", "day"])


def downgrade() -> None:
    op.drop_index("ix_conflicts_partition", "conflicts")
    op.drop_index("ix_tickets_partition", "tickets")
    op.drop_index("ix_audit_log_subject", "audit_log")
