"""Activities of the group fulfillment loop: build carrier transactions, send them, follow them.

Each works on a batch of the group and takes and returns ids and counts only; the member data is
read from PostgreSQL here and sent to the carrier, so it never enters workflow history. Each is
safe to repeat: what is done is recorded per transaction, and a retry does what is left. Logs
name ids, never people.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.client import Client

from carrierlink.confirmations import wake_group_confirmations
from carrierlink.settings import Settings
from carriers import CarrierAdapter, CarrierRejected, CarrierUnavailable
from domain.differences import ConfirmationStage
from domain.member_changes import (
    FulfillmentStatus,
    SnapshotStatus,
    StatusDetail,
    TransactionStatus,
    plan_transaction,
)
from domain.members import CarrierMember, CarrierTransactionState, CarrierTransactionStatus
from store.connections import live_connections
from store.db import Database
from store.members import (
    cancel_unsent,
    last_sent_member,
    lock_member_at_carrier,
)
from store.models import MemberSnapshot, MemberTransaction, unix_now
from store.versioning import save_version
from workflows.fulfillment import (
    BUILD_TRANSACTIONS,
    SEND_TRANSACTIONS,
    TRACK_TRANSACTIONS,
    BuildRequest,
    Built,
    SendRequest,
    Sent,
    Tracked,
    TrackRequest,
)

log = logging.getLogger("carrierlink.fulfillment")

K = TypeVar("K")
R = TypeVar("R")

# Snapshots built per turn; the loop builds again at once when more are waiting.
BUILD_BATCH = 200
# Transactions sent per turn (the rest wait for the next).
SEND_BATCH = 500

_FINAL = {
    TransactionStatus.COMPLETED.value,
    TransactionStatus.FAILED.value,
    TransactionStatus.CANCELED.value,
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


@dataclass(frozen=True)
class _Unsent:
    id: uuid.UUID
    employee_id: uuid.UUID
    carrier_id: uuid.UUID
    snapshot_id: uuid.UUID


class FulfillmentActivities:
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
        # Carrier calls at once across the worker. A send holds its database connection while
        # the carrier answers (the employee's lock at that carrier), so this stays within the pool.
        self._carrier_calls = asyncio.Semaphore(settings.database_pool_size)

    @activity.defn(name=BUILD_TRANSACTIONS)
    async def build_transactions(self, request: BuildRequest) -> Built:
        """Build the transactions of the group's submitted snapshots, oldest first; answer what
        of the group is still to send."""
        async with self._db.transaction() as session:
            submitted = (
                await session.scalars(
                    select(MemberSnapshot.id)
                    .where(
                        MemberSnapshot.group_id == request.group_id,
                        MemberSnapshot.status == SnapshotStatus.SUBMITTED.value,
                    )
                    .order_by(MemberSnapshot.created)
                    .limit(BUILD_BATCH + 1)
                )
            ).all()
        for snapshot_id in submitted[:BUILD_BATCH]:
            await self._build(snapshot_id)
            activity.heartbeat()
        async with self._db.transaction() as session:
            stored = (
                await session.scalars(
                    select(MemberSnapshot.id).where(MemberSnapshot.id.in_(request.awaited))
                )
            ).all()
            unsent = (
                await session.scalars(
                    select(MemberTransaction.id)
                    .where(
                        MemberTransaction.group_id == request.group_id,
                        MemberTransaction.status == TransactionStatus.PROCESSING.value,
                        MemberTransaction.carrier_transaction_id.is_(None),
                    )
                    .order_by(MemberTransaction.position)
                    .limit(SEND_BATCH)
                )
            ).all()
            in_flight = await session.scalar(
                select(func.count()).where(
                    MemberTransaction.group_id == request.group_id,
                    MemberTransaction.status == TransactionStatus.PROCESSING.value,
                    MemberTransaction.carrier_transaction_id.is_not(None),
                )
            )
        return Built(
            unsent=list(unsent),
            stored=list(stored),
            in_flight=in_flight or 0,
            more=len(submitted) > BUILD_BATCH,
        )

    async def _build(self, snapshot_id: uuid.UUID) -> None:
        """Compare one snapshot with what each carrier was last sent: one transaction per
        carrier that differs. A snapshot is built once."""
        async with self._db.transaction() as session:
            row = await session.get(MemberSnapshot, snapshot_id, with_for_update=True)
            if row is None or row.status != SnapshotStatus.SUBMITTED.value:
                return
            built = 0
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
                built += 1
                summary.append(_fulfillment(carrier_id, FulfillmentStatus.PROCESSING))
            row.fulfillment_summary = summary
            row.status = (SnapshotStatus.PROCESSING if built else SnapshotStatus.COMPLETED).value
            await save_version(session, row, history=False)
        log.info("snapshot %s: %d carrier transaction(s) built", snapshot_id, built)

    @activity.defn(name=SEND_TRANSACTIONS)
    async def send_transactions(self, request: SendRequest) -> Sent:
        """Send each transaction once; the carrier deduplicates on its idempotency key.

        The key a transaction is first sent under is stored before the send, and every later
        attempt (a retry of this activity, a later turn after a carrier fault, a new run) sends
        that one: a write the carrier took but whose answer was lost is absorbed, not doubled.
        """
        keys = {k.transaction_id: k.idempotency_key for k in request.transactions}
        if not keys:
            return Sent(sent=0, retry=[])
        async with self._db.transaction() as session:
            await session.execute(
                update(MemberTransaction)
                .where(
                    MemberTransaction.id.in_(keys),
                    MemberTransaction.idempotency_key.is_(None),
                )
                .values(idempotency_key=case(keys, value=MemberTransaction.id))
                .execution_options(synchronize_session=False)
            )
            batch = [
                _Unsent(*row)
                for row in await session.execute(
                    select(
                        MemberTransaction.id,
                        MemberTransaction.employee_id,
                        MemberTransaction.carrier_id,
                        MemberTransaction.member_snapshot_id,
                    ).where(MemberTransaction.id.in_(keys))
                )
            ]
            # Checked once per batch: a disconnection lands between batches, not mid-send.
            connected = {
                connection.carrier_id: connection.carrier_group_id
                for connection in await live_connections(session, request.group_id)
            }
        outcomes = await _each(
            batch, lambda unsent: self.send_transaction(unsent, connected.get(unsent.carrier_id))
        )
        async with self._db.transaction() as session:
            for snapshot_id in sorted({unsent.snapshot_id for unsent in batch}):
                await _settle(session, snapshot_id)
        retry = [unsent.id for unsent, sent in outcomes.items() if sent is None]
        if retry:
            log.warning(
                "group %s: %d transaction(s) held back by a carrier fault",
                request.group_id,
                len(retry),
            )
        return Sent(sent=sum(1 for sent in outcomes.values() if sent), retry=retry)

    async def send_transaction(self, unsent: _Unsent, carrier_group_id: str | None) -> bool | None:
        """Send one transaction under its stored key: True once the carrier has it, False when
        it will not be sent (failed, canceled), None when a carrier fault held it back.

        Holds the employee's lock at the carrier while sending, so a newer snapshot's build
        either sees the transaction sent or cancels it before it goes.
        """
        async with self._carrier_calls, self._db.transaction() as session:
            await lock_member_at_carrier(session, unsent.employee_id, unsent.carrier_id)
            found = (
                await session.execute(
                    select(MemberTransaction, MemberSnapshot.status)
                    .join(MemberSnapshot, MemberSnapshot.id == MemberTransaction.member_snapshot_id)
                    .where(MemberTransaction.id == unsent.id)
                    .with_for_update(of=MemberTransaction)
                )
            ).one_or_none()
            if found is None:
                return False
            transaction, snapshot_status = found
            if transaction.status in _FINAL:
                return False
            if transaction.carrier_transaction_id is not None:
                return True  # sent by an earlier attempt whose answer was lost
            if snapshot_status == SnapshotStatus.REPLACED.value:
                await _cancel(session, transaction)
                return False
            if carrier_group_id is None:
                await _fail(session, transaction, "the group is no longer connected to the carrier")
                return False
            assert transaction.idempotency_key is not None, "keys are claimed before sending"
            try:
                receipt = await self._adapters[transaction.carrier_id].send_member_transaction(
                    carrier_group_id,
                    transaction_id=str(transaction.id),
                    transaction_type=transaction.transaction_type,
                    member=CarrierMember.model_validate(transaction.body["member"]),
                    idempotency_key=transaction.idempotency_key,
                )
            except CarrierRejected as exc:
                await _fail(session, transaction, f"the carrier refused the transaction: {exc}")
                return False
            except (CarrierUnavailable, httpx.HTTPError):
                return None
            transaction.carrier_transaction_id = receipt.id
            transaction.result = {
                "carrier_transaction_id": receipt.id,
                "carrier_group_id": carrier_group_id,
            }
            transaction.status_details = [
                *transaction.status_details,
                _detail(StatusDetail.CARRIER_ACCEPTED),
            ]
            await save_version(session, transaction, history=False)
        return True

    @activity.defn(name=TRACK_TRANSACTIONS)
    async def track_transactions(self, request: TrackRequest) -> Tracked:
        """Ask the carriers once how far they are with each of the group's transactions they
        have; record what is new. Completed ones go to the group's confirmation loop."""
        async with self._db.transaction() as session:
            rows = (
                await session.execute(
                    select(
                        MemberTransaction.id,
                        MemberTransaction.carrier_id,
                        MemberTransaction.result,
                    ).where(
                        MemberTransaction.group_id == request.group_id,
                        MemberTransaction.status == TransactionStatus.PROCESSING.value,
                        MemberTransaction.carrier_transaction_id.is_not(None),
                    )
                )
            ).all()
        carrier = {row.id: (row.carrier_id, row.result) for row in rows}

        async def ask(transaction_id: uuid.UUID) -> CarrierTransactionStatus | None:
            carrier_id, result = carrier[transaction_id]
            async with self._carrier_calls:
                try:
                    return await self._adapters[carrier_id].member_transaction_status(
                        result["carrier_group_id"], result["carrier_transaction_id"]
                    )
                except (CarrierUnavailable, httpx.HTTPError):
                    return None  # asked again next poll

        answers = await _each(carrier, ask)
        finished = 0
        touched: set[uuid.UUID] = set()
        async with self._db.transaction() as session:
            for transaction_id, status in answers.items():
                if status is None:
                    continue
                transaction = await session.get(
                    MemberTransaction, transaction_id, with_for_update=True
                )
                if transaction is None or transaction.status in _FINAL:
                    continue
                before = len(transaction.status_details)
                _record_progress(transaction, status)
                if status.status is CarrierTransactionState.COMPLETED:
                    transaction.status = TransactionStatus.COMPLETED.value
                    # Read the carrier back soon: the group's confirmation loop takes it on.
                    transaction.confirm_stage = ConfirmationStage.ACCEPTANCE.value
                    transaction.confirm_due = unix_now()
                elif status.status is CarrierTransactionState.FAILED:
                    transaction.status = TransactionStatus.FAILED.value
                    transaction.result = {**transaction.result, "reason": status.reason}
                if transaction.status in _FINAL:
                    finished += 1
                    touched.add(transaction.member_snapshot_id)
                if transaction.status in _FINAL or len(transaction.status_details) != before:
                    await save_version(session, transaction, history=False)
            for snapshot_id in sorted(touched):
                await _settle(session, snapshot_id)
        if any(
            s is not None and s.status is CarrierTransactionState.COMPLETED
            for s in answers.values()
        ):
            await wake_group_confirmations(self._client, self._settings, request.group_id)
        return Tracked(in_flight=len(carrier) - finished, finished=finished)


