"""GroupConnection: find the group at the carrier, wait while it is not ready, pull its account."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import activity_refs
from workflows import search_attributes as sa
from workflows.common import (
    ACCOUNT_PULL_HEARTBEAT,
    ACCOUNT_PULL_TIMEOUT,
    CARRIER_CALL_TIMEOUT,
    CARRIER_RETRY,
    STORE_RETRY,
    STORE_WRITE_TIMEOUT,
    at,
    pull_census,
    report_carrier_ended,
    seconds_until,
    short_step,
)

# The activities hand back domain types from outside the sandbox (`activity_refs`): the
# workflow must compare against the same classes and enum members, whatever the runner.
with workflow.unsafe.imports_passed_through():
    from domain.account import GroupLookup
    from domain.audits import PullRequest
    from domain.connections import (
        OUTCOME_STATUS,
        Amendment,
        ConnectionInput,
        ConnectionState,
        ConnectionStatus,
        DataExchangeRequest,
        LookupRequest,
        ReviewDecision,
        StatusChange,
        check_amendment_bounds,
        check_transition,
        next_recheck_delay,
        parse_review_decision,
    )
    from domain.enums import LookupOutcome
    from domain.errors import ValidationFailed
    from domain.feeds import FeedReadiness

WORKFLOW_NAME = "GroupConnection"
# Connections completed before audits existed finish without a schedule or a carrier-ended check.
AFTER_COMPLETION_PATCH = "audit-schedule-and-carrier-ended"
# Connections completed before census pulls existed pulled no member.
CENSUS_PATCH = "census-pull"

# Runs from before file carriers complete on the account pull; later ones ask whether the
# carrier takes files, and then wait for the census and an approved test file first.
FILE_CARRIER_PATCH = "file-carrier-census-and-test-file"
# Every step after the lookup (statuses recorded, the data exchange, the account and census
# pulls, the audit schedule, the feed's readiness) runs as a local activity
# (`workflows.common.short_step`): a completed connection takes three workflow tasks instead
# of nine, each of which waited its turn in Temporal's queue (issue 23). A worker that dies
# mid-step loses its workflow task, and the next worker runs the step again after the task's
# timeout (10 s), as an ordinary pull was retried after its heartbeat timeout (15 s). The
# rechecks stay ordinary activities: they repeat on timers for days while the carrier is not
# ready, and their retries back off on the server's clock.
LOCAL_STEPS = "short-steps-as-local-activities"
# An attempt's first lookup runs as a local activity too, in the workflow task that recorded
# `processing`: a connection the carrier answers at once settles in one workflow task, not two
# with an activity task between them, each waiting its turn in Temporal's queue (issue 23:
# POST -> settled p99). The rechecks after it stay ordinary activities (see LOCAL_STEPS), and
# a first lookup whose carrier keeps failing is handed to one after `LOCAL_STEP_LIMIT`.
LOCAL_FIRST_LOOKUP = "first-lookup-as-local-activity"


def workflow_id(organization_id: uuid.UUID, carrier_id: uuid.UUID, carrier_group_id: str) -> str:
    """The business key of a connection: one lifecycle per carrier group in an organization."""
    return f"group-connection/{organization_id}/{carrier_id}/{carrier_group_id}"


def summary(group_name: str, carrier_name: str, carrier_group_id: str) -> str:
    """The run's static summary in the Temporal UI (names, no member data)."""
    return f"Connection of {group_name} to {carrier_name} (carrier group {carrier_group_id})"


def search_attributes(input: ConnectionInput) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.CONNECTION_STATUS, input.status.value),
            SearchAttributePair(sa.CARRIER_ID, str(input.carrier_id)),
            SearchAttributePair(sa.GROUP_ID, str(input.group_id)),
            SearchAttributePair(sa.CARRIER_GROUP_ID, input.group_data.carrier_group_id),
        ]
    )


class _Restart(Exception):
    """An amendment arrived: start the attempt over with the corrected data."""


