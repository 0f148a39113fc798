"""`/api/v1/.../renewal_decisions` (contract section 5): submit, list, read and edit decisions.

A decision's run (`workflows.renewal`) owns its status: the API stores the decision as
`submitted` and starts the run; an edit stores the new version and wakes the run to check again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import responses
from api.deps import DB, AppSettings, OrganizationId, TemporalClient
from api.openapi import ERROR_RESPONSES
from api.params import (
    Direction,
    Page,
    Paging,
    RenewalSortBy,
    csv_choices,
    date_param,
    sorted_page,
)
from domain.renewals import NewRenewalDecision, RenewalDecisionEdit, RenewalStatus
from services import renewals
from store import renewals as store
from store.models import Group, RenewalDecision
from store.tenancy import owned

router = APIRouter(prefix="/api/v1", tags=["renewal decisions"], responses=ERROR_RESPONSES)

DateQuery = Annotated[str | None, Query(description="YYYY-MM-DD")]


def _today() -> date:
    return datetime.now(UTC).date()


@router.post(
    "/groups/{group_id}/renewal_decisions",
    status_code=201,
    response_model=responses.RenewalDecision,
)
async def submit_renewal_decision(
    group_id: uuid.UUID,
    request: NewRenewalDecision,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Starts `submitted`; the carriers are checked within seconds, then daily."""
    return await renewals.submit(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        group_id=group_id,
        request=request,
        today=_today(),
    )


@router.get("/groups/{group_id}/renewal_decisions", response_model=Page[responses.RenewalDecision])
async def list_group_renewal_decisions(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    renewal_date: DateQuery = None,
    start_date: Annotated[str | None, Query(description="YYYY-MM-DD: renewal on or after")] = None,
    end_date: Annotated[str | None, Query(description="YYYY-MM-DD: renewal on or before")] = None,
    sort_by: RenewalSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The group's renewal decisions, newest first by default."""
    conditions = store.list_conditions(
        organization_id,
        group_id=group_id,
        renewal_date=date_param(renewal_date, "renewal_date"),
        start_date=date_param(start_date, "start_date"),
        end_date=date_param(end_date, "end_date"),
    )
    async with db.transaction() as session:
        await owned(session, Group, group_id, organization_id, what="group")
    return await sorted_page(
        db,
        RenewalDecision,
        page,
        conditions=conditions,
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get(
    "/groups/{group_id}/renewal_decisions/{decision_id}", response_model=responses.RenewalDecision
)
async def get_group_renewal_decision(
    group_id: uuid.UUID, decision_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """One renewal decision of the group."""
    async with db.transaction() as session:
        row = await store.owned_decision(session, decision_id, organization_id, group_id=group_id)
        return row.as_contract()


@router.get("/renewal_decisions", response_model=Page[responses.RenewalDecision])
async def list_renewal_decisions(
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    group_name: Annotated[str | None, Query(description="part of the group name")] = None,
    status: Annotated[
        str | None, Query(description="comma-separated: submitted, not_ready, ready, done")
    ] = None,
    start_date: Annotated[str | None, Query(description="YYYY-MM-DD: renewal on or after")] = None,
    end_date: Annotated[str | None, Query(description="YYYY-MM-DD: renewal on or before")] = None,
    sort_by: RenewalSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The organization's renewal decisions, newest first by default."""
    conditions = store.list_conditions(
        organization_id,
        group_name=group_name,
        statuses=csv_choices(status, "status", (s.value for s in RenewalStatus)),
        start_date=date_param(start_date, "start_date"),
        end_date=date_param(end_date, "end_date"),
    )
    return await sorted_page(
        db,
        RenewalDecision,
        page,
        conditions=conditions,
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get("/renewal_decisions/{decision_id}", response_model=responses.RenewalDecision)
async def get_renewal_decision(
    decision_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """One renewal decision."""
    async with db.transaction() as session:
        row = await store.owned_decision(session, decision_id, organization_id)
        return row.as_contract()


@router.put("/renewal_decisions/{decision_id}/{version}", response_model=responses.RenewalDecision)
async def edit_renewal_decision(
    decision_id: uuid.UUID,
    version: uuid.UUID,
    change: RenewalDecisionEdit,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Edit against `version` (else 409 with `current_version`): back to `submitted`, and the
    carriers are checked again at once."""
    return await renewals.edit(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        decision_id=decision_id,
        version=version,
        change=change,
        today=_today(),
    )
