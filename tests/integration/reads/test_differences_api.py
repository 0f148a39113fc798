"""Differences: `record_check` (the confirmation write path) and the Tracking API reads.

Real PostgreSQL; no Temporal worker: groups come through the API, members, snapshots and
transactions are stored as the snapshot workflow leaves them, and checks are recorded through a
session as the confirmation activity records them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from carriers import principal, unum
from domain.differences import (
    ConfirmationStage,
    DifferenceClassification,
    DifferenceType,
    FieldDifference,
    FoundDifference,
    ObjectType,
)
from store.db import Database
from store.differences import CheckOutcome, record_check
from store.models import Difference, Member, MemberSnapshot, MemberTransaction
from store.tenancy import organization_for_token
from tests.integration.reads.conftest import assert_422, at, listed

pytestmark = pytest.mark.integration

PRINCIPAL = principal.INFO.id
UNUM = unum.INFO.id
DIFFERENCES = "/api/v1/differences"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
ACCEPTANCE = ConfirmationStage.ACCEPTANCE
EFFECTIVE_DATE = ConfirmationStage.EFFECTIVE_DATE


# Seeding: rows as the snapshot workflow stores them; checks as confirmation records them.


class Seed:
    """One organization's group, members, snapshots, transactions and differences."""

    def __init__(self, database: Database, http: httpx.AsyncClient, organization_id: uuid.UUID):
        self.database = database
        self.http = http
        self.organization_id = organization_id

    @classmethod
    async def of(cls, database: Database, http: httpx.AsyncClient) -> Seed:
        token = http.headers["Authorization"].removeprefix("Bearer ")
        async with database.transaction() as session:
            organization_id = await organization_for_token(session, token)
        assert organization_id is not None
        return cls(database, http, organization_id)

    async def group(self, name: str = "Acme Corp") -> uuid.UUID:
        response = await self.http.post("/api/v1/groups", json={"name": name})
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])

    async def member(self, group_id: uuid.UUID, employee_id: uuid.UUID | None = None) -> uuid.UUID:
        """An employee, or (with `employee_id`) one of their dependents."""
        member_id = uuid.uuid4()
        async with self.database.transaction() as session:
            session.add(
                Member(
                    id=member_id,
                    organization_id=self.organization_id,
                    group_id=group_id,
                    employee_id=employee_id or member_id,
                    individual_type="dependent" if employee_id else "employee",
                    custom_individual_id=f"m-{member_id.hex[:8]}",
                )
            )
        return member_id

    async def snapshot(self, group_id: uuid.UUID, employee_id: uuid.UUID) -> uuid.UUID:
        snapshot_id = uuid.uuid4()
        payload = {"snapshot_mode": "current_open", "employee": {"id": str(employee_id)}}
        async with self.database.transaction() as session:
            session.add(
                MemberSnapshot(
                    id=snapshot_id,
                    organization_id=self.organization_id,
                    group_id=group_id,
                    employee_id=employee_id,
                    status="completed",
                    replaced_by=None,
                    inbound_snapshot=json.dumps(payload),
                    member_snapshot=payload,
                    carrier_members={},
                    created_members=[],
                    warnings=[],
                    fulfillment_summary=[],
                    workflow_id=f"member-snapshot-{snapshot_id}",
                )
            )
        return snapshot_id

    async def transaction(
        self,
        group_id: uuid.UUID,
        employee_id: uuid.UUID,
        snapshot_id: uuid.UUID,
        *,
        carrier_id: uuid.UUID = PRINCIPAL,
    ) -> MemberTransaction:
        row = MemberTransaction(
            id=uuid.uuid4(),
            organization_id=self.organization_id,
            group_id=group_id,
            employee_id=employee_id,
            member_snapshot_id=snapshot_id,
            carrier_id=carrier_id,
            lines_of_coverage=["dental"],
            transaction_type="carrier_new_hire",
            status="completed",
            body={"changes": [{"kind": "new_member"}]},
            result={},
            status_details=[{"status_detail": "carrier_completed", "event_created": 1}],
            verified=None,
        )
        async with self.database.transaction() as session:
            session.add(row)
        return row

    async def employee_with_transaction(
        self, group_id: uuid.UUID, *, carrier_id: uuid.UUID = PRINCIPAL
    ) -> tuple[uuid.UUID, MemberTransaction]:
        employee = await self.member(group_id)
        snapshot = await self.snapshot(group_id, employee)
        return employee, await self.transaction(group_id, employee, snapshot, carrier_id=carrier_id)

    async def check(
        self,
        transaction: MemberTransaction,
        found: list[FoundDifference],
        *,
        stage: ConfirmationStage = ACCEPTANCE,
        fetched_at: int = 1_700_000_000,
    ) -> CheckOutcome:
        async with self.database.transaction() as session:
            return await record_check(
                session, transaction=transaction, found=found, stage=stage, fetched_at=fetched_at
            )

    async def difference(self, transaction: MemberTransaction, **values: Any) -> str:
        """A difference stored directly, `values` overriding an open person mismatch of the
        employee."""
        row = Difference(
            organization_id=self.organization_id,
            group_id=transaction.group_id,
            carrier_id=transaction.carrier_id,
            employee_id=transaction.employee_id,
            member_snapshot_id=transaction.member_snapshot_id,
            member_transaction_id=transaction.id,
            object_type="employee",
            object_id=transaction.employee_id,
            coverage_key=[],
            difference_classification="field_mismatch",
            difference_type="person_mismatch",
            fields=[],
            impact_score=2,
            impact_type="demographic",
            identity=f"seeded|{uuid.uuid4()}",
            sources=[],
            created=1_700_000_000,
            modified=1_700_000_000,
        )
        for key, value in values.items():
            setattr(row, key, value)
        async with self.database.transaction() as session:
            session.add(row)
        return str(row.id)


