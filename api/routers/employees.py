"""`/api/v1/employees/{employee_id}`: the snapshot calculated from what carrierlink holds now,
and the employee's status per carrier (their snapshot list is in `api.routers.member_snapshots`).

An employee is a member of type `employee` in the caller's organization; any other id (a
dependent's, another organization's employee's, an unknown one) answers 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from fastapi import APIRouter

from api import responses
from api.deps import DB, OrganizationId
from api.openapi import ERROR_RESPONSES
from domain.errors import NotFound
from domain.member_changes import TransactionStatus
from store import member_reads
from store.members import latest_snapshot
from store.models import MemberTransaction

router = APIRouter(
    prefix="/api/v1/employees/{employee_id}", tags=["employees"], responses=ERROR_RESPONSES
)


@router.get("/member_snapshot", response_model=responses.EmployeeSnapshot)
async def employee_member_snapshot(
    employee_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """The employee as carrierlink holds them now, in the shape of a snapshot to submit: the
    processed payload (`member_snapshot`) of their newest snapshot not replaced or canceled,
    engine ids filled in. Intake finds a new snapshot's omitted coverages against the same one.
    404 for an employee with no such snapshot."""
    async with db.transaction() as session:
        await member_reads.owned_employee(session, organization_id, employee_id)
        current = await latest_snapshot(session, employee_id)
    if current is None:
        raise NotFound.of("member snapshot")
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


@router.get("/status", response_model=responses.EmployeeStatus)
async def employee_status(
    employee_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """Per carrier the employee has transactions with (by carrier id): `pending_changes` while
    any is processing, else `unable_to_fulfill` when the last one failed, else `stable`.
    `latest_platform_change` is when the employee's newest snapshot was received."""
    async with db.transaction() as session:
        await member_reads.owned_employee(session, organization_id, employee_id)
        transactions = await member_reads.employee_transactions(
            session, organization_id, employee_id
        )
        latest = await member_reads.latest_snapshot_created(session, organization_id, employee_id)
    by_carrier = groupby(
        sorted(transactions, key=lambda t: (str(t.carrier_id), t.position)),
        key=lambda t: str(t.carrier_id),
    )
    return {"carrier_statuses": [carrier_status(list(ts), latest) for _, ts in by_carrier]}
