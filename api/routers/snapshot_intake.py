"""`POST /api/v1/groups/{group_id}/member_snapshots` and its dry run `.../member_snapshots/test`.

The checks and the transaction live in `services.member_snapshots`; this reads the body.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request

from api import openapi, responses
from api.deps import DB, OrganizationId, Signals
from api.errors import ApiError
from api.limits import checked_body
from domain.errors import ValidationFailed
from services import member_snapshots

router = APIRouter(
    prefix="/api/v1/groups/{group_id}/member_snapshots",
    tags=["member snapshots"],
    responses=openapi.ERROR_RESPONSES,
)


async def _payload(request: Request) -> tuple[dict[str, Any], str]:
    """The snapshot as parsed by `RequestLimits` (valid UTF-8 JSON by then), and as sent."""
    inbound = (await request.body()).decode("utf-8")
    if not inbound.strip():
        raise ApiError(400, "the body is not valid JSON")
    payload = checked_body(request)
    if not isinstance(payload, dict):
        raise ValidationFailed.one("snapshot", "the body must be a JSON object")
    return payload, inbound


def _today() -> date:
    return datetime.now(UTC).date()


@router.post(
    "",
    status_code=201,
    response_model=responses.MemberSnapshot,
    openapi_extra=openapi.SNAPSHOT_BODY,
)
async def create_member_snapshot(
    group_id: uuid.UUID,
    request: Request,
    db: DB,
    organization_id: OrganizationId,
    signals: Signals,
) -> dict[str, Any]:
    """Submit an employee's whole desired state; answers `submitted` and the
    fulfillment loop sends each carrier its part (follow it with `GET /member_snapshots/{id}`)."""
    payload, inbound = await _payload(request)
    return await member_snapshots.submit_snapshot(
        db,
        signals,
        organization_id=organization_id,
        group_id=group_id,
        payload=payload,
        inbound=inbound,
        today=_today(),
    )


@router.post(
    "/test",
    status_code=200,
    response_model=responses.SnapshotDryRun,
    openapi_extra=openapi.SNAPSHOT_BODY,
)
async def test_member_snapshot(
    group_id: uuid.UUID, request: Request, db: DB, organization_id: OrganizationId
) -> dict[str, Any]:
    """Every check of a real submission; nothing is stored or sent."""
    payload, inbound = await _payload(request)
    return await member_snapshots.dry_run(
        db,
        organization_id=organization_id,
        group_id=group_id,
        payload=payload,
        inbound=inbound,
        today=_today(),
    )
