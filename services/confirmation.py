"""Round-trip confirmation, the use case of its loop: read the carrier back, compare with what was
sent, record the differences.

One turn confirms every transaction of a group that is due, reading the carriers concurrently,
and says when the group's next check falls. Logs name ids and counts, never people.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from carriers import CarrierAdapter, CarrierUnavailable
from carriers.registry import CARRIERS
from domain.confirmation import (
    ConfirmedTurn,
    DueCheck,
    PlanFacts,
    compare_member,
    effective_date,
    is_last_check,
)
from domain.differences import ConfirmationStage
from domain.enums import LineOfCoverage
from domain.member_changes import StatusDetail
from domain.members import CarrierMember, CarrierMemberRecord
from domain.plans import is_voluntary
from store import transactions as store
from store.db import Database
from store.differences import TransactionCheck, record_checks
from store.models import MemberTransaction, unix_now
from store.versioning import save_versions

log = logging.getLogger("carrierlink.confirmation")

# How many transactions one turn confirms.
BATCH = 500

# A carrier's copy of a member, None when it has none, or the fault that kept it from answering.
_Read = CarrierMemberRecord | None | BaseException


@dataclass(frozen=True)
class _Due:
    id: uuid.UUID
    carrier_id: uuid.UUID
    carrier_group_id: str
    employee_id: uuid.UUID
    stage: ConfirmationStage


@dataclass(frozen=True)
class _Reading:
    """One carrier read of a due transaction: the day it was taken and when the carrier was
    read (Unix seconds)."""

    today: date
    fetched_at: int


class Confirmation:
    """One per worker: the database, the carriers, and a limit on carrier reads in flight at
    once shared by the turns of every group."""

    def __init__(
        self,
        database: Database,
        adapters: dict[uuid.UUID, CarrierAdapter],
        *,
        concurrent_reads: int,
    ) -> None:
        self._db = database
        self._adapters = adapters
        self._reads = asyncio.Semaphore(concurrent_reads)

    async def confirm_due(self, check: DueCheck) -> ConfirmedTurn:
        """Confirm the group's transactions due by `check.now`; when is the next one due.

        A carrier fault on some reads does not waste the others: what was read is confirmed
        and kept, then the turn fails so its retry reads only what is still due.
        """
        due = await self._due(check)
        held = await self._read_all(due)
        faults = _carrier_faults(held)
        reading = _Reading(today=check.now.astimezone(UTC).date(), fetched_at=unix_now())
        read = [
            (item, record)
            for item, record in zip(due, held, strict=True)
            if not isinstance(record, BaseException)  # else still due: the retry reads it
        ]
        async with self._db.transaction() as session:
            # The batch's rows and plans in two statements, not two per transaction.
            transactions = await store.transactions_for_update(session, [i.id for i, _ in read])
            sent = {
                transaction.id: CarrierMember.model_validate(transaction.body["member"])
                for transaction in transactions.values()
            }
            plans = await plan_facts(
                session, {c.plan_id for member in sent.values() for c in member.coverages}
            )
            compared = [
                _compare(item, transaction, sent[item.id], record, reading, plans=plans)
                for item, record in read
                if (transaction := transactions.get(item.id)) is not None
                # else confirmed by an earlier attempt of this turn
                and transaction.confirm_stage == item.stage.value
            ]
            # The batch's differences and transactions in a few statements, not a few each.
            await record_checks(session, [one.check for one in compared])
            for one in compared:
                one.advance()
            await save_versions(session, [one.check.transaction for one in compared])
            next_due = await store.next_confirmation_due(session, check.group_id)
        confirmed = len(due) - len(faults)
        if confirmed:
            log.info("group %s: %d transaction(s) confirmed", check.group_id, confirmed)
        if faults:
            raise faults[0]
        return ConfirmedTurn(
            confirmed=confirmed,
            next_due=None if next_due is None else datetime.fromtimestamp(next_due, UTC),
        )

    async def _due(self, check: DueCheck) -> list[_Due]:
        async with self._db.transaction() as session:
            rows = await store.due_for_confirmation(
                session, check.group_id, now=int(check.now.timestamp()), limit=BATCH
            )
            return [
                _Due(
                    id=row["id"],
                    carrier_id=row["carrier_id"],
                    carrier_group_id=row["carrier_group_id"],
                    employee_id=row["employee_id"],
                    stage=ConfirmationStage(row["confirm_stage"] or ConfirmationStage.ACCEPTANCE),
                )
                for row in rows
            ]

    async def _read_all(self, due: list[_Due]) -> list[_Read]:
        """Each due transaction's member at its carrier, or the fault that kept it unread."""

        async def read(item: _Due) -> CarrierMemberRecord | None:
            async with self._reads:
                return await self._adapters[item.carrier_id].fetch_member(
                    item.carrier_group_id, item.employee_id
                )

        return await asyncio.gather(*(read(item) for item in due), return_exceptions=True)


