"""Tracking API reads: differences round-trip confirmation found, listed and one by id.

Lists (all of the organization's, a group's, an employee's, a member transaction's) show each
difference without its sources, newest first unless `sort_by` and `sort_direction` say
otherwise; one difference adds `organization_id`, its origin and `sources`.

`is_open` means not resolved, not replaced and not dismissed. A transaction's differences are
those its checks found or resolved (it is the origin or one of the sources); likewise
`member_snapshot_id` matches the origin's snapshot or any source's. `created_before` and
`created_after` take a date (`YYYY-MM-DD`, as in the contract's example `2020-12-1` the month
and day may be one digit), whole UTC days, exclusive: `created_after=2024-01-10` starts on
2024-01-11.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from api.deps import (
    DB,
    OrganizationId,
    Page,
    PageRequest,
    Paging,
    csv_choices,
    csv_uuids,
    csv_values,
    owned_or_404,
    sorted_page,
)
from api.routers.employees import employee_or_404
from domain.differences import DifferenceClassification, DifferenceType, ObjectType
from domain.errors import ValidationFailed
from store.db import Database
from store.differences import SOURCE_OBJECT_TYPE
from store.member_reads import within_days
from store.models import Difference, Group, MemberTransaction

router = APIRouter(prefix="/api/v1", tags=["differences"])
D = Difference
WHAT = "difference"

SortBy = Literal["created", "modified", "impact_score"]
Direction = Literal["asc", "desc"]

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
SnapshotIds = Annotated[
    str | None,
    Query(description="comma-separated member snapshot ids (the origin's or any source's)"),
]
Flag = Annotated[bool | None, Query()]
OpenFlag = Annotated[
    bool | None, Query(description="true: not resolved, replaced or dismissed; false: the rest")
]
Score = Annotated[int | None, Query()]
Before = Annotated[
    str | None, Query(description="YYYY-MM-DD: created before that day (UTC), exclusive")
]
After = Annotated[
    str | None, Query(description="YYYY-MM-DD: created after that day (UTC), exclusive")
]

_DAY = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


def day_param(raw: str | None, field: str) -> date | None:
    """A `YYYY-MM-DD` value (month and day may be one digit), or 422 naming `field`."""
    if raw is None:
        return None
    try:
        if not _DAY.match(raw):
            raise ValueError
        year, month, day = (int(part) for part in raw.split("-"))
        return date(year, month, day)
    except ValueError:
        raise ValidationFailed.one(field, "must be a date YYYY-MM-DD") from None


def is_open_condition() -> ColumnElement[bool]:
    return and_(D.resolved.is_(None), D.replaced_by.is_(None), D.is_dismissed.is_(false()))


def seen_by_transaction(transaction_id: uuid.UUID) -> ColumnElement[bool]:
    """The transaction's check found it first, or saw or resolved it since."""
    source = {"object_type": SOURCE_OBJECT_TYPE, "object_id": str(transaction_id)}
    return or_(D.member_transaction_id == transaction_id, D.sources.contains([source]))


