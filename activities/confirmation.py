"""Round-trip confirmation: read the carrier back, compare with what was sent, record differences.

One call confirms every transaction of a group that is due, reading the carriers concurrently,
and says when the group's next check falls. Logs name ids and counts, never people.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from temporalio import activity

from activities.heartbeat import heartbeats
from carriers import CarrierAdapter, CarrierUnavailable
from carriers.registry import CARRIERS
from domain.confirmation import PlanFacts, compare_member
from domain.differences import ConfirmationStage
from domain.enums import LineOfCoverage
from domain.member_changes import StatusDetail, TransactionStatus, TransactionType
from domain.members import OPEN_END, CarrierMember, CarrierMemberRecord
from domain.plans import is_voluntary
from store.db import Database
from store.differences import record_check
from store.models import MemberTransaction, Plan, unix_now
from store.versioning import save_version
from workflows.confirmation import ConfirmedTurn, DueCheck

log = logging.getLogger("carrierlink.confirmation")

# How many transactions one turn confirms.
BATCH = 500
# Carrier reads in flight at once per worker, shared by the turns of every group: a burst of
# turns (every group's effective dates fall at midnight UTC; a restart wakes every loop) then
# waits here. Per turn, 100 groups would put 2,000 reads into the HTTP client's pool, whose
# connection timeout fails whole turns (retried from the start) and whose queue costs CPU per
# request; bench.confirmations measured the worker stalling on it at 10,000 transactions.
CONCURRENT_READS = 20
# Verified at once (contract 4c): nothing waits for an effective date.
_AT_ONCE = {TransactionType.DEMOGRAPHIC.value, TransactionType.DEMOGRAPHIC_FULL.value}


@dataclass(frozen=True)
class _Due:
    id: uuid.UUID
    carrier_id: uuid.UUID
    carrier_group_id: str
    employee_id: uuid.UUID
    stage: ConfirmationStage


class ConfirmationActivities:
    def __init__(self, database: Database, adapters: dict[uuid.UUID, CarrierAdapter]) -> None:
        self._db = database
        self._adapters = adapters
        self._reads = asyncio.Semaphore(CONCURRENT_READS)

    @activity.defn(name="confirm_due_transactions")
    @heartbeats
    async def confirm_due(self, check: DueCheck) -> ConfirmedTurn:
        """Confirm the group's transactions due by `check.now`; when is the next one due.

        A carrier fault on some reads does not waste the others: what was read is confirmed
        and kept, then the turn fails so its retry reads only what is still due.
        """
        due = await self._due(check)

        async def read(item: _Due) -> CarrierMemberRecord | None:
            async with self._reads:
                return await self._adapters[item.carrier_id].fetch_member(
                    item.carrier_group_id, item.employee_id
                )

        held = await asyncio.gather(*(read(item) for item in due), return_exceptions=True)
        faults = [r for r in held if isinstance(r, BaseException)]
        if any(not isinstance(fault, CarrierUnavailable) for fault in faults):
            raise next(f for f in faults if not isinstance(f, CarrierUnavailable))
        fetched_at = unix_now()
        today = check.now.astimezone(UTC).date()
        async with self._db.transaction() as session:
            for item, record in zip(due, held, strict=True):
                if isinstance(record, BaseException):
                    continue  # still due: the retry reads it again
                transaction = await session.get(MemberTransaction, item.id, with_for_update=True)
                if transaction is None or transaction.confirm_stage != item.stage.value:
                    continue  # confirmed by an earlier attempt of this turn
                sent = CarrierMember.model_validate(transaction.body["member"])
                plans = {
                    plan.id: PlanFacts(
                        voluntary=is_voluntary(plan.details),
                        line_of_coverage=LineOfCoverage(plan.line_of_coverage),
                    )
                    for plan in await session.scalars(
                        select(Plan).where(Plan.id.in_([c.plan_id for c in sent.coverages]))
                    )
                }
                effective = _effective_date(transaction, sent)
                final = (
                    item.stage is ConfirmationStage.EFFECTIVE_DATE
                    or transaction.transaction_type in _AT_ONCE
                    or effective <= today
                )
                stage = ConfirmationStage.EFFECTIVE_DATE if final else item.stage
                found = compare_member(
                    sent,
                    record.as_member() if record is not None else None,
                    carrier=CARRIERS[item.carrier_id].slug,
                    today=today,
                    plans=plans,
                    stage=stage,
                )
                await record_check(
                    session,
                    transaction=transaction,
                    found=found,
                    stage=stage,
                    fetched_at=fetched_at,
                )
                if final:
                    transaction.confirm_stage = None
                    transaction.confirm_due = None
                    transaction.verified = fetched_at
                    transaction.status_details = [
                        *transaction.status_details,
                        {
                            "status_detail": StatusDetail.NOYO_VERIFIED.value,
                            "event_created": fetched_at,
                        },
                    ]
                else:
                    transaction.confirm_stage = ConfirmationStage.EFFECTIVE_DATE.value
                    transaction.confirm_due = _start_of(effective)
                await save_version(session, transaction, history=False)
            next_due = await session.scalar(
                select(func.min(MemberTransaction.confirm_due)).where(
                    MemberTransaction.group_id == check.group_id,
                    MemberTransaction.confirm_due.is_not(None),
                )
            )
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
            rows = await session.scalars(
                select(MemberTransaction)
                .where(
                    MemberTransaction.group_id == check.group_id,
                    MemberTransaction.confirm_due <= int(check.now.timestamp()),
                    MemberTransaction.status == TransactionStatus.COMPLETED.value,
                )
                .order_by(MemberTransaction.confirm_due)
                .limit(BATCH)
            )
            return [
                _Due(
                    id=row.id,
                    carrier_id=row.carrier_id,
                    carrier_group_id=str(row.result["carrier_group_id"]),
                    employee_id=row.employee_id,
                    stage=ConfirmationStage(row.confirm_stage or ConfirmationStage.ACCEPTANCE),
                )
                for row in rows
            ]


def _effective_date(transaction: MemberTransaction, sent: CarrierMember) -> date:
    """When the change takes effect: the latest start among the changed lines' active
    enrollments (a coverage's end, for one being removed)."""
    dates: list[date] = []
    for coverage in sent.coverages:
        if coverage.line_of_coverage.value not in transaction.lines_of_coverage:
            continue
        for member in coverage.enrolled_members:
            if member.effective_end_date == OPEN_END:
                dates.append(member.effective_start_date)
            else:
                dates.append(member.effective_end_date)
    return max(dates, default=date.min)


def _start_of(day: date) -> int:
    return int(datetime.combine(day, time.min, tzinfo=UTC).timestamp())
