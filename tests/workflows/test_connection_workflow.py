"""GroupConnectionWorkflow against mocked activities on a time-skipping Temporal test server."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import temporalio.api.sdk.v1
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.audit import AuditActivities
from activities.connection import ConnectionActivities
from domain.connections import (
    Amendment,
    ConnectionState,
    ConnectionStatus,
    IllegalTransition,
    LookupRequest,
    ReviewDecision,
    StatusChange,
)
from domain.enums import LookupOutcome
from domain.feeds import FeedReadiness
from tests.workflows.fakes import (
    SUMMARY,
    Rig,
    always,
    by_carrier_group_id,
    connection_input,
    in_turn,
    running,
)
from workflows import search_attributes as sa
from workflows.connection import GroupConnectionWorkflow

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Lookups are scheduled a few milliseconds after their timer fires; the clock is virtual.
SLACK = timedelta(seconds=2)


def close(actual: timedelta, expected: timedelta) -> bool:
    return abs(actual - expected) <= SLACK


async def signal_handled(handle: WorkflowHandle[Any, Any], *, within: float = 10) -> None:
    """Wait until a workflow task completed after the last signal (the handler has run)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        events = await event_types(handle)
        signaled = max(
            (
                i
                for i, t in enumerate(events)
                if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
            ),
            default=None,
        )
        if (
            signaled is not None
            and EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in events[signaled:]
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the signal was not handled")


async def event_types(handle: WorkflowHandle[Any, Any]) -> list[EventType.ValueType]:
    """The run's event types so far; none while the start is still on its way."""
    try:
        return [event.event_type for event in (await handle.fetch_history()).events]
    except RPCError:
        return []


async def state(handle: WorkflowHandle[Any, Any]) -> ConnectionState:
    return await handle.query(GroupConnectionWorkflow.state)


async def eventually_state(
    handle: WorkflowHandle[Any, Any],
    check: Callable[[ConnectionState], object],
    *,
    within: float = 10,
) -> ConnectionState:
    """Query until `check(state)` holds (a query right after a status write may precede it)."""
    deadline = time.monotonic() + within
    while True:
        current = await state(handle)
        if check(current) or time.monotonic() > deadline:
            return current
        await asyncio.sleep(0.05)


async def adopted(handle: WorkflowHandle[Any, Any], status: ConnectionStatus) -> None:
    """Wait until the run itself is in `status`, not only its recorded row.

    The run adopts a status only after the status-recording activity returns. Tests that are not
    about that window wait for the run, so they do not depend on how it is handled (that is
    test_a_decision_sent_as_soon_as_noyo_review_is_recorded_is_not_lost's subject).
    """
    current = await eventually_state(handle, lambda s: s.status is status)
    assert current.status is status, current


# --- 1. the happy path ----------------------------------------------------------------------


async def test_found_on_the_first_lookup_registers_pulls_and_completes(rig: Rig) -> None:
    carrier = rig.carrier
    input = connection_input("1234567")
    handle = await rig.start(input)

    result = await handle.result()

    assert result.status is ConnectionStatus.COMPLETED
    assert result.reason is None
    assert carrier.statuses == [ConnectionStatus.PROCESSING, ConnectionStatus.COMPLETED]
    seqs = [change.seq for change in carrier.changes]
    assert seqs == sorted(set(seqs))
    assert seqs[0] == input.status_seq + 1
    assert carrier.looked_up == ["1234567"]
    # One data-exchange registration, keyed by the connection so every run sends the same key.
    assert len(carrier.registrations) == 1
    registration = carrier.registrations[0]
    assert registration.idempotency_key == str(uuid.uuid5(input.connection_id, "data-exchange"))
    assert registration.platform_reference == str(input.connection_id)
    assert registration.carrier_group_id == "1234567"
    assert [p.carrier_group_id for p in carrier.pulls] == ["1234567"]
    completed = carrier.changes[-1]
    assert completed.completed is True
    assert completed.setup_result == {"audit_id": str(carrier.audit_id), **SUMMARY}
    # Completion hands the group to its audit schedule, for the same group and carrier.
    assert [(s.group_id, s.carrier_id, s.carrier_group_id) for s in carrier.schedules] == [
        (input.group_id, input.carrier_id, "1234567")
    ]
    # The carrier reported an end date (SUMMARY): a request is raised for a person to review.
    assert [(e.coverage_end_date.isoformat(), e.audit_id) for e in carrier.carrier_ended] == [
        (SUMMARY["coverage_end_date"], carrier.audit_id)
    ]
    # The status is visible to operators as a search attribute.
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED
    assert described.typed_search_attributes.get(sa.CONNECTION_STATUS) == "completed"
    assert described.typed_search_attributes.get(sa.CARRIER_GROUP_ID) == "1234567"


async def test_a_first_answer_settles_in_one_workflow_task_and_rechecks_are_activities(
    rig: Rig,
) -> None:
    """The attempt's first lookup runs inside the workflow task that recorded `processing`
    (issue 23: POST -> settled latency); a recheck days later is an ordinary activity."""
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NOT_INSTALLED)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.WAITING_ON_CARRIER)
    await adopted(handle, ConnectionStatus.WAITING_ON_CARRIER)

    settled = await event_types(handle)
    # The first task's commands (status written, carrier asked, status written, the recheck's
    # timer) follow its completion, before any other task is scheduled.
    first_task = settled[: settled.index(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 2)]
    assert EventType.EVENT_TYPE_TIMER_STARTED in first_task, [EventType.Name(e) for e in settled]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in settled

    await rig.env.sleep(HOUR)
    await eventually_state(handle, lambda s: s.rechecks == 1)
    rechecked = await event_types(handle)
    assert rechecked.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 1, rechecked
    assert len(carrier.lookups) == 2
    await handle.terminate("test cleanup")


