"""The one error mapping: domain errors and workflow-service failures as the contract's body."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.service import RPCError, RPCStatusCode

from api.errors import RETRY_AFTER_SECONDS, install_error_handlers
from domain.errors import Conflict, NotFound, Unavailable
from store.db import Database, DatabaseUnreachable
from tests.harness import free_port


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        raise error

    return app


async def answer(error: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_raising(error))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/fails")


async def test_an_unreachable_workflow_service_is_503_with_retry_after() -> None:
    response = await answer(RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {
        "message": "the workflow service is unavailable: connection refused",
        "status": 503,
    }


async def test_unavailable_is_503_with_retry_after() -> None:
    response = await answer(Unavailable("the workflow service did not answer in time"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {
        "message": "the workflow service did not answer in time",
        "status": 503,
    }


async def test_a_database_pool_with_no_free_connection_is_503_with_retry_after() -> None:
    # A burst of intake holding every pool connection: "busy, come back", never a 500.
    busy = PoolTimeout("QueuePool limit of size 10 overflow 10 reached, connection timed out")
    response = await answer(busy)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    # Busy, not down: the message does not send an operator looking for an outage.
    assert response.json() == {"message": "the database is busy: try again later", "status": 503}


async def test_not_found_is_404() -> None:
    response = await answer(NotFound.of("group"))
    assert response.status_code == 404
    assert response.json() == {"message": "group not found", "status": 404}


async def test_conflict_is_409_with_its_extra_keys() -> None:
    response = await answer(Conflict("already exists", existing_id="abc"))
    assert response.status_code == 409
    assert response.json() == {"message": "already exists", "status": 409, "existing_id": "abc"}


async def test_only_a_database_connection_failure_is_a_database_outage() -> None:
    unreachable = await answer(DatabaseUnreachable("cannot connect to the database: refused"))
    assert unreachable.status_code == 503
    assert unreachable.json()["message"] == "the database is unavailable"
    # Any other OSError (a file, an address lookup) is a fault of ours: 500, not "database".
    transport = httpx.ASGITransport(
        app=app_raising(FileNotFoundError(2, "No such file", "/etc/x")),
        raise_app_exceptions=False,
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        other = await client.get("/fails")
    assert other.status_code == 500
    assert "database" not in other.json()["message"]


async def test_a_refused_database_connection_is_raised_as_database_unreachable() -> None:
    database = Database(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/nothing")
    try:
        with pytest.raises(DatabaseUnreachable) as raised:
            async with database.transaction() as session:
                await session.execute(text("SELECT 1"))
        assert isinstance(raised.value.__cause__, OSError)
    finally:
        await database.dispose()
