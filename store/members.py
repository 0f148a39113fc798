"""Members, their snapshots and transactions: the reads and writes intake and activities share."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, bindparam, func, literal_column, null, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.enums import LineOfCoverage
from domain.member_changes import (
    IN_PROGRESS,
    FulfillmentStatus,
    SnapshotStatus,
    TransactionStatus,
)
from domain.members import CarrierMember, GroupSetup, KnownMember, PlanOption
from domain.plans import cobra_eligible, is_voluntary
from domain.snapshots import IndividualType
from domain.snapshots import MemberSnapshot as SnapshotPayload
from store import census
from store.db import Statement, hold_locks, hold_shared_lock, id_param, ids_param
from store.models import (
    CarrierConfiguration,
    FulfillmentWake,
    Member,
    MemberSnapshot,
    MemberTransaction,
    Plan,
)
from store.versioning import save_version

# A statement's group, by id (`store.db.Statement`).
_GROUP = id_param("group_id")


class UnknownMember(LookupError):
    """A snapshot names an engine id that is not the employee's (the contract answers 404)."""


@dataclass
class SnapshotMembers:
    """The engine's ids for the snapshot's employee and dependents, in order; new ones unsaved."""

    employee_id: uuid.UUID
    dependent_ids: list[uuid.UUID]
    created: list[Member] = field(default_factory=list)
    # Members known only from a carrier's census, linked by the snapshot: the platform id each
    # takes once the snapshot is kept (`adopt_platform_ids`; a dry run keeps nothing).
    linked: dict[uuid.UUID, str | None] = field(default_factory=dict)


async def snapshot_members(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    snapshot: SnapshotPayload,
) -> SnapshotMembers:
    """Find each person of the snapshot by engine id or platform id, or make a new member.

    New members are returned in `created`, not added: a dry run must not keep them.
    """
    employee = snapshot.employee
    created: list[Member] = []
    household = await _household(session, group_id, employee.id, employee.custom_individual_id)
    if employee.id is not None and household is None:
        raise UnknownMember("employee.id names no employee of this group")
    linked: dict[uuid.UUID, str | None] = {}
    if household is None and snapshot.enable_member_auto_link:
        found = await census.link_employee(session, group_id, employee)
        if found is not None:
            linked[found.id] = employee.custom_individual_id
            household = await _household(session, group_id, found.id, None)
    if household is None:
        employee_id = uuid.uuid4()
        created.append(
            Member(
                id=employee_id,
                organization_id=organization_id,
                group_id=group_id,
                employee_id=employee_id,
                individual_type=IndividualType.EMPLOYEE.value,
                custom_individual_id=employee.custom_individual_id,
            )
        )
        existing: list[KnownMember] = []
    else:
        employee_id, existing = household
    by_id = {member.id: member for member in existing}
    by_custom = {m.custom_individual_id: m for m in existing if m.custom_individual_id}
    matched = (
        await census.link_dependents(session, employee_id, snapshot, existing)
        if household is not None and snapshot.enable_member_auto_link
        else {}
    )
    dependent_ids: list[uuid.UUID] = []
    for index, dependent in enumerate(snapshot.dependents):
        if dependent.id is not None:
            if dependent.id not in by_id:
                raise UnknownMember(f"dependents.{index}.id names no dependent of this employee")
            dependent_ids.append(dependent.id)
            continue
        known = by_custom.get(dependent.custom_individual_id or "")
        if known is not None:
            dependent_ids.append(known.id)
            continue
        if index in matched:
            linked[matched[index]] = dependent.custom_individual_id
            dependent_ids.append(matched[index])
            continue
        new = Member(
            id=uuid.uuid4(),
            organization_id=organization_id,
            group_id=group_id,
            employee_id=employee_id,
            individual_type=IndividualType.DEPENDENT.value,
            custom_individual_id=dependent.custom_individual_id,
        )
        created.append(new)
        dependent_ids.append(new.id)
    return SnapshotMembers(employee_id, dependent_ids, created, linked)