# --- 2 and 4. backing off over days, up to the wait limit -------------------------------------


async def test_rechecks_back_off_from_a_minute_to_a_day_until_30_days(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NOT_INSTALLED)
    handle = await rig.start(connection_input(wait_limit=timedelta(days=30)))
    await carrier.reached(ConnectionStatus.WAITING_ON_CARRIER)

    wall = time.monotonic()
    result = await handle.result()
    wall = time.monotonic() - wall

    assert wall < 5, f"30 virtual days took {wall:.1f}s of wall time"
    times = [lookup.scheduled for lookup in carrier.lookups]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # 1m, 2m, 4m ... 1024m, then the one-day ceiling; the last wait is cut short by the limit.
    doubling = [MINUTE * 2**i for i in range(11)]
    assert all(close(g, e) for g, e in zip(gaps, doubling, strict=False)), gaps[:11]
    assert all(close(g, DAY) for g in gaps[11:-1]), gaps[11:]
    assert gaps[-1] <= DAY + SLACK
    assert close(times[-1] - times[0], timedelta(days=30))
    assert len(times) == 12 + 28 + 1  # doubling to day 1.4, 28 full days, a last partial one
    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.WAITING_ON_CARRIER,
        ConnectionStatus.UNABLE_TO_CONNECT,
    ]
    assert result.status is ConnectionStatus.UNABLE_TO_CONNECT
    assert result.reason is not None
    assert "30 days" in result.reason
    assert "waiting_on_carrier" in result.reason
    assert carrier.changes[-1].reason == result.reason
    assert result.rechecks == len(times) - 1


async def test_the_wait_limit_stops_rechecks_exactly_at_the_limit(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NOT_INSTALLED)
    handle = await rig.start(connection_input(maximum=DAY, wait_limit=timedelta(days=3)))

    result = await handle.result()

    offsets = [lookup.scheduled - carrier.lookups[0].scheduled for lookup in carrier.lookups]
    expected = [0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 2047, 3487, 4320]  # minutes
    assert len(offsets) == len(expected), offsets
    assert all(close(o, MINUTE * e) for o, e in zip(offsets, expected, strict=True)), offsets
    # The last lookup is at the limit itself, and none came after it.
    assert max(offsets) <= timedelta(days=3) + SLACK
    assert result.status is ConnectionStatus.UNABLE_TO_CONNECT
    assert result.reason is not None
    assert "3 days" in result.reason
    described = await handle.describe()
    assert described.close_time is not None
    assert close(described.close_time - carrier.lookups[0].scheduled, timedelta(days=3))
    # Nothing runs after the end: more virtual time brings no more lookups.
    await rig.env.sleep(timedelta(days=2))
    assert len(carrier.lookups) == len(expected)


# --- 3. an amendment wakes a waiting connection -----------------------------------------------


