"""bench.guarantee_floor at a tiny size: its own process on the tests' PostgreSQL, Temporal and
sandbox; each transaction stored, keyed before it is sent, sent, and confirmed at the carrier,
every step in its history, and no person in the workflow's history."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from bench.guarantee_floor import SCHEMA, finish_runs, running_server
from carriers.principal import INFO as PRINCIPAL
from runtime.settings import Settings
from store.db import asyncpg_dsn
from tests.harness import AppServer
from tests.unit.test_sandbox_members import PRINCIPAL_ID as PRINCIPAL_GROUP
from tests.unit.test_sandbox_members import base

pytestmark = pytest.mark.integration

Json = dict[str, Any]


def snapshot() -> Json:
    """One new hire (and spouse) at Principal, under fresh ids."""
    member = base()
    employee, spouse = str(uuid.uuid4()), str(uuid.uuid4())
    old = {member["employee"]["id"]: employee, member["dependents"][0]["id"]: spouse}
    member["employee"]["id"] = employee
    member["dependents"][0]["id"] = spouse
    for coverage in member["coverages"]:
        for enrolled in coverage["enrolled_members"]:
            enrolled["individual_id"] = old[enrolled["individual_id"]]
    return {
        "transactions": [
            {
                "carrier_id": str(PRINCIPAL.id),
                "carrier_group_id": PRINCIPAL_GROUP,
                "transaction_type": "carrier_new_hire",
                "member": member,
            }
        ]
    }


async def test_each_transaction_is_stored_keyed_sent_and_confirmed_with_its_history(
    settings: Settings, client: Client, sandbox_server: AppServer
) -> None:
    run = f"test-guarantee-floor-{uuid.uuid4().hex[:8]}"
    database_url = settings.require_database_url()
    async with (
        running_server(
            database_url=database_url,
            temporal=settings.temporal_target,
            namespace=settings.temporal_namespace,
            sandbox=sandbox_server.url,
            run=run,
        ) as (_, url),
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        for _ in range(3):
            answer = await http.post("/groups/g1/snapshots", json=snapshot())
            assert answer.status_code == 202, answer.text
        deadline = time.monotonic() + 60
        while True:
            progress = (await http.get("/progress")).json()
            if not any(progress.get(s) for s in ("stored", "sending", "sent")):
                break
            assert time.monotonic() < deadline, progress
            await asyncio.sleep(0.5)
        assert progress.get("confirmed", 0) + progress.get("differs", 0) == 3, progress
        # One wake started the group's run; the others found its flag set.
        assert progress["signals"] == 1

        connection = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            rows = await connection.fetch(
                f"SELECT tx, array_agg(status ORDER BY at) AS steps FROM {SCHEMA}.history "
                "GROUP BY tx"
            )
            keys = await connection.fetchval(
                f"SELECT count(idempotency_key) FROM {SCHEMA}.tx WHERE carrier_tx IS NOT NULL"
            )
        finally:
            await connection.close()
        assert len(rows) == 3
        for row in rows:
            assert row["steps"][:3] == ["stored", "sending", "sent"]
            assert row["steps"][-1] in ("confirmed", "differs")
        assert keys == 3

        history = await client.get_workflow_handle(f"{run}-g1").fetch_history()
        assert "Lovelace" not in history.to_json()
    await finish_runs(client, run, {"g1"})
