"""Hostile and careless input to every write endpoint: a 4xx naming the field, nothing stored,
no lifecycle stuck (API -> Temporal -> worker -> PostgreSQL)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from domain.bounds import MAX_FREE_FORM_DEPTH, MAX_NAME, MAX_TEXT
from tests.harness import eventually
from tests.integration.test_connections import PRINCIPAL, new_connection, principal_id, reaches
from tests.integration.test_disconnections_api import carrier_raised_request, settles
from tools.sample_snapshots import new_hire, unique_id

pytestmark = pytest.mark.integration

API = "/api/v1"
DISCONNECTIONS = f"{API}/group_disconnection_requests"
NUL = "before\x00after"
LONE_SURROGATE = "before\ud800after"
DEEP = "[" * 1000 + "]" * 1000
# A free-form object one level deeper than a carrier_config may be.
TOO_DEEP = json.loads('{"a": ' * MAX_FREE_FORM_DEPTH + "1" + "}" * MAX_FREE_FORM_DEPTH)


def day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def encoded(body: Any) -> bytes:
    # ASCII JSON: a lone surrogate travels as its `\ud800` escape, as a client's JSON would send it.
    return json.dumps(body).encode()


async def send(api: httpx.AsyncClient, method: str, path: str, content: bytes) -> httpx.Response:
    return await api.request(
        method, path, content=content, headers={"content-type": "application/json"}
    )


def put_at(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `body` with the dotted `path` set to `value` (a number is a list index)."""
    copy: dict[str, Any] = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    node: Any = copy
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return copy