async def test_an_amendment_wakes_a_waiting_connection_at_once(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = by_carrier_group_id(
        {"1545000": LookupOutcome.ACTION_REQUIRED, "1234567": LookupOutcome.FOUND}
    )
    handle = await rig.start(connection_input("1545000", initial=HOUR))
    await carrier.reached(ConnectionStatus.ACTION_REQUIRED)

    answer = await handle.execute_update(
        GroupConnectionWorkflow.amend, Amendment(carrier_group_id="1234567")
    )

    assert isinstance(answer, ConnectionState)
    assert answer.status is ConnectionStatus.PROCESSING
    assert answer.group_data.carrier_group_id == "1234567"
    assert answer.amendments == 1
    result = await handle.result()
    assert result.status is ConnectionStatus.COMPLETED
    assert carrier.looked_up == ["1545000", "1234567"]
    # Woken by the update, not by the one-hour timer.
    first, second = carrier.lookups[0].scheduled, carrier.lookups[-1].scheduled
    assert second - first < MINUTE
    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.ACTION_REQUIRED,
        ConnectionStatus.PROCESSING,
        ConnectionStatus.COMPLETED,
    ]
    assert carrier.changes[1].reason == "the carrier needs the platform to act on this request"
    amended = carrier.changes[-1].connection
    assert amended.group_data.carrier_group_id == "1234567"
    assert amended.request_type == "incremental"
    assert [r.carrier_group_id for r in carrier.registrations] == ["1234567"]


async def test_an_amendment_out_of_the_apis_bounds_is_refused_by_the_validator(rig: Rig) -> None:
    # `temporal workflow update` reaches the run without the API's bounds: the run has them.
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.ACTION_REQUIRED)
    handle = await rig.start(connection_input("1545000", initial=HOUR))
    await carrier.reached(ConnectionStatus.ACTION_REQUIRED)

    for amendment in [
        Amendment(carrier_group_id="x" * 1_000_000),
        Amendment(carrier_group_id="12\x0034"),
        Amendment(employer_email_address="not an address"),
        Amendment(federal_ein="12-3456789"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(GroupConnectionWorkflow.amend, amendment)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == "InvalidAmendment"
        assert len(cause.message) < 500  # names the field, never echoes the value

    current = await state(handle)
    assert current.amendments == 0
    assert current.group_data.carrier_group_id == "1545000"
    await handle.terminate()


# --- 5. noyo_review and the operator's decision ---------------------------------------------


async def test_an_approved_review_pulls_the_account_and_completes(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NEEDS_REVIEW)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)
    await adopted(handle, ConnectionStatus.NOYO_REVIEW)
    assert carrier.pulls == []

    await handle.signal(
        GroupConnectionWorkflow.resolve_review, ReviewDecision(decision="approve", note="ok")
    )
    result = await handle.result()

    assert result.status is ConnectionStatus.COMPLETED
    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.NOYO_REVIEW,
        ConnectionStatus.PROCESSING,
        ConnectionStatus.COMPLETED,
    ]
    assert len(carrier.pulls) == 1
    assert len(carrier.registrations) == 1
    assert len(carrier.lookups) == 1  # the decision, not a recheck, led to the pull


async def test_a_rejected_review_gives_up_with_the_operators_note(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NEEDS_REVIEW)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)
    await adopted(handle, ConnectionStatus.NOYO_REVIEW)

    await handle.signal(
        GroupConnectionWorkflow.resolve_review,
        ReviewDecision(decision="reject", note="the EIN belongs to another employer"),
    )
    result = await handle.result()

    assert result.status is ConnectionStatus.UNABLE_TO_CONNECT
    assert result.reason == "the EIN belongs to another employer"
    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.NOYO_REVIEW,
        ConnectionStatus.UNABLE_TO_CONNECT,
    ]
    assert carrier.changes[-1].reason == "the EIN belongs to another employer"
    assert carrier.pulls == []