@pytest.fixture
async def seed(database: Database, api: httpx.AsyncClient) -> Seed:
    return await Seed.of(database, api)


def person_mismatch(person_id: uuid.UUID, carrier_last_name: str = "Smyth") -> FoundDifference:
    return FoundDifference(
        object_type=ObjectType.EMPLOYEE,
        object_id=person_id,
        classification=DifferenceClassification.FIELD_MISMATCH,
        difference_type=DifferenceType.PERSON_MISMATCH,
        fields=(FieldDifference("person.last_name", "Smith", carrier_last_name),),
    )


def missing_enrollment(person_id: uuid.UUID, line: str = "dental") -> FoundDifference:
    return FoundDifference(
        object_type=ObjectType.INDIVIDUAL_ENROLLMENT,
        object_id=person_id,
        classification=DifferenceClassification.MISSING_FROM_CARRIER,
        difference_type=DifferenceType.MISSING_IE,
        coverage_key=(line,),
    )


async def rows_of(database: Database, employee_id: uuid.UUID) -> list[Difference]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(Difference)
            .where(Difference.employee_id == employee_id)
            .order_by(Difference.created, Difference.identity)
        )
        return list(rows)


# --- record_check -----------------------------------------------------------------------------


async def test_a_check_opens_differences_and_the_same_again_adds_a_source(
    api: httpx.AsyncClient, seed: Seed, database: Database
) -> None:
    group = await seed.group()
    employee, transaction = await seed.employee_with_transaction(group)
    dependent = await seed.member(group, employee)
    found = [person_mismatch(employee), missing_enrollment(dependent)]

    outcome = await seed.check(transaction, found, fetched_at=1_700_000_100)
    assert outcome == CheckOutcome(opened=2, still_open=0, resolved=0, discrepancies=0)
    first = await rows_of(database, employee)
    assert len(first) == 2
    by_type = {row.difference_type: row for row in first}
    enrollment = by_type["missing_ie"]
    assert enrollment.object_type == "individual_enrollment"
    assert enrollment.object_id == dependent
    assert enrollment.coverage_key == ["dental"]
    assert enrollment.identity == f"individual_enrollment|{dependent}|dental|missing_ie"
    assert enrollment.difference_classification == "missing_from_carrier"
    assert (enrollment.impact_score, enrollment.impact_type) == (3, "coverage")
    assert enrollment.member_transaction_id == transaction.id
    assert enrollment.member_snapshot_id == transaction.member_snapshot_id
    assert (enrollment.resolved, enrollment.is_discrepancy) == (None, False)

    # The very same check again (a retried activity): nothing changes.
    again = await seed.check(transaction, found, fetched_at=1_700_000_100)
    assert again == CheckOutcome(opened=0, still_open=2, resolved=0, discrepancies=0)
    assert [(r.id, r.version, len(r.sources)) for r in await rows_of(database, employee)] == [
        (r.id, r.version, 1) for r in first
    ]

    # A later check finds both again, the carrier's last name changed meanwhile.
    found = [person_mismatch(employee, "Smithe"), missing_enrollment(dependent)]
    later = await seed.check(transaction, found, fetched_at=1_700_000_200)
    assert later == CheckOutcome(opened=0, still_open=2, resolved=0, discrepancies=0)
    rows = await rows_of(database, employee)
    assert [r.id for r in rows] == [r.id for r in first]
    assert all(len(r.sources) == 2 for r in rows)
    assert all(r.version != old.version for r, old in zip(rows, first, strict=True))
    person = next(r for r in rows if r.difference_type == "person_mismatch")
    assert person.fields == [
        {"key": "person.last_name", "platform_value": "Smith", "carrier_value": "Smithe"}
    ]

    response = await api.get(f"{DIFFERENCES}/{person.id}")
    assert response.status_code == 200, response.text
    sources = response.json()["sources"]
    assert [s["carrier_fetch_time"] for s in sources] == [1_700_000_100, 1_700_000_200]
    assert [s["last_seen"] for s in sources] == [1_700_000_100, 1_700_000_200]
    assert {s["object_type"] for s in sources} == {"member_transaction"}
    assert {s["object_id"] for s in sources} == {str(transaction.id)}
    assert {s["member_snapshot_id"] for s in sources} == {str(transaction.member_snapshot_id)}
    assert {s["stage"] for s in sources} == {"acceptance"}
    assert not any(s["is_discrepancy"] or s["resolves_difference"] for s in sources)
    assert len({s["id"] for s in sources}) == 2


