"""Activities of the round-trip confirmation loop: one thin call of
`services.confirmation.Confirmation` per turn.
"""

from __future__ import annotations

import uuid

from temporalio import activity

from activities.heartbeat import heartbeats
from carriers import CarrierAdapter
from domain.confirmation import ConfirmedTurn, DueCheck
from services.confirmation import Confirmation
from store.db import Database

# Carrier reads in flight at once per worker, shared by the turns of every group: a burst of
# turns (every group's effective dates fall at midnight UTC; a restart wakes every loop) then
# waits here. Per turn, 100 groups would put 2,000 reads into the HTTP client's pool, whose
# connection timeout fails whole turns (retried from the start) and whose queue costs CPU per
# request; bench.confirmations measured the worker stalling on it at 10,000 transactions.
CONCURRENT_READS = 20


class ConfirmationActivities:
    def __init__(self, database: Database, adapters: dict[uuid.UUID, CarrierAdapter]) -> None:
        self._confirmation = Confirmation(database, adapters, concurrent_reads=CONCURRENT_READS)

    @activity.defn(name="confirm_due_transactions")
    @heartbeats
    async def confirm_due(self, check: DueCheck) -> ConfirmedTurn:
        """Confirm the group's transactions due by `check.now`; when is the next one due.

        A carrier fault on some reads does not waste the others: what was read is confirmed
        and kept, then the turn fails so its retry reads only what is still due.
        """
        return await self._confirmation.confirm_due(check)
