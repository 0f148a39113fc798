"""From a snapshot to carrier transactions: project, compare, classify. Pure, no I/O.

A snapshot is the employee's whole desired state. For each carrier it covers, the engine
projects it onto what that carrier holds (`CarrierMember`), compares the projection with what
the carrier was last sent, and turns the differences into one transaction for that carrier,
typed by the contract's `transaction_type`.

Change descriptions name fields, never their values: they are shown in the API and may be
logged, and the values are PII.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.errors import FieldProblem, ValidationFailed
from domain.members import (
    CarrierCobra,
    CarrierCoverage,
    CarrierDependent,
    CarrierEmployee,
    CarrierMember,
    CarrierTransactionState,
    CarrierTransactionStatus,
    EnrolledIndividual,
    Json,
    MemberEvent,
    PlanOption,
)
from domain.snapshots import (
    Coverage,
    EmploymentStatus,
    EventReason,
    IndividualType,
    MemberSnapshot,
    OmittedCoveragePolicy,
    OmittedCoverageTerminationRule,
)


class SnapshotStatus(StrEnum):
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELED = "canceled"
    REPLACED = "replaced"


IN_PROGRESS = frozenset({SnapshotStatus.SUBMITTED, SnapshotStatus.PROCESSING})


class FulfillmentStatus(StrEnum):
    """A snapshot's progress at one carrier (`fulfillment_summary[].status`)."""

    VALID = "valid"  # accepted, transactions not built yet
    NO_CHANGES = "no_changes"
    PROCESSING = "processing"  # transactions built, not all sent
    SENT = "sent"  # the carrier has every transaction
    INVALID = "invalid"  # the carrier refused a transaction (see errors)
    REPLACED = "replaced"
    NOT_CONNECTED = "not_connected"


class TransactionStatus(StrEnum):
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


class StatusDetail(StrEnum):
    NOYO_ACCEPTED = "noyo_accepted"
    CARRIER_ACCEPTED = "carrier_accepted"
    CARRIER_PROCESSING = "carrier_processing"
    CARRIER_COMPLETED = "carrier_completed"
    CARRIER_FAILED = "carrier_failed"
    CANCELED = "canceled"
    NOYO_VERIFIED = "noyo_verified"


# A transaction in one of these is done: nothing more is sent for it or asked about it.
FINAL_STATUSES = frozenset(
    {
        TransactionStatus.COMPLETED.value,
        TransactionStatus.FAILED.value,
        TransactionStatus.CANCELED.value,
    }
)

# What the carrier reports, as the contract's status details.
CARRIER_DETAIL: Mapping[CarrierTransactionState, StatusDetail] = {
    CarrierTransactionState.ACCEPTED: StatusDetail.CARRIER_ACCEPTED,
    CarrierTransactionState.PROCESSING: StatusDetail.CARRIER_PROCESSING,
    CarrierTransactionState.MANAGED: StatusDetail.CARRIER_PROCESSING,
    CarrierTransactionState.COMPLETED: StatusDetail.CARRIER_COMPLETED,
    CarrierTransactionState.FAILED: StatusDetail.CARRIER_FAILED,
}
MANAGED_NOTE = (
    "managed change: the carrier handles it by hand, which takes longer (Principal: 5-10 "
    "business days; Unum: up to 10 days)"
)
REPLACED_NOTE = "replaced by a newer snapshot before it was sent"
NOT_CONNECTED_NOTE = "the group is no longer connected to the carrier"
REFUSED_NOTE = "refused by the carrier"


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


def status_after(state: CarrierTransactionState) -> TransactionStatus | None:
    """A sent transaction's status once its carrier reports `state`; None while it works."""
    if state is CarrierTransactionState.COMPLETED:
        return TransactionStatus.COMPLETED
    if state is CarrierTransactionState.FAILED:
        return TransactionStatus.FAILED
    return None


def carrier_progress(
    recorded: Sequence[Mapping[str, Any]], status: CarrierTransactionStatus
) -> list[tuple[StatusDetail, str | None]]:
    """The status details (and their messages) the carrier reports that are not among the
    `recorded` ones yet, in the carrier's order."""
    seen = {(detail["status_detail"], detail.get("message")) for detail in recorded}
    new: list[tuple[StatusDetail, str | None]] = []
    for step in status.history:
        state = CarrierTransactionState(step.status)
        message = (
            MANAGED_NOTE
            if state is CarrierTransactionState.MANAGED
            else status.reason
            if state is CarrierTransactionState.FAILED
            else None
        )
        if (CARRIER_DETAIL[state].value, message) not in seen:
            seen.add((CARRIER_DETAIL[state].value, message))
            new.append((CARRIER_DETAIL[state], message))
    return new


