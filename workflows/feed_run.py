"""FeedRun: one file of a feed to a file carrier: build it, hold it if the carrier would refuse
too much, deliver it over SFTP, wait for the 999 and move the transactions.

Started by the feed's Temporal Schedule (on its RRULE), by `POST /feeds/{id}/runs`, or by a
resend (`resend`: deliver the stored file again, same name and control numbers). The history
holds ids, statuses and counts only: the file (PII) is built and stored by the activities.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows import activity_refs
from workflows.common import STORE_RETRY, STORE_WRITE_TIMEOUT, at

with workflow.unsafe.imports_passed_through():
    from domain.feeds import (
        FeedRunInput,
        FeedRunStatus,
        OpenRunRequest,
        RunAcknowledged,
        RunRequest,
        RunReview,
        RunReviewed,
    )

WORKFLOW_NAME = "FeedRun"
REVIEW_SIGNAL = "review_feed_run"
# Building reads the group's pending transactions and validates the file (a 5,000-member file
# takes seconds: bench/feeds.py); it beats while it works.
BUILD_TIMEOUT = timedelta(minutes=10)
BUILD_HEARTBEAT = timedelta(minutes=2)
# An SFTP upload or a look for the 999: a server down is retried here, indefinitely, so a file
# goes out late rather than never (each try uploads under the same name: done once).
TRANSFER_TIMEOUT = timedelta(minutes=5)
TRANSFER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    non_retryable_error_types=["CarrierRejected", "NotFound", "ValidationFailed"],
)
ACK_POLL_BACKOFF = 1.5
ACK_POLL_MAX = timedelta(minutes=30)


@workflow.defn(name=WORKFLOW_NAME)
class FeedRunWorkflow:
    @workflow.init
    def __init__(self, input: FeedRunInput) -> None:
        self._review: RunReview | None = None

    @workflow.signal(name=REVIEW_SIGNAL)
    def review(self, review: RunReview) -> None:
        """An operator's word on a held run (`{"decision": "send"}` or `"discard"`)."""
        if review.decision in ("send", "discard"):
            self._review = review
        else:
            workflow.logger.warning("ignored review decision %r", review.decision)

    @workflow.run
    async def run(self, input: FeedRunInput) -> str:
        opened = await workflow.execute_activity_method(
            activity_refs.FeedActivities.open_run,
            OpenRunRequest(
                feed_id=input.feed_id,
                run_id=input.run_id,
                run_key=workflow.info().workflow_id,
                trigger=input.trigger,
            ),
            start_to_close_timeout=STORE_WRITE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if opened.run_id is None:
            return "skipped: the feed is paused or retired"
        request = RunRequest(run_id=opened.run_id)
        if not input.resend:
            built = await workflow.execute_activity_method(
                activity_refs.FeedActivities.build_file,
                request,
                start_to_close_timeout=BUILD_TIMEOUT,
                heartbeat_timeout=BUILD_HEARTBEAT,
                retry_policy=STORE_RETRY,
            )
            status = built.status
            if status == FeedRunStatus.HELD:
                status = await self._await_review(request)
            if status != FeedRunStatus.BUILT and status != FeedRunStatus.SENT:
                return status.value
        await workflow.execute_activity_method(
            activity_refs.FeedActivities.deliver_file,
            request,
            start_to_close_timeout=TRANSFER_TIMEOUT,
            retry_policy=TRANSFER_RETRY,
        )
        acknowledged = await self._await_acknowledgement(request, input)
        return (acknowledged.status or FeedRunStatus.UNACKNOWLEDGED).value

    async def _await_review(self, request: RunRequest) -> FeedRunStatus:
        workflow.set_current_details(
            f"**held** since {at(workflow.now())}: the carrier would refuse too many members.\n\n"
            f"Waits for signal `{REVIEW_SIGNAL}` with "
            '`{"decision": "send"}` or `{"decision": "discard"}`.'
        )
        await workflow.wait_condition(lambda: self._review is not None)
        assert self._review is not None
        return await workflow.execute_activity_method(
            activity_refs.FeedActivities.record_review,
            RunReviewed(run_id=request.run_id, decision=self._review.decision),
            start_to_close_timeout=STORE_WRITE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )

    async def _await_acknowledgement(
        self, request: RunRequest, input: FeedRunInput
    ) -> RunAcknowledged:
        """Look for the 999 soon after delivery, then less often, until the wait limit."""
        deadline = workflow.now() + input.ack_wait_limit
        poll = input.ack_poll
        while True:
            acknowledged = await workflow.execute_activity_method(
                activity_refs.FeedActivities.read_acknowledgement,
                request,
                start_to_close_timeout=TRANSFER_TIMEOUT,
                retry_policy=TRANSFER_RETRY,
            )
            if acknowledged.found:
                return acknowledged
            if workflow.now() >= deadline:
                await workflow.execute_activity_method(
                    activity_refs.FeedActivities.give_up,
                    request,
                    start_to_close_timeout=STORE_WRITE_TIMEOUT,
                    retry_policy=STORE_RETRY,
                )
                return RunAcknowledged(found=False, status=FeedRunStatus.UNACKNOWLEDGED)
            wait = min(poll, deadline - workflow.now())
            workflow.set_current_details(
                f"**sent**; waits for the carrier's 999 until {at(workflow.now() + wait)}"
            )
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: False, timeout=wait)
            poll = min(poll * ACK_POLL_BACKOFF, ACK_POLL_MAX)
