"""Feeds and feed runs in PostgreSQL: the feed per group and file carrier, runs, control numbers,
and the member transactions each run's file carries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.feeds import HOLDS_TRANSACTIONS
from domain.member_changes import TransactionStatus
from store.models import (
    Feed,
    FeedRun,
    FeedRunTransaction,
    Group,
    MemberTransaction,
    TradingPartnerCounter,
)
from store.pages import Direction, sorted_window
from store.tenancy import owned


async def ensure_feed(session: AsyncSession, feed: Feed) -> Feed:
    """The group's feed to the carrier: `feed` if there was none, else the one there (kept)."""
    found = await feed_of(session, feed.group_id, feed.carrier_id)
    if found is not None:
        return found
    session.add(feed)
    await session.flush()
    return feed


async def feed_of(session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID) -> Feed | None:
    return await session.scalar(
        select(Feed).where(Feed.group_id == group_id, Feed.carrier_id == carrier_id)
    )


async def feed(session: AsyncSession, feed_id: uuid.UUID, *, for_update: bool = False) -> Feed:
    return await _by_id(session, Feed, feed_id, what="feed", for_update=for_update)


async def owned_feed(
    session: AsyncSession,
    feed_id: uuid.UUID,
    organization_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Feed:
    return await owned(session, Feed, feed_id, organization_id, what="feed", for_update=for_update)


async def owned_run(
    session: AsyncSession, run_id: uuid.UUID, organization_id: uuid.UUID
) -> FeedRun:
    return await owned(session, FeedRun, run_id, organization_id, what="feed run")


async def run(session: AsyncSession, run_id: uuid.UUID, *, for_update: bool = False) -> FeedRun:
    return await _by_id(session, FeedRun, run_id, what="feed run", for_update=for_update)


RowT = TypeVar("RowT", Feed, FeedRun)


async def _by_id(
    session: AsyncSession, model: type[RowT], row_id: uuid.UUID, *, what: str, for_update: bool
) -> RowT:
    """The feed or run by id, whoever owns it (the worker's reads), or `NotFound`."""
    query = select(model).where(model.id == row_id)
    if for_update:
        query = query.with_for_update()
    found = await session.scalar(query)
    if found is None:
        raise NotFound.of(what)
    return found


async def run_by_key(session: AsyncSession, run_key: str) -> FeedRun | None:
    return await session.scalar(select(FeedRun).where(FeedRun.run_key == run_key))


async def next_control_number(session: AsyncSession, carrier_id: uuid.UUID) -> int:
    """The trading partner's next interchange and group control number: one row per carrier,
    incremented under its row lock, so no two runs (nor two workers) ever get the same."""
    statement = (
        insert(TradingPartnerCounter)
        .values(carrier_id=carrier_id, last_control_number=1)
        .on_conflict_do_update(
            index_elements=[TradingPartnerCounter.carrier_id],
            set_={"last_control_number": TradingPartnerCounter.last_control_number + 1},
        )
        .returning(TradingPartnerCounter.last_control_number)
    )
    number = (await session.execute(statement)).scalar_one()
    return int(number)


def _held_by_a_run() -> ColumnElement[bool]:
    return exists().where(
        FeedRunTransaction.transaction_id == MemberTransaction.id,
        FeedRunTransaction.feed_run_id == FeedRun.id,
        FeedRun.status.in_([status.value for status in HOLDS_TRANSACTIONS]),
    )


async def pending_transactions(
    session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID
) -> Sequence[MemberTransaction]:
    """The group's transactions for the carrier not in any file yet (nor in a run that failed
    or was discarded), in build order."""
    return (
        await session.scalars(
            select(MemberTransaction)
            .where(
                MemberTransaction.group_id == group_id,
                MemberTransaction.carrier_id == carrier_id,
                MemberTransaction.status == TransactionStatus.PROCESSING.value,
                ~_held_by_a_run(),
            )
            .order_by(MemberTransaction.position)
        )
    ).all()


async def latest_members(
    session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID
) -> Sequence[MemberTransaction]:
    """Each employee's latest transaction for the carrier that was not canceled: the member as
    the engine holds it now (a full file's population)."""
    return (
        await session.scalars(
            select(MemberTransaction)
            .where(
                MemberTransaction.group_id == group_id,
                MemberTransaction.carrier_id == carrier_id,
                MemberTransaction.status != TransactionStatus.CANCELED.value,
            )
            .order_by(MemberTransaction.employee_id, MemberTransaction.position.desc())
            .ext(distinct_on(MemberTransaction.employee_id))
        )
    ).all()


async def has_census(session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID) -> bool:
    """Whether member snapshots of the group were built into transactions for the carrier."""
    found = await session.scalar(
        select(MemberTransaction.id)
        .where(MemberTransaction.group_id == group_id, MemberTransaction.carrier_id == carrier_id)
        .limit(1)
    )
    return found is not None


async def link_transactions(
    session: AsyncSession, run_id: uuid.UUID, linked: list[tuple[uuid.UUID, str]]
) -> None:
    for transaction_id, subscriber_id in linked:
        session.add(
            FeedRunTransaction(
                feed_run_id=run_id, transaction_id=transaction_id, subscriber_id=subscriber_id
            )
        )
    await session.flush()


async def run_transactions(
    session: AsyncSession, run_id: uuid.UUID
) -> list[tuple[MemberTransaction, str]]:
    """The run's transactions (locked for update) with their subscriber ids."""
    rows = await session.execute(
        select(MemberTransaction, FeedRunTransaction.subscriber_id)
        .join(FeedRunTransaction, FeedRunTransaction.transaction_id == MemberTransaction.id)
        .where(FeedRunTransaction.feed_run_id == run_id)
        .order_by(MemberTransaction.position)
        .with_for_update(of=MemberTransaction)
    )
    return [(transaction, subscriber_id) for transaction, subscriber_id in rows.all()]


async def group(session: AsyncSession, group_id: uuid.UUID) -> Group:
    found = await session.get(Group, group_id)
    if found is None:
        raise NotFound.of("group")
    return found


async def list_feeds(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    group_id: uuid.UUID | None,
    offset: int,
    limit: int,
) -> tuple[list[Feed], int]:
    conditions: list[ColumnElement[bool]] = [Feed.organization_id == organization_id]
    if group_id is not None:
        conditions.append(Feed.group_id == group_id)
    return await sorted_window(
        session,
        Feed,
        conditions=conditions,
        sort_by="created",
        direction="asc",
        offset=offset,
        limit=limit,
    )


async def list_runs(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    feed_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    statuses: Sequence[str] = (),
    created_min: int | None = None,
    created_max: int | None = None,
    direction: Direction = "desc",
    offset: int,
    limit: int,
) -> tuple[list[FeedRun], int]:
    conditions: list[ColumnElement[bool]] = [FeedRun.organization_id == organization_id]
    if feed_id is not None:
        conditions.append(FeedRun.feed_id == feed_id)
    if group_id is not None:
        conditions.append(FeedRun.group_id == group_id)
    if statuses:
        conditions.append(FeedRun.status.in_(list(statuses)))
    if created_min is not None:
        conditions.append(FeedRun.created >= created_min)
    if created_max is not None:
        conditions.append(FeedRun.created <= created_max)
    return await sorted_window(
        session,
        FeedRun,
        conditions=conditions,
        sort_by="created",
        direction=direction,
        offset=offset,
        limit=limit,
    )


def contract(record: Feed | FeedRun) -> dict[str, Any]:
    return record.as_contract()
