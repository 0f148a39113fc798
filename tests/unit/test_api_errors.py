"""The one error mapping: domain errors and workflow-service failures as the contract's body."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.service import RPCError, RPCStatusCode

from api.errors import RETRY_AFTER_SECONDS, install_error_handlers
from domain.errors import Conflict, NotFound, Unavailable


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
    assert response.json() == {"message": "the database is unavailable", "status": 503}


async def test_not_found_is_404() -> None:
    response = await answer(NotFound.of("group"))
    assert response.status_code == 404
    assert response.json() == {"message": "group not found", "status": 404}


async def test_conflict_is_409_with_its_extra_keys() -> None:
    response = await answer(Conflict("already exists", existing_id="abc"))
    assert response.status_code == 409
    assert response.json() == {"message": "already exists", "status": 409, "existing_id": "abc"}
