"""GroupDisconnection on the time-skipping server: end dates, decisions, refusals, signals."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest
import temporalio.api.sdk.v1
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from domain.disconnections import (
    Decision,
    DisconnectionInput,
    DisconnectionState,
    DisconnectionStatus,
    SourceType,
)
from tests.workflows.fakes import Gate, Rig, disconnection_input
from workflows import disconnection as wf
from workflows import search_attributes as sa
from workflows.disconnection import ConfirmSignal, GroupDisconnectionWorkflow, RejectSignal

Handle = WorkflowHandle[GroupDisconnectionWorkflow, DisconnectionState]


async def start(rig: Rig, input: DisconnectionInput) -> Handle:
    return await rig.client.start_workflow(
        GroupDisconnectionWorkflow.run,
        input,
        id=wf.workflow_id(input.request_id),
        task_queue=rig.task_queue,
        search_attributes=wf.search_attributes(input),
    )


def refusal(err: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> ApplicationError:
    cause = err.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


def far_away() -> date:
    return date.today() + timedelta(days=120)


async def test_a_future_end_date_passes_on_a_durable_timer_and_the_group_is_disconnected(
    rig: Rig,
) -> None:
    end = far_away()
    input = disconnection_input(effective_end_date=end)
    handle = await start(rig, input)

    result = await handle.result()  # months of waiting, skipped by the test server

    assert result.status is DisconnectionStatus.COMPLETED
    store = rig.disconnections
    assert store.statuses(input.request_id) == [DisconnectionStatus.COMPLETED]
    assert [c.effective_end_date for c in store.checks] == [end]
    (disconnect,) = store.disconnected
    assert (disconnect.group_id, disconnect.carrier_id) == (input.group_id, input.carrier_id)
    assert store.changes[-1].completed is True
    described = await handle.describe()
    assert described.typed_search_attributes.get(sa.DISCONNECTION_STATUS) == "completed"


async def test_a_failed_check_rejects_with_the_reason_and_an_edit_processes_it_again(
    rig: Rig,
) -> None:
    store = rig.disconnections
    store.problem = "the group has no completed connection to this carrier"
    input = disconnection_input(effective_end_date=date.today())
    first = await start(rig, input)

    rejected = await first.result()

    assert rejected.status is DisconnectionStatus.REJECTED
    assert rejected.status_reason == store.problem
    assert store.disconnected == []
    # The edit starts the next run from the stored request, as the API does.
    store.problem = None
    next_input = input.model_copy(update={"state": rejected, "status_seq": 1})
    operation = WithStartWorkflowOperation(
        GroupDisconnectionWorkflow.run,
        next_input,
        id=wf.workflow_id(input.request_id),
        task_queue=rig.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    # A past end date: after an update-with-start the test server does not always skip time
    # (about one run in eight waited for the real midnight), and the timer is tested above.
    yesterday = date.today() - timedelta(days=1)
    edited = await rig.client.execute_update_with_start_workflow(
        GroupDisconnectionWorkflow.decide,
        Decision(
            kind="edit",
            status="processing",
            effective_end_date=yesterday,
            expected_version=rejected.version,
        ),
        start_workflow_operation=operation,
    )
    assert edited.status is DisconnectionStatus.PROCESSING
    assert edited.status_reason is None
    assert edited.effective_end_date == yesterday
    second = await operation.workflow_handle()
    assert (await second.result()).status is DisconnectionStatus.COMPLETED
    assert store.statuses(input.request_id) == [
        DisconnectionStatus.REJECTED,
        DisconnectionStatus.PROCESSING,
        DisconnectionStatus.COMPLETED,
    ]
    assert len(store.checks) == 2


async def test_a_carrier_request_waits_for_review_and_confirm_disconnects(rig: Rig) -> None:
    input = disconnection_input(
        DisconnectionStatus.NEEDS_REVIEW,
        effective_end_date=date.today() - timedelta(days=1),
        source_type=SourceType.CARRIER,
    )
    handle = await start(rig, input)
    await asyncio.sleep(0.2)
    assert rig.disconnections.changes == []  # nothing happens without a person

    state = await handle.execute_update(GroupDisconnectionWorkflow.decide, Decision.confirm())

    assert state.status is DisconnectionStatus.PROCESSING
    assert (await handle.result()).status is DisconnectionStatus.COMPLETED
    changes = rig.disconnections.changes
    assert [c.state.status for c in changes] == [
        DisconnectionStatus.PROCESSING,
        DisconnectionStatus.COMPLETED,
    ]
    assert changes[0].decided is True
    # A carrier's request is not checked like a platform's: the carrier itself ended the group.
    assert rig.disconnections.checks == []


async def test_reject_keeps_the_group_connected_and_ends_the_run(rig: Rig) -> None:
    input = disconnection_input(DisconnectionStatus.NEEDS_REVIEW, effective_end_date=far_away())
    handle = await start(rig, input)

    state = await handle.execute_update(
        GroupDisconnectionWorkflow.decide, Decision.reject("connection_restored", "renewed")
    )

    assert (state.status, state.reason, state.context) == (
        DisconnectionStatus.REJECTED,
        "connection_restored",
        "renewed",
    )
    assert (await handle.result()).status is DisconnectionStatus.REJECTED
    assert rig.disconnections.disconnected == []


async def test_illegal_decisions_by_update_are_refused_with_the_reason(rig: Rig) -> None:
    input = disconnection_input(effective_end_date=far_away())
    handle = await start(rig, input)

    with pytest.raises(WorkflowUpdateFailedError) as confirm_again:
        await handle.execute_update(GroupDisconnectionWorkflow.decide, Decision.confirm())
    assert refusal(confirm_again).type == wf.ILLEGAL_DECISION
    assert refusal(confirm_again).details == ("processing",)

    stale = Decision(kind="edit", status="rejected", expected_version=uuid.uuid4())
    with pytest.raises(WorkflowUpdateFailedError) as conflict:
        await handle.execute_update(GroupDisconnectionWorkflow.decide, stale)
    assert refusal(conflict).type == wf.VERSION_CONFLICT
    assert refusal(conflict).details == (str(input.state.version),)

    # Out of the API's bounds (`temporal workflow update` has none): refused, naming the field.
    for field, unbounded in [
        ("effective_end_date", {"effective_end_date": date(1, 1, 1)}),
        ("context", {"context": "x" * 5000}),
        ("reason", {"reason": "connection_restored"}),  # a rejection reason, for processing
    ]:
        decision = Decision(kind="edit", status="processing", **unbounded)  # type: ignore[arg-type]
        with pytest.raises(WorkflowUpdateFailedError) as invalid:
            await handle.execute_update(GroupDisconnectionWorkflow.decide, decision)
        assert refusal(invalid).type == wf.INVALID_DECISION
        assert refusal(invalid).details[0] == field

    # Still healthy: a legal edit goes through and the run is still waiting for the end date.
    moved = far_away() + timedelta(days=1)
    edit = Decision(
        kind="edit",
        status="processing",
        effective_end_date=moved,
        expected_version=input.state.version,
    )
    state = await handle.execute_update(GroupDisconnectionWorkflow.decide, edit)
    assert state.effective_end_date == moved
    assert rig.disconnections.disconnected == []
    await handle.execute_update(GroupDisconnectionWorkflow.decide, Decision.reject())
    assert (await handle.result()).status is DisconnectionStatus.REJECTED


async def test_confirming_without_any_end_date_is_invalid(rig: Rig) -> None:
    handle = await start(
        rig, disconnection_input(DisconnectionStatus.NEEDS_REVIEW, source_type=SourceType.CARRIER)
    )

    with pytest.raises(WorkflowUpdateFailedError) as missing:
        await handle.execute_update(GroupDisconnectionWorkflow.decide, Decision.confirm())

    assert refusal(missing).type == wf.INVALID_DECISION
    assert refusal(missing).details[0] == "effective_end_date"
    state = await handle.execute_update(
        GroupDisconnectionWorkflow.decide, Decision.confirm(far_away())
    )
    assert state.status is DisconnectionStatus.PROCESSING


async def test_signals_run_the_same_handler_and_illegal_ones_are_ignored(rig: Rig) -> None:
    input = disconnection_input(DisconnectionStatus.NEEDS_REVIEW, source_type=SourceType.CARRIER)
    handle = await start(rig, input)

    # Illegal: no end date anywhere. Logged and dropped; the run is unharmed.
    await handle.signal(GroupDisconnectionWorkflow.confirm)
    await handle.signal(
        GroupDisconnectionWorkflow.confirm, ConfirmSignal(effective_end_date=far_away())
    )
    await rig.disconnections.reached(input.request_id, DisconnectionStatus.PROCESSING)
    # Illegal now (already confirmed): ignored.
    await handle.signal(GroupDisconnectionWorkflow.confirm, ConfirmSignal())
    await handle.signal(
        GroupDisconnectionWorkflow.reject, RejectSignal(reason="eligibility_restored")
    )
    await rig.disconnections.reached(input.request_id, DisconnectionStatus.REJECTED)

    final = await handle.result()
    assert final.status is DisconnectionStatus.REJECTED
    assert final.reason == "eligibility_restored"
    assert rig.disconnections.statuses(input.request_id) == [
        DisconnectionStatus.PROCESSING,
        DisconnectionStatus.REJECTED,
    ]


async def test_signals_out_of_the_apis_bounds_are_refused_on_the_run_and_change_nothing(
    rig: Rig,
) -> None:
    # Sent from the Temporal UI or CLI: no API between the operator and the run.
    input = disconnection_input(DisconnectionStatus.NEEDS_REVIEW, source_type=SourceType.CARRIER)
    handle = await start(rig, input)
    secret = "Zelda Quarrington"
    refused: list[tuple[str, object]] = [
        ("confirm", {"effective_end_date": "0001-01-01"}),  # implausible
        ("confirm", {"effective_end_date": "the end of the month"}),
        ("confirm", {"effective_end": str(far_away())}),  # a mistyped field
        ("confirm", "2026-12-31"),  # not an object
        ("reject", {"reason": "because", "context": secret}),  # not a rejection reason
        ("reject", {"reason": "other", "context": secret + "x" * 5000}),  # too long
        ("reject", {"reason": "other", "context": secret + "\x00"}),  # NUL
    ]
    for name, body in refused:
        await handle.signal(name, body)
    metadata = await handle.query(
        "__temporal_workflow_metadata", result_type=temporalio.api.sdk.v1.WorkflowMetadata
    )
    # Shown on the run (the UI's current details) without what was sent.
    assert "refused reject signal (context" in metadata.current_details
    assert secret not in metadata.current_details
    assert (await handle.query(GroupDisconnectionWorkflow.state)).status is (
        DisconnectionStatus.NEEDS_REVIEW
    )

    # A valid one still works, and clears the refusal.
    await handle.signal(GroupDisconnectionWorkflow.reject, RejectSignal(reason="other"))
    final = await handle.result()
    assert final.status is DisconnectionStatus.REJECTED
    assert final.context is None
    assert rig.disconnections.statuses(input.request_id) == [DisconnectionStatus.REJECTED]
    events = (await handle.fetch_history()).events
    signalled = [e for e in events if e.HasField("workflow_execution_signaled_event_attributes")]
    scheduled = [e for e in events if e.HasField("activity_task_scheduled_event_attributes")]
    assert len(signalled) == len(refused) + 1
    assert len(scheduled) == 1  # only the valid reject was recorded


async def test_once_the_group_is_being_disconnected_a_reject_is_refused(rig: Rig) -> None:
    gate = Gate()
    rig.disconnections.disconnect_gate = gate
    handle = await start(
        rig, disconnection_input(effective_end_date=date.today() - timedelta(days=2))
    )
    await gate.reached()

    with pytest.raises(WorkflowUpdateFailedError) as late:
        await handle.execute_update(GroupDisconnectionWorkflow.decide, Decision.reject())
    await handle.signal(GroupDisconnectionWorkflow.reject)  # ignored as well

    assert refusal(late).type == wf.ILLEGAL_DECISION
    gate.open()
    assert (await handle.result()).status is DisconnectionStatus.COMPLETED


async def test_a_decision_racing_the_end_of_the_run_is_still_answered(rig: Rig) -> None:
    """Handlers finish before the run ends: a reject and an edit back, sent together."""
    input = disconnection_input(DisconnectionStatus.NEEDS_REVIEW, effective_end_date=far_away())
    handle = await start(rig, input)

    rejected, edited = await asyncio.gather(
        handle.execute_update(GroupDisconnectionWorkflow.decide, Decision.reject()),
        handle.execute_update(
            GroupDisconnectionWorkflow.decide, Decision(kind="edit", status="processing")
        ),
    )

    assert {rejected.status, edited.status} == {
        DisconnectionStatus.REJECTED,
        DisconnectionStatus.PROCESSING,
    }
    statuses = rig.disconnections.statuses(input.request_id)
    assert statuses[-1] in (DisconnectionStatus.PROCESSING, DisconnectionStatus.REJECTED)
    assert len(statuses) == 2  # both were applied, in arrival order
