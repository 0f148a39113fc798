"""Activities of member snapshots: build the carrier transactions, send them, follow them.

Each takes and returns ids and statuses only; the member data is read from PostgreSQL here and
sent to the carrier, so it never enters workflow history. Logs name ids, never people.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from carrierlink.confirmations import wake_group_confirmations
from carrierlink.settings import Settings
from carriers import CarrierAdapter, CarrierRejected
from domain.differences import ConfirmationStage
from domain.member_changes import (
    FulfillmentStatus,
    SnapshotStatus,
    StatusDetail,
    TransactionStatus,
    plan_transaction,
)
from domain.members import CarrierMember, CarrierTransactionState, CarrierTransactionStatus
from store.connections import live_connection
from store.db import Database
from store.members import (
    cancel_unsent,
    last_sent_member,
    lock_member_at_carrier,
    snapshot_transactions,
)
from store.models import MemberSnapshot, MemberTransaction, unix_now
from store.versioning import save_version
from workflows.member_snapshot import (
    BUILD_TRANSACTIONS,
    FINISH_SNAPSHOT,
    SEND_TRANSACTION,
    TRACK_TRANSACTION,
    SendTransaction,
    SnapshotRun,
    TransactionOutcome,
    TransactionRef,
)

log = logging.getLogger("carrierlink.member_snapshots")

_FINAL = {
    TransactionStatus.COMPLETED.value: TransactionOutcome.COMPLETED,
    TransactionStatus.FAILED.value: TransactionOutcome.FAILED,
    TransactionStatus.CANCELED.value: TransactionOutcome.CANCELED,
}

# What the carrier reports, as the contract's status details.
_DETAIL = {
    CarrierTransactionState.ACCEPTED: StatusDetail.CARRIER_ACCEPTED,
    CarrierTransactionState.PROCESSING: StatusDetail.CARRIER_PROCESSING,
    CarrierTransactionState.MANAGED: StatusDetail.CARRIER_PROCESSING,
    CarrierTransactionState.COMPLETED: StatusDetail.CARRIER_COMPLETED,
    CarrierTransactionState.FAILED: StatusDetail.CARRIER_FAILED,
}
MANAGED_NOTE = (
    "managed change: the carrier handles it by hand, which takes longer (Principal: 5-10 "
    "business days; Unum: up to 10 days)"
)


class MemberSnapshotActivities:
    def __init__(
        self,
        database: Database,
        adapters: dict[uuid.UUID, CarrierAdapter],
        client: Client,
        settings: Settings,
    ) -> None:
        self._db = database
        self._adapters = adapters
        self._client = client
        self._settings = settings

    @activity.defn(name=BUILD_TRANSACTIONS)
    async def build_transactions(self, run: SnapshotRun) -> list[TransactionRef]:
        """Compare the snapshot with what each carrier was last sent; one transaction per carrier
        that differs. Safe to repeat: a snapshot's transactions are built once."""
        async with self._db.transaction() as session:
            row = await session.get(MemberSnapshot, run.snapshot_id, with_for_update=True)
            if row is None:
                raise ApplicationError(
                    f"snapshot {run.snapshot_id} is not stored (yet)", type="SnapshotMissing"
                )
            built = await snapshot_transactions(session, row.id)
            if built or row.status != SnapshotStatus.SUBMITTED.value:
                return [_ref(t) for t in built if t.status != TransactionStatus.CANCELED.value]
            refs: list[TransactionRef] = []
            summary: list[dict[str, Any]] = []
            # Sorted, so two builds of one employee take the carrier locks in the same order.
            for carrier_key in sorted(row.carrier_members):
                carrier_id = uuid.UUID(carrier_key)
                await lock_member_at_carrier(session, row.employee_id, carrier_id)
                for stale in await cancel_unsent(session, row.employee_id, carrier_id):
                    await _cancel(session, stale)
                target = CarrierMember.model_validate(row.carrier_members[carrier_key])
                previous = await last_sent_member(session, row.employee_id, carrier_id)
                planned = plan_transaction(previous, target)
                if planned is None:
                    summary.append(_fulfillment(carrier_id, FulfillmentStatus.NO_CHANGES))
                    continue
                transaction = MemberTransaction(
                    id=uuid.uuid4(),
                    organization_id=row.organization_id,
                    group_id=row.group_id,
                    employee_id=row.employee_id,
                    member_snapshot_id=row.id,
                    carrier_id=carrier_id,
                    lines_of_coverage=list(planned.lines_of_coverage),
                    transaction_type=planned.transaction_type.value,
                    status=TransactionStatus.PROCESSING.value,
                    body={
                        "member": planned.member.model_dump(mode="json"),
                        "changes": [change.as_json() for change in planned.changes],
                    },
                    result={},
                    status_details=[_detail(StatusDetail.NOYO_ACCEPTED)],
                )
                await save_version(session, transaction, is_new=True, history=False)
                refs.append(_ref(transaction))
                summary.append(_fulfillment(carrier_id, FulfillmentStatus.PROCESSING))
            row.fulfillment_summary = summary
            row.status = (SnapshotStatus.PROCESSING if refs else SnapshotStatus.COMPLETED).value
            await save_version(session, row, history=False)
        log.info("snapshot %s: %d carrier transaction(s) built", run.snapshot_id, len(refs))
        return refs

    @activity.defn(name=SEND_TRANSACTION)
    async def send_transaction(self, send: SendTransaction) -> TransactionOutcome:
        """Send the transaction once under the workflow's key; the carrier deduplicates on it.

        Holds the employee's lock at the carrier while sending, so a newer snapshot's build
        either sees the transaction sent or cancels it before it goes.
        """
        async with self._db.transaction() as session:
            found = await session.get(MemberTransaction, send.transaction_id)
            if found is None:
                raise ApplicationError(f"transaction {send.transaction_id} not found")
            await lock_member_at_carrier(session, found.employee_id, found.carrier_id)
            transaction = await session.get(
                MemberTransaction, send.transaction_id, with_for_update=True, populate_existing=True
            )
            assert transaction is not None
            if transaction.status in _FINAL:
                return _FINAL[transaction.status]
            if transaction.carrier_transaction_id is not None:
                return TransactionOutcome.SENT
            snapshot = await session.get(MemberSnapshot, transaction.member_snapshot_id)
            assert snapshot is not None
            if snapshot.status == SnapshotStatus.REPLACED.value:
                await _cancel(session, transaction)
                return TransactionOutcome.CANCELED
            connection = await live_connection(
                session, transaction.group_id, transaction.carrier_id
            )
            if connection is None:
                await _fail(session, transaction, "the group is no longer connected to the carrier")
                return TransactionOutcome.FAILED
            try:
                receipt = await self._adapters[transaction.carrier_id].send_member_transaction(
                    connection.carrier_group_id,
                    transaction_id=str(transaction.id),
                    transaction_type=transaction.transaction_type,
                    member=CarrierMember.model_validate(transaction.body["member"]),
                    idempotency_key=send.idempotency_key,
                )
            except CarrierRejected as exc:
                await _fail(session, transaction, f"the carrier refused the transaction: {exc}")
                return TransactionOutcome.FAILED
            transaction.carrier_transaction_id = receipt.id
            transaction.idempotency_key = send.idempotency_key
            transaction.result = {
                "carrier_transaction_id": receipt.id,
                "carrier_group_id": connection.carrier_group_id,
            }
            transaction.status_details = [
                *transaction.status_details,
                _detail(StatusDetail.CARRIER_ACCEPTED),
            ]
            await save_version(session, transaction, history=False)
            await _refresh_fulfillment(session, transaction.member_snapshot_id)
        return TransactionOutcome.SENT

    @activity.defn(name=TRACK_TRANSACTION)
    async def track_transaction(self, transaction_id: uuid.UUID) -> TransactionOutcome:
        """Ask the carrier once how far it is; record what is new. Fails (and so is retried by
        the workflow's polling policy) while the carrier is still working."""
        async with self._db.transaction() as session:
            transaction = await session.get(MemberTransaction, transaction_id, with_for_update=True)
            if transaction is None:
                raise ApplicationError(f"transaction {transaction_id} not found")
            if transaction.status in _FINAL:
                return _FINAL[transaction.status]
            status = await self._adapters[transaction.carrier_id].member_transaction_status(
                transaction.result["carrier_group_id"], transaction.result["carrier_transaction_id"]
            )
            _record_progress(transaction, status)
            if status.status is CarrierTransactionState.COMPLETED:
                transaction.status = TransactionStatus.COMPLETED.value
                # Read the carrier back soon: the group's confirmation loop takes it from here.
                transaction.confirm_stage = ConfirmationStage.ACCEPTANCE.value
                transaction.confirm_due = unix_now()
            elif status.status is CarrierTransactionState.FAILED:
                transaction.status = TransactionStatus.FAILED.value
                transaction.result = {**transaction.result, "reason": status.reason}
            await save_version(session, transaction, history=False)
            final = _FINAL.get(transaction.status)
            if final is not None:
                await _refresh_fulfillment(session, transaction.member_snapshot_id)
        if final is TransactionOutcome.COMPLETED:
            await wake_group_confirmations(self._client, self._settings, transaction.group_id)
        if final is not None:
            return final
        raise ApplicationError(
            f"the carrier is still working on transaction {transaction_id} ({status.status})",
            type="CarrierProcessing",
            category=ApplicationErrorCategory.BENIGN,
        )

    @activity.defn(name=FINISH_SNAPSHOT)
    async def finish_snapshot(self, run: SnapshotRun) -> None:
        """Every carrier is done with the snapshot: it is completed (a replaced one stays so)."""
        async with self._db.transaction() as session:
            row = await session.get(MemberSnapshot, run.snapshot_id, with_for_update=True)
            if row is None or row.status != SnapshotStatus.PROCESSING.value:
                return
            row.status = SnapshotStatus.COMPLETED.value
            await save_version(session, row, history=False)


