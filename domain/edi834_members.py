"""From a member as the engine holds it to the 834's loops 2000: maintenance and reason codes.

A change file carries one transaction per employee (the employee and the dependents it touches);
a full file carries every enrolled person as an audit record (030). The carrier's companion-guide
rules (its insurance line codes, its policy number) come in as `FileRules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.edi834 import (
    Address,
    BenefitStatus,
    Coverage,
    MaintenanceReason,
    MaintenanceType,
    MemberLevel,
)
from domain.enums import LineOfCoverage
from domain.members import CarrierCoverage, CarrierMember, CarrierPerson, EnrolledIndividual

# INS02 from the contract's relationship (18 is the subscriber, "self").
RELATIONSHIP_CODES = {
    "spouse": "01",
    "child": "19",
    "adopted-child": "09",
    "step-child": "17",
    "foster-child": "10",
    "grandchild": "05",
    "domestic-partner": "53",
    "civil-union": "53",
    "legal-guardianship": "15",
    "ex-spouse": "25",
    "other": "G8",
}
_SPOUSES = {"spouse", "domestic-partner", "civil-union"}
# INS08 from the contract's employment status.
EMPLOYMENT_CODES = {
    "full-time": "FT",
    "part-time": "PT",
    "contract": "AC",
    "disabled": "AC",
    "terminated": "TE",
    "retired": "RT",
}
# INS07 from the contract's COBRA qualifying event reason.
COBRA_EVENT_CODES = {
    "termination_of_employment": "1",
    "reduction_of_work_hours": "2",
    "medicare": "3",
    "death": "4",
    "divorce": "5",
    "separation": "6",
    "ineligible_child": "7",
    "bankruptcy_of_retirees_former_employer": "8",
    "layoff": "1",
    "leave_of_absence": "2",
}
# INS04 of a change from the event that caused it.
EVENT_REASONS = {
    "new_hire": MaintenanceReason.INITIAL_ENROLLMENT,
    "rehire": MaintenanceReason.INITIAL_ENROLLMENT,
    "marriage": MaintenanceReason.MARRIAGE,
    "divorce": MaintenanceReason.DIVORCE,
    "newborn": MaintenanceReason.BIRTH,
    "adoption": MaintenanceReason.ADOPTION,
    "death": MaintenanceReason.DEATH,
    "retirement": MaintenanceReason.RETIREMENT,
    "moved": MaintenanceReason.CHANGE_OF_LOCATION,
    "demographic_change": MaintenanceReason.IDENTIFYING_DATA,
    "open_enrollment": MaintenanceReason.BENEFIT_SELECTION,
    "dependent_open_enrollment": MaintenanceReason.BENEFIT_SELECTION,
    "termination": MaintenanceReason.TERMINATION_OF_EMPLOYMENT,
    "cobra_enrollment": MaintenanceReason.COBRA,
    "cobra_termination": MaintenanceReason.TERMINATION_OF_BENEFITS,
}


class MemberAction:
    """What a change transaction does to the employee: the engine's transaction types, grouped."""

    ADD = "add"
    CHANGE = "change"
    TERMINATE = "terminate"
    COBRA_ELECT = "cobra_elect"
    COBRA_END = "cobra_end"


_ACTIONS = {
    "carrier_new_hire": MemberAction.ADD,
    "carrier_enrollment_snapshot_new_hire": MemberAction.ADD,
    "carrier_termination": MemberAction.TERMINATE,
    "noyo_termination": MemberAction.TERMINATE,
    "carrier_cobra_enrollment": MemberAction.COBRA_ELECT,
    "carrier_cobra_termination": MemberAction.COBRA_END,
}


def member_action(transaction_type: str) -> str:
    """The 834 action of an engine transaction type (everything else is a change)."""
    return _ACTIONS.get(transaction_type, MemberAction.CHANGE)


@dataclass(frozen=True)
class FileRules:
    """A carrier's companion-guide choices the builder needs."""

    insurance_lines: Mapping[LineOfCoverage, str]  # HD03 per line of coverage
    policy_number: str | None = None  # REF*1L on every member (the carrier group id)
    # The carrier refuses a subscriber without an SSN (NM108 34 / NM109): the engine counts
    # such members before sending, to hold a run that would be refused too much.
    requires_subscriber_ssn: bool = False

    def refuses(self, level: MemberLevel) -> str | None:
        """Why the carrier would refuse this loop 2000 (its companion guide), or None."""
        if self.requires_subscriber_ssn and level.subscriber and not level.ssn:
            return "the subscriber's SSN is required (NM109)"
        return None