async def _household(
    session: AsyncSession,
    group_id: uuid.UUID,
    employee_id: uuid.UUID | None,
    custom_individual_id: str | None,
) -> tuple[uuid.UUID, list[KnownMember]] | None:
    """The group's employee named by engine id (else by platform id), and their dependents, in
    one statement; None when the group has no such employee."""
    if employee_id is not None:
        rows = await _HOUSEHOLD_BY_ID.fetch(session, group_id=group_id, id=employee_id)
    else:
        rows = await _HOUSEHOLD_BY_CUSTOM_ID.fetch(
            session, group_id=group_id, custom_individual_id=custom_individual_id
        )
    employees = [row["id"] for row in rows if row["individual_type"] == _EMPLOYEE]
    if not employees:
        return None
    dependents = [
        KnownMember(row["id"], row["custom_individual_id"])
        for row in rows
        if row["individual_type"] == IndividualType.DEPENDENT.value
    ]
    return employees[0], dependents


_EMPLOYEE = IndividualType.EMPLOYEE.value


def _household_of(employee: Any) -> Statement:
    """The employee whose id the `employee` query selects (one row or none), and their
    dependents: an employee's `employee_id` is its own id. Columns, not entities: intake runs
    it on every snapshot, and the ORM's lookup of the employee alone was 5% of the API's CPU."""
    return Statement(
        select(Member.id, Member.individual_type, Member.custom_individual_id).where(
            Member.employee_id == employee.scalar_subquery()
        )
    )


_OF_GROUP = aliased(Member)
# A literal, not a parameter: the platform-id index covers employees only, and a generic plan
# of a parameter could not use it.
_IS_EMPLOYEE = _OF_GROUP.individual_type == literal_column(f"'{_EMPLOYEE}'")
_HOUSEHOLD_BY_ID = _household_of(
    select(_OF_GROUP.id).where(
        _OF_GROUP.id == id_param("id"),
        _OF_GROUP.group_id == _GROUP,
        _IS_EMPLOYEE,
    )
)
_HOUSEHOLD_BY_CUSTOM_ID = _household_of(
    select(_OF_GROUP.id).where(
        _OF_GROUP.group_id == _GROUP,
        _IS_EMPLOYEE,
        _OF_GROUP.custom_individual_id == bindparam("custom_individual_id", type_=String),
    )
)


async def adopt_platform_ids(session: AsyncSession, members: SnapshotMembers) -> None:
    """The platform's ids of the members the snapshot linked, kept so its next snapshot finds
    them by `custom_individual_id`."""
    for member_id, custom_individual_id in members.linked.items():
        if custom_individual_id is None:
            continue
        member = await session.get(Member, member_id)
        if member is not None:
            member.custom_individual_id = custom_individual_id


async def group_setup(
    session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID
) -> GroupSetup:
    """The group's carrier configuration and active plans at the carrier, as stored now."""
    return (await group_setups(session, group_id, [carrier_id]))[carrier_id]


async def group_setups(
    session: AsyncSession, group_id: uuid.UUID, carrier_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, GroupSetup]:
    """`group_setup` for each carrier, in one query whatever their number."""
    rows = await _SETUPS.fetch(session, group_id=group_id, carrier_ids=list(carrier_ids))
    configurations: dict[uuid.UUID, dict[str, Any]] = {
        row["carrier_id"]: row["details"] for row in rows if row["id"] is None
    }
    plans = [row for row in rows if row["id"] is not None]
    return {
        carrier_id: GroupSetup(
            carrier_id=carrier_id,
            configuration=configurations.get(carrier_id) or {},
            plans=tuple(
                PlanOption(
                    id=plan["id"],
                    carrier_plan_id=plan["carrier_plan_id"],
                    line_of_coverage=LineOfCoverage(plan["line_of_coverage"]),
                    name=str(plan["details"].get("name") or ""),
                    voluntary=is_voluntary(plan["details"]),
                    plan_configuration=plan["details"].get("plan_configuration") or {},
                    cobra_eligible=cobra_eligible(plan["details"]),
                )
                for plan in plans
                if plan["carrier_id"] == carrier_id
            ),
        )
        for carrier_id in carrier_ids
    }


