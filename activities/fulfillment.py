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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only
from temporalio import activity
from temporalio.client import Client

from activities.heartbeat import heartbeats
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
from runtime.settings import Settings
from services.wakes import Wakes
from store.connections import live_connections
from store.db import Database
from store.members import (
    cancel_unsent,
    last_sent_members,
    lock_members_at_carriers,
    take_wake,
)
from store.models import MemberSnapshot, MemberTransaction, unix_now
from store.versioning import save_versions
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
# Carrier calls in flight at once across the worker (sends and status reads).
CARRIER_CALLS = 50

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


@dataclass(frozen=True, eq=False)
class _Outgoing:
    """A claimed transaction, as its carrier call needs it (read before the call)."""

    id: uuid.UUID
    carrier_id: uuid.UUID
    carrier_group_id: str
    transaction_type: str
    member: CarrierMember
    idempotency_key: str


@dataclass(frozen=True)
class _Receipt:
    receipt: str
    carrier_group_id: str


@dataclass(frozen=True)
class _Refused:
    """The carrier refused a transaction, for this reason."""

    reason: str


# A send's outcome: the carrier's receipt, its refusal, or None for a fault (sent again later).
_Answer = _Receipt | _Refused | None

# What building needs of a snapshot; its payloads (the person as received) stay unread.
_TO_BUILD = load_only(
    MemberSnapshot.id,
    MemberSnapshot.organization_id,
    MemberSnapshot.group_id,
    MemberSnapshot.employee_id,
    MemberSnapshot.status,
    MemberSnapshot.carrier_members,
    MemberSnapshot.fulfillment_summary,
    MemberSnapshot.version,
    MemberSnapshot.modified,
)
# What following a transaction needs; its body (the person) stays unread.
_TO_TRACK = load_only(
    MemberTransaction.id,
    MemberTransaction.member_snapshot_id,
    MemberTransaction.status,
    MemberTransaction.result,
    MemberTransaction.status_details,
    MemberTransaction.carrier_transaction_id,
    MemberTransaction.confirm_stage,
    MemberTransaction.confirm_due,
    MemberTransaction.version,
    MemberTransaction.modified,
)


