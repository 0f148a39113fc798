"""`store.db.Statement`: a hot statement runs in the session's own transaction, like the ORM's.

It goes to asyncpg under SQLAlchemy's adapter, which begins its transaction lazily; these pin
that such a statement, first in a transaction or after ORM work, is inside that transaction.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from store.db import Database, Statement, hold_lock, id_param
from store.models import Group
from store.tenancy import ensure_organization

pytestmark = pytest.mark.integration

_NAME = Statement(select(Group.name).where(Group.id == id_param("group_id")))


async def _organization(database: Database) -> uuid.UUID:
    async with database.transaction() as session:
        organization, _ = await ensure_organization(session, f"org-{uuid.uuid4().hex[:10]}")
        return organization.id


async def test_a_statement_sees_what_the_session_has_not_flushed_yet(database: Database) -> None:
    organization_id = await _organization(database)
    async with database.transaction() as session:
        group = Group(id=uuid.uuid4(), organization_id=organization_id, name="Acme Corp")
        session.add(group)  # pending: the statement flushes it first, as the ORM's reads do

        assert await _NAME.fetchval(session, group_id=group.id) == "Acme Corp"


async def test_a_first_statement_is_rolled_back_with_the_rest(database: Database) -> None:
    organization_id = await _organization(database)
    group_id = uuid.uuid4()

    class Undone(Exception):
        pass

    async def write_then_fail() -> None:
        async with database.transaction() as session:
            # The transaction's first statement goes to asyncpg: it must begin the transaction.
            assert await _NAME.fetchval(session, group_id=group_id) is None
            session.add(Group(id=group_id, organization_id=organization_id, name="Gone"))
            await session.flush()
            assert await _NAME.fetchval(session, group_id=group_id) == "Gone"
            raise Undone

    with pytest.raises(Undone):
        await write_then_fail()

    async with database.transaction() as session:
        assert await _NAME.fetchval(session, group_id=group_id) is None


async def test_a_lock_taken_first_is_held_until_the_commit(database: Database) -> None:
    key = f"test-statement:{uuid.uuid4()}"
    held = asyncio.Event()
    release = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with database.transaction() as session:
            await hold_lock(session, key)  # the transaction's first statement
            held.set()
            await release.wait()
            order.append("first commits")

    async def second() -> None:
        await held.wait()
        async with database.transaction() as session:
            await hold_lock(session, key)
            order.append("second holds")

    holder = asyncio.create_task(first())
    waiter = asyncio.create_task(second())
    await held.wait()
    await asyncio.sleep(0.3)
    assert order == [], "the lock was let go before its transaction ended"
    release.set()
    await asyncio.gather(holder, waiter)
    assert order == ["first commits", "second holds"]
