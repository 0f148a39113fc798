"""A group's carrier data: carrier configurations, group enrollments and plans (read-only).

Every read takes `effective_date` (see `store.group_data`): the record as it stood at the end of
that day, filters matching that version.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import DB, OrganizationId
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

router = APIRouter(prefix="/api/v1", tags=["group data"])

ENROLLMENT_STATUSES = ("pending", "active", "completed")
PLAN_STATUSES = ("pending", "active", "discontinued")


def _one_of(field: str, values: list[Any]) -> list[Filter]:
    return [OneOf(field, tuple(values))] if values else []


@router.get("/groups/{group_id}/carrier_configurations")
async def list_carrier_configurations(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    day: EffectiveDate,
    order: RecordSort,
) -> list[dict[str, Any]]:
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


@router.get("/groups/{group_id}/group_enrollments")
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
    filters = _one_of("status", csv_choices(status, "status", ENROLLMENT_STATUSES))
    return await group_page(
        db, organization_id, group_id, GroupEnrollment, page, day, filters, order=order
    )


@router.get("/group_enrollments/{enrollment_id}")
async def get_group_enrollment(
    enrollment_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    async with db.transaction() as session:
        return await group_data.group_record(
            session, organization_id, GroupEnrollment, enrollment_id, "group enrollment", day=day
        )


@router.get("/group_enrollments/{enrollment_id}/plans")
async def list_group_enrollment_plans(
    enrollment_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    day: EffectiveDate,
    order: RecordSort,
) -> list[dict[str, Any]]:
    async with db.transaction() as session:
        return await group_data.enrollment_plans(
            session,
            organization_id,
            enrollment_id,
            day,
            sort_by=order.sort_by,
            direction=order.direction,
        )


@router.get("/groups/{group_id}/plans")
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
    filters = [
        *_one_of("status", csv_choices(status, "status", PLAN_STATUSES)),
        *_one_of(
            "line_of_coverage",
            csv_choices(line_of_coverage, "line_of_coverage", (str(v) for v in LineOfCoverage)),
        ),
        *_one_of("carrier_id", csv_uuids(carrier_id, "carrier_id")),
    ]
    return await group_page(db, organization_id, group_id, Plan, page, day, filters, order=order)


@router.get("/plans/{plan_id}")
async def get_plan(
    plan_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    async with db.transaction() as session:
        plan = await group_data.group_record(
            session, organization_id, Plan, plan_id, "plan", day=day
        )
    return {"plan": plan}
