"""A scripted delivery activity and a worker for the WebhookDelivery workflow tests and histories.

Run `python -m tests.workflows.webhook_fakes` to record the WebhookDelivery histories into
`tests/histories/` (the same rules as `tests.workflows.record_histories`: re-record only for a
change running loops survive, keeping the old files). The `_v1` files are from before the
`webhook-delivery-own-queue` patch: their turns ran on the workflow's own task queue.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.webhooks import WebhookActivities
from domain.webhooks import DeliveryTurn, TurnResult, delivery_queue
from tests.workflows.fakes import fake_of, start_time_skipping
from workflows.webhooks import (
    TURNS_PER_RUN,
    WebhookDeliveryInput,
    WebhookDeliveryWorkflow,
    workflow_id,
)

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


@dataclass
class FakeDeliveries:
    """Answers each turn with the next scripted result; `gone` once the script runs out."""

    script: list[TurnResult | Exception]
    turns: list[DeliveryTurn] = field(default_factory=list)

    @fake_of(WebhookActivities.deliver_due)
    async def deliver_due(self, turn: DeliveryTurn) -> TurnResult:
        self.turns.append(turn)
        if not self.script:
            return TurnResult(gone=True)
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class WebhookRig:
    env: WorkflowEnvironment
    deliveries: FakeDeliveries
    task_queue: str

    async def start(self, subscription_id: uuid.UUID, *, id: str | None = None) -> Any:
        return await self.env.client.start_workflow(
            WebhookDeliveryWorkflow.run,
            WebhookDeliveryInput(subscription_id=subscription_id),
            id=id or workflow_id(subscription_id),
            task_queue=self.task_queue,
        )


@asynccontextmanager
async def delivering(
    env: WorkflowEnvironment, script: list[TurnResult | Exception]
) -> AsyncIterator[WebhookRig]:
    """The workflow on a queue of its own, the fake turns on that queue's deliveries queue only
    (as `worker.py` splits them), so a turn scheduled anywhere else never completes."""
    deliveries = FakeDeliveries(list(script))
    task_queue = f"webhooks-{uuid.uuid4().hex[:8]}"
    async with (
        Worker(env.client, task_queue=task_queue, workflows=[WebhookDeliveryWorkflow]),
        Worker(
            env.client,
            task_queue=delivery_queue(task_queue),
            activities=[deliveries.deliver_due],
        ),
    ):
        yield WebhookRig(env, deliveries, task_queue)


def busy_turns(count: int) -> list[TurnResult | Exception]:
    return [TurnResult(delivered=n % 7, failed=n % 3) for n in range(count)]


async def until_deleted(rig: WebhookRig, id: str) -> WorkflowHandle[Any, Any]:
    """Three turns (one retried after a fault), then the subscription is gone."""
    rig.deliveries.script = [
        TurnResult(delivered=40, failed=2),
        RuntimeError("database unavailable"),
        TurnResult(delivered=3),
    ]
    handle = await rig.start(uuid.uuid4(), id=id)
    await handle.result()
    return handle


async def past_one_run(rig: WebhookRig, id: str) -> WorkflowHandle[Any, Any]:
    """More turns than a run takes: the first run continues as new."""
    rig.deliveries.script = busy_turns(TURNS_PER_RUN + 2)
    handle = await rig.start(uuid.uuid4(), id=id)
    await handle.result()
    return rig.env.client.get_workflow_handle(id, run_id=handle.first_execution_run_id)


SCENARIOS = {
    "webhook_delivery_until_deleted": until_deleted,
    "webhook_delivery_past_one_run": past_one_run,
}


async def record() -> None:
    HISTORIES.mkdir(exist_ok=True)
    for scenario, run in SCENARIOS.items():
        env = await start_time_skipping()
        try:
            async with delivering(env, []) as rig:
                handle = await run(rig, scenario)
                history = await handle.fetch_history()
        finally:
            await env.shutdown()
        path = HISTORIES / f"{scenario}.json"
        path.write_text(history.to_json() + "\n")
        print(f"{path}: {len(history.events)} events")


if __name__ == "__main__":
    asyncio.run(record())
    sys.stdout.flush()
    os._exit(0)
