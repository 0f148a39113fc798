"""GroupFulfillment against mocked batch activities: bursts, keys, carrier faults, late commits."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from tests.workflows.fakes import Rig, is_local_step
from workflows.fulfillment import (
    BUILD_SPACING,
    SNAPSHOT_ARRIVAL,
    SNAPSHOTS_STORED,
    FulfillmentInput,
    GroupFulfillmentWorkflow,
    workflow_id,
)

PRINCIPAL = uuid.UUID("d0003042-eaae-4491-b219-4825456a3d16")
UNUM = uuid.UUID("23054cd9-0a41-43e3-bd43-2d2138006536")


async def signal(
    rig: Rig, group_id: uuid.UUID, snapshot_id: uuid.UUID, **settings: Any
) -> WorkflowHandle[Any, Any]:
    """What the API does once it stored a snapshot: signal the group's loop, starting it."""
    return await rig.client.start_workflow(
        GroupFulfillmentWorkflow.run,
        FulfillmentInput(group_id=group_id, **settings),
        id=workflow_id(group_id),
        task_queue=rig.task_queue,
        start_signal=SNAPSHOTS_STORED,
        start_signal_args=[[snapshot_id]],
    )


async def test_a_burst_of_snapshots_is_sent_once_each_tracked_and_the_loop_ends(rig: Rig) -> None:
    group = uuid.uuid4()
    snapshots = [rig.snapshots.store(PRINCIPAL, UNUM) for _ in range(5)]

    handles = [await signal(rig, group, snapshot) for snapshot in snapshots]
    await handles[-1].result()

    transactions = rig.snapshots.transactions()
    assert len(transactions) == 10
    assert all(t.final == "completed" for t in transactions.values())
    # One send each, under keys the workflow made: never two alike.
    assert sorted(s.transaction_id for s in rig.snapshots.sends) == sorted(transactions)
    assert len({s.idempotency_key for s in rig.snapshots.sends}) == 10
    # The burst shares turns: far fewer steps than a workflow per snapshot would take (each
    # step a local activity's marker, or an ordinary activity).
    history = await handles[-1].fetch_history()
    steps = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED or is_local_step(e)
    ]
    assert 0 < len(steps) < len(transactions)


async def test_a_transaction_held_back_by_a_carrier_fault_is_sent_again_next_turn(
    rig: Rig,
) -> None:
    group = uuid.uuid4()
    rig.snapshots.faults = 2
    snapshot = rig.snapshots.store(PRINCIPAL)

    await (await signal(rig, group, snapshot)).result()

    (transaction,) = rig.snapshots.transactions().values()
    assert transaction.final == "completed"
    attempts = [s for s in rig.snapshots.sends if s.transaction_id == transaction.id]
    assert len(attempts) == 3
    # The carrier saw the first key every time (the activity stores it before sending).
    assert rig.snapshots.keys[transaction.id] == attempts[0].idempotency_key


async def test_a_refusal_ends_only_its_transaction_and_the_other_carrier_proceeds(
    rig: Rig,
) -> None:
    group = uuid.uuid4()
    snapshot = rig.snapshots.store(PRINCIPAL, UNUM)
    principal, unum = rig.snapshots.stored[snapshot]
    rig.snapshots.refused.add(principal.id)
    rig.snapshots.failed_at_carrier.add(unum.id)

    await (await signal(rig, group, snapshot)).result()

    assert principal.final == "failed"
    assert not principal.sent
    assert unum.final == "failed"
    assert unum.sent


async def test_polls_back_off_while_the_carrier_works(rig: Rig) -> None:
    group = uuid.uuid4()
    rig.snapshots.polls = 5
    snapshot = rig.snapshots.store(UNUM)

    await (await signal(rig, group, snapshot)).result()

    gaps = [
        (later - earlier).total_seconds()
        for earlier, later in zip(rig.snapshots.tracks, rig.snapshots.tracks[1:], strict=False)
    ]
    assert len(rig.snapshots.tracks) == 6
    assert gaps == sorted(gaps)
    assert gaps[-1] > gaps[0]


async def test_the_first_poll_waits_as_long_as_the_setting_says(rig: Rig) -> None:
    group = uuid.uuid4()
    rig.snapshots.polls = 1
    snapshot = rig.snapshots.store(UNUM)

    await (await signal(rig, group, snapshot, poll_first=timedelta(seconds=30))).result()

    (sent_at,) = rig.snapshots.sent_at
    first, second = rig.snapshots.tracks
    assert first - sent_at >= timedelta(seconds=30)
    # Nothing moved at the first look: the next one waits half as long again.
    assert second - first >= timedelta(seconds=45)


