"""Connections end to end: API -> Temporal dev server -> worker -> sandbox carriers -> PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest

from tests.harness import eventually

pytestmark = pytest.mark.integration

PRINCIPAL = "d0003042-eaae-4491-b219-4825456a3d16"
UNUM = "23054cd9-0a41-43e3-bd43-2d2138006536"
BROKER_FEIN = "123456789"


def principal_id(prefix: str = "") -> str:
    """A fresh 7-digit policy number; plain ones avoid every sandbox test prefix."""
    while True:
        value = prefix + "".join(random.choices("0123456789", k=7 - len(prefix)))
        if prefix or value[:4] not in {"1989", "1767", "1545", "1323", "1999"}:
            return value


def unum_id(prefix: str = "") -> str:
    while True:
        value = prefix + "".join(random.choices("0123456789", k=8 - len(prefix)))
        if prefix or value[:3] not in {"989", "767", "545", "323", "212", "999"}:
            return value


def new_connection(carrier_id: str, carrier_group_id: str, **extra: Any) -> dict[str, Any]:
    group_data: dict[str, Any] = {"carrier_group_id": carrier_group_id, "group_name": "Acme Corp"}
    if carrier_id == PRINCIPAL:
        group_data["broker_federal_ein"] = BROKER_FEIN
    group_data.update(extra)
    return {"carrier_id": carrier_id, "group_data": group_data, "federal_ein": "987654321"}


async def status_of(api: httpx.AsyncClient, connection_id: str) -> str:
    response = await api.get(f"/api/v1/group_connections/{connection_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def reaches(api: httpx.AsyncClient, connection_id: str, status: str, timeout: float = 10):
    async def check() -> bool:
        return await status_of(api, connection_id) == status

    await eventually(check, timeout=timeout)


async def test_plain_principal_id_completes_with_its_data_stored(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id()))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "created"
    assert body["request_type"] == "initial"
    assert {"id", "group_id", "version", "created", "modified", "organization_id"} <= body.keys()

    await reaches(api, body["id"], "completed")
    final = (await api.get(f"/api/v1/group_connections/{body['id']}")).json()
    assert final["completed"] >= final["created"]
    assert final["setup_result"]["plans"] > 0
    assert final["version"] != body["version"]


@pytest.mark.parametrize(
    ("carrier", "prefix", "status"),
    [
        (PRINCIPAL, "1989", "noyo_review"),
        (PRINCIPAL, "1767", "waiting_on_carrier"),
        (PRINCIPAL, "1545", "action_required"),
        (PRINCIPAL, "1323", "unable_to_connect"),
        (UNUM, "989", "noyo_review"),
        (UNUM, "767", "waiting_on_carrier"),
        (UNUM, "545", "action_required"),
        (UNUM, "323", "unable_to_connect"),
        (UNUM, "212", "carrier_authorization"),
    ],
)
async def test_each_sandbox_test_id_reaches_its_status_within_10_seconds(
    api: httpx.AsyncClient, carrier: str, prefix: str, status: str
) -> None:
    carrier_group_id = principal_id(prefix) if carrier == PRINCIPAL else unum_id(prefix)
    response = await api.post("/api/v1/group_connections", json=new_connection(carrier, carrier_group_id))
    assert response.status_code == 201, response.text
    await reaches(api, response.json()["id"], status, timeout=10)
