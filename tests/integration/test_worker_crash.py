"""A worker killed mid-flight loses nothing and doubles no carrier write."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from api.app import create_app
from runtime.settings import Settings
from store.db import Database
from store.models import MemberTransaction
from tests.conftest import repo_root
from tests.harness import AppServer, eventually
from tests.integration.test_connections import PRINCIPAL, new_connection, principal_id
from tests.integration.test_member_snapshots import both_carriers, coverages, settled
from tools.sample_snapshots import new_hire, unique_id

pytestmark = pytest.mark.integration


class WorkerProcess:
    """`python worker.py` as an operator runs it, on the test's servers and task queue."""

    def __init__(self, settings: Settings, log: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": settings.require_database_url(),
            "TEMPORAL_ADDRESS": settings.temporal_target,
            "CARRIERLINK_TASK_QUEUE": settings.task_queue,
            "CARRIERLINK_SANDBOX_PORT": str(settings.sandbox_port),
            "CARRIERLINK_SANDBOX_SFTP_PORT": str(settings.sandbox_sftp_port),
            "CARRIERLINK_FEED_ACK_POLL": f"PT{int(settings.feed_ack_poll.total_seconds())}S",
        }
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "worker.py"],
            cwd=repo_root(),
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    async def polling(self) -> None:
        async def ready() -> bool:
            assert self.proc.poll() is None, self.log.read_text()
            return "worker polling" in self.log.read_text()

        await eventually(ready, within=30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._out.close()


@asynccontextmanager
async def api_on(
    settings: Settings, database: Database, client: Client, token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The API served with `settings` (its task queue), and a client of it."""
    app = create_app(settings, database=database, temporal_client=client)
    async with (
        AppServer(app) as server,
        httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as api,
    ):
        yield api


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.kill()


@pytest.fixture
async def slow_carriers(sandbox: httpx.AsyncClient) -> AsyncIterator[None]:
    """Every carrier call takes a while, so a kill lands with calls in flight."""
    assert (await sandbox.put("/_sandbox/faults", json={"latency_ms": 400})).status_code == 200
    try:
        yield
    finally:
        await sandbox.put("/_sandbox/faults", json={"latency_ms": 0})


async def test_killing_the_worker_mid_flight_loses_and_doubles_nothing(
    settings: Settings,
    database: Database,
    client: Client,
    org_token: str,
    sandbox: httpx.AsyncClient,
    slow_carriers: None,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    isolated = settings.model_copy(update={"task_queue": f"crash-{uuid.uuid4().hex[:8]}"})
    before = (await sandbox.get("/_sandbox/stats")).json()["writes"]
    workers.append(WorkerProcess(isolated, tmp_path / "worker-1.log"))
    await workers[0].polling()

    async with api_on(isolated, database, client, org_token) as api:
        created = await asyncio.gather(
            *(
                api.post(
                    "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id())
                )
                for _ in range(20)
            )
        )
        assert [r.status_code for r in created] == [201] * 20
        ids = [r.json()["id"] for r in created]

        async def statuses() -> list[str]:
            listed = await api.get("/api/v1/group_connections", params={"page_size": 100})
            return [c["status"] for c in listed.json()["response"]]

        await asyncio.sleep(1.0)
        workers[0].kill()
        at_kill = await statuses()
        assert at_kill.count("completed") < 20, "the kill must land while work is in flight"

        workers.append(WorkerProcess(isolated, tmp_path / "worker-2.log"))
        await workers[1].polling()
        late = await api.post(
            "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id())
        )
        assert late.status_code == 201
        ids.append(late.json()["id"])

        async def all_completed() -> bool:
            return (await statuses()).count("completed") == 21

        await eventually(all_completed, within=90, interval=0.5)
        for connection_id in ids:
            body = (await api.get(f"/api/v1/group_connections/{connection_id}")).json()
            assert body["completed"] is not None
            assert body["setup_result"]["plans"] > 0

    after = (await sandbox.get("/_sandbox/stats")).json()["writes"]
    assert after["doubled"] == before["doubled"], "a carrier write was applied twice"
    # Exactly one data-exchange registration per connection reached the carrier's books.
    assert after["applied"] - before["applied"] == 21


async def test_killing_the_worker_mid_send_of_a_snapshot_burst_loses_and_doubles_nothing(
    settings: Settings,
    database: Database,
    client: Client,
    org_token: str,
    sandbox: httpx.AsyncClient,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """The kill lands while the carriers hold writes that the worker claimed (key stored) but
    whose answers it never records. The next worker sends them again under the stored keys:
    each write reaches its carrier once, and every snapshot completes."""
    isolated = settings.model_copy(update={"task_queue": f"crash-{uuid.uuid4().hex[:8]}"})
    workers.append(WorkerProcess(isolated, tmp_path / "worker-1.log"))
    await workers[0].polling()
    async with api_on(isolated, database, client, org_token) as api:
        group_id, choices = await both_carriers(api)
        before = (await sandbox.get("/_sandbox/stats")).json()["writes"]
        await sandbox.put("/_sandbox/faults", json={"latency_ms": 1500})
        try:
            posted = await asyncio.gather(
                *(
                    api.post(
                        f"/api/v1/groups/{group_id}/member_snapshots",
                        json=new_hire(unique_id(), coverages(choices)),
                    )
                    for _ in range(15)
                )
            )
            assert [r.status_code for r in posted] == [201] * 15

            claims: dict[uuid.UUID, str] = {}

            async def claimed_unanswered() -> bool:
                async with database.transaction() as session:
                    rows = await session.execute(
                        select(MemberTransaction.id, MemberTransaction.idempotency_key).where(
                            MemberTransaction.group_id == uuid.UUID(group_id),
                            MemberTransaction.idempotency_key.is_not(None),
                            MemberTransaction.carrier_transaction_id.is_(None),
                        )
                    )
                    claims.update({row.id: str(row.idempotency_key) for row in rows})
                return bool(claims)

            await eventually(claimed_unanswered, within=30, interval=0.05)
            workers[0].kill()
        finally:
            await sandbox.put("/_sandbox/faults", json={"latency_ms": 0})

        workers.append(WorkerProcess(isolated, tmp_path / "worker-2.log"))
        await workers[1].polling()
        for response in posted:
            snapshot = await settled(api, response.json()["id"], within=120)
            assert snapshot["status"] == "completed"

    after = (await sandbox.get("/_sandbox/stats")).json()["writes"]
    assert after["doubled"] == before["doubled"], "a carrier write was applied twice"
    # Two carriers per snapshot, each write applied once.
    assert after["applied"] - before["applied"] == 30
    async with database.transaction() as session:
        rows = (
            await session.execute(
                select(
                    MemberTransaction.id,
                    MemberTransaction.idempotency_key,
                    MemberTransaction.carrier_transaction_id,
                ).where(MemberTransaction.id.in_(claims))
            )
        ).all()
    # What was claimed before the kill went to the carrier under the key stored then: had the
    # carrier applied it before the kill, the resend would have been absorbed.
    assert {row.id: row.idempotency_key for row in rows} == claims
    assert all(row.carrier_transaction_id for row in rows)
