"""Auth, tenancy, the carrier registry over HTTP, and migrations against real PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from carriers.larkspur import INFO as LARKSPUR_INFO
from store import migrate
from store.db import Database, asyncpg_dsn
from store.models import Base
from store.tenancy import ensure_organization
from tests.conftest import create_database
from tests.harness import AppServer
from tests.integration.test_connections import PRINCIPAL, UNUM, new_connection, principal_id
from tools.sample_snapshots import new_hire

pytestmark = pytest.mark.integration

LARKSPUR = LARKSPUR_INFO.id


async def test_ping_needs_no_token(api_server: AppServer) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as anonymous:
        response = await anonymous.get("/ping")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing credentials"),
        ({"Authorization": "Basic abc"}, "Malformed credentials"),
        ({"Authorization": "Bearer not-a-real-token"}, "Invalid token"),
    ],
)
async def test_api_routes_require_a_known_bearer_token(
    api_server: AppServer, headers: dict[str, str], message: str
) -> None:
    async with httpx.AsyncClient(base_url=api_server.url, headers=headers) as http:
        for path in ("/api/v1/carriers", "/api/v1/group_connections"):
            response = await http.get(path)
            assert response.status_code == 401
            assert response.json() == {
                "message": response.json()["message"],
                "status": 401,
                "request_id": response.headers["X-Request-ID"],
            }
            assert message in response.json()["message"]


async def test_another_organizations_records_are_404(
    api: httpx.AsyncClient, api_server: AppServer, database: Database
) -> None:
    created = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id("1767"))
    )
    connection = created.json()
    async with database.transaction() as session:
        _, other_token = await ensure_organization(session, f"other-{connection['id'][:8]}")
    async with httpx.AsyncClient(
        base_url=api_server.url, headers={"Authorization": f"Bearer {other_token}"}
    ) as other:
        assert (await other.get(f"/api/v1/group_connections/{connection['id']}")).status_code == 404
        assert (
            await other.get(f"/api/v1/groups/{connection['group_id']}/group_connections")
        ).status_code == 404
        retry = await other.put(f"/api/v1/group_connections/{connection['id']}/retry", json={})
        assert retry.status_code == 404
        assert retry.json() == {
            "message": "group connection not found",
            "status": 404,
            "request_id": retry.headers["X-Request-ID"],
        }
        listed = (await other.get("/api/v1/group_connections")).json()
        assert listed["meta"]["total_records"] == 0
        # Snapshot intake checks the group with its own statement (store.tenancy).
        snapshots = f"/api/v1/groups/{connection['group_id']}/member_snapshots"
        for path in (snapshots, f"{snapshots}/test"):
            refused = await other.post(path, json=new_hire("x-1", []))
            assert refused.status_code == 404, refused.text
            assert refused.json()["message"] == "group not found"


async def test_carriers_are_served_from_the_registry(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/api/v1/carriers")).json()
    assert listed["meta"]["total_records"] == 3
    by_id = {c["id"]: c for c in listed["response"]}
    # The sandbox file carrier (issue 22): fictional, takes 834 files.
    assert by_id[str(LARKSPUR)]["name"] == "Larkspur Mutual (sandbox)"
    assert by_id[str(LARKSPUR)]["network"] == "send"
    assert by_id[PRINCIPAL]["name"] == "Principal"
    assert by_id[UNUM]["name"] == "Unum"
    assert "accident" in by_id[PRINCIPAL]["lines_of_coverage"]
    assert "accident" not in by_id[UNUM]["lines_of_coverage"]
    assert by_id[UNUM]["cobra"] == "not supported"
    one = await api.get(f"/api/v1/carriers/{UNUM}")
    assert one.status_code == 200
    assert one.json()["network"] == "sync"
    assert (
        await api.get("/api/v1/carriers/00000000-0000-4000-8000-000000000000")
    ).status_code == 404
    assert (await api.get("/api/v1/carriers/not-a-uuid")).status_code == 422


async def test_migrations_go_down_to_base_and_up_again(postgres_base_url: str) -> None:
    url = await create_database(postgres_base_url, "migrations_check")
    dsn = asyncpg_dsn(url)

    async def tables() -> set[str]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        finally:
            await conn.close()
        return {r["tablename"] for r in rows}

    await asyncio.to_thread(migrate.upgrade, url)
    assert {
        "organizations",
        "api_tokens",
        "carriers",
        "groups",
        "group_connections",
        "contacts",
        "locations",
        "carrier_configurations",
        "group_enrollments",
        "plans",
        "record_versions",
    } <= await tables()
    await asyncio.to_thread(migrate.downgrade, url, "base")
    assert await tables() <= {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, url)
    conn = await asyncpg.connect(dsn)
    try:
        assert (
            await conn.fetchval("SELECT version_num FROM alembic_version") == migrate.current_head()
        )
    finally:
        await conn.close()

    # The migrations build exactly the schema the models describe: nothing missing or extra.
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            drift = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert drift == []


async def test_the_connections_a_burst_opens_are_kept_for_the_next_one(
    postgres_base_url: str,
) -> None:
    """Each connection is a server process, type introspection and its statements prepared
    anew: a pool that closed what a burst opened paid that again on every burst."""
    url = await create_database(postgres_base_url, "kept_connections")
    database = Database(url, pool_size=2)

    async def burst() -> set[int]:
        async def one() -> int:
            async with database.transaction() as session:
                pid = await session.scalar(text("select pg_backend_pid()"))
                await asyncio.sleep(0.2)  # all four are out at once
                return int(pid)

        return set(await asyncio.gather(*(one() for _ in range(4))))

    try:
        first = await burst()
        second = await burst()
    finally:
        await database.dispose()
    assert len(first) == 4  # twice pool_size under load
    assert second == first


async def test_pooled_connections_the_server_dropped_are_replaced_on_checkout(
    postgres_base_url: str,
) -> None:
    """What a database restart does to the pool: every idle connection is gone. The next unit
    of work must get a live one, not the error of a dead one."""
    url = await create_database(postgres_base_url, "dropped_connections")
    database = Database(url, pool_size=2)
    try:
        async with database.transaction() as session:
            before = await session.scalar(text("select pg_backend_pid()"))
        dsn = asyncpg_dsn(url)
        admin = await asyncpg.connect(dsn)
        try:
            assert await admin.fetchval("select pg_terminate_backend($1)", before)
        finally:
            await admin.close()
        await asyncio.sleep(0.1)  # the server's goodbye reaches the idle connection
        async with database.transaction() as session:
            after = await session.scalar(text("select pg_backend_pid()"))
        assert after != before
    finally:
        await database.dispose()