@dataclass(frozen=True)
class TransactionOutcome:
    """What a snapshot's carrier entry needs of one of its transactions."""

    status: str
    sent: bool  # the carrier has it (its receipt is recorded)
    reason: str | None = None  # why it failed


def settled_entry(
    entry: dict[str, Any], transactions: Sequence[TransactionOutcome]
) -> dict[str, Any]:
    """A snapshot's carrier entry (`fulfillment_summary[]`) from its transactions there:
    invalid (with the reasons) when one failed, sent once the carrier has them all, else as
    it was."""
    failed = [t for t in transactions if t.status == TransactionStatus.FAILED.value]
    if failed:
        reasons = [str(t.reason or REFUSED_NOTE) for t in failed]
        return {**entry, "status": FulfillmentStatus.INVALID.value, "errors": reasons}
    if transactions and all(t.sent for t in transactions):
        return {**entry, "status": FulfillmentStatus.SENT.value}
    return entry


def snapshot_completed(snapshot_status: str, transactions: Iterable[TransactionOutcome]) -> bool:
    """A snapshot in processing is completed once every transaction of it is final (a
    replaced one keeps `replaced`)."""
    return snapshot_status == SnapshotStatus.PROCESSING.value and all(
        is_final(t.status) for t in transactions
    )


class TransactionType(StrEnum):
    DEMOGRAPHIC = "carrier_demographic"
    DEMOGRAPHIC_FULL = "carrier_demographic_full"
    NEW_HIRE = "carrier_new_hire"
    TERMINATION = "carrier_termination"
    NOYO_TERMINATION = "noyo_termination"
    OPEN_ENROLLMENT_FULL = "carrier_open_enrollment_full"
    OPEN_ENROLLMENT_ADDING = "carrier_open_enrollment_adding"
    OPEN_ENROLLMENT_MODIFYING = "carrier_open_enrollment_modifying"
    OPEN_ENROLLMENT_REMOVING = "carrier_open_enrollment_removing"
    QLE_FULL = "carrier_qualifying_life_event_full"
    QLE_ADDING = "carrier_qualifying_life_event_adding"
    QLE_MODIFYING = "carrier_qualifying_life_event_modifying"
    QLE_REMOVING = "carrier_qualifying_life_event_removing"
    ENROLLMENT_SNAPSHOT_NEW_HIRE = "carrier_enrollment_snapshot_new_hire"
    COBRA_ENROLLMENT = "carrier_cobra_enrollment"
    COBRA_TERMINATION = "carrier_cobra_termination"
    COBRA_OPEN_ENROLLMENT = "carrier_cobra_open_enrollment"
    COBRA_QLE = "carrier_cobra_qualifying_life_event"


class ChangeKind(StrEnum):
    NEW_MEMBER = "new_member"
    DEMOGRAPHIC = "demographic"
    DEPENDENT_ADDED = "dependent_added"
    DEPENDENT_REMOVED = "dependent_removed"
    COVERAGE_ADDED = "coverage_added"
    COVERAGE_REMOVED = "coverage_removed"
    COVERAGE_MODIFIED = "coverage_modified"
    TERMINATED = "terminated"
    REINSTATED = "reinstated"


_COVERAGE_KINDS = {ChangeKind.COVERAGE_ADDED, ChangeKind.COVERAGE_REMOVED}
_OPEN_ENROLLMENT = {EventReason.OPEN_ENROLLMENT.value, EventReason.DEPENDENT_OPEN_ENROLLMENT.value}
_HIRE = {EventReason.NEW_HIRE.value, EventReason.REHIRE.value}


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    individual_id: UUID | None = None
    line_of_coverage: str | None = None
    fields: tuple[str, ...] = ()

    def as_json(self) -> Json:
        out: Json = {"kind": self.kind.value}
        if self.individual_id is not None:
            out["individual_id"] = str(self.individual_id)
        if self.line_of_coverage is not None:
            out["line_of_coverage"] = self.line_of_coverage
        if self.fields:
            out["fields"] = list(self.fields)
        return out