async def test_a_review_decision_outside_noyo_review_is_ignored(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = in_turn(LookupOutcome.NOT_INSTALLED, LookupOutcome.FOUND)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.WAITING_ON_CARRIER)
    await adopted(handle, ConnectionStatus.WAITING_ON_CARRIER)

    await handle.signal(
        GroupConnectionWorkflow.resolve_review, ReviewDecision(decision="reject", note="no")
    )
    await signal_handled(handle)
    current = await state(handle)
    assert current.status is ConnectionStatus.WAITING_ON_CARRIER
    # A countdown from the signal's moment: the wait went on, it did not start over.
    assert current.next_recheck_in_seconds is not None
    assert HOUR.total_seconds() - 5 < current.next_recheck_in_seconds <= HOUR.total_seconds()
    result = await handle.result()

    assert result.status is ConnectionStatus.COMPLETED
    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.WAITING_ON_CARRIER,
        ConnectionStatus.PROCESSING,
        ConnectionStatus.COMPLETED,
    ]
    # The ignored decision neither ended nor woke the wait: the recheck came on its timer.
    assert close(carrier.lookups[1].scheduled - carrier.lookups[0].scheduled, HOUR)


async def test_an_approval_by_update_answers_once_processing_and_keeps_the_note(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NEEDS_REVIEW)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)

    answered = await handle.execute_update(
        GroupConnectionWorkflow.review, ReviewDecision(decision="approve", note="EIN checked")
    )
    assert answered.status is not ConnectionStatus.NOYO_REVIEW
    result = await handle.result()

    assert result.status is ConnectionStatus.COMPLETED
    assert carrier.statuses[-2:] == [ConnectionStatus.PROCESSING, ConnectionStatus.COMPLETED]
    # The note goes with every status recorded after the decision, so GET serves it.
    assert carrier.changes[-1].setup_result["review"] == {
        "decision": "approve",
        "note": "EIN checked",
    }
    assert "review" not in carrier.changes[1].setup_result


async def test_a_rejection_by_update_ends_unable_to_connect(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NEEDS_REVIEW)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)

    answered = await handle.execute_update(
        GroupConnectionWorkflow.review, ReviewDecision(decision="reject", note="wrong employer")
    )

    assert answered.status is ConnectionStatus.UNABLE_TO_CONNECT
    assert answered.reason == "wrong employer"
    assert (await handle.result()).status is ConnectionStatus.UNABLE_TO_CONNECT
    assert carrier.changes[-1].setup_result["review"]["decision"] == "reject"


async def test_a_mistyped_or_misplaced_update_is_refused_to_the_sender(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = in_turn(LookupOutcome.NEEDS_REVIEW, LookupOutcome.NOT_INSTALLED)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)
    await adopted(handle, ConnectionStatus.NOYO_REVIEW)

    for bad in ({"decision": "approved"}, {"note": "no decision"}, "approve"):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("review", bad)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == "InvalidReviewDecision"
        assert "refused review decision" in cause.message
    current = await state(handle)
    assert current.status is ConnectionStatus.NOYO_REVIEW  # nothing changed
    assert carrier.pulls == []

    await handle.terminate()


async def test_an_update_outside_noyo_review_is_refused(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = in_turn(LookupOutcome.NOT_INSTALLED, LookupOutcome.FOUND)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.WAITING_ON_CARRIER)
    await adopted(handle, ConnectionStatus.WAITING_ON_CARRIER)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            GroupConnectionWorkflow.review, ReviewDecision(decision="approve")
        )
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "NotInReview"
    assert "waiting_on_carrier" in cause.message
    await handle.terminate()


async def test_a_mistyped_signal_is_recorded_on_the_run_and_a_valid_one_still_works(
    rig: Rig,
) -> None:
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NEEDS_REVIEW)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)
    await adopted(handle, ConnectionStatus.NOYO_REVIEW)

    await handle.signal("resolve_review", {"decision": "approved", "note": "typo"})
    await signal_handled(handle)
    current = await state(handle)
    assert current.status is ConnectionStatus.NOYO_REVIEW
    assert current.refused_review is not None
    assert "decision" in current.refused_review
    assert "typo" not in current.refused_review  # the note is never echoed
    metadata = await handle.query(
        "__temporal_workflow_metadata", result_type=temporalio.api.sdk.v1.WorkflowMetadata
    )
    assert current.refused_review in metadata.current_details  # what the UI shows
    # No time limits in this run's input (as in runs started before there were any).
    assert "verdue" not in metadata.current_details

    await handle.signal(GroupConnectionWorkflow.resolve_review, ReviewDecision(decision="approve"))
    result = await handle.result()
    assert result.status is ConnectionStatus.COMPLETED
    assert result.refused_review is None


