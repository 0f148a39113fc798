"""open-enrollment renewal decisions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renewal_decisions",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("group_name", sa.Text(), nullable=False),
        sa.Column("renewal_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("carrier_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("issues", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("edit_seq", sa.Integer(), nullable=False),
        sa.Column("checked", sa.BigInteger(), nullable=True),
        sa.Column("workflow_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Uuid(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    for column in ("organization_id", "group_id", "renewal_date", "status"):
        op.create_index(
            op.f(f"ix_renewal_decisions_{column}"), "renewal_decisions", [column], unique=False
        )
    op.create_index(
        "uq_renewal_decisions_open",
        "renewal_decisions",
        ["group_id", "renewal_date"],
        unique=True,
        postgresql_where=sa.text("status <> 'done'"),
    )


def downgrade() -> None:
    op.drop_table("renewal_decisions")