def _ref(transaction: MemberTransaction) -> TransactionRef:
    return TransactionRef(transaction_id=transaction.id, carrier_id=transaction.carrier_id)


def _detail(detail: StatusDetail, message: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"status_detail": detail.value, "event_created": unix_now()}
    if message:
        entry["message"] = message
    return entry


def _fulfillment(
    carrier_id: uuid.UUID, status: FulfillmentStatus, errors: list[str] | None = None
) -> dict[str, Any]:
    return {"carrier_id": str(carrier_id), "status": status.value, "errors": errors or []}


def _record_progress(transaction: MemberTransaction, status: CarrierTransactionStatus) -> None:
    """Append the status details the carrier reports that are not recorded yet, in order."""
    seen = {(d["status_detail"], d.get("message")) for d in transaction.status_details}
    details = list(transaction.status_details)
    for step in status.history:
        state = CarrierTransactionState(step.status)
        message = (
            MANAGED_NOTE
            if state is CarrierTransactionState.MANAGED
            else status.reason
            if state is CarrierTransactionState.FAILED
            else None
        )
        key = (_DETAIL[state].value, message)
        if key not in seen:
            seen.add(key)
            details.append(_detail(_DETAIL[state], message))
    transaction.status_details = details
    if status.managed:
        transaction.result = {**transaction.result, "managed": True}


