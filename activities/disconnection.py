"""Activities of the disconnection lifecycle: status writes, checks, and the disconnection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.client import Client

from domain.disconnections import (
    OPEN,
    CarrierEnded,
    CheckResult,
    DisconnectGroup,
    DisconnectionChange,
    DisconnectionStatus,
    RequestCheck,
    SourceType,
    platform_request_problem,
)
from runtime.settings import Settings
from services.audits import pause_audit_schedule
from services.disconnections import run_input, start_disconnection
from store.connections import live_connection, open_disconnection_request
from store.db import Database
from store.models import (
    Group,
    GroupConnection,
    GroupDisconnectionRequest,
    GroupEnrollment,
    unix_now,
)
from store.versioning import save_version
from workflows import disconnection as names


class DisconnectionActivities:
    def __init__(self, database: Database, client: Client, settings: Settings) -> None:
        self._db = database
        self._client = client
        self._settings = settings

    @activity.defn(name="record_disconnection_status")
    async def record_status(self, change: DisconnectionChange) -> uuid.UUID:
        """Write the request's new state once (a retried write with an old seq is a no-op)."""
        state = change.state
        async with self._db.transaction() as session:
            row = await session.get(
                GroupDisconnectionRequest, change.input.request_id, with_for_update=True
            )
            if row is None:
                # The API commits the row before it starts the run; this only repairs a loss.
                row = await _recreate(session, change)
            if row.status_seq >= change.seq:
                return row.version
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

    @activity.defn(name="check_disconnection_request")
    async def check_request(self, check: RequestCheck) -> CheckResult:
        """Is a platform's request for a connected group, with a plausible end date?"""
        async with self._db.transaction() as session:
            connection = await live_connection(session, check.group_id, check.carrier_id)
            coverage_start = await session.scalar(
                select(func.min(GroupEnrollment.effective_start_date)).where(
                    GroupEnrollment.group_id == check.group_id,
                    GroupEnrollment.carrier_id == check.carrier_id,
                )
            )
        return CheckResult(
            connection_id=connection.id if connection else None,
            problem=platform_request_problem(
                connected=connection is not None,
                coverage_start=coverage_start,
                effective_end_date=check.effective_end_date,
                today=datetime.now(UTC).date(),
                max_days_past=self._settings.disconnection_max_days_past,
            ),
        )

    @activity.defn(name="disconnect_group")
    async def disconnect_group(self, request: DisconnectGroup) -> None:
        """Mark the connection disconnected and pause its audits; safe to repeat."""
        async with self._db.transaction() as session:
            connection = (
                await session.get(GroupConnection, request.connection_id, with_for_update=True)
                if request.connection_id
                else await live_connection(session, request.group_id, request.carrier_id)
            )
            if connection is None:
                return
            if connection.disconnected is None:
                connection.disconnected = unix_now()
                await save_version(session, connection)
            carrier_group_id = connection.carrier_group_id
        await pause_audit_schedule(
            self._client,
            carrier_id=request.carrier_id,
            carrier_group_id=carrier_group_id,
            group_id=request.group_id,
            note=f"disconnected by request {request.request_id}",
        )

    @activity.defn(name="raise_carrier_disconnection")
    async def raise_carrier_disconnection(self, ended: CarrierEnded) -> uuid.UUID | None:
        """The carrier ended the group: a `needs_review` request, once per reported end date.

        Returns the request's id, or None when there is nothing to raise (another request is
        open for the group and carrier, or the connection is gone).
        """
        request_id = ended.request_id()
        try:
            async with self._db.transaction() as session:
                row = await session.get(GroupDisconnectionRequest, request_id)
                if row is None:
                    row = await self._new_carrier_request(session, ended, request_id)
                    if row is None:
                        return None
        except IntegrityError:
            return None  # a request was opened for the group and carrier meanwhile
        if DisconnectionStatus(row.status) in OPEN:
            # Started here (not by the caller's workflow) so a repeat of this activity after a
            # crash still starts it; an already running request is left as it is.
            await start_disconnection(self._client, self._settings, run_input(row))
        return row.id

    async def _new_carrier_request(
        self, session: AsyncSession, ended: CarrierEnded, request_id: uuid.UUID
    ) -> GroupDisconnectionRequest | None:
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
            workflow_id=names.workflow_id(request_id),
            status_seq=0,
        )
        await save_version(session, row, is_new=True)
        return row


async def _recreate(
    session: AsyncSession, change: DisconnectionChange
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
        workflow_id=names.workflow_id(input.request_id),
        status_seq=input.status_seq,
    )
    await save_version(session, row, is_new=True)
    return row
