"""RenewalDecision: check a decision at its carriers on a durable timer until it is done.

One run per decision. Each turn checks the carriers' plans as of the renewal date (an activity),
records the result (an activity; the status moves only when the result does), then sleeps until
the next check, daily by default. An edit wakes it at once (the `recheck` signal). The run ends
once the decision is `done`: the renewal date has passed and so has the late-enrollment window
after the decided OE windows (`domain.renewals.watched_until`).
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from workflows import activity_refs
from workflows import search_attributes as sa
from workflows.common import (
    ACCOUNT_PULL_HEARTBEAT,
    ACCOUNT_PULL_TIMEOUT,
    CARRIER_RETRY,
    STORE_RETRY,
    STORE_WRITE_TIMEOUT,
    at,
)

# The activities hand back domain types from outside the sandbox (`activity_refs`): the
# workflow must compare against the same classes and enum members, whatever the runner.
with workflow.unsafe.imports_passed_through():
    from domain.renewals import (
        CheckOutcome,
        IssueLevel,
        RenewalCheck,
        RenewalRunInput,
        RenewalStatus,
    )

WORKFLOW_NAME = "RenewalDecision"
RECHECK_SIGNAL = "recheck"
# A run hands over to a fresh one (continue-as-new) after this many checks, or sooner when the
# server suggests it: a year of daily checks stays a few short histories.
CHECKS_PER_RUN = 100


def workflow_id(decision_id: uuid.UUID) -> str:
    return f"renewal-decision/{decision_id}"


def search_attributes(input: RenewalRunInput) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.RENEWAL_STATUS, input.last_status.value),
            SearchAttributePair(sa.GROUP_ID, str(input.group_id)),
        ]
    )


def summary(group_name: str, carrier_names: list[str], renewal_date: str) -> str:
    """The run's static summary in the Temporal UI."""
    return f"Renewal of {group_name} at {', '.join(carrier_names)} on {renewal_date}"


@workflow.defn(name=WORKFLOW_NAME)
class RenewalDecisionWorkflow:
    @workflow.init
    def __init__(self, input: RenewalRunInput) -> None:
        self._input = input
        self._status = input.last_status
        self._woken = False

    @workflow.signal(name=RECHECK_SIGNAL)
    def recheck(self) -> None:
        """The decision was edited (or an operator asks): check again now."""
        self._woken = True

    @workflow.query
    def status(self) -> RenewalStatus:
        return self._status

    @workflow.run
    async def run(self, input: RenewalRunInput) -> RenewalStatus:
        checks = 0
        while True:
            self._woken = False
            outcome = await workflow.execute_activity_method(
                activity_refs.RenewalActivities.check_renewal,
                RenewalCheck(decision_id=input.decision_id),
                start_to_close_timeout=ACCOUNT_PULL_TIMEOUT,
                heartbeat_timeout=ACCOUNT_PULL_HEARTBEAT,
                # Carrier faults are retried here, for as long as they last; the status stays.
                retry_policy=CARRIER_RETRY,
            )
            if outcome.missing:
                return self._status
            if self._woken:
                continue  # edited while checking: check the new body instead
            watched_until = outcome.watched_until
            assert watched_until is not None
            if workflow.now().date() > watched_until:
                outcome = outcome.model_copy(update={"status": RenewalStatus.DONE})
            recorded = await workflow.execute_activity_method(
                activity_refs.RenewalActivities.record_check,
                outcome,
                start_to_close_timeout=STORE_WRITE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            if not recorded.applied:
                if recorded.status == RenewalStatus.DONE:
                    self._adopt(RenewalStatus.DONE, outcome)
                    return RenewalStatus.DONE
                continue  # checked an earlier edit: check the current one
            self._adopt(recorded.status, outcome)
            if recorded.status == RenewalStatus.DONE:
                return RenewalStatus.DONE
            checks += 1
            # Wake for the next check, or on the day the decision becomes done if sooner.
            done_at = datetime.combine(watched_until + timedelta(days=1), dtime.min, tzinfo=UTC)
            await self._sleep(min(input.recheck_every, done_at - workflow.now()), outcome)
            # Handed over after a sleep, so the next run starts with the check that is due.
            if checks >= CHECKS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(input.model_copy(update={"last_status": self._status}))

    async def _sleep(self, duration: timedelta, outcome: CheckOutcome) -> None:
        """A durable timer, cut short by the `recheck` signal."""
        now = workflow.now()
        self._adopt(
            self._status,
            outcome,
            waits=f"Checked at {at(now)}; the next check at {at(now + duration)}, or at once "
            "when the decision is edited (signal `recheck`).",
        )
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._woken, timeout=duration)

    # Statuses are compared with `==`, never `is`: activity results are decoded into the
    # activities' own (passed-through) classes, which a sandboxed run does not share.

    def _adopt(self, status: RenewalStatus, outcome: CheckOutcome, *, waits: str = "") -> None:
        """Show the status: search attribute (when it moved) and the UI's current details."""
        if status != self._status:
            workflow.upsert_search_attributes([sa.RENEWAL_STATUS.value_set(status.value)])
            self._status = status
        carriers = ", ".join(outcome.carrier_names.values())
        details = (
            f"**{status.value}**: {outcome.group_name} at {carriers}, "
            f"renewal date {outcome.renewal_date}"
        )
        if status != RenewalStatus.DONE and outcome.issues:
            errors = sum(1 for i in outcome.issues if i.level == IssueLevel.ERROR)
            details += f"\n\n{errors} error(s), {len(outcome.issues) - errors} warning(s):"
            for issue in outcome.issues:
                carrier = outcome.carrier_names.get(issue.carrier_id) if issue.carrier_id else None
                where = ", ".join(p for p in (carrier, issue.line_of_coverage) if p)
                details += f"\n- {issue.level.value} ({where}): {issue.message}"
        if waits:
            details += f"\n\n{waits}"
        workflow.set_current_details(details)
