"""Group fulfillment, the use cases of its loop: build carrier transactions, send them, follow them.

Each works on a batch of one group in a few statements, whatever its size: the employees' locks
in one, the rows in one, the writes in one flush. Each takes and answers ids and counts only;
the member data is read from PostgreSQL here and sent to the carrier, so it never enters
workflow history. Each is safe to repeat: what is done is recorded per transaction, and a retry
does what is left. Logs name ids, never people.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from carriers import CarrierAdapter, CarrierRejected, CarrierUnavailable, file_carrier_ids
from carriers.registry import CARRIERS
from domain.confirmation import expected_at_carrier
from domain.differences import ConfirmationStage
from domain.fulfillment import (
    BuildRequest,
    Built,
    SendRequest,
    Sent,
    Tracked,
    TrackRequest,
    transaction_key,
)
from domain.member_changes import (
    NOT_CONNECTED_NOTE,
    REPLACED_NOTE,
    FulfillmentStatus,
    SnapshotStatus,
    StatusDetail,
    TransactionStatus,
    carrier_progress,
    is_final,
    plan_transaction,
    settled_entry,
    snapshot_completed,
    status_after,
)
from domain.members import CarrierMember, CarrierTransactionState, CarrierTransactionStatus
from services.confirmation import plan_facts
from services.wakes import Wakes
from store import transactions as store
from store.audits import group_name
from store.connections import live_carrier_groups
from store.db import Database
from store.differences import record_expected
from store.members import cancel_unsent, last_sent_members, lock_members_at_carriers, take_wake
from store.models import MemberSnapshot, MemberTransaction, unix_now
from store.versioning import save_versions

log = logging.getLogger("carrierlink.fulfillment")

Item = TypeVar("Item")
Answer = TypeVar("Answer")

# Snapshots built per turn; the loop builds again at once when more are waiting.
BUILD_BATCH = 200
# Transactions sent per turn (the rest wait for the next).
SEND_BATCH = 500
_FILE_CARRIERS = file_carrier_ids()


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


@dataclass(frozen=True)
class _Members:
    """A built transaction's member, and what its carrier held before, as far as the engine
    knows (None: nothing)."""

    sent: CarrierMember
    believed: CarrierMember | None


@dataclass
class _Claim:
    """What claiming a batch found: outcomes so far (True sent, False not to send, None to send
    again later), what to send now, what was settled instead, and the snapshots touched."""

    outcomes: dict[uuid.UUID, bool | None] = field(default_factory=dict)
    to_send: list[_Outgoing] = field(default_factory=list)
    settled: list[MemberTransaction] = field(default_factory=list)
    snapshot_ids: set[uuid.UUID] = field(default_factory=set)


class Fulfillment:
    """One per worker: the database, the carriers, the wakes, and a limit on carrier calls in
    flight at once across the worker, whatever the number of groups at work."""

    def __init__(
        self,
        database: Database,
        adapters: dict[uuid.UUID, CarrierAdapter],
        wakes: Wakes,
        *,
        carrier_calls: int,
    ) -> None:
        self._db = database
        self._adapters = adapters
        self._wakes = wakes
        self._carrier_calls = asyncio.Semaphore(carrier_calls)

    # --- build ---------------------------------------------------------------------------------

    async def build(self, request: BuildRequest) -> Built:
        """Build the transactions of the group's submitted snapshots, oldest first; answer what
        of the group is still to send."""
        async with self._db.transaction() as session:
            await take_wake(session, request.group_id)
        async with self._db.transaction() as session:
            submitted = await store.submitted_snapshots(
                session, request.group_id, limit=BUILD_BATCH + 1
            )
            built = await _build(session, submitted[:BUILD_BATCH])
            stored = await store.stored_snapshot_ids(session, request.awaited)
            # One more than a send takes: whether this turn leaves transactions unsent.
            # A file carrier's transactions wait for its feed's next run (services/feeds.py).
            unsent = await store.unsent_transaction_ids(
                session, request.group_id, limit=SEND_BATCH + 1, exclude_carriers=_FILE_CARRIERS
            )
            in_flight = await store.count_in_flight(session, request.group_id)
        if submitted:
            log.info(
                "group %s: %d snapshot(s) built into %d carrier transaction(s)",
                request.group_id,
                min(len(submitted), BUILD_BATCH),
                built,
            )
        return Built(
            unsent=list(unsent[:SEND_BATCH]),
            stored=list(stored),
            in_flight=in_flight,
            # More than one turn takes, snapshots to build or transactions to send: the loop
            # builds again next turn, since no signal would bring either (issue 16's fault suite).
            more=len(submitted) > BUILD_BATCH or len(unsent) > SEND_BATCH,
        )

    # --- send ----------------------------------------------------------------------------------

    async def send(self, request: SendRequest) -> Sent:
        """Send each transaction once; the carrier deduplicates on its idempotency key.

        First, under the employees' locks at their carriers, each transaction still to send
        is claimed: its key (`transaction_key`, derived from its id) is stored and committed
        unless an earlier attempt stored one. The request's keys are not used: a run from
        before that patch drew them in the workflow, where a re-run could give one to another
        transaction.
        A claimed transaction is going to the carrier: a newer snapshot's build no longer
        cancels it but builds on it. Every later attempt (a retry of this activity, a later
        turn after a carrier fault, a new run) sends the stored key, so a write the carrier
        took but whose answer was lost is absorbed, not doubled. No database connection is
        held while the carriers answer; the answers are recorded after.
        """
        transaction_ids = [keyed.transaction_id for keyed in request.transactions]
        if not transaction_ids:
            return Sent(sent=0, retry=[])
        claim = await self._claim(request.group_id, transaction_ids)
        answers = await _each(claim.to_send, self._send)
        await self._record(answers, claim.snapshot_ids)
        outcomes = claim.outcomes
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

    async def _claim(self, group_id: uuid.UUID, transaction_ids: list[uuid.UUID]) -> _Claim:
        """Under the employees' locks: settle what will not be sent (final, answered, replaced
        and unclaimed, disconnected) and claim the rest with their keys; commit."""
        claim = _Claim()
        async with self._db.transaction() as session:
            await lock_members_at_carriers(
                session, await store.employees_at_carriers(session, transaction_ids)
            )
            found = await store.transactions_to_send(session, transaction_ids)
            # Checked once per batch: a disconnection lands between batches, not mid-send.
            connected = await live_carrier_groups(session, group_id)
            for transaction, snapshot_status in found:
                claim.snapshot_ids.add(transaction.member_snapshot_id)
                _claim_one(transaction, snapshot_status, connected, claim)
            await save_versions(session, claim.settled)
        return claim

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

    async def _record(
        self, answers: dict[_Outgoing, _Answer], snapshot_ids: set[uuid.UUID]
    ) -> None:
        """The carriers' receipts and refusals, then the snapshots' summaries."""
        heard = {outgoing.id: answer for outgoing, answer in answers.items() if answer}
        async with self._db.transaction() as session:
            transactions = await store.transactions_to_track(session, heard, unfinished_only=False)
            written = []
            for transaction in transactions:
                if is_final(transaction.status) or transaction.carrier_transaction_id:
                    continue  # recorded by an overlapping attempt
                answer = heard[transaction.id]
                if isinstance(answer, _Refused):
                    _fail(transaction, f"the carrier refused the transaction: {answer.reason}")
                elif answer is not None:
                    _accept(transaction, answer)
                written.append(transaction)
            await save_versions(session, written)
            await _settle(session, snapshot_ids)

    # --- track ---------------------------------------------------------------------------------

    async def track(self, request: TrackRequest) -> Tracked:
        """Ask the carriers once how far they are with each of the group's transactions they
        have; record what is new. Completed ones go to the group's confirmation loop."""
        async with self._db.transaction() as session:
            at_carrier = await store.in_flight(session, request.group_id)

        async def ask(transaction_id: uuid.UUID) -> CarrierTransactionStatus | None:
            carrier_id, result = at_carrier[transaction_id]
            async with self._carrier_calls:
                try:
                    return await self._adapters[carrier_id].member_transaction_status(
                        result["carrier_group_id"], result["carrier_transaction_id"]
                    )
                except CarrierUnavailable:
                    return None  # asked again next poll

        answers = {
            transaction_id: status
            for transaction_id, status in (await _each(at_carrier, ask)).items()
            if status is not None
        }
        finished = await self._record_progress(answers) if answers else 0
        if any(s.status is CarrierTransactionState.COMPLETED for s in answers.values()):
            async with self._db.transaction() as session:
                name = await group_name(session, request.group_id)
            await self._wakes.confirmations(request.group_id, group_name=name)
        return Tracked(in_flight=len(at_carrier) - finished, finished=finished)

    async def _record_progress(self, answers: dict[uuid.UUID, CarrierTransactionStatus]) -> int:
        """Record what the carriers report; answer how many transactions finished."""
        async with self._db.transaction() as session:
            transactions = await store.transactions_to_track(session, answers, unfinished_only=True)
            written = []
            for transaction in transactions:
                before = len(transaction.status_details)
                _follow(transaction, answers[transaction.id])
                if is_final(transaction.status) or len(transaction.status_details) != before:
                    written.append(transaction)
            await save_versions(session, written)
            finished = {t.member_snapshot_id for t in transactions if is_final(t.status)}
            await _settle(session, finished)
        return sum(1 for t in transactions if is_final(t.status))