async def test_not_found_again_resolves_and_still_found_at_the_effective_date_is_a_discrepancy(
    api: httpx.AsyncClient, seed: Seed, database: Database
) -> None:
    group = await seed.group()
    employee, transaction = await seed.employee_with_transaction(group)
    person, enrollment = person_mismatch(employee), missing_enrollment(employee, "vision")

    await seed.check(transaction, [person, enrollment], fetched_at=1_700_000_100)
    outcome = await seed.check(transaction, [enrollment], fetched_at=1_700_000_200)
    assert outcome == CheckOutcome(opened=0, still_open=1, resolved=1, discrepancies=0)
    rows = {r.difference_type: r for r in await rows_of(database, employee)}
    fixed, missing = rows["person_mismatch"], rows["missing_ie"]
    assert fixed.resolved is not None
    assert not fixed.is_discrepancy
    assert fixed.sources[-1]["resolves_difference"] is True
    assert fixed.sources[-1]["carrier_fetch_time"] == 1_700_000_200
    assert missing.resolved is None

    outcome = await seed.check(
        transaction, [enrollment], stage=EFFECTIVE_DATE, fetched_at=1_700_000_300
    )
    assert outcome == CheckOutcome(opened=0, still_open=1, resolved=0, discrepancies=1)
    (missing,) = [r for r in await rows_of(database, employee) if r.resolved is None]
    assert missing.is_discrepancy
    assert missing.discrepancy_time is not None
    assert [(s["stage"], s["is_discrepancy"]) for s in missing.sources] == [
        ("acceptance", False),
        ("acceptance", False),
        ("effective_date", True),
    ]
    # Found again at a later effective-date read: still a discrepancy, from the first time.
    outcome = await seed.check(
        transaction, [enrollment], stage=EFFECTIVE_DATE, fetched_at=1_700_000_400
    )
    assert outcome.discrepancies == 1
    (still,) = [r for r in await rows_of(database, employee) if r.resolved is None]
    assert still.discrepancy_time == missing.discrepancy_time
    assert [s["is_discrepancy"] for s in still.sources][-2:] == [True, False]

    # The carrier catches up: the discrepancy is resolved, and stays one in the record.
    outcome = await seed.check(transaction, [], stage=EFFECTIVE_DATE, fetched_at=1_700_000_500)
    assert outcome == CheckOutcome(opened=0, still_open=0, resolved=1, discrepancies=0)
    assert all(r.resolved is not None for r in await rows_of(database, employee))
    body = (await api.get(f"{DIFFERENCES}/{still.id}")).json()
    assert body["is_discrepancy"] is True
    assert body["is_open"] is False
    assert body["resolved"] is not None

    # Found once more after it was resolved: a new difference (the open identity is free).
    outcome = await seed.check(transaction, [person], fetched_at=1_700_000_600)
    assert outcome.opened == 1
    assert len(await rows_of(database, employee)) == 3


