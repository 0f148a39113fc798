"""Telling a group's fulfillment loop that a snapshot is stored (starting the loop if none runs).

Intake calls this only when it turned the group's wake row on (`store.members.needs_wake`), and
holds that row until it commits, so a group's calls never overlap and a burst of snapshots costs
one call per build of the loop, not one per snapshot.
"""

from __future__ import annotations

import uuid

from temporalio.client import Client

from runtime.settings import Settings
from workflows import fulfillment as wf


class FulfillmentSignals:
    """One per API process: the Temporal client and the loop's settings."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._task_queue = settings.task_queue
        self._poll_first = settings.member_transaction_poll_first

    async def snapshot_stored(self, group_id: uuid.UUID, snapshot_id: uuid.UUID) -> None:
        """Return once the group's loop has been signalled with `snapshot_id`; raise what the
        call raised otherwise (the caller's transaction then rolls back: nothing is kept)."""
        await self._client.start_workflow(
            wf.GroupFulfillmentWorkflow.run,
            wf.FulfillmentInput(group_id=group_id, poll_first=self._poll_first),
            id=wf.workflow_id(group_id),
            task_queue=self._task_queue,
            start_signal=wf.SNAPSHOTS_STORED,
            start_signal_args=[[snapshot_id]],
            static_summary=f"member changes of group {group_id} to its carriers",
        )
