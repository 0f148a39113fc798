"""Carrier holdings: each carrier's census of a group kept as the carrier's view of each member.

`store_census_page` keeps one page read from the carrier: each employee is found among the
engine's members (by a holding at this carrier, the carrier's id, the platform id the carrier
knows, or the same SSN and date of birth held at another carrier) or made a new member, with
its dependents; its holding is written as a new version only when it changed. The same page
stored twice changes nothing, so a retried activity is safe.

Linking (`census_candidates`, `census_dependents`) reads the members the engine knows only
from a census: members without a snapshot.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import exists, func, insert, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from domain.census import (
    CensusCandidate,
    CensusDependent,
    CensusMember,
    match_dependents,
    match_employee,
    match_key,
    to_carrier_member,
)
from domain.errors import ValidationFailed
from domain.member_changes import SnapshotStatus
from domain.members import CarrierDependent, CarrierMember, KnownMember
from domain.snapshots import Employee as SnapshotEmployee
from domain.snapshots import IndividualType
from domain.snapshots import MemberSnapshot as SnapshotPayload
from store.db import Statement, ids_param
from store.models import CarrierHolding, Member, MemberSnapshot, Plan, unix_now
from store.versioning import save_versions


@dataclass(frozen=True)
class StoredPage:
    """What storing a page did, and each stored employee's view for the comparison."""

    members: int
    views: dict[uuid.UUID, tuple[uuid.UUID, CarrierMember]]  # employee id -> (holding, view)
    # What the platform last sent of the page's known employees (`platform_views`).
    platform: dict[uuid.UUID, tuple[uuid.UUID, CarrierMember]]


async def store_census_page(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    carrier_id: uuid.UUID,
    members: Iterable[CensusMember],
    fetched_at: int,
) -> StoredPage:
    """Keep one census page as the carrier's view of each of its employees (see the module)."""
    page = list(members)
    plan_ids = {
        carrier_plan_id: plan_id
        for carrier_plan_id, plan_id in await session.execute(
            select(Plan.carrier_plan_id, Plan.id).where(
                Plan.group_id == group_id, Plan.carrier_id == carrier_id
            )
        )
    }
    carrier_ids = [census.employee.id for census in page]
    holdings = {
        row.carrier_member_id: row
        for row in await session.scalars(
            select(CarrierHolding).where(
                CarrierHolding.group_id == group_id,
                CarrierHolding.carrier_id == carrier_id,
                CarrierHolding.carrier_member_id.in_(carrier_ids),
            )
        )
    }
    employees = await _employees_of(session, group_id, page, holdings)
    dependents = await _dependents_of(session, employees.values())
    # Carrier ids another group's member already has: such a member gets an id of its own.
    wanted = {
        parsed
        for census in page
        for carrier_id in (census.employee.id, *(d.id for d in census.dependents))
        if (parsed := _as_uuid(carrier_id)) is not None
    }
    taken = set(await session.scalars(select(Member.id).where(Member.id.in_(wanted))))
    platform = await platform_views(
        session, carrier_id, [employee.id for employee in employees.values()]
    )
    created: list[Member] = []
    changed: list[CarrierHolding] = []
    new: list[CarrierHolding] = []
    views: dict[uuid.UUID, tuple[uuid.UUID, CarrierMember]] = {}
    for census in page:
        employee = employees.get(census.employee.id)
        if employee is None:
            employee = _new_member(
                organization_id,
                group_id,
                census.employee.id,
                None,
                census.custom_individual_id,
                taken=taken,
            )
            created.append(employee)
        engine_ids = {census.employee.id: employee.id}
        known = dependents.get(employee.id, {})
        earlier = holdings.get(census.employee.id)
        by_person = _dependents_by_person(
            [d for d in census.dependents if d.id not in known],
            [
                *(CarrierMember.model_validate(earlier.member).dependents if earlier else ()),
                *(platform[employee.id][1].dependents if employee.id in platform else ()),
            ],
        )
        for dependent in census.dependents:
            if dependent.id in known:
                engine_ids[dependent.id] = known[dependent.id].id
            elif dependent.id in by_person:
                engine_ids[dependent.id] = by_person[dependent.id]
            else:
                made = _new_member(
                    organization_id, group_id, dependent.id, employee.id, None, taken=taken
                )
                created.append(made)
                engine_ids[dependent.id] = made.id
        view = to_carrier_member(census, engine_ids=engine_ids, plan_ids=plan_ids)
        data = view.model_dump(mode="json")
        holding = holdings.get(census.employee.id)
        if holding is None:
            holding = CarrierHolding(
                id=uuid.uuid4(),
                organization_id=organization_id,
                group_id=group_id,
                carrier_id=carrier_id,
                employee_id=employee.id,
                carrier_member_id=census.employee.id,
                member=data,
                terminated=census.terminated,
                match_key=match_key(census.employee.person),
                fetched=fetched_at,
            )
            new.append(holding)
        elif holding.member != data or holding.terminated != census.terminated:
            holding.member = data
            holding.terminated = census.terminated
            holding.match_key = match_key(census.employee.person)
            holding.fetched = fetched_at
            changed.append(holding)
        views[employee.id] = (holding.id, view)
    if created:
        # One multi-row INSERT: a page makes hundreds of members, and the ORM's unit of work
        # spent most of a page's time on them (bench.census).
        now = unix_now()
        await session.execute(
            insert(Member),
            [
                {
                    "id": member.id,
                    "organization_id": member.organization_id,
                    "group_id": member.group_id,
                    "employee_id": member.employee_id,
                    "individual_type": member.individual_type,
                    "custom_individual_id": member.custom_individual_id,
                    "created": now,
                }
                for member in created
            ],
        )
    await save_versions(session, new, is_new=True, history=True)
    await save_versions(session, changed, history=True)
    return StoredPage(members=len(page), views=views, platform=platform)


