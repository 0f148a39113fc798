"""Censuses end to end: a group whose employees the carrier already holds connects, its members
are pulled and readable, and a first snapshot links to the member instead of hiring anew."""

from __future__ import annotations

import copy
import random
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from store.db import Database
from store.models import CarrierHolding
from tests.integration.test_audits import audited, connected
from tests.integration.test_connections import PRINCIPAL, UNUM, principal_id, reaches
from tests.integration.test_disconnections_api import other_org
from tests.integration.test_member_snapshots import settled, submitted, transactions_of
from tools.sample_snapshots import PlanChoice, new_hire, person, pick, plan_choices, unique_id

pytestmark = pytest.mark.integration

Json = dict[str, Any]
API = "/api/v1"

__all__ = ["other_org"]  # the second organization's client, as a fixture


def census_group_id(size: int) -> str:
    """A fresh-looking Principal group holding `size` employees (`sandbox.census`)."""
    assert size < 10_000
    return f"188{size:04d}"


async def census_of(
    sandbox: httpx.AsyncClient, carrier_group_id: str, *, carrier: str = "principal"
) -> list[Json]:
    body = (await sandbox.get(f"/{carrier}/groups/{carrier_group_id}/census")).json()
    return list(body["members"])


async def all_employees(api: httpx.AsyncClient, group_id: str, **params: Any) -> Json:
    response = await api.get(
        f"{API}/groups/{group_id}/employees", params={"page_size": 100, **params}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_group_with_a_census_connects_and_its_members_are_readable(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, database: Database
) -> None:
    carrier_group_id = census_group_id(random.randint(5, 9))
    census = await census_of(sandbox, carrier_group_id)
    group_id = await connected(api, PRINCIPAL, carrier_group_id)

    async with database.transaction() as session:
        rows = (
            await session.scalars(select(CarrierHolding).where(CarrierHolding.group_id == group_id))
        ).all()
    assert len(rows) == len(census)

    listed = await all_employees(api, group_id)
    assert listed["meta"]["total_records"] == len(census)
    by_id = {employee["id"]: employee for employee in listed["response"]}
    for held in census:
        employee = by_id[held["employee"]["id"]]
        assert employee["person"] == held["employee"]["person"]
        assert employee["custom_individual_id"] == held["custom_individual_id"]
        assert employee["status"] == "active"
        assert [c["carrier_id"] for c in employee["carriers"]] == [PRINCIPAL]
    # Filters: the platform id the carrier knows, and the status.
    known = next((h for h in census if h["custom_individual_id"]), None)
    if known is not None:
        found = await all_employees(
            api, group_id, custom_individual_id=known["custom_individual_id"]
        )
        assert [e["id"] for e in found["response"]] == [known["employee"]["id"]]
    assert (await all_employees(api, group_id, status="terminated"))["meta"]["total_records"] == 0
    assert (await all_employees(api, group_id, status="active"))["meta"]["total_records"] == len(
        census
    )

    # One employee, their dependents, and each one's coverages as the carrier holds them.
    held = max(census, key=lambda h: len(h["dependents"]))
    employee_id = held["employee"]["id"]
    one = (await api.get(f"{API}/employees/{employee_id}")).json()
    assert one == by_id[employee_id]
    dependents = (await api.get(f"{API}/employees/{employee_id}/dependents")).json()
    assert [d["id"] for d in dependents] == [d["id"] for d in held["dependents"]]
    for dependent, sent in zip(dependents, held["dependents"], strict=True):
        assert dependent["relationship"] == sent["relationship"]
        assert (await api.get(f"{API}/dependents/{dependent['id']}")).json() == dependent
    enrollments = (await api.get(f"{API}/employees/{employee_id}/individual_enrollments")).json()
    expected = {
        (coverage["line_of_coverage"], enrolled["effective_start_date"])
        for coverage in held["coverages"]
        for enrolled in coverage["enrolled_members"]
        if enrolled["individual_id"] == employee_id
    }
    assert {(e["line_of_coverage"], e["carrier_effective_date"]) for e in enrollments} == expected
    assert all(e["platform"] is None and e["carrier"] is not None for e in enrollments)
    if held["dependents"]:
        first = held["dependents"][0]["id"]
        theirs = (await api.get(f"{API}/dependents/{first}/individual_enrollments")).json()
        assert {e["individual_id"] for e in theirs} <= {first}

    # A dependent's id is no employee's, and the reverse.
    if held["dependents"]:
        assert (await api.get(f"{API}/employees/{held['dependents'][0]['id']}")).status_code == 404
    assert (await api.get(f"{API}/dependents/{employee_id}")).status_code == 404
    # Before the group connected, nobody was known.
    before = await all_employees(api, group_id, effective_date="2020-01-01")
    assert before["meta"]["total_records"] == 0


def _snapshot_for(
    held: Json, choices: list[PlanChoice], custom_id: str, engine_plan: dict[str, str]
) -> Json:
    """A snapshot for the census member `held`, as a platform that never sent them would
    write it: a new platform id, the same person (SSN, date of birth), their dental plan."""
    census_person = held["employee"]["person"]
    employee = person(
        census_person["first_name"],
        census_person["last_name"],
        born=census_person["date_of_birth"],
        sex=census_person["sex"],
        ssn=census_person["ssn"],
    )
    dental = next(c for c in held["coverages"] if c["line_of_coverage"] == "dental")
    choice = next(c for c in choices if c.plan_id == engine_plan[dental["carrier_plan_id"]])
    start = date.fromisoformat(dental["enrolled_members"][0]["effective_start_date"])
    body = new_hire(
        custom_id,
        [choice],
        employee=employee,
        hire_date=date.fromisoformat(
            held["employee"]["employment"]["employment_dates"]["hire_date"]
        ),
        start=start,
        event_reason="marriage",
        event_date=date(2026, 1, 10),
    )
    body["enable_member_auto_link"] = True
    return body


async def test_an_auto_linked_first_snapshot_changes_what_the_carrier_holds(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    carrier_group_id = census_group_id(random.randint(10, 30))
    census = await census_of(sandbox, carrier_group_id)
    group_id = await connected(api, PRINCIPAL, carrier_group_id)
    choices = await plan_choices(api, group_id)
    held = next(
        h
        for h in census
        if not h["dependents"] and any(c["line_of_coverage"] == "dental" for c in h["coverages"])
    )
    employee_id = held["employee"]["id"]
    custom_id = unique_id("linked")
    # The engine's plan for each carrier plan, as the employee's enrollments read show it.
    held_now = (await api.get(f"{API}/employees/{employee_id}/individual_enrollments")).json()
    engine_plan = {e["carrier_plan_id"]: e["plan_id"] for e in held_now}

    # Without auto-link, the same person is a new member.
    body = _snapshot_for(held, choices, custom_id, engine_plan)
    dry = copy.deepcopy(body)
    dry["enable_member_auto_link"] = False
    tried = await api.post(f"{API}/groups/{group_id}/member_snapshots/test", json=dry)
    assert tried.status_code == 200, tried.text
    assert tried.json()["employee_id"] is None

    snapshot = await submitted(api, group_id, body)
    assert snapshot["employee_id"] == employee_id
    assert snapshot["created_members"] == []
    done = await settled(api, snapshot["id"])
    assert done["status"] == "completed", done
    transactions = await transactions_of(api, employee_id)
    # A marriage changing what the carrier held (its other coverages are left out): a
    # qualifying life event against the census, not a new hire.
    types = [t["transaction_type"] for t in transactions]
    assert types
    assert all(t.startswith("carrier_qualifying_life_event") for t in types), types

    # The platform's id is kept: the next snapshot finds the member by it.
    employee = (await api.get(f"{API}/employees/{employee_id}")).json()
    assert employee["custom_individual_id"] == custom_id
    again = copy.deepcopy(body)
    again["enable_member_auto_link"] = False
    assert (await submitted(api, group_id, again))["employee_id"] == employee_id

    # Both sides of the dental coverage, and the carrier's date after an audit re-reads it.
    await audited(api, group_id, PRINCIPAL)
    enrollments = (await api.get(f"{API}/employees/{employee_id}/individual_enrollments")).json()
    dental = next(e for e in enrollments if e["line_of_coverage"] == "dental")
    assert dental["platform"] is not None
    assert dental["carrier"] is not None
    assert dental["carrier_effective_date"] == dental["carrier"]["effective_start_date"]


async def test_another_organization_finds_none_of_the_members(
    api: httpx.AsyncClient, other_org: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    carrier_group_id = census_group_id(random.randint(1, 4))
    census = await census_of(sandbox, carrier_group_id)
    group_id = await connected(api, PRINCIPAL, carrier_group_id)
    employee_id = (await all_employees(api, group_id))["response"][0]["id"]
    held = next(h for h in census if h["employee"]["id"] == employee_id)
    urls = [
        f"{API}/groups/{group_id}/employees",
        f"{API}/employees/{employee_id}",
        f"{API}/employees/{employee_id}/dependents",
        f"{API}/employees/{employee_id}/individual_enrollments",
        *(f"{API}/dependents/{d['id']}" for d in held["dependents"]),
        *(f"{API}/dependents/{d['id']}/individual_enrollments" for d in held["dependents"]),
    ]
    for url in urls:
        assert (await api.get(url)).status_code == 200, url
        assert (await other_org.get(url)).status_code == 404, url


async def test_connecting_compares_the_census_with_what_the_platform_sent(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    """A group already fulfilled at Principal connects to Unum, which holds some of its
    employees under the platform ids a former platform sent: each such employee is one member,
    and what Unum holds otherwise than the platform sent is a difference of source
    `connection`."""
    group_id = await connected(api, PRINCIPAL, principal_id())
    unum_group_id = f"188{random.randint(4, 12):05d}"
    census = await census_of(sandbox, unum_group_id, carrier="unum")
    held = next(h for h in census if h["custom_individual_id"])
    choices = await plan_choices(api, group_id)
    body = new_hire(
        held["custom_individual_id"],
        pick(choices, PRINCIPAL, "dental", "vision")[:1],
        employee=person("Renamed", "Differently", born="1979-05-05", sex="F"),
    )
    employee_id = (await submitted(api, group_id, body))["employee_id"]

    response = await api.post(
        f"{API}/groups/{group_id}/group_connections",
        json={"carrier_id": UNUM, "group_data": {"carrier_group_id": unum_group_id}},
    )
    assert response.status_code == 201, response.text
    await reaches(api, response.json()["id"], "completed")

    employees = await all_employees(api, group_id)
    # The census's other employees joined the platform's one; none of them twice.
    assert employees["meta"]["total_records"] == len(census)
    employee = (await api.get(f"{API}/employees/{employee_id}")).json()
    assert [c["carrier_id"] for c in employee["carriers"]] == [UNUM]
    assert employee["person"]["first_name"] == "Renamed"  # the platform's, over the carrier's

    listed = (
        await api.get(f"{API}/employees/{employee_id}/differences", params={"page_size": 100})
    ).json()["response"]
    # (Principal's round-trip checks of the snapshot may have found their own meanwhile.)
    at_unum = [d for d in listed if d["carrier_id"] == UNUM]
    assert at_unum, "the census differs from what the platform sent"
    assert "person_mismatch" in {d["difference_type"] for d in at_unum}
    for difference in at_unum:
        detail = (await api.get(f"{API}/differences/{difference['id']}")).json()
        assert [s["stage"] for s in detail["sources"]] == ["connection"]
