"""`/api/v1/member_snapshots` reads: lists (all, a group's, an employee's) and one snapshot.

Lists show each snapshot's summary (no payloads), newest first unless `sort_by` and
`sort_direction` say otherwise; one snapshot shows the whole record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api import responses
from api.deps import DB, OrganizationId
from api.openapi import ERROR_RESPONSES
from api.params import (
    Direction,
    Page,
    PageRequest,
    Paging,
    SnapshotSortBy,
    csv_choices,
    csv_uuids,
    sorted_page,
)
from domain.member_changes import FulfillmentStatus, SnapshotStatus
from store import member_reads
from store.db import Database
from store.models import Group, MemberSnapshot
from store.tenancy import owned

router = APIRouter(prefix="/api/v1", tags=["member snapshots"], responses=ERROR_RESPONSES)
WHAT = "member snapshot"

StatusFilter = Annotated[
    str | None,
    Query(description="comma-separated: submitted, processing, completed, canceled, replaced"),
]
IdFilter = Annotated[str | None, Query(description="comma-separated snapshot ids")]
SummaryCarrierFilter = Annotated[
    str | None,
    Query(description="comma-separated carrier ids, in fulfillment_summary"),
]
SummaryStatusFilter = Annotated[
    str | None,
    Query(
        description="comma-separated fulfillment statuses, in fulfillment_summary (with "
        "fulfillment_summary_carrier_id: of the same carrier)"
    ),
]
EmployeeFilter = Annotated[uuid.UUID | None, Query(description="the employee's id")]


@dataclass(frozen=True)
class SnapshotFilters:
    """The query filters every snapshot list takes, as given.

    Checked by `conditions()` in the endpoint, not here: FastAPI calls a dependency even when
    other parameters failed, and their 422 must come first.
    """

    status: StatusFilter = None
    id: IdFilter = None
    fulfillment_summary_carrier_id: SummaryCarrierFilter = None
    fulfillment_summary_status: SummaryStatusFilter = None

    def parsed(self) -> dict[str, Any]:
        """The filters as `store.member_reads.snapshot_conditions` takes them (422 naming the
        first one not valid)."""
        return {
            "statuses": csv_choices(self.status, "status", (s.value for s in SnapshotStatus)),
            "ids": csv_uuids(self.id, "id"),
            "fulfillment_carrier_ids": csv_uuids(
                self.fulfillment_summary_carrier_id, "fulfillment_summary_carrier_id"
            ),
            "fulfillment_statuses": csv_choices(
                self.fulfillment_summary_status,
                "fulfillment_summary_status",
                (s.value for s in FulfillmentStatus),
            ),
        }


Filters = Annotated[SnapshotFilters, Depends()]


async def _snapshot_page(
    db: Database,
    organization_id: uuid.UUID,
    page: PageRequest,
    filters: dict[str, Any],
    *,
    sort_by: str,
    sort_direction: Direction,
    employee_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
) -> Page[Any]:
    """One page of the organization's snapshots matching `filters`, as summaries."""
    conditions = member_reads.snapshot_conditions(
        organization_id, employee_id=employee_id, group_id=group_id, **filters
    )
    return await sorted_page(
        db,
        MemberSnapshot,
        page,
        conditions=conditions,
        sort_by=sort_by,
        sort_direction=sort_direction,
        render=MemberSnapshot.as_summary,
    )


@router.get("/member_snapshots", response_model=Page[responses.MemberSnapshotSummary])
async def list_member_snapshots(
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    employee_id: EmployeeFilter = None,
    group_id: Annotated[uuid.UUID | None, Query(description="the group's id")] = None,
    sort_by: SnapshotSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The organization's member snapshots as summaries, newest first by default."""
    return await _snapshot_page(
        db,
        organization_id,
        page,
        filters.parsed(),
        sort_by=sort_by,
        sort_direction=sort_direction,
        employee_id=employee_id,
        group_id=group_id,
    )


@router.get(
    "/groups/{group_id}/member_snapshots", response_model=Page[responses.MemberSnapshotSummary]
)
async def list_group_member_snapshots(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    employee_id: EmployeeFilter = None,
    sort_by: SnapshotSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The group's member snapshots as summaries, newest first by default."""
    parsed = filters.parsed()
    async with db.transaction() as session:
        await owned(session, Group, group_id, organization_id, what="group")
    return await _snapshot_page(
        db,
        organization_id,
        page,
        parsed,
        sort_by=sort_by,
        sort_direction=sort_direction,
        employee_id=employee_id,
        group_id=group_id,
    )


@router.get(
    "/employees/{employee_id}/member_snapshots",
    tags=["employees"],
    response_model=Page[responses.MemberSnapshotSummary],
)
async def list_employee_member_snapshots(
    employee_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    sort_by: SnapshotSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The employee's snapshots (newest first by default); the same filters as
    `/member_snapshots` but `employee_id` and `group_id`."""
    parsed = filters.parsed()
    async with db.transaction() as session:
        await member_reads.owned_employee(session, organization_id, employee_id)
    return await _snapshot_page(
        db,
        organization_id,
        page,
        parsed,
        sort_by=sort_by,
        sort_direction=sort_direction,
        employee_id=employee_id,
    )


@router.get("/member_snapshots/{snapshot_id}", response_model=responses.MemberSnapshot)
async def get_member_snapshot(
    snapshot_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """One member snapshot: as received, as processed, and how far each carrier
    has fulfilled it (`fulfillment_summary`)."""
    async with db.transaction() as session:
        row = await owned(session, MemberSnapshot, snapshot_id, organization_id, what=WHAT)
        return row.as_contract()
