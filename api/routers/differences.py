"""Tracking API: differences round-trip confirmation found, listed and one by id, and worked
(assigned, dismissed, reopened: one by id, or a batch answering the ids it changed).

Lists (all of the organization's, a group's, an employee's, a member transaction's) show each
difference without its sources, newest first unless `sort_by` and `sort_direction` say
otherwise; one difference adds `organization_id`, its origin and `sources`.

`is_open` means not resolved, not replaced and not dismissed. A transaction's differences are
those its checks found or resolved (it is the origin or one of the sources); likewise
`member_snapshot_id` matches the origin's snapshot or any source's. `created_before` and
`created_after` take a date (`YYYY-MM-DD`, as in the contract's example `2020-12-1` the month
and day may be one digit), whole UTC days, exclusive: `created_after=2024-01-10` starts on
2024-01-11. A snapshot's pending differences (what it expects the carrier to come to hold, not
yet read there) are listed only with `include_unavailable=true`; by id, always. `assignee_id`
takes comma-separated ids of whom the differences are assigned to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api import responses, schemas
from api.deps import DB, OrganizationId
from api.openapi import ERROR_RESPONSES
from api.params import (
    DifferenceSortBy,
    Direction,
    Page,
    PageRequest,
    Paging,
    csv_choices,
    csv_uuids,
    csv_values,
    day_param,
    sorted_page,
)
from domain.differences import (
    DifferenceAction,
    DifferenceClassification,
    DifferenceType,
    ObjectType,
)
from services import differences as service
from store.db import Database
from store.difference_reads import difference_conditions
from store.member_reads import owned_employee
from store.models import Difference, Group, MemberTransaction
from store.tenancy import owned

router = APIRouter(prefix="/api/v1", tags=["differences"], responses=ERROR_RESPONSES)
WHAT = "difference"

Ids = Annotated[str | None, Query(description="comma-separated difference ids")]
GroupIds = Annotated[str | None, Query(description="comma-separated group ids")]
EmployeeIds = Annotated[str | None, Query(description="comma-separated employee ids")]
ObjectTypes = Annotated[
    str | None,
    Query(description="comma-separated: employee, dependent, individual_enrollment"),
]
ObjectIds = Annotated[
    str | None, Query(description="comma-separated ids of the individuals the differences are of")
]
Classifications = Annotated[
    str | None,
    Query(
        description="comma-separated difference classifications: missing_from_carrier, "
        "field_mismatch, missing_from_platform"
    ),
]
Types = Annotated[str | None, Query(description="comma-separated difference types")]
ImpactTypes = Annotated[str | None, Query(description="comma-separated impact types")]
AssigneeIds = Annotated[
    str | None, Query(description="comma-separated ids of whom the differences are assigned to")
]
SnapshotIds = Annotated[
    str | None,
    Query(description="comma-separated member snapshot ids (the origin's or any source's)"),
]
Flag = Annotated[bool | None, Query()]
OpenFlag = Annotated[
    bool | None, Query(description="true: not resolved, replaced or dismissed; false: the rest")
]
IncludeUnavailable = Annotated[
    bool,
    Query(
        description="true: also pending differences, what a snapshot expects the carrier to "
        "hold that no check has read there yet"
    ),
]
# impact_score is a PostgreSQL integer: a filter outside its range is refused (422), not sent.
Score = Annotated[int | None, Query(ge=-(2**31), le=2**31 - 1)]
Before = Annotated[
    str | None, Query(description="YYYY-MM-DD: created before that day (UTC), exclusive")
]
After = Annotated[
    str | None, Query(description="YYYY-MM-DD: created after that day (UTC), exclusive")
]


@dataclass(frozen=True)
class DifferenceFilters:
    """The query filters every difference list takes, as given.

    Checked by `conditions()` in the endpoint, not here: FastAPI calls a dependency even when
    other parameters failed, and their 422 must come first.
    """

    id: Ids = None
    object_type: ObjectTypes = None
    object_id: ObjectIds = None
    is_open: OpenFlag = None
    is_dismissed: Flag = None
    assignee_id: AssigneeIds = None
    is_discrepancy: Flag = None
    classification: Classifications = None
    type: Types = None
    impact_type: ImpactTypes = None
    member_snapshot_id: SnapshotIds = None
    created_before: Before = None
    created_after: After = None
    min_impact_score: Score = None
    max_impact_score: Score = None
    include_unavailable: IncludeUnavailable = False

    def parsed(self) -> dict[str, Any]:
        """The filters as `store.difference_reads.difference_conditions` takes them (422 naming
        the first one not valid)."""
        return {
            "ids": csv_uuids(self.id, "id"),
            "object_types": csv_choices(
                self.object_type, "object_type", (t.value for t in ObjectType)
            ),
            "object_ids": csv_uuids(self.object_id, "object_id"),
            "open_": self.is_open,
            "dismissed": self.is_dismissed,
            "assignee_ids": csv_uuids(self.assignee_id, "assignee_id"),
            "discrepancy": self.is_discrepancy,
            "classifications": csv_choices(
                self.classification,
                "classification",
                (c.value for c in DifferenceClassification),
            ),
            "types": csv_choices(self.type, "type", (t.value for t in DifferenceType)),
            "impact_types": csv_values(self.impact_type),
            "snapshot_ids": csv_uuids(self.member_snapshot_id, "member_snapshot_id"),
            "created_before": day_param(self.created_before, "created_before"),
            "created_after": day_param(self.created_after, "created_after"),
            "min_impact_score": self.min_impact_score,
            "max_impact_score": self.max_impact_score,
            "include_unavailable": self.include_unavailable,
        }


Filters = Annotated[DifferenceFilters, Depends()]


async def _difference_page(
    db: Database,
    organization_id: uuid.UUID,
    page: PageRequest,
    filters: dict[str, Any],
    *,
    sort_by: str,
    sort_direction: Direction,
    **scope: Any,
) -> Page[Any]:
    return await sorted_page(
        db,
        Difference,
        page,
        conditions=difference_conditions(organization_id, **filters, **scope),
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get("/differences", response_model=Page[responses.Difference])
async def list_differences(
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    group_id: GroupIds = None,
    employee_id: EmployeeIds = None,
    sort_by: DifferenceSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The organization's differences, newest first by default."""
    group_ids = csv_uuids(group_id, "group_id")
    employee_ids = csv_uuids(employee_id, "employee_id")
    return await _difference_page(
        db,
        organization_id,
        page,
        filters.parsed(),
        sort_by=sort_by,
        sort_direction=sort_direction,
        group_ids=group_ids,
        employee_ids=employee_ids,
    )


