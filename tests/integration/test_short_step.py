"""`workflows.common.short_step`: a step runs locally, is handed to an ordinary activity once the
local one gives up, and a refusal reaches the caller as an ActivityError either way.

On the real dev server: the time-skipping test server's clock is not the worker's, and a local
activity's schedule-to-close deadline, which the worker keeps, never passes against it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.workflows.fakes import LOCAL_ACTIVITY_MARKER, is_local_step
from workflows import common
from workflows.common import CARRIER_RETRY, STORE_RETRY, local_attempts, short_step

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=1.0,
    non_retryable_error_types=["Refused"],
)


@dataclass
class Step:
    """The step's behaviour: `fail_locally` fails every local attempt (the database down for
    the worker's local runs), `refuse` refuses the input for good."""

    fail_locally: bool = False
    refuse: bool = False
    runs: list[bool] = field(default_factory=list)  # is_local, per attempt

    @activity.defn(name="short_step_under_test")
    async def run(self, value: str) -> str:
        local = activity.info().is_local
        self.runs.append(local)
        if self.refuse:
            raise ApplicationError("not this one", type="Refused")
        if self.fail_locally and local:
            raise RuntimeError("unavailable")
        return f"{value} ({'local' if local else 'ordinary'})"


@workflow.defn(name="ShortStepUnderTest", sandboxed=False)
class ShortStepWorkflow:
    @workflow.run
    async def run(self, value: str) -> str:
        try:
            return await short_step(
                Step.run,
                value,
                local=True,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            assert isinstance(cause, ApplicationError)
            return f"refused: {cause.type}: {cause.message}"


@pytest.fixture
async def step(client: Client, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Step, str]]:
    # A local step gives up after 2 s here (a minute in production).
    monkeypatch.setattr(common, "LOCAL_STEP_LIMIT", timedelta(seconds=2))
    fake = Step()
    queue = f"short-step-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ShortStepWorkflow],
        activities=[fake.run],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        yield fake, queue


async def run(client: Client, queue: str) -> tuple[str, list[object]]:
    handle: WorkflowHandle[ShortStepWorkflow, str] = await client.start_workflow(
        ShortStepWorkflow.run, "step", id=f"short-step-{uuid.uuid4()}", task_queue=queue
    )
    result = await handle.result()
    events = (await handle.fetch_history()).events
    kinds: list[object] = [
        LOCAL_ACTIVITY_MARKER if is_local_step(e) else e.event_type for e in events
    ]
    return result, kinds


async def test_a_step_runs_locally_with_no_activity_task(
    client: Client, step: tuple[Step, str]
) -> None:
    fake, queue = step
    result, kinds = await run(client, queue)
    assert result == "step (local)"
    assert fake.runs == [True]
    assert kinds.count(LOCAL_ACTIVITY_MARKER) == 1
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds


async def test_a_local_step_that_keeps_failing_is_handed_to_an_ordinary_activity(
    client: Client, step: tuple[Step, str]
) -> None:
    fake, queue = step
    fake.fail_locally = True
    result, kinds = await run(client, queue)
    assert result == "step (ordinary)"
    # Attempts 1 s apart fit three in the 2 s limit; then one ordinary attempt succeeds.
    assert fake.runs == [True, True, True, False]
    assert kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 1


async def test_a_refusal_reaches_the_caller_as_an_activity_error_without_a_second_try(
    client: Client, step: tuple[Step, str]
) -> None:
    fake, queue = step
    fake.refuse = True
    result, kinds = await run(client, queue)
    assert result == "refused: Refused: not this one"
    assert fake.runs == [True]  # non-retryable: one local attempt, no ordinary one
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds


def test_the_local_attempts_are_those_the_backoff_fits_in_the_limit() -> None:
    minute = timedelta(minutes=1)
    # 200 ms doubling to 10 s: waits 0.2+0.4+0.8+1.6+3.2+6.4+10+10+10+10 = 52.6 s.
    assert local_attempts(STORE_RETRY, minute) == 11
    # 1 s doubling: waits 1+2+4+8+16 = 31 s; the next, 32 s, would pass the minute.
    assert local_attempts(CARRIER_RETRY, minute) == 6
    assert local_attempts(RETRY, timedelta(seconds=2)) == 3
    capped = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=2)
    assert local_attempts(capped, minute) == 2