# --- 6 and 7. refusals land in a status with the reason ---------------------------------------


async def test_a_carrier_refusal_parks_the_connection_in_action_required(rig: Rig) -> None:
    carrier = rig.carrier
    refusals = 0

    def answer(request: LookupRequest, attempt: int) -> LookupOutcome:
        nonlocal refusals
        if refusals == 0:
            refusals += 1
            raise ApplicationError("bad broker", type="CarrierRejected", non_retryable=True)
        return LookupOutcome.FOUND

    carrier.answer = answer
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.ACTION_REQUIRED)

    waiting = await eventually_state(handle, lambda s: s.next_recheck_in_seconds is not None)
    assert waiting.status is ConnectionStatus.ACTION_REQUIRED
    assert waiting.reason is not None
    assert "bad broker" in waiting.reason
    # A countdown from the run's last step, which may be a moment after the timer started.
    assert HOUR.total_seconds() - 5 < (waiting.next_recheck_in_seconds or 0) <= HOUR.total_seconds()
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert [lookup.attempt for lookup in carrier.lookups] == [1]  # not retried
    assert carrier.changes[-1].reason == "bad broker"

    # The run was waiting, not failed: the next recheck finds the group.
    result = await handle.result()
    assert result.status is ConnectionStatus.COMPLETED
    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.ACTION_REQUIRED,
        ConnectionStatus.PROCESSING,
        ConnectionStatus.COMPLETED,
    ]


INVALID = "the carrier's account data is invalid: 1 problem(s), first at plans.0.name"


async def test_invalid_account_data_from_the_pull_parks_the_connection_in_noyo_review(
    rig: Rig,
) -> None:
    carrier = rig.carrier
    carrier.pull_error = ApplicationError(INVALID, type="InvalidCarrierData", non_retryable=True)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)

    waiting = await eventually_state(handle, lambda s: s.next_recheck_in_seconds is not None)
    assert waiting.status is ConnectionStatus.NOYO_REVIEW
    assert waiting.reason == INVALID
    assert carrier.statuses == [ConnectionStatus.PROCESSING, ConnectionStatus.NOYO_REVIEW]
    assert carrier.changes[-1].reason == INVALID
    assert carrier.changes[-1].completed is False
    assert len(carrier.pulls) == 1  # non-retryable: one attempt
    # Parked for the operator, not ended: the run is still there to take a decision.
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_an_approval_after_a_pull_refusal_pulls_again_and_completes(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.pull_error = ApplicationError(INVALID, type="InvalidCarrierData", non_retryable=True)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)
    await adopted(handle, ConnectionStatus.NOYO_REVIEW)
    carrier.pull_error = None  # the carrier fixed its data

    await handle.signal(GroupConnectionWorkflow.resolve_review, ReviewDecision(decision="approve"))
    result = await handle.result()

    assert result.status is ConnectionStatus.COMPLETED
    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.NOYO_REVIEW,
        ConnectionStatus.PROCESSING,
        ConnectionStatus.COMPLETED,
    ]
    assert len(carrier.pulls) == 2
    assert len(carrier.lookups) == 1  # the decision, not a recheck, led to the second pull


async def test_an_approval_whose_pull_is_refused_again_waits_for_the_next_decision(
    rig: Rig,
) -> None:
    carrier = rig.carrier
    carrier.pull_error = ApplicationError(INVALID, type="InvalidCarrierData", non_retryable=True)
    handle = await rig.start(connection_input(initial=HOUR))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)
    await adopted(handle, ConnectionStatus.NOYO_REVIEW)

    await handle.signal(GroupConnectionWorkflow.resolve_review, ReviewDecision(decision="approve"))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW, times=2)
    waiting = await eventually_state(handle, lambda s: s.next_recheck_in_seconds is not None)

    assert waiting.status is ConnectionStatus.NOYO_REVIEW
    assert waiting.reason == INVALID
    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.NOYO_REVIEW,
        ConnectionStatus.PROCESSING,
        ConnectionStatus.NOYO_REVIEW,
    ]
    assert len(carrier.pulls) == 2
    assert len(carrier.lookups) == 1
    await handle.signal(
        GroupConnectionWorkflow.resolve_review, ReviewDecision(decision="reject", note="bad data")
    )
    result = await handle.result()
    assert result.status is ConnectionStatus.UNABLE_TO_CONNECT
    assert result.reason == "bad data"