_CARRIERS = ids_param("carrier_ids")
# Columns, not entities: intake reads every plan of the group on each snapshot, and of each
# plan's details only what a `PlanOption` holds (decoding every plan's whole document was a
# twentieth of the API's CPU). The carrier configurations come in the same statement, as rows
# without a plan id, their configuration in `details`.
_OPTION_DETAILS = ("name", "voluntary", "plan_type", "plan_configuration", "cobra_rules")
_SETUPS = Statement(
    union_all(
        select(
            Plan.id,
            Plan.carrier_id,
            Plan.carrier_plan_id,
            Plan.line_of_coverage,
            func.jsonb_build_object(
                *(part for key in _OPTION_DETAILS for part in (key, Plan.details[key]))
            ).label("details"),
        ).where(
            Plan.group_id == _GROUP,
            Plan.carrier_id == func.any(_CARRIERS),
            Plan.status == "active",
        ),
        select(
            null(),
            CarrierConfiguration.carrier_id,
            null(),
            null(),
            CarrierConfiguration.configuration,
        ).where(
            CarrierConfiguration.group_id == _GROUP,
            CarrierConfiguration.carrier_id == func.any(_CARRIERS),
        ),
    )
)


async def latest_snapshot(session: AsyncSession, employee_id: uuid.UUID) -> MemberSnapshot | None:
    """The employee's newest snapshot still pursued (not replaced or canceled)."""
    return await session.scalar(
        select(MemberSnapshot).where(*_PURSUED).order_by(*_NEWEST).limit(1),
        {"employee_id": employee_id},
    )


async def latest_coverages(
    session: AsyncSession, employee_id: uuid.UUID
) -> list[dict[str, Any]] | None:
    """The coverages of `latest_snapshot` after processing, without reading the rest of it (the
    payloads as received and per carrier); None when the employee has no such snapshot."""
    coverages: list[dict[str, Any]] | None = await _LATEST_COVERAGES.fetchval(
        session, employee_id=employee_id
    )
    return coverages


_PURSUED = (
    MemberSnapshot.employee_id == id_param("employee_id"),
    MemberSnapshot.status != SnapshotStatus.REPLACED.value,
    MemberSnapshot.status != SnapshotStatus.CANCELED.value,
)
_NEWEST = (MemberSnapshot.created.desc(), MemberSnapshot.modified.desc())
_LATEST_COVERAGES = Statement(
    select(MemberSnapshot.member_snapshot["coverages"]).where(*_PURSUED).order_by(*_NEWEST).limit(1)
)


async def replace_in_progress(
    session: AsyncSession, employee_id: uuid.UUID, newer: uuid.UUID
) -> list[uuid.UUID]:
    """Mark the employee's in-progress snapshots replaced by `newer`; their ids."""
    # Most snapshots find none: asked first without the ORM, which loads only what it replaces.
    if not await _IN_PROGRESS.fetch(session, employee_id=employee_id):
        return []
    rows = (
        await session.scalars(
            select(MemberSnapshot).where(*_IN_PROGRESS_OF).with_for_update(key_share=True),
            {"employee_id": employee_id},
        )
    ).all()
    for row in rows:
        row.status = SnapshotStatus.REPLACED.value
        row.replaced_by = newer
        row.fulfillment_summary = [
            {**entry, "status": FulfillmentStatus.REPLACED.value}
            if entry["status"] != FulfillmentStatus.SENT.value
            else entry
            for entry in row.fulfillment_summary
        ]
        await save_version(session, row, history=False)
    return [row.id for row in rows]


_IN_PROGRESS_OF = (
    MemberSnapshot.employee_id == id_param("employee_id"),
    or_(*(MemberSnapshot.status == status.value for status in sorted(IN_PROGRESS))),
)
# Whether any is in progress; no lock is needed to find none, since the locking read that
# follows would find none either: no snapshot becomes in progress again, and one another
# intake stores is not seen by either until it commits.
_IN_PROGRESS = Statement(select(MemberSnapshot.id).where(*_IN_PROGRESS_OF))


