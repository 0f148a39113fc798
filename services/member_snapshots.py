"""Member snapshot intake: check a snapshot against the group and its carriers, keep it, start it.

The API hands every snapshot here, the dry run too (`submit_snapshot`, `dry_run`), and
this owns the transaction. Refusals are `ValidationFailed` (422 naming each field),
`DuplicateDependent` (400), `NotFound` (an unknown group or member) and `Conflict` (a raced first
snapshot); a snapshot that passes is stored with each carrier's projection and its run is
started in the same database transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.registry import CARRIERS, rules_for
from domain.disconnections import EnrollmentRefused, check_enrollment_change
from domain.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from domain.member_changes import (
    ChosenCoverage,
    FulfillmentStatus,
    SnapshotStatus,
    apply_omitted_coverage_policy,
    carrier_member,
    coverage_key,
)
from domain.members import OPEN_END, CarrierMember, CoverageChoice, GroupSetup, PlanOption
from domain.snapshots import Coverage, MemberSnapshot, check_duplicate_dependents, parse_snapshot
from services.renewals import election_problems
from services.wakes import Wakes
from store.connections import carrier_links
from store.db import Database, hold_lock
from store.members import (
    SnapshotMembers,
    UnknownMember,
    adopt_platform_ids,
    group_setups,
    last_sent_members,
    latest_coverages,
    needs_wake,
    replace_in_progress,
    snapshot_members,
)
from store.models import MemberSnapshot as SnapshotRow
from store.tenancy import owned_group_name
from store.versioning import save_version
from workflows import fulfillment as wf


@dataclass
class CheckedSnapshot:
    """A snapshot that passed every check, with what storing and sending it needs."""

    members: SnapshotMembers
    processed: dict[str, Any]  # the payload after processing (`member_snapshot`)
    carrier_members: dict[str, CarrierMember]  # by carrier id
    warnings: list[str]


async def check_snapshot(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    payload: dict[str, Any],
    today: dt.date,
) -> CheckedSnapshot:
    """Every check of the contract and the carriers, in order; nothing is written."""
    snapshot = parse_snapshot(payload)
    check_duplicate_dependents(snapshot)
    await _lock_employee(session, group_id, snapshot)
    members = await snapshot_members(
        session, organization_id=organization_id, group_id=group_id, snapshot=snapshot
    )
    previous = None if _is_new(members) else await latest_coverages(session, members.employee_id)
    snapshot = apply_omitted_coverage_policy(snapshot, previous or [], today=today)

    by_carrier: dict[uuid.UUID, list[int]] = defaultdict(list)
    for index, coverage in enumerate(snapshot.coverages):
        by_carrier[coverage.carrier_id].append(index)
    problems: list[FieldProblem] = []
    chosen: dict[uuid.UUID, dict[int, ChosenCoverage]] = {}
    warnings: list[str] = []
    served = [carrier_id for carrier_id in by_carrier if carrier_id in CARRIERS]
    links = await carrier_links(session, group_id, served)
    setups = await group_setups(session, group_id, served)
    last_sent = (
        {}
        if _is_new(members)
        else await last_sent_members(
            session, {(members.employee_id, carrier_id) for carrier_id in served}
        )
    )
    for carrier_id, indexes in by_carrier.items():
        first = f"coverages.{indexes[0]}.carrier_id"
        if carrier_id not in CARRIERS:
            problems.append(FieldProblem(first, "names no carrier carrierlink serves"))
            continue
        try:
            check_enrollment_change(
                links[carrier_id],
                coverage_date=_latest_start(snapshot.coverages[i] for i in indexes),
            )
        except EnrollmentRefused as exc:
            problems.append(FieldProblem(first, str(exc)))
            continue
        setup = setups[carrier_id]
        previous_member = last_sent.get((members.employee_id, carrier_id))
        choices, plan_problems = _choices(snapshot, indexes, setup, previous_member)
        problems += plan_problems
        if plan_problems:
            continue
        try:
            outcome = rules_for(carrier_id).check_member_snapshot(snapshot, choices, setup)
        except ValidationFailed as exc:
            problems += exc.problems
            continue
        warnings += outcome.warnings
        chosen[carrier_id] = {
            choice.index: ChosenCoverage(choice.plan, outcome.carrier_configs[choice.index])
            for choice in choices
        }
    # Open-enrollment elections wait for the plan year's renewal decision to be ready.
    problems += await election_problems(session, group_id, snapshot)
    if problems:
        raise ValidationFailed(problems)

    carrier_members = {
        str(carrier_id): carrier_member(
            snapshot,
            employee_id=members.employee_id,
            dependent_ids=members.dependent_ids,
            coverages=coverages,
        )
        for carrier_id, coverages in chosen.items()
    }
    return CheckedSnapshot(
        members=members,
        processed=_processed(snapshot, members, chosen),
        carrier_members=carrier_members,
        warnings=warnings,
    )


async def take_snapshot(
    session: AsyncSession,
    signals: Wakes,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    group_name: str,
    payload: dict[str, Any],
    inbound: str,
    today: dt.date,
) -> SnapshotRow:
    """Check and store the snapshot and signal the group's fulfillment loop (starting it if
    none runs) unless it was signalled since its last build began; older snapshots of the
    employee still in progress become `replaced`. The caller's transaction commits it: if the
    signal fails, nothing is kept; if the commit fails after the signal, the loop looks for
    the snapshot a while, then forgets it. The group is the organization's, as
    `owned_group_name` found it."""
    checked = await check_snapshot(
        session, organization_id=organization_id, group_id=group_id, payload=payload, today=today
    )
    snapshot_id = uuid.uuid4()
    session.add_all(checked.members.created)
    await adopt_platform_ids(session, checked.members)
    if not _is_new(checked.members):  # a new employee has nothing in progress
        await replace_in_progress(session, checked.members.employee_id, snapshot_id)
    row = SnapshotRow(
        id=snapshot_id,
        organization_id=organization_id,
        group_id=group_id,
        employee_id=checked.members.employee_id,
        status=SnapshotStatus.SUBMITTED.value,
        inbound_snapshot=inbound,
        member_snapshot=checked.processed,
        carrier_members={
            carrier: member.model_dump(mode="json")
            for carrier, member in checked.carrier_members.items()
        },
        created_members=created_members(checked.members),
        warnings=checked.warnings,
        fulfillment_summary=fulfillment_summary(checked, FulfillmentStatus.VALID),
        workflow_id=wf.workflow_id(group_id),
    )
    await save_version(session, row, is_new=True, history=False)
    if await needs_wake(session, group_id):  # else the loop has been told and not yet built
        # Named in the run's summary in the Temporal UI (the group's name, never a member's).
        await signals.fulfillment(group_id, [snapshot_id], group_name=group_name)
    return row


async def submit_snapshot(
    db: Database,
    signals: Wakes,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    payload: dict[str, Any],
    inbound: str,
    today: dt.date,
) -> dict[str, Any]:
    """Take the snapshot into the organization's group (see `take_snapshot`) in one transaction;
    the stored snapshot."""
    try:
        async with db.transaction() as session:
            group_name = await owned_group_name(session, group_id, organization_id)
            row = await take_snapshot(
                session,
                signals,
                organization_id=organization_id,
                group_id=group_id,
                group_name=group_name,
                payload=payload,
                inbound=inbound,
                today=today,
            )
            return row.as_contract()
    except UnknownMember as exc:
        raise NotFound(str(exc)) from None
    except IntegrityError:
        # Two first snapshots of one new member raced past the lock's key (one by id, one by
        # platform id): the loser may simply send again.
        raise Conflict("another snapshot of this member was accepted first; resend") from None


async def dry_run(
    db: Database,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    payload: dict[str, Any],
    inbound: str,
    today: dt.date,
) -> dict[str, Any]:
    """Every check of a real submission, answered as one would be; nothing is stored or sent."""
    try:
        async with db.transaction() as session:
            await owned_group_name(session, group_id, organization_id)
            checked = await check_snapshot(
                session,
                organization_id=organization_id,
                group_id=group_id,
                payload=payload,
                today=today,
            )
    except UnknownMember as exc:
        raise NotFound(str(exc)) from None
    # Ids a submission would assign are not kept, so none is shown for a new member.
    new = {member.id for member in checked.members.created}
    employee_id = checked.members.employee_id
    return {
        "id": None,
        "employee_id": None if employee_id in new else str(employee_id),
        "group_id": str(group_id),
        "status": "valid",
        "member_snapshot": checked.processed,
        "inbound_snapshot": inbound,
        "created_members": [{**member, "id": None} for member in created_members(checked.members)],
        "warnings": checked.warnings,
        "fulfillment_summary": fulfillment_summary(checked, FulfillmentStatus.VALID),
    }


def created_members(members: SnapshotMembers) -> list[dict[str, Any]]:
    return [
        {
            "id": str(member.id),
            "type": member.individual_type,
            "custom_individual_id": member.custom_individual_id,
        }
        for member in members.created
    ]


def fulfillment_summary(
    checked: CheckedSnapshot, status: FulfillmentStatus
) -> list[dict[str, Any]]:
    return [
        {"carrier_id": carrier_id, "status": status.value, "errors": []}
        for carrier_id in checked.carrier_members
    ]


async def _lock_employee(
    session: AsyncSession, group_id: uuid.UUID, snapshot: MemberSnapshot
) -> None:
    """One intake per employee at a time: new members and replacement stay consistent."""
    employee = snapshot.employee
    key = f"id:{employee.id}" if employee.id else f"custom:{employee.custom_individual_id}"
    await hold_lock(session, f"employee:{group_id}:{key}")


def _is_new(members: SnapshotMembers) -> bool:
    return any(member.id == members.employee_id for member in members.created)


def _latest_start(coverages: Any) -> dt.date | None:
    starts = [
        member.effective_start_date
        for coverage in coverages
        for member in coverage.enrolled_members
        if member.effective_end_date == OPEN_END
    ]
    return max(starts, default=None)


def _choices(
    snapshot: MemberSnapshot,
    indexes: list[int],
    setup: GroupSetup,
    previous: CarrierMember | None,
) -> tuple[list[CoverageChoice], list[FieldProblem]]:
    """Each coverage's plan, found among the group's plans at the carrier."""
    before = {coverage_key(c): c for c in previous.coverages} if previous else {}
    choices: list[CoverageChoice] = []
    problems: list[FieldProblem] = []
    for index in indexes:
        coverage = snapshot.coverages[index]
        plan, problem = _find_plan(coverage, setup)
        if plan is None:
            field = "plan_id" if coverage.plan_id is not None else "plan_name"
            problems.append(FieldProblem(f"coverages.{index}.{field}", problem))
            continue
        volumes = tuple(member.volume for member in coverage.enrolled_members)
        old = before.get(
            (coverage.line_of_coverage.value, str(plan.id))
            if coverage.line_of_coverage.value == "hospital_indemnity"
            else (coverage.line_of_coverage.value,)
        )
        changed = (
            old is None
            or old.plan_id != plan.id
            or tuple(m.volume for m in old.enrolled_members) != volumes
            or [(m.effective_start_date, m.effective_end_date) for m in old.enrolled_members]
            != [(m.effective_start_date, m.effective_end_date) for m in coverage.enrolled_members]
        )
        choices.append(
            CoverageChoice(
                index=index,
                plan=plan,
                carrier_config=coverage.carrier_config,
                active=any(m.effective_end_date == OPEN_END for m in coverage.enrolled_members),
                changed=changed,
                volumes=volumes,
            )
        )
    return choices, problems


def _find_plan(coverage: Coverage, setup: GroupSetup) -> tuple[PlanOption | None, str]:
    line = coverage.line_of_coverage
    of_line = [plan for plan in setup.plans if plan.line_of_coverage == line]
    if coverage.plan_id is not None:
        for plan in of_line:
            if plan.id == coverage.plan_id:
                return plan, ""
        return None, f"names no active {line.value} plan of this group at the carrier"
    wanted = (coverage.plan_name or "").strip().casefold()
    named = [plan for plan in of_line if plan.name.strip().casefold() == wanted]
    if len(named) == 1:
        return named[0], ""
    if not named:
        return None, f"names no active {line.value} plan of this group at the carrier"
    return None, f"matches {len(named)} {line.value} plans of the group; send plan_id instead"


def _processed(
    snapshot: MemberSnapshot,
    members: SnapshotMembers,
    chosen: dict[uuid.UUID, dict[int, ChosenCoverage]],
) -> dict[str, Any]:
    """The payload after processing: engine ids filled in, omitted coverages added, each
    coverage's plan id and resolved carrier configuration."""
    processed = snapshot.model_dump(mode="json", exclude_none=True)
    processed["employee"]["id"] = str(members.employee_id)
    for index, dependent in enumerate(processed.get("dependents", [])):
        dependent["id"] = str(members.dependent_ids[index])
    for coverages in chosen.values():
        for index, choice in coverages.items():
            coverage = processed["coverages"][index]
            coverage["plan_id"] = str(choice.plan.id)
            coverage["carrier_config"] = choice.carrier_config
    return processed
