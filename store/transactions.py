"""Reads of member snapshots and carrier transactions for the fulfillment and confirmation loops.

Reads that take rows to change lock them (`FOR NO KEY UPDATE`, see `store.db.NO_KEY_UPDATE`)
and load only what the loops need: the people in snapshot payloads and transaction bodies stay
unread unless a carrier call needs them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import asyncpg
from sqlalchemy import BigInteger, Integer, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from domain.member_changes import (
    FINAL_STATUSES,
    SnapshotStatus,
    TransactionOutcome,
    TransactionStatus,
)
from store.db import NO_KEY_UPDATE, Statement, id_param, ids_param
from store.models import MemberSnapshot, MemberTransaction, Plan

# What building needs of a snapshot; its payloads (the person as received) stay unread.
_TO_BUILD = load_only(
    MemberSnapshot.id,
    MemberSnapshot.organization_id,
    MemberSnapshot.group_id,
    MemberSnapshot.employee_id,
    MemberSnapshot.status,
    MemberSnapshot.carrier_members,
    MemberSnapshot.fulfillment_summary,
    MemberSnapshot.version,
    MemberSnapshot.modified,
)
# What following a transaction needs; its body (the person) stays unread.
_TO_TRACK = load_only(
    MemberTransaction.id,
    MemberTransaction.member_snapshot_id,
    MemberTransaction.status,
    MemberTransaction.result,
    MemberTransaction.status_details,
    MemberTransaction.carrier_transaction_id,
    MemberTransaction.confirm_stage,
    MemberTransaction.confirm_due,
    MemberTransaction.version,
    MemberTransaction.modified,
)
# What settling a snapshot's summary needs of it, and its organization: the webhook events of
# its changes name it (`store.webhooks`), which would otherwise read it again per flush.
_TO_SETTLE = load_only(
    MemberSnapshot.id,
    MemberSnapshot.organization_id,
    MemberSnapshot.status,
    MemberSnapshot.fulfillment_summary,
    MemberSnapshot.version,
    MemberSnapshot.modified,
)

# Reads of ids and columns only, compiled once (`store.db.Statement`).
_GROUP = id_param("group_id")
_IDS = ids_param("ids")
_STORED = Statement(select(MemberSnapshot.id).where(MemberSnapshot.id == func.any(_IDS)))
_OUTCOMES = Statement(
    select(
        MemberTransaction.member_snapshot_id,
        MemberTransaction.carrier_id,
        MemberTransaction.status,
        MemberTransaction.carrier_transaction_id,
        MemberTransaction.result["reason"].astext.label("reason"),
    ).where(MemberTransaction.member_snapshot_id == func.any(_IDS))
)
_UNSENT = Statement(
    select(MemberTransaction.id)
    .where(
        MemberTransaction.group_id == _GROUP,
        MemberTransaction.status == TransactionStatus.PROCESSING.value,
        MemberTransaction.carrier_transaction_id.is_(None),
        MemberTransaction.carrier_id != func.all(ids_param("excluded")),
    )
    .order_by(MemberTransaction.position)
    .limit(bindparam("limit", type_=Integer))
)
_AT_CARRIER = (
    MemberTransaction.group_id == _GROUP,
    MemberTransaction.status == TransactionStatus.PROCESSING.value,
    MemberTransaction.carrier_transaction_id.is_not(None),
)
_IN_FLIGHT_COUNT = Statement(select(func.count()).where(*_AT_CARRIER))
_IN_FLIGHT = Statement(
    select(MemberTransaction.id, MemberTransaction.carrier_id, MemberTransaction.result).where(
        *_AT_CARRIER
    )
)
_EMPLOYEES_AT_CARRIERS = Statement(
    select(MemberTransaction.employee_id, MemberTransaction.carrier_id).where(
        MemberTransaction.id == func.any(_IDS)
    )
)
_DUE = Statement(
    select(
        MemberTransaction.id,
        MemberTransaction.carrier_id,
        MemberTransaction.employee_id,
        MemberTransaction.confirm_stage,
        MemberTransaction.result["carrier_group_id"].astext.label("carrier_group_id"),
    )
    .where(
        MemberTransaction.group_id == _GROUP,
        MemberTransaction.confirm_due <= bindparam("now", type_=BigInteger),
        MemberTransaction.status == TransactionStatus.COMPLETED.value,
    )
    .order_by(MemberTransaction.confirm_due)
    .limit(bindparam("limit", type_=Integer))
)
# Columns, not entities: building and confirming read the plans of every batch, and each
# plan's whole document is about a kilobyte of JSON.
_PLAN_KINDS = Statement(
    select(
        Plan.id,
        Plan.line_of_coverage,
        func.jsonb_build_object(
            "voluntary", Plan.details["voluntary"], "plan_type", Plan.details["plan_type"]
        ).label("details"),
    ).where(Plan.id == func.any(_IDS))
)
_NEXT_DUE = Statement(
    select(func.min(MemberTransaction.confirm_due)).where(
        MemberTransaction.group_id == _GROUP, MemberTransaction.confirm_due.is_not(None)
    )
)


# --- snapshots ------------------------------------------------------------------------------


async def submitted_snapshots(
    session: AsyncSession, group_id: uuid.UUID, *, limit: int
) -> Sequence[MemberSnapshot]:
    """The group's submitted snapshots, oldest first, locked; at most `limit`."""
    return (
        await session.scalars(
            select(MemberSnapshot)
            .options(_TO_BUILD)
            .where(
                MemberSnapshot.group_id == group_id,
                MemberSnapshot.status == SnapshotStatus.SUBMITTED.value,
            )
            .order_by(MemberSnapshot.created, MemberSnapshot.id)
            .limit(limit)
            .with_for_update(key_share=True)
        )
    ).all()


