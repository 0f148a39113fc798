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
from store.differences import record_expected
from store.models import MemberTransaction
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