@dataclass(frozen=True)
class PlannedTransaction:
    """What one carrier must be sent for one snapshot."""

    transaction_type: TransactionType
    lines_of_coverage: tuple[str, ...]
    changes: tuple[Change, ...]
    member: CarrierMember


# --- projection


@dataclass(frozen=True)
class ChosenCoverage:
    """A snapshot coverage with this carrier: its plan, and its resolved carrier configuration."""

    plan: PlanOption
    carrier_config: Json


def carrier_member(
    snapshot: MemberSnapshot,
    *,
    employee_id: UUID,
    dependent_ids: Sequence[UUID],
    coverages: Mapping[int, ChosenCoverage],
) -> CarrierMember:
    """The snapshot as one carrier holds it: `coverages` are the carrier's, by snapshot index.

    Only dependents enrolled in one of these coverages are the carrier's business.
    """
    ids = _individual_ids(snapshot, employee_id, dependent_ids)
    events = {event.id: event for event in snapshot.events}

    def event_of(event_id: str | None) -> MemberEvent | None:
        event = events.get(event_id) if event_id else None
        if event is None:
            return None
        return MemberEvent(type=event.type.value, reason=event.reason.value, date=event.date)

    employee_event = event_of(snapshot.employee.event_id)
    built: list[CarrierCoverage] = []
    enrolled_ids: set[UUID] = set()
    for index, chosen in sorted(coverages.items()):
        coverage = snapshot.coverages[index]
        members = []
        coverage_event = None
        for enrolled in coverage.enrolled_members:
            key = _key(enrolled.individual_id, enrolled.custom_individual_id)
            individual_id = ids.get(key)
            if individual_id is None:
                # Only a coverage carried over from an earlier snapshot (omitted-coverage
                # policy) can name someone this snapshot no longer has: they are not covered.
                continue
            enrolled_ids.add(individual_id)
            members.append(
                EnrolledIndividual(
                    individual_id=individual_id,
                    individual_type=enrolled.individual_type,
                    effective_start_date=enrolled.effective_start_date,
                    effective_end_date=enrolled.effective_end_date,
                    volume=enrolled.volume,
                )
            )
            if enrolled.individual_type is IndividualType.EMPLOYEE or coverage_event is None:
                coverage_event = event_of(enrolled.event_id) or coverage_event
        built.append(
            CarrierCoverage(
                line_of_coverage=coverage.line_of_coverage,
                plan_id=chosen.plan.id,
                carrier_plan_id=chosen.plan.carrier_plan_id,
                carrier_config=chosen.carrier_config,
                enrolled_members=tuple(members),
                event=coverage_event or employee_event,
                cobra=_cobra(coverage),
            )
        )
    dependents = tuple(
        CarrierDependent(
            id=dependent_ids[index],
            person=dependent.person.model_dump(mode="json", exclude_none=True),
            relationship=dependent.relationship.value,
        )
        for index, dependent in enumerate(snapshot.dependents)
        if dependent_ids[index] in enrolled_ids
    )
    first_event = next(iter(snapshot.events), None)
    return CarrierMember(
        employee=CarrierEmployee(
            id=employee_id,
            person=snapshot.employee.person.model_dump(mode="json", exclude_none=True),
            employment=snapshot.employee.employment.model_dump(mode="json", exclude_none=True),
        ),
        dependents=dependents,
        coverages=tuple(built),
        event=employee_event or event_of(first_event.id if first_event else None),
    )


def _cobra(coverage: Coverage) -> CarrierCobra | None:
    """The coverage's COBRA part, told only of COBRA continuation coverage: details sent with
    `cobra_enrolled` false say the member is not on COBRA, which is what None says."""
    details = coverage.cobra_details
    if details is None or not details.cobra_enrolled:
        return None
    reason = details.qualifying_event_reason
    return CarrierCobra(
        eligibility_start_date=details.eligibility_start_date,
        eligibility_end_date=details.eligibility_end_date,
        qualifying_event_date=details.qualifying_event_date,
        qualifying_event_reason=reason.value if reason is not None else None,
    )


