"""WebhookDelivery: one long-lived loop per subscription that carries its deliveries.

What is owed, and when, lives in PostgreSQL (`webhook_deliveries`, filled by the outbox in the
same transaction as each state change), never in the history. Each turn is one activity that
for a few minutes claims due deliveries in batches, POSTs them and records every attempt (retries
are rows with a due time, not timers), polling the table while nothing is due; the loop then
starts the next turn. So the history grows by a handful of events per turn, whatever the
number of events, and continues as new long before it is large. A worker killed mid-turn is
noticed by the heartbeat timeout; the retry finds the leased deliveries due again.

Turns run on the deliveries' own task queue (`<queue>-webhooks`, served by webhook workers), so
a busy engine worker's event loop never delays them and a hanging receiver never takes engine
capacity.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

from workflows import activity_refs
from workflows.common import BATCH_HEARTBEAT, STORE_RETRY

with workflow.unsafe.imports_passed_through():
    from domain.webhooks import DeliveryTurn, delivery_queue

WORKFLOW_NAME = "WebhookDelivery"

# How long one turn (one activity) delivers before it returns to the loop.
TURN = timedelta(minutes=5)
# A turn's POSTs time out after settings.webhook_timeout_seconds (10 s); the turn may overrun
# its end by a batch, never by this much.
TURN_SLACK = timedelta(minutes=2)
# Continue as new after this many turns (about 8 hours; 6 to 7 events a turn).
TURNS_PER_RUN = 100
# Turns run on the deliveries' own task queue (`domain.webhooks.delivery_queue`), served by the
# webhook workers. A run started before this patch keeps scheduling its turns on the workflow's
# own queue until it continues as new (the result is memoized for the run), so the engine
# workers still serve the activity there.
OWN_QUEUE_PATCH = "webhook-delivery-own-queue"


class WebhookDeliveryInput(BaseModel):
    subscription_id: uuid.UUID


def workflow_id(subscription_id: uuid.UUID) -> str:
    return f"webhook-delivery/{subscription_id}"


@workflow.defn(name=WORKFLOW_NAME)
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, input: WebhookDeliveryInput) -> None:
        task_queue = (
            delivery_queue(workflow.info().task_queue)
            if workflow.patched(OWN_QUEUE_PATCH)
            else None  # the workflow's own queue, as recorded before the patch
        )
        for _ in range(TURNS_PER_RUN):
            result = await workflow.execute_activity_method(
                activity_refs.WebhookActivities.deliver_due,
                DeliveryTurn(subscription_id=input.subscription_id, until=workflow.now() + TURN),
                task_queue=task_queue,
                start_to_close_timeout=TURN + TURN_SLACK,
                heartbeat_timeout=BATCH_HEARTBEAT,
                retry_policy=STORE_RETRY,
            )
            if result.gone:
                return  # the subscription was deleted
            workflow.set_current_details(
                f"last turn: {result.delivered} delivered, {result.failed} failed attempt(s)"
            )
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(input)