def fields_named(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == 422
    return [error["field"] for error in body["errors"]]


@dataclass
class World:
    """One organization's records of every kind a write endpoint changes."""

    group_id: str
    group_version: str
    contact_id: str
    contact_version: str
    connection_id: str
    connected_group_id: str
    request_id: str
    request_version: str


async def world(api: httpx.AsyncClient) -> World:
    group = (await api.post(f"{API}/groups", json={"name": "Acme Corp"})).json()
    contact = await api.post(
        f"{API}/groups/{group['id']}/contacts",
        json={
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann@example.com",
            "types": ["billing"],
        },
    )
    assert contact.status_code == 201, contact.text
    connection = await api.post(
        f"{API}/group_connections", json=new_connection(PRINCIPAL, principal_id())
    )
    assert connection.status_code == 201, connection.text
    await reaches(api, connection.json()["id"], "completed")
    request = await api.post(
        DISCONNECTIONS,
        json={
            "carrier_id": PRINCIPAL,
            "group_id": connection.json()["group_id"],
            "effective_end_date": day(60),
        },
    )
    assert request.status_code == 201, request.text
    return World(
        group_id=group["id"],
        group_version=group["version"],
        contact_id=contact.json()["id"],
        contact_version=contact.json()["version"],
        connection_id=connection.json()["id"],
        connected_group_id=connection.json()["group_id"],
        request_id=request.json()["id"],
        request_version=request.json()["version"],
    )


def snapshot() -> dict[str, Any]:
    body = new_hire(unique_id(), [])
    body["coverages"] = [
        {
            "carrier_id": PRINCIPAL,
            "line_of_coverage": "life",
            "plan_id": "00000000-0000-4000-8000-000000000001",
            "carrier_config": {"bill_group": "B1"},
            "enrolled_members": [
                {
                    "individual_type": "employee",
                    "custom_individual_id": body["employee"]["custom_individual_id"],
                    "effective_start_date": "2026-02-01",
                    "effective_end_date": "9999-12-31",
                    "volume": 50000,
                }
            ],
        }
    ]
    return body


def write_endpoints(w: World) -> list[tuple[str, str, dict[str, Any], list[str]]]:
    """Every write endpoint: method, path, a body it would take, and the text fields it has."""
    return [
        ("POST", f"{API}/groups", {"name": "Acme"}, ["name", "dba_name"]),
        ("PUT", f"{API}/groups/{w.group_id}/{w.group_version}", {}, ["name", "dba_name"]),
        (
            "POST",
            f"{API}/groups/{w.group_id}/contacts",
            {"first_name": "Bo", "last_name": "Ng", "email": "bo@example.com", "types": ["online"]},
            ["first_name", "last_name", "email", "title"],
        ),
        (
            "PUT",
            f"{API}/groups/{w.group_id}/contacts/{w.contact_id}/{w.contact_version}",
            {},
            ["first_name", "title", "email"],
        ),
        (
            "POST",
            f"{API}/group_connections",
            new_connection(PRINCIPAL, principal_id()),
            ["group_data.group_name", "group_data.carrier_group_id", "group_data.broker_tin"],
        ),
        (
            "POST",
            f"{API}/groups/{w.group_id}/group_connections",
            {"carrier_id": PRINCIPAL, "group_data": {"carrier_group_id": principal_id()}},
            ["group_data.carrier_group_id", "group_data.employer_email_address"],
        ),
        (
            "PUT",
            f"{API}/group_connections/{w.connection_id}/retry",
            {},
            ["carrier_group_id", "broker_tin", "broker_federal_ein"],
        ),
        (
            "POST",
            DISCONNECTIONS,
            {"carrier_id": PRINCIPAL, "group_id": w.group_id, "effective_end_date": day(30)},
            ["context"],
        ),
        ("PUT", f"{DISCONNECTIONS}/{w.request_id}/reject", {}, ["context"]),
        (
            "PUT",
            f"{DISCONNECTIONS}/{w.request_id}/{w.request_version}",
            {"status": "rejected"},
            ["context", "reason"],
        ),
        (
            "POST",
            f"{API}/groups/{w.group_id}/member_snapshots",
            snapshot(),
            ["employee.person.first_name", "employee.custom_individual_id"],
        ),
        (
            "POST",
            f"{API}/groups/{w.group_id}/member_snapshots/test",
            snapshot(),
            ["employee.person.last_name", "employee.person.contact"],
        ),
        (
            "POST",
            f"{API}/groups/{w.connected_group_id}/audit_requests",
            {"carrier_id": PRINCIPAL},
            [],
        ),
    ]


async def stored(api: httpx.AsyncClient, w: World) -> dict[str, Any]:
    """What the organization holds: counts of every kind, and the states of the world's records."""

    async def total(path: str) -> int:
        response = await api.get(path)
        assert response.status_code == 200, response.text
        return int(response.json()["meta"]["total_records"])

    async def record(path: str) -> tuple[Any, ...]:
        body = (await api.get(path)).json()
        return body.get("version"), body.get("status"), body.get("name"), body.get("context")

    return {
        "groups": await total(f"{API}/groups"),
        "contacts": await total(f"{API}/groups/{w.group_id}/contacts"),
        "connections": await total(f"{API}/group_connections"),
        "requests": await total(DISCONNECTIONS),
        "snapshots": await total(f"{API}/member_snapshots"),
        "group": await record(f"{API}/groups/{w.group_id}"),
        "contact": await record(f"{API}/groups/{w.group_id}/contacts/{w.contact_id}"),
        "connection": await record(f"{API}/group_connections/{w.connection_id}"),
        "request": await record(f"{DISCONNECTIONS}/{w.request_id}"),
    }


async def still_moves(api: httpx.AsyncClient, w: World) -> None:
    """The world's lifecycles still answer: the open request can be rejected at once."""
    rejected = await api.put(f"{DISCONNECTIONS}/{w.request_id}/reject", json={"context": "ok"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"


# --- text fields: NUL, lone surrogates, over-long -------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [("nul", NUL), ("lone surrogate", LONE_SURROGATE), ("over-long", "x" * (MAX_TEXT + 1))],
)
async def test_bad_text_in_any_field_of_any_write_endpoint_is_named_and_nothing_is_stored(
    api: httpx.AsyncClient, kind: str, value: str
) -> None:
    w = await world(api)
    before = await stored(api, w)
    for method, path, body, fields in write_endpoints(w):
        for field in fields:
            bad = value
            if field == "employee.person.contact":
                bad = {"preferred_language": value}  # type: ignore[assignment]
                field = "employee.person.contact.preferred_language"
                sent = put_at(body, "employee.person.contact", bad)
            else:
                sent = put_at(body, field, bad)
            response = await send(api, method, path, encoded(sent))
            assert response.status_code == 422, (kind, path, field, response.text)
            assert field in fields_named(response), (kind, path, field, response.text)
            # The refusal never quotes what was sent.
            assert "before" not in response.text
    assert await stored(api, w) == before
    await still_moves(api, w)


@pytest.mark.parametrize(
    ("path_of", "field", "limit"),
    [
        ("groups", "name", MAX_NAME),
        ("connections", "group_data.group_name", MAX_NAME),
        ("disconnections", "context", MAX_TEXT),
    ],
)
async def test_texts_are_taken_up_to_their_limit(
    api: httpx.AsyncClient, path_of: str, field: str, limit: int
) -> None:
    """The limits are tight on hostile input but not on a real record: the longest one works."""
    if path_of == "groups":
        response = await api.post(f"{API}/groups", json={field: "é" * limit})
    elif path_of == "connections":
        body = put_at(new_connection(PRINCIPAL, principal_id()), field, "é" * limit)
        response = await api.post(f"{API}/group_connections", json=body)
    else:
        group = (await api.post(f"{API}/groups", json={"name": "Acme"})).json()
        response = await api.post(
            DISCONNECTIONS,
            json={
                "carrier_id": PRINCIPAL,
                "group_id": group["id"],
                "effective_end_date": day(30),
                field: "é" * limit,
            },
        )
    assert response.status_code == 201, response.text
    if path_of == "connections":
        # The connection completes: its audit schedule is created with the longest group name.
        await reaches(api, response.json()["id"], "completed")
    if path_of == "disconnections":
        await settles(api, response.json()["id"], "rejected")  # no connection: checked, answered


# --- whole bodies: huge, not UTF-8, malformed, deeply nested ---------------------------------


@pytest.mark.parametrize(
    ("kind", "content", "status", "says"),
    [
        ("huge", encoded({"name": "x" * (2 * 1024 * 1024)}), 413, "larger than the limit"),
        ("megabyte text", encoded({"context": "x" * (1024 * 1024)}), 413, "larger"),
        ("invalid utf-8", b'{"name": "caf\xe9"}', 400, "UTF-8"),
        ("malformed", b'{"name": "x",', 400, "not valid JSON"),
        ("deep", f'{{"name": {DEEP}}}'.encode(), 400, "levels deep"),
    ],
)
async def test_bodies_no_endpoint_can_read_are_refused_before_any_route(
    api: httpx.AsyncClient, kind: str, content: bytes, status: int, says: str
) -> None:
    w = await world(api)
    before = await stored(api, w)
    for method, path, _, _ in write_endpoints(w):
        response = await send(api, method, path, content)
        assert response.status_code == status, (kind, path, response.text)
        assert response.json() == {
            "message": response.json()["message"],
            "status": status,
            "request_id": response.headers["X-Request-ID"],
        }
        assert says in response.json()["message"]
    assert await stored(api, w) == before
    await still_moves(api, w)


async def test_the_snapshot_keeps_no_invalid_utf8(api: httpx.AsyncClient) -> None:
    """It used to replace the bytes and store the result; now it refuses them."""
    w = await world(api)
    body = encoded(snapshot()).replace(b'"Sample"', b'"Sam\xffple"')
    for path in ["member_snapshots", "member_snapshots/test"]:
        response = await send(api, "POST", f"{API}/groups/{w.group_id}/{path}", body)
        assert response.status_code == 400, response.text
    assert (await api.get(f"{API}/member_snapshots")).json()["meta"]["total_records"] == 0


# --- dates, numbers and free-form objects ---------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("employee.person.date_of_birth", "0001-01-01"),
        ("employee.person.date_of_birth", day(30)),
        ("employee.employment.employment_dates.hire_date", "0001-01-01"),
        ("employee.employment.hours_worked", 10**30),
        ("employee.employment.salary.amount", 1e308),
        ("coverages.0.enrolled_members.0.effective_start_date", "0001-01-01"),
        ("coverages.0.enrolled_members.0.volume", 10**20),
        ("coverages.0.carrier_config", {"nested": TOO_DEEP}),
        ("coverages.0.carrier_config", {"bill_group": NUL}),
    ],
)
async def test_implausible_snapshot_values_are_named_and_nothing_is_stored(
    api: httpx.AsyncClient, field: str, value: Any
) -> None:
    group = (await api.post(f"{API}/groups", json={"name": "Acme"})).json()
    for path in ["member_snapshots", "member_snapshots/test"]:
        response = await send(
            api,
            "POST",
            f"{API}/groups/{group['id']}/{path}",
            encoded(put_at(snapshot(), field, value)),
        )
        assert field in fields_named(response), response.text
    assert (await api.get(f"{API}/member_snapshots")).json()["meta"]["total_records"] == 0


