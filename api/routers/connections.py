"""`/api/v1/group_connections`: request, list, read, retry and review group-carrier connections."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

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
    overdue_filter,
    sorted_page,
)
from api.schemas import (
    ConnectionRetry,
    ConnectionReview,
    ExistingGroupConnection,
    NewGroupConnection,
)
from domain.connections import ConnectionState, ConnectionStatus, ReviewDecision
from domain.errors import ValidationFailed
from services import connections
from services.carriers import normalized_carrier_group_id
from store.connections import connection_conditions
from store.models import Group, GroupConnection
from store.tenancy import owned

router = APIRouter(tags=["group connections"], responses=ERROR_RESPONSES)
STATUSES = tuple(s.value for s in ConnectionStatus)


@router.post("/api/v1/group_connections", status_code=201, response_model=responses.GroupConnection)
async def create_connection_with_new_group(
    body: NewGroupConnection,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Create a group from `group_data` and connect it to the carrier; the connection starts
    `processing` and its run sets the group up (or finds it) at the carrier."""
    return await connections.request_connection(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        carrier_id=body.carrier_id,
        group_data=body.group_data.model_dump(),
        new_group_name=body.group_data.group_name,
        federal_ein=body.federal_ein,
    )


@router.post(
    "/api/v1/groups/{group_id}/group_connections",
    status_code=201,
    response_model=responses.GroupConnectionWithAudit,
)
async def create_connection_for_group(
    group_id: uuid.UUID,
    body: ExistingGroupConnection,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Connect an existing group to a carrier; the answer names the initial audit
    (`group_audit_request_id`) the run will request once connected."""
    return await connections.request_connection(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        carrier_id=body.carrier_id,
        group_data=body.group_data.model_dump(),
        group_id=group_id,
    )


@router.get("/api/v1/group_connections", response_model=Page[responses.GroupConnection])
async def list_connections(
    organization_id: OrganizationId,
    db: DB,
    settings: AppSettings,
    page: Paging,
    id: Annotated[str | None, Query(description="comma-separated connection ids")] = None,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    carrier_id: Annotated[str | None, Query(description="comma-separated carrier ids")] = None,
    carrier_group_id: Annotated[
        str | None, Query(description="only together with exactly one carrier_id")
    ] = None,
    filter_organization_id: Annotated[uuid.UUID | None, Query(alias="organization_id")] = None,
    overdue: Overdue = None,
    sort_by: RequestSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The organization's connection requests, newest first by default, filtered by id,
    status or carrier (and the carrier's group id, with exactly one `carrier_id`), or to those
    waiting longer than their status allows (`overdue=true`)."""
    # Another organization's id shows nothing (not an error).
    visible = filter_organization_id is None or filter_organization_id == organization_id
    ids = csv_uuids(id, "id")
    statuses = csv_choices(status, "status", STATUSES)
    carriers = csv_uuids(carrier_id, "carrier_id")
    normalized = None
    if carrier_group_id is not None:
        if len(carriers) != 1:
            raise ValidationFailed.one(
                "carrier_group_id", "must be used with exactly one carrier_id"
            )
        normalized = normalized_carrier_group_id(carriers[0], carrier_group_id)
    conditions = connection_conditions(
        organization_id,
        ids=ids,
        statuses=statuses,
        carrier_ids=carriers,
        carrier_group_id=normalized,
        overdue=overdue_filter(overdue, settings.overdue_limits().connections),
        visible=visible,
    )
    return await sorted_page(
        db,
        GroupConnection,
        page,
        conditions=conditions,
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get(
    "/api/v1/groups/{group_id}/group_connections", response_model=Page[responses.GroupConnection]
)
async def list_group_connections(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    sort_by: RequestSortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    """The group's connection requests, newest first by default."""
    async with db.transaction() as session:
        await owned(session, Group, group_id, organization_id, what="group")
    statuses = csv_choices(status, "status", STATUSES)
    return await sorted_page(
        db,
        GroupConnection,
        page,
        conditions=connection_conditions(organization_id, statuses=statuses, group_id=group_id),
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get("/api/v1/group_connections/{connection_id}", response_model=responses.GroupConnection)
async def get_connection(
    connection_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """One connection request; `status` is where its run stands (`completed` once live)."""
    async with db.transaction() as session:
        row = await owned(
            session, GroupConnection, connection_id, organization_id, what=connections.WHAT
        )
        return row.as_contract()


@router.get(
    "/api/v1/group_connections/{connection_id}/live", response_model=responses.ConnectionLiveState
)
async def get_connection_live_state(
    connection_id: uuid.UUID, organization_id: OrganizationId, db: DB, temporal: TemporalClient
) -> ConnectionState:
    """The running workflow's own view (query): next re-check, re-check count, reason."""
    return await connections.live_state(
        db, temporal, organization_id=organization_id, connection_id=connection_id
    )


@router.put(
    "/api/v1/group_connections/{connection_id}/retry",
    status_code=201,
    response_model=responses.GroupConnection,
)
async def retry_connection(
    connection_id: uuid.UUID,
    body: ConnectionRetry,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Try a connection that needs attention again, with corrected group data;
    409 when it is not waiting for one."""
    return await connections.retry(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        connection_id=connection_id,
        changes=body.model_dump(exclude_none=True),
    )


@router.put(
    "/api/v1/group_connections/{connection_id}/review", response_model=responses.GroupConnection
)
async def review_connection(
    connection_id: uuid.UUID,
    body: ConnectionReview,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
) -> dict[str, Any]:
    """Approve (pull the account) or reject (unable_to_connect) a connection in `noyo_review`."""
    return await connections.review(
        db,
        temporal,
        organization_id=organization_id,
        connection_id=connection_id,
        decision=ReviewDecision(decision=body.decision, note=body.note),
    )