def member_levels(
    member: CarrierMember,
    *,
    rules: FileRules,
    action: str | None,
    changes: Iterable[Mapping[str, Any]] = (),
    as_of: dt.date | None = None,
) -> list[MemberLevel]:
    """The loops 2000 of one employee: the subscriber first, then each dependent covered.

    `action` None is a full file's audit record (030) of what is in force on `as_of`;
    otherwise a change file's record of the transaction (`member_action`), whose `changes`
    say which dependents were added or removed.
    """
    subscriber_id = member.employee.id.hex
    employee_coverages = _person_coverages(member.coverages, member.employee.id)
    if action is None and not any(_in_force(e, as_of) for _, e in employee_coverages):
        return []  # a full file holds who is covered: nobody here any more
    added = {_uuid(c) for c in changes if c.get("kind") == "dependent_added"}
    removed = {_uuid(c) for c in changes if c.get("kind") == "dependent_removed"}
    levels = [
        _level(
            member,
            member.employee,
            rules=rules,
            action=action,
            subscriber_id=subscriber_id,
            as_of=as_of,
        )
    ]
    for dependent in member.dependents:
        coverages = _person_coverages(member.coverages, dependent.id)
        if not coverages:
            continue
        dependent_action = action
        if action == MemberAction.CHANGE and dependent.id in added:
            dependent_action = MemberAction.ADD
        elif action == MemberAction.CHANGE and (
            dependent.id in removed or not any(e.active for _, e in coverages)
        ):
            dependent_action = MemberAction.TERMINATE
        if action is None and not any(_in_force(e, as_of) for _, e in coverages):
            continue
        levels.append(
            _level(
                member,
                dependent,
                rules=rules,
                action=dependent_action,
                subscriber_id=subscriber_id,
                as_of=as_of,
                relationship=dependent.relationship,
            )
        )
    return levels


def _level(
    member: CarrierMember,
    person: CarrierPerson,
    *,
    rules: FileRules,
    action: str | None,
    subscriber_id: str,
    as_of: dt.date | None,
    relationship: str | None = None,
) -> MemberLevel:
    subscriber = relationship is None
    data = person.person
    maintenance, reason = _maintenance(member, action)
    cobra = next((c.cobra for c in member.coverages if c.cobra is not None), None)
    benefit_status = BenefitStatus.ACTIVE
    if cobra is not None or action in (MemberAction.COBRA_ELECT, MemberAction.COBRA_END):
        benefit_status = BenefitStatus.COBRA
    employment = getattr(person, "employment", None) or {}
    dates: list[tuple[str, dt.date]] = []
    hire = (employment.get("employment_dates") or {}).get("hire_date")
    if subscriber and hire:
        dates.append(("336", dt.date.fromisoformat(hire)))
    if subscriber and action == MemberAction.TERMINATE:
        ended = (employment.get("employment_dates") or {}).get("terminated")
        if ended:
            dates.append(("337", dt.date.fromisoformat(ended)))
    home = data.get("home_address") or {}
    return MemberLevel(
        subscriber=subscriber,
        relationship="18" if relationship is None else RELATIONSHIP_CODES.get(relationship, "G8"),
        maintenance=maintenance,
        reason=reason,
        benefit_status=benefit_status,
        subscriber_id=subscriber_id,
        last_name=data["last_name"],
        first_name=data["first_name"],
        middle_name=data.get("middle_name"),
        birth_date=dt.date.fromisoformat(data["date_of_birth"]),
        gender=str(data["sex"]) if data.get("sex") in ("F", "M") else "U",
        ssn=data.get("ssn"),
        address=(
            Address(
                line_one=home["street_one"],
                line_two=home.get("street_two"),
                city=home["city"],
                state=home["state"],
                postal_code=home["zip_code"],
            )
            if subscriber and home
            else None
        ),
        employment_status=(
            "TE"
            if action == MemberAction.TERMINATE
            else EMPLOYMENT_CODES.get(employment.get("employment_status", ""), "FT")
        )
        if subscriber
        else None,
        cobra_event=(
            COBRA_EVENT_CODES.get(cobra.qualifying_event_reason or "", "1")
            if cobra is not None
            else ("1" if benefit_status is BenefitStatus.COBRA else None)
        ),
        student=(
            "F" if not subscriber and ((data.get("details") or {}).get("is_student")) else None
        ),
        policy_number=rules.policy_number,
        member_dates=tuple(dates),
        coverages=tuple(
            _coverage(
                coverage,
                enrolled,
                rules=rules,
                action=action,
                level=_coverage_level(member, coverage) if subscriber else None,
                as_of=as_of,
            )
            for coverage, enrolled in _person_coverages(member.coverages, person.id)
            if action is not None or _in_force(enrolled, as_of)
        ),
    )


