"""Disconnection requests in PostgreSQL: create, record a run's status, take back, disconnect."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.disconnections import (
    CarrierEnded,
    DisconnectionChange,
    DisconnectionStatus,
    SourceType,
)
from domain.overdue import OverdueFilter
from store.connections import live_connection, open_disconnection_request
from store.db import NO_KEY_UPDATE
from store.group_data import Contains
from store.models import (
    Group,
    GroupConnection,
    GroupDisconnectionRequest,
    GroupEnrollment,
    RecordVersion,
    unix_now,
)
from store.overdue import filter_condition
from store.versioning import save_version


async def add_platform_request(
    session: AsyncSession,
    group: Group,
    *,
    carrier_id: uuid.UUID,
    effective_end_date: date | None,
    reason: str | None,
    context: str | None,
    workflow_id: str,
    request_id: uuid.UUID,
) -> GroupDisconnectionRequest:
    """A platform's new request, `processing` (a raced twin fails on the unique index)."""
    row = GroupDisconnectionRequest(
        id=request_id,
        organization_id=group.organization_id,
        group_id=group.id,
        carrier_id=carrier_id,
        group_name=group.name,
        source_type=SourceType.PLATFORM.value,
        status=DisconnectionStatus.PROCESSING.value,
        effective_end_date=effective_end_date,
        reason=reason,
        context=context,
        workflow_id=workflow_id,
        status_seq=0,
    )
    await save_version(session, row, is_new=True)
    return row


async def discard_request(session: AsyncSession, request_id: uuid.UUID) -> None:
    """Take back a request nothing will process (its run could not start), with its history."""
    await session.execute(delete(RecordVersion).where(RecordVersion.record_id == request_id))
    await session.execute(
        delete(GroupDisconnectionRequest).where(GroupDisconnectionRequest.id == request_id)
    )


async def record_status(
    session: AsyncSession, change: DisconnectionChange, *, workflow_id: str
) -> uuid.UUID:
    """Write the request's new state once (a retried write with an old seq is a no-op); the
    request's version after it. `workflow_id` is the run's, should the row need recreating."""
    state = change.state
    row = await session.get(
        GroupDisconnectionRequest, change.input.request_id, with_for_update=NO_KEY_UPDATE
    )
    if row is None:
        # The API commits the row before it starts the run; this only repairs a loss.
        row = await _recreate(session, change, workflow_id)
    if row.status_seq >= change.seq:
        return row.version
    if row.status != state.status.value:
        row.status_changed = unix_now()
    row.status = state.status.value
    row.effective_end_date = state.effective_end_date
    row.reason = state.reason
    row.context = state.context
    row.status_reason = state.status_reason
    row.connection_id = change.input.connection_id or row.connection_id
    row.status_seq = change.seq
    if change.decided:
        row.decided = unix_now()
    if change.completed:
        row.completed = unix_now()
    await save_version(session, row)
    return row.version


async def _recreate(
    session: AsyncSession, change: DisconnectionChange, workflow_id: str
) -> GroupDisconnectionRequest:
    input = change.input
    group = await session.get(Group, input.group_id)
    row = GroupDisconnectionRequest(
        id=input.request_id,
        organization_id=input.organization_id,
        group_id=input.group_id,
        carrier_id=input.carrier_id,
        connection_id=input.connection_id,
        group_name=group.name if group else "",
        source_type=input.source_type.value,
        source_id=input.source_id,
        status=input.state.status.value,
        effective_end_date=input.state.effective_end_date,
        reason=input.state.reason,
        context=input.state.context,
        workflow_id=workflow_id,
        status_seq=input.status_seq,
    )
    await save_version(session, row, is_new=True)
    return row


async def coverage_start(
    session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID
) -> date | None:
    """The earliest start of the group's enrollments with the carrier, if it has any."""
    start: date | None = await session.scalar(
        select(func.min(GroupEnrollment.effective_start_date)).where(
            GroupEnrollment.group_id == group_id,
            GroupEnrollment.carrier_id == carrier_id,
        )
    )
    return start


async def mark_disconnected(
    session: AsyncSession,
    *,
    connection_id: uuid.UUID | None,
    group_id: uuid.UUID,
    carrier_id: uuid.UUID,
) -> GroupConnection | None:
    """Mark the connection (by id, else the group's live one to the carrier) disconnected, once;
    None when there is no such connection."""
    connection = (
        await session.get(GroupConnection, connection_id, with_for_update=NO_KEY_UPDATE)
        if connection_id
        else await live_connection(session, group_id, carrier_id)
    )
    if connection is None:
        return None
    if connection.disconnected is None:
        connection.disconnected = unix_now()
        await save_version(session, connection)
    return connection


async def add_carrier_request(
    session: AsyncSession, ended: CarrierEnded, request_id: uuid.UUID, workflow_id: str
) -> GroupDisconnectionRequest | None:
    """A `needs_review` request for the carrier's end of the group; None when another request is
    open for the group and carrier or the connection is gone."""
    open_request = await open_disconnection_request(session, ended.group_id, ended.carrier_id)
    connection = await session.get(GroupConnection, ended.connection_id)
    if open_request is not None or connection is None or connection.disconnected is not None:
        return None
    group = await session.get(Group, ended.group_id)
    assert group is not None
    row = GroupDisconnectionRequest(
        id=request_id,
        organization_id=ended.organization_id,
        group_id=ended.group_id,
        carrier_id=ended.carrier_id,
        connection_id=ended.connection_id,
        group_name=group.name,
        source_type=SourceType.CARRIER.value,
        source_id=ended.audit_id,
        source_date=datetime.now(UTC).date(),
        status=DisconnectionStatus.NEEDS_REVIEW.value,
        effective_end_date=ended.coverage_end_date,
        workflow_id=workflow_id,
        status_seq=0,
    )
    await save_version(session, row, is_new=True)
    return row


def request_conditions(
    organization_id: uuid.UUID,
    *,
    statuses: Sequence[str] = (),
    carrier_ids: Sequence[uuid.UUID] = (),
    earliest_end: date | None = None,
    latest_end: date | None = None,
    search: str | None = None,
    source_types: Sequence[str] = (),
    ids: Sequence[uuid.UUID] = (),
    group_ids: Sequence[uuid.UUID] = (),
    overdue: OverdueFilter | None = None,
) -> list[ColumnElement[bool]]:
    """The organization's requests matching every filter given (`search`: part of the group
    name, any case)."""
    request = GroupDisconnectionRequest
    conditions = [request.organization_id == organization_id]
    if statuses:
        conditions.append(request.status.in_(statuses))
    if carrier_ids:
        conditions.append(request.carrier_id.in_(carrier_ids))
    if earliest_end is not None:
        conditions.append(request.effective_end_date >= earliest_end)
    if latest_end is not None:
        conditions.append(request.effective_end_date <= latest_end)
    if search:
        conditions.append(Contains(("group_name",), search).condition(request))
    if source_types:
        conditions.append(request.source_type.in_(source_types))
    if ids:
        conditions.append(request.id.in_(ids))
    if group_ids:
        conditions.append(request.group_id.in_(group_ids))
    if overdue is not None:
        conditions.append(filter_condition(request, overdue))
    return conditions
