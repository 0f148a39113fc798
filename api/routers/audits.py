"""`/api/v1/groups/{group_id}/audit_requests`: the latest carrier audits, and audits on demand."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.deps import (
    DB,
    AppSettings,
    EffectiveDate,
    OrganizationId,
    TemporalClient,
    owned_or_404,
)
from api.errors import ApiError, not_found
from api.schemas import AuditRequestBody
from carriers import carrier_info
from domain.audits import AuditTrigger, PullRequest
from domain.errors import ValidationFailed
from services.audits import audit_workflow_id, start_audit
from store.connections import live_connection
from store.models import CarrierConfiguration, Group, GroupAudit
from store.versioning import end_of_day_micros

router = APIRouter(prefix="/api/v1/groups/{group_id}/audit_requests", tags=["group audits"])


def _latest(group: Group, audit: GroupAudit | None) -> dict[str, Any]:
    """The contract's latest-audit object; the group's creation when no audit has finished."""
    if audit is None:
        return {"group_id": str(group.id), "completed_at": group.created, "carrier_ids": []}
    return {
        "group_id": str(group.id),
        "completed_at": audit.completed_at,
        "carrier_ids": [str(c) for c in audit.carrier_ids],
    }


def _finished(group_id: uuid.UUID, *, before: int | None = None) -> Any:
    query = select(GroupAudit).where(
        GroupAudit.group_id == group_id, GroupAudit.completed_at.is_not(None)
    )
    if before is not None:
        query = query.where(GroupAudit.completed_at <= before)
    return query.order_by(GroupAudit.completed_at.desc(), GroupAudit.created.desc()).limit(1)


@router.get("/latest")
async def latest_audit(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    carrier_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    async with db.transaction() as session:
        group = await owned_or_404(session, Group, group_id, organization_id, "group")
        query = _finished(group_id)
        if carrier_id is not None:
            query = query.where(GroupAudit.carrier_ids.contains([carrier_id]))
        return _latest(group, await session.scalar(query))


@router.get("/list_latest")
async def list_latest_audits(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    effective_date: EffectiveDate,
) -> list[dict[str, Any]]:
    """One entry per carrier configured for the group (bare array), with its `carrier_id`."""
    # Seconds, as `completed_at` is stored; the end of `effective_date` in UTC.
    before = end_of_day_micros(effective_date) // 1_000_000 if effective_date else None
    async with db.transaction() as session:
        group = await owned_or_404(session, Group, group_id, organization_id, "group")
        carriers = await session.scalars(
            select(CarrierConfiguration.carrier_id)
            .where(CarrierConfiguration.group_id == group_id)
            .order_by(CarrierConfiguration.created)
        )
        entries = []
        for carrier_id in carriers:
            audit = await session.scalar(
                _finished(group_id, before=before).where(
                    GroupAudit.carrier_ids.contains([carrier_id])
                )
            )
            entries.append({**_latest(group, audit), "carrier_id": str(carrier_id)})
        return entries


@router.post("", status_code=201)
async def request_audit(
    group_id: uuid.UUID,
    body: AuditRequestBody,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Audit the group at one carrier now; answers with the audit's id to follow."""
    carrier_info(body.carrier_id)  # 422 naming carrier_id when unknown
    audit_id = uuid.uuid4()
    async with db.transaction() as session:
        await owned_or_404(session, Group, group_id, organization_id, "group")
        connection = await live_connection(session, group_id, body.carrier_id)
        if connection is None:
            raise ValidationFailed.one(
                "carrier_id", "the group has no completed connection to this carrier to audit"
            )
        request = PullRequest(
            connection_id=connection.id,
            organization_id=organization_id,
            group_id=group_id,
            carrier_id=body.carrier_id,
            carrier_group_id=connection.carrier_group_id,
            trigger=AuditTrigger.REQUEST,
            audit_id=audit_id,
        )
        # Recorded before the run starts, so the id can be followed from the first moment.
        audit = GroupAudit(
            id=audit_id,
            group_id=group_id,
            carrier_ids=[body.carrier_id],
            trigger=AuditTrigger.REQUEST.value,
            completed_at=None,
            workflow_id=audit_workflow_id(request),
        )
        session.add(audit)
        await session.flush()
        answer = _audit(audit, "processing")
    try:
        await start_audit(temporal, settings, request)
    except RPCError as err:
        async with db.transaction() as session:
            await session.delete(await session.get(GroupAudit, audit_id))
        raise ApiError(503, "Temporal is unavailable; the audit was not started") from err
    return answer


@router.get("/{audit_id}")
async def get_audit(
    group_id: uuid.UUID,
    audit_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
) -> dict[str, Any]:
    async with db.transaction() as session:
        await owned_or_404(session, Group, group_id, organization_id, "group")
        audit = await session.get(GroupAudit, audit_id)
        if audit is None or audit.group_id != group_id:
            raise not_found("audit request")
    if audit.completed_at is not None:
        return _audit(audit, "completed")
    return _audit(audit, await _run_status(temporal, audit))


def _audit(audit: GroupAudit, status: str) -> dict[str, Any]:
    return {**audit.as_contract(), "status": status}


async def _run_status(temporal: TemporalClient, audit: GroupAudit) -> str:
    """What became of a requested audit that has not recorded a finish."""
    assert audit.workflow_id is not None
    try:
        described = await temporal.get_workflow_handle(audit.workflow_id).describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            # Recorded, but the run never started (the API died in between): nothing will run.
            return "failed"
        raise ApiError(503, "Temporal is unavailable; try again shortly") from err
    if described.status in (WorkflowExecutionStatus.RUNNING, None):
        return "processing"
    if described.status is WorkflowExecutionStatus.COMPLETED:
        return "skipped"  # the group was disconnected before the audit ran
    return "failed"
