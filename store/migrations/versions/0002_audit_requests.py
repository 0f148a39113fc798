"""audit requests: followable before they finish, and a latest-audit index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing audits were created when they completed.
    op.add_column("group_audits", sa.Column("created", sa.BigInteger(), nullable=True))
    op.execute("UPDATE group_audits SET created = completed_at")
    op.alter_column("group_audits", "created", nullable=False)
    op.add_column("group_audits", sa.Column("workflow_id", sa.Text(), nullable=True))
    op.alter_column("group_audits", "completed_at", existing_type=sa.BigInteger(), nullable=True)
    op.create_index(
        "ix_group_audits_latest", "group_audits", ["group_id", "completed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_group_audits_latest", table_name="group_audits")
    op.execute("DELETE FROM group_audits WHERE completed_at IS NULL")
    op.alter_column("group_audits", "completed_at", existing_type=sa.BigInteger(), nullable=False)
    op.drop_column("group_audits", "workflow_id")
    op.drop_column("group_audits", "created")
