"""The sandbox carriers' next plan years: the day-of-month scripts and `renewal_plan` changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.app import SandboxConfig, create_app
from sandbox.carriers import PRINCIPAL
from sandbox.generator import generate_account
from sandbox.renewals import INSTALL_DELAY, renewal_plans

Json = dict[str, Any]
GROUP = "2345678"
PLANS = f"/principal/groups/{GROUP}/plans"
CHANGES = f"/_sandbox/principal/groups/{GROUP}/changes"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SandboxConfig())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as http:
        yield http


def active_plans() -> list[Json]:
    return [p for p in generate_account("principal", GROUP)["plans"] if p["status"] == "active"]


async def plans_on(client: httpx.AsyncClient, day: date) -> Json:
    response = await client.get(PLANS, params={"as_of": day.isoformat()})
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def test_day_one_renews_every_active_plan_under_its_id_and_name(
    client: httpx.AsyncClient,
) -> None:
    year = await plans_on(client, date(2027, 1, 1))
    assert {(p["carrier_plan_id"], p["name"]) for p in year["plans"]} == {
        (p["carrier_plan_id"], p["name"]) for p in active_plans()
    }
    assert {p["effective_start_date"] for p in year["plans"]} == {"2027-01-01"}
    enrollment = year["group_enrollments"][0]
    assert enrollment["open_enrollment_start_date"] == "2026-12-02"
    assert enrollment["open_enrollment_end_date"] == "2026-12-31"
    assert enrollment["open_enrollment_renewal_date"] == "2027-01-01"


async def test_the_other_scripts(client: httpx.AsyncClient) -> None:
    lines = sorted({p["line_of_coverage"] for p in active_plans()})
    missing = await plans_on(client, date(2027, 1, 3))
    assert lines[0] not in {p["line_of_coverage"] for p in missing["plans"]}
    renamed = await plans_on(client, date(2027, 1, 4))
    assert renamed["plans"][0]["name"].endswith(" Renewed")
    assert (await plans_on(client, date(2027, 1, 5)))["plans"] == []


def test_day_two_installs_only_after_a_delay() -> None:
    account = generate_account("principal", GROUP)
    asked = datetime(2026, 12, 1, tzinfo=UTC)

    def installed(now: datetime) -> int:
        year = renewal_plans(PRINCIPAL, account, [], date(2027, 1, 2), first_asked=asked, now=now)
        return len(year["plans"])

    assert installed(asked) == 0
    assert installed(asked + INSTALL_DELAY + timedelta(seconds=1)) == len(active_plans())


async def test_renewal_plan_changes_install_rename_and_remove(client: httpx.AsyncClient) -> None:
    plan_id = active_plans()[0]["carrier_plan_id"]

    async def change(**body: Any) -> httpx.Response:
        return await client.post(
            CHANGES, json={"kind": "renewal_plan", "renewal_date": "2027-01-05", **body}
        )

    assert (await change(action="install", carrier_plan_id=plan_id)).status_code == 200
    assert (await change(action="rename", carrier_plan_id=plan_id, name="Dental 2027")).is_success
    new = await change(action="install", line_of_coverage="dental", name="Dental Extra")
    assert new.status_code == 200
    year = await plans_on(client, date(2027, 1, 5))
    assert sorted(p["name"] for p in year["plans"]) == ["Dental 2027", "Dental Extra"]
    assert (await change(action="remove", carrier_plan_id=plan_id)).status_code == 200
    assert [p["name"] for p in (await plans_on(client, date(2027, 1, 5)))["plans"]] == [
        "Dental Extra"
    ]
    # Refused, and not logged: a plan not installed, a twice-installed one, an unknown one.
    assert (await change(action="remove", carrier_plan_id=plan_id)).status_code == 422
    assert (await change(action="install", carrier_plan_id="nope")).status_code == 422
    # Other renewal dates are untouched.
    assert len((await plans_on(client, date(2027, 2, 1)))["plans"]) == len(active_plans())


async def test_unum_open_enrollment_never_closes(client: httpx.AsyncClient) -> None:
    response = await client.get("/unum/groups/12345678/plans", params={"as_of": "2027-01-01"})
    assert {e["open_enrollment_end_date"] for e in response.json()["group_enrollments"]} == {
        "9999-12-31"
    }
    account = (await client.get("/unum/groups/12345678/account")).json()
    assert {e["open_enrollment_end_date"] for e in account["group_enrollments"]} == {"9999-12-31"}
