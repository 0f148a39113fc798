"""Read-API tests: rows are inserted directly, so their API server runs without a worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api.app import create_app
from runtime.settings import Settings
from store.db import Database
from store.tenancy import ensure_organization
from tests.harness import AppServer


def at(moment: str) -> int:
    """Unix seconds of an ISO moment, UTC."""
    return int(datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp())


async def listed(http: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    return [entry["id"] for entry in response.json()["response"]]


def assert_422(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == 422
    assert [e["field"] for e in body["errors"]] == [field]


@pytest.fixture(scope="module")
async def reads_server(settings: Settings, database: Database) -> AsyncIterator[AppServer]:
    async with AppServer(create_app(settings, database=database)) as server:
        yield server


def _client(server: AppServer, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


@pytest.fixture
async def api(reads_server: AppServer, org_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The caller: a fresh organization per test (overrides conftest's worker-backed `api`)."""
    async with _client(reads_server, org_token) as http:
        yield http


@pytest.fixture
async def other_api(
    reads_server: AppServer, database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    """Another organization's client."""
    async with database.transaction() as session:
        _, token = await ensure_organization(session, f"other-{uuid.uuid4().hex[:10]}")
    assert token
    async with _client(reads_server, token) as http:
        yield http