async def stored_snapshot_ids(
    session: AsyncSession, snapshot_ids: Collection[uuid.UUID]
) -> Sequence[uuid.UUID]:
    """Which of `snapshot_ids` are stored."""
    return [row["id"] for row in await _STORED.fetch(session, ids=list(snapshot_ids))]


async def snapshots_to_settle(
    session: AsyncSession, snapshot_ids: Collection[uuid.UUID]
) -> Sequence[MemberSnapshot]:
    """The snapshots (their status and summary only), locked in id order."""
    return (
        await session.scalars(
            select(MemberSnapshot)
            .options(_TO_SETTLE)
            .where(MemberSnapshot.id.in_(snapshot_ids))
            .order_by(MemberSnapshot.id)
            .with_for_update(key_share=True)
        )
    ).all()


async def outcomes_by_snapshot(
    session: AsyncSession, snapshot_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, list[TransactionOutcome]]]:
    """Each snapshot's transactions by carrier id (as text): only what its summary needs, the
    bodies (the people) stay unread."""
    by_snapshot: dict[uuid.UUID, dict[str, list[TransactionOutcome]]] = {}
    for row in await _OUTCOMES.fetch(session, ids=list(snapshot_ids)):
        by_snapshot.setdefault(row["member_snapshot_id"], {}).setdefault(
            str(row["carrier_id"]), []
        ).append(
            TransactionOutcome(
                status=row["status"],
                sent=bool(row["carrier_transaction_id"]),
                reason=row["reason"],
            )
        )
    return by_snapshot


# --- transactions the fulfillment loop sends and follows -------------------------------------


async def unsent_transaction_ids(
    session: AsyncSession,
    group_id: uuid.UUID,
    *,
    limit: int,
    exclude_carriers: AbstractSet[uuid.UUID] = frozenset(),
) -> Sequence[uuid.UUID]:
    """The group's transactions not yet with their carrier, in build order; at most `limit`;
    none of `exclude_carriers` (file carriers: their feeds send them)."""
    rows = await _UNSENT.fetch(
        session, group_id=group_id, excluded=list(exclude_carriers), limit=limit
    )
    return [row["id"] for row in rows]


async def count_in_flight(session: AsyncSession, group_id: uuid.UUID) -> int:
    """How many of the group's transactions are with their carrier, not finished."""
    count: int | None = await _IN_FLIGHT_COUNT.fetchval(session, group_id=group_id)
    return count or 0