def _individual_ids(
    snapshot: MemberSnapshot, employee_id: UUID, dependent_ids: Sequence[UUID]
) -> dict[tuple[str, str], UUID]:
    """Every key an enrolled member may use (id or custom id), to the engine's id."""
    ids: dict[tuple[str, str], UUID] = {}
    people = [(snapshot.employee, employee_id)] + [
        (dependent, dependent_ids[index]) for index, dependent in enumerate(snapshot.dependents)
    ]
    for person, engine_id in people:
        ids[("id", str(engine_id))] = engine_id
        if person.id is not None:
            ids[("id", str(person.id))] = engine_id
        if person.custom_individual_id is not None:
            ids[("custom", person.custom_individual_id)] = engine_id
    return ids


def _key(individual_id: UUID | None, custom_id: str | None) -> tuple[str, str]:
    if individual_id is not None:
        return ("id", str(individual_id))
    assert custom_id is not None  # the schema requires one of the two
    return ("custom", custom_id)


# --- comparison


def plan_transaction(
    previous: CarrierMember | None, target: CarrierMember
) -> PlannedTransaction | None:
    """The transaction that takes the carrier from `previous` (what it was last sent) to `target`;
    None when nothing differs.

    One transaction per carrier and snapshot: the carrier applies a member's change as one unit,
    and a refusal (say, of a dependent's address) then fails it whole, as the seeds describe.
    """
    changes = _changes(previous, target)
    if not changes:
        return None
    kinds = {change.kind for change in changes}
    lines = sorted({c.line_of_coverage for c in changes if c.line_of_coverage is not None})
    if not lines and kinds & {ChangeKind.DEMOGRAPHIC, ChangeKind.DEPENDENT_ADDED}:
        lines = sorted({coverage.line_of_coverage.value for coverage in target.coverages})
    return PlannedTransaction(
        transaction_type=_transaction_type(previous, target, changes),
        lines_of_coverage=tuple(lines),
        changes=tuple(changes),
        member=target,
    )


def _changes(previous: CarrierMember | None, target: CarrierMember) -> list[Change]:
    if previous is None:
        return [Change(ChangeKind.NEW_MEMBER, target.employee.id)] + [
            Change(ChangeKind.COVERAGE_ADDED, line_of_coverage=c.line_of_coverage.value)
            for c in target.coverages
            if _active(c)
        ]
    changes: list[Change] = []
    was_terminated, is_terminated = is_terminated_member(previous), is_terminated_member(target)
    if is_terminated and not was_terminated:
        changes.append(Change(ChangeKind.TERMINATED, target.employee.id))
    elif was_terminated and not is_terminated:
        changes.append(Change(ChangeKind.REINSTATED, target.employee.id))

    employee_fields = _differing(
        {"person": previous.employee.person, "employment": previous.employee.employment},
        {"person": target.employee.person, "employment": target.employee.employment},
    )
    if employee_fields:
        changes.append(Change(ChangeKind.DEMOGRAPHIC, target.employee.id, fields=employee_fields))

    before = {d.id: d for d in previous.dependents}
    for dependent in target.dependents:
        old = before.pop(dependent.id, None)
        if old is None:
            changes.append(Change(ChangeKind.DEPENDENT_ADDED, dependent.id))
            continue
        fields = _differing(
            {"person": old.person, "relationship": old.relationship},
            {"person": dependent.person, "relationship": dependent.relationship},
        )
        if fields:
            changes.append(Change(ChangeKind.DEMOGRAPHIC, dependent.id, fields=fields))
    changes += [Change(ChangeKind.DEPENDENT_REMOVED, dependent_id) for dependent_id in before]
    changes += _coverage_changes(previous.coverages, target.coverages)
    return changes


def _coverage_changes(
    previous: Sequence[CarrierCoverage], target: Sequence[CarrierCoverage]
) -> list[Change]:
    changes: list[Change] = []
    before = {coverage_key(c): c for c in previous}
    for coverage in target:
        line = coverage.line_of_coverage.value
        old = before.pop(coverage_key(coverage), None)
        if old is None or (not _active(old) and _active(coverage)):
            if _active(coverage):
                changes.append(Change(ChangeKind.COVERAGE_ADDED, line_of_coverage=line))
            continue
        if _active(old) and not _active(coverage):
            changes.append(Change(ChangeKind.COVERAGE_REMOVED, line_of_coverage=line))
            continue
        fields = _differing(_comparable(old), _comparable(coverage))
        if fields:
            changes.append(
                Change(ChangeKind.COVERAGE_MODIFIED, line_of_coverage=line, fields=fields)
            )
    # A coverage the snapshot leaves out entirely was handled by the omitted-coverage policy;
    # one still missing here is no longer sent, so the carrier is told it ends.
    changes += [
        Change(ChangeKind.COVERAGE_REMOVED, line_of_coverage=c.line_of_coverage.value)
        for c in before.values()
        if _active(c)
    ]
    return changes