def _maintenance(
    member: CarrierMember, action: str | None
) -> tuple[MaintenanceType, MaintenanceReason | None]:
    """INS03 and INS04 of the employee's and each dependent's loop."""
    if action is None:
        return MaintenanceType.AUDIT, MaintenanceReason.NOTIFICATION_ONLY
    if action == MemberAction.ADD:
        return MaintenanceType.ADDITION, _event_reason(member, MaintenanceReason.INITIAL_ENROLLMENT)
    if action == MemberAction.TERMINATE:
        return MaintenanceType.TERMINATION, MaintenanceReason.TERMINATION_OF_EMPLOYMENT
    if action == MemberAction.COBRA_ELECT:
        return MaintenanceType.ADDITION, MaintenanceReason.COBRA
    if action == MemberAction.COBRA_END:
        return MaintenanceType.TERMINATION, MaintenanceReason.TERMINATION_OF_BENEFITS
    return MaintenanceType.CHANGE, _event_reason(member, MaintenanceReason.NO_REASON)


def _event_reason(member: CarrierMember, default: MaintenanceReason) -> MaintenanceReason:
    event = member.event or next((c.event for c in member.coverages if c.event), None)
    return EVENT_REASONS.get(event.reason, default) if event is not None else default


def _coverage(
    coverage: CarrierCoverage,
    enrolled: EnrolledIndividual,
    *,
    rules: FileRules,
    action: str | None,
    level: str | None,
    as_of: dt.date | None,
) -> Coverage:
    ended = not enrolled.active
    if action is None:
        maintenance = MaintenanceType.AUDIT
    elif action in (MemberAction.TERMINATE, MemberAction.COBRA_END) or ended:
        maintenance = MaintenanceType.TERMINATION
    elif action in (MemberAction.ADD, MemberAction.COBRA_ELECT):
        maintenance = MaintenanceType.ADDITION
    else:
        maintenance = MaintenanceType.CHANGE
    end = None if enrolled.active else enrolled.effective_end_date
    if maintenance is MaintenanceType.TERMINATION and end is None:
        end = as_of or enrolled.effective_start_date
    return Coverage(
        maintenance=maintenance,
        insurance_line=rules.insurance_lines[coverage.line_of_coverage],
        plan_description=coverage.carrier_plan_id,
        coverage_level=level,
        start=enrolled.effective_start_date,
        end=end,
    )


def _coverage_level(member: CarrierMember, coverage: CarrierCoverage) -> str:
    """HD05: who the coverage holds besides the employee."""
    relationships = {d.id: d.relationship for d in member.dependents}
    covered = [relationships.get(e.individual_id) for e in coverage.enrolled_members if e.active]
    spouse = any(r in _SPOUSES for r in covered if r is not None)
    children = any(r is not None and r not in _SPOUSES for r in covered)
    if spouse and children:
        return "FAM"
    if spouse:
        return "ESP"
    if children:
        return "ECH"
    return "EMP"


def _person_coverages(
    coverages: Iterable[CarrierCoverage], person_id: UUID
) -> list[tuple[CarrierCoverage, EnrolledIndividual]]:
    return [
        (coverage, enrolled)
        for coverage in coverages
        for enrolled in coverage.enrolled_members
        if enrolled.individual_id == person_id
    ]


def _in_force(enrolled: EnrolledIndividual, as_of: dt.date | None) -> bool:
    return enrolled.active or (as_of is not None and enrolled.effective_end_date >= as_of)


def _uuid(change: Mapping[str, Any]) -> UUID | None:
    value = change.get("individual_id")
    return UUID(value) if value else None