# --- building ------------------------------------------------------------------------------------


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
    members: dict[uuid.UUID, _Members] = {}
    for snapshot in snapshots:
        built += _build_snapshot(snapshot, last_sent, members)
    # The snapshots are stamped with the replaced transactions, in the first flush: stamped
    # after the inserts, each snapshot was written twice (its status, then its version).
    await save_versions(session, [*stale, *snapshots])
    await save_versions(session, built, is_new=True)
    await _expect(session, built, members)
    return len(built)


async def _expect(
    session: AsyncSession,
    built: list[MemberTransaction],
    members: dict[uuid.UUID, _Members],
) -> None:
    """Each built transaction's pending differences: what it expects its carrier to come to
    hold that the carrier, as far as the engine knows, does not yet (contract 4d)."""
    plans = await plan_facts(
        session,
        list({c.plan_id for member in members.values() for c in member.sent.coverages}),
    )
    today = datetime.now(UTC).date()
    await record_expected(
        session,
        [
            (
                transaction,
                expected_at_carrier(
                    members[transaction.id].sent,
                    members[transaction.id].believed,
                    carrier=CARRIERS[transaction.carrier_id].slug,
                    today=today,
                    plans=plans,
                ),
            )
            for transaction in built
        ],
    )


def _build_snapshot(
    snapshot: MemberSnapshot,
    last_sent: dict[tuple[uuid.UUID, uuid.UUID], CarrierMember],
    members: dict[uuid.UUID, _Members],
) -> list[MemberTransaction]:
    """The snapshot's transactions, one per carrier whose member differs from what it was last
    sent (`last_sent` then holds the new member; `members`, by transaction, what it sends and
    what the carrier held before); its summary and status follow."""
    summary: list[dict[str, Any]] = []
    built: list[MemberTransaction] = []
    for carrier_key in sorted(snapshot.carrier_members):
        carrier_id = uuid.UUID(carrier_key)
        target = CarrierMember.model_validate(snapshot.carrier_members[carrier_key])
        planned = plan_transaction(last_sent.get((snapshot.employee_id, carrier_id)), target)
        if planned is None:
            summary.append(_fulfillment(carrier_id, FulfillmentStatus.NO_CHANGES))
            continue
        transaction_id = uuid.uuid4()
        members[transaction_id] = _Members(
            sent=planned.member, believed=last_sent.get((snapshot.employee_id, carrier_id))
        )
        last_sent[(snapshot.employee_id, carrier_id)] = planned.member
        built.append(
            MemberTransaction(
                id=transaction_id,
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
        summary.append(_fulfillment(carrier_id, FulfillmentStatus.PROCESSING))
    snapshot.fulfillment_summary = summary
    snapshot.status = (SnapshotStatus.PROCESSING if built else SnapshotStatus.COMPLETED).value
    return built


# --- claiming, recording and following transactions --------------------------------------------


def _claim_one(
    transaction: MemberTransaction,
    snapshot_status: str,
    connected: dict[uuid.UUID, str],
    claim: _Claim,
) -> None:
    """Into `claim`: the outcome of a transaction that will not be sent (settled here if it
    was not yet), or the transaction to send under its key (stored now if it was not)."""
    if is_final(transaction.status):
        claim.outcomes[transaction.id] = False
    elif transaction.carrier_transaction_id is not None:
        claim.outcomes[transaction.id] = True  # sent by an attempt whose answer was lost
    elif transaction.idempotency_key is None and snapshot_status == SnapshotStatus.REPLACED.value:
        _cancel(transaction)
        claim.settled.append(transaction)
        claim.outcomes[transaction.id] = False
    elif transaction.carrier_id not in connected:
        _fail(transaction, NOT_CONNECTED_NOTE)
        claim.settled.append(transaction)
        claim.outcomes[transaction.id] = False
    else:
        if transaction.idempotency_key is None:
            transaction.idempotency_key = transaction_key(transaction.id)
        claim.to_send.append(
            _Outgoing(
                id=transaction.id,
                carrier_id=transaction.carrier_id,
                carrier_group_id=connected[transaction.carrier_id],
                transaction_type=transaction.transaction_type,
                member=CarrierMember.model_validate(transaction.body["member"]),
                idempotency_key=transaction.idempotency_key,
            )
        )


def _accept(transaction: MemberTransaction, receipt: _Receipt) -> None:
    """The carrier took the transaction: its receipt is recorded."""
    transaction.carrier_transaction_id = receipt.receipt
    transaction.result = {
        "carrier_transaction_id": receipt.receipt,
        "carrier_group_id": receipt.carrier_group_id,
    }
    transaction.status_details = [
        *transaction.status_details,
        _detail(StatusDetail.CARRIER_ACCEPTED),
    ]


def _follow(transaction: MemberTransaction, status: CarrierTransactionStatus) -> None:
    """Record what the carrier reports of a transaction: new status details, then its status
    once the carrier finished it (a completed one is read back soon: the group's confirmation
    loop takes it on)."""
    transaction.status_details = [
        *transaction.status_details,
        *(
            _detail(detail, message)
            for detail, message in carrier_progress(transaction.status_details, status)
        ),
    ]
    if status.managed:
        transaction.result = {**transaction.result, "managed": True}
    after = status_after(status.status)
    if after is TransactionStatus.COMPLETED:
        transaction.status = after.value
        transaction.confirm_stage = ConfirmationStage.ACCEPTANCE.value
        transaction.confirm_due = unix_now()
    elif after is TransactionStatus.FAILED:
        transaction.status = after.value
        transaction.result = {**transaction.result, "reason": status.reason}


def _cancel(transaction: MemberTransaction) -> None:
    transaction.status = TransactionStatus.CANCELED.value
    transaction.status_details = [
        *transaction.status_details,
        _detail(StatusDetail.CANCELED, REPLACED_NOTE),
    ]


def _fail(transaction: MemberTransaction, reason: str) -> None:
    transaction.status = TransactionStatus.FAILED.value
    transaction.result = {**transaction.result, "reason": reason}
    transaction.status_details = [
        *transaction.status_details,
        _detail(StatusDetail.CARRIER_FAILED, reason),
    ]


async def _settle(session: AsyncSession, snapshot_ids: AbstractSet[uuid.UUID]) -> None:
    """Each snapshot's carrier entries from its transactions (`settled_entry`), and its status
    once every transaction is final (`snapshot_completed`)."""
    if not snapshot_ids:
        return
    snapshots = await store.snapshots_to_settle(session, snapshot_ids)
    outcomes = await store.outcomes_by_snapshot(session, snapshot_ids)
    changed = []
    for snapshot in snapshots:
        by_carrier = outcomes.get(snapshot.id, {})
        summary = [
            settled_entry(entry, by_carrier.get(entry["carrier_id"], []))
            for entry in snapshot.fulfillment_summary
        ]
        done = snapshot_completed(
            snapshot.status, [t for transactions in by_carrier.values() for t in transactions]
        )
        if summary != snapshot.fulfillment_summary or done:
            snapshot.fulfillment_summary = summary
            if done:
                snapshot.status = SnapshotStatus.COMPLETED.value
            changed.append(snapshot)
    await save_versions(session, changed)


# The feed runs of file carriers settle their snapshots the same way (services/feeds.py).
settle_snapshots = _settle


async def _each(
    items: Iterable[Item], call: Callable[[Item], Awaitable[Answer]]
) -> dict[Item, Answer]:
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
