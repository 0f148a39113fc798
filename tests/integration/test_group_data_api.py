"""Groups, contacts, locations, carrier configurations, enrollments and plans over HTTP.

Real PostgreSQL; no Temporal worker: group data is seeded by storing a sandbox carrier's account
structure directly, as a completed connection would.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update

from api.app import create_app
from domain.account import AccountStructure
from runtime.settings import Settings
from sandbox import generator
from store.account import store_account_structure
from store.db import Database
from store.models import (
    CarrierConfiguration,
    Contact,
    Group,
    GroupConnection,
    GroupEnrollment,
    Location,
    Plan,
    RecordVersion,
)
from store.tenancy import ensure_organization, organization_for_token
from store.versioning import save_version
from tests.harness import AppServer, eventually, statements_sent

pytestmark = pytest.mark.integration

PRINCIPAL = "d0003042-eaae-4491-b219-4825456a3d16"
UNUM = "23054cd9-0a41-43e3-bd43-2d2138006536"
PRINCIPAL_POLICY = "1234567"
UNUM_POLICY = "12345678"
DAY_MICROS = 86_400 * 1_000_000


# Fixtures: this module's own API server, so no Temporal worker is needed.


@pytest.fixture(scope="module")
async def group_api_server(settings: Settings, database: Database) -> AsyncIterator[AppServer]:
    async with AppServer(create_app(settings, database=database)) as server:
        yield server


def _client(server: AppServer, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


@pytest.fixture
async def api(group_api_server: AppServer, org_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The caller: a fresh organization per test (overrides conftest's worker-backed `api`)."""
    async with _client(group_api_server, org_token) as http:
        yield http


@pytest.fixture
async def other_api(
    group_api_server: AppServer, database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    """Another organization's client."""
    async with database.transaction() as session:
        _, token = await ensure_organization(session, f"other-{uuid.uuid4().hex[:10]}")
    assert token
    async with _client(group_api_server, token) as http:
        yield http


@pytest.fixture
async def organization_id(database: Database, org_token: str) -> uuid.UUID:
    """The caller's organization."""
    async with database.transaction() as session:
        found = await organization_for_token(session, org_token)
    assert found is not None
    return found


# Seeding and time travel.


def account(carrier: str = PRINCIPAL, policy: str = PRINCIPAL_POLICY) -> dict[str, Any]:
    return generator.generate_account("principal" if carrier == PRINCIPAL else "unum", policy)


async def new_group(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/groups", json={"name": "Acme Corp", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def store(
    database: Database, group_id: str, data: dict[str, Any], carrier: str = PRINCIPAL
) -> None:
    async with database.transaction() as session:
        await store_account_structure(
            session,
            group_id=uuid.UUID(group_id),
            carrier_id=uuid.UUID(carrier),
            account=AccountStructure.model_validate(data),
        )


async def seeded_group(
    api: httpx.AsyncClient, database: Database, *carriers: str, **fields: Any
) -> dict[str, Any]:
    """A group created over the API with each carrier's sandbox account stored for it."""
    group = await new_group(api, **fields)
    for carrier in carriers or (PRINCIPAL,):
        policy = PRINCIPAL_POLICY if carrier == PRINCIPAL else UNUM_POLICY
        await store(database, group["id"], account(carrier, policy), carrier)
    return group


async def backdate(database: Database, group_id: str, days: int) -> None:
    """Pretend every version written so far for the group was written `days` ago.

    `effective_date` reads `record_versions.valid_from`; moving it back lets a test read an
    old version by date without waiting days for the next write.
    """
    gid = uuid.UUID(group_id)
    async with database.transaction() as session:
        ids: list[uuid.UUID] = [gid]
        for model in (Contact, Location, CarrierConfiguration, GroupEnrollment, Plan):
            ids += list(await session.scalars(select(model.id).where(model.group_id == gid)))
        await session.execute(
            update(RecordVersion)
            .where(RecordVersion.record_id.in_(ids))
            .values(valid_from=RecordVersion.valid_from - days * DAY_MICROS)
        )


def days_ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


async def ok(request: Awaitable[httpx.Response], status: int = 200) -> Any:
    """The JSON of a response that must have `status`."""
    response = await request
    assert response.status_code == status, response.text
    return response.json()


def fields_named(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


# Groups.


async def test_a_group_is_created_and_read_back(
    api: httpx.AsyncClient, organization_id: uuid.UUID
) -> None:
    body = {
        "name": "Acme Corp",
        "dba_name": "Acme",
        "federal_ein": "123456789",
        "sic_code": "7372",
        "organization_id": str(organization_id),
    }
    created = await ok(api.post("/api/v1/groups", json=body), 201)
    assert {k: created[k] for k in body} == body
    assert {"id", "version", "created", "modified"} <= created.keys()
    assert await ok(api.get(f"/api/v1/groups/{created['id']}")) == created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "A", "federal_ein": "12-3456789"}, "federal_ein"),
        ({"name": "A", "sic_code": "123"}, "sic_code"),
        ({"name": "A", "organization_id": str(uuid.uuid4())}, "organization_id"),
        ({"name": "A", "id": str(uuid.uuid4())}, "id"),
    ],
)
async def test_invalid_new_groups_answer_422_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    assert fields_named(await api.post("/api/v1/groups", json=body)) == [field]