# How often an intake that found the wake off looks again while another intake turns it on
# (that one's signal and commit).
WAKE_RECHECK = 0.05


async def needs_wake(session: AsyncSession, group_id: uuid.UUID) -> bool:
    """Note that the group has a snapshot to build; true when the caller must signal its loop,
    because nobody has since the loop's last build began (`take_wake`).

    Run it last before the commit. It holds the group's wake lock shared until then, so a build
    beginning meanwhile (which takes it alone) reads the submitted snapshots only once this one
    is committed; a build that began before turned the row off first, and this call sees it
    off, turns it on and answers true. Intakes finding the row on share the lock and take no
    row lock: a burst to one group no longer commits one intake at a time. Turning it on locks
    the row until the commit, so a group's signals never overlap; intakes that found it off
    meanwhile look again until that one committed (they see it on) or rolled back (one of
    them turns it on).
    """
    await hold_shared_lock(session, _wake_lock(group_id))
    signalled = await _signalled(session, group_id)
    if signalled is None:
        # The group's first snapshots create the row: an upsert waits for another one
        # creating it (an UPDATE would not see that row). Once per group.
        return await _CREATE_WAKE_ON.fetchval(session, group_id=group_id) is not None
    while not signalled:
        # Turn it on if no other intake is: that one holds the row until its commit.
        if await _TURN_WAKE_ON.fetchval(session, group_id=group_id) is not None:
            return True
        # Another intake is turning it on: look again shortly, holding no lock on the row. Any
        # lock a statement takes on it (a locking read, an UPDATE or the upsert, even one that
        # then changes nothing) is held to the commit, so every intake that found the row off
        # would wait for the commit of the one before it.
        await asyncio.sleep(WAKE_RECHECK)
        signalled = bool(await _signalled(session, group_id))
    return False


async def _signalled(session: AsyncSession, group_id: uuid.UUID) -> bool | None:
    """Whether the group's wake is on; None when it has no wake row yet."""
    signalled: bool | None = await _WAKE.fetchval(session, group_id=group_id)
    return signalled


async def take_wake(session: AsyncSession, group_id: uuid.UUID) -> None:
    """A build begins: the next snapshot stored must signal the loop again. Commit it before
    reading the submitted snapshots.

    It waits for every intake holding the group's wake lock (`needs_wake`), also one that is
    turning the row on, or creating it with the group's first snapshot. Not waiting would let
    that intake's commit leave the wake on with no build to come, and no later snapshot of the
    group would signal.
    """
    await hold_locks(session, [_wake_lock(group_id)])
    await _TURN_WAKE_OFF.fetch(session, group_id=group_id)


_WAKE = Statement(select(FulfillmentWake.signalled).where(FulfillmentWake.group_id == _GROUP))
_CREATE_WAKE_ON = Statement(
    insert(FulfillmentWake)
    .values(group_id=_GROUP, signalled=True)
    .on_conflict_do_update(
        index_elements=[FulfillmentWake.group_id],
        set_={"signalled": True},
        where=~FulfillmentWake.signalled,
    )
    .returning(FulfillmentWake.group_id)
)
# Locks the row only if no other intake holds it (that one is turning it on); then turns it on.
_TURN_WAKE_ON = Statement(
    update(FulfillmentWake)
    .where(
        FulfillmentWake.group_id.in_(
            select(FulfillmentWake.group_id)
            .where(FulfillmentWake.group_id == _GROUP, ~FulfillmentWake.signalled)
            .with_for_update(key_share=True, skip_locked=True)
        )
    )
    .values(signalled=True)
    .returning(FulfillmentWake.group_id)
)
_TURN_WAKE_OFF = Statement(
    insert(FulfillmentWake)
    .values(group_id=_GROUP, signalled=False)
    .on_conflict_do_update(index_elements=[FulfillmentWake.group_id], set_={"signalled": False})
)