def of_snapshots(snapshot_ids: list[uuid.UUID]) -> ColumnElement[bool]:
    return or_(
        D.member_snapshot_id.in_(snapshot_ids),
        *(D.sources.contains([{"member_snapshot_id": str(s)}]) for s in snapshot_ids),
    )


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
    is_discrepancy: Flag = None
    classification: Classifications = None
    type: Types = None
    impact_type: ImpactTypes = None
    member_snapshot_id: SnapshotIds = None
    created_before: Before = None
    created_after: After = None
    min_impact_score: Score = None
    max_impact_score: Score = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The filters as conditions on the differences (422 naming the first one not valid)."""
        conditions: list[ColumnElement[bool]] = []
        if ids := csv_uuids(self.id, "id"):
            conditions.append(D.id.in_(ids))
        if object_types := csv_choices(
            self.object_type, "object_type", (t.value for t in ObjectType)
        ):
            conditions.append(D.object_type.in_(object_types))
        if objects := csv_uuids(self.object_id, "object_id"):
            conditions.append(D.object_id.in_(objects))
        if self.is_open is not None:
            open_ = is_open_condition()
            conditions.append(open_ if self.is_open else not_(open_))
        if self.is_dismissed is not None:
            conditions.append(D.is_dismissed.is_(true() if self.is_dismissed else false()))
        if self.is_discrepancy is not None:
            conditions.append(D.is_discrepancy.is_(true() if self.is_discrepancy else false()))
        if classifications := csv_choices(
            self.classification, "classification", (c.value for c in DifferenceClassification)
        ):
            conditions.append(D.difference_classification.in_(classifications))
        if types := csv_choices(self.type, "type", (t.value for t in DifferenceType)):
            conditions.append(D.difference_type.in_(types))
        if impact_types := csv_values(self.impact_type):
            conditions.append(D.impact_type.in_(impact_types))
        if snapshots := csv_uuids(self.member_snapshot_id, "member_snapshot_id"):
            conditions.append(of_snapshots(snapshots))
        if before := day_param(self.created_before, "created_before"):
            conditions += within_days(D.created, None, before - timedelta(days=1))
        if after := day_param(self.created_after, "created_after"):
            conditions += within_days(D.created, after + timedelta(days=1), None)
        if self.min_impact_score is not None:
            conditions.append(D.impact_score >= self.min_impact_score)
        if self.max_impact_score is not None:
            conditions.append(D.impact_score <= self.max_impact_score)
        return conditions


Filters = Annotated[DifferenceFilters, Depends()]


def of_groups_and_employees(
    group_id: str | None, employee_id: str | None
) -> list[ColumnElement[bool]]:
    """The `group_id` and `employee_id` filters (lists whose path names neither)."""
    conditions: list[ColumnElement[bool]] = []
    if groups := csv_uuids(group_id, "group_id"):
        conditions.append(D.group_id.in_(groups))
    if employees := csv_uuids(employee_id, "employee_id"):
        conditions.append(D.employee_id.in_(employees))
    return conditions


async def difference_page(
    db: Database,
    organization_id: uuid.UUID,
    page: PageRequest,
    conditions: list[ColumnElement[bool]],
    *,
    sort_by: str,
    sort_direction: str,
) -> Page[Any]:
    return await sorted_page(
        db,
        D,
        page,
        conditions=[D.organization_id == organization_id, *conditions],
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get("/differences")
async def list_differences(
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    group_id: GroupIds = None,
    employee_id: EmployeeIds = None,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    conditions = [*of_groups_and_employees(group_id, employee_id), *filters.conditions()]
    return await difference_page(
        db, organization_id, page, conditions, sort_by=sort_by, sort_direction=sort_direction
    )


@router.get("/differences/{difference_id}")
async def get_difference(
    difference_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    async with db.transaction() as session:
        row = await owned_or_404(session, D, difference_id, organization_id, WHAT)
        return row.as_detail()


@router.get("/member_transactions/{transaction_id}/differences")
async def list_transaction_differences(
    transaction_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The differences the transaction's checks found or resolved."""
    conditions = filters.conditions()
    async with db.transaction() as session:
        await owned_or_404(
            session, MemberTransaction, transaction_id, organization_id, "member transaction"
        )
    conditions.append(seen_by_transaction(transaction_id))
    return await difference_page(
        db, organization_id, page, conditions, sort_by=sort_by, sort_direction=sort_direction
    )


@router.get("/employees/{employee_id}/differences")
async def list_employee_differences(
    employee_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The differences of the employee's family (the employee's, dependents', enrollments')."""
    conditions = filters.conditions()
    async with db.transaction() as session:
        await employee_or_404(session, organization_id, employee_id)
    conditions.append(D.employee_id == employee_id)
    return await difference_page(
        db, organization_id, page, conditions, sort_by=sort_by, sort_direction=sort_direction
    )


@router.get("/groups/{group_id}/differences")
async def list_group_differences(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    employee_id: EmployeeIds = None,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    conditions = [*of_groups_and_employees(None, employee_id), *filters.conditions()]
    async with db.transaction() as session:
        await owned_or_404(session, Group, group_id, organization_id, "group")
    conditions.append(D.group_id == group_id)
    return await difference_page(
        db, organization_id, page, conditions, sort_by=sort_by, sort_direction=sort_direction
    )
