"""Waking a group's loops by signal-with-start: one `Wakes` per process, one method per loop.

Each call signals the group's loop, starting it if none runs. Intake wakes the fulfillment loop
only when it turned the group's wake row on (`store.members.needs_wake`), and holds that row until
it commits, so a group's calls never overlap and a burst of snapshots costs one call per build of
the loop, not one per snapshot. The fulfillment activities wake the confirmation loop when a
carrier completed a transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from temporalio.client import Client

from runtime.settings import Settings
from workflows import confirmation as confirmation_wf
from workflows import fulfillment as fulfillment_wf
from workflows.common import LOOP_TASK_TIMEOUT


class Wakes:
    """One per process: the Temporal client and the loops' settings."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._task_queue = settings.task_queue
        self._poll_first = settings.member_transaction_poll_first
        self._build_spacing = settings.member_snapshot_build_spacing

    async def fulfillment(
        self,
        group_id: uuid.UUID,
        snapshot_ids: Sequence[uuid.UUID],
        *,
        group_name: str | None = None,
    ) -> None:
        """Return once the group's fulfillment loop has been signalled with `snapshot_ids`; raise
        what the call raised otherwise (the caller's transaction then rolls back: nothing is
        kept)."""
        await self._client.start_workflow(
            fulfillment_wf.GroupFulfillmentWorkflow.run,
            fulfillment_wf.FulfillmentInput(
                group_id=group_id,
                poll_first=self._poll_first,
                build_spacing=self._build_spacing,
            ),
            id=fulfillment_wf.workflow_id(group_id),
            task_queue=self._task_queue,
            start_signal=fulfillment_wf.SNAPSHOTS_STORED,
            start_signal_args=[list(snapshot_ids)],
            task_timeout=LOOP_TASK_TIMEOUT,
            static_summary=fulfillment_wf.summary(group_name or str(group_id)),
        )

    async def confirmations(self, group_id: uuid.UUID, *, group_name: str | None = None) -> None:
        """Signal the group's confirmation loop that a transaction is due."""
        await self._client.start_workflow(
            confirmation_wf.GroupConfirmationsWorkflow.run,
            confirmation_wf.GroupConfirmationsInput(group_id=group_id),
            id=confirmation_wf.workflow_id(group_id),
            task_queue=self._task_queue,
            start_signal=confirmation_wf.WAKE,
            task_timeout=LOOP_TASK_TIMEOUT,
            static_summary=confirmation_wf.summary(group_name or str(group_id)),
        )
