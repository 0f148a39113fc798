"""Differences found by round-trip confirmation: the one write path, `record_check`.

A check reads the carrier's copy of a member for one transaction and lists what differs
(`FoundDifference`). Each finding opens a difference, or adds a source to the open one with the
same identity for that employee at that carrier. An open difference of the transaction that the
check no longer finds is resolved. At the effective-date check every difference still found is
a discrepancy.

A check compares the whole member at the carrier, so any open difference of the employee at
that carrier it no longer finds is resolved, whichever transaction's check found it first.

Each source is the check that saw it: `{id, version, created, modified, object_type
("member_transaction"), object_id (the transaction), member_snapshot_id, stage, is_discrepancy
(this check made it one), resolves_difference, suppress_discrepancies, last_seen and
carrier_fetch_time (when the carrier was read)}`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.differences import ConfirmationStage, FoundDifference, impact_of, split_check
from store.db import hold_lock
from store.models import Difference, MemberTransaction
from store.versioning import save_version

SOURCE_OBJECT_TYPE = "member_transaction"


@dataclass(frozen=True)
class CheckOutcome:
    """What one check did: differences opened, found again, resolved; and how many of those
    it found (opened or still open) are discrepancies now."""

    opened: int = 0
    still_open: int = 0
    resolved: int = 0
    discrepancies: int = 0

    @property
    def found(self) -> int:
        return self.opened + self.still_open


def _json_safe(value: Any) -> Any:
    """A carrier or platform value as JSON stores it (dates and the like as strings)."""
    return json.loads(json.dumps(value, default=str))


def _fields(found: FoundDifference) -> list[dict[str, Any]]:
    return [_json_safe(f.as_json()) for f in found.fields]


@dataclass(frozen=True)
class _Check:
    """One check of a transaction at its carrier: what each source it writes says."""

    transaction: MemberTransaction
    stage: ConfirmationStage
    fetched_at: int  # when the carrier was read
    now: int

    @property
    def at_effective_date(self) -> bool:
        return self.stage is ConfirmationStage.EFFECTIVE_DATE

    def source(self, *, is_discrepancy: bool = False, resolves: bool = False) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "version": str(uuid.uuid4()),
            "created": self.now,
            "modified": self.now,
            "object_type": SOURCE_OBJECT_TYPE,
            "object_id": str(self.transaction.id),
            "member_snapshot_id": str(self.transaction.member_snapshot_id),
            "stage": self.stage.value,
            "is_discrepancy": is_discrepancy,
            "resolves_difference": resolves,
            "suppress_discrepancies": False,
            "last_seen": self.fetched_at,
            "carrier_fetch_time": self.fetched_at,
        }

    def already_in(self, row: Difference) -> bool:
        """This very check (transaction, stage, carrier read) is already one of its sources."""
        return any(
            s.get("object_id") == str(self.transaction.id)
            and s.get("stage") == self.stage.value
            and s.get("carrier_fetch_time") == self.fetched_at
            and not s.get("resolves_difference")
            for s in row.sources
        )


async def _lock_member_at_carrier(
    session: AsyncSession, employee_id: uuid.UUID, carrier_id: uuid.UUID
) -> None:
    """Serialize checks of one employee at one carrier until the transaction ends."""
    await hold_lock(session, f"differences:{employee_id}:{carrier_id}")


async def record_check(
    session: AsyncSession,
    *,
    transaction: MemberTransaction,
    found: list[FoundDifference],
    stage: ConfirmationStage,
    fetched_at: int,
) -> CheckOutcome:
    """Record one check of `transaction` at its carrier; `fetched_at` is when the carrier was
    read (Unix seconds).

    - Each finding opens a difference or updates the open one of the same identity for the
      employee at the carrier (fields refreshed, a source appended, a new version).
    - Each open difference of the employee at the carrier not found again is resolved (a
      source with `resolves_difference`): the check reads the whole member.
    - At `EFFECTIVE_DATE`, each difference found becomes a discrepancy (`discrepancy_time`
      set once; the source that made it one says so).

    Repeating the same check (same transaction, stage and `fetched_at`) changes nothing.
    """
    await _lock_member_at_carrier(session, transaction.employee_id, transaction.carrier_id)
    open_rows = await _open_differences(session, transaction)
    split = split_check(open_rows, found)
    check = _Check(transaction, stage, fetched_at, now=int(time.time()))
    discrepancies = 0
    for finding in split.opened:
        opened = await _open(session, check, finding)
        discrepancies += opened.is_discrepancy
    for finding in split.still_open:
        row = open_rows[finding.key]
        await _found_again(session, check, row, finding)
        discrepancies += row.is_discrepancy
    for key in split.resolved:
        await _resolve(session, check, open_rows[key])
    return CheckOutcome(
        opened=len(split.opened),
        still_open=len(split.still_open),
        resolved=len(split.resolved),
        discrepancies=discrepancies,
    )


async def _open_differences(
    session: AsyncSession, transaction: MemberTransaction
) -> dict[str, Difference]:
    """The employee's open differences at the transaction's carrier, locked, by identity."""
    rows = await session.scalars(
        select(Difference)
        .where(
            Difference.employee_id == transaction.employee_id,
            Difference.carrier_id == transaction.carrier_id,
            Difference.resolved.is_(None),
        )
        .with_for_update(key_share=True)
    )
    return {row.identity: row for row in rows}


async def _open(session: AsyncSession, check: _Check, finding: FoundDifference) -> Difference:
    """A new difference; at the effective-date check, a discrepancy from the start."""
    transaction = check.transaction
    score, impact_type = impact_of(finding.difference_type)
    row = Difference(
        organization_id=transaction.organization_id,
        group_id=transaction.group_id,
        carrier_id=transaction.carrier_id,
        employee_id=transaction.employee_id,
        member_snapshot_id=transaction.member_snapshot_id,
        member_transaction_id=transaction.id,
        object_type=finding.object_type.value,
        object_id=finding.object_id,
        coverage_key=list(finding.coverage_key),
        difference_classification=finding.classification.value,
        difference_type=finding.difference_type.value,
        fields=_fields(finding),
        impact_score=score,
        impact_type=impact_type,
        is_dismissed=False,
        is_suppressed=False,
        is_discrepancy=check.at_effective_date,
        discrepancy_time=check.now if check.at_effective_date else None,
        resolved=None,
        replaced_by=None,
        identity=finding.key,
        sources=[check.source(is_discrepancy=check.at_effective_date)],
    )
    await save_version(session, row, is_new=True, history=False)
    return row


async def _found_again(
    session: AsyncSession, check: _Check, row: Difference, finding: FoundDifference
) -> None:
    """Refresh an open difference from the finding and add the check as a source, unless this
    very check is one already; at the effective-date check it becomes a discrepancy."""
    if check.already_in(row):
        return
    becomes_discrepancy = check.at_effective_date and not row.is_discrepancy
    if becomes_discrepancy:
        row.is_discrepancy = True
        row.discrepancy_time = check.now
    row.fields = _fields(finding)
    row.difference_classification = finding.classification.value
    row.impact_score, row.impact_type = impact_of(finding.difference_type)
    row.sources = [*row.sources, check.source(is_discrepancy=becomes_discrepancy)]
    await save_version(session, row, history=False)


async def _resolve(session: AsyncSession, check: _Check, row: Difference) -> None:
    """The check no longer finds the open difference: resolved, the check its last source."""
    row.resolved = check.now
    row.sources = [*row.sources, check.source(resolves=True)]
    await save_version(session, row, history=False)


async def record_comparison(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    carrier_id: uuid.UUID,
    employee_id: uuid.UUID,
    member_snapshot_id: uuid.UUID,
    holding_id: uuid.UUID,
    found: list[FoundDifference],
    stage: str,
    fetched_at: int,
) -> int:
    """Record a comparison of the platform's snapshot with a carrier's census (`stage`
    `connection`): each finding opens a difference or adds a source to the open one of its
    identity; nothing is resolved (a census is no answer to a transaction). Answers how many
    it opened; the same comparison twice adds nothing."""
    await _lock_member_at_carrier(session, employee_id, carrier_id)
    rows = await session.scalars(
        select(Difference)
        .where(
            Difference.employee_id == employee_id,
            Difference.carrier_id == carrier_id,
            Difference.resolved.is_(None),
        )
        .with_for_update(key_share=True)
    )
    open_rows = {row.identity: row for row in rows}
    now = int(time.time())
    source = {
        "id": str(uuid.uuid4()),
        "version": str(uuid.uuid4()),
        "created": now,
        "modified": now,
        "object_type": "carrier_holding",
        "object_id": str(holding_id),
        "member_snapshot_id": str(member_snapshot_id),
        "stage": stage,
        "is_discrepancy": False,
        "resolves_difference": False,
        "suppress_discrepancies": False,
        "last_seen": fetched_at,
        "carrier_fetch_time": fetched_at,
    }
    opened = 0
    for finding in split_check(open_rows, found).opened:
        score, impact_type = impact_of(finding.difference_type)
        row = Difference(
            organization_id=organization_id,
            group_id=group_id,
            carrier_id=carrier_id,
            employee_id=employee_id,
            member_snapshot_id=member_snapshot_id,
            member_transaction_id=None,
            object_type=finding.object_type.value,
            object_id=finding.object_id,
            coverage_key=list(finding.coverage_key),
            difference_classification=finding.classification.value,
            difference_type=finding.difference_type.value,
            fields=_fields(finding),
            impact_score=score,
            impact_type=impact_type,
            is_dismissed=False,
            is_suppressed=False,
            is_discrepancy=False,
            discrepancy_time=None,
            resolved=None,
            replaced_by=None,
            identity=finding.key,
            sources=[source],
        )
        await save_version(session, row, is_new=True, history=False)
        opened += 1
    for finding in split_check(open_rows, found).still_open:
        row = open_rows[finding.key]
        if not any(
            s.get("object_id") == source["object_id"] and s.get("carrier_fetch_time") == fetched_at
            for s in row.sources
        ):
            row.sources = [*row.sources, source]
            await save_version(session, row, history=False)
    return opened
