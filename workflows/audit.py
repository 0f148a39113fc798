"""GroupAudit: pull a connected group's account from its carrier and record what changed."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import activity_refs
from workflows.common import (
    ACCOUNT_PULL_HEARTBEAT,
    ACCOUNT_PULL_TIMEOUT,
    CARRIER_RETRY,
    STORE_RETRY,
    STORE_WRITE_TIMEOUT,
    at,
    pull_census,
    report_carrier_ended,
)

# The activities hand back domain types from outside the sandbox (`activity_refs`): the
# workflow must compare against the same classes and enum members, whatever the runner.
with workflow.unsafe.imports_passed_through():
    from domain.audits import AccountSummary, AuditFailure, PullRequest, failure_reason

WORKFLOW_NAME = "GroupAudit"

# Audits before census pulls existed refreshed no member.
CENSUS_PATCH = "census-refresh"
# Runs before this patch failed without recording why on the audit (the API read their history).
RECORD_FAILURE_PATCH = "audit-records-failure-reason"

# A carrier that is down keeps an audit retrying this long; the next scheduled run tries again.
AUDIT_DEADLINE = timedelta(hours=1)


@workflow.defn(name=WORKFLOW_NAME)
class GroupAuditWorkflow:
    """One audit: run by the group's schedule, or started by a platform's audit request."""

    @workflow.run
    async def run(self, request: PullRequest) -> AccountSummary | None:
        if request.audit_id is None:
            # Made once per run (replays see the same id), so a retried pull records one audit.
            request = request.model_copy(update={"audit_id": workflow.uuid4()})
        started = workflow.now()
        workflow.set_current_details(
            f"audit `{request.audit_id}` ({request.trigger.value}) of carrier group "
            f"`{request.carrier_group_id}`\n\nPulling the group's account from the carrier "
            f"since {at(started)}; a carrier that is down is retried until "
            f"{at(started + AUDIT_DEADLINE)}, then the audit fails."
        )
        try:
            summary = await workflow.execute_activity_method(
                activity_refs.AuditActivities.pull_account,
                request,
                start_to_close_timeout=ACCOUNT_PULL_TIMEOUT,
                heartbeat_timeout=ACCOUNT_PULL_HEARTBEAT,
                schedule_to_close_timeout=AUDIT_DEADLINE,
                retry_policy=CARRIER_RETRY,
            )
            members = None
            if workflow.patched(CENSUS_PATCH):
                members, _ = await pull_census(request, source=None)
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "GroupNotConnected":
                # A run that raced the group's disconnection: nothing to audit any more.
                workflow.set_current_details(f"skipped: {cause.message}")
                return None
            if workflow.patched(RECORD_FAILURE_PATCH):
                await self._record_failure(request, failure_reason(err))
            raise
        workflow.set_current_details(
            f"audit `{summary.audit_id}`: created {summary.created or 'nothing'}, "
            f"changed {summary.changed or 'nothing'}"
            + (f"; {members} member(s) refreshed" if members is not None else "")
            + (
                f"\n\nthe carrier ends the group on {summary.coverage_end_date}"
                if summary.coverage_end_date
                else ""
            )
        )
        await report_carrier_ended(request, summary)
        return summary

    async def _record_failure(self, request: PullRequest, reason: str) -> None:
        """Keep why on the audit itself, where the API serves it after the history is gone."""
        workflow.set_current_details(f"audit `{request.audit_id}` failed: {reason}")
        await workflow.execute_activity_method(
            activity_refs.AuditActivities.record_failure,
            AuditFailure(request=request, workflow_id=workflow.info().workflow_id, reason=reason),
            start_to_close_timeout=STORE_WRITE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
