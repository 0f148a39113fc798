"""Pending differences at the store: what a snapshot expects (`record_expected`), replaced by the
member's newer snapshot, found by a check (then available, the check's transaction its origin)
or settled by a carrier match (dropped: never a difference at the carrier), and suppressed ones
never discrepancies."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from domain.differences import ConfirmationStage, FoundDifference
from store.db import Database
from store.differences import TransactionCheck, record_checks, record_expected
from store.models import MemberTransaction
from tests.harness import statements_sent
from tests.integration.reads.conftest import listed
from tests.integration.reads.test_differences_api import (
    DIFFERENCES,
    Seed,
    missing_enrollment,
    person_mismatch,
    rows_of,
)

pytestmark = pytest.mark.integration


async def expect(
    database: Database, transaction: MemberTransaction, found: list[FoundDifference]
) -> int:
    async with database.transaction() as session:
        return await record_expected(session, [(transaction, found)])


async def test_a_newer_snapshot_replaces_the_pending_differences_of_the_older(
    api: httpx.AsyncClient, database: Database
) -> None:
    seed = await Seed.of(database, api)
    group = await seed.group()
    employee, first = await seed.employee_with_transaction(group)
    dental, person = missing_enrollment(employee), person_mismatch(employee)

    assert await expect(database, first, [dental, person]) == 2
    assert await expect(database, first, [dental, person]) == 0  # a retried build
    second = await seed.transaction(group, employee, await seed.snapshot(group, employee))
    assert await expect(database, second, [dental]) == 1

    rows = await rows_of(database, employee)
    older = [r for r in rows if r.member_snapshot_id == first.member_snapshot_id]
    newer = [r for r in rows if r.member_snapshot_id == second.member_snapshot_id]
    assert {r.replaced_by for r in older} == {second.member_snapshot_id}
    assert [(r.identity, r.replaced_by, r.resolved) for r in newer] == [(dental.key, None, None)]
    assert all(r.member_transaction_id is None for r in rows)

    # Unavailable until a check sees them at the carrier: listed only when asked for.
    assert await listed(api, DIFFERENCES) == []
    assert await listed(api, DIFFERENCES, include_unavailable="true", is_open="true") == [
        str(newer[0].id)
    ]


async def test_a_check_finds_a_pending_difference_or_resolves_it(
    api: httpx.AsyncClient, database: Database
) -> None:
    seed = await Seed.of(database, api)
    group = await seed.group()
    employee, transaction = await seed.employee_with_transaction(group)
    dental, person = missing_enrollment(employee), person_mismatch(employee)
    await expect(database, transaction, [dental, person])

    outcome = await seed.check(transaction, [dental])
    assert (outcome.opened, outcome.still_open, outcome.resolved) == (0, 1, 1)
    rows = {r.identity: r for r in await rows_of(database, employee)}
    assert set(rows) == {dental.key}  # the matched expectation is settled and dropped
    found = rows[dental.key]
    assert found.member_transaction_id == transaction.id
    assert found.resolved is None
    assert await listed(api, DIFFERENCES) == [str(found.id)]
    path = f"/api/v1/member_transactions/{transaction.id}/differences"
    assert await listed(api, path) == [str(found.id)]

    # Still found at the effective date: a discrepancy, as any difference.
    await seed.check(
        transaction, [dental], stage=ConfirmationStage.EFFECTIVE_DATE, fetched_at=1_700_000_500
    )
    [row] = [r for r in await rows_of(database, employee) if r.identity == dental.key]
    assert row.is_discrepancy is True


async def test_a_suppressed_expectation_is_kept_then_resolved_never_a_discrepancy(
    api: httpx.AsyncClient, database: Database
) -> None:
    seed = await Seed.of(database, api)
    group = await seed.group()
    employee, transaction = await seed.employee_with_transaction(group)
    pending_eoi = replace(missing_enrollment(employee, "life"), suppressed=True)
    await expect(database, transaction, [pending_eoi])

    await seed.check(transaction, [pending_eoi], fetched_at=1_700_000_100)
    [row] = await rows_of(database, employee)
    assert (row.is_suppressed, row.member_transaction_id, row.resolved) == (True, None, None)

    # A suppressed finding no snapshot expected opens nothing.
    other = replace(missing_enrollment(employee, "std"), suppressed=True)
    assert (
        await seed.check(transaction, [pending_eoi, other], fetched_at=1_700_000_200)
    ).opened == 0

    assert await listed(api, DIFFERENCES, include_unavailable="true") == [str(row.id)]
    outcome = await seed.check(
        transaction,
        [pending_eoi],
        stage=ConfirmationStage.EFFECTIVE_DATE,
        fetched_at=1_700_000_300,
    )
    # Confirmed as documented at the effective date: settled, never a discrepancy.
    assert (outcome.resolved, outcome.discrepancies) == (1, 0)
    assert await rows_of(database, employee) == []


async def test_two_snapshots_of_one_member_in_one_build(
    api: httpx.AsyncClient, database: Database
) -> None:
    seed = await Seed.of(database, api)
    group = await seed.group()
    employee, first = await seed.employee_with_transaction(group)
    second = await seed.transaction(group, employee, await seed.snapshot(group, employee))
    dental = missing_enrollment(employee)

    async with database.transaction() as session:
        opened = await record_expected(session, [(first, [dental]), (second, [dental])])
    assert opened == 2

    rows = await rows_of(database, employee)
    by_snapshot = {r.member_snapshot_id: r for r in rows}
    assert by_snapshot[first.member_snapshot_id].replaced_by == second.member_snapshot_id
    assert by_snapshot[second.member_snapshot_id].replaced_by is None


async def test_a_batch_of_checks_records_what_the_same_checks_would_one_by_one(
    api: httpx.AsyncClient, database: Database
) -> None:
    """The confirmation turn records its checks as one batch (`record_checks`). A second check
    of an employee at a carrier sees the first's writes: here the first drops the pending
    dental difference (the carrier holds it) and the second, of the employee's next
    transaction, finds dental missing again and opens it under the same identity."""
    seed = await Seed.of(database, api)
    group = await seed.group()
    employee, first = await seed.employee_with_transaction(group)
    second = await seed.transaction(group, employee, await seed.snapshot(group, employee))
    other, third = await seed.employee_with_transaction(group)
    dental, person = missing_enrollment(employee), person_mismatch(other)
    await expect(database, first, [dental])
    await expect(database, third, [person])

    async with database.transaction() as session:
        outcomes = await record_checks(
            session,
            [
                TransactionCheck(first, [], ConfirmationStage.ACCEPTANCE, 1_700_000_100),
                TransactionCheck(third, [person], ConfirmationStage.ACCEPTANCE, 1_700_000_100),
                TransactionCheck(second, [dental], ConfirmationStage.ACCEPTANCE, 1_700_000_100),
            ],
        )

    assert [(o.opened, o.still_open, o.resolved) for o in outcomes] == [
        (0, 0, 1),
        (0, 1, 0),
        (1, 0, 0),
    ]
    [reopened] = await rows_of(database, employee)
    assert (reopened.identity, reopened.member_transaction_id) == (dental.key, second.id)
    assert reopened.resolved is None
    [found] = await rows_of(database, other)
    assert (found.identity, found.member_transaction_id) == (person.key, third.id)
    assert [s["object_id"] for s in found.sources][-1] == str(third.id)


async def test_a_batch_of_checks_takes_the_same_statements_whatever_its_size(
    api: httpx.AsyncClient, database: Database
) -> None:
    """Locks, reads and writes of a batch of checks are a few statements, not a few per
    transaction: the confirmation turn checks up to 500 at once."""
    seed = await Seed.of(database, api)
    group = await seed.group()

    async def statements_for(employees: int) -> list[str]:
        checks = []
        for _ in range(employees):
            employee, transaction = await seed.employee_with_transaction(group)
            dental, person = missing_enrollment(employee), person_mismatch(employee)
            await expect(database, transaction, [dental, person])
            # One expectation met (dropped), one found (kept), one difference new (opened).
            found = [dental, missing_enrollment(employee, "vision")]
            checks.append(TransactionCheck(transaction, found, ConfirmationStage.ACCEPTANCE, 1))
        async with database.transaction() as session:
            with statements_sent(database) as sent:
                outcomes = await record_checks(session, checks)
        assert {(o.opened, o.still_open, o.resolved) for o in outcomes} == {(1, 1, 1)}
        return [statement for statement, _ in sent]

    few, many = await statements_for(2), await statements_for(20)
    assert len(few) == len(many), [s[:60] for s in many]


async def test_a_batchs_met_expectations_are_dropped_in_one_statement(
    api: httpx.AsyncClient, database: Database
) -> None:
    """Expectations a check finds met are deleted by one statement for the whole batch, not an
    executemany (each of its rows an execution at the server); what the batch kept stays."""
    seed = await Seed.of(database, api)
    group = await seed.group()
    checks, employees = [], []
    for _ in range(5):
        employee, transaction = await seed.employee_with_transaction(group)
        dental, person = missing_enrollment(employee), person_mismatch(employee)
        await expect(database, transaction, [dental, person])
        # The dental expectation is found (kept), the person one is met (dropped).
        checks.append(TransactionCheck(transaction, [dental], ConfirmationStage.ACCEPTANCE, 1))
        employees.append(employee)
    async with database.transaction() as session:
        with statements_sent(database) as sent:
            outcomes = await record_checks(session, checks)
    assert {(o.still_open, o.resolved) for o in outcomes} == {(1, 1)}
    [(_, executemany)] = [s for s in sent if s[0].startswith("DELETE FROM differences")]
    assert executemany is False
    # The kept rows (a source added) are written once, with their new version: the delete
    # does not flush them half-written first.
    updates = [s for s, _ in sent if s.startswith("UPDATE differences")]
    assert updates
    assert all("version=" in update for update in updates), updates
    for employee in employees:
        rows = await rows_of(database, employee)
        assert [r.identity for r in rows] == [missing_enrollment(employee).key]


async def test_a_builds_pending_differences_are_one_insert_not_one_per_row(
    api: httpx.AsyncClient, database: Database
) -> None:
    """Each row of an executemany is its own execution at the server; a build's rows go in one
    statement of many VALUES rows (`Database`'s insertmanyvalues)."""
    seed = await Seed.of(database, api)
    group = await seed.group()
    expectations = []
    for _ in range(10):
        employee, transaction = await seed.employee_with_transaction(group)
        expectations.append(
            (transaction, [missing_enrollment(employee), person_mismatch(employee)])
        )
    async with database.transaction() as session:
        with statements_sent(database) as sent:
            assert await record_expected(session, expectations) == 20
    # An executemany shows once too: count its rows.
    [insert] = [s for s, _ in sent if s.startswith("INSERT INTO differences")]
    assert insert.count("), (") == 19