def _carrier_faults(held: list[_Read]) -> list[BaseException]:
    """The carrier faults among the reads; anything else that went wrong is raised."""
    faults = [read for read in held if isinstance(read, BaseException)]
    if any(not isinstance(fault, CarrierUnavailable) for fault in faults):
        raise next(f for f in faults if not isinstance(f, CarrierUnavailable))
    return faults


@dataclass(frozen=True)
class _Compared:
    """A due transaction compared with its carrier's copy: the check to record, whether it is
    the transaction's last, and the day its coverage takes effect."""

    check: TransactionCheck
    last: bool
    takes_effect: date

    def advance(self) -> None:
        """After the check is recorded: the transaction is verified, or its effective-date
        check is set."""
        transaction = self.check.transaction
        if self.last:
            _verified(transaction, self.check.fetched_at)
        else:
            transaction.confirm_stage = ConfirmationStage.EFFECTIVE_DATE.value
            transaction.confirm_due = _start_of(self.takes_effect)


def _compare(
    item: _Due,
    transaction: MemberTransaction,
    sent: CarrierMember,
    record: CarrierMemberRecord | None,
    reading: _Reading,
    *,
    plans: dict[uuid.UUID, PlanFacts],
) -> _Compared:
    """Compare the carrier's copy with what was sent (the transaction, locked)."""
    takes_effect = effective_date(sent, transaction.lines_of_coverage)
    last = is_last_check(
        item.stage,
        transaction_type=transaction.transaction_type,
        takes_effect=takes_effect,
        today=reading.today,
    )
    stage = ConfirmationStage.EFFECTIVE_DATE if last else item.stage
    found = compare_member(
        sent,
        record.as_member() if record is not None else None,
        carrier=CARRIERS[item.carrier_id].slug,
        today=reading.today,
        plans={c.plan_id: plans[c.plan_id] for c in sent.coverages if c.plan_id in plans},
        stage=stage,
        # What the carrier is documented to show otherwise still matches a pending difference
        # (kept suppressed); it never opens one.
        include_suppressed=True,
    )
    return _Compared(
        TransactionCheck(transaction, found, stage, reading.fetched_at), last, takes_effect
    )


async def plan_facts(
    session: AsyncSession, plan_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PlanFacts]:
    """What the comparison needs of the plans the members were sent in."""
    return {
        plan["id"]: PlanFacts(
            voluntary=is_voluntary(plan["details"]),
            line_of_coverage=LineOfCoverage(plan["line_of_coverage"]),
        )
        for plan in await store.plan_kinds(session, plan_ids)
    }


def _verified(transaction: MemberTransaction, fetched_at: int) -> None:
    """No check of the transaction is due any more: it is verified."""
    transaction.confirm_stage = None
    transaction.confirm_due = None
    transaction.verified = fetched_at
    transaction.status_details = [
        *transaction.status_details,
        {"status_detail": StatusDetail.NOYO_VERIFIED.value, "event_created": fetched_at},
    ]


def _start_of(day: date) -> int:
    return int(datetime.combine(day, time.min, tzinfo=UTC).timestamp())