def _dependents_by_person(
    census: Sequence[CensusDependent], engine: Sequence[CarrierDependent]
) -> dict[str, uuid.UUID]:
    """The engine's dependent each census dependent is, by name and date of birth (an earlier
    census read of them, or the platform's snapshot); an ambiguous one is left unmatched."""
    if not census or not engine:
        return {}
    candidates = list({d.id: CensusCandidate(d.id, d.person) for d in engine}.values())
    try:
        matches = match_dependents([d.person for d in census], candidates)
    except ValidationFailed:
        return {}
    return {
        dependent.id: match
        for dependent, match in zip(census, matches, strict=True)
        if match is not None
    }


def _new_member(
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    carrier_id: str,
    employee_id: uuid.UUID | None,
    custom_individual_id: str | None,
    *,
    taken: Collection[uuid.UUID],
) -> Member:
    """A member the engine learns of from a census. It takes the carrier's id when that is a
    UUID (the sandbox's are), so the carrier recognises the member in the engine's
    transactions; `_employees_of` and `_dependents_of` already found any member with it."""
    member_id = _as_uuid(carrier_id)
    if member_id is None or member_id in taken:
        member_id = uuid.uuid4()
    return Member(
        id=member_id,
        organization_id=organization_id,
        group_id=group_id,
        employee_id=employee_id or member_id,
        individual_type=(
            IndividualType.DEPENDENT if employee_id else IndividualType.EMPLOYEE
        ).value,
        custom_individual_id=custom_individual_id,
    )


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _employees_of(
    session: AsyncSession,
    group_id: uuid.UUID,
    page: list[CensusMember],
    holdings: dict[str, CarrierHolding],
) -> dict[str, Member]:
    """The engine's employee for each census employee already known, by the carrier's id."""
    found: dict[str, Member] = {}
    by_holding = {holding.employee_id: key for key, holding in holdings.items()}
    by_id = {_as_uuid(c.employee.id): c.employee.id for c in page if c.employee.id not in holdings}
    by_id.pop(None, None)
    by_custom = {
        c.custom_individual_id: c.employee.id
        for c in page
        if c.custom_individual_id and c.employee.id not in holdings
    }
    keys = {match_key(c.employee.person): c.employee.id for c in page}
    keys.pop(None, None)
    rows = await session.scalars(
        select(Member).where(
            Member.group_id == group_id,
            Member.individual_type == IndividualType.EMPLOYEE.value,
            Member.id.in_([*by_holding, *by_id]) | Member.custom_individual_id.in_(list(by_custom)),
        )
    )
    for member in rows:
        key = by_holding.get(member.id) or by_id.get(member.id)
        key = key or by_custom.get(member.custom_individual_id or "")
        if key is not None:
            found.setdefault(key, member)
    # The same person held at another carrier of the group: one engine member for both.
    missing = {k: v for k, v in keys.items() if v not in found}
    if missing:
        matched = await session.execute(
            select(CarrierHolding.match_key, Member)
            .join(Member, Member.id == CarrierHolding.employee_id)
            .where(CarrierHolding.group_id == group_id, CarrierHolding.match_key.in_(missing))
        )
        for key, member in matched:
            if key is not None:
                found.setdefault(missing[key], member)
    return found


async def _dependents_of(
    session: AsyncSession, employees: Iterable[Member]
) -> dict[uuid.UUID, dict[str, Member]]:
    """Each known employee's dependents, by the carrier's id (their engine id as a string)."""
    ids = [employee.id for employee in employees]
    if not ids:
        return {}
    found: dict[uuid.UUID, dict[str, Member]] = {}
    rows = await session.scalars(
        select(Member).where(
            Member.employee_id.in_(ids), Member.individual_type == IndividualType.DEPENDENT.value
        )
    )
    for member in rows:
        found.setdefault(member.employee_id, {})[str(member.id)] = member
    return found