@router.get("/differences/{difference_id}", response_model=responses.DifferenceDetail)
async def get_difference(
    difference_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """One difference with its organization, origin and `sources`."""
    async with db.transaction() as session:
        row = await owned(session, Difference, difference_id, organization_id, what=WHAT)
        return row.as_detail()


@router.get(
    "/member_transactions/{transaction_id}/differences", response_model=Page[responses.Difference]
)
async def list_transaction_differences(
    transaction_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    sort_by: DifferenceSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The differences the transaction's checks found or resolved."""
    parsed = filters.parsed()
    async with db.transaction() as session:
        await owned(
            session, MemberTransaction, transaction_id, organization_id, what="member transaction"
        )
    return await _difference_page(
        db,
        organization_id,
        page,
        parsed,
        sort_by=sort_by,
        sort_direction=sort_direction,
        seen_by=transaction_id,
    )


@router.get("/employees/{employee_id}/differences", response_model=Page[responses.Difference])
async def list_employee_differences(
    employee_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    sort_by: DifferenceSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The differences of the employee's family (the employee's, dependents', enrollments')."""
    parsed = filters.parsed()
    async with db.transaction() as session:
        await owned_employee(session, organization_id, employee_id)
    return await _difference_page(
        db,
        organization_id,
        page,
        parsed,
        sort_by=sort_by,
        sort_direction=sort_direction,
        employee_ids=[employee_id],
    )


@router.get("/groups/{group_id}/differences", response_model=Page[responses.Difference])
async def list_group_differences(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    employee_id: EmployeeIds = None,
    sort_by: DifferenceSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The group's differences, newest first by default."""
    employee_ids = csv_uuids(employee_id, "employee_id")
    parsed = filters.parsed()
    async with db.transaction() as session:
        await owned(session, Group, group_id, organization_id, what="group")
    return await _difference_page(
        db,
        organization_id,
        page,
        parsed,
        sort_by=sort_by,
        sort_direction=sort_direction,
        group_ids=[group_id],
        employee_ids=employee_ids,
    )


# Working the differences. The batch paths come first: `assign` is not a difference id.


@router.put("/differences/assign", response_model=responses.ChangedDifferences)
async def assign_differences(
    body: schemas.DifferenceBatchAssign, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """Assign the differences to `assignee_id`; answers the ids whose assignee changed."""
    ids = await service.work_differences(
        db,
        organization_id=organization_id,
        ids=body.ids,
        action=DifferenceAction.ASSIGN,
        assignee_id=body.assignee_id,
    )
    return {"ids": ids}


@router.put("/differences/dismiss", response_model=responses.ChangedDifferences)
async def dismiss_differences(
    body: schemas.DifferenceIds, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """Dismiss the differences; answers the ids that were not dismissed already."""
    ids = await service.work_differences(
        db, organization_id=organization_id, ids=body.ids, action=DifferenceAction.DISMISS
    )
    return {"ids": ids}


@router.put("/differences/reopen", response_model=responses.ChangedDifferences)
async def reopen_differences(
    body: schemas.DifferenceIds, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """Reopen dismissed differences; answers the ids that were dismissed."""
    ids = await service.work_differences(
        db, organization_id=organization_id, ids=body.ids, action=DifferenceAction.REOPEN
    )
    return {"ids": ids}


@router.put("/differences/{difference_id}/assign", response_model=responses.DifferenceDetail)
async def assign_difference(
    difference_id: uuid.UUID,
    body: schemas.DifferenceAssign,
    organization_id: OrganizationId,
    db: DB,
) -> dict[str, Any]:
    """Assign the difference to `assignee_id` (a new version unless it is theirs already)."""
    return await service.work_difference(
        db,
        organization_id=organization_id,
        difference_id=difference_id,
        action=DifferenceAction.ASSIGN,
        assignee_id=body.assignee_id,
    )


@router.put("/differences/{difference_id}/dismiss", response_model=responses.DifferenceDetail)
async def dismiss_difference(
    difference_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """Dismiss the difference: no longer open, whatever the carrier shows (no body)."""
    return await service.work_difference(
        db,
        organization_id=organization_id,
        difference_id=difference_id,
        action=DifferenceAction.DISMISS,
    )


@router.put("/differences/{difference_id}/reopen", response_model=responses.DifferenceDetail)
async def reopen_difference(
    difference_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """Reopen a dismissed difference (no body); a resolution stays the carrier's to undo."""
    return await service.work_difference(
        db,
        organization_id=organization_id,
        difference_id=difference_id,
        action=DifferenceAction.REOPEN,
    )
