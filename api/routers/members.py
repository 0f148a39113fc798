"""Member reads: a group's employees, an employee, their dependents, and individual enrollments.

Each is read from both sides (`store.member_records`): the person as the platform last sent
them, else as a carrier holds them from its census; each enrollment as the platform sent it and
as the carrier holds it, with the carrier's calculated effective date. Every read takes
`effective_date` (as things stood at the end of that day). Another organization's id, or an
employee's id where a dependent's is asked for (and the reverse), answers 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import responses
from api.deps import DB, OrganizationId
from api.openapi import ERROR_RESPONSES
from api.params import EffectiveDate, Page, Paging, csv_choices, csv_values
from domain.snapshots import IndividualType
from store import member_records

router = APIRouter(prefix="/api/v1", tags=["employees"], responses=ERROR_RESPONSES)


@router.get("/groups/{group_id}/employees", response_model=Page[responses.Employee])
async def list_group_employees(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    day: EffectiveDate,
    custom_individual_id: Annotated[
        str | None, Query(max_length=2000, description="comma-separated platform ids")
    ] = None,
    status: Annotated[
        str | None, Query(max_length=100, description="comma-separated: active, terminated")
    ] = None,
) -> Page[Any]:
    """The group's employees, oldest first: those the platform sent and those a carrier
    already held when the group connected."""
    statuses = csv_choices(status, "status", member_records.STATUSES)
    async with db.transaction() as session:
        records, total = await member_records.group_employees(
            session,
            organization_id,
            group_id,
            day=day,
            custom_individual_ids=csv_values(custom_individual_id),
            statuses=statuses,
            offset=page.offset,
            limit=page.page_size,
        )
    return Page.of(records, page, total)


@router.get("/employees/{employee_id}", response_model=responses.Employee)
async def get_employee(
    employee_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    """One employee (as of the end of `effective_date`, when given)."""
    async with db.transaction() as session:
        return await member_records.employee(session, organization_id, employee_id, day)


@router.get("/employees/{employee_id}/dependents", response_model=list[responses.Dependent])
async def list_employee_dependents(
    employee_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> list[dict[str, Any]]:
    """The employee's dependents, oldest first."""
    async with db.transaction() as session:
        return await member_records.dependents(session, organization_id, employee_id, day)


@router.get("/dependents/{dependent_id}", response_model=responses.Dependent)
async def get_dependent(
    dependent_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    """One dependent."""
    async with db.transaction() as session:
        return await member_records.dependent(session, organization_id, dependent_id, day)


@router.get(
    "/employees/{employee_id}/individual_enrollments",
    response_model=list[responses.IndividualEnrollment],
)
async def employee_enrollments(
    employee_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> list[dict[str, Any]]:
    """The employee's own coverages, one per plan at each carrier: as the platform last sent
    each and as the carrier holds it, with the carrier's calculated effective date."""
    async with db.transaction() as session:
        return await member_records.individual_enrollments(
            session, organization_id, employee_id, IndividualType.EMPLOYEE, day
        )


@router.get(
    "/dependents/{dependent_id}/individual_enrollments",
    response_model=list[responses.IndividualEnrollment],
)
async def dependent_enrollments(
    dependent_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> list[dict[str, Any]]:
    """The dependent's coverages, read like an employee's."""
    async with db.transaction() as session:
        return await member_records.individual_enrollments(
            session, organization_id, dependent_id, IndividualType.DEPENDENT, day
        )
