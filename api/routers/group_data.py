"""A group's carrier data: carrier configurations, group enrollments and plans (read-only).

Every read takes `effective_date` (see `store.group_data`): the record as it stood at the end of
that day, filters matching that version.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.deps import (
    EffectiveDate,
    OrganizationId,
    Page,
    Paging,
    csv_choices,
    csv_uuids,
    get_database,
    owned_or_404,
    view_or_404,
)
from domain.enums import LineOfCoverage
from store import group_data
from store.db import Database
from store.group_data import Filter, OneOf
from store.models import CarrierConfiguration, Group, GroupEnrollment, Plan

router = APIRouter(prefix="/api/v1", tags=["group data"])

DB = Annotated[Database, Depends(get_database)]

ENROLLMENT_STATUSES = ("pending", "active", "completed")
PLAN_STATUSES = ("pending", "active", "discontinued")


def _one_of(field: str, values: list[Any]) -> list[Filter]:
    return [OneOf(field, tuple(values))] if values else []


@router.get("/groups/{group_id}/carrier_configurations")
async def list_carrier_configurations(
    group_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> list[dict[str, Any]]:
    async with db.transaction() as session:
        await owned_or_404(session, Group, group_id, organization_id, "group")
        records, _ = await group_data.listing(
            session,
            CarrierConfiguration,
            scope=[CarrierConfiguration.group_id == group_id],
            day=day,
        )
    return records


@router.get("/groups/{group_id}/group_enrollments")
async def list_group_enrollments(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    day: EffectiveDate,
    status: Annotated[
        str | None, Query(description="comma-separated: pending, active, completed")
    ] = None,
) -> Page[Any]:
    filters = _one_of("status", csv_choices(status, "status", ENROLLMENT_STATUSES))
    async with db.transaction() as session:
        await owned_or_404(session, Group, group_id, organization_id, "group")
        records, total = await group_data.listing(
            session,
            GroupEnrollment,
            scope=[GroupEnrollment.group_id == group_id],
            filters=filters,
            day=day,
            offset=page.offset,
            limit=page.page_size,
        )
    return Page.of(records, page, total)


@router.get("/group_enrollments/{enrollment_id}")
async def get_group_enrollment(
    enrollment_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    async with db.transaction() as session:
        enrollment = await owned_or_404(
            session, GroupEnrollment, enrollment_id, organization_id, "group enrollment"
        )
        return await view_or_404(session, enrollment, day, "group enrollment")


@router.get("/group_enrollments/{enrollment_id}/plans")
async def list_group_enrollment_plans(
    enrollment_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> list[dict[str, Any]]:
    async with db.transaction() as session:
        enrollment = await owned_or_404(
            session, GroupEnrollment, enrollment_id, organization_id, "group enrollment"
        )
        await view_or_404(session, enrollment, day, "group enrollment")
        records, _ = await group_data.listing(
            session,
            Plan,
            scope=[Plan.group_id == enrollment.group_id],
            filters=_one_of("group_enrollment_id", [enrollment_id]),
            day=day,
        )
    return records


@router.get("/groups/{group_id}/plans")
async def list_plans(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    day: EffectiveDate,
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
    async with db.transaction() as session:
        await owned_or_404(session, Group, group_id, organization_id, "group")
        records, total = await group_data.listing(
            session,
            Plan,
            scope=[Plan.group_id == group_id],
            filters=filters,
            day=day,
            offset=page.offset,
            limit=page.page_size,
        )
    return Page.of(records, page, total)


@router.get("/plans/{plan_id}")
async def get_plan(
    plan_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    async with db.transaction() as session:
        plan = await owned_or_404(session, Plan, plan_id, organization_id, "plan")
        return {"plan": await view_or_404(session, plan, day, "plan")}
