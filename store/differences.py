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

from domain.differences import ConfirmationStage, DifferenceType, FoundDifference
from store.db import hold_lock
from store.models import Difference, MemberTransaction
from store.versioning import save_version

SOURCE_OBJECT_TYPE = "member_transaction"

COVERAGE = "coverage"
DEMOGRAPHIC = "demographic"

# The engine's own scale (the contract names `impact_score` and `impact_type` but defines
# neither): 3 when coverage is missing or wrong, 2 for a carrier-set date or a person's
# details, 1 for employment details.
IMPACT: dict[DifferenceType, tuple[int, str]] = {
    DifferenceType.MISSING_EMPLOYEE: (3, COVERAGE),
    DifferenceType.MISSING_DEPENDENT: (3, COVERAGE),
    DifferenceType.MISSING_IE: (3, COVERAGE),
    DifferenceType.EXTRA_DEPENDENT: (3, COVERAGE),
    DifferenceType.EXTRA_IE: (3, COVERAGE),
    DifferenceType.ENROLLMENT_MISMATCH: (3, COVERAGE),
    DifferenceType.CARRIER_EFFECTIVE_DATE: (2, COVERAGE),
    DifferenceType.PERSON_MISMATCH: (2, DEMOGRAPHIC),
    DifferenceType.EMPLOYMENT_MISMATCH: (1, DEMOGRAPHIC),
}
IMPACT_TYPES = (COVERAGE, DEMOGRAPHIC)


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


def identity_of(found: FoundDifference) -> str:
    return "|".join(found.identity)


def _json_safe(value: Any) -> Any:
    """A carrier or platform value as JSON stores it (dates and the like as strings)."""
    return json.loads(json.dumps(value, default=str))


def _fields(found: FoundDifference) -> list[dict[str, Any]]:
    return [_json_safe(f.as_json()) for f in found.fields]


def _source(
    transaction: MemberTransaction,
    stage: ConfirmationStage,
    fetched_at: int,
    now: int,
    *,
    is_discrepancy: bool = False,
    resolves: bool = False,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "version": str(uuid.uuid4()),
        "created": now,
        "modified": now,
        "object_type": SOURCE_OBJECT_TYPE,
        "object_id": str(transaction.id),
        "member_snapshot_id": str(transaction.member_snapshot_id),
        "stage": stage.value,
        "is_discrepancy": is_discrepancy,
        "resolves_difference": resolves,
        "suppress_discrepancies": False,
        "last_seen": fetched_at,
        "carrier_fetch_time": fetched_at,
    }


def _already_recorded(
    row: Difference, transaction_id: uuid.UUID, stage: ConfirmationStage, fetched_at: int
) -> bool:
    """This very check (transaction, stage, carrier read) is already one of its sources."""
    return any(
        s.get("object_id") == str(transaction_id)
        and s.get("stage") == stage.value
        and s.get("carrier_fetch_time") == fetched_at
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
    rows = await session.scalars(
        select(Difference)
        .where(
            Difference.employee_id == transaction.employee_id,
            Difference.carrier_id == transaction.carrier_id,
            Difference.resolved.is_(None),
        )
        .with_for_update()
    )
    open_by_identity = {row.identity: row for row in rows}
    findings = {identity_of(f): f for f in found}  # one per identity: the last one wins
    at_effective_date = stage is ConfirmationStage.EFFECTIVE_DATE
    now = int(time.time())
    opened = still_open = resolved = discrepancies = 0

    for identity, finding in findings.items():
        score, impact_type = IMPACT.get(finding.difference_type, (1, None))
        row = open_by_identity.get(identity)
        if row is None:
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
                is_discrepancy=at_effective_date,
                discrepancy_time=now if at_effective_date else None,
                resolved=None,
                replaced_by=None,
                identity=identity,
                sources=[
                    _source(transaction, stage, fetched_at, now, is_discrepancy=at_effective_date)
                ],
            )
            await save_version(session, row, is_new=True, history=False)
            opened += 1
        else:
            still_open += 1
            if not _already_recorded(row, transaction.id, stage, fetched_at):
                becomes_discrepancy = at_effective_date and not row.is_discrepancy
                if becomes_discrepancy:
                    row.is_discrepancy = True
                    row.discrepancy_time = now
                row.fields = _fields(finding)
                row.difference_classification = finding.classification.value
                row.impact_score, row.impact_type = score, impact_type
                row.sources = [
                    *row.sources,
                    _source(
                        transaction, stage, fetched_at, now, is_discrepancy=becomes_discrepancy
                    ),
                ]
                await save_version(session, row, history=False)
        if row.is_discrepancy:
            discrepancies += 1

    for identity, row in open_by_identity.items():
        if identity in findings:
            continue
        row.resolved = now
        row.sources = [*row.sources, _source(transaction, stage, fetched_at, now, resolves=True)]
        await save_version(session, row, history=False)
        resolved += 1

    return CheckOutcome(
        opened=opened, still_open=still_open, resolved=resolved, discrepancies=discrepancies
    )
