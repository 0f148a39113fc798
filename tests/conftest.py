"""Session-wide real parts for integration and workflow tests; unit tests start none of them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runtime.settings import Settings
from runtime.temporal import DATA_CONVERTER
from sandbox.app import SandboxConfig
from sandbox.app import create_app as create_sandbox
from store.db import Database
from store.tenancy import ensure_organization
from tests.harness import VENV_BIN, AppServer, database_url, free_port, start_embedded_postgres
from tools.admin import prepare_database
from worker import build_worker
from workflows import search_attributes


@pytest.fixture(scope="session")
def postgres_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server, url = start_embedded_postgres(tmp_path_factory.mktemp("pg") / "data")
    try:
        yield url
    finally:
        server.cleanup()


async def create_database(base_url: str, name: str) -> str:
    """A fresh empty database on the session's server."""
    dsn = base_url.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_url(base_url, name)


@pytest.fixture(scope="session")
def temporal_ui_port() -> int:
    """The dev server's Web UI (tests/integration/test_temporal_ui.py looks at it)."""
    return free_port()


@pytest.fixture(scope="session")
async def temporal_env(temporal_ui_port: int) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(VENV_BIN / "temporal"),
        search_attributes=list(search_attributes.ALL),
        data_converter=DATA_CONVERTER,
        ui=True,
        ui_port=temporal_ui_port,
        dev_server_log_level="error",
        dev_server_extra_args=["--ui-ip", "127.0.0.1", "--ui-disable-news-fetch"],
        # The SDK's default is 5 s; on two busy cores (pytest-xdist's other worker starting its
        # own PostgreSQL) the server once took longer, and the whole worker's tests errored.
        dev_server_startup_timeout=timedelta(seconds=60),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def sandbox_server() -> AsyncIterator[AppServer]:
    # Carriers process member transactions quickly here; managed changes still take longer.
    config = SandboxConfig(processing_delay_seconds=0.3, managed_factor=4.0, sftp_port=0)
    async with AppServer(create_sandbox(config)) as server:
        yield server


@pytest.fixture(scope="session")
async def settings(
    postgres_base_url: str, temporal_env: WorkflowEnvironment, sandbox_server: AppServer
) -> Settings:
    url = await create_database(postgres_base_url, "carrierlink")
    s = Settings(
        database_url=url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        task_queue=f"tests-{uuid.uuid4().hex[:8]}",
        sandbox_port=sandbox_server.port,
        sandbox_sftp_port=sandbox_server.app.state.file_carrier.port,
        connection_recheck_initial=timedelta(seconds=1),
        connection_recheck_max=timedelta(seconds=4),
        connection_wait_limit=timedelta(minutes=30),
        # The sandbox finishes a transaction in 2 s: tests see it done within about a second.
        member_transaction_poll_first=timedelta(seconds=1),
        # Schedules exist but stay quiet during a run; tests trigger the audits they need.
        audit_interval=timedelta(hours=6),
        # Renewal decisions re-check their carriers every second (production: daily).
        renewal_recheck_interval=timedelta(seconds=1),
        # Webhook receivers in the tests listen on loopback and come back within seconds.
        webhook_allow_loopback=True,
        webhook_retry_first=timedelta(seconds=1),
        webhook_retry_factor=1.5,
        # Feed runs look for the sandbox file carrier's 999 every second (production: 30 s).
        feed_ack_poll=timedelta(seconds=1),
        _env_file=None,
    )
    await prepare_database(s)
    return s


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings.require_database_url())
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
async def worker(settings: Settings, client: Client, database: Database) -> AsyncIterator[None]:
    async with build_worker(settings, client, database=database) as w:
        task = asyncio.create_task(w.run())
        try:
            yield
        finally:
            await w.shutdown()
            await task


@pytest.fixture(scope="session")
async def api_server(
    settings: Settings, database: Database, client: Client, worker: None
) -> AsyncIterator[AppServer]:
    app = create_app(settings, database=database, temporal_client=client)
    async with AppServer(app) as server:
        yield server


@pytest.fixture
async def org_token(database: Database) -> str:
    """A fresh organization per test: tests never see each other's records."""
    async with database.transaction() as session:
        _, token = await ensure_organization(session, f"org-{uuid.uuid4().hex[:10]}")
    assert token
    return token


@pytest.fixture
async def api(api_server: AppServer, org_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=api_server.url,
        headers={"Authorization": f"Bearer {org_token}"},
        timeout=30,
    ) as http:
        yield http


@pytest.fixture
async def sandbox(sandbox_server: AppServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox_server.url, timeout=30) as http:
        yield http


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
