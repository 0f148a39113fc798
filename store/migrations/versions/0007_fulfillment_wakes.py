"""a group's fulfillment loop is signalled once per build, not once per snapshot

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fulfillment_wakes",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("signalled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("group_id"),
    )


def downgrade() -> None:
    op.drop_table("fulfillment_wakes")
