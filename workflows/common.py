"""What the lifecycles share: retry policies, timeouts, and steps more than one of them takes."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from workflows import activity_refs

# Carrier faults (5xx, timeouts) are retried here, indefinitely and without touching the
# status; refusals of the data are non-retryable and land in a status with the reason.
CARRIER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["CarrierRejected", "InvalidCarrierData"],
)
# A call must outlive the carrier client's own timeout (settings.carrier_timeout_seconds, 10 s)
# but not by much: if a worker dies mid-call, the retry starts when this runs out.
CARRIER_CALL_TIMEOUT = timedelta(seconds=15)
ACCOUNT_PULL_TIMEOUT = timedelta(seconds=60)
# A pull (the account's structure, a renewal check) beats while it works: if its worker dies,
# the retry starts once this passes, not when the minute of ACCOUNT_PULL_TIMEOUT runs out.
ACCOUNT_PULL_HEARTBEAT = timedelta(seconds=15)
STORE_WRITE_TIMEOUT = timedelta(seconds=10)
# A batch activity (a group's snapshots or confirmations) may take minutes under load, and it
# beats while it works (`activities.heartbeat`): a batch whose worker died is retried once
# this passes, not when its start-to-close timeout does.
BATCH_HEARTBEAT = timedelta(seconds=15)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)

# A short step (a few statements, a carrier call or a batch of them) run as a local activity
# costs the history one marker and no activity task through the server, and it runs inside the
# workflow task that scheduled it: no second trip through Temporal's queue (issue 23). One that
# keeps failing this long (the database or the carrier down) is left to an ordinary activity,
# whose retries add nothing to the history while the local one's keep the workflow task beating
# (`local_attempts`).
LOCAL_STEP_LIMIT = timedelta(minutes=1)
# The workflow task timeout of the group loops (fulfillment, confirmations), set where they are
# started (`services.wakes`) and carried over continue-as-new. A turn's local steps run inside
# one workflow task, which the SDK's Core keeps alive by heartbeating at 80% of this timeout.
# Under the 5,000-snapshot burst on two cores, with the default 10 s those heartbeats came up
# to 3 s late (worker log: a task completed after 10.6 s, its previous heartbeat at 8.1 s), the
# server had given the task up ("Task not found"), and the turn's local steps ran again: up to
# 740 carrier writes re-sent in one run (absorbed under their keys, but work done twice). The
# price: a worker that dies mid-turn holds that group's loop up to 30 s instead of 10.
LOOP_TASK_TIMEOUT = timedelta(seconds=30)

Arg = TypeVar("Arg")
Result = TypeVar("Result")

# The activities hand back domain types from outside the sandbox (`activity_refs`): the
# workflow must compare against the same classes and enum members, whatever the runner.
with workflow.unsafe.imports_passed_through():
    from domain.audits import AccountSummary, PullRequest
    from domain.census import CensusPageRequest
    from domain.disconnections import CarrierEnded


async def short_step(
    activity: Callable[[Any, Arg], Awaitable[Result]],
    arg: Arg,
    *,
    local: bool,
    start_to_close_timeout: timedelta,
    retry_policy: RetryPolicy,
    heartbeat_timeout: timedelta | None = None,
) -> Result:
    """Run an activity method of `activity_refs`: as a local activity first when `local` (the
    caller's `workflow.patched(...)`, so histories from before replay), as an ordinary one
    otherwise or once the local one gave up after `LOCAL_STEP_LIMIT`. A refusal (a
    non-retryable failure) is raised as an `ActivityError` whichever ran, since the ordinary
    activity would only refuse again. Every step run this way must be safe to repeat, as an
    ordinary activity's retry is."""
    if local:
        try:
            return await workflow.execute_local_activity_method(
                activity,
                arg,
                schedule_to_close_timeout=LOCAL_STEP_LIMIT,
                retry_policy=dataclasses.replace(
                    retry_policy, maximum_attempts=local_attempts(retry_policy)
                ),
            )
        except ActivityError as err:
            if _refused(err.cause, retry_policy):
                raise
        except ApplicationError as err:
            # A local activity's own failure (a refusal, or its last attempt's) reaches the
            # workflow as the activity raised it, where an ordinary one's comes wrapped: a
            # refusal is wrapped here, so callers handle both alike.
            if _refused(err, retry_policy):
                name = getattr(activity, "__name__", str(activity))
                raise ActivityError(
                    f"local activity {name} failed",
                    scheduled_event_id=0,
                    started_event_id=0,
                    identity="",
                    activity_type=name,
                    activity_id="",
                    retry_state=RetryState.NON_RETRYABLE_FAILURE,
                ) from err
    return await workflow.execute_activity_method(
        activity,
        arg,
        start_to_close_timeout=start_to_close_timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=retry_policy,
    )


def local_attempts(retry_policy: RetryPolicy, limit: timedelta | None = None) -> int:
    """How many attempts the policy's backoff fits in `limit` (`LOCAL_STEP_LIMIT`): the local
    run's bound. The SDK's worker does not end a local activity at its schedule-to-close
    timeout while its attempts keep failing (measured: still retrying after 20 s of a 3 s
    timeout), so the attempts are what hand a failing step to the ordinary activity."""
    limit = LOCAL_STEP_LIMIT if limit is None else limit
    interval = retry_policy.initial_interval or timedelta(seconds=1)
    ceiling = retry_policy.maximum_interval or interval * 100
    attempts, waited = 1, timedelta(0)
    while waited + interval <= limit:
        waited += interval
        attempts += 1
        interval = min(interval * retry_policy.backoff_coefficient, ceiling)
    if retry_policy.maximum_attempts:
        attempts = min(attempts, retry_policy.maximum_attempts)
    return attempts


def _refused(cause: BaseException | None, retry_policy: RetryPolicy) -> bool:
    """Whether the activity failed for good (its retry policy would not try again), not for
    want of time."""
    return isinstance(cause, ApplicationError) and (
        cause.non_retryable or cause.type in (retry_policy.non_retryable_error_types or ())
    )


def at(moment: datetime) -> str:
    """A moment as the run's current details show it in the Temporal UI: UTC, to the second."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds_until(moment: datetime | None) -> float | None:
    """Seconds from the run's current time to `moment` (never negative), for `state` queries."""
    if moment is None:
        return None
    return max((moment - workflow.now()).total_seconds(), 0.0)


async def report_carrier_ended(request: PullRequest, summary: AccountSummary) -> None:
    """The pull found the carrier ending the group: raise a request for a person to review."""
    if summary.coverage_end_date is None:
        return
    await workflow.execute_activity_method(
        activity_refs.DisconnectionActivities.raise_carrier_disconnection,
        CarrierEnded(
            connection_id=request.connection_id,
            organization_id=request.organization_id,
            group_id=request.group_id,
            carrier_id=request.carrier_id,
            coverage_end_date=date.fromisoformat(summary.coverage_end_date),
            audit_id=summary.audit_id,
        ),
        start_to_close_timeout=STORE_WRITE_TIMEOUT,
        retry_policy=STORE_RETRY,
    )


async def pull_census(
    request: PullRequest, *, source: str | None, local: bool = False
) -> tuple[int, int]:
    """Pull the group's census from its carrier page by page: (employees stored, differences
    opened). Each activity reads and stores one page itself, so history holds a cursor and
    counts per page, never a person; a group of thousands costs a few events per page. With
    `local`, each page is a `short_step` run locally first."""
    cursor: str | None = None
    members = differences = 0
    while True:
        page = await short_step(
            activity_refs.AuditActivities.pull_census_page,
            CensusPageRequest(pull=request, cursor=cursor, source=source),
            local=local,
            start_to_close_timeout=ACCOUNT_PULL_TIMEOUT,
            heartbeat_timeout=ACCOUNT_PULL_HEARTBEAT,
            retry_policy=CARRIER_RETRY,
        )
        members += page.members
        differences += page.differences
        if page.next_cursor is None:
            return members, differences
        cursor = page.next_cursor