async def test_a_difference_first_found_at_the_effective_date_is_a_discrepancy_at_once(
    seed: Seed, database: Database
) -> None:
    group = await seed.group()
    employee, transaction = await seed.employee_with_transaction(group)
    outcome = await seed.check(transaction, [person_mismatch(employee)], stage=EFFECTIVE_DATE)
    assert outcome == CheckOutcome(opened=1, still_open=0, resolved=0, discrepancies=1)
    (row,) = await rows_of(database, employee)
    assert row.is_discrepancy
    assert row.discrepancy_time is not None
    assert row.sources[0]["is_discrepancy"] is True
    # Repeated: unchanged.
    again = await seed.check(transaction, [person_mismatch(employee)], stage=EFFECTIVE_DATE)
    assert again == CheckOutcome(opened=0, still_open=1, resolved=0, discrepancies=1)
    (same,) = await rows_of(database, employee)
    assert (same.version, len(same.sources)) == (row.version, 1)


async def test_duplicate_findings_in_one_check_are_one_difference(
    seed: Seed, database: Database
) -> None:
    group = await seed.group()
    employee, transaction = await seed.employee_with_transaction(group)
    outcome = await seed.check(
        transaction, [person_mismatch(employee, "A"), person_mismatch(employee, "B")]
    )
    assert outcome.opened == 1
    (row,) = await rows_of(database, employee)
    assert row.fields[0]["carrier_value"] == "B"


async def test_concurrent_checks_of_one_member_at_one_carrier_open_one_difference(
    seed: Seed, database: Database
) -> None:
    group = await seed.group()
    employee, first = await seed.employee_with_transaction(group)
    second = await seed.transaction(group, employee, first.member_snapshot_id)
    found = [person_mismatch(employee)]
    outcomes = await asyncio.gather(
        seed.check(first, found, fetched_at=1_700_000_100),
        seed.check(second, found, fetched_at=1_700_000_100),
    )
    assert sorted((o.opened, o.still_open) for o in outcomes) == [(0, 1), (1, 0)]
    (row,) = await rows_of(database, employee)
    assert {s["object_id"] for s in row.sources} == {str(first.id), str(second.id)}


