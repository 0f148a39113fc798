"""group disconnection requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_disconnection_requests",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("group_name", sa.Text(), nullable=False),
        sa.Column("source_type", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("effective_end_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("decided", sa.BigInteger(), nullable=True),
        sa.Column("completed", sa.BigInteger(), nullable=True),
        sa.Column("workflow_id", sa.Text(), nullable=False),
        sa.Column("status_seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Uuid(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.ForeignKeyConstraint(["carrier_id"], ["carriers.id"]),
        sa.ForeignKeyConstraint(["connection_id"], ["group_connections.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    for column in ("organization_id", "group_id", "status"):
        op.create_index(
            op.f(f"ix_group_disconnection_requests_{column}"),
            "group_disconnection_requests",
            [column],
            unique=False,
        )
    op.create_index(
        "uq_group_disconnection_requests_open",
        "group_disconnection_requests",
        ["group_id", "carrier_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('needs_review', 'processing')"),
    )


def downgrade() -> None:
    op.drop_table("group_disconnection_requests")
