"""`/api/v1/group_connections`: request, list, read and retry group-carrier connections."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.deps import (
    DB,
    AppSettings,
    OrganizationId,
    Page,
    Paging,
    TemporalClient,
    csv_choices,
    csv_uuids,
    sorted_page,
)
from api.errors import ApiError, not_found
from api.schemas import ConnectionRetry, ExistingGroupConnection, NewGroupConnection
from carriers import carrier_info, rules_for
from domain.connections import (
    Amendment,
    ConnectionInput,
    ConnectionState,
    ConnectionStatus,
    GroupData,
    can_retry,
)
from domain.errors import ValidationFailed
from runtime.settings import Settings
from services.connections import checked_group_data, recheck_policy
from store.db import Database
from store.models import Group, GroupConnection
from store.versioning import save_version
from workflows import connection as wf

router = APIRouter(tags=["group connections"])


def _run_input(row: GroupConnection, settings: Settings, **overrides: Any) -> ConnectionInput:
    """What a run needs to carry the stored connection on from where its row stands."""
    return ConnectionInput.model_validate(
        {
            "connection_id": row.id,
            "organization_id": row.organization_id,
            "group_id": row.group_id,
            "carrier_id": row.carrier_id,
            "group_data": row.group_data,
            "federal_ein": row.federal_ein,
            "request_type": row.request_type,
            "status": row.status,
            "status_seq": row.status_seq,
            "recheck": recheck_policy(settings),
            **overrides,
        }
    )


async def _live_conflict(
    session: AsyncSession,
    organization_id: uuid.UUID,
    carrier_id: uuid.UUID,
    carrier_group_id: str,
    group_id: uuid.UUID | None,
    *,
    excluding: uuid.UUID | None = None,
) -> GroupConnection | None:
    keys = GroupConnection.carrier_group_id == carrier_group_id
    if group_id is not None:
        keys = keys | (GroupConnection.group_id == group_id)
    query = select(GroupConnection).where(
        GroupConnection.organization_id == organization_id,
        GroupConnection.carrier_id == carrier_id,
        GroupConnection.disconnected.is_(None),
        keys,
    )
    if excluding is not None:
        query = query.where(GroupConnection.id != excluding)
    return await session.scalar(query.limit(1))


def _duplicate(existing: GroupConnection) -> ApiError:
    return ApiError(
        409,
        f"a live connection for this carrier and group already exists: {existing.id}",
        existing_id=str(existing.id),
    )


async def _create(
    db: Database,
    temporal: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    carrier_id: uuid.UUID,
    data: GroupData,
    new_group_name: str | None,
    group_id: uuid.UUID | None,
    federal_ein: str | None,
) -> dict[str, Any]:
    connection_id = uuid.uuid4()
    workflow_id = wf.workflow_id(organization_id, carrier_id, data.carrier_group_id)
    try:
        async with db.transaction() as session:
            if group_id is None:
                group = Group(
                    id=uuid.uuid4(),
                    organization_id=organization_id,
                    name=new_group_name or data.carrier_group_id,
                    federal_ein=federal_ein,
                )
                await save_version(session, group, is_new=True)
                group_id = group.id
            row = GroupConnection(
                id=connection_id,
                organization_id=organization_id,
                group_id=group_id,
                carrier_id=carrier_id,
                carrier_group_id=data.carrier_group_id,
                federal_ein=federal_ein,
                request_type="initial" if new_group_name else "incremental",
                status=ConnectionStatus.CREATED.value,
                group_data=data.contract(),
                setup_result={},
                workflow_id=workflow_id,
            )
            await save_version(session, row, is_new=True)  # a duplicate fails here (unique index)
            run_input = _run_input(row, settings)
            # Started inside the transaction: if the start fails nothing is kept; if the commit
            # fails after it, the run's first status write recreates the rows from its input.
            await temporal.start_workflow(
                wf.GroupConnectionWorkflow.run,
                run_input,
                id=workflow_id,
                task_queue=settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=wf.search_attributes(run_input),
                static_summary=f"{carrier_info(carrier_id).name} group {data.carrier_group_id}",
            )
            contract = row.as_contract()
    except IntegrityError:
        existing = await _find_conflict(db, organization_id, carrier_id, data, group_id)
        raise _duplicate(existing) if existing else ApiError(409, "duplicate connection") from None
    except WorkflowAlreadyStartedError:
        existing = await _find_conflict(db, organization_id, carrier_id, data, group_id)
        raise (
            _duplicate(existing)
            if existing
            else ApiError(
                409, f"a connection lifecycle for {data.carrier_group_id} is already running"
            )
        ) from None
    except RPCError as exc:
        raise ApiError(503, f"the workflow service is unavailable: {exc.message}") from exc
    return contract


async def _find_conflict(
    db: Database,
    organization_id: uuid.UUID,
    carrier_id: uuid.UUID,
    data: GroupData,
    group_id: uuid.UUID | None,
) -> GroupConnection | None:
    async with db.transaction() as session:
        return await _live_conflict(
            session, organization_id, carrier_id, data.carrier_group_id, group_id
        )


@router.post("/api/v1/group_connections", status_code=201)
async def create_connection_with_new_group(
    body: NewGroupConnection,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    data = checked_group_data(body.carrier_id, body.group_data.model_dump())
    return await _create(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        carrier_id=body.carrier_id,
        data=data,
        new_group_name=body.group_data.group_name,
        group_id=None,
        federal_ein=body.federal_ein,
    )


@router.post("/api/v1/groups/{group_id}/group_connections", status_code=201)
async def create_connection_for_group(
    group_id: uuid.UUID,
    body: ExistingGroupConnection,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    async with db.transaction() as session:
        group = await session.get(Group, group_id)
        if group is None or group.organization_id != organization_id:
            raise not_found("group")
        federal_ein = group.federal_ein
    data = checked_group_data(body.carrier_id, body.group_data.model_dump())
    contract = await _create(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        carrier_id=body.carrier_id,
        data=data,
        new_group_name=None,
        group_id=group_id,
        federal_ein=federal_ein,
    )
    contract["group_audit_request_id"] = str(uuid.uuid5(uuid.UUID(contract["id"]), "initial-audit"))
    return contract


SortBy = Literal["created", "modified", "status"]
Direction = Literal["asc", "desc"]


@router.get("/api/v1/group_connections")
async def list_connections(
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    id: Annotated[str | None, Query(description="comma-separated connection ids")] = None,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    carrier_id: Annotated[str | None, Query(description="comma-separated carrier ids")] = None,
    carrier_group_id: Annotated[
        str | None, Query(description="only together with exactly one carrier_id")
    ] = None,
    filter_organization_id: Annotated[uuid.UUID | None, Query(alias="organization_id")] = None,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    conditions: list[Any] = []
    if filter_organization_id is not None and filter_organization_id != organization_id:
        conditions.append(GroupConnection.id.is_(None))  # another organization: nothing visible
    if ids := csv_uuids(id, "id"):
        conditions.append(GroupConnection.id.in_(ids))
    if statuses := csv_choices(status, "status", (s.value for s in ConnectionStatus)):
        conditions.append(GroupConnection.status.in_(statuses))
    carriers = csv_uuids(carrier_id, "carrier_id")
    if carriers:
        conditions.append(GroupConnection.carrier_id.in_(carriers))
    if carrier_group_id is not None:
        if len(carriers) != 1:
            raise ValidationFailed.one(
                "carrier_group_id", "must be used with exactly one carrier_id"
            )
        normalized = rules_for(carriers[0]).normalize_carrier_group_id(carrier_group_id)
        conditions.append(GroupConnection.carrier_group_id == normalized)
    return await sorted_page(
        db,
        GroupConnection,
        page,
        conditions=[GroupConnection.organization_id == organization_id, *conditions],
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get("/api/v1/groups/{group_id}/group_connections")
async def list_group_connections(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    async with db.transaction() as session:
        group = await session.get(Group, group_id)
        if group is None or group.organization_id != organization_id:
            raise not_found("group")
    conditions: list[Any] = [GroupConnection.group_id == group_id]
    if statuses := csv_choices(status, "status", (s.value for s in ConnectionStatus)):
        conditions.append(GroupConnection.status.in_(statuses))
    return await sorted_page(
        db,
        GroupConnection,
        page,
        conditions=[GroupConnection.organization_id == organization_id, *conditions],
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


async def _owned(
    session: AsyncSession, connection_id: uuid.UUID, organization_id: uuid.UUID
) -> GroupConnection:
    row = await session.get(GroupConnection, connection_id)
    if row is None or row.organization_id != organization_id:
        raise not_found("group connection")
    return row


@router.get("/api/v1/group_connections/{connection_id}")
async def get_connection(
    connection_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    async with db.transaction() as session:
        return (await _owned(session, connection_id, organization_id)).as_contract()


@router.get("/api/v1/group_connections/{connection_id}/live")
async def get_connection_live_state(
    connection_id: uuid.UUID, organization_id: OrganizationId, db: DB, temporal: TemporalClient
) -> ConnectionState:
    """The running workflow's own view (query): next re-check, re-check count, reason."""
    async with db.transaction() as session:
        row = await _owned(session, connection_id, organization_id)
    try:
        return await temporal.get_workflow_handle(row.workflow_id).query(
            wf.GroupConnectionWorkflow.state
        )
    except RPCError as exc:
        raise ApiError(503, f"the workflow service is unavailable: {exc.message}") from exc


