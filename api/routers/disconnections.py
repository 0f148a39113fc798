"""`/api/v1/group_disconnection_requests`: request, list, read, confirm, reject and edit.

A request's run (`workflows.disconnection`) owns its status: the API creates the row and starts
the run, and every decision (confirm, reject, edit) goes to the run as a Temporal update, which
refuses an illegal one synchronously and answers once the decision is recorded in PostgreSQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api import responses
from api.deps import DB, AppSettings, OrganizationId, TemporalClient
from api.openapi import ERROR_RESPONSES
from api.params import (
    Direction,
    Overdue,
    Page,
    Paging,
    RequestSortBy,
    csv_choices,
    csv_uuids,
    date_param,
    overdue_filter,
    sorted_page,
)
from api.schemas import (
    DisconnectionConfirm,
    DisconnectionEdit,
    DisconnectionReject,
    NewDisconnectionRequest,
)
from domain.disconnections import (
    Decision,
    DisconnectionReason,
    DisconnectionStatus,
    RejectionReason,
    SourceType,
)
from domain.errors import ValidationFailed
from runtime.settings import Settings
from services import disconnections
from store.disconnections import request_conditions
from store.models import Group, GroupDisconnectionRequest
from store.tenancy import owned

router = APIRouter(
    prefix="/api/v1", tags=["group disconnection requests"], responses=ERROR_RESPONSES
)
WHAT = disconnections.WHAT


@router.post(
    "/group_disconnection_requests", status_code=201, response_model=responses.DisconnectionRequest
)
async def create_disconnection_request(
    body: NewDisconnectionRequest,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Starts in `processing`; the run checks it and moves it to `rejected` (with the reason in
    `status_reason`) when the group has no completed connection to the carrier or the end date
    does not fit."""
    return await disconnections.request_disconnection(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        group_id=body.group_id,
        carrier_id=body.carrier_id,
        effective_end_date=body.effective_end_date,
        reason=body.reason.value if body.reason else None,
        context=body.context,
    )


# Lists.


StatusFilter = Annotated[
    str | None,
    Query(description="comma-separated: needs_review, processing, completed, rejected"),
]
CarrierFilter = Annotated[str | None, Query(description="comma-separated carrier ids")]
MinEnd = Annotated[str | None, Query(description="YYYY-MM-DD: effective_end_date on or after")]
MaxEnd = Annotated[str | None, Query(description="YYYY-MM-DD: effective_end_date on or before")]
Search = Annotated[str | None, Query(description="part of the group name (any case)")]
SourceFilter = Annotated[str | None, Query(description="comma-separated source types")]
IdFilter = Annotated[str | None, Query(description="comma-separated request ids")]


@dataclass(frozen=True)
class DisconnectionFilters:
    """The query filters both lists take, as given.

    Checked by `conditions()` in the endpoint, not here: FastAPI calls a dependency even when
    other parameters failed, and their 422 must come first.
    """

    status: StatusFilter = None
    carrier_id: CarrierFilter = None
    min_effective_end_date: MinEnd = None
    max_effective_end_date: MaxEnd = None
    search: Search = None
    source_type: SourceFilter = None
    id: IdFilter = None
    overdue: Overdue = None

    def parsed(self, settings: Settings) -> dict[str, Any]:
        """The filters as `store.disconnections.request_conditions` takes them (422 naming the
        first one not valid)."""
        return {
            "statuses": csv_choices(self.status, "status", (s.value for s in DisconnectionStatus)),
            "carrier_ids": csv_uuids(self.carrier_id, "carrier_id"),
            "earliest_end": date_param(self.min_effective_end_date, "min_effective_end_date"),
            "latest_end": date_param(self.max_effective_end_date, "max_effective_end_date"),
            "search": self.search,
            "source_types": csv_choices(
                self.source_type, "source_type", (s.value for s in SourceType)
            ),
            "ids": csv_uuids(self.id, "id"),
            "overdue": overdue_filter(self.overdue, settings.overdue_limits().disconnections),
        }


