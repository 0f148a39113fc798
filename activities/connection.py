"""Activities of the connection lifecycle: carrier calls and status writes."""

from __future__ import annotations

import uuid

from temporalio import activity

from activities.refusals import refused
from carriers import CarrierAdapter, CarrierRejected
from domain.account import DataExchangeRegistration, GroupLookup
from domain.connections import (
    DataExchangeRequest,
    LookupRequest,
    StatusChange,
)
from services import connections
from store.db import Database


class ConnectionActivities:
    def __init__(self, database: Database, adapters: dict[uuid.UUID, CarrierAdapter]) -> None:
        self._db = database
        self._adapters = adapters

    @activity.defn(name="record_connection_status")
    async def record_status(self, change: StatusChange) -> None:
        """Write a transition once: a retried or replayed write with an old seq is a no-op."""
        await connections.record_status(self._db, change)

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
