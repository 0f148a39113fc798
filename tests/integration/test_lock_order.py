"""Lock order between sending and confirmation: a row locked to change never blocks the insert
of a row that references it (FOR NO KEY UPDATE, not FOR UPDATE)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from carriers import principal
from store.db import Database
from store.models import Difference, Group, MemberSnapshot, MemberTransaction, unix_now
from store.tenancy import ensure_organization
from store.transactions import snapshots_to_settle, transactions_to_send

pytestmark = pytest.mark.integration

# Long enough for an uncontended insert on a loaded machine, far shorter than a lock wait.
INSERT_WITHIN_SECONDS = 5.0


async def snapshot_with_transaction(database: Database) -> MemberTransaction:
    """A sent transaction of a snapshot in progress, as sending leaves them."""
    async with database.transaction() as session:
        organization, _ = await ensure_organization(session, f"org-{uuid.uuid4().hex[:10]}")
        group = Group(organization_id=organization.id, name="Lock Order Corp")
        session.add(group)
        await session.flush()
        employee_id = uuid.uuid4()
        snapshot = MemberSnapshot(
            organization_id=organization.id,
            group_id=group.id,
            employee_id=employee_id,
            status="processing",
            replaced_by=None,
            inbound_snapshot="{}",
            member_snapshot={},
            carrier_members={},
            created_members=[],
            warnings=[],
            fulfillment_summary=[],
            workflow_id=f"member-snapshot/{uuid.uuid4()}",
        )
        session.add(snapshot)
        await session.flush()
        transaction = MemberTransaction(
            organization_id=organization.id,
            group_id=group.id,
            employee_id=employee_id,
            member_snapshot_id=snapshot.id,
            carrier_id=principal.INFO.id,
            lines_of_coverage=[],
            transaction_type="carrier_demographic",
            status="completed",
            body={},
            result={},
            status_details=[],
            confirm_due=unix_now(),
        )
        session.add(transaction)
        await session.flush()
    return transaction


def difference_of(transaction: MemberTransaction) -> Difference:
    """What confirmation inserts: a difference naming the snapshot and the transaction."""
    return Difference(
        organization_id=transaction.organization_id,
        group_id=transaction.group_id,
        carrier_id=transaction.carrier_id,
        employee_id=transaction.employee_id,
        member_snapshot_id=transaction.member_snapshot_id,
        member_transaction_id=transaction.id,
        object_type="employee",
        object_id=transaction.employee_id,
        coverage_key=[],
        difference_classification="data_mismatch",
        difference_type="update",
        fields=[],
        identity=f"lock-order|{uuid.uuid4()}",
        sources=[],
    )


async def insert_difference(database: Database, transaction: MemberTransaction) -> None:
    async with database.transaction() as session:
        # A blocked insert fails here instead of waiting out the test's timeout.
        await session.execute(text("SET LOCAL lock_timeout = '3s'"))
        session.add(difference_of(transaction))
        await session.flush()


async def test_confirmation_inserts_while_sending_holds_its_rows(database: Database) -> None:
    transaction = await snapshot_with_transaction(database)
    assert transaction.member_snapshot_id is not None
    async with database.transaction() as sending:
        # Sending's locks: the transactions it sends, then the snapshots it settles.
        assert await transactions_to_send(sending, [transaction.id])
        assert await snapshots_to_settle(sending, [transaction.member_snapshot_id])
        # Confirmation, meanwhile, records a difference referencing both rows.
        await asyncio.wait_for(
            insert_difference(database, transaction), timeout=INSERT_WITHIN_SECONDS
        )


async def test_a_for_update_lock_would_block_the_insert(database: Database) -> None:
    """The control: the same interleaving with FOR UPDATE blocks (so the test above can fail)."""
    transaction = await snapshot_with_transaction(database)
    async with database.transaction() as sending:
        await sending.execute(
            select(MemberSnapshot.id)
            .where(MemberSnapshot.id == transaction.member_snapshot_id)
            .with_for_update()
        )
        with pytest.raises(DBAPIError, match="lock timeout"):
            await insert_difference(database, transaction)