@pytest.mark.parametrize("end", ["0001-01-01", "1899-12-31", "2201-01-01", "9999-12-30"])
async def test_implausible_disconnection_end_dates_are_named(
    api: httpx.AsyncClient, end: str
) -> None:
    w = await world(api)
    before = await stored(api, w)
    for method, path, body in [
        (
            "POST",
            DISCONNECTIONS,
            {"carrier_id": PRINCIPAL, "group_id": w.group_id, "effective_end_date": end},
        ),
        ("PUT", f"{DISCONNECTIONS}/{w.request_id}/confirm", {"effective_end_date": end}),
        (
            "PUT",
            f"{DISCONNECTIONS}/{w.request_id}/{w.request_version}",
            {"status": "processing", "effective_end_date": end},
        ),
    ]:
        response = await send(api, method, path, encoded(body))
        assert fields_named(response) == ["effective_end_date"], (path, response.text)
    assert await stored(api, w) == before
    await still_moves(api, w)


# --- the open end and decisions -------------------------------------------------------------


async def _events(client: Client, request_id: str) -> list[int]:
    handle = client.get_workflow_handle(f"group-disconnection/{request_id}")
    return [event.event_type for event in (await handle.fetch_history()).events]


async def _workflow_task_failures(client: Client, request_id: str) -> int:
    events = await _events(client, request_id)
    return events.count(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)


