"""`POST /api/v1/groups/{group_id}/member_snapshots` and its dry run `.../member_snapshots/test`.

The checks live in `services.member_snapshots`; this maps their refusals to the contract's
codes (422 naming fields, 400 for a duplicate dependent, 404 for an unknown member).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from temporalio.service import RPCError

from api.deps import DB, OrganizationId, Signals, owned_or_404
from api.errors import ApiError
from domain.errors import ValidationFailed
from domain.member_changes import FulfillmentStatus
from domain.snapshots import DuplicateDependent
from services.member_snapshots import (
    check_snapshot,
    created_members,
    fulfillment_summary,
    take_snapshot,
)
from store.members import UnknownMember
from store.models import Group

router = APIRouter(prefix="/api/v1/groups/{group_id}/member_snapshots", tags=["member snapshots"])


async def _payload(request: Request) -> tuple[dict[str, Any], str]:
    inbound = (await request.body()).decode("utf-8", errors="replace")
    try:
        payload = json.loads(inbound)
    except json.JSONDecodeError:
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ValidationFailed.one("snapshot", "the body must be a JSON object")
    return payload, inbound


def _today() -> Any:
    return datetime.now(UTC).date()


@router.post("", status_code=201)
async def create_member_snapshot(
    group_id: uuid.UUID,
    request: Request,
    db: DB,
    organization_id: OrganizationId,
    signals: Signals,
) -> dict[str, Any]:
    payload, inbound = await _payload(request)
    try:
        async with db.transaction() as session:
            await owned_or_404(session, Group, group_id, organization_id, "group")
            row = await take_snapshot(
                session,
                signals,
                organization_id=organization_id,
                group_id=group_id,
                payload=payload,
                inbound=inbound,
                today=_today(),
            )
            return row.as_contract()
    except DuplicateDependent as exc:
        raise ApiError(400, str(exc)) from None
    except UnknownMember as exc:
        raise ApiError(404, str(exc)) from None
    except IntegrityError:
        # Two first snapshots of one new member raced past the lock's key (one by id, one by
        # platform id): the loser may simply send again.
        raise ApiError(409, "another snapshot of this member was accepted first; resend") from None
    except RPCError as exc:
        raise ApiError(503, f"the workflow service is unavailable: {exc.message}") from exc


@router.post("/test", status_code=200)
async def test_member_snapshot(
    group_id: uuid.UUID, request: Request, db: DB, organization_id: OrganizationId
) -> dict[str, Any]:
    """Every check of a real submission; nothing is stored or sent."""
    payload, inbound = await _payload(request)
    try:
        async with db.transaction() as session:
            await owned_or_404(session, Group, group_id, organization_id, "group")
            checked = await check_snapshot(
                session,
                organization_id=organization_id,
                group_id=group_id,
                payload=payload,
                today=_today(),
            )
    except DuplicateDependent as exc:
        raise ApiError(400, str(exc)) from None
    except UnknownMember as exc:
        raise ApiError(404, str(exc)) from None
    # Ids a submission would assign are not kept, so none is shown for a new member.
    new = {member.id for member in checked.members.created}
    employee_id = checked.members.employee_id
    return {
        "id": None,
        "employee_id": None if employee_id in new else str(employee_id),
        "group_id": str(group_id),
        "status": "valid",
        "member_snapshot": checked.processed,
        "inbound_snapshot": inbound,
        "created_members": [{**member, "id": None} for member in created_members(checked.members)],
        "warnings": checked.warnings,
        "fulfillment_summary": fulfillment_summary(checked, FulfillmentStatus.VALID),
    }
