"""Reads of member snapshots, member transactions and employees, scoped to an organization.

The JSONB arrays are filtered in SQL: a snapshot's `fulfillment_summary` (`{carrier_id, status,
errors}` per carrier) and a transaction's `status_details` (`{status_detail, event_created}`,
oldest first).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, column, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from store.models import Member, MemberSnapshot, MemberTransaction, Versioned

V = TypeVar("V", bound=Versioned)


def _elements(array: Any) -> Any:
    """The elements of a JSONB array column, as a table with one JSONB column `value`."""
    return func.jsonb_array_elements(array).table_valued(column("value", JSONB)).alias("element")


def _day_start(day: date) -> int:
    """The first second of `day` (UTC), as Unix seconds."""
    return int(datetime.combine(day, time.min, tzinfo=UTC).timestamp())


def within_days(
    seconds: Any, first_day: date | None, last_day: date | None
) -> list[ColumnElement[bool]]:
    """`seconds` (Unix seconds) falls on `first_day` or later and on `last_day` or earlier, whole
    UTC days inclusive; no condition for a bound not given."""
    conditions: list[ColumnElement[bool]] = []
    if first_day is not None:
        conditions.append(seconds >= _day_start(first_day))
    if last_day is not None:
        conditions.append(seconds < _day_start(last_day + timedelta(days=1)))
    return conditions


def fulfillment_matches(
    carrier_ids: Sequence[uuid.UUID], statuses: Sequence[str]
) -> ColumnElement[bool]:
    """One element of the snapshot's `fulfillment_summary` has one of `carrier_ids` (when given)
    and one of `statuses` (when given): both on the same element."""
    element = _elements(MemberSnapshot.fulfillment_summary)
    conditions: list[ColumnElement[bool]] = []
    if carrier_ids:
        conditions.append(element.c.value["carrier_id"].astext.in_([str(c) for c in carrier_ids]))
    if statuses:
        conditions.append(element.c.value["status"].astext.in_(list(statuses)))
    return exists(select(1).select_from(element).where(*conditions))


def has_status_detail(
    details: Sequence[str], first_day: date | None, last_day: date | None
) -> ColumnElement[bool]:
    """One element of the transaction's `status_details` is one of `details` (when given) and
    happened within the days given (`event_created`): both on the same element."""
    element = _elements(MemberTransaction.status_details)
    conditions: list[ColumnElement[bool]] = []
    if details:
        conditions.append(element.c.value["status_detail"].astext.in_(list(details)))
    event_created = element.c.value["event_created"].astext.cast(BigInteger)
    conditions += within_days(event_created, first_day, last_day)
    return exists(select(1).select_from(element).where(*conditions))


def current_status_detail_in(details: Sequence[str]) -> ColumnElement[bool]:
    """The transaction's last status detail is one of `details`."""
    last = MemberTransaction.status_details.op("->")(-1).op("->>")("status_detail")
    condition: ColumnElement[bool] = last.in_(list(details))
    return condition


async def employee(
    session: AsyncSession, organization_id: uuid.UUID, employee_id: uuid.UUID
) -> Member | None:
    """The organization's employee (not a dependent) with this id."""
    row: Member | None = await session.scalar(
        select(Member).where(
            Member.id == employee_id,
            Member.individual_type == "employee",
            Member.organization_id == organization_id,
        )
    )
    return row


async def owned_employee(
    session: AsyncSession, organization_id: uuid.UUID, employee_id: uuid.UUID
) -> Member:
    """The organization's employee, or `NotFound` (a dependent's or another organization's id
    alike)."""
    member = await employee(session, organization_id, employee_id)
    if member is None:
        raise NotFound.of("employee")
    return member


async def employee_transactions(
    session: AsyncSession, organization_id: uuid.UUID, employee_id: uuid.UUID
) -> list[MemberTransaction]:
    """Every transaction of the employee, by carrier, oldest first within a carrier."""
    rows = await session.scalars(
        select(MemberTransaction)
        .where(
            MemberTransaction.organization_id == organization_id,
            MemberTransaction.employee_id == employee_id,
        )
        .order_by(MemberTransaction.carrier_id, MemberTransaction.position)
    )
    return list(rows)


async def latest_snapshot_created(
    session: AsyncSession, organization_id: uuid.UUID, employee_id: uuid.UUID
) -> int | None:
    """When the employee's newest snapshot was received (Unix seconds); None without one."""
    created: int | None = await session.scalar(
        select(func.max(MemberSnapshot.created)).where(
            MemberSnapshot.organization_id == organization_id,
            MemberSnapshot.employee_id == employee_id,
        )
    )
    return created


def snapshot_conditions(
    organization_id: uuid.UUID,
    *,
    statuses: Sequence[str] = (),
    ids: Sequence[uuid.UUID] = (),
    fulfillment_carrier_ids: Sequence[uuid.UUID] = (),
    fulfillment_statuses: Sequence[str] = (),
    employee_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
) -> list[ColumnElement[bool]]:
    """The organization's snapshots matching every filter given."""
    conditions = [MemberSnapshot.organization_id == organization_id]
    if statuses:
        conditions.append(MemberSnapshot.status.in_(statuses))
    if ids:
        conditions.append(MemberSnapshot.id.in_(ids))
    if fulfillment_carrier_ids or fulfillment_statuses:
        conditions.append(fulfillment_matches(fulfillment_carrier_ids, fulfillment_statuses))
    if employee_id is not None:
        conditions.append(MemberSnapshot.employee_id == employee_id)
    if group_id is not None:
        conditions.append(MemberSnapshot.group_id == group_id)
    return conditions


def transaction_conditions(
    organization_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID] = (),
    current_status_details: Sequence[str] = (),
    carrier_ids: Sequence[uuid.UUID] = (),
    transaction_types: Sequence[str] = (),
    created_from: date | None = None,
    created_to: date | None = None,
    status_details: Sequence[str] = (),
    detail_from: date | None = None,
    detail_to: date | None = None,
) -> list[ColumnElement[bool]]:
    """The organization's transactions matching every filter given (days are whole UTC days,
    inclusive; `status_details` with `detail_from`/`detail_to`: reached within those days)."""
    conditions = [MemberTransaction.organization_id == organization_id]
    if ids:
        conditions.append(MemberTransaction.id.in_(ids))
    if current_status_details:
        conditions.append(current_status_detail_in(current_status_details))
    if carrier_ids:
        conditions.append(MemberTransaction.carrier_id.in_(carrier_ids))
    if transaction_types:
        conditions.append(MemberTransaction.transaction_type.in_(transaction_types))
    conditions += within_days(MemberTransaction.created, created_from, created_to)
    if status_details or detail_from or detail_to:
        conditions.append(has_status_detail(status_details, detail_from, detail_to))
    return conditions