def coverage_key(coverage: CarrierCoverage) -> tuple[str, ...]:
    """One coverage per line, except hospital indemnity, where the plan tells choices apart."""
    if coverage.line_of_coverage.value == "hospital_indemnity":
        return (coverage.line_of_coverage.value, str(coverage.plan_id))
    return (coverage.line_of_coverage.value,)


def _comparable(coverage: CarrierCoverage) -> Json:
    return coverage.model_dump(mode="json", exclude={"event", "line_of_coverage"})


def _differing(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> tuple[str, ...]:
    """Dotted names of the fields that differ (two levels deep), never their values."""
    fields: list[str] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and not prefix:
            fields += _differing(a, b, prefix=f"{name}.")
        else:
            fields.append(f"{prefix}{name}")
    return tuple(fields)


def _active(coverage: CarrierCoverage) -> bool:
    return any(member.active for member in coverage.enrolled_members)


def is_terminated_member(member: CarrierMember) -> bool:
    return member.employee.employment.get("employment_status") == EmploymentStatus.TERMINATED.value


def _transaction_type(
    previous: CarrierMember | None, target: CarrierMember, changes: list[Change]
) -> TransactionType:
    kinds = {change.kind for change in changes}
    coverage_kinds = kinds & (_COVERAGE_KINDS | {ChangeKind.COVERAGE_MODIFIED})
    # The event of a changed coverage says why it changed; the member's event is the fallback.
    changed_lines = {c.line_of_coverage for c in changes if c.line_of_coverage is not None}
    events = [
        c.event
        for c in target.coverages
        if c.event is not None and c.line_of_coverage.value in changed_lines
    ]
    event = events[0] if events else target.event
    reason = event.reason if event else None
    # COBRA continuation is its own path at the carrier, also for a former employee: typed as
    # a termination, the carrier would end the coverage the member is continuing.
    cobra = _cobra_type(previous, target, changes, reason) if coverage_kinds else None
    if cobra is not None:
        return cobra
    if ChangeKind.TERMINATED in kinds:
        return TransactionType.TERMINATION
    if previous is not None and not coverage_kinds:
        return TransactionType.DEMOGRAPHIC
    # A member new to the carrier is a new hire, unless the event says why else they enroll
    # (a marriage, open enrollment): the carrier dates the coverage by that event.
    if reason in _HIRE or (previous is None and reason is None):
        return TransactionType.NEW_HIRE
    if previous is None:
        coverage_kinds = {ChangeKind.COVERAGE_ADDED}
    family = "OPEN_ENROLLMENT" if reason in _OPEN_ENROLLMENT else "QLE"
    if len(coverage_kinds) > 1:
        suffix = "FULL"
    else:
        (only,) = coverage_kinds
        suffix = {
            ChangeKind.COVERAGE_ADDED: "ADDING",
            ChangeKind.COVERAGE_REMOVED: "REMOVING",
            ChangeKind.COVERAGE_MODIFIED: "MODIFYING",
        }[only]
    return TransactionType[f"{family}_{suffix}"]


def _cobra_type(
    previous: CarrierMember | None,
    target: CarrierMember,
    changes: list[Change],
    reason: str | None,
) -> TransactionType | None:
    """The COBRA transaction type when a changed coverage is COBRA continuation now or was
    before; None otherwise.

    - Enrollment: the member starts COBRA at this carrier (held no COBRA coverage there
      before), or the event says `cobra_enrollment`.
    - Termination: a COBRA coverage ends, is no longer sent, or stops being COBRA; or the
      event says `cobra_termination`.
    - Open enrollment: a COBRA member's changes at (dependent) open enrollment.
    - Qualifying life event: any other change of a COBRA member's coverage
      (`cobra_update_other`, a marriage, ...).
    """
    changed_lines = {c.line_of_coverage for c in changes if c.line_of_coverage is not None}
    before = [c for c in previous.coverages if _changed(c, changed_lines)] if previous else []
    after = [c for c in target.coverages if _changed(c, changed_lines)]
    if not any(c.cobra is not None for c in (*before, *after)):
        return None
    was_on_cobra = previous is not None and any(c.cobra is not None for c in previous.coverages)
    starts = any(c.cobra is not None and _active(c) for c in after) and not was_on_cobra
    if starts or reason == EventReason.COBRA_ENROLLMENT.value:
        return TransactionType.COBRA_ENROLLMENT
    still_on_cobra = {coverage_key(c) for c in after if c.cobra is not None and _active(c)}
    ends = any(c.cobra is not None and coverage_key(c) not in still_on_cobra for c in before)
    if ends or reason == EventReason.COBRA_TERMINATION.value:
        return TransactionType.COBRA_TERMINATION
    if reason in _OPEN_ENROLLMENT:
        return TransactionType.COBRA_OPEN_ENROLLMENT
    return TransactionType.COBRA_QLE


def _changed(coverage: CarrierCoverage, changed_lines: set[str]) -> bool:
    return coverage.line_of_coverage.value in changed_lines


# --- omitted coverages


def apply_omitted_coverage_policy(
    snapshot: MemberSnapshot, previous_coverages: Sequence[Json], *, today: dt.date
) -> MemberSnapshot:
    """The snapshot with the previous snapshot's active coverages it leaves out handled by its
    `omitted_coverage_handling`: refused (422 listing them), continued, or terminated.

    `previous_coverages` are the `coverages` of the employee's last processed snapshot.
    """
    present = {key for c in snapshot.coverages for key in _omission_keys(c.model_dump(mode="json"))}
    omitted = [
        Coverage.model_validate(c)
        for c in previous_coverages
        if not _omission_keys(c) & present and _json_active(c, today)
    ]
    if not omitted:
        return snapshot
    handling = snapshot.omitted_coverage_handling
    if handling.policy is OmittedCoveragePolicy.REJECT:
        missing = ", ".join(f"{c.line_of_coverage.value} ({c.carrier_id})" for c in omitted)
        raise ValidationFailed(
            [
                FieldProblem(
                    "coverages",
                    f"leaves out active coverages: {missing}; send them, or set "
                    "omitted_coverage_handling.policy to continue or terminate",
                )
            ]
        )
    if handling.policy is OmittedCoveragePolicy.TERMINATE:
        end = _termination_date(snapshot, today)
        omitted = [_ended(coverage, end) for coverage in omitted]
    return snapshot.model_copy(update={"coverages": [*snapshot.coverages, *omitted]})


def _termination_date(snapshot: MemberSnapshot, today: dt.date) -> dt.date:
    handling = snapshot.omitted_coverage_handling
    rule = handling.termination_rule
    if rule is OmittedCoverageTerminationRule.CUSTOM:
        assert handling.custom is not None
        assert handling.custom.effective_end_date is not None
        return handling.custom.effective_end_date
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if rule is OmittedCoverageTerminationRule.END_OF_PRIOR_MONTH:
        return today.replace(day=1) - dt.timedelta(days=1)
    return month_end


def _ended(coverage: Coverage, end: dt.date) -> Coverage:
    """Each enrolled member's coverage ended by `end` (waived if not started by then); a member
    whose coverage already ends earlier keeps that end."""
    members = [
        m.model_copy(
            update={
                "effective_end_date": min(
                    m.effective_end_date, max(end, m.effective_start_date - dt.timedelta(1))
                )
            }
        )
        for m in coverage.enrolled_members
    ]
    return coverage.model_copy(update={"enrolled_members": members})


def _omission_keys(coverage: Json) -> set[tuple[str, ...]]:
    """What a coverage is known by: carrier and line, and for hospital indemnity its plan, by id
    and by name. The stored previous snapshot holds the plan id the engine found even when the
    platform named the plan, so either may match."""
    key = (str(coverage["carrier_id"]), str(coverage["line_of_coverage"]))
    if coverage["line_of_coverage"] != "hospital_indemnity":
        return {key}
    keys: set[tuple[str, ...]] = set()
    if coverage.get("plan_id"):
        keys.add((*key, "id", str(coverage["plan_id"])))
    if coverage.get("plan_name"):
        keys.add((*key, "name", str(coverage["plan_name"]).strip().casefold()))
    return keys


def _json_active(coverage: Json, today: dt.date) -> bool:
    return any(
        dt.date.fromisoformat(m["effective_end_date"]) >= today
        and m["effective_end_date"] >= m["effective_start_date"]
        for m in coverage["enrolled_members"]
    )
