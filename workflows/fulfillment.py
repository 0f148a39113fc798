"""GroupFulfillment: one long-lived loop per group that takes its member snapshots to the carriers.

The API stores a snapshot and signals the group's loop (signal-with-start) unless the loop was
signalled since its last build began (`store.members.needs_wake`): a burst costs a signal per
turn, not per snapshot, and lands in a handful of turns, not a workflow each. A turn:

1. asks the carriers how far they are with what was sent (when the polling interval is up);
2. builds the carrier transactions of every submitted snapshot of the group;
3. sends what is built, each transaction under an idempotency key made here.

Between turns the loop sleeps until a new snapshot arrives or the next poll is due; a build that
only new arrivals ask for also waits until `build_spacing` after the last build began, so a burst
is built in a few turns (`BUILD_SPACING`). The loop ends when nothing is waiting, unsent or with
a carrier. The history grows by a few events per turn, whatever the number of snapshots in it,
and holds ids and counts only: the people stay in PostgreSQL, where the activities read them.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow

from workflows import activity_refs
from workflows.common import BATCH_HEARTBEAT, STORE_RETRY, at, short_step

with workflow.unsafe.imports_passed_through():
    from domain.fulfillment import (
        BuildRequest,
        Built,
        KeyedTransaction,
        SendRequest,
        TrackRequest,
        transaction_key,
    )

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
# Runs before it ignored `Built.more` unless a snapshot arrived meanwhile: what the batch left
# stayed submitted (the fault suite's stuck snapshots after a worker kill).
BUILD_MORE = "build-what-the-batch-left"
# The turn's steps are short batches (`workflows.common.short_step`): run as local activities,
# the build first, then the send and the track too, a turn is one workflow task instead of one
# per step, each of which waited its turn in Temporal's queue (issue 23).
LOCAL_BUILD = "build-as-local-activity"
LOCAL_SEND_AND_TRACK = "send-and-track-as-local-activities"
# A transaction's idempotency key is derived from its id (`domain.fulfillment.transaction_key`).
KEYS_FROM_TRANSACTIONS = "keys-from-transaction-ids"
# While snapshots keep arriving, a group's builds start at least `FulfillmentInput.build_spacing`
# apart (from settings; this for runs started before it was one): what arrives meanwhile joins
# the next build. A platform posts a group's changes in bursts, and a turn costs about the same
# whatever it builds (a workflow task, its markers, the build's and the send's fixed
# statements): without the spacing, bench.snapshots took each group's burst a few snapshots at
# a time, turn after turn, and the engine spent 12% more CPU per transaction at 5,000 snapshots,
# 50% more at 1,500 (issue 23). The first build after a quiet spell starts at once.
BUILD_SPACING = timedelta(seconds=1)
SPACED_BUILDS = "builds-spaced-while-snapshots-arrive"


class FulfillmentInput(BaseModel):
    group_id: uuid.UUID
    # Carried over continue-as-new: snapshots signalled but not found stored yet (and since
    # when), and whether transactions are with a carrier.
    awaited: dict[uuid.UUID, datetime] = {}
    in_flight: int = 0
    poll_first: timedelta = POLL_FIRST
    build_spacing: timedelta = BUILD_SPACING


def summary(group_name: str) -> str:
    """The run's static summary in the Temporal UI (names, no member data)."""
    return f"Member changes of {group_name} to its carriers"


def workflow_id(group_id: uuid.UUID) -> str:
    return f"group-fulfillment/{group_id}"


