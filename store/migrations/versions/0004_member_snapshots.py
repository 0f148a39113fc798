"""members, member snapshots and member transactions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _record_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Uuid(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("employee_id", sa.Uuid(), nullable=False),
        sa.Column("individual_type", sa.String(length=16), nullable=False),
        sa.Column("custom_individual_id", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_members_group_id"), "members", ["group_id"])
    op.create_index(op.f("ix_members_employee_id"), "members", ["employee_id"])
    op.create_index(
        "uq_members_employee_custom_id",
        "members",
        ["group_id", "custom_individual_id"],
        unique=True,
        postgresql_where=sa.text("individual_type = 'employee'"),
    )
    op.create_index(
        "uq_members_dependent_custom_id",
        "members",
        ["employee_id", "custom_individual_id"],
        unique=True,
        postgresql_where=sa.text("individual_type = 'dependent'"),
    )

    op.create_table(
        "member_snapshots",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("employee_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("replaced_by", sa.Uuid(), nullable=True),
        sa.Column("inbound_snapshot", sa.Text(), nullable=False),
        sa.Column("member_snapshot", postgresql.JSONB(), nullable=False),
        sa.Column("carrier_members", postgresql.JSONB(), nullable=False),
        sa.Column("created_members", postgresql.JSONB(), nullable=False),
        sa.Column("warnings", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("fulfillment_summary", postgresql.JSONB(), nullable=False),
        sa.Column("workflow_id", sa.Text(), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    for column in ("organization_id", "group_id", "employee_id", "status"):
        op.create_index(op.f(f"ix_member_snapshots_{column}"), "member_snapshots", [column])

    op.create_table(
        "member_transactions",
        sa.Column("position", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("employee_id", sa.Uuid(), nullable=False),
        sa.Column("member_snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("lines_of_coverage", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("transaction_type", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=False),
        sa.Column("status_details", postgresql.JSONB(), nullable=False),
        sa.Column("verified", sa.BigInteger(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("carrier_transaction_id", sa.Text(), nullable=True),
        *_record_columns(),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.ForeignKeyConstraint(["member_snapshot_id"], ["member_snapshots.id"]),
        sa.ForeignKeyConstraint(["carrier_id"], ["carriers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
        sa.UniqueConstraint("position"),
    )
    for column in ("organization_id", "group_id", "employee_id", "member_snapshot_id", "status"):
        op.create_index(op.f(f"ix_member_transactions_{column}"), "member_transactions", [column])


def downgrade() -> None:
    op.drop_table("member_transactions")
    op.drop_table("member_snapshots")
    op.drop_table("members")
