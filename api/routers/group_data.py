"""A group's carrier data: carrier configurations, group enrollments and plans (read-only).

Every read takes `effective_date` (see `store.group_data`): the record as it stood at the end of
that day, filters matching that version.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import responses
from api.deps import DB, OrganizationId
from api.openapi import ERROR_RESPONSES
from api.params import (
    EffectiveDate,
    Page,
    Paging,
    RecordSort,
    csv_choices,
    csv_uuids,
    group_page,
)
from domain.enums import LineOfCoverage
from store import group_data
from store.group_data import Filter, OneOf
from store.models import CarrierConfiguration, GroupEnrollment, Plan

router = APIRouter(prefix="/api/v1", tags=["group data"], responses=ERROR_RESPONSES)

ENROLLMENT_STATUSES = ("pending", "active", "completed")
PLAN_STATUSES = ("pending", "active", "discontinued")


def _one_of(field: str, values: list[Any]) -> list[Filter]:
    return [OneOf(field, tuple(values))] if values else []


@router.get(
    "/groups/{group_id}/carrier_configurations", response_model=list[responses.CarrierConfiguration]
)
async def list_carrier_configurations(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    day: EffectiveDate,
    order: RecordSort,
) -> list[dict[str, Any]]:
    """The group's configuration at each connected carrier (bare array)."""
    async with db.transaction() as session:
        records, _ = await group_data.group_listing(
            session,
            organization_id,
            group_id,
            CarrierConfiguration,
            day,
            sort_by=order.sort_by,
            direction=order.direction,
        )
    return records


@router.get("/groups/{group_id}/group_enrollments", response_model=Page[responses.GroupEnrollment])
async def list_group_enrollments(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    day: EffectiveDate,
    order: RecordSort,
    status: Annotated[
        str | None, Query(description="comma-separated: pending, active, completed")
    ] = None,
) -> Page[Any]:
    """The group's enrollments (a line of coverage at a carrier), filtered by status."""
    filters = _one_of("status", csv_choices(status, "status", ENROLLMENT_STATUSES))
    return await group_page(
        db, organization_id, group_id, GroupEnrollment, page, day, filters, order=order
    )


@router.get("/group_enrollments/{enrollment_id}", response_model=responses.GroupEnrollment)
async def get_group_enrollment(
    enrollment_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    """One group enrollment."""
    async with db.transaction() as session:
        return await group_data.group_record(
            session, organization_id, GroupEnrollment, enrollment_id, "group enrollment", day=day
        )


@router.get("/group_enrollments/{enrollment_id}/plans", response_model=list[responses.Plan])
async def list_group_enrollment_plans(
    enrollment_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    day: EffectiveDate,
    order: RecordSort,
) -> list[dict[str, Any]]:
    """The plans of one group enrollment (bare array)."""
    async with db.transaction() as session:
        return await group_data.enrollment_plans(
            session,
            organization_id,
            enrollment_id,
            day,
            sort_by=order.sort_by,
            direction=order.direction,
        )


@router.get("/groups/{group_id}/plans", response_model=Page[responses.Plan])
async def list_plans(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    day: EffectiveDate,
    order: RecordSort,
    status: Annotated[
        str | None, Query(description="comma-separated: pending, active, discontinued")
    ] = None,
    line_of_coverage: Annotated[
        str | None, Query(description="comma-separated lines of coverage")
    ] = None,
    carrier_id: Annotated[str | None, Query(description="comma-separated carrier ids")] = None,
) -> Page[Any]:
    """The group's plans, filtered by status, line of coverage or carrier."""
    filters = [
        *_one_of("status", csv_choices(status, "status", PLAN_STATUSES)),
        *_one_of(
            "line_of_coverage",
            csv_choices(line_of_coverage, "line_of_coverage", (str(v) for v in LineOfCoverage)),
        ),
        *_one_of("carrier_id", csv_uuids(carrier_id, "carrier_id")),
    ]
    return await group_page(db, organization_id, group_id, Plan, page, day, filters, order=order)


@router.get("/plans/{plan_id}", response_model=responses.PlanEnvelope)
async def get_plan(
    plan_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    """One plan, under `plan`."""
    async with db.transaction() as session:
        plan = await group_data.group_record(
            session, organization_id, Plan, plan_id, "plan", day=day
        )
    return {"plan": plan}
