"""Differences a team works (an assignee; replaced differences give up their identity), and
coverage exports (a census as of a date) with their records

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
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
    op.create_table(
        "coverage_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("carrier_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("percentage_complete", sa.Integer(), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.Column("completed", sa.BigInteger(), nullable=True),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("organization_id", "group_id", "expires"):
        op.create_index(op.f(f"ix_coverage_exports_{column}"), "coverage_exports", [column])
    op.create_table(
        "coverage_export_records",
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["export_id"], ["coverage_exports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("export_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("coverage_export_records")
    op.drop_table("coverage_exports")
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
