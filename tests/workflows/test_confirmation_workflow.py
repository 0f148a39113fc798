"""GroupConfirmations against a mocked turn: durable timers to the next due date, wake-ups."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.confirmation import ConfirmationActivities
from domain.confirmation import ConfirmedTurn, DueCheck
from tests.workflows.fakes import fake_of, is_local_step
from workflows.common import LOOP_TASK_TIMEOUT
from workflows.confirmation import (
    TURNS_PER_RUN,
    WAKE,
    GroupConfirmationsInput,
    GroupConfirmationsWorkflow,
    workflow_id,
)


@dataclass
class FakeTurns:
    """Pending due dates of one group; each turn confirms those due and names the next."""

    due: list[datetime] = field(default_factory=list)
    turns: list[datetime] = field(default_factory=list)
    confirmed: int = 0

    @fake_of(ConfirmationActivities.confirm_due)
    async def confirm_due(self, check: DueCheck) -> ConfirmedTurn:
        self.turns.append(check.now)
        now_due = [d for d in self.due if d <= check.now]
        self.due = [d for d in self.due if d > check.now]
        self.confirmed += len(now_due)
        return ConfirmedTurn(confirmed=len(now_due), next_due=min(self.due, default=None))


@pytest.fixture
async def turns(env: WorkflowEnvironment) -> AsyncIterator[tuple[Client, str, FakeTurns]]:
    fake = FakeTurns()
    queue = f"confirmations-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[GroupConfirmationsWorkflow],
        activities=[fake.confirm_due],
    ):
        yield env.client, queue, fake


async def test_due_dates_months_apart_are_durable_timers_not_polls(
    env: WorkflowEnvironment, turns: tuple[Client, str, FakeTurns]
) -> None:
    client, queue, fake = turns
    now = await env.get_current_time()
    due = [now, now + timedelta(days=30), now + timedelta(days=90)]
    fake.due = list(due)
    group = uuid.uuid4()

    handle = await client.start_workflow(
        GroupConfirmationsWorkflow.run,
        GroupConfirmationsInput(group_id=group),
        id=workflow_id(group),
        task_queue=queue,
    )
    await handle.result()

    assert fake.confirmed == 3
    # One turn now, one per due date, then nothing pending ends the run.
    assert len(fake.turns) == 3
    # Each turn ran once its date had come, not before (and not days later).
    for turn, date in zip(fake.turns, due, strict=True):
        assert date <= turn < date + timedelta(minutes=1)
    history = await handle.fetch_history()
    timers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    assert len(timers) == 2


async def test_a_wake_signal_runs_a_turn_before_the_next_due_date(
    env: WorkflowEnvironment, turns: tuple[Client, str, FakeTurns]
) -> None:
    client, queue, fake = turns
    now = await env.get_current_time()
    fake.due = [now + timedelta(days=60)]
    group = uuid.uuid4()
    handle = await client.start_workflow(
        GroupConfirmationsWorkflow.run,
        GroupConfirmationsInput(group_id=group),
        id=workflow_id(group),
        task_queue=queue,
        start_signal=WAKE,
    )

    # A new transaction due at once arrives while the loop sleeps toward day 60.
    fake.due.append(now)
    await handle.signal(GroupConfirmationsWorkflow.wake)
    await handle.result()

    assert fake.confirmed == 2
    assert len(fake.turns) >= 3
    assert fake.turns[1] - now < timedelta(days=1)


async def test_a_loop_continues_as_new_after_a_run_of_turns_and_confirms_the_rest(
    env: WorkflowEnvironment, turns: tuple[Client, str, FakeTurns]
) -> None:
    client, queue, fake = turns
    now = await env.get_current_time()
    # An effective date on each of more days than one run takes turns.
    fake.due = [now + timedelta(days=day) for day in range(TURNS_PER_RUN + 3)]
    group = uuid.uuid4()
    handle = await client.start_workflow(
        GroupConfirmationsWorkflow.run,
        GroupConfirmationsInput(group_id=group),
        id=workflow_id(group),
        task_queue=queue,
        start_signal=WAKE,
        task_timeout=LOOP_TASK_TIMEOUT,
    )
    await handle.result()

    assert fake.confirmed == TURNS_PER_RUN + 3
    # The continued run keeps the loop's task timeout.
    last = await client.get_workflow_handle(handle.id).fetch_history()
    started = last.events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id
    assert started.workflow_task_timeout.ToTimedelta() == LOOP_TASK_TIMEOUT
    first = await client.get_workflow_handle(handle.id, run_id=handle.result_run_id).fetch_history()
    kinds = [e.event_type for e in first.events]
    # One check per turn, each a local activity's marker (no activity task).
    checks = [e for e in first.events if is_local_step(e)]
    assert len(checks) == TURNS_PER_RUN
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
