"""differences found by round-trip confirmation (the Tracking API)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "differences",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("employee_id", sa.Uuid(), nullable=False),
        sa.Column("member_snapshot_id", sa.Uuid(), nullable=True),
        sa.Column("member_transaction_id", sa.Uuid(), nullable=True),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("coverage_key", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("difference_classification", sa.String(length=32), nullable=False),
        sa.Column("difference_type", sa.String(length=32), nullable=False),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.Column("impact_score", sa.Integer(), nullable=False),
        sa.Column("impact_type", sa.String(length=32), nullable=True),
        sa.Column("is_dismissed", sa.Boolean(), nullable=False),
        sa.Column("is_suppressed", sa.Boolean(), nullable=False),
        sa.Column("is_discrepancy", sa.Boolean(), nullable=False),
        sa.Column("discrepancy_time", sa.BigInteger(), nullable=True),
        sa.Column("resolved", sa.BigInteger(), nullable=True),
        sa.Column("replaced_by", sa.Uuid(), nullable=True),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("sources", postgresql.JSONB(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Uuid(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.ForeignKeyConstraint(["carrier_id"], ["carriers.id"]),
        sa.ForeignKeyConstraint(["member_snapshot_id"], ["member_snapshots.id"]),
        sa.ForeignKeyConstraint(["member_transaction_id"], ["member_transactions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    for column in (
        "organization_id",
        "group_id",
        "employee_id",
        "member_snapshot_id",
        "member_transaction_id",
    ):
        op.create_index(op.f(f"ix_differences_{column}"), "differences", [column])
    # One open difference per identity for an employee at a carrier.
    op.create_index(
        "uq_differences_open_identity",
        "differences",
        ["employee_id", "carrier_id", "identity"],
        unique=True,
        postgresql_where=sa.text("resolved IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("differences")
