"""Record GroupConnection histories for the replay test.

Run `python -m tests.workflows.record_histories` from the project root. Each scenario runs the
real workflow against mocked activities on a time-skipping test server and writes its history to
`tests/histories/connection_<scenario>.json` (the file's stem is the workflow ID replay uses).

Re-record only for an intentional change that running workflows can survive, i.e. one made
behind `workflow.patched(...)`: keep the old files (rename them, e.g. `connection_<scenario>_v1`)
so the replay test still proves the old histories replay, and add the new ones beside them.
Re-recording to make a failing replay pass hides exactly the nondeterminism the test is for.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio.client import WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from domain.connections import Amendment, ConnectionState, ConnectionStatus, ReviewDecision
from domain.enums import LookupOutcome
from tests.workflows.fakes import (
    Rig,
    always,
    by_carrier_group_id,
    connection_input,
    running,
    start_time_skipping,
)
from workflows.connection import GroupConnectionWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
S = ConnectionStatus
Handle = WorkflowHandle[GroupConnectionWorkflow, ConnectionState]


async def completed_first_try(rig: Rig, id: str) -> Handle:
    handle = await rig.start(connection_input("1234567"), id=id)
    await handle.result()
    return handle


async def amended(rig: Rig, id: str) -> Handle:
    """Waiting in action_required, woken by an amendment, then found and completed."""
    rig.carrier.answer = by_carrier_group_id(
        {"1545000": LookupOutcome.ACTION_REQUIRED, "1234567": LookupOutcome.FOUND}
    )
    handle = await rig.start(connection_input("1545000", initial=timedelta(hours=1)), id=id)
    await rig.carrier.reached(S.ACTION_REQUIRED)
    await handle.execute_update(
        GroupConnectionWorkflow.amend, Amendment(carrier_group_id="1234567")
    )
    await handle.result()
    return handle


async def review_approved(rig: Rig, id: str) -> Handle:
    rig.carrier.answer = always(LookupOutcome.NEEDS_REVIEW)
    handle = await rig.start(connection_input(initial=timedelta(hours=1)), id=id)
    await rig.carrier.reached(S.NOYO_REVIEW)
    for _ in range(200):  # the run adopts the status just after the write
        if (await handle.query(GroupConnectionWorkflow.state)).status is S.NOYO_REVIEW:
            break
        await asyncio.sleep(0.05)
    await handle.signal(GroupConnectionWorkflow.resolve_review, ReviewDecision(decision="approve"))
    await handle.result()
    return handle


async def unable_to_connect(rig: Rig, id: str) -> Handle:
    rig.carrier.answer = always(LookupOutcome.NOT_FOUND)
    handle = await rig.start(connection_input("1323000"), id=id)
    await handle.result()
    return handle


async def gave_up_after_wait_limit(rig: Rig, id: str) -> Handle:
    """Backing-off timers from a minute to a day, then unable_to_connect at the 3-day limit."""
    rig.carrier.answer = always(LookupOutcome.NOT_INSTALLED)
    input = connection_input(wait_limit=timedelta(days=3))
    handle = await rig.start(input, id=id)
    await handle.result()
    return handle


async def retried_after_unable_to_connect(rig: Rig, id: str) -> Handle:
    """The second run, started by update-with-start after the first ended unable_to_connect."""
    rig.carrier.answer = by_carrier_group_id(
        {"1323000": LookupOutcome.NOT_FOUND, "1234567": LookupOutcome.FOUND}
    )
    input = connection_input("1323000")
    first = await rig.start(input, id=id)
    await first.result()
    start = WithStartWorkflowOperation(
        GroupConnectionWorkflow.run,
        input.model_copy(
            update={
                "status": S.UNABLE_TO_CONNECT,
                "status_seq": rig.carrier.changes[-1].seq,
                "request_type": "incremental",
            }
        ),
        id=id,
        task_queue=rig.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    await rig.client.execute_update_with_start_workflow(
        GroupConnectionWorkflow.amend,
        Amendment(carrier_group_id="1234567"),
        start_workflow_operation=start,
    )
    second = await start.workflow_handle()
    await second.result()
    return second


SCENARIOS: dict[str, Callable[[Rig, str], Awaitable[Handle]]] = {
    "completed_first_try": completed_first_try,
    "amended": amended,
    "review_approved": review_approved,
    "unable_to_connect": unable_to_connect,
    "gave_up_after_wait_limit": gave_up_after_wait_limit,
    "retried_after_unable_to_connect": retried_after_unable_to_connect,
}


async def record() -> list[Path]:
    HISTORIES.mkdir(exist_ok=True)
    written = []
    for scenario, run in SCENARIOS.items():
        env = await start_time_skipping()
        try:
            async with running(env) as rig:
                workflow_id = f"connection_{scenario}"
                handle = await run(rig, workflow_id)
                history = await handle.fetch_history()
                assert not rig.carrier.problems, rig.carrier.problems
        finally:
            await env.shutdown()
        path = HISTORIES / f"{workflow_id}.json"
        path.write_text(history.to_json() + "\n")
        written.append(path)
        print(f"{path.relative_to(Path.cwd())}: {len(history.events)} events")
    return written


if __name__ == "__main__":
    asyncio.run(record())
    # The SDK's environments can crash the interpreter at exit (STACK.md); skip its teardown.
    sys.stdout.flush()
    os._exit(0)
