"""GroupAudit against mocked activities: the audit's id, the skip on disconnection, failures."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from domain.audits import AccountSummary, AuditTrigger, PullRequest
from tests.workflows.fakes import Rig, connection_input
from workflows.audit import GroupAuditWorkflow


def audit_request(trigger: AuditTrigger, audit_id: uuid.UUID | None = None) -> PullRequest:
    input = connection_input("1234567")
    return PullRequest(
        connection_id=input.connection_id,
        organization_id=input.organization_id,
        group_id=input.group_id,
        carrier_id=input.carrier_id,
        carrier_group_id="1234567",
        trigger=trigger,
        audit_id=audit_id,
    )


async def run(rig: Rig, request: PullRequest) -> AccountSummary | None:
    return await rig.client.execute_workflow(
        GroupAuditWorkflow.run, request, id=f"audit-{uuid.uuid4()}", task_queue=rig.task_queue
    )


async def test_a_scheduled_audit_makes_its_own_id_and_pulls_once(rig: Rig) -> None:
    summary = await run(rig, audit_request(AuditTrigger.SCHEDULE))

    assert summary is not None
    (pull,) = rig.carrier.pulls
    assert pull.trigger is AuditTrigger.SCHEDULE
    assert pull.audit_id is not None
    # Not the connection's initial-audit id: every scheduled run is a new audit.
    assert pull.audit_id != uuid.uuid5(pull.connection_id, "initial-audit")


async def test_a_requested_audit_keeps_the_id_the_api_gave_it(rig: Rig) -> None:
    audit_id = uuid.uuid4()

    await run(rig, audit_request(AuditTrigger.REQUEST, audit_id))

    assert [p.audit_id for p in rig.carrier.pulls] == [audit_id]


async def test_an_audit_of_a_disconnected_group_ends_quietly(rig: Rig) -> None:
    rig.carrier.pull_error = ApplicationError(
        "no live connection", type="GroupNotConnected", non_retryable=True
    )

    assert await run(rig, audit_request(AuditTrigger.SCHEDULE)) is None


async def test_carrier_data_that_breaks_the_schema_fails_the_audit(rig: Rig) -> None:
    rig.carrier.pull_error = ApplicationError(
        "plans.0.status: bad", type="InvalidCarrierData", non_retryable=True
    )

    with pytest.raises(WorkflowFailureError):
        await run(rig, audit_request(AuditTrigger.SCHEDULE))
    assert len(rig.carrier.pulls) == 1
    # The run recorded why on the audit (the id it made), before failing.
    (failure,) = rig.carrier.audit_failures
    assert failure.reason == "InvalidCarrierData: plans.0.status: bad"
    assert failure.request.audit_id == rig.carrier.pulls[0].audit_id
    assert failure.workflow_id.startswith("audit-")


async def test_a_refused_requested_audit_records_why_on_its_own_id(rig: Rig) -> None:
    rig.carrier.pull_error = ApplicationError(
        "group 1234567 is not ours", type="CarrierRejected", non_retryable=True
    )
    audit_id = uuid.uuid4()

    with pytest.raises(WorkflowFailureError):
        await run(rig, audit_request(AuditTrigger.REQUEST, audit_id))
    (failure,) = rig.carrier.audit_failures
    assert failure.request.audit_id == audit_id
    assert failure.reason == "CarrierRejected: group 1234567 is not ours"


async def test_a_skipped_audit_records_no_failure(rig: Rig) -> None:
    rig.carrier.pull_error = ApplicationError(
        "no live connection", type="GroupNotConnected", non_retryable=True
    )

    assert await run(rig, audit_request(AuditTrigger.SCHEDULE)) is None
    assert rig.carrier.audit_failures == []
