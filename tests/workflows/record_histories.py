"""Record workflow histories for the replay test.

Run `python -m tests.workflows.record_histories [scenario ...]` from the project root (naming
scenarios records only those). Each scenario runs the real workflow against mocked activities on
a time-skipping test server and writes its history to `tests/histories/<scenario>.json` (the
file's stem is the workflow ID replay uses).

Re-record only for an intentional change that running workflows can survive, i.e. one made
behind `workflow.patched(...)`: keep the old files (rename them, e.g. `<scenario>_v1`)
so the replay test still proves the old histories replay, and add the new ones beside them.
Re-recording to make a failing replay pass hides exactly the nondeterminism the test is for.

Three histories come from a real stack instead, because a file carrier's run needs the sandbox's
SFTP server and pyx12: `feed_run_accepted_with_errors`, `feed_run_held_then_discarded` and
`connection_file_carrier_census_and_test_file` were fetched from a dev stack after the steps of
tests/integration/test_feeds.py (an on-demand test run with one member refused; a run held for
review and discarded by its signal; the connection that the first run's test file completed).
They hold ids and counts only: no member's name, SSN or date of birth.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from domain.audits import AuditTrigger, PullRequest
from domain.connections import (
    Amendment,
    ConnectionInput,
    ConnectionState,
    ConnectionStatus,
    ReviewDecision,
)
from domain.disconnections import (
    Decision,
    DisconnectionInput,
    DisconnectionStatus,
    SourceType,
)
from domain.enums import LookupOutcome
from domain.renewals import RenewalRunInput, RenewalStatus
from tests.workflows.fakes import (
    Rig,
    always,
    by_carrier_group_id,
    connection_input,
    disconnection_input,
    running,
    start_time_skipping,
)
from workflows.audit import GroupAuditWorkflow
from workflows.confirmation import WAKE, GroupConfirmationsInput, GroupConfirmationsWorkflow
from workflows.connection import GroupConnectionWorkflow
from workflows.disconnection import ConfirmSignal, GroupDisconnectionWorkflow
from workflows.disconnection import search_attributes as disconnection_search_attributes
from workflows.fulfillment import SNAPSHOTS_STORED, FulfillmentInput, GroupFulfillmentWorkflow
from workflows.renewal import RenewalDecisionWorkflow
from workflows.renewal import search_attributes as renewal_search_attributes
from workflows.renewal import summary as renewal_summary

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
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
    await rig.carrier.reached(ConnectionStatus.ACTION_REQUIRED)
    await handle.execute_update(
        GroupConnectionWorkflow.amend, Amendment(carrier_group_id="1234567")
    )
    await handle.result()
    return handle


async def review_approved(rig: Rig, id: str) -> Handle:
    rig.carrier.answer = always(LookupOutcome.NEEDS_REVIEW)
    handle = await rig.start(connection_input(initial=timedelta(hours=1)), id=id)
    await rig.carrier.reached(ConnectionStatus.NOYO_REVIEW)
    for _ in range(200):  # the run adopts the status just after the write
        if (
            await handle.query(GroupConnectionWorkflow.state)
        ).status is ConnectionStatus.NOYO_REVIEW:
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
                "status": ConnectionStatus.UNABLE_TO_CONNECT,
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


def audit_request(input: ConnectionInput, trigger: AuditTrigger) -> PullRequest:
    return PullRequest(
        connection_id=input.connection_id,
        organization_id=input.organization_id,
        group_id=input.group_id,
        carrier_id=input.carrier_id,
        carrier_group_id=input.group_data.carrier_group_id,
        trigger=trigger,
    )


async def scheduled(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    """A scheduled audit: the run makes the audit's id and pulls once."""
    handle = await rig.client.start_workflow(
        GroupAuditWorkflow.run,
        audit_request(connection_input(), AuditTrigger.SCHEDULE),
        id=id,
        task_queue=rig.task_queue,
    )
    await handle.result()
    return handle


async def census_pulled_in_pages(rig: Rig, id: str) -> Handle:
    """A group whose carrier holds 1,012 members: three census pages, then completed."""
    rig.carrier.census_pages = [500, 500, 12]
    handle = await rig.start(connection_input("1881012"), id=id)
    await handle.result()
    return handle