async def test_group_list_pages_and_searches_name_or_dba_name(api: httpx.AsyncClient) -> None:
    first = await new_group(api, name="Blue Harbor LLC")
    second = await new_group(api, name="Quarry Works", dba_name="Blue Quarry")
    third = await new_group(api, name="Cedar 100% Co_op")

    # Newest first by default (created, whole seconds, descending), ties by id.
    ordered = [
        g["id"] for g in sorted((first, second, third), key=lambda g: (-g["created"], g["id"]))
    ]
    page = await ok(api.get("/api/v1/groups", params={"page_size": 2}))
    assert page["meta"] == {"offset": 0, "page_num": 1, "page_size": 2, "total_records": 3}
    assert [g["id"] for g in page["response"]] == ordered[:2]
    page = await ok(api.get("/api/v1/groups", params={"page_size": 2, "offset": 2}))
    assert page["meta"] == {"offset": 2, "page_num": 2, "page_size": 2, "total_records": 3}
    assert [g["id"] for g in page["response"]] == ordered[2:]

    async def search(**params: str) -> list[str]:
        return [g["id"] for g in (await ok(api.get("/api/v1/groups", params=params)))["response"]]

    assert set(await search(company="blue")) == {first["id"], second["id"]}  # name, dba_name
    assert await search(company="QUARRY") == [second["id"]]
    assert await search(company="100%") == [third["id"]]  # LIKE wildcards are literal
    assert await search(company="r_h") == []
    assert set(await search(group_ids=f"{first['id']},{third['id']}")) == {first["id"], third["id"]}
    assert await search(group_ids=str(uuid.uuid4())) == []
    assert fields_named(await api.get("/api/v1/groups", params={"group_ids": "nope"})) == [
        "group_ids"
    ]


async def test_groups_are_found_by_carrier_and_carrier_group_id(
    api: httpx.AsyncClient, database: Database, organization_id: uuid.UUID
) -> None:
    group = await new_group(api)
    await new_group(api, name="Unconnected")
    async with database.transaction() as session:
        await save_version(
            session,
            GroupConnection(
                id=uuid.uuid4(),
                organization_id=organization_id,
                group_id=uuid.UUID(group["id"]),
                carrier_id=uuid.UUID(UNUM),
                carrier_group_id="00012345",
                request_type="incremental",
                status="action_required",
                group_data={},
                setup_result={},
                workflow_id=f"test-{uuid.uuid4()}",
            ),
            is_new=True,
        )

    async def search(**params: str) -> list[str]:
        return [g["id"] for g in (await ok(api.get("/api/v1/groups", params=params)))["response"]]

    assert await search(carrier_id=UNUM, carrier_group_id="00012345") == [group["id"]]
    assert await search(carrier_id=UNUM, carrier_group_id="12345") == [group["id"]]  # zero-fill
    assert await search(carrier_id=PRINCIPAL, carrier_group_id="00012345") == []
    assert await search(carrier_id=UNUM, carrier_group_id="99999999") == []
    assert fields_named(await api.get("/api/v1/groups", params={"carrier_id": UNUM})) == [
        "carrier_group_id"
    ]
    assert fields_named(await api.get("/api/v1/groups", params={"carrier_group_id": "1"})) == [
        "carrier_id"
    ]


