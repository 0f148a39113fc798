"""`/api/v1/employees/{employee_id}`: the employee's snapshots, the snapshot calculated from what
carrierlink holds now, and their status per carrier.

An employee is a member of type `employee` in the caller's organization; any other id (a
dependent's, another organization's employee's, an unknown one) answers 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DB, OrganizationId, Page, Paging
from api.errors import not_found
from api.routers.member_snapshots import Direction, Filters, SortBy, snapshot_page
from domain.member_changes import TransactionStatus
from store import member_reads
from store.members import latest_snapshot
from store.models import Member, MemberSnapshot, MemberTransaction

router = APIRouter(prefix="/api/v1/employees/{employee_id}", tags=["employees"])


async def employee_or_404(
    session: AsyncSession, organization_id: uuid.UUID, employee_id: uuid.UUID
) -> Member:
    member = await member_reads.employee(session, organization_id, employee_id)
    if member is None:
        raise not_found("employee")
    return member


@router.get("/member_snapshots")
async def list_employee_member_snapshots(
    employee_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The employee's snapshots (newest first by default); the same filters as
    `/member_snapshots` but `employee_id` and `group_id`."""
    conditions = filters.conditions()
    async with db.transaction() as session:
        await employee_or_404(session, organization_id, employee_id)
    conditions.append(MemberSnapshot.employee_id == employee_id)
    return await snapshot_page(
        db, organization_id, page, conditions, sort_by=sort_by, sort_direction=sort_direction
    )


@router.get("/member_snapshot")
async def employee_member_snapshot(
    employee_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """The employee as carrierlink holds them now, in the shape of a snapshot to submit: the
    processed payload (`member_snapshot`) of their newest snapshot not replaced or canceled,
    engine ids filled in. Intake finds a new snapshot's omitted coverages against the same one.
    404 for an employee with no such snapshot."""
    async with db.transaction() as session:
        await employee_or_404(session, organization_id, employee_id)
        current = await latest_snapshot(session, employee_id)
    if current is None:
        raise not_found("member snapshot")
    return current.member_snapshot


def carrier_status(
    transactions: Sequence[MemberTransaction], latest_platform_change: int | None
) -> dict[str, Any]:
    """The status at one carrier from its transactions for the employee (oldest first)."""
    pending = [t for t in transactions if t.status == TransactionStatus.PROCESSING.value]
    if pending:
        status = "pending_changes"
    elif transactions[-1].status == TransactionStatus.FAILED.value:
        status = "unable_to_fulfill"
    else:
        status = "stable"
    return {
        "carrier_id": str(transactions[0].carrier_id),
        "status": status,
        "pending_changes": [str(t.id) for t in pending],
        "latest_platform_change": latest_platform_change,
    }


@router.get("/status")
async def employee_status(
    employee_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """Per carrier the employee has transactions with (by carrier id): `pending_changes` while
    any is processing, else `unable_to_fulfill` when the last one failed, else `stable`.
    `latest_platform_change` is when the employee's newest snapshot was received."""
    async with db.transaction() as session:
        await employee_or_404(session, organization_id, employee_id)
        transactions = await member_reads.employee_transactions(
            session, organization_id, employee_id
        )
        latest = await member_reads.latest_snapshot_created(session, organization_id, employee_id)
    by_carrier = groupby(
        sorted(transactions, key=lambda t: (str(t.carrier_id), t.position)),
        key=lambda t: str(t.carrier_id),
    )
    return {"carrier_statuses": [carrier_status(list(ts), latest) for _, ts in by_carrier]}
