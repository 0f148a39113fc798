"""Activities of the group fulfillment loop: build carrier transactions, send them, follow them.

Each is a thin call of `services.fulfillment.Fulfillment`, which works on a batch of the group,
takes and returns ids and counts only, and is safe to repeat.
"""

from __future__ import annotations

import uuid

from temporalio import activity
from temporalio.client import Client

from activities.heartbeat import heartbeats
from carriers import CarrierAdapter
from domain.fulfillment import (
    BuildRequest,
    Built,
    SendRequest,
    Sent,
    Tracked,
    TrackRequest,
)
from runtime.settings import Settings
from services.fulfillment import Fulfillment
from services.wakes import Wakes
from store.db import Database

# Carrier calls in flight at once across the worker (sends and status reads).
CARRIER_CALLS = 50


class FulfillmentActivities:
    """The loop's activities, over one `Fulfillment` per worker."""

    def __init__(
        self,
        database: Database,
        adapters: dict[uuid.UUID, CarrierAdapter],
        client: Client,
        settings: Settings,
    ) -> None:
        self._fulfillment = Fulfillment(
            database, adapters, Wakes(client, settings), carrier_calls=CARRIER_CALLS
        )

    @activity.defn(name="build_member_transactions")
    @heartbeats
    async def build_transactions(self, request: BuildRequest) -> Built:
        """Build the transactions of the group's submitted snapshots, oldest first; answer what
        of the group is still to send."""
        return await self._fulfillment.build(request)

    @activity.defn(name="send_member_transactions")
    @heartbeats
    async def send_transactions(self, request: SendRequest) -> Sent:
        """Send each transaction once, under the idempotency key stored with its first attempt
        (see `Fulfillment.send`)."""
        return await self._fulfillment.send(request)

    @activity.defn(name="track_member_transactions")
    @heartbeats
    async def track_transactions(self, request: TrackRequest) -> Tracked:
        """Ask the carriers once how far they are with each of the group's transactions they
        have; record what is new. Completed ones go to the group's confirmation loop."""
        return await self._fulfillment.track(request)
