"""File carriers: feeds, feed runs, the transactions each run carries, control numbers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_group_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("testing", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("rrule", sa.Text(), nullable=False),
        sa.Column("time_of_day", sa.String(length=5), nullable=False),
        sa.Column("zone_info", sa.String(length=64), nullable=False),
        sa.Column("file_mode", sa.String(length=20), nullable=False),
        sa.Column("error_threshold", sa.Float(), nullable=True),
        sa.Column("approved", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Uuid(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["carrier_id"], ["carriers.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "carrier_id"),
        sa.UniqueConstraint("version"),
    )
    op.create_index(op.f("ix_feeds_organization_id"), "feeds", ["organization_id"], unique=False)
    op.create_table(
        "feed_runs",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("feed_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("run_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("testing", sa.Boolean(), nullable=False),
        sa.Column("file_mode", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("interchange_control_number", sa.BigInteger(), nullable=True),
        sa.Column("group_control_number", sa.BigInteger(), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("file_bytes", sa.BigInteger(), nullable=True),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("acknowledgement", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("loops", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("sent_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("acknowledged", sa.BigInteger(), nullable=True),
        sa.Column("resends", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Uuid(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["carrier_id"], ["carriers.id"]),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_key"),
        sa.UniqueConstraint("version"),
    )
    op.create_index(op.f("ix_feed_runs_feed_id"), "feed_runs", ["feed_id"], unique=False)
    op.create_index(op.f("ix_feed_runs_group_id"), "feed_runs", ["group_id"], unique=False)
    op.create_index(
        op.f("ix_feed_runs_organization_id"), "feed_runs", ["organization_id"], unique=False
    )
    op.create_index(op.f("ix_feed_runs_status"), "feed_runs", ["status"], unique=False)
    op.create_table(
        "feed_run_transactions",
        sa.Column("feed_run_id", sa.Uuid(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("subscriber_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["feed_run_id"], ["feed_runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["transaction_id"], ["member_transactions.id"]),
        sa.PrimaryKeyConstraint("feed_run_id", "transaction_id"),
    )
    op.create_index(
        op.f("ix_feed_run_transactions_transaction_id"),
        "feed_run_transactions",
        ["transaction_id"],
        unique=False,
    )
    op.create_table(
        "trading_partner_counters",
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("last_control_number", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["carrier_id"], ["carriers.id"]),
        sa.PrimaryKeyConstraint("carrier_id"),
    )


def downgrade() -> None:
    op.drop_table("trading_partner_counters")
    op.drop_index(
        op.f("ix_feed_run_transactions_transaction_id"), table_name="feed_run_transactions"
    )
    op.drop_table("feed_run_transactions")
    op.drop_index(op.f("ix_feed_runs_status"), table_name="feed_runs")
    op.drop_index(op.f("ix_feed_runs_organization_id"), table_name="feed_runs")
    op.drop_index(op.f("ix_feed_runs_group_id"), table_name="feed_runs")
    op.drop_index(op.f("ix_feed_runs_feed_id"), table_name="feed_runs")
    op.drop_table("feed_runs")
    op.drop_index(op.f("ix_feeds_organization_id"), table_name="feeds")
    op.drop_table("feeds")
