"""MemberSnapshot: build a snapshot's carrier transactions, send each once, follow each to its end.

History holds ids and statuses only: the snapshot's people (names, dates of birth, SSNs) stay
in PostgreSQL, and the activities read them there. The idempotency key of each carrier write
is made here, once per transaction, so a retried or replayed send is the same write.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.common import CARRIER_CALL_TIMEOUT, CARRIER_RETRY, STORE_RETRY, STORE_WRITE_TIMEOUT

WORKFLOW_NAME = "MemberSnapshot"

BUILD_TRANSACTIONS = "build_member_transactions"
SEND_TRANSACTION = "send_member_transaction"
TRACK_TRANSACTION = "track_member_transaction"
FINISH_SNAPSHOT = "finish_member_snapshot"

# The API stores the snapshot and starts this run in one database transaction; a run that
# starts before the commit (or whose commit failed) waits this long for the row, then ends.
SNAPSHOT_ARRIVAL = timedelta(minutes=2)

# Following a transaction at the carrier: each attempt of the tracking activity asks once and
# fails while the carrier is still working, so the retry policy is the polling schedule and
# the history does not grow with the number of polls. Managed changes take business days.
TRACK_POLL = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=1.5,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["CarrierRejected"],
)
TRACK_DEADLINE = timedelta(days=30)


class SnapshotRun(BaseModel):
    snapshot_id: uuid.UUID


class TransactionRef(BaseModel):
    transaction_id: uuid.UUID
    carrier_id: uuid.UUID


class SendTransaction(BaseModel):
    transaction_id: uuid.UUID
    idempotency_key: str


class TransactionOutcome(StrEnum):
    SENT = "sent"  # the carrier has it; tracking follows
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"  # replaced by a newer snapshot before it was sent


class SnapshotOutcome(BaseModel):
    snapshot_id: uuid.UUID
    transactions: dict[str, TransactionOutcome]


def workflow_id(snapshot_id: uuid.UUID) -> str:
    return f"member-snapshot/{snapshot_id}"


@workflow.defn(name=WORKFLOW_NAME)
class MemberSnapshotWorkflow:
    @workflow.run
    async def run(self, run: SnapshotRun) -> SnapshotOutcome:
        refs = await workflow.execute_activity(
            BUILD_TRANSACTIONS,
            run,
            result_type=list[TransactionRef],
            start_to_close_timeout=STORE_WRITE_TIMEOUT,
            schedule_to_close_timeout=SNAPSHOT_ARRIVAL,
            retry_policy=STORE_RETRY,
        )
        workflow.set_current_details(f"{len(refs)} carrier transaction(s)")
        outcomes = await asyncio.gather(*(self._fulfil(ref) for ref in refs))
        await workflow.execute_activity(
            FINISH_SNAPSHOT,
            run,
            start_to_close_timeout=STORE_WRITE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        return SnapshotOutcome(
            snapshot_id=run.snapshot_id,
            transactions={
                str(ref.transaction_id): outcome
                for ref, outcome in zip(refs, outcomes, strict=True)
            },
        )

    async def _fulfil(self, ref: TransactionRef) -> TransactionOutcome:
        # Made once: a replay draws the same key, so the carrier sees one write however often
        # the send is retried.
        key = str(workflow.uuid4())
        sent = await workflow.execute_activity(
            SEND_TRANSACTION,
            SendTransaction(transaction_id=ref.transaction_id, idempotency_key=key),
            result_type=TransactionOutcome,
            start_to_close_timeout=CARRIER_CALL_TIMEOUT,
            retry_policy=CARRIER_RETRY,
        )
        if sent is not TransactionOutcome.SENT:
            return sent
        return await workflow.execute_activity(
            TRACK_TRANSACTION,
            ref.transaction_id,
            result_type=TransactionOutcome,
            start_to_close_timeout=CARRIER_CALL_TIMEOUT,
            schedule_to_close_timeout=TRACK_DEADLINE,
            retry_policy=TRACK_POLL,
        )
