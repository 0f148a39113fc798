"""Employees, dependents and their individual enrollments as the API reads them, now or as of a day.

A member is read from two sides: what the platform last sent (its newest snapshot not replaced
or canceled, each carrier's part of it) and what each carrier holds (`CarrierHolding`, from its
census; history kept). A record shows the person as the platform last sent it, else as a
carrier holds it; its `version` and `modified` are those of the newer side. As of a day: the
newest snapshot received by the end of that day, and each holding as it stood then.

An individual enrollment is one person's coverage under one plan at one carrier: the platform's
dates and volume beside the carrier's, whose start is the carrier's calculated effective date.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.member_changes import SnapshotStatus
from domain.members import OPEN_END
from domain.snapshots import IndividualType
from store.models import CarrierHolding, Group, Member, MemberSnapshot
from store.tenancy import owned
from store.versioning import as_of, end_of_day_micros

Json = dict[str, Any]
_NAMESPACE = uuid.UUID("6f1c3e0a-5b7d-4f43-9a51-3c2d8e9b7a10")
STATUSES = ("active", "terminated")


@dataclass
class _Sides:
    """What the platform sent (per carrier, from one snapshot) and what each carrier holds."""

    snapshot: Json | None = None  # id, version, created, modified, carrier_members
    holdings: list[Json] = field(default_factory=list)  # each holding's contract shape

    def platform(self) -> dict[str, Json]:
        return dict(self.snapshot["carrier_members"]) if self.snapshot else {}

    def newest(self) -> Json | None:
        sides = [*self.holdings, *([self.snapshot] if self.snapshot else [])]
        return max(sides, key=lambda side: side["modified"], default=None)


async def _sides(
    session: AsyncSession, employee_ids: Sequence[uuid.UUID], day: date | None
) -> dict[uuid.UUID, _Sides]:
    """Both sides of each employee, now or as of `day`."""
    found = {employee_id: _Sides() for employee_id in employee_ids}
    if not employee_ids:
        return found
    query = select(MemberSnapshot).where(
        MemberSnapshot.employee_id.in_(employee_ids),
        MemberSnapshot.status.not_in([SnapshotStatus.REPLACED.value, SnapshotStatus.CANCELED.value])
        if day is None
        else MemberSnapshot.status != SnapshotStatus.CANCELED.value,
    )
    if day is not None:
        query = query.where(MemberSnapshot.created <= end_of_day_micros(day) // 1_000_000)
    snapshots = await session.scalars(
        query.order_by(MemberSnapshot.employee_id, MemberSnapshot.created.desc()).ext(
            distinct_on(MemberSnapshot.employee_id)
        )
    )
    for snapshot in snapshots:
        found[snapshot.employee_id].snapshot = {
            "id": str(snapshot.id),
            "version": str(snapshot.version),
            "created": snapshot.created,
            "modified": snapshot.modified,
            "carrier_members": snapshot.carrier_members,
            "member_snapshot": snapshot.member_snapshot,
        }
    holdings = (
        await session.scalars(
            select(CarrierHolding).where(CarrierHolding.employee_id.in_(employee_ids))
        )
    ).all()
    if day is None:
        views = [holding.as_contract() for holding in holdings]
    else:
        stood = await as_of(session, CarrierHolding, [h.id for h in holdings], day)
        views = list(stood.values())
    for view in sorted(views, key=lambda v: v["carrier_id"]):
        found[uuid.UUID(view["employee_id"])].holdings.append(view)
    return found


def _record(member: Member, sides: _Sides) -> Json:
    newest = sides.newest()
    return {
        "id": str(member.id),
        # A member only ever seen by id (no side yet) keeps a version named by its id.
        "version": newest["version"] if newest else str(uuid.uuid5(_NAMESPACE, str(member.id))),
        "created": member.created,
        "modified": newest["modified"] if newest else member.created,
        "group_id": str(member.group_id),
        "employee_id": str(member.employee_id),
        "custom_individual_id": member.custom_individual_id,
    }


def _person_of(individual_id: str, sides: _Sides) -> tuple[Json | None, Json | None, str | None]:
    """(person, employment, relationship) of an individual: the platform's, else a carrier's."""
    # The processed snapshot names everyone with engine ids, also with no carrier connected.
    sent = sides.snapshot["member_snapshot"] if sides.snapshot else None
    members = [*sides.platform().values(), *([sent] if sent else [])]
    for member in [*members, *(h["member"] for h in sides.holdings)]:
        if member["employee"]["id"] == individual_id:
            return member["employee"]["person"], member["employee"].get("employment"), None
        for dependent in member.get("dependents", []):
            if dependent["id"] == individual_id:
                return dependent["person"], None, dependent.get("relationship")
    return None, None, None


def _carriers(individual_id: str, sides: _Sides) -> list[Json]:
    """Each carrier holding the individual: its own id for them, when it was read, ended."""
    held = []
    for holding in sides.holdings:
        member = holding["member"]
        ids = {member["employee"]["id"], *(d["id"] for d in member.get("dependents", []))}
        if individual_id in ids:
            held.append(
                {
                    "carrier_id": holding["carrier_id"],
                    "carrier_member_id": holding["carrier_member_id"],
                    "terminated": holding["terminated"],
                    "carrier_fetch_time": holding["fetched"],
                }
            )
    return held


def employee_record(member: Member, sides: _Sides) -> Json:
    person, employment, _ = _person_of(str(member.id), sides)
    carriers = _carriers(str(member.id), sides)
    platform_status = (employment or {}).get("employment_status")
    terminated = (
        platform_status == "terminated"
        if sides.snapshot is not None
        else bool(carriers) and all(c["terminated"] for c in carriers)
    )
    return {
        **_record(member, sides),
        "status": "terminated" if terminated else "active",
        "person": person,
        "employment": employment,
        "carriers": carriers,
    }


def dependent_record(member: Member, sides: _Sides) -> Json:
    person, _, relationship = _person_of(str(member.id), sides)
    return {
        **_record(member, sides),
        "relationship": relationship,
        "person": person,
        "carriers": _carriers(str(member.id), sides),
    }


def enrollments(individual_id: str, sides: _Sides) -> list[Json]:
    """The individual's enrollments: one per (carrier, plan), from both sides."""
    by_key: dict[tuple[str, str], Json] = {}

    def add(carrier_id: str, member: Json, side: str) -> None:
        for coverage in member.get("coverages", []):
            for enrolled in coverage.get("enrolled_members", []):
                if enrolled["individual_id"] != individual_id:
                    continue
                key = (carrier_id, coverage["plan_id"])
                entry = by_key.setdefault(
                    key,
                    {
                        "id": str(uuid.uuid5(_NAMESPACE, f"{individual_id}:{':'.join(key)}")),
                        "individual_id": individual_id,
                        "individual_type": enrolled["individual_type"],
                        "carrier_id": carrier_id,
                        "line_of_coverage": coverage["line_of_coverage"],
                        "plan_id": coverage["plan_id"],
                        "carrier_plan_id": coverage["carrier_plan_id"],
                        "platform": None,
                        "carrier": None,
                    },
                )
                entry[side] = {
                    "effective_start_date": enrolled["effective_start_date"],
                    "effective_end_date": enrolled["effective_end_date"],
                    "volume": enrolled.get("volume"),
                }

    for carrier_id, member in sorted(sides.platform().items()):
        add(carrier_id, member, "platform")
    for holding in sides.holdings:
        add(holding["carrier_id"], holding["member"], "carrier")
    found = []
    for entry in by_key.values():
        held = entry["carrier"]
        current = held or entry["platform"]
        entry["carrier_effective_date"] = held["effective_start_date"] if held else None
        entry["status"] = (
            "active" if current["effective_end_date"] == OPEN_END.isoformat() else "terminated"
        )
        found.append(entry)
    return sorted(found, key=lambda e: (e["carrier_id"], e["line_of_coverage"], e["plan_id"]))


