"""Overdue records in SQL: a record is overdue when it entered a limited status at or before
that status's cutoff (domain/overdue.py computes the cutoffs from the limits)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.overdue import OverdueFilter
from store.models import GroupConnection, GroupDisconnectionRequest

WaitingRecord = type[GroupConnection] | type[GroupDisconnectionRequest]


def overdue_condition(model: WaitingRecord, cutoffs: dict[str, int]) -> ColumnElement[bool]:
    """True for the records past their status's limit (false when no status has one)."""
    past = [
        and_(model.status == status, model.status_changed <= cutoff)
        for status, cutoff in sorted(cutoffs.items())
    ]
    return or_(*past) if past else false()


def filter_condition(model: WaitingRecord, wanted: OverdueFilter) -> ColumnElement[bool]:
    """A list's `overdue=true` (past the limit) or `overdue=false` (every other record)."""
    condition = overdue_condition(model, wanted.cutoffs)
    return condition if wanted.overdue else not_(condition)


async def overdue_by_status(
    session: AsyncSession, model: WaitingRecord, cutoffs: dict[str, int]
) -> dict[str, int]:
    """How many records of every organization are overdue in each limited status (0 included)."""
    counts = dict.fromkeys(cutoffs, 0)
    if not cutoffs:
        return counts
    rows = await session.execute(
        select(model.status, func.count())
        .where(overdue_condition(model, cutoffs))
        .group_by(model.status)
    )
    for status, count in rows:
        counts[status] = count
    return counts