# --- 8. a new run after unable_to_connect -------------------------------------------------------


async def test_a_retry_after_unable_to_connect_starts_a_new_run_that_completes(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = by_carrier_group_id(
        {"1323000": LookupOutcome.NOT_FOUND, "1234567": LookupOutcome.FOUND}
    )
    input = connection_input("1323000")
    first = await rig.start(input)
    ended = await first.result()
    assert ended.status is ConnectionStatus.UNABLE_TO_CONNECT
    assert ended.reason == "the carrier has no group with this ID"
    assert carrier.statuses == [ConnectionStatus.PROCESSING, ConnectionStatus.UNABLE_TO_CONNECT]
    last_seq = carrier.changes[-1].seq

    # As the API's retry does it: the row's status and sequence number seed the new run.
    retry_input = input.model_copy(
        update={
            "status": ConnectionStatus.UNABLE_TO_CONNECT,
            "status_seq": last_seq,
            "request_type": "incremental",
        }
    )
    start = WithStartWorkflowOperation(
        GroupConnectionWorkflow.run,
        retry_input,
        id=first.id,
        task_queue=rig.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    answer = await rig.client.execute_update_with_start_workflow(
        GroupConnectionWorkflow.amend,
        Amendment(carrier_group_id="1234567"),
        start_workflow_operation=start,
    )
    assert answer.status is ConnectionStatus.PROCESSING
    assert answer.group_data.carrier_group_id == "1234567"
    second = await start.workflow_handle()
    result = await second.result()

    assert second.result_run_id != first.result_run_id
    assert result.status is ConnectionStatus.COMPLETED
    new_run = carrier.changes[2:]
    assert [c.status for c in new_run] == [ConnectionStatus.PROCESSING, ConnectionStatus.COMPLETED]
    assert new_run[0].seq > last_seq
    assert carrier.looked_up == ["1323000", "1234567"]
    assert (await first.describe()).status == WorkflowExecutionStatus.COMPLETED


# --- 9. a completed connection refuses amendments ---------------------------------------------


async def test_an_amendment_while_the_account_is_pulled_is_refused_once_completed(
    rig: Rig,
) -> None:
    carrier = rig.carrier
    gate = carrier.gate(AuditActivities.pull_account)
    handle = await rig.start(connection_input("1234567"))
    await gate.reached()

    update = await handle.start_update(
        GroupConnectionWorkflow.amend,
        Amendment(carrier_group_id="7654321"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    gate.open()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await update.result()

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "ConnectionCompleted"
    result = await handle.result()
    assert result.status is ConnectionStatus.COMPLETED
    assert result.group_data.carrier_group_id == "1234567"
    assert carrier.looked_up == ["1234567"]  # the refused amendment started nothing

    # Once the run has closed there is nothing left to amend (the API refuses it by the row).
    with pytest.raises(RPCError):
        await handle.execute_update(
            GroupConnectionWorkflow.amend, Amendment(carrier_group_id="7654321")
        )


async def test_a_run_started_for_a_completed_connection_refuses_amendments_and_ends(
    env: WorkflowEnvironment,
) -> None:
    # A run in `completed` exists only if one is started so: a retry that raced the completion.
    # Should such a run ever try an illegal move again, IllegalTransition fails the run rather
    # than its workflow task: a task failing in a loop would never deliver the refusal (the test
    # would hang), and its tracebacks, formatted in worker threads, trip CPython 3.11's
    # thread-unsafe AST recursion counter (gh-106905) in pytest's assertion rewriting.
    input = connection_input(status=ConnectionStatus.COMPLETED, status_seq=7)
    async with running(env, workflow_failure_exception_types=[IllegalTransition]) as rig:
        start = WithStartWorkflowOperation(
            GroupConnectionWorkflow.run,
            input,
            id=f"completed-{input.connection_id}",
            task_queue=rig.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await asyncio.wait_for(
                rig.client.execute_update_with_start_workflow(
                    GroupConnectionWorkflow.amend, Amendment(), start_workflow_operation=start
                ),
                10,
            )

        # Refused by the validator: the amendment never entered the history.
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "ConnectionCompleted"
        handle = await start.workflow_handle()
        events = await event_types(handle)
        assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED not in events
        # And the run ends as it is, without a write or a carrier call.
        result = await handle.result()
        assert result.status is ConnectionStatus.COMPLETED
        assert rig.carrier.changes == []
        assert rig.carrier.lookups == []


# --- 10. carrier faults are retried without touching the status -------------------------------


async def test_transient_lookup_faults_are_retried_without_a_status_change(rig: Rig) -> None:
    carrier = rig.carrier

    def answer(request: LookupRequest, attempt: int) -> LookupOutcome:
        if attempt <= 2:
            raise RuntimeError("carrier answered 503")
        return LookupOutcome.FOUND

    carrier.answer = answer
    handle = await rig.start(connection_input())

    result = await handle.result()

    assert result.status is ConnectionStatus.COMPLETED
    assert carrier.statuses == [ConnectionStatus.PROCESSING, ConnectionStatus.COMPLETED]
    assert [lookup.attempt for lookup in carrier.lookups] == [1, 2, 3]
    attempts = [lookup.attempt_scheduled for lookup in carrier.lookups]
    # CARRIER_RETRY: 1 s, then 2 s between attempts.
    backoff = [b - a for a, b in itertools.pairwise(attempts)]
    assert close(backoff[0], timedelta(seconds=1))
    assert close(backoff[1], timedelta(seconds=2))


# --- 11. the live state ---------------------------------------------------------------------


async def test_the_state_query_tells_when_the_next_recheck_comes(rig: Rig) -> None:
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NOT_INSTALLED)
    gate = carrier.gate(ConnectionActivities.lookup_group)
    handle = await rig.start(connection_input("1767000"))
    await gate.reached()

    looking = await state(handle)
    assert looking.status is ConnectionStatus.PROCESSING
    assert looking.next_recheck_in_seconds is None  # not waiting while the carrier is asked
    gate.open()
    await carrier.reached(ConnectionStatus.WAITING_ON_CARRIER)

    waiting = await eventually_state(handle, lambda s: s.next_recheck_in_seconds is not None)
    assert waiting.status is ConnectionStatus.WAITING_ON_CARRIER
    assert 55 < (waiting.next_recheck_in_seconds or 0) <= 60  # counts down from the run's last step
    assert waiting.rechecks == 0
    assert waiting.reason == "the carrier has not finished installing the group"

    await rig.env.sleep(MINUTE)
    later = await eventually_state(handle, lambda s: s.rechecks == 1 and s.next_recheck_in_seconds)
    assert 115 < (later.next_recheck_in_seconds or 0) <= 120
    assert later.rechecks == 1
    assert len(carrier.lookups) == 2
    await handle.terminate("test cleanup")


# --- races: each of these failed on the workflow as first written ----------------------------


async def test_a_decision_sent_as_soon_as_noyo_review_is_recorded_is_not_lost(rig: Rig) -> None:
    """The status row is written before the run adopts the status; a decision in between counts."""
    carrier = rig.carrier
    carrier.answer = always(LookupOutcome.NEEDS_REVIEW)
    input = connection_input(initial=HOUR, wait_limit=timedelta(days=2))
    handle = await rig.start(input)

    async def operator(change: StatusChange) -> None:
        # An operator (or the API) acting on the row the moment it says noyo_review.
        if change.status is ConnectionStatus.NOYO_REVIEW:
            await rig.client.get_workflow_handle(handle.id).signal(
                GroupConnectionWorkflow.resolve_review, ReviewDecision(decision="approve")
            )

    carrier.on_record = operator
    result = await handle.result()

    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.NOYO_REVIEW,
        ConnectionStatus.PROCESSING,
        ConnectionStatus.COMPLETED,
    ]
    assert result.status is ConnectionStatus.COMPLETED, result


async def test_an_amendment_is_answered_with_its_own_correction(rig: Rig) -> None:
    """An amendment arriving while `processing` is written is not reported as already applied."""
    carrier = rig.carrier
    carrier.answer = by_carrier_group_id(
        {
            "1767000": LookupOutcome.NOT_INSTALLED,
            "2222222": LookupOutcome.FOUND,
            "3333333": LookupOutcome.FOUND,
        }
    )
    handle = await rig.start(connection_input("1767000", initial=HOUR))
    await carrier.reached(ConnectionStatus.WAITING_ON_CARRIER)
    gate = carrier.gate(ConnectionActivities.record_status)

    first = await handle.start_update(
        GroupConnectionWorkflow.amend,
        Amendment(carrier_group_id="2222222"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    await gate.reached()  # the restarted attempt is writing `processing`
    second = await handle.start_update(
        GroupConnectionWorkflow.amend,
        Amendment(carrier_group_id="3333333"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    gate.open()

    assert (await first.result()).group_data.carrier_group_id == "2222222"
    answer = await second.result()
    result = await handle.result()
    assert result.group_data.carrier_group_id == "3333333"
    assert answer.group_data.carrier_group_id == "3333333", answer
    assert answer.amendments == 2
    # The data of the first amendment was never connected: only the latest one was.
    assert [r.carrier_group_id for r in carrier.registrations] == ["3333333"]


async def test_a_review_decision_does_not_outlive_noyo_review(rig: Rig) -> None:
    """A decision taken during a recheck that leaves noyo_review answers nothing."""
    carrier = rig.carrier
    carrier.answer = in_turn(LookupOutcome.NEEDS_REVIEW, LookupOutcome.NOT_INSTALLED)
    handle = await rig.start(connection_input(initial=HOUR, wait_limit=timedelta(days=1)))
    await carrier.reached(ConnectionStatus.NOYO_REVIEW)
    await adopted(handle, ConnectionStatus.NOYO_REVIEW)
    gate = carrier.gate(ConnectionActivities.lookup_group)
    await rig.env.sleep(HOUR)  # the recheck is under way ...
    await gate.reached()
    # ... when the operator approves what they saw: noyo_review.
    await handle.signal(GroupConnectionWorkflow.resolve_review, ReviewDecision(decision="approve"))
    await signal_handled(handle)
    gate.open()  # the carrier now says the group is not installed yet

    result = await handle.result()

    assert carrier.pulls == [], "pulled an account the carrier had just called not installed"
    assert carrier.statuses[:3] == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.NOYO_REVIEW,
        ConnectionStatus.WAITING_ON_CARRIER,
    ]
    assert (
        result.status is ConnectionStatus.UNABLE_TO_CONNECT
    )  # at the wait limit, still not installed


async def test_the_current_details_say_from_when_a_waiting_status_is_overdue(rig: Rig) -> None:
    rig.carrier.answer = always(LookupOutcome.NEEDS_REVIEW)
    input = connection_input(initial=HOUR)
    limits = {"noyo_review": timedelta(days=3)}
    recheck = input.recheck.model_copy(update={"overdue_after": limits})
    handle = await rig.start(input.model_copy(update={"recheck": recheck}))
    await rig.carrier.reached(ConnectionStatus.NOYO_REVIEW)
    await adopted(handle, ConnectionStatus.NOYO_REVIEW)

    metadata = await handle.query(
        "__temporal_workflow_metadata", result_type=temporalio.api.sdk.v1.WorkflowMetadata
    )
    assert "Overdue from " in metadata.current_details
    assert "(the time limit of noyo_review)" in metadata.current_details


# --- file carriers (issue 22): census and an approved test file before `completed` -------------


async def test_a_file_carrier_waits_in_action_required_for_census_and_test_file(rig: Rig) -> None:
    carrier = rig.carrier
    waiting = FeedReadiness(sends_files=True, feed_id=uuid.uuid4())
    carrier.readiness = [
        waiting,
        waiting.model_copy(update={"census": True}),
        waiting.model_copy(update={"census": True, "test_file_approved": True}),
    ]
    handle = await rig.start(connection_input("LM104233"))

    result = await handle.result()

    assert result.status is ConnectionStatus.COMPLETED
    assert carrier.statuses == [
        ConnectionStatus.PROCESSING,
        ConnectionStatus.ACTION_REQUIRED,
        ConnectionStatus.ACTION_REQUIRED,  # the reason changed: the census is there
        ConnectionStatus.PROCESSING,
        ConnectionStatus.COMPLETED,
    ]
    reasons = [change.reason for change in carrier.changes[1:3]]
    assert reasons[0] is not None
    assert "census" in reasons[0]
    assert "test file" in reasons[0]
    assert reasons[1] is not None
    assert "census" not in reasons[1]
    assert carrier.readiness_asked == 3