async def _each(items: Iterable[K], call: Callable[[K], Awaitable[R]]) -> dict[K, R]:
    """`call` on every item at once (the carrier semaphore paces them); answers by item."""
    keys = list(items)
    answers = await asyncio.gather(*(call(key) for key in keys))
    return dict(zip(keys, answers, strict=True))


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


async def _settle(session: AsyncSession, snapshot_id: uuid.UUID) -> None:
    """The snapshot's carrier entries from its transactions: sent once all are with the carrier,
    invalid (with the carrier's reasons) when one failed; completed once every transaction is
    done. A replaced snapshot keeps `replaced`."""
    snapshot = await session.get(MemberSnapshot, snapshot_id, with_for_update=True)
    if snapshot is None:
        return
    # Only what the summary needs: the bodies (the people) stay unread.
    transactions = (
        await session.execute(
            select(
                MemberTransaction.carrier_id,
                MemberTransaction.status,
                MemberTransaction.carrier_transaction_id,
                MemberTransaction.result["reason"].astext.label("reason"),
            ).where(MemberTransaction.member_snapshot_id == snapshot_id)
        )
    ).all()
    by_carrier: dict[str, list[Any]] = {}
    for transaction in transactions:
        by_carrier.setdefault(str(transaction.carrier_id), []).append(transaction)
    summary = []
    for entry in snapshot.fulfillment_summary:
        mine = by_carrier.get(entry["carrier_id"], [])
        failed = [t for t in mine if t.status == TransactionStatus.FAILED.value]
        if failed:
            reasons = [str(t.reason or "refused by the carrier") for t in failed]
            entry = {**entry, "status": FulfillmentStatus.INVALID.value, "errors": reasons}
        elif mine and all(t.carrier_transaction_id for t in mine):
            entry = {**entry, "status": FulfillmentStatus.SENT.value}
        summary.append(entry)
    changed = summary != snapshot.fulfillment_summary
    snapshot.fulfillment_summary = summary
    if snapshot.status == SnapshotStatus.PROCESSING.value and all(
        t.status in _FINAL for t in transactions
    ):
        snapshot.status = SnapshotStatus.COMPLETED.value
        changed = True
    if changed:
        await save_version(session, snapshot, history=False)
