"""Differences a team works: an assignee, and replaced differences no longer count as open

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
# 0011 (member census) and 0012 are being added on other branches; the merge re-chains this.
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("differences", sa.Column("assignee_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_differences_assignee_id"), "differences", ["assignee_id"])
    # A difference a newer snapshot replaced stays unresolved but no longer holds its identity:
    # the newer snapshot's difference of the same identity takes its place.
    op.drop_index("uq_differences_open_identity", table_name="differences")
    op.create_index(
        "uq_differences_open_identity",
        "differences",
        ["employee_id", "carrier_id", "identity"],
        unique=True,
        postgresql_where=sa.text("resolved IS NULL AND replaced_by IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_differences_open_identity", table_name="differences")
    op.create_index(
        "uq_differences_open_identity",
        "differences",
        ["employee_id", "carrier_id", "identity"],
        unique=True,
        postgresql_where=sa.text("resolved IS NULL"),
    )
    op.drop_index(op.f("ix_differences_assignee_id"), table_name="differences")
    op.drop_column("differences", "assignee_id")