class FulfillmentActivities:
    """Each activity works on a batch of one group in a few statements, whatever its size: the
    employees' locks in one, the rows in one, the writes in one flush."""

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
        # Carrier calls at once across the worker, whatever the number of groups at work.
        self._carrier_calls = asyncio.Semaphore(CARRIER_CALLS)

    @activity.defn(name=BUILD_TRANSACTIONS)
    @heartbeats
    async def build_transactions(self, request: BuildRequest) -> Built:
        """Build the transactions of the group's submitted snapshots, oldest first; answer what
        of the group is still to send."""
        async with self._db.transaction() as session:
            await take_wake(session, request.group_id)
        async with self._db.transaction() as session:
            submitted = (
                await session.scalars(
                    select(MemberSnapshot)
                    .options(_TO_BUILD)
                    .where(
                        MemberSnapshot.group_id == request.group_id,
                        MemberSnapshot.status == SnapshotStatus.SUBMITTED.value,
                    )
                    .order_by(MemberSnapshot.created, MemberSnapshot.id)
                    .limit(BUILD_BATCH + 1)
                    .with_for_update()
                )
            ).all()
            built = await _build(session, submitted[:BUILD_BATCH])
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
        if submitted:
            log.info(
                "group %s: %d snapshot(s) built into %d carrier transaction(s)",
                request.group_id,
                min(len(submitted), BUILD_BATCH),
                built,
            )
        return Built(
            unsent=list(unsent),
            stored=list(stored),
            in_flight=in_flight or 0,
            more=len(submitted) > BUILD_BATCH,
        )

    @activity.defn(name=SEND_TRANSACTIONS)
    @heartbeats
    async def send_transactions(self, request: SendRequest) -> Sent:
        """Send each transaction once; the carrier deduplicates on its idempotency key.

        First, under the employees' locks at their carriers, each transaction still to send
        is claimed: its key is stored (and committed) unless an earlier attempt stored one.
        A claimed transaction is going to the carrier: a newer snapshot's build no longer
        cancels it but builds on it. Every later attempt (a retry of this activity, a later
        turn after a carrier fault, a new run) sends the stored key, so a write the carrier
        took but whose answer was lost is absorbed, not doubled. No database connection is
        held while the carriers answer; the answers are recorded after.
        """
        keys = {k.transaction_id: k.idempotency_key for k in request.transactions}
        if not keys:
            return Sent(sent=0, retry=[])
        outcomes, to_send, snapshot_ids = await self._claim(request.group_id, keys)
        answers = await _each(to_send, self._send)
        await self._record(answers, snapshot_ids)
        for outgoing, answer in answers.items():
            outcomes[outgoing.id] = None if answer is None else not isinstance(answer, _Refused)
        retry = [transaction_id for transaction_id, sent in outcomes.items() if sent is None]
        if retry:
            log.warning(
                "group %s: %d transaction(s) held back by a carrier fault",
                request.group_id,
                len(retry),
            )
        return Sent(sent=sum(1 for sent in outcomes.values() if sent), retry=retry)

    async def _claim(
        self, group_id: uuid.UUID, keys: dict[uuid.UUID, str]
    ) -> tuple[dict[uuid.UUID, bool | None], list[_Outgoing], set[uuid.UUID]]:
        """Under the employees' locks: settle what will not be sent (final, answered, replaced
        and unclaimed, disconnected) and claim the rest with their keys; commit. Answers the
        outcomes so far, what to send, and the snapshots touched."""
        outcomes: dict[uuid.UUID, bool | None] = {}
        to_send: list[_Outgoing] = []
        async with self._db.transaction() as session:
            pairs = {
                (employee_id, carrier_id)
                for employee_id, carrier_id in await session.execute(
                    select(MemberTransaction.employee_id, MemberTransaction.carrier_id).where(
                        MemberTransaction.id.in_(keys)
                    )
                )
            }
            await lock_members_at_carriers(session, pairs)
            found = (
                await session.execute(
                    select(MemberTransaction, MemberSnapshot.status)
                    .join(MemberSnapshot, MemberSnapshot.id == MemberTransaction.member_snapshot_id)
                    .where(MemberTransaction.id.in_(keys))
                    .order_by(MemberTransaction.position)
                    .with_for_update(of=MemberTransaction)
                )
            ).all()
            # Checked once per batch: a disconnection lands between batches, not mid-send.
            connected = {
                connection.carrier_id: connection.carrier_group_id
                for connection in await live_connections(session, group_id)
            }
            written: list[MemberTransaction] = []
            for transaction, snapshot_status in found:
                if transaction.status in _FINAL:
                    outcomes[transaction.id] = False
                elif transaction.carrier_transaction_id is not None:
                    outcomes[transaction.id] = True  # sent by an attempt whose answer was lost
                elif transaction.idempotency_key is None and (
                    snapshot_status == SnapshotStatus.REPLACED.value
                ):
                    _cancel(transaction)
                    written.append(transaction)
                    outcomes[transaction.id] = False
                elif transaction.carrier_id not in connected:
                    _fail(transaction, "the group is no longer connected to the carrier")
                    written.append(transaction)
                    outcomes[transaction.id] = False
                else:
                    if transaction.idempotency_key is None:
                        transaction.idempotency_key = keys[transaction.id]
                    to_send.append(
                        _Outgoing(
                            id=transaction.id,
                            carrier_id=transaction.carrier_id,
                            carrier_group_id=connected[transaction.carrier_id],
                            transaction_type=transaction.transaction_type,
                            member=CarrierMember.model_validate(transaction.body["member"]),
                            idempotency_key=transaction.idempotency_key,
                        )
                    )
            await save_versions(session, written)
        return outcomes, to_send, {transaction.member_snapshot_id for transaction, _ in found}

    async def _record(
        self, answers: dict[_Outgoing, _Answer], snapshot_ids: set[uuid.UUID]
    ) -> None:
        """The carriers' receipts and refusals, then the snapshots' summaries."""
        heard = {outgoing.id: answer for outgoing, answer in answers.items() if answer}
        async with self._db.transaction() as session:
            transactions = (
                await session.scalars(
                    select(MemberTransaction)
                    .options(_TO_TRACK)
                    .where(MemberTransaction.id.in_(heard))
                    .order_by(MemberTransaction.position)
                    .with_for_update()
                )
            ).all()
            written = []
            for transaction in transactions:
                answer = heard[transaction.id]
                if transaction.status in _FINAL or transaction.carrier_transaction_id:
                    continue  # recorded by an overlapping attempt
                if isinstance(answer, _Refused):
                    _fail(transaction, f"the carrier refused the transaction: {answer.reason}")
                elif answer is not None:
                    transaction.carrier_transaction_id = answer.receipt
                    transaction.result = {
                        "carrier_transaction_id": answer.receipt,
                        "carrier_group_id": answer.carrier_group_id,
                    }
                    transaction.status_details = [
                        *transaction.status_details,
                        _detail(StatusDetail.CARRIER_ACCEPTED),
                    ]
                written.append(transaction)
            await save_versions(session, written)
            await _settle(session, snapshot_ids)

    async def _send(self, outgoing: _Outgoing) -> _Answer:
        """One carrier write under the transaction's stored key."""
        async with self._carrier_calls:
            try:
                receipt = await self._adapters[outgoing.carrier_id].send_member_transaction(
                    outgoing.carrier_group_id,
                    transaction_id=str(outgoing.id),
                    transaction_type=outgoing.transaction_type,
                    member=outgoing.member,
                    idempotency_key=outgoing.idempotency_key,
                )
            except CarrierRejected as exc:
                return _Refused(str(exc))
            except CarrierUnavailable:
                return None
        return _Receipt(receipt.id, outgoing.carrier_group_id)

    @activity.defn(name=TRACK_TRANSACTIONS)
    @heartbeats
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
                except CarrierUnavailable:
                    return None  # asked again next poll

        answers = {
            transaction_id: status
            for transaction_id, status in (await _each(carrier, ask)).items()
            if status is not None
        }
        finished = 0
        if answers:
            async with self._db.transaction() as session:
                transactions = (
                    await session.scalars(
                        select(MemberTransaction)
                        .options(_TO_TRACK)
                        .where(
                            MemberTransaction.id.in_(answers),
                            MemberTransaction.status.not_in(_FINAL),
                        )
                        .order_by(MemberTransaction.position)
                        .with_for_update()
                    )
                ).all()
                written = []
                for transaction in transactions:
                    status = answers[transaction.id]
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
                    if transaction.status in _FINAL or len(transaction.status_details) != before:
                        written.append(transaction)
                await save_versions(session, written)
                await _settle(
                    session,
                    {t.member_snapshot_id for t in transactions if t.status in _FINAL},
                )
        if any(s.status is CarrierTransactionState.COMPLETED for s in answers.values()):
            await Wakes(self._client, self._settings).confirmations(request.group_id)
        return Tracked(in_flight=len(carrier) - finished, finished=finished)


