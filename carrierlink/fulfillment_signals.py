"""Telling a group's fulfillment loop that snapshots are stored: one call per group at a time.

A burst of snapshots for one group would otherwise be as many signal-with-start calls to one
workflow, which the Temporal server applies one after another (100 at once over 20 groups: about
0.7 s each on the dev server), while each POST holds its database transaction open. Here the
snapshots stored while a group's call is under way go together in the next call. Each caller
waits for the call that carries its snapshot, so an answered POST means the loop has been told,
and a failed call fails every POST it carried (their transactions roll back: nothing is kept).

Since intake signals only when the group's wake row was off (`store.members.needs_wake`), two
calls for one group no longer overlap: the one signalling intake holds the row until it commits,
and the next can signal only after a build has turned the row off again. The batching here is
then a second guard on the same property; it can go, with its tests, once nothing else calls it.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from temporalio.client import Client

from carrierlink.settings import Settings
from workflows import fulfillment as wf


def _future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass
class _Batch:
    snapshot_ids: list[uuid.UUID] = field(default_factory=list)
    sent: asyncio.Future[None] = field(default_factory=_future)


class FulfillmentSignals:
    """One per API process: it coalesces the signals of concurrent requests, per group."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._task_queue = settings.task_queue
        self._poll_first = settings.member_transaction_poll_first
        self._waiting: dict[uuid.UUID, _Batch] = {}
        self._senders: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def snapshot_stored(self, group_id: uuid.UUID, snapshot_id: uuid.UUID) -> None:
        """Return once the group's loop has been signalled with `snapshot_id` (started if
        none runs); raise what the call raised otherwise."""
        batch = self._waiting.setdefault(group_id, _Batch())
        batch.snapshot_ids.append(snapshot_id)
        if group_id not in self._senders:
            self._senders[group_id] = asyncio.create_task(self._send(group_id))
        # A caller that goes away (client disconnect) leaves the call to the others.
        await asyncio.shield(batch.sent)

    async def _send(self, group_id: uuid.UUID) -> None:
        try:
            while (batch := self._waiting.pop(group_id, None)) is not None:
                try:
                    await self._client.start_workflow(
                        wf.GroupFulfillmentWorkflow.run,
                        wf.FulfillmentInput(group_id=group_id, poll_first=self._poll_first),
                        id=wf.workflow_id(group_id),
                        task_queue=self._task_queue,
                        start_signal=wf.SNAPSHOTS_STORED,
                        start_signal_args=[batch.snapshot_ids],
                        static_summary=f"member changes of group {group_id} to its carriers",
                    )
                except Exception as exc:
                    batch.sent.set_exception(exc)
                    # Every waiter may have gone: the error is theirs, not the event loop's.
                    batch.sent.add_done_callback(lambda done: done.exception())
                else:
                    batch.sent.set_result(None)
        finally:
            del self._senders[group_id]
