"""Reads of member snapshots, member transactions and employee status over HTTP.

Real PostgreSQL; no Temporal worker: members, snapshots and transactions are stored directly, as
the snapshot workflow would have left them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from carriers import principal, unum
from store.db import Database
from store.models import Member, MemberSnapshot, MemberTransaction
from store.tenancy import organization_for_token
from tests.integration.reads.conftest import assert_422, at, listed

pytestmark = pytest.mark.integration

PRINCIPAL = principal.INFO.id
UNUM = unum.INFO.id
SNAPSHOTS = "/api/v1/member_snapshots"
TRANSACTIONS = "/api/v1/member_transactions"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


async def org_of(database: Database, http: httpx.AsyncClient) -> uuid.UUID:
    token = http.headers["Authorization"].removeprefix("Bearer ")
    async with database.transaction() as session:
        found = await organization_for_token(session, token)
    assert found is not None
    return found


# Seeding: rows as the snapshot workflow stores them.


class Seed:
    """Stores one organization's members, snapshots and transactions."""

    def __init__(self, database: Database, http: httpx.AsyncClient, organization_id: uuid.UUID):
        self.database = database
        self.http = http
        self.organization_id = organization_id

    @classmethod
    async def of(cls, database: Database, http: httpx.AsyncClient) -> Seed:
        return cls(database, http, await org_of(database, http))

    async def group(self, name: str = "Acme Corp") -> uuid.UUID:
        response = await self.http.post("/api/v1/groups", json={"name": name})
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])

    async def employee(self, group_id: uuid.UUID) -> uuid.UUID:
        employee_id = uuid.uuid4()
        async with self.database.transaction() as session:
            session.add(
                Member(
                    id=employee_id,
                    organization_id=self.organization_id,
                    group_id=group_id,
                    employee_id=employee_id,
                    individual_type="employee",
                    custom_individual_id=f"emp-{employee_id.hex[:8]}",
                )
            )
        return employee_id

    async def dependent(self, group_id: uuid.UUID, employee_id: uuid.UUID) -> uuid.UUID:
        dependent_id = uuid.uuid4()
        async with self.database.transaction() as session:
            session.add(
                Member(
                    id=dependent_id,
                    organization_id=self.organization_id,
                    group_id=group_id,
                    employee_id=employee_id,
                    individual_type="dependent",
                    custom_individual_id=f"dep-{dependent_id.hex[:8]}",
                )
            )
        return dependent_id

    async def snapshot(
        self,
        group_id: uuid.UUID,
        employee_id: uuid.UUID,
        *,
        created: int,
        status: str = "completed",
        summary: Sequence[tuple[uuid.UUID, str]] = (),
        modified: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> str:
        snapshot_id = uuid.uuid4()
        payload = payload or {"snapshot_mode": "current_open", "employee": {"id": str(employee_id)}}
        async with self.database.transaction() as session:
            session.add(
                MemberSnapshot(
                    id=snapshot_id,
                    organization_id=self.organization_id,
                    group_id=group_id,
                    employee_id=employee_id,
                    status=status,
                    replaced_by=None,
                    inbound_snapshot=json.dumps(payload),
                    member_snapshot=payload,
                    carrier_members={},
                    created_members=[],
                    warnings=[],
                    fulfillment_summary=[
                        {"carrier_id": str(carrier), "status": state, "errors": []}
                        for carrier, state in summary
                    ],
                    workflow_id=f"member-snapshot-{snapshot_id}",
                    created=created,
                    modified=created if modified is None else modified,
                )
            )
        return str(snapshot_id)

    async def transaction(
        self,
        group_id: uuid.UUID,
        employee_id: uuid.UUID,
        snapshot_id: str,
        *,
        created: int,
        carrier_id: uuid.UUID = PRINCIPAL,
        status: str = "completed",
        details: list[tuple[str, int]] | None = None,
        transaction_type: str = "carrier_new_hire",
    ) -> str:
        transaction_id = uuid.uuid4()
        details = details or [("noyo_accepted", created)]
        async with self.database.transaction() as session:
            session.add(
                MemberTransaction(
                    id=transaction_id,
                    organization_id=self.organization_id,
                    group_id=group_id,
                    employee_id=employee_id,
                    member_snapshot_id=uuid.UUID(snapshot_id),
                    carrier_id=carrier_id,
                    lines_of_coverage=["dental"],
                    transaction_type=transaction_type,
                    status=status,
                    body={"changes": [{"kind": "new_member"}]},
                    result={},
                    status_details=[
                        {"status_detail": detail, "event_created": when} for detail, when in details
                    ],
                    verified=None,
                    created=created,
                    modified=created,
                )
            )
        return str(transaction_id)


@pytest.fixture
async def seed(database: Database, api: httpx.AsyncClient) -> Seed:
    return await Seed.of(database, api)


# --- snapshot lists ---------------------------------------------------------------------------


async def test_snapshot_list_is_a_page_of_summaries_newest_first(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    ids = [await seed.snapshot(group, employee, created=1_700_000_000 + i) for i in range(5)]

    response = await api.get(SNAPSHOTS, params={"page_size": 2, "offset": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"] == {"offset": 2, "page_num": 2, "page_size": 2, "total_records": 5}
    assert [e["id"] for e in body["response"]] == [ids[2], ids[1]]
    entry = body["response"][0]
    assert set(entry) == {
        "id",
        "version",
        "created",
        "modified",
        "employee_id",
        "group_id",
        "status",
        "fulfillment_summary",
    }
    assert entry["employee_id"] == str(employee)
    assert entry["created"] == 1_700_000_002

    assert await listed(api, SNAPSHOTS) == ids[::-1]
    default = (await api.get(SNAPSHOTS)).json()["meta"]
    assert default == {"offset": 0, "page_num": 1, "page_size": 20, "total_records": 5}


async def test_snapshot_list_sorts_by_created_or_modified_either_way(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    first = await seed.snapshot(group, employee, created=1_700_000_000, modified=1_700_000_900)
    second = await seed.snapshot(group, employee, created=1_700_000_100, modified=1_700_000_200)

    assert await listed(api, SNAPSHOTS, sort_direction="asc") == [first, second]
    assert await listed(api, SNAPSHOTS, sort_by="modified") == [first, second]
    assert await listed(api, SNAPSHOTS, sort_by="modified", sort_direction="asc") == [
        second,
        first,
    ]
    assert_422(await api.get(SNAPSHOTS, params={"sort_by": "status"}), "sort_by")
    assert_422(await api.get(SNAPSHOTS, params={"sort_direction": "up"}), "sort_direction")


async def test_snapshot_list_filters_status_id_employee_and_group(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    group, other_group = await seed.group(), await seed.group("Other Co")
    alice, bob = await seed.employee(group), await seed.employee(other_group)
    done = await seed.snapshot(group, alice, created=1_700_000_000, status="completed")
    replaced = await seed.snapshot(group, alice, created=1_700_000_100, status="replaced")
    processing = await seed.snapshot(other_group, bob, created=1_700_000_200, status="processing")

    assert await listed(api, SNAPSHOTS, status="completed,processing") == [processing, done]
    assert await listed(api, SNAPSHOTS, status="canceled") == []
    assert await listed(api, SNAPSHOTS, id=f"{done},{processing}") == [processing, done]
    assert await listed(api, SNAPSHOTS, employee_id=str(alice)) == [replaced, done]
    assert await listed(api, SNAPSHOTS, group_id=str(other_group)) == [processing]
    assert await listed(api, SNAPSHOTS, group_id=str(group), status="replaced") == [replaced]
    assert await listed(api, SNAPSHOTS, employee_id=UNKNOWN) == []


async def test_snapshot_list_filters_the_fulfillment_summary_on_one_element(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    both = await seed.snapshot(
        group, employee, created=1_700_000_000, summary=[(PRINCIPAL, "sent"), (UNUM, "invalid")]
    )
    unum_only = await seed.snapshot(
        group, employee, created=1_700_000_100, summary=[(UNUM, "sent")]
    )
    none = await seed.snapshot(group, employee, created=1_700_000_200)

    assert await listed(api, SNAPSHOTS) == [none, unum_only, both]
    assert await listed(api, SNAPSHOTS, fulfillment_summary_carrier_id=str(PRINCIPAL)) == [both]
    assert await listed(api, SNAPSHOTS, fulfillment_summary_carrier_id=f"{PRINCIPAL},{UNUM}") == [
        unum_only,
        both,
    ]
    assert await listed(api, SNAPSHOTS, fulfillment_summary_status="sent") == [unum_only, both]
    assert await listed(api, SNAPSHOTS, fulfillment_summary_status="invalid,no_changes") == [both]
    # Both given: the same carrier's entry must have the status.
    principal_in = {"fulfillment_summary_carrier_id": str(PRINCIPAL)}
    assert await listed(api, SNAPSHOTS, **principal_in, fulfillment_summary_status="sent") == [both]
    assert await listed(api, SNAPSHOTS, **principal_in, fulfillment_summary_status="invalid") == []
    assert await listed(
        api,
        SNAPSHOTS,
        fulfillment_summary_carrier_id=str(UNUM),
        fulfillment_summary_status="sent",
    ) == [unum_only]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "completed,failed"),
        ("id", "not-a-uuid"),
        ("fulfillment_summary_carrier_id", f"{PRINCIPAL},nope"),
        ("fulfillment_summary_status", "sent,delivered"),
        ("employee_id", "nope"),
        ("group_id", "nope"),
        ("page_size", "0"),
    ],
)
async def test_snapshot_list_refuses_bad_filters_naming_them(
    api: httpx.AsyncClient, field: str, value: str
) -> None:
    assert_422(await api.get(SNAPSHOTS, params={field: value}), field)


async def test_another_organizations_snapshots_are_absent_and_404(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, seed: Seed, database: Database
) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    mine = await seed.snapshot(group, employee, created=1_700_000_000)
    theirs_seed = await Seed.of(database, other_api)
    their_group = await theirs_seed.group()
    theirs = await theirs_seed.snapshot(
        their_group, await theirs_seed.employee(their_group), created=1_700_000_000
    )

    assert await listed(api, SNAPSHOTS) == [mine]
    assert await listed(other_api, SNAPSHOTS) == [theirs]
    assert await listed(api, SNAPSHOTS, id=theirs) == []
    assert await listed(api, SNAPSHOTS, group_id=str(their_group)) == []
    response = await api.get(f"{SNAPSHOTS}/{theirs}")
    assert response.status_code == 404
    assert response.json() == {
        "message": "member snapshot not found",
        "status": 404,
        "request_id": response.headers["X-Request-ID"],
    }
    assert (await api.get(f"{SNAPSHOTS}/{UNKNOWN}")).status_code == 404
    assert (await api.get(f"/api/v1/groups/{their_group}/member_snapshots")).status_code == 404


async def test_one_snapshot_is_the_whole_record(api: httpx.AsyncClient, seed: Seed) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    snapshot_id = await seed.snapshot(
        group, employee, created=1_700_000_000, summary=[(PRINCIPAL, "sent")]
    )

    response = await api.get(f"{SNAPSHOTS}/{snapshot_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == snapshot_id
    assert body["employee_id"] == str(employee)
    assert body["status"] == "completed"
    assert body["replaced_by"] is None
    assert body["member_snapshot"]["snapshot_mode"] == "current_open"
    assert json.loads(body["inbound_snapshot"]) == body["member_snapshot"]
    assert body["created_members"] == []
    assert body["warnings"] == []
    assert body["fulfillment_summary"] == [
        {"carrier_id": str(PRINCIPAL), "status": "sent", "errors": []}
    ]
    assert "carrier_members" not in body
    assert (await api.get(f"{SNAPSHOTS}/not-a-uuid")).status_code == 422


async def test_group_snapshot_list_is_the_groups_own(api: httpx.AsyncClient, seed: Seed) -> None:
    group, other_group = await seed.group(), await seed.group("Other Co")
    alice, bob = await seed.employee(group), await seed.employee(group)
    a1 = await seed.snapshot(group, alice, created=1_700_000_000, status="completed")
    b1 = await seed.snapshot(group, bob, created=1_700_000_100, status="processing")
    await seed.snapshot(other_group, await seed.employee(other_group), created=1_700_000_200)
    path = f"/api/v1/groups/{group}/member_snapshots"

    response = await api.get(path, params={"page_size": 1})
    assert response.status_code == 200, response.text
    assert response.json()["meta"] == {
        "offset": 0,
        "page_num": 1,
        "page_size": 1,
        "total_records": 2,
    }
    assert await listed(api, path) == [b1, a1]
    assert await listed(api, path, employee_id=str(alice)) == [a1]
    assert await listed(api, path, status="processing") == [b1]
    assert await listed(api, path, sort_direction="asc") == [a1, b1]
    assert_422(await api.get(path, params={"status": "bogus"}), "status")
    assert (await api.get(f"/api/v1/groups/{UNKNOWN}/member_snapshots")).status_code == 404


# --- employees --------------------------------------------------------------------------------


async def test_employee_snapshot_list(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    alice, bob = await seed.employee(group), await seed.employee(group)
    a1 = await seed.snapshot(group, alice, created=1_700_000_000, summary=[(UNUM, "sent")])
    a2 = await seed.snapshot(group, alice, created=1_700_000_100, status="processing")
    await seed.snapshot(group, bob, created=1_700_000_200)
    path = f"/api/v1/employees/{alice}/member_snapshots"

    response = await api.get(path)
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["total_records"] == 2
    assert await listed(api, path) == [a2, a1]
    assert await listed(api, path, sort_direction="asc") == [a1, a2]
    assert await listed(api, path, fulfillment_summary_status="sent") == [a1]
    assert await listed(api, path, status="processing") == [a2]
    assert_422(
        await api.get(path, params={"fulfillment_summary_status": "x"}),
        "fulfillment_summary_status",
    )

    dependent = await seed.dependent(group, alice)
    for unknown in (dependent, UNKNOWN):
        response = await api.get(f"/api/v1/employees/{unknown}/member_snapshots")
        assert response.status_code == 404
        assert response.json() == {
            "message": "employee not found",
            "status": 404,
            "request_id": response.headers["X-Request-ID"],
        }
    assert (await other_api.get(path)).status_code == 404


async def test_employee_member_snapshot_is_the_newest_one_still_pursued(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    path = f"/api/v1/employees/{employee}/member_snapshot"

    response = await api.get(path)
    assert response.status_code == 404
    assert response.json() == {
        "message": "member snapshot not found",
        "status": 404,
        "request_id": response.headers["X-Request-ID"],
    }

    def payload(street: str) -> dict[str, Any]:
        return {
            "snapshot_mode": "current_open",
            "employee": {"id": str(employee), "person": {"home_address": {"street_one": street}}},
            "coverages": [],
        }

    await seed.snapshot(group, employee, created=1_700_000_000, payload=payload("1 Old Rd"))
    await seed.snapshot(
        group, employee, created=1_700_000_100, status="processing", payload=payload("2 New St")
    )
    for status in ("replaced", "canceled"):
        await seed.snapshot(
            group, employee, created=1_700_000_200, status=status, payload=payload("3 Gone Ln")
        )

    response = await api.get(path)
    assert response.status_code == 200, response.text
    assert response.json() == payload("2 New St")

    dependent = await seed.dependent(group, employee)
    response = await api.get(f"/api/v1/employees/{dependent}/member_snapshot")
    assert response.json() == {
        "message": "employee not found",
        "status": 404,
        "request_id": response.headers["X-Request-ID"],
    }
    assert (await other_api.get(path)).status_code == 404


async def test_employee_status_per_carrier(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    first = await seed.snapshot(group, employee, created=1_700_000_000)
    second = await seed.snapshot(group, employee, created=1_700_000_500, status="processing")
    # Principal: failed once, then completed: stable.
    await seed.transaction(group, employee, first, created=1_700_000_010, status="failed")
    await seed.transaction(group, employee, second, created=1_700_000_510, status="completed")
    # Unum: two changes still processing after a completed one.
    await seed.transaction(group, employee, first, created=1_700_000_020, carrier_id=UNUM)
    pending_1 = await seed.transaction(
        group, employee, first, created=1_700_000_030, carrier_id=UNUM, status="processing"
    )
    pending_2 = await seed.transaction(
        group, employee, second, created=1_700_000_520, carrier_id=UNUM, status="processing"
    )
    path = f"/api/v1/employees/{employee}/status"

    response = await api.get(path)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "carrier_statuses": [
            {
                "carrier_id": str(UNUM),
                "status": "pending_changes",
                "pending_changes": [pending_1, pending_2],
                "latest_platform_change": 1_700_000_500,
            },
            {
                "carrier_id": str(PRINCIPAL),
                "status": "stable",
                "pending_changes": [],
                "latest_platform_change": 1_700_000_500,
            },
        ]
    }
    assert str(UNUM) < str(PRINCIPAL)  # carriers come by id

    # The latest Principal transaction fails: unable to fulfill.
    third = await seed.snapshot(group, employee, created=1_700_001_000)
    await seed.transaction(group, employee, third, created=1_700_001_010, status="failed")
    statuses = (await api.get(path)).json()["carrier_statuses"]
    assert [(s["carrier_id"], s["status"]) for s in statuses] == [
        (str(UNUM), "pending_changes"),
        (str(PRINCIPAL), "unable_to_fulfill"),
    ]
    assert {s["latest_platform_change"] for s in statuses} == {1_700_001_000}

    assert (await other_api.get(path)).status_code == 404
    assert (await api.get(f"/api/v1/employees/{UNKNOWN}/status")).status_code == 404


async def test_employee_status_without_transactions_is_empty(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    response = await api.get(f"/api/v1/employees/{employee}/status")
    assert response.status_code == 200, response.text
    assert response.json() == {"carrier_statuses": []}
    dependent = await seed.dependent(group, employee)
    assert (await api.get(f"/api/v1/employees/{dependent}/status")).status_code == 404


# --- transactions -----------------------------------------------------------------------------


async def test_transaction_list_is_a_page_newest_first(api: httpx.AsyncClient, seed: Seed) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    snapshot = await seed.snapshot(group, employee, created=1_700_000_000)
    ids = [
        await seed.transaction(group, employee, snapshot, created=1_700_000_000 + i)
        for i in range(3)
    ]

    response = await api.get(TRANSACTIONS, params={"page_size": 2, "offset": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"] == {"offset": 2, "page_num": 2, "page_size": 2, "total_records": 3}
    assert [e["id"] for e in body["response"]] == [ids[0]]
    entry = body["response"][0]
    assert entry["member_snapshot_id"] == snapshot
    assert entry["employee_id"] == str(employee)
    assert entry["carrier_id"] == str(PRINCIPAL)
    assert entry["member_request_id"] is None
    assert entry["status_details"] == [
        {"status_detail": "noyo_accepted", "event_created": 1_700_000_000}
    ]
    assert {"transaction_type", "status", "body", "result", "verified", "version"} <= set(entry)
    assert await listed(api, TRANSACTIONS) == ids[::-1]


async def test_transaction_list_filters(api: httpx.AsyncClient, seed: Seed) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    snapshot = await seed.snapshot(group, employee, created=at("2024-01-10T00:00:00"))
    accepted = await seed.transaction(
        group,
        employee,
        snapshot,
        created=at("2024-01-10T00:00:00"),
        status="processing",
        details=[("noyo_accepted", at("2024-01-10T00:00:00"))],
    )
    completed = await seed.transaction(
        group,
        employee,
        snapshot,
        created=at("2024-01-11T23:59:59"),
        carrier_id=UNUM,
        transaction_type="carrier_demographic",
        details=[
            ("noyo_accepted", at("2024-01-11T23:59:59")),
            ("carrier_accepted", at("2024-01-12T08:00:00")),
            ("carrier_completed", at("2024-01-14T08:00:00")),
        ],
    )
    failed = await seed.transaction(
        group,
        employee,
        snapshot,
        created=at("2024-01-12T00:00:00"),
        status="failed",
        details=[
            ("noyo_accepted", at("2024-01-12T00:00:00")),
            ("carrier_failed", at("2024-01-13T00:00:00")),
        ],
    )

    async def only(**params: str) -> list[str]:
        return await listed(api, TRANSACTIONS, **params)

    assert await only() == [failed, completed, accepted]
    assert await only(ids=f"{accepted},{failed}") == [failed, accepted]
    assert await only(status_details="carrier_accepted,carrier_failed") == [failed, completed]
    assert await only(status_details="noyo_verified") == []
    assert await only(current_status_detail="noyo_accepted") == [accepted]
    assert await only(current_status_detail="carrier_completed,carrier_failed") == [
        failed,
        completed,
    ]
    # Reached carrier_accepted earlier, but it is not the current one.
    assert await only(current_status_detail="carrier_accepted") == []
    assert await only(carrier_ids=str(UNUM)) == [completed]
    assert await only(carrier_ids=f"{UNUM},{PRINCIPAL}") == [failed, completed, accepted]
    assert await only(transaction_type="carrier_demographic") == [completed]
    assert await only(transaction_type="carrier_new_hire,carrier_termination") == [
        failed,
        accepted,
    ]
    # Created: whole UTC days, both ends included.
    assert await only(transaction_min_date="2024-01-11") == [failed, completed]
    assert await only(transaction_max_date="2024-01-11") == [completed, accepted]
    assert await only(transaction_min_date="2024-01-11", transaction_max_date="2024-01-11") == [
        completed
    ]
    assert await only(transaction_min_date="2024-01-13") == []
    # Any status detail's event_created within the days.
    assert await only(status_detail_min_date="2024-01-13") == [failed, completed]
    assert await only(status_detail_max_date="2024-01-10") == [accepted]
    assert await only(status_detail_min_date="2024-01-13", status_detail_max_date="2024-01-13") == [
        failed
    ]
    # With status_details: that detail, within those days.
    assert await only(status_details="carrier_completed", status_detail_min_date="2024-01-14") == [
        completed
    ]
    assert await only(status_details="noyo_accepted", status_detail_min_date="2024-01-13") == []
    assert await only(status_details="noyo_accepted", status_detail_min_date="2024-01-11") == [
        failed,
        completed,
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ids", "nope"),
        ("status_details", "noyo_accepted,lost"),
        ("current_status_detail", "done"),
        ("carrier_ids", "nope"),
        ("transaction_type", "carrier_new_hire,carrier_everything"),
        ("transaction_min_date", "2024-13-01"),
        ("transaction_max_date", "yesterday"),
        ("status_detail_min_date", "2024-1-1"),
        ("status_detail_max_date", "2024/01/01"),
        ("offset", "-1"),
    ],
)
async def test_transaction_list_refuses_bad_filters_naming_them(
    api: httpx.AsyncClient, field: str, value: str
) -> None:
    assert_422(await api.get(TRANSACTIONS, params={field: value}), field)


async def test_one_transaction_and_its_status_details(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    employee = await seed.employee(group)
    snapshot = await seed.snapshot(group, employee, created=1_700_000_000)
    details = [
        ("noyo_accepted", 1_700_000_000),
        ("carrier_accepted", 1_700_000_100),
        ("carrier_processing", 1_700_000_200),
        ("carrier_completed", 1_700_000_300),
        ("noyo_verified", 1_700_000_400),
    ]
    transaction_id = await seed.transaction(
        group, employee, snapshot, created=1_700_000_000, details=details
    )
    path = f"{TRANSACTIONS}/{transaction_id}"

    response = await api.get(path)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == transaction_id
    assert len(response.json()["status_details"]) == 5

    response = await api.get(f"{path}/status_details", params={"page_size": 2, "offset": 2})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "meta": {"offset": 2, "page_num": 2, "page_size": 2, "total_records": 5},
        "response": [
            {"status_detail": "carrier_processing", "event_created": 1_700_000_200},
            {"status_detail": "carrier_completed", "event_created": 1_700_000_300},
        ],
    }
    whole = (await api.get(f"{path}/status_details")).json()
    assert [d["status_detail"] for d in whole["response"]] == [d for d, _ in details]
    assert whole["meta"]["total_records"] == 5

    response = await api.get(f"{path}/status_details/latest")
    assert response.status_code == 200, response.text
    assert response.json() == {"status_detail": "noyo_verified", "event_created": 1_700_000_400}

    for suffix in ("", "/status_details", "/status_details/latest"):
        response = await other_api.get(f"{path}{suffix}")
        assert response.status_code == 404, suffix
        assert response.json() == {
            "message": "member transaction not found",
            "status": 404,
            "request_id": response.headers["X-Request-ID"],
        }
        assert (await api.get(f"{TRANSACTIONS}/{UNKNOWN}{suffix}")).status_code == 404
    assert await listed(other_api, TRANSACTIONS) == []
    assert await listed(other_api, TRANSACTIONS, ids=transaction_id) == []
