"""Stuck work is visible: `?overdue=true` lists and the `carrierlink_overdue` gauge name the
connections and disconnection reviews waiting longer than their status's limit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from store.db import Database
from store.models import GroupConnection, GroupDisconnectionRequest
from tests.harness import AppServer
from tests.integration.test_connections import PRINCIPAL, new_connection, principal_id, reaches
from tests.integration.test_disconnections_api import carrier_raised_request
from tests.integration.test_operations import sample

pytestmark = pytest.mark.integration

DAY = 86_400
CONNECTIONS = "/api/v1/group_connections"
DISCONNECTIONS = "/api/v1/group_disconnection_requests"


async def age(
    database: Database,
    model: type[GroupConnection] | type[GroupDisconnectionRequest],
    record_id: str,
    days: int,
) -> None:
    """Move the record's entry into its status `days` back, as if it had waited that long."""
    async with database.transaction() as session:
        await session.execute(
            update(model)
            .where(model.id == uuid.UUID(record_id))
            .values(status_changed=model.status_changed - days * DAY)
        )


async def listed(api: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    return [record["id"] for record in response.json()["response"]]


async def scrape(api_server: AppServer) -> str:
    async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_a_connection_waiting_on_the_carrier_a_week_is_listed_and_counted(
    api: httpx.AsyncClient, api_server: AppServer, database: Database
) -> None:
    waiting = []
    for _ in range(2):
        created = await api.post(CONNECTIONS, json=new_connection(PRINCIPAL, principal_id("1767")))
        assert created.status_code == 201, created.text
        waiting.append(created.json()["id"])
        await reaches(api, waiting[-1], "waiting_on_carrier")
    stuck, fresh = waiting
    gauge = {"kind": "connection", "status": "waiting_on_carrier"}
    before = sample(await scrape(api_server), "carrierlink_overdue", **gauge)
    assert before is not None  # every limited status has its series, 0 included

    await age(database, GroupConnection, stuck, days=6)
    assert await listed(api, CONNECTIONS, overdue="true") == []  # six days: within the week
    await age(database, GroupConnection, stuck, days=2)

    assert await listed(api, CONNECTIONS, overdue="true") == [stuck]
    assert await listed(api, CONNECTIONS, overdue="false") == [fresh]
    # With the other filters, and not in another status's list.
    assert await listed(api, CONNECTIONS, overdue="true", status="waiting_on_carrier") == [stuck]
    assert await listed(api, CONNECTIONS, overdue="true", status="noyo_review") == []
    after = await scrape(api_server)
    assert sample(after, "carrierlink_overdue", **gauge) == before + 1
    assert sample(after, "carrierlink_overdue", kind="connection", status="completed") is None
    # The oldest waiting one is counted from its entry into the status.
    oldest = sample(after, "carrierlink_connection_oldest_waiting_seconds", status=gauge["status"])
    assert oldest is not None
    assert oldest >= 8 * DAY


async def test_a_disconnection_review_waiting_three_days_is_listed_and_counted(
    api: httpx.AsyncClient, api_server: AppServer, database: Database
) -> None:
    raised = await carrier_raised_request(api)
    assert raised["status"] == "needs_review"
    gauge = {"kind": "disconnection", "status": "needs_review"}
    before = sample(await scrape(api_server), "carrierlink_overdue", **gauge)
    assert before is not None
    assert await listed(api, DISCONNECTIONS, overdue="true") == []

    await age(database, GroupDisconnectionRequest, raised["id"], days=3)

    assert await listed(api, DISCONNECTIONS, overdue="true") == [raised["id"]]
    assert await listed(api, DISCONNECTIONS, overdue="false") == []
    group_list = f"/api/v1/groups/{raised['group_id']}/group_disconnection_requests"
    assert await listed(api, group_list, overdue="true") == [raised["id"]]
    assert sample(await scrape(api_server), "carrierlink_overdue", **gauge) == before + 1


async def test_a_malformed_overdue_flag_answers_422_naming_it(api: httpx.AsyncClient) -> None:
    for path in (CONNECTIONS, DISCONNECTIONS):
        response = await api.get(path, params={"overdue": "soon"})
        assert response.status_code == 422, response.text
        assert "overdue" in response.text
