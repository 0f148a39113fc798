"""The confirmation turn against real PostgreSQL with a scripted carrier: faults and read limits."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

import activities.confirmation as confirmation
from activities.confirmation import ConfirmationActivities
from carriers import CarrierUnavailable, principal
from domain.confirmation import DueCheck
from domain.differences import ConfirmationStage
from domain.members import CarrierEmployee, CarrierMember, CarrierMemberRecord
from store.db import Database
from store.models import Group, MemberSnapshot, MemberTransaction, unix_now
from store.tenancy import ensure_organization

pytestmark = pytest.mark.integration

PRINCIPAL = principal.INFO.id
CARRIER_GROUP_ID = "2000001"


def member(employee_id: uuid.UUID) -> CarrierMember:
    """An employee with no coverage: verified at the acceptance check."""
    return CarrierMember(
        employee=CarrierEmployee(id=employee_id, person={"first_name": "Sample"}, employment={})
    )


async def group_with_transactions(database: Database, count: int) -> list[MemberTransaction]:
    """A group with `count` transactions the carrier completed, due for acceptance now."""
    async with database.transaction() as session:
        organization, _ = await ensure_organization(session, f"org-{uuid.uuid4().hex[:10]}")
        group = Group(organization_id=organization.id, name="Acme Corp")
        session.add(group)
        await session.flush()
        rows = []
        for _ in range(count):
            employee_id = uuid.uuid4()
            snapshot = MemberSnapshot(
                organization_id=organization.id,
                group_id=group.id,
                employee_id=employee_id,
                status="completed",
                replaced_by=None,
                inbound_snapshot="{}",
                member_snapshot={},
                carrier_members={},
                created_members=[],
                warnings=[],
                fulfillment_summary=[],
                workflow_id=f"member-snapshot/{uuid.uuid4()}",
            )
            session.add(snapshot)
            await session.flush()
            rows.append(
                MemberTransaction(
                    organization_id=organization.id,
                    group_id=group.id,
                    employee_id=employee_id,
                    member_snapshot_id=snapshot.id,
                    carrier_id=PRINCIPAL,
                    lines_of_coverage=[],
                    transaction_type="carrier_demographic",
                    status="completed",
                    body={"member": member(employee_id).model_dump(mode="json"), "changes": []},
                    result={"carrier_group_id": CARRIER_GROUP_ID},
                    status_details=[{"status_detail": "carrier_completed", "event_created": 1}],
                    confirm_stage=ConfirmationStage.ACCEPTANCE.value,
                    confirm_due=unix_now() - 60,
                )
            )
        session.add_all(rows)
    return rows


@dataclass
class ScriptedCarrier:
    """Holds every member as sent; `down` employees fail with a carrier fault."""

    down: set[uuid.UUID] = field(default_factory=set)
    in_flight: int = 0
    most_in_flight: int = 0

    async def fetch_member(
        self, carrier_group_id: str, employee_id: uuid.UUID
    ) -> CarrierMemberRecord | None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            if employee_id in self.down:
                raise CarrierUnavailable(f"GET /groups/{carrier_group_id}/members: HTTP 503")
            return CarrierMemberRecord.model_validate(
                {**member(employee_id).model_dump(), "terminated": False}
            )
        finally:
            self.in_flight -= 1


async def verified(database: Database, rows: list[MemberTransaction]) -> list[bool]:
    async with database.transaction() as session:
        found = {
            t.id: t
            for t in await session.scalars(
                select(MemberTransaction).where(MemberTransaction.id.in_([r.id for r in rows]))
            )
        }
    return [found[r.id].verified is not None for r in rows]


def due_now(group_id: uuid.UUID) -> DueCheck:
    return DueCheck(group_id=group_id, now=datetime.now(UTC))


async def test_a_carrier_fault_keeps_what_the_turn_confirmed_and_its_retry_reads_the_rest(
    database: Database,
) -> None:
    rows = await group_with_transactions(database, 3)
    carrier = ScriptedCarrier(down={rows[1].employee_id})
    activities = ConfirmationActivities(database, {PRINCIPAL: carrier})  # type: ignore[dict-item]

    with pytest.raises(CarrierUnavailable):
        await ActivityEnvironment().run(activities.confirm_due, due_now(rows[0].group_id))

    assert await verified(database, rows) == [True, False, True]
    carrier.down.clear()
    turn = await ActivityEnvironment().run(activities.confirm_due, due_now(rows[0].group_id))
    assert turn.confirmed == 1
    assert turn.next_due is None
    assert await verified(database, rows) == [True, True, True]


async def test_carrier_reads_are_limited_per_worker_not_per_turn(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confirmation, "CONCURRENT_READS", 3)
    groups = [await group_with_transactions(database, 5) for _ in range(4)]
    carrier = ScriptedCarrier()
    activities = ConfirmationActivities(database, {PRINCIPAL: carrier})  # type: ignore[dict-item]

    turns = await asyncio.gather(
        *(
            ActivityEnvironment().run(activities.confirm_due, due_now(rows[0].group_id))
            for rows in groups
        )
    )

    assert [turn.confirmed for turn in turns] == [5, 5, 5, 5]
    assert carrier.most_in_flight == 3
