"""`/api/v1/member_snapshots` reads: lists (all, a group's) and one snapshot.

Lists show each snapshot's summary (no payloads), newest first unless `sort_by` and
`sort_direction` say otherwise; one snapshot shows the whole record. An employee's snapshots are
listed by `api.routers.employees`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement

from api.deps import (
    DB,
    OrganizationId,
    Page,
    PageRequest,
    Paging,
    csv_choices,
    csv_uuids,
    owned_or_404,
    sorted_page,
)
from domain.member_changes import FulfillmentStatus, SnapshotStatus
from store import member_reads
from store.db import Database
from store.models import Group, MemberSnapshot

router = APIRouter(prefix="/api/v1", tags=["member snapshots"])
WHAT = "member snapshot"

SortBy = Literal["created", "modified"]
Direction = Literal["asc", "desc"]

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

    def conditions(self) -> list[ColumnElement[bool]]:
        """The filters as conditions on the snapshots (422 naming the first one not valid)."""
        conditions: list[ColumnElement[bool]] = []
        if statuses := csv_choices(self.status, "status", (s.value for s in SnapshotStatus)):
            conditions.append(MemberSnapshot.status.in_(statuses))
        if ids := csv_uuids(self.id, "id"):
            conditions.append(MemberSnapshot.id.in_(ids))
        carriers = csv_uuids(self.fulfillment_summary_carrier_id, "fulfillment_summary_carrier_id")
        fulfillment = csv_choices(
            self.fulfillment_summary_status,
            "fulfillment_summary_status",
            (s.value for s in FulfillmentStatus),
        )
        if carriers or fulfillment:
            conditions.append(member_reads.fulfillment_matches(carriers, fulfillment))
        return conditions


Filters = Annotated[SnapshotFilters, Depends()]


async def snapshot_page(
    db: Database,
    organization_id: uuid.UUID,
    page: PageRequest,
    conditions: list[ColumnElement[bool]],
    *,
    sort_by: str,
    sort_direction: str,
    group_id: uuid.UUID | None = None,
) -> Page[Any]:
    """One page of the organization's snapshots matching `conditions`, as summaries; 404 when
    `group_id` is given and not the organization's group."""
    if group_id is not None:
        async with db.transaction() as session:
            await owned_or_404(session, Group, group_id, organization_id, "group")
        conditions = [*conditions, MemberSnapshot.group_id == group_id]
    return await sorted_page(
        db,
        MemberSnapshot,
        page,
        conditions=[MemberSnapshot.organization_id == organization_id, *conditions],
        sort_by=sort_by,
        sort_direction=sort_direction,
        render=MemberSnapshot.as_summary,
    )


@router.get("/member_snapshots")
async def list_member_snapshots(
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    employee_id: EmployeeFilter = None,
    group_id: Annotated[uuid.UUID | None, Query(description="the group's id")] = None,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    conditions = filters.conditions()
    if employee_id is not None:
        conditions.append(MemberSnapshot.employee_id == employee_id)
    if group_id is not None:
        conditions.append(MemberSnapshot.group_id == group_id)
    return await snapshot_page(
        db, organization_id, page, conditions, sort_by=sort_by, sort_direction=sort_direction
    )


@router.get("/groups/{group_id}/member_snapshots")
async def list_group_member_snapshots(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    employee_id: EmployeeFilter = None,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    conditions = filters.conditions()
    if employee_id is not None:
        conditions.append(MemberSnapshot.employee_id == employee_id)
    return await snapshot_page(
        db,
        organization_id,
        page,
        conditions,
        sort_by=sort_by,
        sort_direction=sort_direction,
        group_id=group_id,
    )


@router.get("/member_snapshots/{snapshot_id}")
async def get_member_snapshot(
    snapshot_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    async with db.transaction() as session:
        row = await owned_or_404(session, MemberSnapshot, snapshot_id, organization_id, WHAT)
        return row.as_contract()
