"""Coverage exports through the API and the worker: a census as of a past date matches what each
carrier held then, downloaded as JSON and CSV; another organization's is 404; an expired one is
404 (as if it never was: its records are deleted)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from temporalio.client import Client

from carriers import principal, unum
from carriers.registry import CARRIERS
from domain.enums import LineOfCoverage
from domain.members import (
    OPEN_END,
    CarrierCoverage,
    CarrierDependent,
    CarrierEmployee,
    CarrierMember,
    EnrolledIndividual,
)
from domain.snapshots import IndividualType
from store.db import Database
from store.models import CoverageExport, Member, MemberTransaction
from store.tenancy import ensure_organization, organization_for_token
from tests.harness import AppServer, eventually
from tests.integration.reads.test_differences_api import Seed

pytestmark = pytest.mark.integration

PRINCIPAL = principal.INFO.id
UNUM = unum.INFO.id
DENTAL_PLAN = uuid.uuid4()
VISION_PLAN = uuid.uuid4()


def moment(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


def member(
    employee_id: uuid.UUID, spouse_id: uuid.UUID, *, last_name: str, vision: bool
) -> CarrierMember:
    def enrolled(individual_id: uuid.UUID, start: str) -> EnrolledIndividual:
        return EnrolledIndividual(
            individual_id=individual_id,
            individual_type=(
                IndividualType.EMPLOYEE
                if individual_id == employee_id
                else IndividualType.DEPENDENT
            ),
            effective_start_date=dt.date.fromisoformat(start),
            effective_end_date=OPEN_END,
        )

    coverages = [
        CarrierCoverage(
            line_of_coverage=LineOfCoverage.DENTAL,
            plan_id=DENTAL_PLAN,
            carrier_plan_id="DEN-1",
            enrolled_members=(
                enrolled(employee_id, "2026-01-01"),
                enrolled(spouse_id, "2026-01-01"),
            ),
        )
    ]
    if vision:
        coverages.append(
            CarrierCoverage(
                line_of_coverage=LineOfCoverage.VISION,
                plan_id=VISION_PLAN,
                carrier_plan_id="VIS-1",
                enrolled_members=(enrolled(employee_id, "2026-03-01"),),
            )
        )
    return CarrierMember(
        employee=CarrierEmployee(
            id=employee_id,
            person={"first_name": "Ada", "last_name": last_name, "date_of_birth": "1980-12-10"},
            employment={"employment_status": "full-time"},
        ),
        dependents=(
            CarrierDependent(
                id=spouse_id,
                person={"first_name": "Bo", "last_name": last_name, "date_of_birth": "1981-01-02"},
                relationship="spouse",
            ),
        ),
        coverages=tuple(coverages),
    )


class Census:
    """An organization's group whose employees' transactions are stored as fulfillment left them."""

    def __init__(self, database: Database, organization_id: uuid.UUID, group_id: uuid.UUID):
        self.database = database
        self.organization_id = organization_id
        self.group_id = group_id

    async def employee(self) -> uuid.UUID:
        employee_id = uuid.uuid4()
        async with self.database.transaction() as session:
            session.add(
                Member(
                    id=employee_id,
                    organization_id=self.organization_id,
                    group_id=self.group_id,
                    employee_id=employee_id,
                    individual_type="employee",
                    custom_individual_id=f"e-{employee_id.hex[:8]}",
                )
            )
        return employee_id

    async def sent(
        self,
        employee_id: uuid.UUID,
        body: CarrierMember,
        *,
        created: str,
        completed: str | None,
        carrier_id: uuid.UUID = PRINCIPAL,
    ) -> uuid.UUID:
        details = [{"status_detail": "noyo_accepted", "event_created": moment(created)}]
        if completed:
            details.append(
                {"status_detail": "carrier_completed", "event_created": moment(completed)}
            )
        snapshot_id = await Seed(self.database, None, self.organization_id).snapshot(  # type: ignore[arg-type]
            self.group_id, employee_id
        )
        row = MemberTransaction(
            id=uuid.uuid4(),
            organization_id=self.organization_id,
            group_id=self.group_id,
            employee_id=employee_id,
            member_snapshot_id=snapshot_id,
            carrier_id=carrier_id,
            lines_of_coverage=["dental"],
            transaction_type="carrier_new_hire",
            status="completed" if completed else "processing",
            body={"member": body.model_dump(mode="json"), "changes": []},
            result={},
            status_details=details,
            verified=None,
            created=moment(created),
            modified=moment(created),
        )
        async with self.database.transaction() as session:
            session.add(row)
        return row.id


async def census_of(database: Database, api: httpx.AsyncClient) -> Census:
    response = await api.post("/api/v1/groups", json={"name": "Census Co"})
    assert response.status_code == 201, response.text
    token = api.headers["Authorization"].removeprefix("Bearer ")
    async with database.transaction() as session:
        organization_id = await organization_for_token(session, token)
    assert organization_id is not None
    return Census(database, organization_id, uuid.UUID(response.json()["id"]))


async def exported(api: httpx.AsyncClient, group_id: uuid.UUID, **body: Any) -> dict[str, Any]:
    response = await api.post(f"/api/v1/groups/{group_id}/coverage_exports", json=body)
    assert response.status_code == 202, response.text
    started = response.json()
    assert (started["status"], started["percentage_complete"]) == ("processing", 0)

    async def completed() -> dict[str, Any] | None:
        polled = (await api.get(f"/api/v1/coverage_exports/{started['id']}")).json()
        return polled if polled["status"] == "completed" else None

    done: dict[str, Any] = await eventually(completed, within=30)
    assert done["percentage_complete"] == 100
    return done


async def records(api: httpx.AsyncClient, export_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/coverage_exports/{export_id}/download")
    assert response.status_code == 200, response.text
    return list(response.json()["records"])


def seen(found: list[dict[str, Any]]) -> set[tuple[str, str, str | None, str | None]]:
    return {
        (r["individual_type"], r["last_name"], r["line_of_coverage"], r["carrier_id"])
        for r in found
    }


async def test_an_export_as_of_a_past_date_is_what_each_carrier_held_then(
    api: httpx.AsyncClient, database: Database, client: Client
) -> None:
    census = await census_of(database, api)
    ada, bo = await census.employee(), uuid.uuid4()
    first = await census.sent(
        ada,
        member(ada, bo, last_name="Old", vision=False),
        created="2026-01-10",
        completed="2026-01-11",
    )
    await census.sent(
        ada,
        member(ada, bo, last_name="New", vision=True),
        created="2026-03-01",
        completed="2026-03-02",
    )
    # Sent to Unum but never completed there: Unum held nothing of her.
    await census.sent(
        ada,
        member(ada, bo, last_name="Old", vision=False),
        created="2026-01-10",
        completed=None,
        carrier_id=UNUM,
    )
    nobody = await census.employee()  # never sent anywhere
    assert nobody

    january = await exported(api, census.group_id, as_of="2026-02-01")
    assert january["employees"] == 2
    # No carrier_ids asked for: every registered carrier (Larkspur, the file carrier, too).
    assert set(january["carrier_ids"]) == {str(carrier_id) for carrier_id in CARRIERS}
    held = await records(api, january["id"])
    assert seen(held) == {
        ("employee", "Old", "dental", str(PRINCIPAL)),
        ("dependent", "Old", "dental", str(PRINCIPAL)),
    }
    assert {r["member_transaction_id"] for r in held} == {str(first)}
    assert {r["held_since"] for r in held} == {moment("2026-01-11")}
    assert january["record_count"] == 2

    # Completed at the carrier on 2 March: on the 1st it still held January's.
    assert seen(
        await records(api, (await exported(api, census.group_id, as_of="2026-03-01"))["id"])
    ) == seen(held)
    march = await exported(api, census.group_id, as_of="2026-03-05", carrier_ids=[str(PRINCIPAL)])
    assert seen(await records(api, march["id"])) == {
        ("employee", "New", "dental", str(PRINCIPAL)),
        ("employee", "New", "vision", str(PRINCIPAL)),
        ("dependent", "New", "dental", str(PRINCIPAL)),
    }
    # Before the coverage started: the people, no coverage in force.
    december = await exported(api, census.group_id, as_of="2025-12-31")
    assert await records(api, december["id"]) == []
    early = await api.get(
        f"/api/v1/coverage_exports/{january['id']}/download", params={"format": "csv"}
    )
    assert early.status_code == 200
    assert early.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(early.text)))
    assert {(r["individual_type"], r["line_of_coverage"]) for r in rows} == {
        ("employee", "dental"),
        ("dependent", "dental"),
    }
    assert rows[0]["first_name"] in {"Ada", "Bo"}

    # The people went to the database and the download only: the history holds ids and counts.
    history = await client.get_workflow_handle(f"coverage-export/{january['id']}").fetch_history()
    text = json.dumps(history.to_json_dict())
    assert january["id"] in text
    for pii in ("Ada", "Old", "1980-12-10", "1981-01-02"):
        assert pii not in text


async def test_exports_are_the_organizations_and_expire(
    api: httpx.AsyncClient, database: Database, api_server: AppServer
) -> None:
    census = await census_of(database, api)
    ada = await census.employee()
    await census.sent(
        ada,
        member(ada, uuid.uuid4(), last_name="X", vision=False),
        created="2026-01-10",
        completed="2026-01-11",
    )
    done = await exported(api, census.group_id, as_of="2026-02-01")
    path = f"/api/v1/coverage_exports/{done['id']}"

    async with database.transaction() as session:
        _, token = await ensure_organization(session, f"other-{uuid.uuid4().hex[:10]}")
    async with httpx.AsyncClient(
        base_url=api_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as other:
        for url in (path, f"{path}/download"):
            response = await other.get(url)
            assert response.status_code == 404, response.text
            assert response.json()["message"] == "coverage export not found"
        refused = await other.post(
            f"/api/v1/groups/{census.group_id}/coverage_exports", json={"as_of": "2026-02-01"}
        )
        assert refused.status_code == 404

    tomorrow = (dt.datetime.now(UTC).date() + dt.timedelta(days=1)).isoformat()
    future = await api.post(
        f"/api/v1/groups/{census.group_id}/coverage_exports", json={"as_of": tomorrow}
    )
    assert future.status_code == 422
    assert [e["field"] for e in future.json()["errors"]] == ["as_of"]
    unknown = await api.post(
        f"/api/v1/groups/{census.group_id}/coverage_exports",
        json={"as_of": "2026-02-01", "carrier_ids": [str(uuid.uuid4())]},
    )
    assert unknown.status_code == 422

    async with database.transaction() as session:
        await session.execute(
            update(CoverageExport)
            .where(CoverageExport.id == uuid.UUID(done["id"]))
            .values(expires=1)
        )
    for url in (path, f"{path}/download"):
        assert (await api.get(url)).status_code == 404
