"""GroupConfirmations: one long-lived loop per group that confirms its transactions round-trip.

Which transactions are due, and when, lives in PostgreSQL (`member_transactions.confirm_due`);
the loop holds only the time of the next check. Each turn one activity confirms everything due
(read the carrier back, compare, record differences) and answers when the next check falls;
the loop then sleeps on a durable timer until then (an effective date months away is one timer,
not a poll), or until a new transaction wakes it. So the history grows by a few events per turn
whatever the number of transactions, and the worker holds nothing per pending confirmation.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

from workflows import activity_refs
from workflows.common import BATCH_HEARTBEAT, STORE_RETRY, at, short_step

with workflow.unsafe.imports_passed_through():
    from domain.confirmation import DueCheck

WORKFLOW_NAME = "GroupConfirmations"
WAKE = "wake"

# A turn reads the carrier for every due transaction of the group; a slow carrier or a big
# batch needs room, and the retry starts over with what is still due.
CONFIRM_TIMEOUT = timedelta(minutes=5)
# Continue as new after this many turns: the history stays short, and so does what a worker
# keeps of a run it caches (about 2.6 KB a turn: bench.confirmations measured 100 loops grow by
# 24 MB over 60 turns each, given back when the runs ended).
TURNS_PER_RUN = 50
# Runs that started before the limit came down from 200 keep it, so their histories replay.
SHORTER_RUNS = "confirmation-runs-of-50-turns"
TURNS_PER_RUN_BEFORE = 200
# A turn's check runs as a local activity (`workflows.common.short_step`): one workflow task
# per turn, not two, and no activity task through the server (issue 23).
LOCAL_CONFIRM = "confirm-as-local-activity"


class GroupConfirmationsInput(BaseModel):
    group_id: uuid.UUID


def summary(group_name: str) -> str:
    """The run's static summary in the Temporal UI (names, no member data)."""
    return f"Round-trip confirmations of {group_name}'s member changes at its carriers"


def workflow_id(group_id: uuid.UUID) -> str:
    return f"group-confirmations/{group_id}"


@workflow.defn(name=WORKFLOW_NAME)
class GroupConfirmationsWorkflow:
    def __init__(self) -> None:
        self._woken = False

    @workflow.signal(name=WAKE)
    def wake(self) -> None:
        """A transaction of the group was completed by its carrier: check what is due now."""
        self._woken = True

    @workflow.run
    async def run(self, input: GroupConfirmationsInput) -> None:
        for taken in range(TURNS_PER_RUN_BEFORE):
            if taken == TURNS_PER_RUN and workflow.patched(SHORTER_RUNS):
                break
            self._woken = False
            turn = await short_step(
                activity_refs.ConfirmationActivities.confirm_due,
                DueCheck(group_id=input.group_id, now=workflow.now()),
                local=workflow.patched(LOCAL_CONFIRM),
                start_to_close_timeout=CONFIRM_TIMEOUT,
                heartbeat_timeout=BATCH_HEARTBEAT,
                retry_policy=STORE_RETRY,
            )
            if turn.next_due is None:
                if not self._woken:
                    # Nothing pending: the run ends; the next completed transaction starts
                    # a new one (signal-with-start), so no idle loop waits per group.
                    return
                continue
            workflow.set_current_details(
                f"Waits since {at(workflow.now())} for the next confirmation due at "
                f"{at(turn.next_due)}, or for a transaction the carrier completes."
            )
            # Woken by a new transaction, or timed out: the next check is due.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._woken,
                    timeout=max(turn.next_due - workflow.now(), timedelta(seconds=1)),
                )
        # Signals that arrived in the last turn are not lost: the new run checks first thing.
        await workflow.wait_condition(workflow.all_handlers_finished)
        # The next run keeps this run's task timeout (`LOOP_TASK_TIMEOUT` when started by
        # `services.wakes`), whatever the server's default for a continued run.
        workflow.continue_as_new(input, task_timeout=workflow.info().task_timeout)