async def _build(session: AsyncSession, snapshots: Sequence[MemberSnapshot]) -> int:
    """Compare each snapshot with what each carrier was last sent: one transaction per carrier
    that differs. A snapshot is built once; the caller holds the snapshots' rows. Answers the
    number of transactions built."""
    pairs = {
        (snapshot.employee_id, uuid.UUID(carrier_key))
        for snapshot in snapshots
        for carrier_key in snapshot.carrier_members
    }
    await lock_members_at_carriers(session, pairs)
    stale = await cancel_unsent(session, pairs)
    for transaction in stale:
        _cancel(transaction)
    last_sent = await last_sent_members(session, pairs)
    built: list[MemberTransaction] = []
    for snapshot in snapshots:
        summary: list[dict[str, Any]] = []
        mine = 0
        for carrier_key in sorted(snapshot.carrier_members):
            carrier_id = uuid.UUID(carrier_key)
            target = CarrierMember.model_validate(snapshot.carrier_members[carrier_key])
            planned = plan_transaction(last_sent.get((snapshot.employee_id, carrier_id)), target)
            if planned is None:
                summary.append(_fulfillment(carrier_id, FulfillmentStatus.NO_CHANGES))
                continue
            last_sent[(snapshot.employee_id, carrier_id)] = planned.member
            built.append(
                MemberTransaction(
                    id=uuid.uuid4(),
                    organization_id=snapshot.organization_id,
                    group_id=snapshot.group_id,
                    employee_id=snapshot.employee_id,
                    member_snapshot_id=snapshot.id,
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
            )
            mine += 1
            summary.append(_fulfillment(carrier_id, FulfillmentStatus.PROCESSING))
        snapshot.fulfillment_summary = summary
        snapshot.status = (SnapshotStatus.PROCESSING if mine else SnapshotStatus.COMPLETED).value
    await save_versions(session, stale)
    await save_versions(session, built, is_new=True)
    await save_versions(session, snapshots)
    return len(built)


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


def _cancel(transaction: MemberTransaction) -> None:
    transaction.status = TransactionStatus.CANCELED.value
    transaction.status_details = [
        *transaction.status_details,
        _detail(StatusDetail.CANCELED, "replaced by a newer snapshot before it was sent"),
    ]


def _fail(transaction: MemberTransaction, reason: str) -> None:
    transaction.status = TransactionStatus.FAILED.value
    transaction.result = {**transaction.result, "reason": reason}
    transaction.status_details = [
        *transaction.status_details,
        _detail(StatusDetail.CARRIER_FAILED, reason),
    ]


async def _settle(session: AsyncSession, snapshot_ids: AbstractSet[uuid.UUID]) -> None:
    """Each snapshot's carrier entries from its transactions: sent once all are with the
    carrier, invalid (with the carrier's reasons) when one failed; completed once every
    transaction is done. A replaced snapshot keeps `replaced`."""
    if not snapshot_ids:
        return
    snapshots = (
        await session.scalars(
            select(MemberSnapshot)
            .options(
                load_only(
                    MemberSnapshot.id,
                    MemberSnapshot.status,
                    MemberSnapshot.fulfillment_summary,
                    MemberSnapshot.version,
                    MemberSnapshot.modified,
                )
            )
            .where(MemberSnapshot.id.in_(snapshot_ids))
            .order_by(MemberSnapshot.id)
            .with_for_update()
        )
    ).all()
    # Only what the summary needs: the bodies (the people) stay unread.
    rows = (
        await session.execute(
            select(
                MemberTransaction.member_snapshot_id,
                MemberTransaction.carrier_id,
                MemberTransaction.status,
                MemberTransaction.carrier_transaction_id,
                MemberTransaction.result["reason"].astext.label("reason"),
            ).where(MemberTransaction.member_snapshot_id.in_(snapshot_ids))
        )
    ).all()
    by_snapshot: dict[uuid.UUID, dict[str, list[Any]]] = {}
    for row in rows:
        by_snapshot.setdefault(row.member_snapshot_id, {}).setdefault(
            str(row.carrier_id), []
        ).append(row)
    changed = []
    for snapshot in snapshots:
        by_carrier = by_snapshot.get(snapshot.id, {})
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
        done = snapshot.status == SnapshotStatus.PROCESSING.value and all(
            t.status in _FINAL for transactions in by_carrier.values() for t in transactions
        )
        if summary != snapshot.fulfillment_summary or done:
            snapshot.fulfillment_summary = summary
            if done:
                snapshot.status = SnapshotStatus.COMPLETED.value
            changed.append(snapshot)
    await save_versions(session, changed)
