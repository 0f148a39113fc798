"""Connections end to end: API -> Temporal -> worker -> sandbox carriers -> PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select

from domain.connections import GroupData, ReviewDecision
from services.connections import start_group_connection
from store.models import CarrierConfiguration, Contact, GroupAudit, Location, Plan
from store.tenancy import organization_for_token
from tests.harness import eventually
from workflows.connection import WORKFLOW_NAME, workflow_id

pytestmark = pytest.mark.integration

PRINCIPAL = "d0003042-eaae-4491-b219-4825456a3d16"
UNUM = "23054cd9-0a41-43e3-bd43-2d2138006536"
BROKER_FEIN = "123456789"


def principal_id(prefix: str = "") -> str:
    """A fresh 7-digit policy number; plain ones avoid every sandbox test prefix."""
    while True:
        value = prefix + "".join(random.choices("0123456789", k=7 - len(prefix)))
        # 188: a group holding a census (`sandbox.census`).
        scripted = value[:4] in {"1989", "1767", "1545", "1323", "1999"} or value[:3] == "188"
        if prefix or not scripted:
            return value


def unum_id(prefix: str = "") -> str:
    while True:
        value = prefix + "".join(random.choices("0123456789", k=8 - len(prefix)))
        if prefix or value[:3] not in {"989", "767", "545", "323", "212", "999", "188"}:
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


async def reaches(api: httpx.AsyncClient, connection_id: str, status: str, within: float = 10):
    async def check() -> bool:
        return await status_of(api, connection_id) == status

    await eventually(check, within=within)


async def test_plain_principal_id_completes_with_its_data_stored(
    api: httpx.AsyncClient, database: Any
) -> None:
    response = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id())
    )
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

    group_id = UUID(body["group_id"])
    async with database.transaction() as session:
        for model in (Plan, Location, Contact, CarrierConfiguration):
            stored = await session.scalar(
                select(func.count()).select_from(model).where(model.group_id == group_id)
            )
            assert stored, f"no {model.__tablename__} stored for the group"
        audits = (
            await session.scalars(select(GroupAudit).where(GroupAudit.group_id == group_id))
        ).all()
    assert len(audits) == 1
    assert audits[0].carrier_ids == [UUID(PRINCIPAL)]
    assert str(audits[0].id) == final["setup_result"]["audit_id"]
    assert audits[0].completed_at >= final["created"]


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
    response = await api.post(
        "/api/v1/group_connections", json=new_connection(carrier, carrier_group_id)
    )
    assert response.status_code == 201, response.text
    await reaches(api, response.json()["id"], status, within=10)


@pytest.mark.parametrize(
    ("carrier", "group_data", "field"),
    [
        (
            PRINCIPAL,
            {"carrier_group_id": "12345", "broker_federal_ein": BROKER_FEIN},
            "group_data.carrier_group_id",
        ),
        (PRINCIPAL, {"carrier_group_id": "2345678"}, "group_data.broker_federal_ein"),
        (
            PRINCIPAL,
            {"carrier_group_id": "2345678", "broker_federal_ein": "12-34"},
            "group_data.broker_federal_ein",
        ),
        (UNUM, {"carrier_group_id": "123456789"}, "group_data.carrier_group_id"),
        (UNUM, {"carrier_group_id": "ABC-123"}, "group_data.carrier_group_id"),
        (UNUM, {"carrier_group_id": ""}, "group_data.carrier_group_id"),
        ("5b1d2b8e-0000-4000-8000-000000000000", {"carrier_group_id": "2345678"}, "carrier_id"),
    ],
)
async def test_invalid_requests_answer_422_naming_the_field(
    api: httpx.AsyncClient, carrier: str, group_data: dict[str, Any], field: str
) -> None:
    body = {"carrier_id": carrier, "group_data": {"group_name": "Acme", **group_data}}
    response = await api.post("/api/v1/group_connections", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["status"] == 422
    assert field in [e["field"] for e in error["errors"]]
    assert field in error["message"]
    # Nothing was created for a refused request.
    listed = (await api.get("/api/v1/group_connections")).json()
    assert listed["meta"]["total_records"] == 0


async def test_unum_policy_ids_are_stored_left_padded(api: httpx.AsyncClient) -> None:
    short = unum_id()[2:]  # six digits, as a platform might send them
    response = await api.post("/api/v1/group_connections", json=new_connection(UNUM, short))
    assert response.status_code == 201, response.text
    assert response.json()["group_data"]["carrier_group_id"] == short.zfill(8)


async def test_a_duplicate_answers_409_naming_the_existing_connection(
    api: httpx.AsyncClient,
) -> None:
    carrier_group_id = principal_id("1767")  # stays waiting, so it is live
    first = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, carrier_group_id)
    )
    assert first.status_code == 201
    again = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, carrier_group_id)
    )
    assert again.status_code == 409, again.text
    assert again.json()["existing_id"] == first.json()["id"]
    assert first.json()["id"] in again.json()["message"]

    # The same group connecting to the same carrier again, under any carrier group ID: 409 too.
    group_id = first.json()["group_id"]
    same_group = await api.post(
        f"/api/v1/groups/{group_id}/group_connections",
        json={
            "carrier_id": PRINCIPAL,
            "group_data": {"carrier_group_id": principal_id(), "broker_federal_ein": BROKER_FEIN},
        },
    )
    assert same_group.status_code == 409, same_group.text
    assert same_group.json()["existing_id"] == first.json()["id"]


async def test_raced_identical_requests_start_one_lifecycle(
    api: httpx.AsyncClient, client: Any
) -> None:
    carrier_group_id = principal_id("1767")
    body = new_connection(PRINCIPAL, carrier_group_id)
    responses = await asyncio.gather(
        *(api.post("/api/v1/group_connections", json=body) for _ in range(8))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 7, [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert all(r.json()["existing_id"] == winner["id"] for r in responses if r.status_code == 409)
    listed = (await api.get("/api/v1/group_connections")).json()
    assert listed["meta"]["total_records"] == 1
    # The connection's first audit carries the carrier group ID too: count lifecycles only.
    query = f"WorkflowType = '{WORKFLOW_NAME}' AND CarrierGroupId = '{carrier_group_id}'"
    # Another test's connection may draw the same random `1767xxx` ID in its own organization:
    # count this organization's lifecycles (its id is in the workflow ID).
    ours = f"group-connection/{winner['organization_id']}/"
    runs = [w async for w in client.list_workflows(query) if w.id.startswith(ours)]
    assert len(runs) <= 1  # visibility may lag behind; it never shows a second run


async def test_existing_group_connection_is_incremental_and_completes(
    api: httpx.AsyncClient,
) -> None:
    first = await api.post("/api/v1/group_connections", json=new_connection(UNUM, unum_id()))
    group_id = first.json()["group_id"]
    response = await api.post(
        f"/api/v1/groups/{group_id}/group_connections",
        json={
            "carrier_id": PRINCIPAL,
            "group_data": {"carrier_group_id": principal_id(), "broker_federal_ein": BROKER_FEIN},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["request_type"] == "incremental"
    assert body["group_id"] == group_id
    assert "group_audit_request_id" in body
    await reaches(api, body["id"], "completed")
    unknown = await api.post(
        "/api/v1/groups/00000000-0000-4000-8000-000000000000/group_connections",
        json={
            "carrier_id": PRINCIPAL,
            "group_data": {"carrier_group_id": principal_id(), "broker_federal_ein": BROKER_FEIN},
        },
    )
    assert unknown.status_code == 404
    with_name = await api.post(
        f"/api/v1/groups/{group_id}/group_connections",
        json={"carrier_id": UNUM, "group_data": {"carrier_group_id": unum_id(), "group_name": "x"}},
    )
    assert with_name.status_code == 422
    assert "group_data.group_name" in with_name.text


async def test_retry_after_action_required_with_a_corrected_id_completes(
    api: httpx.AsyncClient,
) -> None:
    created = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id("1545"))
    )
    connection_id = created.json()["id"]
    await reaches(api, connection_id, "action_required")
    corrected = principal_id()
    retried = await api.put(
        f"/api/v1/group_connections/{connection_id}/retry", json={"carrier_group_id": corrected}
    )
    assert retried.status_code == 201, retried.text
    assert retried.json()["request_type"] == "incremental"
    assert retried.json()["group_data"]["carrier_group_id"] == corrected
    await reaches(api, connection_id, "completed")

    refused = await api.put(f"/api/v1/group_connections/{connection_id}/retry", json={})
    assert refused.status_code == 409
    assert "completed" in refused.json()["message"]


async def test_retry_of_unable_to_connect_processes_again(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/group_connections", json=new_connection(UNUM, unum_id("323")))
    connection_id = created.json()["id"]
    await reaches(api, connection_id, "unable_to_connect")
    bad = await api.put(
        f"/api/v1/group_connections/{connection_id}/retry", json={"carrier_group_id": "123456789"}
    )
    assert bad.status_code == 422
    retried = await api.put(
        f"/api/v1/group_connections/{connection_id}/retry", json={"carrier_group_id": unum_id()}
    )
    assert retried.status_code == 201, retried.text
    await reaches(api, connection_id, "completed")


async def test_list_filters_paging_and_the_carrier_group_id_rule(api: httpx.AsyncClient) -> None:
    ids = []
    for carrier, cgid in [
        (PRINCIPAL, principal_id("1767")),
        (UNUM, unum_id("767")),
        (UNUM, unum_id("212")),
    ]:
        ids.append(
            (await api.post("/api/v1/group_connections", json=new_connection(carrier, cgid))).json()
        )
    page = (await api.get("/api/v1/group_connections", params={"page_size": 2})).json()
    assert page["meta"] == {"offset": 0, "page_num": 1, "page_size": 2, "total_records": 3}
    assert len(page["response"]) == 2
    second = (
        await api.get("/api/v1/group_connections", params={"page_size": 2, "offset": 2})
    ).json()
    assert second["meta"]["page_num"] == 2
    assert len(second["response"]) == 1
    only_unum = (await api.get("/api/v1/group_connections", params={"carrier_id": UNUM})).json()
    assert {c["carrier_id"] for c in only_unum["response"]} == {UNUM}
    by_id = (
        await api.get("/api/v1/group_connections", params={"id": f"{ids[0]['id']},{ids[2]['id']}"})
    ).json()
    assert {c["id"] for c in by_id["response"]} == {ids[0]["id"], ids[2]["id"]}
    cgid = ids[1]["group_data"]["carrier_group_id"]
    pair = (
        await api.get(
            "/api/v1/group_connections", params={"carrier_id": UNUM, "carrier_group_id": cgid}
        )
    ).json()
    assert [c["id"] for c in pair["response"]] == [ids[1]["id"]]
    alone = await api.get("/api/v1/group_connections", params={"carrier_group_id": cgid})
    assert alone.status_code == 422
    assert "carrier_group_id" in alone.text
    two = await api.get(
        "/api/v1/group_connections",
        params={"carrier_id": f"{UNUM},{PRINCIPAL}", "carrier_group_id": cgid},
    )
    assert two.status_code == 422
    bad_status = await api.get("/api/v1/group_connections", params={"status": "bogus"})
    assert bad_status.status_code == 422
    assert "status" in bad_status.text
    asc = (
        await api.get(
            "/api/v1/group_connections", params={"sort_by": "created", "sort_direction": "asc"}
        )
    ).json()
    created = [c["created"] for c in asc["response"]]
    assert created == sorted(created)
    await reaches(api, ids[2]["id"], "carrier_authorization")
    waiting = (
        await api.get("/api/v1/group_connections", params={"status": "carrier_authorization"})
    ).json()
    assert [c["id"] for c in waiting["response"]] == [ids[2]["id"]]
    group_list = (await api.get(f"/api/v1/groups/{ids[0]['group_id']}/group_connections")).json()
    assert [c["id"] for c in group_list["response"]] == [ids[0]["id"]]


async def test_live_state_comes_from_the_workflow_query(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id("1767"))
    )
    connection_id = created.json()["id"]
    await reaches(api, connection_id, "waiting_on_carrier")
    live = await api.get(f"/api/v1/group_connections/{connection_id}/live")
    assert live.status_code == 200, live.text
    assert live.json()["status"] == "waiting_on_carrier"
    assert live.json()["reason"]
    # A countdown to the next recheck (the tests' policy waits at most 4 s between checks).
    assert (
        live.json()["next_recheck_at"] is None or 0 <= live.json()["next_recheck_in_seconds"] <= 4
    )


async def test_another_service_can_start_a_connection_through_temporal(
    api: httpx.AsyncClient, client: Any, settings: Any, org_token: str, database: Any
) -> None:
    async with database.transaction() as session:
        organization_id = await organization_for_token(session, org_token)
    assert organization_id is not None
    handle = await start_group_connection(
        client,
        settings,
        organization_id=organization_id,
        carrier_id=UUID(UNUM),
        group_data=GroupData(carrier_group_id="42", group_name="Started by another service"),
    )
    state = await handle.result()
    assert state.status == "completed"
    assert state.group_data.carrier_group_id == "00000042"
    listed = (await api.get("/api/v1/group_connections")).json()
    assert [c["id"] for c in listed["response"]] == [str(state.connection_id)]
    assert listed["response"][0]["status"] == "completed"


async def test_an_operator_signal_resolves_noyo_review(api: httpx.AsyncClient, client: Any) -> None:
    carrier_group_id = principal_id("1989")
    created = (
        await api.post(
            "/api/v1/group_connections", json=new_connection(PRINCIPAL, carrier_group_id)
        )
    ).json()
    await reaches(api, created["id"], "noyo_review")
    handle = client.get_workflow_handle(
        workflow_id(UUID(created["organization_id"]), UUID(PRINCIPAL), carrier_group_id)
    )
    # The same signal an operator sends from the Temporal UI or `temporal workflow signal`.
    await handle.signal("resolve_review", ReviewDecision(decision="approve", note="checked"))
    await reaches(api, created["id"], "completed")