async def test_a_group_edit_makes_a_new_version_and_keeps_the_old_one_by_date(
    api: httpx.AsyncClient, database: Database
) -> None:
    group = await new_group(api, name="Old Name", sic_code="1521")
    url = f"/api/v1/groups/{group['id']}"
    await backdate(database, group["id"], days=3)

    edited = await ok(api.put(f"{url}/{group['version']}", json={"name": "New Name"}))
    assert edited["version"] != group["version"]
    assert (edited["name"], edited["sic_code"], edited["created"]) == (
        "New Name",
        "1521",
        group["created"],
    )
    assert (await ok(api.get(url)))["name"] == "New Name"
    assert (await ok(api.get(url, params={"effective_date": days_ago(2)}))) == group
    assert (await api.get(url, params={"effective_date": days_ago(4)})).status_code == 404
    listed = await ok(api.get("/api/v1/groups", params={"effective_date": days_ago(2)}))
    assert [g["name"] for g in listed["response"]] == ["Old Name"]
    old_search = {"effective_date": days_ago(2), "company": "old"}
    assert (await ok(api.get("/api/v1/groups", params=old_search)))["meta"]["total_records"] == 1
    assert (await ok(api.get("/api/v1/groups", params={"company": "old"})))["response"] == []

    stale = await api.put(f"{url}/{group['version']}", json={"name": "Lost Update"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == edited["version"]
    assert fields_named(await api.put(f"{url}/{edited['version']}", json={"id": "x"})) == ["id"]
    assert fields_named(
        await api.put(f"{url}/{edited['version']}", json={"organization_id": group["id"]})
    ) == ["organization_id"]
    assert fields_named(await api.put(f"{url}/{edited['version']}", json={"name": None})) == [
        "name"
    ]
    cleared = await ok(api.put(f"{url}/{edited['version']}", json={"sic_code": None}))
    assert (cleared["name"], cleared["sic_code"]) == ("New Name", None)
    assert (await api.put(f"{url}/not-a-uuid", json={})).status_code == 422


async def test_concurrent_edits_of_one_version_let_exactly_one_through(
    api: httpx.AsyncClient, database: Database
) -> None:
    group = await new_group(api)
    url = f"/api/v1/groups/{group['id']}/{group['version']}"

    async def waiting_on_locks() -> int:
        async with database.transaction() as session:
            return int(
                await session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                )
                or 0
            )

    # Hold the row so both edits are in flight at once, then let them race for it.
    async with database.transaction() as session:
        await session.get(Group, uuid.UUID(group["id"]), with_for_update=True)
        edits = [
            asyncio.create_task(api.put(url, json={"dba_name": f"Edit {n}"})) for n in range(2)
        ]
        await eventually(lambda: _at_least(waiting_on_locks(), 2), within=10)
    responses = await asyncio.gather(*edits)
    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r.json() for r in responses if r.status_code == 200)
    loser = next(r.json() for r in responses if r.status_code == 409)
    assert loser["current_version"] == winner["version"]
    assert (await ok(api.get(f"/api/v1/groups/{group['id']}")))["version"] == winner["version"]


async def _at_least(count: Awaitable[int], minimum: int) -> bool:
    return await count >= minimum


# Contacts and locations.

