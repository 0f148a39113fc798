"""Operators: when each connection and disconnection request entered its status (overdue lists),
and why an audit failed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_STATUS_TABLES = ("group_connections", "group_disconnection_requests")


def upgrade() -> None:
    for table in _STATUS_TABLES:
        # `modified` also moves when a status's reason changes: a record's time in its status
        # is counted from this column, which moves only with the status. Existing rows start
        # from their last change, the best that is known of them.
        op.add_column(table, sa.Column("status_changed", sa.BigInteger(), nullable=True))
        op.execute(f"UPDATE {table} SET status_changed = modified")
        op.alter_column(table, "status_changed", nullable=False)
        # The overdue lists and gauge ask "which records entered this status before then".
        op.create_index(f"ix_{table}_status_changed", table, ["status", "status_changed"])
    # A failed audit's reason, written by its run: its history is not kept forever.
    op.add_column("group_audits", sa.Column("failure_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("group_audits", "failure_reason")
    for table in _STATUS_TABLES:
        op.drop_index(f"ix_{table}_status_changed", table_name=table)
        op.drop_column(table, "status_changed")