async def census_refreshed(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    """A scheduled audit refreshing a census of two pages after the account."""
    rig.carrier.census_pages = [500, 3]
    handle = await rig.client.start_workflow(
        GroupAuditWorkflow.run,
        audit_request(connection_input(), AuditTrigger.SCHEDULE),
        id=id,
        task_queue=rig.task_queue,
    )
    await handle.result()
    return handle


async def skipped_after_disconnection(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    rig.carrier.pull_error = ApplicationError(
        "no live connection", type="GroupNotConnected", non_retryable=True
    )
    return await scheduled(rig, id)


async def platform_disconnected_at_end_date(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    """A platform request: checked, a durable timer to the end date, disconnected."""
    input = disconnection_input(effective_end_date=date.today() + timedelta(days=60))
    handle = await start_disconnection(rig, input, id)
    await handle.result()
    return handle


async def carrier_request_confirmed_by_signal(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    """A carrier's request in review; an ignored illegal signal, then a confirm signal."""
    input = disconnection_input(DisconnectionStatus.NEEDS_REVIEW, source_type=SourceType.CARRIER)
    handle = await start_disconnection(rig, input, id)
    await handle.signal(GroupDisconnectionWorkflow.confirm)  # no end date anywhere: ignored
    await handle.signal(
        GroupDisconnectionWorkflow.confirm, ConfirmSignal(effective_end_date=date.today())
    )
    await handle.result()
    return handle


async def carrier_request_refused_signal_then_confirmed(
    rig: Rig, id: str
) -> WorkflowHandle[Any, Any]:
    """A carrier's request in review; a confirm out of the API's bounds refused on the run
    (the `bounded-decision-signals` patch), then a valid confirm signal."""
    input = disconnection_input(DisconnectionStatus.NEEDS_REVIEW, source_type=SourceType.CARRIER)
    handle = await start_disconnection(rig, input, id)
    await handle.signal("confirm", {"effective_end_date": "0001-01-01"})
    await handle.signal(
        GroupDisconnectionWorkflow.confirm, ConfirmSignal(effective_end_date=date.today())
    )
    await handle.result()
    return handle


async def carrier_request_rejected_by_update(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    input = disconnection_input(
        DisconnectionStatus.NEEDS_REVIEW,
        effective_end_date=date.today(),
        source_type=SourceType.CARRIER,
    )
    handle = await start_disconnection(rig, input, id)
    with contextlib.suppress(WorkflowUpdateFailedError):
        await handle.execute_update(
            GroupDisconnectionWorkflow.decide,
            Decision(kind="edit", status="rejected", expected_version=uuid.uuid4()),
        )
    await handle.execute_update(
        GroupDisconnectionWorkflow.decide, Decision.reject("connection_restored")
    )
    await handle.result()
    return handle


async def start_disconnection(
    rig: Rig, input: DisconnectionInput, id: str
) -> WorkflowHandle[Any, Any]:
    return await rig.client.start_workflow(
        GroupDisconnectionWorkflow.run,
        input,
        id=id,
        task_queue=rig.task_queue,
        search_attributes=disconnection_search_attributes(input),
    )


async def fulfillment_burst_to_two_carriers(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    """Three snapshots signalled at once, two carriers each: one send held back by a carrier
    fault and sent next turn, one refused, one failed at the carrier, polls until done."""
    snapshots = [rig.snapshots.store(uuid.uuid4(), uuid.uuid4()) for _ in range(3)]
    rig.snapshots.faults = 1
    rig.snapshots.refused.add(rig.snapshots.stored[snapshots[1]][0].id)
    rig.snapshots.failed_at_carrier.add(rig.snapshots.stored[snapshots[2]][1].id)
    group = uuid.uuid4()
    for snapshot in snapshots:
        handle = await signal_fulfillment(rig, id, group, snapshot)
    await handle.result()
    return handle


async def fulfillment_waits_for_a_late_commit(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    """A snapshot signalled before its commit is found a turn later; one never committed is
    given up after the arrival window."""
    late = uuid.uuid4()
    handle = await signal_fulfillment(rig, id, uuid.uuid4(), late)
    await asyncio.wait_for(rig.snapshots.first_build.wait(), timeout=10)
    rig.snapshots.store(uuid.uuid4(), snapshot_id=late)
    await handle.signal(GroupFulfillmentWorkflow.snapshots_stored, [uuid.uuid4()])
    await handle.result()
    return handle


async def signal_fulfillment(
    rig: Rig, id: str, group: uuid.UUID, snapshot: uuid.UUID
) -> WorkflowHandle[Any, Any]:
    return await rig.client.start_workflow(
        GroupFulfillmentWorkflow.run,
        FulfillmentInput(group_id=group),
        id=id,
        task_queue=rig.task_queue,
        start_signal=SNAPSHOTS_STORED,
        start_signal_args=[[snapshot]],
    )


async def confirmations_until_effective_dates(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    """A group's loop: a check now, durable timers to effective dates 30 and 90 days out, a
    wake-up signal between them, then nothing pending ends the run."""
    now = await rig.env.get_current_time()
    rig.snapshots.due = [now, now + timedelta(days=30), now + timedelta(days=90)]
    handle = await rig.client.start_workflow(
        GroupConfirmationsWorkflow.run,
        GroupConfirmationsInput(group_id=uuid.uuid4()),
        id=id,
        task_queue=rig.task_queue,
        start_signal=WAKE,
    )
    await handle.signal(GroupConfirmationsWorkflow.wake)
    await handle.result()
    return handle


async def confirmations_past_one_run(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    """A group with an effective date on each of 55 days: more turns than a run takes
    (`TURNS_PER_RUN`, 50), so the loop continues as new and the next run takes the rest. The
    `_v1` file was recorded before runs were cut to 50 turns: one run of 55 turns."""
    now = await rig.env.get_current_time()
    rig.snapshots.due = [now + timedelta(days=day) for day in range(55)]
    handle = await rig.client.start_workflow(
        GroupConfirmationsWorkflow.run,
        GroupConfirmationsInput(group_id=uuid.uuid4()),
        id=id,
        task_queue=rig.task_queue,
        start_signal=WAKE,
    )
    await handle.result()
    # The run that continued as new (the handle's own history is the last run's).
    return rig.client.get_workflow_handle(id, run_id=handle.result_run_id)


async def renewal_flips_edited_and_done(rig: Rig, id: str) -> WorkflowHandle[Any, Any]:
    """A decision checked daily: not ready, an edit (the `recheck` signal) while the first
    check runs, ready from day 2, not ready again on day 4, done after its late window."""
    now = await rig.env.get_current_time()

    def answer(at: datetime) -> RenewalStatus:
        day = (at - now) // timedelta(days=1)
        return RenewalStatus.READY if 2 <= day < 4 else RenewalStatus.NOT_READY

    rig.renewals.answer = answer
    rig.renewals.watched_until = (now + timedelta(days=6)).date()
    input = RenewalRunInput(
        decision_id=uuid.uuid4(), group_id=uuid.uuid4(), recheck_every=timedelta(days=1)
    )
    handle = await rig.client.start_workflow(
        RenewalDecisionWorkflow.run,
        input,
        id=id,
        task_queue=rig.task_queue,
        search_attributes=renewal_search_attributes(input),
        static_summary=renewal_summary("Acme Corp", ["Principal"], "2027-01-01"),
    )
    rig.renewals.edit_seq += 1
    await handle.signal(RenewalDecisionWorkflow.recheck)
    await handle.result()
    return handle


SCENARIOS: dict[str, Callable[[Rig, str], Awaitable[WorkflowHandle[Any, Any]]]] = {
    "connection_completed_first_try": completed_first_try,
    "connection_amended": amended,
    "connection_review_approved": review_approved,
    "connection_unable_to_connect": unable_to_connect,
    "connection_gave_up_after_wait_limit": gave_up_after_wait_limit,
    "connection_retried_after_unable_to_connect": retried_after_unable_to_connect,
    "connection_census_pulled_in_pages": census_pulled_in_pages,
    "audit_scheduled": scheduled,
    "audit_census_refreshed": census_refreshed,
    "audit_skipped_after_disconnection": skipped_after_disconnection,
    "disconnection_platform_at_end_date": platform_disconnected_at_end_date,
    "disconnection_confirmed_by_signal": carrier_request_confirmed_by_signal,
    "disconnection_rejected_by_update": carrier_request_rejected_by_update,
    "disconnection_refused_signal_then_confirmed": carrier_request_refused_signal_then_confirmed,
    "group_fulfillment_burst_to_two_carriers": fulfillment_burst_to_two_carriers,
    "group_fulfillment_waits_for_a_late_commit": fulfillment_waits_for_a_late_commit,
    "group_confirmations_until_effective_dates": confirmations_until_effective_dates,
    "group_confirmations_past_one_run": confirmations_past_one_run,
    "renewal_decision_flips_edited_and_done": renewal_flips_edited_and_done,
}


async def record(only: Sequence[str] = ()) -> list[Path]:
    """Record every scenario, or only those named (to add new ones without rewriting others)."""
    HISTORIES.mkdir(exist_ok=True)
    written = []
    for scenario, run in SCENARIOS.items():
        if only and scenario not in only:
            continue
        env = await start_time_skipping()
        try:
            async with running(env) as rig:
                workflow_id = scenario
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
    asyncio.run(record(sys.argv[1:]))
    # The SDK's environments can crash the interpreter at exit (STACK.md); skip its teardown.
    sys.stdout.flush()
    os._exit(0)
