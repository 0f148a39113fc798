"""Renewal decisions through the REST API: API -> Temporal -> worker -> sandbox carriers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.renewals import add_months
from store.db import Database
from store.models import Plan, RenewalDecision
from store.tenancy import ensure_organization
from tests.harness import AppServer, eventually
from tests.integration.test_audits import connected
from tests.integration.test_connections import PRINCIPAL, UNUM, principal_id, unum_id
from tools.sample_snapshots import new_hire, plan_choices, unique_id

pytestmark = pytest.mark.integration

Json = dict[str, Any]


def today() -> date:
    return datetime.now(UTC).date()


def renewal_on(day_of_month: int) -> date:
    """The next renewal date with this day of month (the sandbox's script), 1 to 2 months out."""
    return add_months(today(), 1).replace(day=day_of_month)


async def group_plans(api: httpx.AsyncClient, group_id: str, carrier_id: str) -> list[Json]:
    async def listed() -> list[Json]:
        response = await api.get(f"/api/v1/groups/{group_id}/plans", params={"page_size": 1000})
        assert response.status_code == 200, response.text
        return [
            p
            for p in response.json()["response"]
            if p["carrier_id"] == carrier_id and p["status"] == "active"
        ]

    return list(await eventually(listed, within=20))


def decided(carrier_id: str, plan: Json, renewal: date, **line: Any) -> Json:
    """A body deciding one plan of one line, with an OE window of the month before renewal."""
    return {
        "carriers": [
            {
                "carrier_id": carrier_id,
                "lines_of_coverage": {
                    plan["line_of_coverage"]: {
                        "open_enrollment_start_date": (renewal - timedelta(days=30)).isoformat(),
                        "open_enrollment_end_date": (renewal - timedelta(days=1)).isoformat(),
                        "plans": [{"plan_id": plan["id"]}],
                        **line,
                    }
                },
            }
        ]
    }


async def submit(api: httpx.AsyncClient, group_id: str, renewal: date, body: Json) -> Json:
    response = await api.post(
        f"/api/v1/groups/{group_id}/renewal_decisions",
        json={"renewal_date": renewal.isoformat(), "body": body},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def settles(
    api: httpx.AsyncClient, decision_id: str, status: str, within: float = 15
) -> Json:
    async def check() -> Json | None:
        response = await api.get(f"/api/v1/renewal_decisions/{decision_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        return body if body["status"] == status else None

    return dict(await eventually(check, within=within))


async def change(sandbox: httpx.AsyncClient, slug: str, carrier_group_id: str, **body: Any) -> Json:
    response = await sandbox.post(
        f"/_sandbox/{slug}/groups/{carrier_group_id}/changes", json={"kind": "renewal_plan", **body}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def carrier_plan_id(database: Database, plan: Json) -> str:
    """The carrier's id of one of the group's plans (the API shows carrierlink's own)."""
    async with database.transaction() as session:
        row = await session.get(Plan, uuid.UUID(plan["id"]))
    assert row is not None
    return row.carrier_plan_id


async def test_day_one_is_ready_within_seconds_and_listed(api: httpx.AsyncClient) -> None:
    group_id = await connected(api, PRINCIPAL, principal_id())
    dental = [
        p for p in await group_plans(api, group_id, PRINCIPAL) if p["line_of_coverage"] == "dental"
    ]
    renewal = renewal_on(1)
    decision = await submit(api, group_id, renewal, decided(PRINCIPAL, dental[0], renewal))
    assert decision["status"] == "submitted"
    assert decision["issues"] == []
    assert decision["renewal_date"] == renewal.isoformat()
    assert decision["group_id"] == group_id
    ready = await settles(api, decision["id"], "ready")
    assert ready["issues"] == []
    assert ready["version"] != decision["version"]

    listed = await api.get(f"/api/v1/groups/{group_id}/renewal_decisions")
    assert listed.status_code == 200, listed.text
    assert [d["id"] for d in listed.json()["response"]] == [decision["id"]]
    assert listed.json()["meta"]["total_records"] == 1
    by_date = await api.get(
        f"/api/v1/groups/{group_id}/renewal_decisions",
        params={"renewal_date": (renewal + timedelta(days=1)).isoformat()},
    )
    assert by_date.json()["response"] == []
    everywhere = await api.get(
        "/api/v1/renewal_decisions", params={"status": "ready", "group_name": "acme"}
    )
    assert [d["id"] for d in everywhere.json()["response"]] == [decision["id"]]
    one = await api.get(f"/api/v1/groups/{group_id}/renewal_decisions/{decision['id']}")
    assert one.status_code == 200
    assert one.json()["status"] == "ready"


async def test_a_carrier_side_install_makes_it_ready_and_a_removal_not_ready_again(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, database: Database
) -> None:
    carrier_group_id = principal_id()
    group_id = await connected(api, PRINCIPAL, carrier_group_id)
    plan = (await group_plans(api, group_id, PRINCIPAL))[0]
    renewal = renewal_on(5)  # the sandbox installs nothing until told
    decision = await submit(api, group_id, renewal, decided(PRINCIPAL, plan, renewal))
    not_ready = await settles(api, decision["id"], "not_ready")
    (issue,) = not_ready["issues"]
    assert issue["level"] == "error"
    assert issue["carrier_id"] == PRINCIPAL
    assert issue["line_of_coverage"] == plan["line_of_coverage"]

    await change(
        sandbox,
        "principal",
        carrier_group_id,
        renewal_date=renewal.isoformat(),
        action="install",
        carrier_plan_id=await carrier_plan_id(database, plan),
    )
    assert (await settles(api, decision["id"], "ready"))["issues"] == []

    await change(
        sandbox,
        "principal",
        carrier_group_id,
        renewal_date=renewal.isoformat(),
        action="remove",
        carrier_plan_id=await carrier_plan_id(database, plan),
    )
    await settles(api, decision["id"], "not_ready")


async def test_an_edit_is_checked_at_once_and_a_stale_version_is_409(
    api: httpx.AsyncClient, database: Database
) -> None:
    group_id = await connected(api, PRINCIPAL, principal_id())
    plan = (await group_plans(api, group_id, PRINCIPAL))[0]
    renewal = renewal_on(5)
    decision = await submit(api, group_id, renewal, decided(PRINCIPAL, plan, renewal))
    not_ready = await settles(api, decision["id"], "not_ready")

    stale = await api.put(
        f"/api/v1/renewal_decisions/{decision['id']}/{decision['version']}",
        json={"renewal_date": renewal_on(1).isoformat()},
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["current_version"] == not_ready["version"]

    edited = await api.put(
        f"/api/v1/renewal_decisions/{decision['id']}/{not_ready['version']}",
        json={"renewal_date": renewal_on(1).isoformat()},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "submitted"
    assert edited.json()["renewal_date"] == renewal_on(1).isoformat()
    ready = await settles(api, decision["id"], "ready")

    # A done decision is no longer watched: edits are refused.
    async with database.transaction() as session:
        row = await session.get(RenewalDecision, uuid.UUID(decision["id"]))
        assert row is not None
        row.status = "done"
    late = await api.put(
        f"/api/v1/renewal_decisions/{decision['id']}/{ready['version']}",
        json={"renewal_date": renewal.isoformat()},
    )
    assert late.status_code == 409, late.text
    bogus = await api.get("/api/v1/renewal_decisions", params={"status": "bogus"})
    assert bogus.status_code == 422
    assert bogus.json()["errors"][0]["field"] == "status"


async def test_refusals_name_the_field(api: httpx.AsyncClient) -> None:
    group_id = await connected(api, PRINCIPAL, principal_id())
    plan = (await group_plans(api, group_id, PRINCIPAL))[0]
    renewal = renewal_on(1)
    line = plan["line_of_coverage"]
    at = f"body.carriers.0.lines_of_coverage.{line}"

    async def refused(renewal_date: date, body: Json) -> str:
        response = await api.post(
            f"/api/v1/groups/{group_id}/renewal_decisions",
            json={"renewal_date": renewal_date.isoformat(), "body": body},
        )
        assert response.status_code == 422, response.text
        return str(response.json()["errors"][0]["field"])

    body = decided(PRINCIPAL, plan, renewal)
    assert await refused(today() - timedelta(days=31), body) == "renewal_date"
    assert await refused(add_months(today(), 6) + timedelta(days=1), body) == "renewal_date"
    assert await refused(renewal, decided(UNUM, plan, renewal)) == "body.carriers.0.carrier_id"
    medical = {
        "carriers": [
            {
                "carrier_id": PRINCIPAL,
                "lines_of_coverage": {"medical": body["carriers"][0]["lines_of_coverage"][line]},
            }
        ]
    }
    assert await refused(renewal, medical) == "body.carriers.0.lines_of_coverage.medical"
    unknown_plan = decided(PRINCIPAL, {**plan, "id": str(uuid.uuid4())}, renewal)
    assert await refused(renewal, unknown_plan) == f"{at}.plans.0.plan_id"
    backwards = decided(
        PRINCIPAL,
        plan,
        renewal,
        open_enrollment_start_date=renewal.isoformat(),
        open_enrollment_end_date=(renewal - timedelta(days=5)).isoformat(),
    )
    assert await refused(renewal, backwards) == f"{at}.open_enrollment_end_date"
    assert await refused(renewal, {"carriers": []}) == "body.carriers"
    assert await refused(renewal, decided(PRINCIPAL, plan, renewal, plans=[])) == f"{at}.plans"

    first = await submit(api, group_id, renewal, body)
    twin = await api.post(
        f"/api/v1/groups/{group_id}/renewal_decisions",
        json={"renewal_date": renewal.isoformat(), "body": body},
    )
    assert twin.status_code == 409, twin.text
    assert twin.json()["existing_id"] == first["id"]


async def test_another_organization_sees_404(
    api: httpx.AsyncClient, api_server: AppServer, database: Database
) -> None:
    group_id = await connected(api, PRINCIPAL, principal_id())
    plan = (await group_plans(api, group_id, PRINCIPAL))[0]
    renewal = renewal_on(1)
    decision = await submit(api, group_id, renewal, decided(PRINCIPAL, plan, renewal))
    async with database.transaction() as session:
        _, token = await ensure_organization(session, f"org-{uuid.uuid4().hex[:10]}")
    async with httpx.AsyncClient(
        base_url=api_server.url, headers={"Authorization": f"Bearer {token}"}
    ) as other:
        assert (await other.get(f"/api/v1/renewal_decisions/{decision['id']}")).status_code == 404
        url = f"/api/v1/groups/{group_id}/renewal_decisions"
        assert (await other.get(url)).status_code == 404
        assert (await other.get(f"{url}/{decision['id']}")).status_code == 404
        put = await other.put(
            f"/api/v1/renewal_decisions/{decision['id']}/{decision['version']}", json={}
        )
        assert put.status_code == 404
        assert (await other.get("/api/v1/renewal_decisions")).json()["response"] == []
        posted = await other.post(
            url,
            json={"renewal_date": renewal.isoformat(), "body": decided(PRINCIPAL, plan, renewal)},
        )
        assert posted.status_code == 404


async def test_open_enrollment_elections_wait_for_a_ready_decision(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, database: Database
) -> None:
    carrier_group_id = principal_id()
    group_id = await connected(api, PRINCIPAL, carrier_group_id)
    await group_plans(api, group_id, PRINCIPAL)
    choice = next(c for c in await plan_choices(api, group_id) if c.carrier_id == PRINCIPAL)
    renewal = renewal_on(5)
    plan = {"id": choice.plan_id, "line_of_coverage": choice.line_of_coverage}
    decision = await submit(api, group_id, renewal, decided(PRINCIPAL, plan, renewal))
    await settles(api, decision["id"], "not_ready")

    def election() -> Json:
        return new_hire(
            unique_id(),
            [choice],
            event_reason="open_enrollment",
            event_date=today(),
            start=renewal,
        )

    refused = await api.post(f"/api/v1/groups/{group_id}/member_snapshots", json=election())
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "coverages.0"
    assert decision["id"] in refused.json()["errors"][0]["message"]

    # Elections for the current plan year are not held back.
    current = new_hire(
        unique_id(), [choice], event_reason="open_enrollment", event_date=today(), start=today()
    )
    response = await api.post(f"/api/v1/groups/{group_id}/member_snapshots", json=current)
    assert response.status_code == 201, response.text

    listed = await api.get(f"/api/v1/groups/{group_id}/plans", params={"page_size": 1000})
    held = next(p for p in listed.json()["response"] if p["id"] == choice.plan_id)
    await change(
        sandbox,
        "principal",
        carrier_group_id,
        renewal_date=renewal.isoformat(),
        action="install",
        carrier_plan_id=await carrier_plan_id(database, held),
    )
    await settles(api, decision["id"], "ready")
    accepted = await api.post(f"/api/v1/groups/{group_id}/member_snapshots", json=election())
    assert accepted.status_code == 201, accepted.text


async def test_unum_open_enrollment_never_closes_and_day_one_is_ready(
    api: httpx.AsyncClient,
) -> None:
    group_id = await connected(api, UNUM, unum_id())
    enrollments = await api.get(f"/api/v1/groups/{group_id}/group_enrollments")
    assert enrollments.status_code == 200, enrollments.text
    assert {e["open_enrollment_end_date"] for e in enrollments.json()["response"]} == {"9999-12-31"}
    plan = (await group_plans(api, group_id, UNUM))[0]
    renewal = renewal_on(1)
    body = decided(UNUM, plan, renewal, open_enrollment_end_date="9999-12-31")
    decision = await submit(api, group_id, renewal, body)
    ready = await settles(api, decision["id"], "ready")
    line = plan["line_of_coverage"]
    assert ready["body"]["carriers"][0]["lines_of_coverage"][line]["open_enrollment_end_date"] == (
        "9999-12-31"
    )
