"""A failed audit says why: the innermost cause of its run's failure, not only a traceback."""

from __future__ import annotations

import uuid
from typing import Any, cast

from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from services.audits import _failure_reason
from store.models import GroupAudit


class FailedRun:
    async def result(self) -> Any:
        refusal = ApplicationError(
            "the carrier's account data is invalid: plans.0.name", type="InvalidCarrierData"
        )
        activity = ActivityError(
            "activity error",
            scheduled_event_id=5,
            started_event_id=6,
            identity="worker",
            activity_type="pull_account",
            activity_id="1",
            retry_state=RetryState.NON_RETRYABLE_FAILURE,
        )
        activity.__cause__ = refusal
        failure = WorkflowFailureError(cause=activity)
        failure.__cause__ = activity
        raise failure


class Temporal:
    def get_workflow_handle(self, workflow_id: str) -> FailedRun:
        return FailedRun()


async def test_the_reason_is_the_innermost_cause_with_its_type() -> None:
    audit = GroupAudit(id=uuid.uuid4(), workflow_id="group-audit/principal/1/x/request/y")
    reason = await _failure_reason(cast(Client, Temporal()), audit)
    assert reason == "InvalidCarrierData: the carrier's account data is invalid: plans.0.name"
