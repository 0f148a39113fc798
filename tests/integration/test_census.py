"""Censuses end to end: a group whose employees the carrier already holds connects, its members
are pulled and readable, and a first snapshot links to the member instead of hiring anew."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from store.db import Database
from store.models import CarrierHolding
from tests.integration.test_audits import connected
from tests.integration.test_connections import PRINCIPAL

pytestmark = pytest.mark.integration

Json = dict[str, Any]


def census_group_id(size: int) -> str:
    """A Principal group holding `size` employees (`sandbox.census`)."""
    assert size < 10_000
    return f"188{size:04d}"


async def census_of(sandbox: httpx.AsyncClient, carrier_group_id: str) -> list[Json]:
    body = (await sandbox.get(f"/principal/groups/{carrier_group_id}/census")).json()
    return list(body["members"])


async def holdings(database: Database, group_id: str) -> int:
    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count()).where(CarrierHolding.group_id == group_id)
        )
    return int(count or 0)


async def test_a_group_with_a_census_connects_with_its_members_pulled(
    api: httpx.AsyncClient, database: Database
) -> None:
    group_id = await connected(api, PRINCIPAL, census_group_id(random.randint(5, 9)))
    async with database.transaction() as session:
        rows = (
            await session.scalars(select(CarrierHolding).where(CarrierHolding.group_id == group_id))
        ).all()
    assert 5 <= len(rows) <= 9
    assert all(row.member["employee"]["id"] == str(row.employee_id) for row in rows)