async def test_a_later_check_at_the_carrier_resolves_what_it_no_longer_finds(
    api: httpx.AsyncClient, seed: Seed, database: Database
) -> None:
    group = await seed.group()
    employee, first = await seed.employee_with_transaction(group)
    second = await seed.transaction(group, employee, await seed.snapshot(group, employee))
    at_unum = await seed.transaction(group, employee, second.member_snapshot_id, carrier_id=UNUM)
    person = person_mismatch(employee)

    await seed.check(first, [person], fetched_at=1_700_000_100)
    # A later transaction's check that sees it adds its source to the same difference ...
    seen = await seed.check(second, [person], fetched_at=1_700_000_300)
    assert seen == CheckOutcome(still_open=1)
    # ... and the same finding at another carrier is that carrier's own difference.
    assert (await seed.check(at_unum, [person], fetched_at=1_700_000_300)).opened == 1
    rows = await rows_of(database, employee)
    principal_row = next(r for r in rows if r.carrier_id == PRINCIPAL)
    assert [s["object_id"] for s in principal_row.sources] == [str(first.id), str(second.id)]
    assert principal_row.member_transaction_id == first.id

    # Both transactions list it; the Unum transaction lists its own.
    for transaction in (first, second):
        path = f"/api/v1/member_transactions/{transaction.id}/differences"
        assert await listed(api, path) == [str(principal_row.id)]
    unum_row = next(r for r in rows if r.carrier_id == UNUM)
    path = f"/api/v1/member_transactions/{at_unum.id}/differences"
    assert await listed(api, path) == [str(unum_row.id)]

    # A check reads the whole member at its carrier: one that no longer finds the difference
    # resolves it, whichever transaction found it first; the other carrier's stays open.
    assert (await seed.check(second, [], fetched_at=1_700_000_400)).resolved == 1
    assert await listed(api, DIFFERENCES, is_open="true") == [str(unum_row.id)]


# --- one difference ---------------------------------------------------------------------------