async def _idle_after_its_check(client: Client, request_id: str) -> bool:
    """The run has checked the request and its next workflow task completed: it now waits."""
    handle = client.get_workflow_handle(f"group-disconnection/{request_id}")
    if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
        return False
    events = await _events(client, request_id)
    return (
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in events
        and events[-1] == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )


async def test_a_request_ending_9999_12_31_waits_for_a_decision_and_can_be_decided(
    api: httpx.AsyncClient, client: Client
) -> None:
    """It used to fail its workflow task (OverflowError) and stick in processing."""
    w = await world(api)
    rejected = await api.put(f"{DISCONNECTIONS}/{w.request_id}/reject")
    assert rejected.status_code == 200, rejected.text
    created = await api.post(
        DISCONNECTIONS,
        json={
            "carrier_id": PRINCIPAL,
            "group_id": w.connected_group_id,
            "effective_end_date": "9999-12-31",
            "context": "c" * MAX_TEXT,
        },
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    await eventually(lambda: _idle_after_its_check(client, request_id), within=10)
    assert await _workflow_task_failures(client, request_id) == 0
    record = (await api.get(f"{DISCONNECTIONS}/{request_id}")).json()
    assert (record["status"], record["effective_end_date"]) == ("processing", "9999-12-31")

    # A person sets a real end date: the run takes it and waits for that day instead.
    version = record["version"]
    edited = await api.put(
        f"{DISCONNECTIONS}/{request_id}/{version}",
        json={"status": "processing", "effective_end_date": day(90)},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["effective_end_date"] == day(90)
    # And the way out still works.
    final = await api.put(f"{DISCONNECTIONS}/{request_id}/reject", json={"context": "done"})
    assert final.status_code == 200, final.text
    assert final.json()["status"] == "rejected"
    assert await _workflow_task_failures(client, request_id) == 0


async def test_a_far_but_plausible_end_date_waits_without_failing(
    api: httpx.AsyncClient, client: Client
) -> None:
    w = await world(api)
    assert (await api.put(f"{DISCONNECTIONS}/{w.request_id}/reject")).status_code == 200
    created = await api.post(
        DISCONNECTIONS,
        json={
            "carrier_id": PRINCIPAL,
            "group_id": w.connected_group_id,
            "effective_end_date": "2200-12-31",
        },
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]

    async def timer_started() -> bool:
        return EventType.EVENT_TYPE_TIMER_STARTED in await _events(client, request_id)

    await eventually(timer_started, within=10)
    assert await _workflow_task_failures(client, request_id) == 0
    assert (await api.get(f"{DISCONNECTIONS}/{request_id}")).json()["status"] == "processing"


async def test_a_decision_meets_the_end_date_rule_of_a_new_request(
    api: httpx.AsyncClient,
) -> None:
    """Confirming a carrier-raised request with a long-past date used to disconnect at once."""
    raised = await carrier_raised_request(api)
    assert raised["status"] == "needs_review"
    for end in [day(-60), "1900-01-01"]:
        confirmed = await api.put(
            f"{DISCONNECTIONS}/{raised['id']}/confirm", json={"effective_end_date": end}
        )
        assert fields_named(confirmed) == ["effective_end_date"], confirmed.text
        assert (
            "in the past" in confirmed.json()["errors"][0]["message"]
            or "coverage start" in (confirmed.json()["errors"][0]["message"])
        )
        edited = await api.put(
            f"{DISCONNECTIONS}/{raised['id']}/{raised['version']}",
            json={"status": "processing", "effective_end_date": end},
        )
        assert fields_named(edited) == ["effective_end_date"], edited.text
    still = (await api.get(f"{DISCONNECTIONS}/{raised['id']}")).json()
    assert (still["status"], still["version"]) == ("needs_review", raised["version"])
    # A date the rule takes is confirmed as before.
    confirmed = await api.put(
        f"{DISCONNECTIONS}/{raised['id']}/confirm", json={"effective_end_date": day(45)}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "processing"


# --- query parameters ----------------------------------------------------------------------


async def test_nul_in_a_query_parameter_is_named_not_a_500(api: httpx.AsyncClient) -> None:
    for path, parameter in [
        (f"{API}/groups", "company"),
        (DISCONNECTIONS, "search"),
        (f"{API}/groups", "carrier_group_id"),
        (f"{API}/group_connections", "carrier_group_id"),
    ]:
        response = await api.get(path, params={parameter: "a\x00b"})
        assert fields_named(response) == [parameter], (path, response.text)
    response = await api.get(f"{API}/groups?company=caf%E9")
    assert response.status_code == 400, response.text
    assert response.json() == {
        "message": "the query string is not valid UTF-8",
        "status": 400,
        "request_id": response.headers["X-Request-ID"],
    }


# --- methods -------------------------------------------------------------------------------


async def test_unsupported_methods_under_a_group_answer_405(api: httpx.AsyncClient) -> None:
    w = await world(api)
    for method, path in [
        ("PUT", f"{API}/groups/{w.group_id}/contacts"),
        ("DELETE", f"{API}/groups/{w.group_id}/contacts"),
        ("PUT", f"{API}/groups/{w.group_id}/locations"),
        ("PUT", f"{API}/groups/{w.group_id}/plans"),
        ("PUT", f"{API}/groups/{w.group_id}/group_connections"),
        ("PUT", f"{API}/groups/{w.group_id}/member_snapshots"),
        ("DELETE", f"{API}/groups/{w.group_id}"),
    ]:
        response = await api.request(method, path, json={})
        assert response.status_code == 405, (method, path, response.text)
        assert response.json()["status"] == 405
    # The edit route itself still answers.
    edited = await api.put(f"{API}/groups/{w.group_id}/{w.group_version}", json={"name": "New"})
    assert edited.status_code == 200, edited.text
