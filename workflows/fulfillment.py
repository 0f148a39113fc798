"""GroupFulfillment: one long-lived loop per group that takes its member snapshots to the carriers.

The API stores a snapshot and signals the group's loop (signal-with-start) unless the loop was
signalled since its last build began (`store.members.needs_wake`): a burst costs a signal per
turn, not per snapshot, and lands in a handful of turns, not a workflow each. A turn:

1. asks the carriers how far they are with what was sent (when the polling interval is up);
2. builds the carrier transactions of every submitted snapshot of the group;
3. sends what is built, each transaction under an idempotency key made here.

Then the loop sleeps until a new snapshot arrives or the next poll is due, and it ends when
nothing is waiting, unsent or with a carrier. The history grows by a few events per turn,
whatever the number of snapshots in it, and holds ids and counts only: the people stay in
PostgreSQL, where the activities read them.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow

from workflows import activity_refs
from workflows.common import BATCH_HEARTBEAT, STORE_RETRY

WORKFLOW_NAME = "GroupFulfillment"
SNAPSHOTS_STORED = "snapshots_stored"

# The API stores the snapshot and signals in one database transaction: the signal can come
# before the commit. A snapshot signalled but not found is looked for again, for this long;
# after that its commit failed and there is nothing to send.
SNAPSHOT_ARRIVAL = timedelta(minutes=2)
ARRIVAL_RECHECK = timedelta(seconds=1)  # doubling while the snapshot is not found
RECHECK_MAX = timedelta(seconds=30)
# Following transactions at the carrier: soon after a send (`FulfillmentInput.poll_first`, from
# settings), then less often while nothing moves. Managed changes take business days.
POLL_FIRST = timedelta(seconds=1)  # what runs started before it was a setting use
POLL_BACKOFF = 1.5
POLL_MAX = timedelta(minutes=10)
# A turn's activities work on batches; a slow carrier or a big burst needs room. Each is safe
# to repeat: a retry starts over with what is still to do.
BATCH_TIMEOUT = timedelta(minutes=5)
TURNS_PER_RUN = 500


class FulfillmentInput(BaseModel):
    group_id: uuid.UUID
    # Carried over continue-as-new: snapshots signalled but not found stored yet (and since
    # when), and whether transactions are with a carrier.
    awaited: dict[uuid.UUID, datetime] = {}
    in_flight: int = 0
    poll_first: timedelta = POLL_FIRST


class BuildRequest(BaseModel):
    group_id: uuid.UUID
    awaited: list[uuid.UUID]


class Built(BaseModel):
    # The group's transactions not yet with their carrier (new ones and earlier leftovers).
    unsent: list[uuid.UUID]
    # Which of the awaited snapshots are stored.
    stored: list[uuid.UUID]
    # The group's transactions with a carrier, not finished.
    in_flight: int
    # More submitted snapshots than one batch: build again at once.
    more: bool


class KeyedTransaction(BaseModel):
    transaction_id: uuid.UUID
    idempotency_key: str


class SendRequest(BaseModel):
    group_id: uuid.UUID
    transactions: list[KeyedTransaction]


class Sent(BaseModel):
    # With the carrier now (sent by this attempt or an earlier one), not finished.
    sent: int
    # Not sent for a carrier fault (down, timed out): sent again next turn, under the key
    # stored with the first attempt.
    retry: list[uuid.UUID]


class TrackRequest(BaseModel):
    group_id: uuid.UUID


class Tracked(BaseModel):
    in_flight: int
    finished: int


def workflow_id(group_id: uuid.UUID) -> str:
    return f"group-fulfillment/{group_id}"


@workflow.defn(name=WORKFLOW_NAME)
class GroupFulfillmentWorkflow:
    def __init__(self) -> None:
        self._arrivals: list[uuid.UUID] = []

    @workflow.signal(name=SNAPSHOTS_STORED)
    def snapshots_stored(self, snapshot_ids: list[uuid.UUID]) -> None:
        """The API stored snapshots of the group (or is about to commit them)."""
        self._arrivals.extend(snapshot_ids)

    @workflow.run
    async def run(self, input: FulfillmentInput) -> None:
        group = input.group_id
        awaited = dict(input.awaited)
        in_flight = input.in_flight
        build = True  # a new run looks first: it may follow a crash or continue-as-new
        poll_first = input.poll_first
        poll = poll_first
        next_poll = workflow.now()
        recheck = ARRIVAL_RECHECK
        for _ in range(TURNS_PER_RUN):
            now = workflow.now()
            for snapshot_id in self._arrivals:
                awaited.setdefault(snapshot_id, now)
            recheck = ARRIVAL_RECHECK if self._arrivals else min(recheck * 2, RECHECK_MAX)
            build = build or bool(self._arrivals) or bool(awaited)
            self._arrivals.clear()

            if in_flight and now >= next_poll:
                tracked = await workflow.execute_activity_method(
                    activity_refs.FulfillmentActivities.track_transactions,
                    TrackRequest(group_id=group),
                    start_to_close_timeout=BATCH_TIMEOUT,
                    heartbeat_timeout=BATCH_HEARTBEAT,
                    retry_policy=STORE_RETRY,
                )
                in_flight = tracked.in_flight
                poll = poll_first if tracked.finished else min(poll * POLL_BACKOFF, POLL_MAX)
                next_poll = workflow.now() + poll

            more = False
            if build:
                built = await workflow.execute_activity_method(
                    activity_refs.FulfillmentActivities.build_transactions,
                    BuildRequest(group_id=group, awaited=sorted(awaited)),
                    start_to_close_timeout=BATCH_TIMEOUT,
                    heartbeat_timeout=BATCH_HEARTBEAT,
                    retry_policy=STORE_RETRY,
                )
                for snapshot_id in built.stored:
                    awaited.pop(snapshot_id, None)
                # Signalled but never committed: the API's transaction failed.
                cutoff = workflow.now() - SNAPSHOT_ARRIVAL
                awaited = {key: since for key, since in awaited.items() if since > cutoff}
                more = built.more
                build = False
                in_flight = built.in_flight
                if built.unsent:
                    # Made once per attempt to send; the first one sent is stored with the
                    # transaction, and every later send of it reuses that one.
                    sent = await workflow.execute_activity_method(
                        activity_refs.FulfillmentActivities.send_transactions,
                        SendRequest(
                            group_id=group,
                            transactions=[
                                KeyedTransaction(
                                    transaction_id=transaction_id,
                                    idempotency_key=str(workflow.uuid4()),
                                )
                                for transaction_id in built.unsent
                            ],
                        ),
                        start_to_close_timeout=BATCH_TIMEOUT,
                        heartbeat_timeout=BATCH_HEARTBEAT,
                        retry_policy=STORE_RETRY,
                    )
                    build = bool(sent.retry)
                    if sent.sent:
                        in_flight += sent.sent
                        poll = poll_first
                        next_poll = workflow.now() + poll

            if more or self._arrivals:
                continue
            if not (in_flight or awaited or build):
                # Nothing left: the run ends, and the next snapshot starts a new one. A signal
                # that comes while it ends is handled first.
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._arrivals:
                    return
                continue
            wake = self._next_wake(in_flight, next_poll, recheck if awaited else None, build, poll)
            workflow.set_current_details(
                f"{in_flight} transaction(s) with the carriers, {len(awaited)} snapshot(s) awaited"
            )
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: bool(self._arrivals), timeout=wake)
            if build and not in_flight:
                poll = min(poll * POLL_BACKOFF, POLL_MAX)
            if workflow.info().is_continue_as_new_suggested():
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            FulfillmentInput(
                group_id=group,
                awaited={**awaited, **{s: workflow.now() for s in self._arrivals}},
                in_flight=in_flight,
                poll_first=poll_first,
            )
        )

    @staticmethod
    def _next_wake(
        in_flight: int,
        next_poll: datetime,
        recheck: timedelta | None,
        retry: bool,
        poll: timedelta,
    ) -> timedelta:
        """How long to sleep unless a snapshot arrives: until the next poll, the next look for
        awaited snapshots, or the next attempt at sends a carrier fault held back."""
        waits = []
        if in_flight:
            waits.append(next_poll - workflow.now())
        if recheck is not None:
            waits.append(recheck)
        if retry:
            waits.append(poll)
        return max(min(waits), timedelta(milliseconds=100))