async def platform_views(
    session: AsyncSession, carrier_id: uuid.UUID, employee_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, CarrierMember]]:
    """What the platform last asked this carrier to hold for each employee: (snapshot id, the
    newest pursued snapshot's member at the carrier); absent without a snapshot.

    A snapshot sent for other carriers only (the group connects to this one later) still
    says who the employee and dependents are: their people, with no coverage here."""
    if not employee_ids:
        return {}
    rows = await session.execute(
        select(MemberSnapshot.employee_id, MemberSnapshot.id, MemberSnapshot.carrier_members)
        .where(
            MemberSnapshot.employee_id.in_(list(employee_ids)),
            MemberSnapshot.status.not_in(
                [SnapshotStatus.REPLACED.value, SnapshotStatus.CANCELED.value]
            ),
        )
        .order_by(MemberSnapshot.employee_id, MemberSnapshot.created.desc())
        .ext(distinct_on(MemberSnapshot.employee_id))
    )
    views: dict[uuid.UUID, tuple[uuid.UUID, CarrierMember]] = {}
    for employee_id, snapshot_id, carrier_members in rows:
        member = carrier_members.get(str(carrier_id))
        if member is not None:
            views[employee_id] = (snapshot_id, CarrierMember.model_validate(member))
        elif carrier_members:
            elsewhere = CarrierMember.model_validate(next(iter(carrier_members.values())))
            views[employee_id] = (snapshot_id, elsewhere.model_copy(update={"coverages": ()}))
    return views


async def held_members(
    session: AsyncSession, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], CarrierMember]:
    """What each carrier holds of each (employee, carrier) from its census; absent if nothing."""
    if not pairs:
        return {}
    rows = await _HELD.fetch(
        session,
        employees=list({employee for employee, _ in pairs}),
        carrier_ids=list({carrier for _, carrier in pairs}),
    )
    return {
        (row["employee_id"], row["carrier_id"]): CarrierMember.model_validate(row["member"])
        for row in rows
        if (row["employee_id"], row["carrier_id"]) in pairs
    }


_HELD = Statement(
    select(CarrierHolding.employee_id, CarrierHolding.carrier_id, CarrierHolding.member).where(
        CarrierHolding.employee_id == func.any(ids_param("employees")),
        CarrierHolding.carrier_id == func.any(ids_param("carrier_ids")),
    )
)


def _census_only() -> object:
    """Members with no snapshot: the engine knows them only from a carrier's census."""
    return ~exists(select(MemberSnapshot.id).where(MemberSnapshot.employee_id == Member.id))


async def census_candidates(
    session: AsyncSession, group_id: uuid.UUID, person: dict[str, object]
) -> list[CensusCandidate]:
    """The group's census-only employees held with the person's SSN and date of birth."""
    key = match_key(person)
    if key is None:
        return []
    rows = await session.execute(
        select(CarrierHolding.employee_id, CarrierHolding.member)
        .join(Member, Member.id == CarrierHolding.employee_id)
        .where(
            CarrierHolding.group_id == group_id,
            CarrierHolding.match_key == key,
            _census_only(),  # type: ignore[arg-type]
        )
    )
    return [
        CensusCandidate(id=employee_id, person=member["employee"]["person"])
        for employee_id, member in rows
    ]


async def census_dependents(session: AsyncSession, employee_id: uuid.UUID) -> list[CensusCandidate]:
    """The dependents any carrier holds for the employee, each once, with their person."""
    rows = await session.scalars(
        select(CarrierHolding.member).where(CarrierHolding.employee_id == employee_id)
    )
    found: dict[uuid.UUID, CensusCandidate] = {}
    for member in rows:
        for dependent in member.get("dependents", []):
            dependent_id = uuid.UUID(dependent["id"])
            found.setdefault(dependent_id, CensusCandidate(dependent_id, dependent["person"]))
    return list(found.values())


async def link_employee(
    session: AsyncSession, group_id: uuid.UUID, employee: SnapshotEmployee
) -> Member | None:
    """The census-only employee of the group the snapshot's employee is (same SSN and date of
    birth), or None; `ValidationFailed` naming `employee` when more than one is."""
    person = employee.person.model_dump(mode="json")
    matched = match_employee(person, await census_candidates(session, group_id, person))
    return None if matched is None else await session.get(Member, matched)


async def link_dependents(
    session: AsyncSession,
    employee_id: uuid.UUID,
    snapshot: SnapshotPayload,
    existing: Iterable[KnownMember],
) -> dict[int, uuid.UUID]:
    """By snapshot dependent index, the census-only dependent of the employee it is (same name
    and date of birth); `ValidationFailed` naming `dependents.{index}` when ambiguous.

    Only dependents the platform has not named yet are candidates (no platform id), and only
    snapshot dependents sent without an engine id or a known platform id are matched.
    """
    unnamed = {member.id for member in existing if member.custom_individual_id is None}
    known_custom = {m.custom_individual_id for m in existing if m.custom_individual_id}
    sent_ids = {dependent.id for dependent in snapshot.dependents if dependent.id is not None}
    candidates = [
        candidate
        for candidate in await census_dependents(session, employee_id)
        if candidate.id in unnamed and candidate.id not in sent_ids
    ]
    if not candidates:
        return {}
    persons = [
        None
        if dependent.id is not None or dependent.custom_individual_id in known_custom
        else dependent.person.model_dump(mode="json")
        for dependent in snapshot.dependents
    ]
    return {
        index: match
        for index, match in enumerate(match_dependents(persons, candidates))
        if match is not None
    }
