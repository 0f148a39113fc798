"""MemberSnapshot against mocked activities: one key per transaction, polling, partial failure."""

from __future__ import annotations

import uuid

from tests.workflows.fakes import Rig
from workflows.member_snapshot import (
    MemberSnapshotWorkflow,
    SnapshotOutcome,
    SnapshotRun,
    TransactionOutcome,
    workflow_id,
)

PRINCIPAL = uuid.UUID("d0003042-eaae-4491-b219-4825456a3d16")
UNUM = uuid.UUID("23054cd9-0a41-43e3-bd43-2d2138006536")


async def run(rig: Rig, snapshot: SnapshotRun) -> SnapshotOutcome:
    return await rig.client.execute_workflow(
        MemberSnapshotWorkflow.run,
        snapshot,
        id=workflow_id(snapshot.snapshot_id),
        task_queue=rig.task_queue,
    )


async def test_each_carrier_transaction_is_sent_tracked_to_its_end_and_the_snapshot_finished(
    rig: Rig,
) -> None:
    snapshot = rig.snapshots.snapshot(PRINCIPAL, UNUM)

    outcome = await run(rig, snapshot)

    refs = rig.snapshots.transactions[snapshot.snapshot_id]
    assert outcome.transactions == {
        str(ref.transaction_id): TransactionOutcome.COMPLETED for ref in refs
    }
    assert {send.transaction_id for send in rig.snapshots.sends} == {
        ref.transaction_id for ref in refs
    }
    # Each poll while the carrier works is an attempt of one activity, then the answer.
    assert all(rig.snapshots.tracked[ref.transaction_id] == 3 for ref in refs)
    assert rig.snapshots.finished == [snapshot.snapshot_id]


async def test_a_send_retried_after_a_carrier_fault_keeps_its_idempotency_key(rig: Rig) -> None:
    rig.snapshots.send_failures = 2
    snapshot = rig.snapshots.snapshot(PRINCIPAL)

    await run(rig, snapshot)

    keys = [send.idempotency_key for send in rig.snapshots.sends]
    assert len(keys) == 3
    assert len(set(keys)) == 1
    # Keys are the workflow's own: two transactions never share one.
    other = rig.snapshots.snapshot(PRINCIPAL, UNUM)
    await run(rig, other)
    assert len({send.idempotency_key for send in rig.snapshots.sends}) == 3


async def test_a_carrier_failure_ends_only_its_transaction_and_the_snapshot_still_finishes(
    rig: Rig,
) -> None:
    snapshot = rig.snapshots.snapshot(PRINCIPAL, UNUM)
    principal, unum = rig.snapshots.transactions[snapshot.snapshot_id]
    rig.snapshots.final[principal.transaction_id] = TransactionOutcome.FAILED

    outcome = await run(rig, snapshot)

    assert outcome.transactions[str(principal.transaction_id)] is TransactionOutcome.FAILED
    assert outcome.transactions[str(unum.transaction_id)] is TransactionOutcome.COMPLETED
    assert rig.snapshots.finished == [snapshot.snapshot_id]


async def test_a_transaction_canceled_before_sending_is_not_tracked(rig: Rig) -> None:
    snapshot = rig.snapshots.snapshot(PRINCIPAL)
    (ref,) = rig.snapshots.transactions[snapshot.snapshot_id]
    rig.snapshots.outcomes[ref.transaction_id] = TransactionOutcome.CANCELED

    outcome = await run(rig, snapshot)

    assert outcome.transactions == {str(ref.transaction_id): TransactionOutcome.CANCELED}
    assert rig.snapshots.tracked == {}


async def test_a_snapshot_without_changes_finishes_without_carrier_calls(rig: Rig) -> None:
    snapshot = rig.snapshots.snapshot()

    outcome = await run(rig, snapshot)

    assert outcome.transactions == {}
    assert rig.snapshots.sends == []
    assert rig.snapshots.finished == [snapshot.snapshot_id]