async def in_flight(
    session: AsyncSession, group_id: uuid.UUID
) -> dict[uuid.UUID, tuple[uuid.UUID, dict[str, Any]]]:
    """The group's transactions with their carrier, not finished: by id, the carrier's id and
    the transaction's `result` (which holds the carrier's group and transaction ids)."""
    rows = await _IN_FLIGHT.fetch(session, group_id=group_id)
    return {row["id"]: (row["carrier_id"], row["result"]) for row in rows}


async def employees_at_carriers(
    session: AsyncSession, transaction_ids: Collection[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """The (employee, carrier) pairs of the transactions."""
    rows = await _EMPLOYEES_AT_CARRIERS.fetch(session, ids=list(transaction_ids))
    return {(row["employee_id"], row["carrier_id"]) for row in rows}


async def transactions_to_send(
    session: AsyncSession, transaction_ids: Collection[uuid.UUID]
) -> list[tuple[MemberTransaction, str]]:
    """The transactions (whole: a send needs the body), each with its snapshot's status,
    locked, in build order."""
    rows = (
        await session.execute(
            select(MemberTransaction, MemberSnapshot.status)
            .join(MemberSnapshot, MemberSnapshot.id == MemberTransaction.member_snapshot_id)
            .where(MemberTransaction.id.in_(transaction_ids))
            .order_by(MemberTransaction.position)
            .with_for_update(of=MemberTransaction, key_share=True)
        )
    ).all()
    return [(transaction, snapshot_status) for transaction, snapshot_status in rows]


async def transactions_to_track(
    session: AsyncSession, transaction_ids: Collection[uuid.UUID], *, unfinished_only: bool
) -> Sequence[MemberTransaction]:
    """The transactions (what following them needs), locked, in build order; with
    `unfinished_only`, those not final yet."""
    query = (
        select(MemberTransaction)
        .options(_TO_TRACK)
        .where(MemberTransaction.id.in_(transaction_ids))
    )
    if unfinished_only:
        query = query.where(MemberTransaction.status.not_in(FINAL_STATUSES))
    return (
        await session.scalars(
            query.order_by(MemberTransaction.position).with_for_update(key_share=True)
        )
    ).all()


# --- transactions the confirmation loop reads back -------------------------------------------


async def due_for_confirmation(
    session: AsyncSession, group_id: uuid.UUID, *, now: int, limit: int
) -> list[asyncpg.Record]:
    """The group's completed transactions whose confirmation is due by `now` (Unix seconds),
    soonest due first; at most `limit`. Of each, what reading its carrier needs: `id`,
    `carrier_id`, `employee_id`, `confirm_stage` and the carrier's group id
    (`carrier_group_id`); the body (the person) stays unread."""
    return await _DUE.fetch(session, group_id=group_id, now=now, limit=limit)


async def transaction_for_update(
    session: AsyncSession, transaction_id: uuid.UUID
) -> MemberTransaction | None:
    return await session.get(MemberTransaction, transaction_id, with_for_update=NO_KEY_UPDATE)


async def transactions_for_update(
    session: AsyncSession, transaction_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, MemberTransaction]:
    """The transactions (whole: a check compares the body), locked in id order, by id."""
    if not transaction_ids:
        return {}
    rows = await session.scalars(
        select(MemberTransaction)
        .where(MemberTransaction.id.in_(transaction_ids))
        .order_by(MemberTransaction.id)
        .with_for_update(**NO_KEY_UPDATE)
    )
    return {row.id: row for row in rows}


async def plan_kinds(
    session: AsyncSession, plan_ids: Collection[uuid.UUID]
) -> list[asyncpg.Record]:
    """Of each plan, what comparing a member's coverage needs: `id`, `line_of_coverage`, and
    of its details only `voluntary` and `plan_type` (`domain.plans.is_voluntary`)."""
    return await _PLAN_KINDS.fetch(session, ids=list(plan_ids))


async def next_confirmation_due(session: AsyncSession, group_id: uuid.UUID) -> int | None:
    """When the group's next confirmation falls due (Unix seconds), if any is."""
    due: int | None = await _NEXT_DUE.fetchval(session, group_id=group_id)
    return due
