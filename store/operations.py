"""What operators watch, read cheaply at scrape time: the schema's revision and aggregate counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.disconnections import DisconnectionStatus
from domain.webhooks import DeliveryStatus
from store.models import Difference, GroupConnection, GroupDisconnectionRequest, MemberTransaction
from store.webhooks import WebhookDelivery


async def migration_revision(session: AsyncSession) -> str | None:
    """The Alembic revision the database is at (None before the first migration)."""
    exists = await session.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
    if not exists:
        return None
    return await session.scalar(text("SELECT version_num FROM alembic_version"))


@dataclass(frozen=True)
class StatusCount:
    """How many records are in a status, and since when the oldest of them (Unix seconds)."""

    status: str
    count: int
    oldest: int | None = None


async def connections_by_status(session: AsyncSession) -> list[StatusCount]:
    """Every connection status with its count and the earliest entry into it."""
    rows = await session.execute(
        select(
            GroupConnection.status, func.count(), func.min(GroupConnection.status_changed)
        ).group_by(GroupConnection.status)
    )
    return [StatusCount(status, count, oldest) for status, count, oldest in rows]


async def open_disconnection_reviews(session: AsyncSession) -> StatusCount:
    """Disconnection requests waiting for an operator (`needs_review`), and the oldest."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(GroupDisconnectionRequest.status_changed)).where(
                GroupDisconnectionRequest.status == DisconnectionStatus.NEEDS_REVIEW.value
            )
        )
    ).one()
    return StatusCount(DisconnectionStatus.NEEDS_REVIEW.value, count, oldest)


async def transactions_by_status_detail(session: AsyncSession) -> list[tuple[str, str, int]]:
    """(status, current status detail, count) of every member transaction."""
    detail = MemberTransaction.status_details[-1]["status_detail"].astext
    rows = await session.execute(
        select(MemberTransaction.status, detail, func.count()).group_by(
            MemberTransaction.status, detail
        )
    )
    return [(status, str(current or ""), count) for status, current, count in rows]


async def open_differences(session: AsyncSession) -> tuple[int, int]:
    """(open differences, of which discrepancies): not resolved, replaced or dismissed."""
    differences, discrepancies = (
        await session.execute(
            select(func.count(), func.count().filter(Difference.is_discrepancy.is_(True))).where(
                Difference.resolved.is_(None),
                Difference.replaced_by.is_(None),
                Difference.is_dismissed.is_(False),
                # Pending expectations no check has found at the carrier are not work yet.
                Difference.member_transaction_id.is_not(None),
            )
        )
    ).one()
    return differences, discrepancies


async def webhook_deliveries(session: AsyncSession) -> tuple[int, int, int | None]:
    """(pending deliveries, failed ones, the oldest pending one's creation in Unix seconds)."""
    pending, failed, oldest = (
        await session.execute(
            select(
                func.count().filter(WebhookDelivery.status == DeliveryStatus.PENDING.value),
                func.count().filter(WebhookDelivery.status == DeliveryStatus.FAILED.value),
                func.min(WebhookDelivery.created).filter(
                    WebhookDelivery.status == DeliveryStatus.PENDING.value
                ),
            ).where(
                WebhookDelivery.status.in_(
                    [DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value]
                )
            )
        )
    ).one()
    return pending, failed, oldest