async def test_one_difference_by_id_adds_organization_and_sources(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    employee, transaction = await seed.employee_with_transaction(group)
    await seed.check(transaction, [person_mismatch(employee)], fetched_at=1_700_000_100)
    (difference_id,) = await listed(api, DIFFERENCES)

    response = await api.get(f"{DIFFERENCES}/{difference_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["organization_id"] == str(seed.organization_id)
    assert body["group_id"] == str(group)
    assert body["carrier_id"] == str(PRINCIPAL)
    assert body["employee_id"] == str(employee)
    assert body["object_type"] == "employee"
    assert body["object_id"] == str(employee)
    assert body["difference_classification"] == "field_mismatch"
    assert body["difference_type"] == "person_mismatch"
    assert body["fields"] == [
        {"key": "person.last_name", "platform_value": "Smith", "carrier_value": "Smyth"}
    ]
    assert (body["impact_score"], body["impact_type"]) == (2, "demographic")
    assert body["member_transaction_id"] == str(transaction.id)
    assert body["member_snapshot_id"] == str(transaction.member_snapshot_id)
    for key in ("resolved", "replaced_by", "discrepancy_time"):
        assert body[key] is None
    for key in ("is_dismissed", "is_suppressed", "is_discrepancy"):
        assert body[key] is False
    assert body["is_open"] is True
    (source,) = body["sources"]
    assert set(source) == {
        "id",
        "version",
        "created",
        "modified",
        "object_type",
        "object_id",
        "member_snapshot_id",
        "stage",
        "is_discrepancy",
        "resolves_difference",
        "suppress_discrepancies",
        "last_seen",
        "carrier_fetch_time",
    }

    for unknown in (UNKNOWN,):
        response = await api.get(f"{DIFFERENCES}/{unknown}")
        assert response.status_code == 404
        assert response.json() == {
            "message": "difference not found",
            "status": 404,
            "request_id": response.headers["X-Request-ID"],
        }
    response = await other_api.get(f"{DIFFERENCES}/{difference_id}")
    assert response.status_code == 404
    assert response.json() == {
        "message": "difference not found",
        "status": 404,
        "request_id": response.headers["X-Request-ID"],
    }
    assert (await api.get(f"{DIFFERENCES}/not-a-uuid")).status_code == 422


# --- lists ------------------------------------------------------------------------------------


async def test_difference_list_is_a_page_newest_first_without_sources(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    group = await seed.group()
    _, transaction = await seed.employee_with_transaction(group)
    ids = [
        await seed.difference(transaction, created=1_700_000_000 + i, impact_score=3 - i)
        for i in range(3)
    ]

    response = await api.get(DIFFERENCES, params={"page_size": 2, "offset": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"] == {"offset": 2, "page_num": 2, "page_size": 2, "total_records": 3}
    assert [e["id"] for e in body["response"]] == [ids[0]]
    entry = body["response"][0]
    assert "sources" not in entry
    assert "organization_id" not in entry
    assert {
        "id",
        "version",
        "created",
        "modified",
        "group_id",
        "carrier_id",
        "employee_id",
        "object_type",
        "object_id",
        "difference_classification",
        "difference_type",
        "fields",
        "impact_score",
        "impact_type",
        "is_dismissed",
        "is_suppressed",
        "discrepancy_time",
        "resolved",
        "replaced_by",
        "is_open",
    } <= set(entry)

    assert await listed(api, DIFFERENCES) == ids[::-1]
    assert await listed(api, DIFFERENCES, sort_direction="asc") == ids
    assert await listed(api, DIFFERENCES, sort_by="impact_score") == ids
    assert_422(await api.get(DIFFERENCES, params={"sort_by": "fields"}), "sort_by")
    default = (await api.get(DIFFERENCES)).json()["meta"]
    assert default == {"offset": 0, "page_num": 1, "page_size": 20, "total_records": 3}


async def test_difference_list_filters(api: httpx.AsyncClient, seed: Seed) -> None:
    group, other_group = await seed.group(), await seed.group("Other Co")
    alice, alices = await seed.employee_with_transaction(group)
    bob, bobs = await seed.employee_with_transaction(other_group, carrier_id=UNUM)
    dependent = await seed.member(group, alice)
    later_snapshot = await seed.snapshot(group, alice)

    open_person = await seed.difference(alices, created=at("2024-01-10T00:00:00"))
    resolved_ie = await seed.difference(
        alices,
        created=at("2024-01-10T23:59:59"),
        object_type="individual_enrollment",
        object_id=dependent,
        difference_classification="missing_from_carrier",
        difference_type="missing_ie",
        impact_score=3,
        impact_type="coverage",
        resolved=at("2024-01-12T00:00:00"),
        is_discrepancy=True,
        discrepancy_time=at("2024-01-11T00:00:00"),
    )
    dismissed = await seed.difference(
        alices,
        created=at("2024-01-11T00:00:00"),
        object_type="dependent",
        object_id=dependent,
        difference_classification="missing_from_platform",
        difference_type="extra_dependent",
        impact_score=3,
        impact_type="coverage",
        is_dismissed=True,
        # Seen since by a check of a transaction of a later snapshot.
        sources=[{"object_type": "member_transaction", "member_snapshot_id": str(later_snapshot)}],
    )
    replaced = await seed.difference(
        alices,
        created=at("2024-01-12T00:00:00"),
        difference_type="employment_mismatch",
        impact_score=1,
        replaced_by=uuid.uuid4(),
    )
    bobs_open = await seed.difference(
        bobs,
        created=at("2024-01-13T00:00:00"),
        is_discrepancy=True,
        discrepancy_time=at("2024-01-13T00:00:00"),
    )
    everything = [bobs_open, replaced, dismissed, resolved_ie, open_person]

    async def only(**params: str) -> list[str]:
        return await listed(api, DIFFERENCES, **params)

    assert await only() == everything
    assert await only(id=f"{open_person},{bobs_open}") == [bobs_open, open_person]
    assert await only(group_id=str(other_group)) == [bobs_open]
    assert await only(group_id=f"{group},{other_group}") == everything
    assert await only(employee_id=str(bob)) == [bobs_open]
    assert await only(object_type="individual_enrollment,dependent") == [dismissed, resolved_ie]
    assert await only(object_id=str(dependent)) == [dismissed, resolved_ie]
    assert await only(object_id=str(alice)) == [replaced, open_person]
    # Open: not resolved, not replaced, not dismissed.
    assert await only(is_open="true") == [bobs_open, open_person]
    assert await only(is_open="false") == [replaced, dismissed, resolved_ie]
    assert await only(is_dismissed="true") == [dismissed]
    assert await only(is_dismissed="false") == [bobs_open, replaced, resolved_ie, open_person]
    assert await only(is_discrepancy="true") == [bobs_open, resolved_ie]
    assert await only(is_discrepancy="false", is_open="true") == [open_person]
    assert await only(classification="missing_from_carrier,missing_from_platform") == [
        dismissed,
        resolved_ie,
    ]
    assert await only(type="person_mismatch") == [bobs_open, open_person]
    assert await only(type="missing_ie,employment_mismatch") == [replaced, resolved_ie]
    assert await only(impact_type="coverage") == [dismissed, resolved_ie]
    assert await only(impact_type="demographic,coverage") == everything
    assert await only(member_snapshot_id=str(alices.member_snapshot_id)) == [
        replaced,
        dismissed,
        resolved_ie,
        open_person,
    ]
    assert await only(member_snapshot_id=str(later_snapshot)) == [dismissed]
    assert await only(member_snapshot_id=UNKNOWN) == []
    assert await only(min_impact_score="3") == [dismissed, resolved_ie]
    assert await only(max_impact_score="2") == [bobs_open, replaced, open_person]
    assert await only(min_impact_score="2", max_impact_score="2") == [bobs_open, open_person]
    # Created: whole UTC days, both bounds exclusive (month and day may be one digit).
    assert await only(created_after="2024-01-11") == [bobs_open, replaced]
    assert await only(created_after="2024-1-9") == everything
    assert await only(created_before="2024-01-11") == [resolved_ie, open_person]
    assert await only(created_before="2024-01-10") == []
    assert await only(created_after="2024-01-10", created_before="2024-01-12") == [dismissed]
    assert await only(is_open="true", group_id=str(group)) == [open_person]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "nope"),
        ("group_id", f"{UNKNOWN},nope"),
        ("employee_id", "nope"),
        ("object_type", "employee,plan"),
        ("object_id", "nope"),
        ("is_open", "maybe"),
        ("is_dismissed", "nah"),
        ("is_discrepancy", "2"),
        ("classification", "field_mismatch,wrong"),
        ("type", "missing_ie,dob"),
        ("member_snapshot_id", "nope"),
        ("created_before", "yesterday"),
        ("created_after", "2024-13-01"),
        ("min_impact_score", "high"),
        ("max_impact_score", "1.5"),
        ("sort_direction", "up"),
        ("page_size", "0"),
    ],
)
async def test_difference_list_refuses_bad_filters_naming_them(
    api: httpx.AsyncClient, field: str, value: str
) -> None:
    assert_422(await api.get(DIFFERENCES, params={field: value}), field)


async def test_another_organizations_differences_are_absent(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, seed: Seed, database: Database
) -> None:
    group = await seed.group()
    _, transaction = await seed.employee_with_transaction(group)
    mine = await seed.difference(transaction)
    theirs_seed = await Seed.of(database, other_api)
    their_group = await theirs_seed.group()
    _, their_transaction = await theirs_seed.employee_with_transaction(their_group)
    theirs = await theirs_seed.difference(their_transaction)

    assert await listed(api, DIFFERENCES) == [mine]
    assert await listed(other_api, DIFFERENCES) == [theirs]
    assert await listed(api, DIFFERENCES, id=theirs) == []
    assert await listed(api, DIFFERENCES, group_id=str(their_group)) == []


# --- scoped lists -----------------------------------------------------------------------------


async def test_group_employee_and_transaction_lists(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, seed: Seed
) -> None:
    group, other_group = await seed.group(), await seed.group("Other Co")
    alice, alices = await seed.employee_with_transaction(group)
    bob, bobs = await seed.employee_with_transaction(group, carrier_id=UNUM)
    carol, carols = await seed.employee_with_transaction(other_group)
    a1 = await seed.difference(alices, created=1_700_000_000)
    a2 = await seed.difference(
        alices, created=1_700_000_100, difference_type="missing_ie", resolved=1_700_000_200
    )
    b1 = await seed.difference(bobs, created=1_700_000_300)
    c1 = await seed.difference(carols, created=1_700_000_400)

    group_path = f"/api/v1/groups/{group}/differences"
    response = await api.get(group_path, params={"page_size": 1})
    assert response.status_code == 200, response.text
    assert response.json()["meta"] == {
        "offset": 0,
        "page_num": 1,
        "page_size": 1,
        "total_records": 3,
    }
    assert await listed(api, group_path) == [b1, a2, a1]
    assert await listed(api, group_path, is_open="true") == [b1, a1]
    assert await listed(api, group_path, employee_id=str(alice)) == [a2, a1]
    assert await listed(api, group_path, sort_direction="asc") == [a1, a2, b1]
    assert await listed(api, f"/api/v1/groups/{other_group}/differences") == [c1]

    employee_path = f"/api/v1/employees/{alice}/differences"
    assert await listed(api, employee_path) == [a2, a1]
    assert await listed(api, employee_path, type="missing_ie") == [a2]
    assert await listed(api, f"/api/v1/employees/{bob}/differences") == [b1]
    assert await listed(api, f"/api/v1/employees/{carol}/differences") == [c1]

    transaction_path = f"/api/v1/member_transactions/{alices.id}/differences"
    assert await listed(api, transaction_path) == [a2, a1]
    assert await listed(api, transaction_path, is_open="false") == [a2]
    assert await listed(api, f"/api/v1/member_transactions/{bobs.id}/differences") == [b1]

    for path in (group_path, employee_path, transaction_path):
        assert_422(await api.get(path, params={"classification": "bogus"}), "classification")

    # Unknown parents, a dependent, and another organization's: 404.
    dependent = await seed.member(group, alice)
    for path, what in [
        (f"/api/v1/groups/{UNKNOWN}/differences", "group"),
        (f"/api/v1/employees/{UNKNOWN}/differences", "employee"),
        (f"/api/v1/employees/{dependent}/differences", "employee"),
        (f"/api/v1/member_transactions/{UNKNOWN}/differences", "member transaction"),
        (group_path, "group"),
        (employee_path, "employee"),
        (transaction_path, "member transaction"),
    ]:
        caller = other_api if path in (group_path, employee_path, transaction_path) else api
        response = await caller.get(path)
        assert response.status_code == 404, path
        assert response.json() == {
            "message": f"{what} not found",
            "status": 404,
            "request_id": response.headers["X-Request-ID"],
        }


async def test_stored_counts_match_the_lists(
    api: httpx.AsyncClient, seed: Seed, database: Database
) -> None:
    """Checks through a session and the API agree: opened, then resolved, at one employee."""
    group = await seed.group()
    employee, transaction = await seed.employee_with_transaction(group)
    dependent = await seed.member(group, employee)
    found = [missing_enrollment(dependent, line) for line in ("dental", "vision", "life")]
    assert (await seed.check(transaction, found)).opened == 3
    assert (await seed.check(transaction, found[:1], fetched_at=1_700_000_500)).resolved == 2
    async with database.transaction() as session:
        open_count = await session.scalar(
            select(func.count())
            .select_from(Difference)
            .where(Difference.employee_id == employee, Difference.resolved.is_(None))
        )
    assert open_count == 1
    path = f"/api/v1/employees/{employee}/differences"
    assert len(await listed(api, path, is_open="true")) == 1
    assert len(await listed(api, path, is_open="false", object_id=str(dependent))) == 2