Filters = Annotated[DisconnectionFilters, Depends()]


@router.get("/group_disconnection_requests", response_model=Page[responses.DisconnectionRequest])
async def list_disconnection_requests(
    organization_id: OrganizationId,
    db: DB,
    settings: AppSettings,
    filters: Filters,
    page: Paging,
    group_id: Annotated[str | None, Query(description="comma-separated group ids")] = None,
    sort_by: RequestSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The organization's disconnection requests, newest first by default."""
    parsed = filters.parsed(settings)
    groups = csv_uuids(group_id, "group_id")
    return await sorted_page(
        db,
        GroupDisconnectionRequest,
        page,
        conditions=request_conditions(organization_id, group_ids=groups, **parsed),
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get(
    "/groups/{group_id}/group_disconnection_requests",
    response_model=Page[responses.DisconnectionRequest],
)
async def list_group_disconnection_requests(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    settings: AppSettings,
    filters: Filters,
    page: Paging,
    sort_by: RequestSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The group's disconnection requests, newest first by default."""
    parsed = filters.parsed(settings)
    async with db.transaction() as session:
        await owned(session, Group, group_id, organization_id, what="group")
    return await sorted_page(
        db,
        GroupDisconnectionRequest,
        page,
        conditions=request_conditions(organization_id, group_ids=[group_id], **parsed),
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get(
    "/group_disconnection_requests/{request_id}", response_model=responses.DisconnectionRequest
)
async def get_disconnection_request(
    request_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """One disconnection request."""
    async with db.transaction() as session:
        row = await owned(
            session, GroupDisconnectionRequest, request_id, organization_id, what=WHAT
        )
        return row.as_contract()


# Decisions: confirm, reject, edit. `/confirm` and `/reject` are registered before `/{version}`.


@router.put(
    "/group_disconnection_requests/{request_id}/confirm",
    response_model=responses.DisconnectionRequest,
)
async def confirm_disconnection_request(
    request_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
    body: DisconnectionConfirm | None = None,
) -> dict[str, Any]:
    """Moves the request to `processing`; `effective_end_date` is needed if none is set yet."""
    decision = Decision.confirm(body.effective_end_date if body else None)
    return await disconnections.decide_request(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        request_id=request_id,
        decision=decision,
    )


@router.put(
    "/group_disconnection_requests/{request_id}/reject",
    response_model=responses.DisconnectionRequest,
)
async def reject_disconnection_request(
    request_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
    body: DisconnectionReject | None = None,
) -> dict[str, Any]:
    """Moves the request to `rejected`: the group stays connected."""
    body = body or DisconnectionReject()
    decision = Decision.reject(body.reason.value if body.reason else None, body.context)
    return await disconnections.decide_request(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        request_id=request_id,
        decision=decision,
    )


@router.put(
    "/group_disconnection_requests/{request_id}/{version:version}",
    response_model=responses.DisconnectionRequest,
)
async def edit_disconnection_request(
    request_id: uuid.UUID,
    version: uuid.UUID,
    body: DisconnectionEdit,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Edit against `version` (else 409 with `current_version`): `processing` confirms or
    resubmits (a rejected platform request is checked again), `rejected` rejects."""
    if body.reason is not None:
        allowed = RejectionReason if body.status == "rejected" else DisconnectionReason
        choices = [r.value for r in allowed]
        if body.reason not in choices:
            raise ValidationFailed.one(
                "reason", f"for status {body.status}, one of {', '.join(choices)}"
            )
    decision = Decision(
        kind="edit",
        status=body.status,
        effective_end_date=body.effective_end_date,
        reason=body.reason,
        context=body.context,
        expected_version=version,
    )
    return await disconnections.decide_request(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        request_id=request_id,
        decision=decision,
        version=version,
    )