def _wake_lock(group_id: uuid.UUID) -> str:
    """The advisory lock ordering a group's intakes (shared) before or after a build's read."""
    return f"fulfillment-wake:{group_id}"


# An employee at a carrier: whose transactions are built and sent in turn.
MemberAtCarrier = tuple[uuid.UUID, uuid.UUID]  # (employee id, carrier id)


async def lock_members_at_carriers(session: AsyncSession, pairs: Iterable[MemberAtCarrier]) -> None:
    """Serialize building and sending each employee's transactions at a carrier (until commit)."""
    await hold_locks(
        session, (f"member:{employee_id}:{carrier_id}" for employee_id, carrier_id in pairs)
    )


# Each side filtered alone, so the employee index serves it; callers keep only their pairs.
_EMPLOYEES = ids_param("employees")
_LAST_SENT = Statement(
    select(MemberTransaction.employee_id, MemberTransaction.carrier_id, MemberTransaction.body)
    .where(
        MemberTransaction.employee_id == func.any(_EMPLOYEES),
        MemberTransaction.carrier_id == func.any(_CARRIERS),
        or_(
            MemberTransaction.status == TransactionStatus.PROCESSING.value,
            MemberTransaction.status == TransactionStatus.COMPLETED.value,
        ),
    )
    .order_by(
        MemberTransaction.employee_id,
        MemberTransaction.carrier_id,
        MemberTransaction.position.desc(),
    )
    .ext(distinct_on(MemberTransaction.employee_id, MemberTransaction.carrier_id))
)


async def last_sent_members(
    session: AsyncSession, pairs: AbstractSet[MemberAtCarrier]
) -> dict[MemberAtCarrier, CarrierMember]:
    """What each carrier was last told of each employee, in one query: the newest transaction
    not canceled or refused by the carrier. Absent when it was told nothing."""
    if not pairs:
        return {}
    rows = await _LAST_SENT.fetch(
        session,
        employees=list({employee_id for employee_id, _ in pairs}),
        carrier_ids=list({carrier_id for _, carrier_id in pairs}),
    )
    sent = {
        (row["employee_id"], row["carrier_id"]): CarrierMember.model_validate(row["body"]["member"])
        for row in rows
        if (row["employee_id"], row["carrier_id"]) in pairs
    }
    # Never told anything: the carrier still holds what its census showed, so the first
    # snapshot of a member it already had is a change against that, not a new hire.
    sent.update(await census.held_members(session, pairs - sent.keys()))
    return sent


# Built once: the same ORM statement with an IN list of a build's employees cost the worker
# about 2% of its CPU, coercing every id into the list (issue 23's profile).
_UNSENT = (
    select(MemberTransaction)
    .where(
        MemberTransaction.employee_id == func.any(_EMPLOYEES),
        MemberTransaction.carrier_id == func.any(_CARRIERS),
        MemberTransaction.status == TransactionStatus.PROCESSING.value,
        # Not yet claimed for sending: a claimed one is going to the carrier.
        MemberTransaction.idempotency_key.is_(None),
        MemberTransaction.member_snapshot_id.in_(
            select(MemberSnapshot.id).where(
                MemberSnapshot.employee_id == func.any(_EMPLOYEES),
                MemberSnapshot.status == SnapshotStatus.REPLACED.value,
            )
        ),
    )
    .order_by(MemberTransaction.position)
    .with_for_update(key_share=True)
)


async def cancel_unsent(
    session: AsyncSession, pairs: AbstractSet[MemberAtCarrier]
) -> list[MemberTransaction]:
    """The transactions of replaced snapshots of these employees at these carriers not yet
    claimed for sending (no idempotency key stored), locked for the caller to cancel."""
    if not pairs:
        return []
    rows = (
        await session.scalars(
            _UNSENT,
            {
                "employees": list({employee_id for employee_id, _ in pairs}),
                "carrier_ids": list({carrier_id for _, carrier_id in pairs}),
            },
        )
    ).all()
    return [row for row in rows if (row.employee_id, row.carrier_id) in pairs]