NEW_CONTACT = {
    "first_name": "Ana",
    "last_name": "Chen",
    "email": "ana@acme.example",
    "types": ["company", "billing"],
    "phone_number": "+15555550100",
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"types": ["carrier"]}, "carrier_id"),
        ({"carrier_id": PRINCIPAL}, "carrier_id"),
        ({"types": ["carrier"], "carrier_id": str(uuid.uuid4())}, "carrier_id"),
        ({"types": []}, "types"),
        ({"types": ["boss"]}, "types.0"),
        ({"phone_number": "555-0100"}, "phone_number"),
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"group_id": str(uuid.uuid4())}, "group_id"),
    ],
)
async def test_invalid_contacts_answer_422_naming_the_field(
    api: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    group = await new_group(api)
    response = await api.post(
        f"/api/v1/groups/{group['id']}/contacts", json={**NEW_CONTACT, **changes}
    )
    assert fields_named(response) == [field]


async def test_contacts_are_created_listed_and_edited(
    api: httpx.AsyncClient, database: Database
) -> None:
    group = await seeded_group(api, database)
    url = f"/api/v1/groups/{group['id']}/contacts"
    synced = (await ok(api.get(url)))["response"]
    assert len(synced) == len(account()["contacts"]) >= 1

    created = await ok(api.post(url, json=NEW_CONTACT), 201)
    assert {k: created[k] for k in NEW_CONTACT} == NEW_CONTACT
    assert (created["group_id"], created["carrier_id"], created["primary_contact"]) == (
        group["id"],
        None,
        False,
    )
    page = await ok(api.get(url, params={"page_size": 1, "offset": len(synced)}))
    assert page["meta"]["total_records"] == len(synced) + 1
    assert len(page["response"]) == 1
    assert created in (await ok(api.get(url)))["response"]
    assert await ok(api.get(f"{url}/{created['id']}")) == created

    carrier_contact = await ok(
        api.put(
            f"{url}/{created['id']}/{created['version']}",
            json={"types": ["carrier"], "carrier_id": UNUM, "title": "Account rep"},
        )
    )
    assert (carrier_contact["types"], carrier_contact["carrier_id"]) == (["carrier"], UNUM)
    assert carrier_contact["first_name"] == "Ana"
    assert carrier_contact["version"] != created["version"]
    stale = await api.put(f"{url}/{created['id']}/{created['version']}", json={"title": "x"})
    assert (stale.status_code, stale.json()["current_version"]) == (
        409,
        carrier_contact["version"],
    )
    current = carrier_contact["version"]
    # Dropping the carrier type without dropping carrier_id breaks the rule; both together don't.
    assert fields_named(
        await api.put(f"{url}/{created['id']}/{current}", json={"types": ["online"]})
    ) == ["carrier_id"]
    online = await ok(
        api.put(f"{url}/{created['id']}/{current}", json={"types": ["online"], "carrier_id": None})
    )
    assert (online["types"], online["carrier_id"]) == (["online"], None)
    assert fields_named(
        await api.put(f"{url}/{created['id']}/{online['version']}", json={"primary_contact": None})
    ) == ["primary_contact"]

    # A contact the carrier reported keeps the carrier that reported it.
    reported = synced[0]
    assert reported["carrier_id"] == PRINCIPAL
    refused = await api.put(
        f"{url}/{reported['id']}/{reported['version']}",
        json={"types": ["carrier"], "carrier_id": UNUM},
    )
    assert fields_named(refused) == ["carrier_id"]
    renamed = await ok(
        api.put(f"{url}/{reported['id']}/{reported['version']}", json={"last_name": "Brooks"})
    )
    assert (renamed["last_name"], renamed["carrier_id"]) == ("Brooks", PRINCIPAL)


async def test_locations_are_listed_and_read_within_their_group(
    api: httpx.AsyncClient, database: Database
) -> None:
    group = await seeded_group(api, database)
    other_group = await new_group(api, name="Other")
    url = f"/api/v1/groups/{group['id']}/locations"
    expected = account()["locations"]
    page = await ok(api.get(url, params={"page_size": 1}))
    assert page["meta"]["total_records"] == len(expected) >= 2
    assert len(page["response"]) == 1
    everything = (await ok(api.get(url)))["response"]
    assert {loc["display_name"] for loc in everything} == {loc["display_name"] for loc in expected}
    one = everything[0]
    assert set(one) == {
        "id",
        "version",
        "created",
        "modified",
        "group_id",
        "display_name",
        "address",
    }
    assert await ok(api.get(f"{url}/{one['id']}")) == one
    wrong_group = f"/api/v1/groups/{other_group['id']}/locations/{one['id']}"
    assert (await api.get(wrong_group)).status_code == 404
    assert (await api.get(f"{url}/{uuid.uuid4()}")).status_code == 404
    assert (await api.get(f"{url}/not-a-uuid")).status_code == 422


# Carrier configurations, enrollments and plans.


async def test_carrier_configurations_are_a_bare_array(
    api: httpx.AsyncClient, database: Database
) -> None:
    group = await seeded_group(api, database, PRINCIPAL, UNUM)
    configurations = await ok(api.get(f"/api/v1/groups/{group['id']}/carrier_configurations"))
    assert isinstance(configurations, list)
    by_carrier = {c["carrier_id"]: c for c in configurations}
    assert len(configurations) == 2
    assert by_carrier[PRINCIPAL]["carrier_group_id"] == PRINCIPAL_POLICY
    assert by_carrier[UNUM]["carrier_group_id"] == UNUM_POLICY
    assert by_carrier[PRINCIPAL]["configuration"] == account()["configuration"]
    empty = await new_group(api)
    assert await ok(api.get(f"/api/v1/groups/{empty['id']}/carrier_configurations")) == []


async def test_group_enrollments_page_filter_and_list_their_plans(
    api: httpx.AsyncClient, database: Database
) -> None:
    group = await seeded_group(api, database)
    url = f"/api/v1/groups/{group['id']}/group_enrollments"
    expected = account()["group_enrollments"]
    page = await ok(api.get(url, params={"page_size": 2, "offset": 2}))
    assert page["meta"] == {
        "offset": 2,
        "page_num": 2,
        "page_size": 2,
        "total_records": len(expected),
    }
    everything = (await ok(api.get(url, params={"page_size": 100})))["response"]
    assert page["response"] == everything[2:4]
    assert (await ok(api.get(url, params={"status": "pending,completed"})))["response"] == []
    active = await ok(api.get(url, params={"status": "active"}))
    assert active["meta"]["total_records"] == len(expected)
    assert fields_named(await api.get(url, params={"status": "active,done"})) == ["status"]

    enrollment = everything[0]
    assert await ok(api.get(f"/api/v1/group_enrollments/{enrollment['id']}")) == enrollment
    plans = await ok(api.get(f"/api/v1/group_enrollments/{enrollment['id']}/plans"))
    assert isinstance(plans, list)
    assert plans
    assert {p["group_enrollment_id"] for p in plans} == {enrollment["id"]}
    assert {p["line_of_coverage"] for p in plans} == {enrollment["line_of_coverage"]}
    assert (await api.get(f"/api/v1/group_enrollments/{uuid.uuid4()}")).status_code == 404


async def test_plans_filter_by_line_status_and_carrier_and_read_wrapped(
    api: httpx.AsyncClient, database: Database
) -> None:
    group = await seeded_group(api, database, PRINCIPAL, UNUM)
    url = f"/api/v1/groups/{group['id']}/plans"
    principal_plans = account()["plans"]
    unum_plans = account(UNUM, UNUM_POLICY)["plans"]

    async def total(**params: str) -> int:
        return int((await ok(api.get(url, params=params)))["meta"]["total_records"])

    assert await total() == len(principal_plans) + len(unum_plans)
    assert await total(carrier_id=PRINCIPAL) == len(principal_plans)
    assert await total(carrier_id=f"{PRINCIPAL},{UNUM}") == len(principal_plans) + len(unum_plans)
    dental = [p for p in principal_plans + unum_plans if p["line_of_coverage"] == "dental"]
    vision = [p for p in principal_plans + unum_plans if p["line_of_coverage"] == "vision"]
    assert await total(line_of_coverage="dental") == len(dental) > 0
    assert await total(line_of_coverage="dental,vision") == len(dental) + len(vision)
    assert await total(line_of_coverage="dental", carrier_id=UNUM) == len(
        [p for p in unum_plans if p["line_of_coverage"] == "dental"]
    )
    assert await total(status="active") == len(principal_plans) + len(unum_plans)
    assert await total(status="pending,discontinued") == 0
    for params, field in [
        ({"status": "retired"}, "status"),
        ({"line_of_coverage": "dentl"}, "line_of_coverage"),
        ({"carrier_id": "principal"}, "carrier_id"),
    ]:
        assert fields_named(await api.get(url, params=params)) == [field]

    listed = (await ok(api.get(url, params={"carrier_id": UNUM, "page_size": 1})))["response"][0]
    single = await ok(api.get(f"/api/v1/plans/{listed['id']}"))
    assert single == {"plan": listed}
    assert {"name", "plan_configuration", "waiting_periods"} <= single["plan"].keys()
    assert (await api.get(f"/api/v1/plans/{uuid.uuid4()}")).status_code == 404


async def test_an_accounts_records_are_stored_a_kind_at_a_time_not_a_row_at_a_time(
    api: httpx.AsyncClient, database: Database
) -> None:
    """A new connection's account (every location, contact, enrollment and plan, each with its
    first version in the history) goes in a statement or two per kind, whatever its size: a
    flush per record was two round trips each."""
    group = await new_group(api)
    data = account()
    assert len(data["plans"]) > 1
    with statements_sent(database) as sent:
        await store(database, group["id"], data)
    inserts = [s.split(" (")[0] for s, _ in sent if s.startswith("INSERT INTO")]
    assert inserts.count("INSERT INTO plans") == 1
    # One per kind stored (the configuration, locations, contacts, enrollments and plans), and
    # one for the group, whose blanks the carrier's profile fills.
    assert inserts.count("INSERT INTO record_versions") <= 6
    async with database.transaction() as session:
        versions = await session.scalar(
            text(
                "SELECT count(*) FROM record_versions v JOIN plans p ON p.id = v.record_id "
                "WHERE v.record_type = 'plans' AND p.group_id = :group_id"
            ),
            {"group_id": group["id"]},
        )
    assert versions == len(data["plans"])  # each plan's first version, kept as history
    plans = await ok(api.get(f"/api/v1/groups/{group['id']}/plans"))
    assert plans["meta"]["total_records"] == len(data["plans"])


async def test_effective_date_reads_the_versions_of_that_day(
    api: httpx.AsyncClient, database: Database
) -> None:
    """Versions stored 3 days ago (backdated) and changed today read back by date."""
    group = await seeded_group(api, database)
    await backdate(database, group["id"], days=3)
    changed = copy.deepcopy(account())
    changed["plans"][0]["status"] = "discontinued"
    changed["plans"][0]["name"] = "Renamed Plan"
    changed["group_enrollments"][0]["status"] = "completed"
    await store(database, group["id"], changed)

    plans_url = f"/api/v1/groups/{group['id']}/plans"
    enrollments_url = f"/api/v1/groups/{group['id']}/group_enrollments"
    then, before = {"effective_date": days_ago(2)}, {"effective_date": days_ago(4)}

    now = await ok(api.get(plans_url, params={"status": "discontinued"}))
    assert [p["name"] for p in now["response"]] == ["Renamed Plan"]
    plan = now["response"][0]
    old = await ok(api.get(plans_url, params={**then, "status": "discontinued"}))
    assert old["meta"]["total_records"] == 0  # filters match the version of that day
    old_active = await ok(api.get(plans_url, params={**then, "status": "active"}))
    assert old_active["meta"]["total_records"] == len(changed["plans"])
    old_plan = next(p for p in old_active["response"] if p["id"] == plan["id"])
    assert old_plan["name"] == account()["plans"][0]["name"]
    assert old_plan["version"] != plan["version"]
    assert await ok(api.get(f"/api/v1/plans/{plan['id']}", params=then)) == {"plan": old_plan}
    assert (await ok(api.get(f"/api/v1/plans/{plan['id']}")))["plan"] == plan

    completed = await ok(api.get(enrollments_url, params={"status": "completed"}))
    enrollment = completed["response"][0]
    assert (await ok(api.get(enrollments_url, params={**then, "status": "completed"})))[
        "response"
    ] == []
    old_enrollment = await ok(api.get(f"/api/v1/group_enrollments/{enrollment['id']}", params=then))
    assert old_enrollment["status"] == "active"
    old_plans = await ok(
        api.get(f"/api/v1/group_enrollments/{enrollment['id']}/plans", params=then)
    )
    assert plan["id"] in {p["id"] for p in old_plans}
    assert {p["status"] for p in old_plans} == {"active"}
    configurations = await ok(
        api.get(f"/api/v1/groups/{group['id']}/carrier_configurations", params=then)
    )
    assert len(configurations) == 1

    # Not yet born on that day: absent from lists, 404 on single reads.
    assert (await ok(api.get(plans_url, params=before)))["meta"]["total_records"] == 0
    assert (await ok(api.get(enrollments_url, params=before)))["response"] == []
    assert (
        await ok(api.get(f"/api/v1/groups/{group['id']}/carrier_configurations", params=before))
    ) == []
    assert (await api.get(f"/api/v1/plans/{plan['id']}", params=before)).status_code == 404
    for path in (
        f"/api/v1/group_enrollments/{enrollment['id']}",
        f"/api/v1/group_enrollments/{enrollment['id']}/plans",
    ):
        assert (await api.get(path, params=before)).status_code == 404

    for bad in ("yesterday", "2024-02-30", "2024-2-3", "20240203"):
        assert fields_named(await api.get(plans_url, params={"effective_date": bad})) == [
            "effective_date"
        ]


# Tenancy.


async def test_another_organizations_group_data_is_404_everywhere(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, database: Database
) -> None:
    group = await seeded_group(api, database)
    gid = group["id"]
    contact = (await ok(api.get(f"/api/v1/groups/{gid}/contacts")))["response"][0]
    location = (await ok(api.get(f"/api/v1/groups/{gid}/locations")))["response"][0]
    enrollment = (await ok(api.get(f"/api/v1/groups/{gid}/group_enrollments")))["response"][0]
    plan = (await ok(api.get(f"/api/v1/groups/{gid}/plans")))["response"][0]

    reads = [
        f"/api/v1/groups/{gid}",
        f"/api/v1/groups/{gid}/contacts",
        f"/api/v1/groups/{gid}/contacts/{contact['id']}",
        f"/api/v1/groups/{gid}/locations",
        f"/api/v1/groups/{gid}/locations/{location['id']}",
        f"/api/v1/groups/{gid}/carrier_configurations",
        f"/api/v1/groups/{gid}/group_enrollments",
        f"/api/v1/groups/{gid}/plans",
        f"/api/v1/group_enrollments/{enrollment['id']}",
        f"/api/v1/group_enrollments/{enrollment['id']}/plans",
        f"/api/v1/plans/{plan['id']}",
    ]
    for path in reads:
        assert (await api.get(path)).status_code == 200, path
        response = await other_api.get(path)
        assert response.status_code == 404, path
        assert response.json() == {
            "message": response.json()["message"],
            "status": 404,
            "request_id": response.headers["X-Request-ID"],
        }
    writes = [
        other_api.put(f"/api/v1/groups/{gid}/{group['version']}", json={"name": "Stolen"}),
        other_api.post(f"/api/v1/groups/{gid}/contacts", json=NEW_CONTACT),
        other_api.put(
            f"/api/v1/groups/{gid}/contacts/{contact['id']}/{contact['version']}",
            json={"title": "Stolen"},
        ),
    ]
    for write in writes:
        assert (await write).status_code == 404
    listed = await ok(other_api.get("/api/v1/groups", params={"group_ids": gid}))
    assert listed["meta"]["total_records"] == 0
    assert (await ok(api.get(f"/api/v1/groups/{gid}")))["name"] == group["name"]


async def test_unknown_records_are_404_and_malformed_ids_422(api: httpx.AsyncClient) -> None:
    group = await new_group(api)
    unknown = uuid.uuid4()
    for path in (
        f"/api/v1/groups/{unknown}",
        f"/api/v1/groups/{unknown}/plans",
        f"/api/v1/groups/{group['id']}/contacts/{unknown}",
        f"/api/v1/group_enrollments/{unknown}/plans",
    ):
        assert (await api.get(path)).status_code == 404, path
    for path in ("/api/v1/groups/nope", "/api/v1/plans/nope", "/api/v1/group_enrollments/nope"):
        assert (await api.get(path)).status_code == 422, path
