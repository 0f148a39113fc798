"""Members, their snapshots and transactions: the reads and writes intake and activities share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import LineOfCoverage
from domain.member_changes import (
    IN_PROGRESS,
    FulfillmentStatus,
    SnapshotStatus,
    TransactionStatus,
)
from domain.members import CarrierMember, GroupSetup, PlanOption
from domain.plans import is_voluntary
from domain.snapshots import IndividualType
from domain.snapshots import MemberSnapshot as SnapshotPayload
from store.db import hold_lock
from store.models import (
    CarrierConfiguration,
    Member,
    MemberSnapshot,
    MemberTransaction,
    Plan,
)
from store.versioning import save_version


class UnknownMember(LookupError):
    """A snapshot names an engine id that is not the employee's (the contract answers 404)."""


@dataclass
class SnapshotMembers:
    """The engine's ids for the snapshot's employee and dependents, in order; new ones unsaved."""

    employee_id: uuid.UUID
    dependent_ids: list[uuid.UUID]
    created: list[Member] = field(default_factory=list)


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
    found: Member | None
    if employee.id is not None:
        found = await session.get(Member, employee.id)
        if (
            found is None
            or found.group_id != group_id
            or found.individual_type != IndividualType.EMPLOYEE.value
        ):
            raise UnknownMember("employee.id names no employee of this group")
    else:
        found = await session.scalar(
            select(Member).where(
                Member.group_id == group_id,
                Member.individual_type == IndividualType.EMPLOYEE.value,
                Member.custom_individual_id == employee.custom_individual_id,
            )
        )
    if found is None:
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
    else:
        employee_id = found.id

    existing = (
        (
            await session.scalars(
                select(Member).where(
                    Member.employee_id == employee_id,
                    Member.individual_type == IndividualType.DEPENDENT.value,
                )
            )
        ).all()
        if found is not None
        else []
    )
    by_id = {member.id: member for member in existing}
    by_custom = {m.custom_individual_id: m for m in existing if m.custom_individual_id}
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
    return SnapshotMembers(employee_id, dependent_ids, created)


async def group_setup(
    session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID
) -> GroupSetup:
    """The group's carrier configuration and active plans at the carrier, as stored now."""
    configuration = await session.scalar(
        select(CarrierConfiguration.configuration).where(
            CarrierConfiguration.group_id == group_id,
            CarrierConfiguration.carrier_id == carrier_id,
        )
    )
    plans = (
        await session.scalars(
            select(Plan).where(
                Plan.group_id == group_id, Plan.carrier_id == carrier_id, Plan.status == "active"
            )
        )
    ).all()
    return GroupSetup(
        carrier_id=carrier_id,
        configuration=configuration or {},
        plans=tuple(
            PlanOption(
                id=plan.id,
                carrier_plan_id=plan.carrier_plan_id,
                line_of_coverage=LineOfCoverage(plan.line_of_coverage),
                name=str(plan.details.get("name") or ""),
                voluntary=is_voluntary(plan.details),
                plan_configuration=plan.details.get("plan_configuration") or {},
            )
            for plan in plans
        ),
    )


async def latest_snapshot(session: AsyncSession, employee_id: uuid.UUID) -> MemberSnapshot | None:
    """The employee's newest snapshot still pursued (not replaced or canceled)."""
    return await session.scalar(
        select(MemberSnapshot)
        .where(
            MemberSnapshot.employee_id == employee_id,
            MemberSnapshot.status.not_in(
                [SnapshotStatus.REPLACED.value, SnapshotStatus.CANCELED.value]
            ),
        )
        .order_by(MemberSnapshot.created.desc(), MemberSnapshot.modified.desc())
        .limit(1)
    )


async def replace_in_progress(
    session: AsyncSession, employee_id: uuid.UUID, newer: uuid.UUID
) -> list[uuid.UUID]:
    """Mark the employee's in-progress snapshots replaced by `newer`; their ids."""
    rows = (
        await session.scalars(
            select(MemberSnapshot)
            .where(
                MemberSnapshot.employee_id == employee_id,
                MemberSnapshot.status.in_([status.value for status in IN_PROGRESS]),
            )
            .with_for_update()
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


async def lock_member_at_carrier(
    session: AsyncSession, employee_id: uuid.UUID, carrier_id: uuid.UUID
) -> None:
    """Serialize building and sending an employee's transactions at one carrier (until commit)."""
    await hold_lock(session, f"member:{employee_id}:{carrier_id}")


async def last_sent_member(
    session: AsyncSession, employee_id: uuid.UUID, carrier_id: uuid.UUID
) -> CarrierMember | None:
    """What the carrier was last told of the employee: the newest transaction not canceled or
    refused by the carrier."""
    body = await session.scalar(
        select(MemberTransaction.body)
        .where(
            MemberTransaction.employee_id == employee_id,
            MemberTransaction.carrier_id == carrier_id,
            MemberTransaction.status.in_(
                [TransactionStatus.PROCESSING.value, TransactionStatus.COMPLETED.value]
            ),
        )
        .order_by(MemberTransaction.position.desc())
        .limit(1)
    )
    return None if body is None else CarrierMember.model_validate(body["member"])


async def cancel_unsent(
    session: AsyncSession, employee_id: uuid.UUID, carrier_id: uuid.UUID
) -> Sequence[MemberTransaction]:
    """Cancel the employee's unsent transactions at the carrier from replaced snapshots."""
    replaced = select(MemberSnapshot.id).where(
        MemberSnapshot.employee_id == employee_id,
        MemberSnapshot.status == SnapshotStatus.REPLACED.value,
    )
    rows = (
        await session.scalars(
            select(MemberTransaction)
            .where(
                MemberTransaction.employee_id == employee_id,
                MemberTransaction.carrier_id == carrier_id,
                MemberTransaction.status == TransactionStatus.PROCESSING.value,
                MemberTransaction.carrier_transaction_id.is_(None),
                MemberTransaction.member_snapshot_id.in_(replaced),
            )
            .with_for_update()
        )
    ).all()
    return rows