# --- the reads ------------------------------------------------------------------------------------


async def _owned_member(
    session: AsyncSession,
    organization_id: uuid.UUID,
    member_id: uuid.UUID,
    individual_type: IndividualType,
    day: date | None,
) -> Member:
    what = individual_type.value
    member = await owned(session, Member, member_id, organization_id, what=what)
    if member.individual_type != individual_type.value:
        raise NotFound.of(what)
    if day is not None and member.created > end_of_day_micros(day) // 1_000_000:
        raise NotFound.of(what)  # not yet known on that day
    return member


async def employee(
    session: AsyncSession, organization_id: uuid.UUID, employee_id: uuid.UUID, day: date | None
) -> Json:
    member = await _owned_member(
        session, organization_id, employee_id, IndividualType.EMPLOYEE, day
    )
    sides = await _sides(session, [member.id], day)
    return employee_record(member, sides[member.id])


async def dependent(
    session: AsyncSession, organization_id: uuid.UUID, dependent_id: uuid.UUID, day: date | None
) -> Json:
    member = await _owned_member(
        session, organization_id, dependent_id, IndividualType.DEPENDENT, day
    )
    sides = await _sides(session, [member.employee_id], day)
    return dependent_record(member, sides[member.employee_id])


async def dependents(
    session: AsyncSession, organization_id: uuid.UUID, employee_id: uuid.UUID, day: date | None
) -> list[Json]:
    member = await _owned_member(
        session, organization_id, employee_id, IndividualType.EMPLOYEE, day
    )
    query = select(Member).where(
        Member.employee_id == member.id,
        Member.individual_type == IndividualType.DEPENDENT.value,
    )
    if day is not None:
        query = query.where(Member.created <= end_of_day_micros(day) // 1_000_000)
    rows = (await session.scalars(query.order_by(Member.created, Member.id))).all()
    sides = (await _sides(session, [member.id], day))[member.id]
    # In the order the platform, else the carrier, lists them; others after, oldest first.
    listed = [
        dependent["id"]
        for side in [*sides.platform().values(), *(h["member"] for h in sides.holdings)]
        for dependent in side.get("dependents", [])
    ]
    place = {dependent_id: index for index, dependent_id in reversed(list(enumerate(listed)))}
    ordered = sorted(rows, key=lambda row: place.get(str(row.id), len(listed)))
    return [dependent_record(row, sides) for row in ordered]


async def individual_enrollments(
    session: AsyncSession,
    organization_id: uuid.UUID,
    individual_id: uuid.UUID,
    individual_type: IndividualType,
    day: date | None,
) -> list[Json]:
    member = await _owned_member(session, organization_id, individual_id, individual_type, day)
    sides = await _sides(session, [member.employee_id], day)
    return enrollments(str(member.id), sides[member.employee_id])


async def group_employees(
    session: AsyncSession,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    *,
    day: date | None,
    custom_individual_ids: Sequence[str] = (),
    statuses: Sequence[str] = (),
    offset: int,
    limit: int,
) -> tuple[list[Json], int]:
    """A page of the group's employees (oldest first) and how many match in all."""
    await owned(session, Group, group_id, organization_id, what="group")
    conditions = [
        Member.group_id == group_id,
        Member.individual_type == IndividualType.EMPLOYEE.value,
    ]
    if custom_individual_ids:
        conditions.append(Member.custom_individual_id.in_(custom_individual_ids))
    if day is not None:
        conditions.append(Member.created <= end_of_day_micros(day) // 1_000_000)
    order = (Member.created, Member.id)
    if not statuses:
        total = await session.scalar(select(func.count()).where(*conditions)) or 0
        rows = (
            await session.scalars(
                select(Member).where(*conditions).order_by(*order).offset(offset).limit(limit)
            )
        ).all()
        sides = await _sides(session, [row.id for row in rows], day)
        return [employee_record(row, sides[row.id]) for row in rows], total
    # A status is the two sides composed: every match is composed, then the window taken.
    rows = (await session.scalars(select(Member).where(*conditions).order_by(*order))).all()
    sides = await _sides(session, [row.id for row in rows], day)
    records = [employee_record(row, sides[row.id]) for row in rows]
    matching = [record for record in records if record["status"] in statuses]
    return matching[offset : offset + limit], len(matching)