@router.put("/api/v1/group_connections/{connection_id}/retry", status_code=201)
async def retry_connection(
    connection_id: uuid.UUID,
    body: ConnectionRetry,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    async with db.transaction() as session:
        row = await _owned(session, connection_id, organization_id)
        if row.disconnected is not None or not can_retry(ConnectionStatus(row.status)):
            raise ApiError(
                409,
                f"the connection is {row.status}; it cannot be retried",
                current_status=row.status,
            )
        amendment = Amendment.model_validate(body.model_dump(exclude_none=True))
        merged = amendment.apply(GroupData.model_validate(row.group_data)).contract()
        data = checked_group_data(row.carrier_id, merged)
        amendment = amendment.model_copy(update={"carrier_group_id": data.carrier_group_id})
        if data.carrier_group_id != row.carrier_group_id:
            existing = await _live_conflict(
                session,
                organization_id,
                row.carrier_id,
                data.carrier_group_id,
                None,
                excluding=row.id,
            )
            if existing is not None:
                raise _duplicate(existing)
        run_input = _run_input(row, settings, request_type="incremental")
        workflow_id = row.workflow_id
    # Wakes a waiting run at once, or starts a new run of a finished one (unable_to_connect).
    start = WithStartWorkflowOperation(
        wf.GroupConnectionWorkflow.run,
        run_input,
        id=workflow_id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=wf.search_attributes(run_input),
    )
    try:
        await temporal.execute_update_with_start_workflow(
            wf.GroupConnectionWorkflow.amend, amendment, start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == "ConnectionCompleted":
            raise ApiError(409, "the connection is completed; it cannot be retried") from exc
        raise ApiError(409, f"the retry was refused: {cause}") from exc
    except RPCError as exc:
        raise ApiError(503, f"the workflow service is unavailable: {exc.message}") from exc
    async with db.transaction() as session:
        return (await session.get(GroupConnection, connection_id)).as_contract()  # type: ignore[union-attr]