async def _cancel(session: AsyncSession, transaction: MemberTransaction) -> None:
    transaction.status = TransactionStatus.CANCELED.value
    transaction.status_details = [
        *transaction.status_details,
        _detail(StatusDetail.CANCELED, "replaced by a newer snapshot before it was sent"),
    ]
    await save_version(session, transaction, history=False)


async def _fail(session: AsyncSession, transaction: MemberTransaction, reason: str) -> None:
    transaction.status = TransactionStatus.FAILED.value
    transaction.result = {**transaction.result, "reason": reason}
    transaction.status_details = [
        *transaction.status_details,
        _detail(StatusDetail.CARRIER_FAILED, reason),
    ]
    await save_version(session, transaction, history=False)
    await _refresh_fulfillment(session, transaction.member_snapshot_id)


async def _refresh_fulfillment(session: AsyncSession, snapshot_id: uuid.UUID) -> None:
    """Each carrier's entry from its transactions: sent once all are with the carrier, invalid
    (with the carrier's reasons) when one failed. A replaced snapshot keeps `replaced`."""
    snapshot = await session.get(MemberSnapshot, snapshot_id, with_for_update=True)
    if snapshot is None:
        return
    transactions = await snapshot_transactions(session, snapshot_id)
    by_carrier: dict[str, list[MemberTransaction]] = {}
    for transaction in transactions:
        by_carrier.setdefault(str(transaction.carrier_id), []).append(transaction)
    summary = []
    for entry in snapshot.fulfillment_summary:
        mine = by_carrier.get(entry["carrier_id"], [])
        failed = [t for t in mine if t.status == TransactionStatus.FAILED.value]
        if failed:
            reasons = [str(t.result.get("reason") or "refused by the carrier") for t in failed]
            entry = {**entry, "status": FulfillmentStatus.INVALID.value, "errors": reasons}
        elif mine and all(t.carrier_transaction_id for t in mine):
            entry = {**entry, "status": FulfillmentStatus.SENT.value}
        summary.append(entry)
    if summary != snapshot.fulfillment_summary:
        snapshot.fulfillment_summary = summary
        await save_version(session, snapshot, history=False)
