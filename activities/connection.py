"""Activities of the connection lifecycle: carrier calls and status writes."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.refusals import refused
from carriers import CarrierAdapter, CarrierRejected
from domain.account import DataExchangeRegistration, GroupLookup
from domain.connections import (
    DataExchangeRequest,
    LookupRequest,
    StatusChange,
)
from store.db import Database
from store.models import Group, GroupConnection, unix_now
from store.versioning import save_version
from workflows import connection as names


class ConnectionActivities:
    def __init__(self, database: Database, adapters: dict[uuid.UUID, CarrierAdapter]) -> None:
        self._db = database
        self._adapters = adapters

    @activity.defn(name="record_connection_status")
    async def record_status(self, change: StatusChange) -> None:
        """Write a transition once: a retried or replayed write with an old seq is a no-op."""
        conn = change.connection
        async with self._db.transaction() as session:
            row = await session.get(GroupConnection, conn.connection_id, with_for_update=True)
            if row is None:
                # The API commits the row before the run is visible, but a crash between the
                # workflow start and that commit must not lose the request.
                row = await _recreate(session, change)
            if row.status_seq >= change.seq:
                return
            row.status = change.status.value
            row.status_seq = change.seq
            row.group_data = conn.group_data.contract()
            row.carrier_group_id = conn.group_data.carrier_group_id
            row.federal_ein = conn.federal_ein
            row.request_type = conn.request_type
            row.setup_result = change.setup_result
            if change.completed:
                row.completed = unix_now()
            await save_version(session, row)

    @activity.defn(name="lookup_carrier_group")
    async def lookup_group(self, request: LookupRequest) -> GroupLookup:
        try:
            return await self._adapters[request.carrier_id].lookup_group(
                request.carrier_group_id, broker_federal_ein=request.broker_federal_ein
            )
        except CarrierRejected as exc:
            raise refused(exc) from exc

    @activity.defn(name="register_data_exchange")
    async def register_data_exchange(
        self, request: DataExchangeRequest
    ) -> DataExchangeRegistration:
        try:
            return await self._adapters[request.carrier_id].register_data_exchange(
                request.carrier_group_id,
                platform_reference=request.platform_reference,
                idempotency_key=request.idempotency_key,
            )
        except CarrierRejected as exc:
            raise refused(exc) from exc


async def _recreate(session: AsyncSession, change: StatusChange) -> GroupConnection:
    conn = change.connection
    if await session.scalar(select(Group.id).where(Group.id == conn.group_id)) is None:
        group = Group(
            id=conn.group_id,
            organization_id=conn.organization_id,
            name=conn.group_data.group_name or conn.group_data.carrier_group_id,
            federal_ein=conn.federal_ein,
        )
        await save_version(session, group, is_new=True)
    row = GroupConnection(
        id=conn.connection_id,
        organization_id=conn.organization_id,
        group_id=conn.group_id,
        carrier_id=conn.carrier_id,
        carrier_group_id=conn.group_data.carrier_group_id,
        federal_ein=conn.federal_ein,
        request_type=conn.request_type,
        status=conn.status.value,
        group_data=conn.group_data.contract(),
        setup_result={},
        workflow_id=names.workflow_id(
            conn.organization_id, conn.carrier_id, conn.group_data.carrier_group_id
        ),
        status_seq=conn.status_seq,
    )
    await save_version(session, row, is_new=True)
    return row