@workflow.defn(name=WORKFLOW_NAME)
class GroupFulfillmentWorkflow:
    @workflow.init
    def __init__(self, input: FulfillmentInput) -> None:
        self._group_id = input.group_id
        self._poll_first = input.poll_first
        self._build_spacing = input.build_spacing
        self._arrivals: list[uuid.UUID] = []
        # Snapshots signalled but not found stored yet, and since when.
        self._awaited = dict(input.awaited)
        # The group's transactions with a carrier, not finished.
        self._in_flight = input.in_flight
        # Whether the next turn builds: a new run looks first, as it may follow a crash or
        # continue-as-new; later, a snapshot arrived or a carrier fault held a send back.
        self._build = True
        self._poll = input.poll_first
        self._next_poll = workflow.now()
        self._recheck = ARRIVAL_RECHECK
        # When this run's last build began (`_space_builds`).
        self._built_at: datetime | None = None

    @workflow.signal(name=SNAPSHOTS_STORED)
    def snapshots_stored(self, snapshot_ids: list[uuid.UUID]) -> None:
        """The API stored snapshots of the group (or is about to commit them)."""
        self._arrivals.extend(snapshot_ids)

    @workflow.run
    async def run(self, input: FulfillmentInput) -> None:
        """Turn until nothing is left (the run ends) or the history grows long (continue as
        new); `__init__` took the input."""
        for _ in range(TURNS_PER_RUN):
            more = await self._turn()
            if more or self._arrivals:
                continue
            if self._idle():
                # Nothing left: the run ends, and the next snapshot starts a new one. A signal
                # that comes while it ends is handled first.
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._arrivals:
                    return
                continue
            await self._sleep()
            if workflow.info().is_continue_as_new_suggested():
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        # The next run keeps this run's task timeout (`LOOP_TASK_TIMEOUT` when started by
        # `services.wakes`), whatever the server's default for a continued run.
        workflow.continue_as_new(self._carried_over(), task_timeout=workflow.info().task_timeout)

    async def _turn(self) -> bool:
        """Track, build, send (see the module docstring); True when more snapshots are
        submitted than one build takes."""
        await self._space_builds()
        self._take_arrivals()
        if self._in_flight and workflow.now() >= self._next_poll:
            await self._track()
        return await self._build_and_send() if self._build else False

    async def _space_builds(self) -> None:
        """Hold a build that only new arrivals ask for until `build_spacing` after the last
        one began (`BUILD_SPACING`); what arrives meanwhile is taken with them. A build already
        due (a batch left more, a carrier fault held a send back) is not held."""
        if self._build or not self._arrivals or self._built_at is None:
            return
        wait = self._built_at + self._build_spacing - workflow.now()
        if wait > timedelta(0) and workflow.patched(SPACED_BUILDS):
            await workflow.sleep(wait)

    def _idle(self) -> bool:
        """Nothing awaited, unsent or with a carrier."""
        return not (self._in_flight or self._awaited or self._build)

    def _take_arrivals(self) -> None:
        """Await the snapshots signalled since the last turn; any arrival means a build."""
        now = workflow.now()
        for snapshot_id in self._arrivals:
            self._awaited.setdefault(snapshot_id, now)
        if self._arrivals:
            self._recheck = ARRIVAL_RECHECK
        else:
            self._recheck = min(self._recheck * 2, RECHECK_MAX)
        self._build = self._build or bool(self._arrivals) or bool(self._awaited)
        self._arrivals.clear()

    async def _track(self) -> None:
        """Ask the carriers how far they are; poll less often while nothing finishes."""
        tracked = await short_step(
            activity_refs.FulfillmentActivities.track_transactions,
            TrackRequest(group_id=self._group_id),
            local=workflow.patched(LOCAL_SEND_AND_TRACK),
            start_to_close_timeout=BATCH_TIMEOUT,
            heartbeat_timeout=BATCH_HEARTBEAT,
            retry_policy=STORE_RETRY,
        )
        self._in_flight = tracked.in_flight
        if tracked.finished:
            self._poll = self._poll_first
        else:
            self._poll = min(self._poll * POLL_BACKOFF, POLL_MAX)
        self._next_poll = workflow.now() + self._poll

    async def _build_and_send(self) -> bool:
        """Build the transactions of the submitted snapshots and send what is unsent; True
        when more snapshots are submitted than one build takes."""
        built = await self._build_transactions()
        if built.unsent:
            await self._send(built.unsent)
        if built.more and workflow.patched(BUILD_MORE):
            # What this build left is built next turn: no signal brings it, as its intakes
            # found the wake on (one signal per build), so only this loop knows it is there.
            self._build = True
        return built.more

    async def _build_transactions(self) -> Built:
        self._built_at = workflow.now()
        built = await short_step(
            activity_refs.FulfillmentActivities.build_transactions,
            BuildRequest(group_id=self._group_id, awaited=sorted(self._awaited)),
            local=workflow.patched(LOCAL_BUILD),
            start_to_close_timeout=BATCH_TIMEOUT,
            heartbeat_timeout=BATCH_HEARTBEAT,
            retry_policy=STORE_RETRY,
        )
        for snapshot_id in built.stored:
            self._awaited.pop(snapshot_id, None)
        # Signalled but never committed: the API's transaction failed.
        cutoff = workflow.now() - SNAPSHOT_ARRIVAL
        self._awaited = {key: since for key, since in self._awaited.items() if since > cutoff}
        self._build = False
        self._in_flight = built.in_flight
        return built

    async def _send(self, unsent: list[uuid.UUID]) -> None:
        """Send, each under its transaction's key; what a carrier fault held back is built
        again."""
        keyed = workflow.patched(KEYS_FROM_TRANSACTIONS)
        sent = await short_step(
            activity_refs.FulfillmentActivities.send_transactions,
            SendRequest(
                group_id=self._group_id,
                transactions=[
                    KeyedTransaction(
                        transaction_id=transaction_id,
                        # Before the patch, drawn here: kept so that those runs replay.
                        idempotency_key=transaction_key(transaction_id)
                        if keyed
                        else str(workflow.uuid4()),
                    )
                    for transaction_id in unsent
                ],
            ),
            local=workflow.patched(LOCAL_SEND_AND_TRACK),
            start_to_close_timeout=BATCH_TIMEOUT,
            heartbeat_timeout=BATCH_HEARTBEAT,
            retry_policy=STORE_RETRY,
        )
        self._build = bool(sent.retry)
        if sent.sent:
            self._in_flight += sent.sent
            self._poll = self._poll_first
            self._next_poll = workflow.now() + self._poll

    async def _sleep(self) -> None:
        """Sleep until a snapshot arrives, or until the next poll, recheck or retry is due."""
        now = workflow.now()
        workflow.set_current_details(
            f"{self._in_flight} transaction(s) with the carriers, "
            f"{len(self._awaited)} snapshot(s) awaited\n\nWaits since {at(now)} for a new "
            f"snapshot, or until {at(now + self._next_wake())} to follow up at the carriers."
        )
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: bool(self._arrivals), timeout=self._next_wake())
        if self._build and not self._in_flight:
            self._poll = min(self._poll * POLL_BACKOFF, POLL_MAX)

    def _next_wake(self) -> timedelta:
        """How long to sleep unless a snapshot arrives: until the next poll, the next look for
        awaited snapshots, or the next attempt at sends a carrier fault held back."""
        waits = []
        if self._in_flight:
            waits.append(self._next_poll - workflow.now())
        if self._awaited:
            waits.append(self._recheck)
        if self._build:
            waits.append(self._poll)
        return max(min(waits), timedelta(milliseconds=100))

    def _carried_over(self) -> FulfillmentInput:
        """The next run's input: what is awaited (arrivals included) and with the carriers."""
        now = workflow.now()
        return FulfillmentInput(
            group_id=self._group_id,
            awaited={**self._awaited, **{s: now for s in self._arrivals}},
            in_flight=self._in_flight,
            poll_first=self._poll_first,
            build_spacing=self._build_spacing,
        )
