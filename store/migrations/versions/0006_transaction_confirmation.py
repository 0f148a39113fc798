"""round-trip confirmation schedule on member transactions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("member_transactions", sa.Column("confirm_stage", sa.String(20), nullable=True))
    op.add_column("member_transactions", sa.Column("confirm_due", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_member_transactions_confirm_due", "member_transactions", ["group_id", "confirm_due"]
    )


def downgrade() -> None:
    op.drop_index("ix_member_transactions_confirm_due", table_name="member_transactions")
    op.drop_column("member_transactions", "confirm_due")
    op.drop_column("member_transactions", "confirm_stage")