@workflow.defn(name=WORKFLOW_NAME)
class GroupConnectionWorkflow:
    @workflow.init
    def __init__(self, input: ConnectionInput) -> None:
        self._input = input
        self._status = input.status
        self._seq = input.status_seq
        self._reason: str | None = None
        self._pending: list[Amendment] = []
        self._amendments_received = 0
        self._amendments_processed = 0
        self._review: ReviewDecision | None = None
        # The decision acted on last: its note goes with every status recorded after it.
        self._decided: ReviewDecision | None = None
        self._refused_review: str | None = None
        self._rechecks = 0
        # When the current wait ends (the next recheck), and when the status was entered: the
        # `state` query counts down to the one, the UI's current details show both.
        self._wake_at: datetime | None = None
        self._since = workflow.now()
        self._moving_to: ConnectionStatus | None = None

    # --- messages -----------------------------------------------------------------------------

    @workflow.query
    def state(self) -> ConnectionState:
        return ConnectionState(
            connection_id=self._input.connection_id,
            status=self._status,
            group_data=self._input.group_data,
            federal_ein=self._input.federal_ein,
            reason=self._reason,
            rechecks=self._rechecks,
            next_recheck_in_seconds=seconds_until(self._wake_at),
            next_recheck_at=self._wake_at,
            amendments=self._amendments_processed,
            refused_review=self._refused_review,
        )

    @workflow.update
    async def amend(self, amendment: Amendment) -> ConnectionState:
        """Retry now, with corrected identifiers if given; answers once `processing` is recorded."""
        self._pending.append(amendment)
        self._amendments_received += 1
        ticket = self._amendments_received
        await workflow.wait_condition(
            lambda: (
                self._amendments_processed >= ticket or self._status is ConnectionStatus.COMPLETED
            )
        )
        if self._amendments_processed < ticket:
            raise ApplicationError(
                "the connection is already completed", type="ConnectionCompleted"
            )
        return self.state()

    @amend.validator
    def _validate_amend(self, amendment: Amendment) -> None:
        try:
            # The API's bounds as well: `temporal workflow update` reaches here without it.
            check_amendment_bounds(amendment)
        except ValidationFailed as err:
            raise ApplicationError(str(err), type="InvalidAmendment") from None
        if self._status is ConnectionStatus.COMPLETED:
            raise ApplicationError(
                "the connection is already completed", type="ConnectionCompleted"
            )

    @workflow.update
    async def review(self, decision: Any) -> ConnectionState:
        """An operator's decision on `noyo_review` (the API and CLI); answers once the run has
        left `noyo_review` on it. The validator refuses a malformed one or one out of place."""
        review = parse_review_decision(decision)
        self._review = review
        await workflow.wait_condition(lambda: self._review is not review)
        await workflow.wait_condition(
            lambda: self._moving_to is None and self._status is not ConnectionStatus.NOYO_REVIEW
        )
        return self.state()

    @review.validator
    def _validate_review(self, decision: Any) -> None:
        try:
            parse_review_decision(decision)
        except ValueError as err:
            raise ApplicationError(str(err), type="InvalidReviewDecision") from None
        if not self._in_review():
            raise ApplicationError(
                f"the connection is {self._status}, not in noyo_review", type="NotInReview"
            )
        if self._review is not None:
            raise ApplicationError(
                "a review decision is already being applied", type="ReviewPending"
            )

    # Raw JSON, validated here: a malformed signal would otherwise be dropped by the SDK before
    # any handler saw it, and nothing but a worker log line would tell the operator.
    @workflow.signal
    def resolve_review(self, decision: Any) -> None:
        """An operator's decision on `noyo_review` (Temporal UI or `temporal workflow signal`);
        a malformed one is refused on the run (state, current details) and changes nothing."""
        try:
            review = parse_review_decision(decision)
        except ValueError as err:
            self._refused_review = str(err)
            workflow.logger.warning("%s", err)
            self._show_details()
            return
        if self._refused_review is not None:
            self._refused_review = None
            self._show_details()
        # A decision sent as soon as `noyo_review` shows in the API may beat the run adopting it.
        if not self._in_review():
            workflow.logger.warning(
                "ignored review decision %s: connection is %s", review.decision, self._status
            )
            return
        self._review = review

    def _in_review(self) -> bool:
        return ConnectionStatus.NOYO_REVIEW in (self._status, self._moving_to)

    # --- lifecycle ----------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: ConnectionInput) -> ConnectionState:
        # A retry racing the completion can start a run for a completed connection: end as is.
        while self._status is not ConnectionStatus.COMPLETED:
            try:
                await self._attempt()
            except _Restart:
                continue
            # A finished attempt is final for this run unless an amendment is waiting; a later
            # retry of `unable_to_connect` starts a new run with the same ID (update-with-start).
            if not self._pending or self._status is ConnectionStatus.COMPLETED:
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _attempt(self) -> None:
        """Ask the carrier, then again after a growing delay, until the connection completes,
        cannot connect, or waited too long; an amendment restarts it (`_Restart`)."""
        taken = self._take_amendments()
        await self._move(ConnectionStatus.PROCESSING)
        # Only what was taken before the write: an amendment arriving during it restarts us.
        self._amendments_processed = taken
        started = workflow.now()
        delay = self._input.recheck.initial_interval
        ask_carrier = True
        first = True
        while True:
            if ask_carrier and await self._ask_carrier(first=first):
                return
            first = False
            remaining = started + self._input.recheck.wait_limit - workflow.now()
            if remaining <= timedelta(0):
                await self._give_up()
                return
            ask_carrier = True
            if await self._wait(min(delay, remaining), give_up_at=workflow.now() + remaining):
                decided = await self._take_review()
                if decided:
                    return
                if decided is False:
                    # The pull was refused again: back in review, waiting for the next word.
                    ask_carrier = False
                    continue
            delay = next_recheck_delay(delay, self._input.recheck)
            self._rechecks += 1

    async def _ask_carrier(self, *, first: bool) -> bool:
        """Look the group up and act on the answer; True when the attempt is over."""
        lookup = await self._lookup(first=first)
        if self._pending:
            raise _Restart
        if lookup is None:
            return False
        if lookup.outcome is LookupOutcome.FOUND:
            return await self._connect()
        status = OUTCOME_STATUS[lookup.outcome]
        await self._move(status, reason=lookup.message or _DEFAULT_REASONS[status])
        return status is ConnectionStatus.UNABLE_TO_CONNECT

    async def _give_up(self) -> None:
        await self._move(
            ConnectionStatus.UNABLE_TO_CONNECT,
            reason=(
                f"gave up after {self._input.recheck.wait_limit} in {self._status}: {self._reason}"
            ),
        )

    async def _take_review(self) -> bool | None:
        """Act on the review decision that woke the wait: True when the attempt is over,
        False when the approved pull was refused again, None when no decision came."""
        review, self._review = self._review, None
        if review is not None:
            self._decided = review
        if self._pending:
            raise _Restart
        if review is None:
            return None
        if review.decision == "reject":
            await self._move(
                ConnectionStatus.UNABLE_TO_CONNECT, reason=review.note or "rejected by review"
            )
            return True
        return await self._connect()

    async def _wait(self, delay: timedelta, *, give_up_at: datetime) -> bool:
        """Sleep on a durable timer; True when an amendment or a review decision woke us."""
        self._wake_at = workflow.now() + delay
        self._show_details(waiting=True, give_up_at=give_up_at)
        try:
            await workflow.wait_condition(
                lambda: bool(self._pending) or self._review is not None, timeout=delay
            )
            return True
        except TimeoutError:
            return False
        finally:
            self._wake_at = None

    async def _lookup(self, *, first: bool) -> GroupLookup | None:
        """Ask the carrier (the attempt's `first` time as a local step, see
        LOCAL_FIRST_LOOKUP); a refusal of our data parks the connection in `action_required`."""
        data = self._input.group_data
        try:
            return await short_step(
                activity_refs.ConnectionActivities.lookup_group,
                LookupRequest(
                    carrier_id=self._input.carrier_id,
                    carrier_group_id=data.carrier_group_id,
                    broker_federal_ein=data.broker_federal_ein,
                ),
                local=first and workflow.patched(LOCAL_FIRST_LOOKUP),
                start_to_close_timeout=CARRIER_CALL_TIMEOUT,
                retry_policy=CARRIER_RETRY,
            )
        except ActivityError as err:
            await self._move(ConnectionStatus.ACTION_REQUIRED, reason=_cause(err))
            return None

    async def _connect(self) -> bool:
        """Found: register the link, pull the account, record the first audit; False if refused."""
        if self._status is not ConnectionStatus.PROCESSING:
            await self._move(ConnectionStatus.PROCESSING)
        data = self._input.group_data
        # Derived from the connection, so every replay and every later run sends the same key.
        key = str(uuid.uuid5(self._input.connection_id, "data-exchange"))
        try:
            await short_step(
                activity_refs.ConnectionActivities.register_data_exchange,
                DataExchangeRequest(
                    carrier_id=self._input.carrier_id,
                    carrier_group_id=data.carrier_group_id,
                    platform_reference=str(self._input.connection_id),
                    idempotency_key=key,
                ),
                local=workflow.patched(LOCAL_STEPS),
                start_to_close_timeout=CARRIER_CALL_TIMEOUT,
                retry_policy=CARRIER_RETRY,
            )
            summary = await short_step(
                activity_refs.AuditActivities.pull_account,
                self._pull_request(),
                local=workflow.patched(LOCAL_STEPS),
                start_to_close_timeout=ACCOUNT_PULL_TIMEOUT,
                heartbeat_timeout=ACCOUNT_PULL_HEARTBEAT,
                retry_policy=CARRIER_RETRY,
            )
            if workflow.patched(CENSUS_PATCH):
                # The members the carrier already holds, compared with what the platform sent
                # (the counts stay in history; the members are read through the API).
                await pull_census(
                    self._pull_request(),
                    source="connection",
                    local=workflow.patched(LOCAL_STEPS),
                )
        except ActivityError as err:
            await self._move(ConnectionStatus.NOYO_REVIEW, reason=_cause(err))
            return False
        after_completion = workflow.patched(AFTER_COMPLETION_PATCH)
        if after_completion:
            # Before `completed` is recorded, so every completed connection has audits running.
            await short_step(
                activity_refs.AuditActivities.ensure_audit_schedule,
                self._pull_request(),
                local=workflow.patched(LOCAL_STEPS),
                start_to_close_timeout=STORE_WRITE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        if workflow.patched(FILE_CARRIER_PATCH):
            readiness = await short_step(
                activity_refs.FeedActivities.prepare_feed,
                self._pull_request(),
                local=workflow.patched(LOCAL_STEPS),
                start_to_close_timeout=STORE_WRITE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            if not readiness.ready:
                await self._await_census_and_test_file(readiness)
        await self._move(
            ConnectionStatus.COMPLETED,
            setup_result={
                "audit_id": str(summary.audit_id),
                "locations": summary.locations,
                "contacts": summary.contacts,
                "group_enrollments": summary.group_enrollments,
                "plans": summary.plans,
                "differences": summary.differences,
                "coverage_end_date": summary.coverage_end_date,
            },
            completed=True,
        )
        if after_completion:
            await report_carrier_ended(self._pull_request(), summary)
        return True

    async def _await_census_and_test_file(self, readiness: FeedReadiness) -> None:
        """A file carrier: `action_required` (the group's data is readable, snapshots are
        taken) until a census exists and the carrier approved a test file (its positive 999
        on a test run of the feed); then back through `processing` to `completed`."""
        delay = self._input.recheck.initial_interval
        while not readiness.ready:
            await self._move(ConnectionStatus.ACTION_REQUIRED, reason=readiness.waiting_for())
            self._wake_at = workflow.now() + delay
            self._show_details(waiting=True)
            try:
                await workflow.wait_condition(lambda: bool(self._pending), timeout=delay)
            except TimeoutError:
                pass
            finally:
                self._wake_at = None
            if self._pending:
                raise _Restart  # an amendment: the attempt starts over with it
            delay = next_recheck_delay(delay, self._input.recheck)
            readiness = await short_step(
                activity_refs.FeedActivities.readiness,
                self._pull_request(),
                local=workflow.patched(LOCAL_STEPS),
                start_to_close_timeout=STORE_WRITE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        await self._move(ConnectionStatus.PROCESSING)

    def _pull_request(self) -> PullRequest:
        return PullRequest(
            connection_id=self._input.connection_id,
            organization_id=self._input.organization_id,
            group_id=self._input.group_id,
            carrier_id=self._input.carrier_id,
            carrier_group_id=self._input.group_data.carrier_group_id,
        )

    def _take_amendments(self) -> int:
        """Apply every pending amendment; returns how many have been received so far."""
        for amendment in self._pending:
            self._input = self._input.model_copy(
                update={
                    "group_data": amendment.apply(self._input.group_data),
                    "federal_ein": amendment.federal_ein or self._input.federal_ein,
                    "request_type": "incremental",
                }
            )
        self._pending.clear()
        return self._amendments_received

    async def _move(
        self,
        status: ConnectionStatus,
        *,
        reason: str | None = None,
        setup_result: dict[str, object] | None = None,
        completed: bool = False,
    ) -> None:
        """Check, record (PostgreSQL, search attributes, UI details) and adopt a new status."""
        if (
            status is self._status
            and reason == self._reason
            and status is not ConnectionStatus.PROCESSING
        ):
            return
        if status is not self._status:
            check_transition(self._status, status)
        self._seq += 1
        self._moving_to = status
        result: dict[str, object] = {"reason": reason} if reason else {}
        result.update(setup_result or {})
        if self._decided is not None:
            result["review"] = self._decided.model_dump(exclude_none=True)
        await short_step(
            activity_refs.ConnectionActivities.record_status,
            StatusChange(
                connection=self._input,
                status=status,
                seq=self._seq,
                reason=reason,
                setup_result=result,
                completed=completed,
            ),
            local=workflow.patched(LOCAL_STEPS),
            start_to_close_timeout=STORE_WRITE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if status is not self._status:
            self._since = workflow.now()
        self._status, self._reason, self._moving_to = status, reason, None
        if status is not ConnectionStatus.NOYO_REVIEW:
            self._review = None  # a decision only ever answers the review it was sent for
        workflow.upsert_search_attributes(
            [
                sa.CONNECTION_STATUS.value_set(status.value),
                sa.CARRIER_GROUP_ID.value_set(self._input.group_data.carrier_group_id),
            ]
        )
        self._show_details()

    def _show_details(self, *, waiting: bool = False, give_up_at: datetime | None = None) -> None:
        """The UI's current details: the status since when, why, and what the run waits for
        until when (no commands: replays are not affected)."""
        lines = [f"**{self._status.value}** since {at(self._since)}"]
        if self._reason:
            lines.append(self._reason)
        if waiting and self._wake_at is not None:
            waits = [f"the next check at the carrier at {at(self._wake_at)}", "a retry"]
            if self._status is ConnectionStatus.NOYO_REVIEW:
                waits = [
                    "an operator's review (signal `resolve_review` with "
                    '`{"decision": "approve"}` or `{"decision": "reject", "note": "..."}`)',
                    *waits,
                ]
            lines.append("Waits for " + ", or ".join(waits) + ".")
            if give_up_at is not None:
                lines.append(f"Gives up (unable_to_connect) at {at(give_up_at)}.")
        elif self._status is ConnectionStatus.PROCESSING:
            lines.append("Asking the carrier.")
        limit = self._input.recheck.overdue_after.get(self._status.value)
        if limit is not None:
            due = self._since + limit
            lines.append(
                f"**Overdue** since {at(due)}: longer in {self._status.value} than its limit."
                if workflow.now() >= due
                else f"Overdue from {at(due)} (the time limit of {self._status.value})."
            )
        lines.append(f"carrier group `{self._input.group_data.carrier_group_id}`")
        if self._refused_review:
            lines.append(f"**{self._refused_review}**")
        workflow.set_current_details("\n\n".join(lines))


_DEFAULT_REASONS: dict[ConnectionStatus, str] = {
    ConnectionStatus.NOYO_REVIEW: "the group's data needs an internal review",
    ConnectionStatus.WAITING_ON_CARRIER: "the carrier has not finished installing the group",
    ConnectionStatus.ACTION_REQUIRED: "the carrier needs the platform to act on this request",
    ConnectionStatus.CARRIER_AUTHORIZATION: "the carrier has not authorized access to this group",
    ConnectionStatus.UNABLE_TO_CONNECT: "the carrier has no group with this ID",
}


def _cause(err: ActivityError) -> str:
    cause = err.cause
    return str(cause.message if isinstance(cause, ApplicationError) else cause or err)
