"""Disconnection requests through the REST API: API -> Temporal -> worker -> PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from temporalio.client import Client

from domain.disconnections import CarrierLink, EnrollmentRefused, check_enrollment_change
from runtime.settings import Settings
from services.audits import schedule_id
from store.connections import carrier_link
from store.db import Database
from store.models import GroupDisconnectionRequest, RecordVersion
from store.tenancy import ensure_organization
from tests.harness import VENV_BIN, AppServer, eventually
from tests.integration.test_connections import (
    BROKER_FEIN,
    PRINCIPAL,
    UNUM,
    new_connection,
    principal_id,
    reaches,
)

pytestmark = pytest.mark.integration

API = "/api/v1/group_disconnection_requests"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


async def new_group(api: httpx.AsyncClient, name: str = "Acme Corp") -> str:
    """A group with no connection at all."""
    response = await api.post("/api/v1/groups", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def connected_group(api: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """A group with a completed Principal connection: its id and the connection."""
    response = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id())
    )
    assert response.status_code == 201, response.text
    connection = response.json()
    await reaches(api, connection["id"], "completed")
    return str(connection["group_id"]), connection


async def create(
    api: httpx.AsyncClient, group_id: str, end: str, carrier_id: str = PRINCIPAL, **extra: Any
) -> dict[str, Any]:
    response = await api.post(
        API,
        json={"carrier_id": carrier_id, "group_id": group_id, "effective_end_date": end, **extra},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def get(api: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    response = await api.get(f"{API}/{request_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def settles(
    api: httpx.AsyncClient, request_id: str, status: str, within: float = 10
) -> dict[str, Any]:
    """Wait until the request is in `status`; returns it."""

    async def check() -> dict[str, Any] | None:
        record = await get(api, request_id)
        return record if record["status"] == status else None

    return dict(await eventually(check, within=within))


async def carrier_raised_request(api: httpx.AsyncClient) -> dict[str, Any]:
    """Connect a `1999…` group: the sandbox carrier reports it ended, a request awaits review."""
    created = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id("1999"))
    )
    assert created.status_code == 201, created.text
    await reaches(api, created.json()["id"], "completed")
    group_id = created.json()["group_id"]

    async def raised() -> dict[str, Any] | None:
        listed = (await api.get(API, params={"group_id": group_id})).json()["response"]
        return listed[0] if listed else None

    return dict(await eventually(raised, within=10))


@pytest.fixture
async def other_org(api_server: AppServer, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a second organization."""
    async with database.transaction() as session:
        _, token = await ensure_organization(session, f"other-{uuid.uuid4().hex[:10]}")
    async with httpx.AsyncClient(
        base_url=api_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        yield http


# --- creating -------------------------------------------------------------------------------


async def test_create_answers_201_in_processing_as_a_platform_request(
    api: httpx.AsyncClient,
) -> None:
    group_id = await new_group(api, "Shape Check Inc")
    body = await create(
        api, group_id, day(30), reason="lost_group", context="moved to another platform"
    )
    assert body["status"] == "processing"
    assert body["source_type"] == "platform"
    assert body["source_id"] is None
    assert body["group_name"] == "Shape Check Inc"
    assert body["group_id"] == group_id
    assert body["carrier_id"] == PRINCIPAL
    assert body["effective_end_date"] == day(30)
    assert body["reason"] == "lost_group"
    assert body["context"] == "moved to another platform"
    assert body["decided"] is None
    assert body["completed"] is None
    uuid.UUID(body["version"])
    assert body["created"] == body["modified"]
    assert {"id", "organization_id", "status_reason", "source_date"} <= body.keys()
    assert (await get(api, body["id"]))["id"] == body["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"carrier_id": "5b1d2b8e-0000-4000-8000-000000000000"}, "carrier_id"),
        ({"carrier_id": "not-a-uuid"}, "carrier_id"),
        ({"effective_end_date": None}, "effective_end_date"),
        ({"effective_end_date": "31/12/2026"}, "effective_end_date"),
        ({"group_id": None}, "group_id"),
        ({"reason": "bored"}, "reason"),
        ({"reason": "connection_restored"}, "reason"),  # a rejection reason, not a disconnection's
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_malformed_bodies_answer_422_naming_the_field(
    api: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    group_id = await new_group(api)
    body = {"carrier_id": PRINCIPAL, "group_id": group_id, "effective_end_date": day(10)}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = await api.post(API, json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["status"] == 422
    assert field in [e["field"] for e in error["errors"]]
    assert (await api.get(API)).json()["meta"]["total_records"] == 0


async def test_unknown_or_foreign_group_answers_404(
    api: httpx.AsyncClient, other_org: httpx.AsyncClient
) -> None:
    body = {"carrier_id": PRINCIPAL, "effective_end_date": day(10)}
    unknown = await api.post(API, json={**body, "group_id": UNKNOWN})
    assert unknown.status_code == 404, unknown.text
    assert unknown.json() == {
        "message": "group not found",
        "status": 404,
        "request_id": unknown.headers["X-Request-ID"],
    }
    foreign_group = await new_group(other_org)
    foreign = await api.post(API, json={**body, "group_id": foreign_group})
    assert foreign.status_code == 404, foreign.text
    assert (await api.get(API)).json()["meta"]["total_records"] == 0
    assert (await other_org.get(API)).json()["meta"]["total_records"] == 0


async def test_a_second_open_request_answers_409_naming_the_open_one(
    api: httpx.AsyncClient,
) -> None:
    group_id, _ = await connected_group(api)
    # Raced: the partial unique index lets one through; the others name it.
    responses = await asyncio.gather(
        *(
            api.post(
                API,
                json={"carrier_id": PRINCIPAL, "group_id": group_id, "effective_end_date": day(30)},
            )
            for _ in range(5)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409, 409], [r.text for r in responses]
    first = next(r.json() for r in responses if r.status_code == 201)
    for refused in (r.json() for r in responses if r.status_code == 409):
        assert refused["existing_id"] == first["id"]
        assert first["id"] in refused["message"]
    # Still open (the connection passes the check; the end date is a month away).
    await asyncio.sleep(1)
    assert (await get(api, first["id"]))["status"] == "processing"
    again = await api.post(
        API, json={"carrier_id": PRINCIPAL, "group_id": group_id, "effective_end_date": day(40)}
    )
    assert again.status_code == 409
    assert again.json()["existing_id"] == first["id"]
    # Another carrier for the same group is another pair.
    other_carrier = await create(api, group_id, day(30), carrier_id=UNUM)
    assert other_carrier["status"] == "processing"
    listed = (await api.get(API, params={"group_id": group_id})).json()
    assert listed["meta"]["total_records"] == 2


# --- lists ----------------------------------------------------------------------------------


async def test_list_filters_sorting_and_paging(api: httpx.AsyncClient, database: Database) -> None:
    alpha = await new_group(api, "Alpha Logistics")
    beta = await new_group(api, "Beta 100% Bakery")
    a = await create(api, alpha, day(10))
    b = await create(api, alpha, day(40), carrier_id=UNUM)
    c = await create(api, beta, day(70))

    async def ids(**params: Any) -> list[str]:
        response = await api.get(API, params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["response"]]

    # `created` is whole seconds: spread the three apart to see the order.
    async with database.transaction() as session:
        for record, earlier in ((a, 20), (b, 10)):
            await session.execute(
                update(GroupDisconnectionRequest)
                .where(GroupDisconnectionRequest.id == uuid.UUID(record["id"]))
                .values(created=GroupDisconnectionRequest.created - earlier)
            )
    # Newest first by default, like connections.
    assert await ids() == [c["id"], b["id"], a["id"]]
    assert await ids(sort_direction="asc") == [a["id"], b["id"], c["id"]]
    assert await ids(carrier_id=UNUM) == [b["id"]]
    assert set(await ids(carrier_id=f"{UNUM},{PRINCIPAL}")) == {a["id"], b["id"], c["id"]}
    assert await ids(group_id=beta) == [c["id"]]
    assert set(await ids(min_effective_end_date=day(40))) == {b["id"], c["id"]}
    assert set(await ids(max_effective_end_date=day(40))) == {a["id"], b["id"]}
    assert await ids(min_effective_end_date=day(11), max_effective_end_date=day(69)) == [b["id"]]
    assert await ids(search="bETA") == [c["id"]]
    assert await ids(search="100%") == [c["id"]]
    assert await ids(search="%") == [c["id"]]  # a literal percent sign, not a wildcard
    assert await ids(search="Gamma") == []
    assert len(await ids(source_type="platform")) == 3
    assert await ids(source_type="carrier,group_audit_request") == []
    assert set(await ids(id=f"{a['id']},{c['id']}")) == {a["id"], c["id"]}

    page = (await api.get(API, params={"page_size": 2})).json()
    assert page["meta"] == {"offset": 0, "page_num": 1, "page_size": 2, "total_records": 3}
    assert len(page["response"]) == 2
    second = (await api.get(API, params={"page_size": 2, "offset": 2})).json()
    assert second["meta"]["page_num"] == 2
    assert [r["id"] for r in page["response"] + second["response"]] == [c["id"], b["id"], a["id"]]

    # None of the groups is connected: the run's check rejects every one.
    for record in (a, b, c):
        await settles(api, record["id"], "rejected")
    assert len(await ids(status="rejected")) == 3
    assert await ids(status="processing,needs_review") == []
    assert await ids(status="completed") == []
    by_status = await api.get(API, params={"sort_by": "status", "sort_direction": "desc"})
    assert by_status.status_code == 200
    assert by_status.json()["meta"]["total_records"] == 3

    # The group's own list.
    group_url = f"/api/v1/groups/{alpha}/group_disconnection_requests"
    in_group = (await api.get(group_url)).json()
    assert [r["id"] for r in in_group["response"]] == [b["id"], a["id"]]
    assert in_group["meta"]["total_records"] == 2
    unum_only = (await api.get(group_url, params={"carrier_id": UNUM})).json()
    assert [r["id"] for r in unum_only["response"]] == [b["id"]]
    missing = await api.get(f"/api/v1/groups/{UNKNOWN}/group_disconnection_requests")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "bogus"),
        ("status", "processing,done"),
        ("carrier_id", "not-a-uuid"),
        ("group_id", "12"),
        ("id", "x,y"),
        ("min_effective_end_date", "2026-13-01"),
        ("max_effective_end_date", "yesterday"),
        ("source_type", "fax"),
        ("sort_by", "group_name"),
        ("sort_direction", "up"),
        ("page_size", "0"),
    ],
)
async def test_malformed_filters_answer_422_naming_the_parameter(
    api: httpx.AsyncClient, param: str, value: str
) -> None:
    response = await api.get(API, params={param: value})
    assert response.status_code == 422, response.text
    assert param in [e["field"] for e in response.json()["errors"]]
    group_id = await new_group(api)
    scoped = await api.get(
        f"/api/v1/groups/{group_id}/group_disconnection_requests", params={param: value}
    )
    if param != "group_id":  # not a filter of the group's own list
        assert scoped.status_code == 422, scoped.text


async def test_another_organizations_request_is_404_everywhere(
    api: httpx.AsyncClient, other_org: httpx.AsyncClient
) -> None:
    group_id = await new_group(api)
    record = await create(api, group_id, day(30))
    url = f"{API}/{record['id']}"
    answers = [
        await other_org.get(url),
        await other_org.put(f"{url}/confirm", json={}),
        await other_org.put(f"{url}/reject", json={"reason": "other"}),
        await other_org.put(f"{url}/{record['version']}", json={"status": "rejected"}),
        await other_org.get(f"/api/v1/groups/{group_id}/group_disconnection_requests"),
        await other_org.post(
            API,
            json={"carrier_id": UNUM, "group_id": group_id, "effective_end_date": day(30)},
        ),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers), [r.text for r in answers]
    for listing in (
        await other_org.get(API),
        await other_org.get(API, params={"id": record["id"]}),
        await other_org.get(API, params={"group_id": group_id}),
    ):
        assert listing.json()["meta"]["total_records"] == 0
    # Nobody decided anything on it.
    mine = await get(api, record["id"])
    assert mine["decided"] is None
    assert mine["reason"] is None
    assert (await api.get(API)).json()["meta"]["total_records"] == 1
    unknown = await api.get(f"{API}/{UNKNOWN}")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "group disconnection request not found"


# --- the lifecycle --------------------------------------------------------------------------


async def test_an_unconnected_group_is_rejected_by_the_check_and_an_edit_resubmits_it(
    api: httpx.AsyncClient, database: Database
) -> None:
    group_id = await new_group(api)
    created = await create(api, group_id, day(30))
    rejected = await settles(api, created["id"], "rejected")
    assert "no completed connection" in rejected["status_reason"]
    assert rejected["version"] != created["version"]
    assert rejected["decided"] is None  # carrierlink rejected it, nobody decided

    stale = await api.put(
        f"{API}/{created['id']}/{created['version']}", json={"status": "processing"}
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["current_version"] == rejected["version"]
    wrong_reason = await api.put(
        f"{API}/{created['id']}/{rejected['version']}",
        json={"status": "rejected", "reason": "lost_group"},
    )
    assert wrong_reason.status_code == 422, wrong_reason.text
    assert wrong_reason.json()["errors"][0]["field"] == "reason"
    bad_status = await api.put(
        f"{API}/{created['id']}/{rejected['version']}", json={"status": "completed"}
    )
    assert bad_status.status_code == 422

    edited = await api.put(
        f"{API}/{created['id']}/{rejected['version']}",
        json={"status": "processing", "effective_end_date": day(20), "reason": "lost_group"},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] != rejected["version"]
    assert edited.json()["effective_end_date"] == day(20)
    assert edited.json()["reason"] == "lost_group"
    assert edited.json()["decided"] is not None
    # Still not connected: the check rejects it again.
    await eventually(
        lambda: _rejected_after(api, created["id"], edited.json()["version"]), within=10
    )
    async with database.transaction() as session:
        history = (
            await session.scalars(
                select(RecordVersion.data)
                .where(RecordVersion.record_id == uuid.UUID(created["id"]))
                .order_by(RecordVersion.valid_from)
            )
        ).all()
    assert [v["status"] for v in history] == ["processing", "rejected", "processing", "rejected"]


async def _rejected_after(api: httpx.AsyncClient, request_id: str, version: str) -> bool:
    record = await get(api, request_id)
    return record["status"] == "rejected" and record["version"] != version


async def test_a_past_end_date_disconnects_and_the_group_can_connect_again(
    api: httpx.AsyncClient,
) -> None:
    group_id, connection = await connected_group(api)
    created = await create(api, group_id, day(-1), reason="terminated")
    completed = await settles(api, created["id"], "completed", within=10)
    assert completed["completed"] is not None
    assert completed["completed"] >= completed["created"]
    assert completed["status_reason"] is None
    assert (await api.get(API, params={"status": "completed"})).json()["meta"]["total_records"] == 1

    still_there = await api.get(f"/api/v1/group_connections/{connection['id']}")
    assert still_there.status_code == 200

    for method, path, body in [
        ("put", "confirm", {}),
        ("put", "reject", {"reason": "other"}),
        ("put", completed["version"], {"status": "processing"}),
    ]:
        refused = await api.request(method, f"{API}/{created['id']}/{path}", json=body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["current_status"] == "completed"
        assert refused.json()["status"] == 409

    # The pair is free again: the same group connects to the same carrier group anew.
    carrier_group_id = connection["group_data"]["carrier_group_id"]
    again = await api.post(
        f"/api/v1/groups/{group_id}/group_connections",
        json={
            "carrier_id": PRINCIPAL,
            "group_data": {"carrier_group_id": carrier_group_id, "broker_federal_ein": BROKER_FEIN},
        },
    )
    assert again.status_code == 201, again.text
    assert again.json()["id"] != connection["id"]
    await reaches(api, again.json()["id"], "completed")
    # And a new disconnection request for the pair is accepted.
    assert (await create(api, group_id, day(60)))["status"] == "processing"


async def test_reject_then_confirm_a_request_with_a_future_end_date(
    api: httpx.AsyncClient,
) -> None:
    group_id, _ = await connected_group(api)
    created = await create(api, group_id, day(30))

    rejected = await api.put(
        f"{API}/{created['id']}/reject", json={"reason": "payment_reinstated", "context": "paid"}
    )
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert body["status"] == "rejected"
    assert body["decided"] is not None
    assert body["reason"] == "payment_reinstated"
    assert body["context"] == "paid"
    assert body["version"] != created["version"]
    assert (await get(api, created["id"]))["status"] == "rejected"

    again = await api.put(f"{API}/{created['id']}/reject")
    assert again.status_code == 409, again.text
    assert again.json()["current_status"] == "rejected"
    bad_reason = await api.put(f"{API}/{created['id']}/reject", json={"reason": "lost_group"})
    assert bad_reason.status_code == 422

    confirmed = await api.put(f"{API}/{created['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "processing"
    assert confirmed.json()["effective_end_date"] == day(30)
    # The connection passes the check again: it waits for the end date.
    await asyncio.sleep(1)
    final = await get(api, created["id"])
    assert final["status"] == "processing"
    assert final["status_reason"] is None
    twice = await api.put(f"{API}/{created['id']}/confirm", json={})
    assert twice.status_code == 409, twice.text
    assert twice.json()["current_status"] == "processing"


async def test_operators_signals_from_the_temporal_cli_decide_a_carrier_raised_request(
    api: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    """The README's `temporal workflow signal` commands, as an operator types them."""
    raised = await carrier_raised_request(api)
    assert (raised["status"], raised["source_type"]) == ("needs_review", "carrier")
    assert raised["source_id"] is not None

    async def signal(name: str, body: str) -> None:
        command = [
            str(VENV_BIN / "temporal"),
            "workflow",
            "signal",
            "--address",
            settings.temporal_target,
            "--workflow-id",
            f"group-disconnection/{raised['id']}",
            "--name",
            name,
            "--input",
            body,
        ]
        done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    await signal("confirm", f'{{"effective_end_date": "{day(45)}"}}')
    confirmed = await settles(api, raised["id"], "processing")
    assert confirmed["effective_end_date"] == day(45)
    assert confirmed["decided"] is not None
    # Illegal (already processing): logged and ignored; the run carries on.
    await signal("confirm", "{}")
    await signal("reject", '{"reason": "connection_restored"}')
    rejected = await settles(api, raised["id"], "rejected")
    assert rejected["reason"] == "connection_restored"
    async with database.transaction() as session:
        history = (
            await session.scalars(
                select(RecordVersion.data)
                .where(RecordVersion.record_id == uuid.UUID(raised["id"]))
                .order_by(RecordVersion.valid_from)
            )
        ).all()
    # The ignored confirm wrote nothing.
    assert [v["status"] for v in history] == ["needs_review", "processing", "rejected"]


async def test_a_rejected_request_cannot_reopen_while_another_is_open(
    api: httpx.AsyncClient,
) -> None:
    raised = await carrier_raised_request(api)
    rejected = await api.put(f"{API}/{raised['id']}/reject", json={"reason": "other"})
    assert rejected.status_code == 200, rejected.text
    platform = await create(api, raised["group_id"], day(40))

    reopened = await api.put(
        f"{API}/{raised['id']}/{rejected.json()['version']}", json={"status": "processing"}
    )
    confirmed = await api.put(f"{API}/{raised['id']}/confirm")

    for refused in (reopened, confirmed):
        assert refused.status_code == 409, refused.text
        assert refused.json()["existing_id"] == platform["id"]
    assert (await get(api, raised["id"]))["status"] == "rejected"


async def test_a_completed_disconnection_pauses_audits_and_refuses_enrollment_changes(
    api: httpx.AsyncClient, database: Database, client: Client
) -> None:
    group_id, connection = await connected_group(api)
    group = uuid.UUID(group_id)
    future = await create(api, group_id, day(60))
    async with database.transaction() as session:
        link = await carrier_link(session, group, uuid.UUID(PRINCIPAL))
    assert link == CarrierLink(connected=True, ends_on=date.fromisoformat(day(60)))
    with pytest.raises(EnrollmentRefused):
        check_enrollment_change(link, coverage_date=date.fromisoformat(day(61)))
    withdrawn = await api.put(f"{API}/{future['id']}/reject")
    assert withdrawn.status_code == 200, withdrawn.text

    past = await create(api, group_id, day(-1))
    await settles(api, past["id"], "completed")

    async with database.transaction() as session:
        link = await carrier_link(session, group, uuid.UUID(PRINCIPAL))
    assert link == CarrierLink(connected=False, disconnected_on=date.fromisoformat(day(-1)))
    with pytest.raises(EnrollmentRefused, match="disconnected"):
        check_enrollment_change(link)
    carrier_group_id = connection["group_data"]["carrier_group_id"]
    schedule = client.get_schedule_handle(
        schedule_id(uuid.UUID(PRINCIPAL), carrier_group_id, group)
    )
    described = await schedule.describe()
    assert described.schedule.state.paused is True
    assert past["id"] in (described.schedule.state.note or "")
    # And audits of the group are refused from now on.
    audit = await api.post(
        f"/api/v1/groups/{group_id}/audit_requests", json={"carrier_id": PRINCIPAL}
    )
    assert audit.status_code == 422