async def test_a_snapshot_signalled_before_its_commit_is_waited_for(rig: Rig) -> None:
    group = uuid.uuid4()
    late = uuid.uuid4()

    handle = await signal(rig, group, late)
    # The API's transaction commits after the signal: the first turn does not find it.
    await asyncio.wait_for(rig.snapshots.first_build.wait(), timeout=10)
    rig.snapshots.store(PRINCIPAL, snapshot_id=late)
    await handle.result()

    assert rig.snapshots.builds[0] == [late]
    assert len(rig.snapshots.builds) >= 2

    (transaction,) = rig.snapshots.transactions().values()
    assert transaction.final == "completed"


async def test_a_snapshot_never_committed_is_given_up_after_the_arrival_window(rig: Rig) -> None:
    group = uuid.uuid4()
    handle = await signal(rig, group, uuid.uuid4())
    await handle.result()

    events = (await handle.fetch_history()).events
    waited = events[-1].event_time.ToDatetime() - events[0].event_time.ToDatetime()
    assert SNAPSHOT_ARRIVAL <= waited < SNAPSHOT_ARRIVAL * 2
    assert rig.snapshots.sends == []


async def test_a_snapshot_stored_while_a_turn_runs_is_sent_in_the_next(rig: Rig) -> None:
    group = uuid.uuid4()
    first = rig.snapshots.store(UNUM)
    second = uuid.uuid4()

    async def another_arrives() -> None:
        rig.snapshots.store(PRINCIPAL, snapshot_id=second)
        await rig.client.get_workflow_handle(workflow_id(group)).signal(
            GroupFulfillmentWorkflow.snapshots_stored, [second]
        )

    rig.snapshots.during_send = another_arrives
    # Refused: nothing is left with a carrier when the turn ends, only the new arrival.
    rig.snapshots.refused.add(rig.snapshots.stored[first][0].id)
    # A workflow task that fails is retried for ever: a bug here hangs rather than fails.
    await asyncio.wait_for((await signal(rig, group, first)).result(), timeout=30)

    transactions = rig.snapshots.transactions()
    assert [t.final for t in transactions.values()] == ["failed", "completed"]
    assert [s.transaction_id for s in rig.snapshots.sends] == [
        rig.snapshots.stored[first][0].id,
        rig.snapshots.stored[second][0].id,
    ]


@pytest.mark.parametrize("spacing", [BUILD_SPACING, timedelta(0)], ids=["spaced", "unspaced"])
async def test_snapshots_arriving_during_a_turn_are_built_together_a_spacing_after_it(
    rig: Rig, spacing: timedelta
) -> None:
    """A platform posts a group's changes in a burst: the first snapshot is built at once,
    and the ones arriving while its turn runs wait until `build_spacing` after that build
    began, on a durable timer, and are built together. A spacing of 0 builds them at once."""
    group = uuid.uuid4()
    first = rig.snapshots.store(UNUM)
    later = [rig.snapshots.store(PRINCIPAL) for _ in range(3)]

    async def the_rest_arrive() -> None:
        handle = rig.client.get_workflow_handle(workflow_id(group))
        for snapshot_id in later:
            await handle.signal(GroupFulfillmentWorkflow.snapshots_stored, [snapshot_id])

    rig.snapshots.during_send = the_rest_arrive
    handle = await signal(rig, group, first, build_spacing=spacing)
    await asyncio.wait_for(handle.result(), timeout=30)

    assert rig.snapshots.builds == [[first], sorted(later)]
    apart = rig.snapshots.built_at[1] - rig.snapshots.built_at[0]
    if not spacing:
        assert apart < BUILD_SPACING
        return
    # The fake reads the test server's clock in the activity, a few ms after the workflow's
    # `now` that the spacing counts from.
    assert apart >= spacing * 0.9
    # The run's first timer is the spacing's (the polls' come after the second send): what
    # was left of it when the first turn ended.
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in (await handle.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    assert timedelta(0) < timers[0] <= spacing


async def test_snapshots_beyond_one_build_are_built_though_no_signal_brings_them(
    rig: Rig,
) -> None:
    """A burst stored while the worker was down wakes the loop once (the wake row lets one
    signal through per build): what one build leaves (`more`) must be built next turn, else
    it stays submitted for ever, as the fault suite found after a worker was killed."""
    group = uuid.uuid4()
    snapshots = [rig.snapshots.store(PRINCIPAL) for _ in range(5)]
    rig.snapshots.build_batch = 2

    await asyncio.wait_for((await signal(rig, group, snapshots[0])).result(), timeout=30)

    assert rig.snapshots.built == snapshots
    assert len(rig.snapshots.builds) >= 3
    assert all(t.final == "completed" for t in rig.snapshots.transactions().values())
