"""WebhookDelivery: turns until its subscription is gone, retried faults, bounded runs, and
turns on the deliveries' own task queue."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from domain.webhooks import TurnResult, delivery_queue
from tests.workflows.webhook_fakes import busy_turns, delivering
from workflows.webhooks import OWN_QUEUE_PATCH, TURN, TURNS_PER_RUN


async def test_the_loop_turns_until_its_subscription_is_gone(env: WorkflowEnvironment) -> None:
    async with delivering(env, [TurnResult(delivered=5), TurnResult(failed=2)]) as rig:
        subscription_id = uuid.uuid4()
        handle = await rig.start(subscription_id)
        await handle.result()
        turns = rig.deliveries.turns
        assert len(turns) == 3  # the third answered gone
        assert {t.subscription_id for t in turns} == {subscription_id}
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.COMPLETED
        assert description.id == f"webhook-delivery/{subscription_id}"
        # Each turn runs until a deadline the workflow set, a turn's length ahead.
        start = (await handle.describe()).start_time
        assert start is not None
        assert turns[0].until - start <= TURN + timedelta(seconds=5)


async def test_a_failed_turn_is_retried(env: WorkflowEnvironment) -> None:
    async with delivering(env, [RuntimeError("database unavailable"), TurnResult()]) as rig:
        handle = await rig.start(uuid.uuid4())
        await handle.result()
        assert len(rig.deliveries.turns) == 3


async def test_history_stays_bounded_by_continuing_as_new(env: WorkflowEnvironment) -> None:
    async with delivering(env, busy_turns(TURNS_PER_RUN + 5)) as rig:
        handle = await rig.start(uuid.uuid4())
        await handle.result()
        first = rig.env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
        history = await first.fetch_history()
        assert history.events[-1].event_type == (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        )
        # A handful of events per turn, whatever each turn delivered.
        assert len(history.events) < 7 * TURNS_PER_RUN + 10
        assert len(rig.deliveries.turns) == TURNS_PER_RUN + 6


async def test_turns_run_on_the_deliveries_own_task_queue(env: WorkflowEnvironment) -> None:
    """The rig's workflow worker registers no activity: only the worker polling
    `<queue>-webhooks` can complete a turn."""
    async with delivering(env, [TurnResult(delivered=1)]) as rig:
        handle = await rig.start(uuid.uuid4())
        await handle.result()
        assert len(rig.deliveries.turns) == 2
        history = await handle.fetch_history()
        scheduled = [
            event.activity_task_scheduled_event_attributes.task_queue.name
            for event in history.events
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        assert scheduled == [f"{rig.task_queue}-webhooks"] * 2
        assert delivery_queue(rig.task_queue) == f"{rig.task_queue}-webhooks"
        (marker,) = [
            event.marker_recorded_event_attributes
            for event in history.events
            if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        ]
        assert marker.marker_name == "core_patch"
        assert OWN_QUEUE_PATCH.encode() in marker.details["patch-data"].payloads[0].data
