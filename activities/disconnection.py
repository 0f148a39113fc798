"""Activities of the disconnection lifecycle: status writes, checks, and the disconnection.

Each is a step of `services.disconnections`, run by the request's workflow.
"""

from __future__ import annotations

import uuid

from temporalio import activity
from temporalio.client import Client

from domain.disconnections import (
    CarrierEnded,
    CheckResult,
    DisconnectGroup,
    DisconnectionChange,
    RequestCheck,
)
from runtime.settings import Settings
from services import disconnections
from store.db import Database


class DisconnectionActivities:
    def __init__(self, database: Database, client: Client, settings: Settings) -> None:
        self._db = database
        self._client = client
        self._settings = settings

    @activity.defn(name="record_disconnection_status")
    async def record_status(self, change: DisconnectionChange) -> uuid.UUID:
        """Write the request's new state once (a retried write with an old seq is a no-op)."""
        return await disconnections.record_status(self._db, change)

    @activity.defn(name="check_disconnection_request")
    async def check_request(self, check: RequestCheck) -> CheckResult:
        """Is a platform's request for a connected group, with a plausible end date?"""
        return await disconnections.check_request(self._db, self._settings, check)

    @activity.defn(name="disconnect_group")
    async def disconnect_group(self, request: DisconnectGroup) -> None:
        """Mark the connection disconnected and pause its audits; safe to repeat."""
        await disconnections.disconnect_group(self._db, self._client, request)

    @activity.defn(name="raise_carrier_disconnection")
    async def raise_carrier_disconnection(self, ended: CarrierEnded) -> uuid.UUID | None:
        """The carrier ended the group: a `needs_review` request, once per reported end date.

        Returns the request's id, or None when there is nothing to raise (another request is
        open for the group and carrier, or the connection is gone).
        """
        return await disconnections.raise_carrier_disconnection(
            self._db, self._client, self._settings, ended
        )
