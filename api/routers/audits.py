"""`/api/v1/groups/{group_id}/audit_requests`: the latest carrier audits, and audits on demand."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from api import responses
from api.deps import DB, AppSettings, OrganizationId, TemporalClient
from api.openapi import ERROR_RESPONSES
from api.params import EffectiveDate
from api.schemas import AuditRequestBody
from services import audits

router = APIRouter(
    prefix="/api/v1/groups/{group_id}/audit_requests",
    tags=["group audits"],
    responses=ERROR_RESPONSES,
)


@router.get("/latest", response_model=responses.LatestAudit)
async def latest_audit(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    carrier_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The group's latest finished audit (of `carrier_id`, when given)."""
    return await audits.latest_audit(
        db, organization_id=organization_id, group_id=group_id, carrier_id=carrier_id
    )


@router.get("/list_latest", response_model=list[responses.CarrierLatestAudit])
async def list_latest_audits(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    effective_date: EffectiveDate,
) -> list[dict[str, Any]]:
    """One entry per carrier configured for the group (bare array), with its `carrier_id`."""
    return await audits.latest_audits(
        db, organization_id=organization_id, group_id=group_id, day=effective_date
    )


@router.post(
    "",
    status_code=201,
    response_model=responses.GroupAudit,
    response_model_exclude_unset=True,
)
async def request_audit(
    group_id: uuid.UUID,
    body: AuditRequestBody,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Audit the group at one carrier now; answers with the audit's id to follow."""
    return await audits.request_audit(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        group_id=group_id,
        carrier_id=body.carrier_id,
    )


# Unset fields stay out: `failure_reason` is there only for a failed audit.
@router.get("/{audit_id}", response_model=responses.GroupAudit, response_model_exclude_unset=True)
async def get_audit(
    group_id: uuid.UUID,
    audit_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
) -> dict[str, Any]:
    """One audit of the group, with its `status`: completed, or what became of its run."""
    return await audits.audit_status(
        db, temporal, organization_id=organization_id, group_id=group_id, audit_id=audit_id
    )
