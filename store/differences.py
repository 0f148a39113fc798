"""Differences found by round-trip confirmation: the one write path, `record_checks` (one
check: `record_check`).

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

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.differences import (
    CENSUS_OBJECT_TYPE,
    SOURCE_OBJECT_TYPE,
    Changes,
    Check,
    CheckOutcome,
    ConfirmationStage,
    FoundDifference,
    expected,
    found_again,
    impact_of,
    opened,
    replaced,
    resolved_by,
    settled_at_check,
    split_check,
    stored_fields,
)
from store.db import hold_lock, hold_locks, ids_param
from store.models import Difference, MemberTransaction
from store.tenancy import owned_all
from store.versioning import save_version, save_versions

__all__ = [
    "SOURCE_OBJECT_TYPE",
    "CheckOutcome",
    "TransactionCheck",
    "differences_for_update",
    "record_check",
    "record_checks",
    "record_comparison",
    "record_expected",
    "write_changes",
    "write_many",
]
WHAT = "difference"


async def differences_for_update(
    session: AsyncSession, organization_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[Difference]:
    """The organization's differences named by `ids`, locked in id order; `NotFound` if any
    is not theirs (another organization's alike, so their ids are not revealed)."""
    return await owned_all(session, Difference, ids, organization_id, what=WHAT)


def _apply(row: Difference, changes: Changes) -> None:
    for column, value in changes.items():
        setattr(row, column, value)


async def write_changes(session: AsyncSession, row: Difference, changes: Changes) -> None:
    """Write what a lifecycle rule decided as a new version (no history: `fields` hold PII)."""
    _apply(row, changes)
    await save_version(session, row, history=False)


async def write_many(session: AsyncSession, changed: list[tuple[Difference, Changes]]) -> None:
    """`write_changes` for a batch, in one flush."""
    for row, changes in changed:
        _apply(row, changes)
    await save_versions(session, [row for row, _ in changed])


def _member_at_carrier(employee_id: uuid.UUID, carrier_id: uuid.UUID) -> str:
    """The advisory lock that serializes the writers of one employee's differences at one
    carrier (checks, comparisons, expectations) until their transaction ends."""
    return f"differences:{employee_id}:{carrier_id}"


@dataclass(frozen=True)
class TransactionCheck:
    """One check of a transaction at its carrier: what differs, at which stage, and when the
    carrier was read (Unix seconds)."""

    transaction: MemberTransaction
    found: list[FoundDifference]
    stage: ConfirmationStage
    fetched_at: int


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
    [outcome] = await record_checks(
        session, [TransactionCheck(transaction, found, stage, fetched_at)]
    )
    return outcome


async def record_checks(
    session: AsyncSession, checks: Sequence[TransactionCheck]
) -> list[CheckOutcome]:
    """`record_check` for each check of a batch, in its order, in a few statements whatever
    its size: every employee-at-carrier lock at once (sorted), their open differences in one
    read, the writes at the end. A later check of an employee at a carrier sees what the
    batch's earlier checks of them did."""
    pairs = {(c.transaction.employee_id, c.transaction.carrier_id) for c in checks}
    await hold_locks(session, [_member_at_carrier(e, c) for e, c in pairs])
    open_rows = await _open_differences_of(session, pairs)
    writes = _Writes()
    outcomes = []
    for item in checks:
        pair = (item.transaction.employee_id, item.transaction.carrier_id)
        outcomes.append(_check(item, open_rows.setdefault(pair, {}), writes))
    await writes.flush(session)
    return outcomes


@dataclass
class _Writes:
    """The differences a batch of checks opened, changed and dropped, written at its end."""

    opened: list[Difference] = field(default_factory=list)
    changed: list[Difference] = field(default_factory=list)
    dropped: list[Difference] = field(default_factory=list)

    def change(self, row: Difference, changes: Changes) -> None:
        _apply(row, changes)
        self.changed.append(row)

    async def flush(self, session: AsyncSession) -> None:
        """Write what is collected. The drops and the changes go first, the new rows after: an
        open identity is unique, and a check may open again what an earlier check of the batch
        resolved or dropped.

        The drops are one `DELETE … WHERE id = ANY(…)`: the unit of work deletes row by row (an
        executemany, each row its own execution at the server), about three rows per
        transaction, since most expectations are met at the first check. A pending difference
        announces nothing (`store.webhooks`), so no event is lost by leaving the ORM out."""
        dropped = set(self.dropped)
        for row in dropped:
            session.expunge(row)
        # A row an earlier check of the batch changed may be dropped by a later one. The changes
        # are flushed before the delete, which would otherwise autoflush them unversioned.
        await save_versions(session, [row for row in self.changed if row not in dropped])
        if dropped:
            await session.execute(
                _DROP, {"ids": [row.id for row in dropped]}, execution_options=_NO_SYNC
            )
        await save_versions(session, self.opened, is_new=True)


_DROP = delete(Difference).where(Difference.id == func.any(ids_param("ids")))
# The dropped rows are expunged before the delete: nothing in the session to bring in line.
_NO_SYNC = {"synchronize_session": False}


def _check(
    item: TransactionCheck,
    open_rows: dict[str, Difference],
    writes: _Writes,
) -> CheckOutcome:
    """One check against the employee's open differences at the carrier (`open_rows`, kept
    current for the batch's next check of them); its writes are collected in `writes`."""
    transaction = item.transaction
    split = split_check(open_rows, item.found)
    check = Check(
        transaction_id=transaction.id,
        member_snapshot_id=transaction.member_snapshot_id,
        stage=item.stage,
        fetched_at=item.fetched_at,
        now=int(time.time()),
    )
    opened_count = still_open = resolved = discrepancies = 0
    for finding in split.opened:
        if finding.suppressed:
            continue  # what the carrier is documented to do, and no snapshot expected otherwise
        row = Difference(
            organization_id=transaction.organization_id,
            group_id=transaction.group_id,
            carrier_id=transaction.carrier_id,
            employee_id=transaction.employee_id,
            member_snapshot_id=transaction.member_snapshot_id,
            member_transaction_id=transaction.id,
            **opened(check, finding),
        )
        writes.opened.append(row)
        open_rows[finding.key] = row
        opened_count += 1
        discrepancies += row.is_discrepancy
    for finding in split.still_open:
        row = open_rows[finding.key]
        if settled_at_check(check, finding):
            _settle(check, open_rows.pop(finding.key), writes)
            resolved += 1
            continue
        changes = found_again(check, row, finding)
        if changes is not None:
            writes.change(row, changes)
        still_open += 1
        discrepancies += row.is_discrepancy
    for key in split.resolved:
        _settle(check, open_rows.pop(key), writes)
        resolved += 1
    return CheckOutcome(
        opened=opened_count,
        still_open=still_open,
        resolved=resolved,
        discrepancies=discrepancies,
    )


def _settle(check: Check, row: Difference, writes: _Writes) -> None:
    """The check no longer finds the difference (or finds only what the carrier is documented
    to do): resolved. A pending one no check ever found is dropped instead: the carrier held
    what the snapshot expected at its first look, so it never was a difference there, and
    keeping it would leave every verified snapshot with a trail of resolved rows no list shows."""
    if row.member_transaction_id is None:
        writes.dropped.append(row)
        return
    writes.change(row, resolved_by(check, row))


async def record_expected(
    session: AsyncSession, expectations: Sequence[tuple[MemberTransaction, list[FoundDifference]]]
) -> int:
    """Record what newly built transactions expect their carriers to come to hold (each with its
    findings from `domain.confirmation.expected_at_carrier`) as pending differences of their
    snapshots, in a few statements whatever the batch's size.

    The member's pending differences at the carrier from older snapshots are replaced by the
    newer one (`replaced_by` = the newer snapshot; within the batch, in its order), and so is any
    open difference whose identity it expects anew; differences a check found that it does not
    address stay open for the next check to resolve or keep. A retried build opens nothing
    twice. Answers the number of pending differences opened.
    """
    pairs = {(t.employee_id, t.carrier_id) for t, _ in expectations}
    await hold_locks(session, [_member_at_carrier(e, c) for e, c in pairs])
    open_rows = await _open_differences_of(session, pairs)
    stale: list[tuple[Difference, Changes]] = []
    pending: list[Difference] = []
    opened_here: set[Difference] = set()
    now = int(time.time())
    for transaction, found in expectations:
        snapshot_id = transaction.member_snapshot_id
        findings = {finding.key: finding for finding in found}
        rows = open_rows.setdefault((transaction.employee_id, transaction.carrier_id), {})
        for key, row in list(rows.items()):
            if row.member_snapshot_id == snapshot_id or not (
                row.member_transaction_id is None or key in findings
            ):
                continue
            changes = replaced(row, snapshot_id)
            if changes is None:
                continue
            if row in opened_here:  # opened earlier in this batch: inserted once, as replaced
                row.replaced_by = snapshot_id
            else:
                stale.append((row, changes))
            del rows[key]
        for key, finding in findings.items():
            if key in rows:
                continue  # this snapshot's already (a retried build)
            row = Difference(
                organization_id=transaction.organization_id,
                group_id=transaction.group_id,
                carrier_id=transaction.carrier_id,
                employee_id=transaction.employee_id,
                **expected(snapshot_id, finding, now=now),
            )
            pending.append(row)
            opened_here.add(row)
            rows[key] = row
    await write_many(session, stale)  # flushed first: the new rows take their identities
    await save_versions(session, pending, is_new=True)
    return len(pending)


async def _open_differences_of(
    session: AsyncSession, pairs: set[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], dict[str, Difference]]:
    """The open differences of each employee at each carrier, locked, by identity."""
    if not pairs:
        return {}
    rows = await session.scalars(
        select(Difference)
        .where(
            Difference.employee_id.in_({e for e, _ in pairs}),
            Difference.carrier_id.in_({c for _, c in pairs}),
            Difference.resolved.is_(None),
            Difference.replaced_by.is_(None),
        )
        .order_by(Difference.id)
        .with_for_update(key_share=True)
    )
    found: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Difference]] = {}
    for row in rows:
        if (row.employee_id, row.carrier_id) in pairs:
            found.setdefault((row.employee_id, row.carrier_id), {})[row.identity] = row
    return found


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
    pair = (employee_id, carrier_id)
    await hold_lock(session, _member_at_carrier(*pair))
    open_rows = (await _open_differences_of(session, {pair})).get(pair, {})
    now = int(time.time())
    source = {
        "id": str(uuid.uuid4()),
        "version": str(uuid.uuid4()),
        "created": now,
        "modified": now,
        "object_type": CENSUS_OBJECT_TYPE,
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
            fields=stored_fields(finding),
            impact_score=score,
            impact_type=impact_type,
            is_dismissed=False,
            is_suppressed=False,
            is_discrepancy=False,
            discrepancy_time=None,
            resolved=None,
            replaced_by=None,
            assignee_id=None,
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
