"""Carrier holdings: each carrier's census of a group's members, pulled at connection and by audits

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
# Other branches add migrations too; the merge re-chains this onto the last of them.
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carrier_holdings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Uuid(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("employee_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_member_id", sa.Text(), nullable=False),
        sa.Column("member", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("terminated", sa.Boolean(), nullable=False),
        sa.Column("match_key", sa.String(length=64), nullable=True),
        sa.Column("fetched", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.ForeignKeyConstraint(["carrier_id"], ["carriers.id"]),
        sa.ForeignKeyConstraint(["employee_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
        sa.UniqueConstraint(
            "employee_id", "carrier_id", name="uq_carrier_holdings_employee_carrier"
        ),
    )
    op.create_index(
        op.f("ix_carrier_holdings_organization_id"),
        "carrier_holdings",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        "ix_carrier_holdings_carrier_member",
        "carrier_holdings",
        ["group_id", "carrier_id", "carrier_member_id"],
        unique=False,
    )
    op.create_index(
        "ix_carrier_holdings_match_key", "carrier_holdings", ["group_id", "match_key"], unique=False
    )


def downgrade() -> None:
    op.drop_table("carrier_holdings")
