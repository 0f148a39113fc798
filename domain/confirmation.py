"""Round-trip confirmation: what the carrier shows back against what the engine sent. Pure.

`compare_member` reads the carrier's copy of one member (`held`) against the last member the
engine sent it (`sent`) and returns the differences (contract 4d): objects missing at the
carrier, objects the carrier has and the platform does not, and field mismatches.

Some things the carrier shows otherwise are what that carrier is documented to do, and are not
differences (the carrier seeds):

- Principal, age reduction: Principal reduces life amounts by 35% for members aged 65 and over,
  and confirms the reduced amount (50,000 sent, 32,500 shown). The employee's own `life`
  enrollment, the employee 65 or older on `today`, held volume = sent volume x 0.65 rounded half
  up. Under 65, or on another line, the same amounts are a difference.
- Principal, critical illness children: children of an employee enrolled in critical illness are
  covered automatically at 25% of the employee's amount, with no individual enrollment of their
  own; a child's critical illness enrollment the carrier does not show is expected.
- Evidence of insurability: voluntary coverage pending EOI is not visible at the carrier until
  EOI completes (Principal: voluntary life, AD&D, STD, LTD, critical illness; Unum: voluntary
  life). A voluntary enrollment on such a line that the carrier does not show yet is not a
  difference at either stage: the transaction completes, and the coverage shows once the carrier
  reports it; the audits pick up one that never does.
- Unum volumes: Unum exposes no volume rules; any volume is accepted and the amount Unum
  assigned is what it shows, so a volume that differs at Unum is not a difference.
- Principal salaries: Principal does not store salaries for members without salary-based
  coverage, so `employment.salary` is not compared at Principal.

Principal computes its own effective dates: a start date that is the only thing differing is
reported as `CARRIER_EFFECTIVE_DATE` (to resolve with the carrier), not suppressed.

A coverage's COBRA part (eligibility dates, qualifying event date and reason) is compared on each
of its enrollments like their own fields: no carrier is documented to show it otherwise.

Finding values go to the database and the API only: they are PII and are never logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from domain.differences import (
    ConfirmationStage,
    DifferenceClassification,
    DifferenceType,
    FieldDifference,
    FoundDifference,
    ObjectType,
    split_check,
)
from domain.enums import LineOfCoverage
from domain.member_changes import TransactionType, coverage_key
from domain.members import (
    OPEN_END,
    CarrierCoverage,
    CarrierDependent,
    CarrierMember,
    EnrolledIndividual,
    Json,
    PlanOption,
)
from domain.snapshots import IndividualType

PRINCIPAL = "principal"
UNUM = "unum"

# Lines where voluntary coverage may wait for evidence of insurability, by carrier slug.
EOI_LINES: Mapping[str, frozenset[LineOfCoverage]] = {
    PRINCIPAL: frozenset(
        {
            LineOfCoverage.LIFE,
            LineOfCoverage.ADD,  # the seed lists "Voluntary Life/ADD"
            LineOfCoverage.STD,
            LineOfCoverage.LTD,
            LineOfCoverage.CRITICAL_ILLNESS,
        }
    ),
    UNUM: frozenset({LineOfCoverage.LIFE}),
}

AGE_REDUCTION_AGE = 65
AGE_REDUCTION_PERCENT_KEPT = 65  # Principal reduces by 35%
CHILD_RELATIONSHIPS = frozenset({"child", "step-child", "foster-child", "adopted-child"})

# Fields of an individual enrollment that are compared, in the order they are reported (then its
# coverage's COBRA part).
ENROLLMENT_FIELDS = ("plan_id", "effective_start_date", "effective_end_date", "volume")

_OBJECT_ORDER = {
    ObjectType.EMPLOYEE: 0,
    ObjectType.DEPENDENT: 1,
    ObjectType.INDIVIDUAL_ENROLLMENT: 2,
}


@dataclass(frozen=True)
class PlanFacts:
    """What the rules need to know of a plan (the engine's plan id is the key it is found by)."""

    voluntary: bool
    line_of_coverage: LineOfCoverage | None = None

    @classmethod
    def of(cls, plan: PlanOption) -> PlanFacts:
        return cls(voluntary=plan.voluntary, line_of_coverage=plan.line_of_coverage)


def compare_member(
    sent: CarrierMember,
    held: CarrierMember | None,
    *,
    carrier: str,
    today: dt.date,
    plans: Mapping[UUID, PlanFacts] | None = None,
    stage: ConfirmationStage = ConfirmationStage.ACCEPTANCE,
    include_suppressed: bool = False,
) -> list[FoundDifference]:
    """The differences between what the carrier holds and what it was sent, in a fixed order.

    `held` None: the carrier does not have the employee at all, one missing-employee finding.
    `stage` does not change the outcome today: coverage pending EOI is expected at both stages
    (see the module docstring); it is taken so the callers say which check this is.
    `include_suppressed`: what the carrier is documented to show otherwise is reported too,
    `suppressed`, instead of left out.
    """
    del stage  # both stages treat the carrier's documented behaviours the same way
    if held is None:
        return [
            FoundDifference(
                object_type=ObjectType.EMPLOYEE,
                object_id=sent.employee.id,
                classification=DifferenceClassification.MISSING_FROM_CARRIER,
                difference_type=DifferenceType.MISSING_EMPLOYEE,
            )
        ]
    rules = _Rules(
        sent=sent,
        carrier=carrier,
        today=today,
        plans=plans or {},
        keep_suppressed=include_suppressed,
    )
    found = _employee_differences(sent, held, rules)
    found += _dependent_differences(sent, held, rules)
    found += _enrollment_differences(sent, held, rules)
    return sorted(found, key=_order)


def expected_at_carrier(
    sent: CarrierMember,
    believed: CarrierMember | None,
    *,
    carrier: str,
    today: dt.date,
    plans: Mapping[UUID, PlanFacts] | None = None,
) -> list[FoundDifference]:
    """What a snapshot's transaction expects the carrier to come to hold that, as far as the
    engine knows (`believed`: what the carrier was last sent), it does not: the pending
    differences of the transaction, suppressed ones included.

    `believed` None (the carrier was told nothing of the employee): the employee is missing,
    and so is each dependent and enrollment the carrier should show.
    """
    if believed is None:
        nobody_else = CarrierMember(employee=sent.employee)
        return [
            FoundDifference(
                object_type=ObjectType.EMPLOYEE,
                object_id=sent.employee.id,
                classification=DifferenceClassification.MISSING_FROM_CARRIER,
                difference_type=DifferenceType.MISSING_EMPLOYEE,
            ),
            *compare_member(
                sent,
                nobody_else,
                carrier=carrier,
                today=today,
                plans=plans,
                include_suppressed=True,
            ),
        ]
    return compare_member(
        sent, believed, carrier=carrier, today=today, plans=plans, include_suppressed=True
    )


def differences_resolved(
    previous: Iterable[FoundDifference], now: Iterable[FoundDifference]
) -> tuple[list[FoundDifference], list[FoundDifference]]:
    """Split earlier findings by a new check, matching by `identity` (`split_check`, which
    the store's `record_check` uses on the open differences' keys).

    still_open: the findings of `now` whose identity was found before (their current field
    values), in the order of `previous`; resolved: the earlier findings `now` no longer has.
    Findings of `now` new since `previous` are in neither list.
    """
    earlier: dict[str, FoundDifference] = {}
    for finding in previous:
        earlier.setdefault(finding.key, finding)
    split = split_check(earlier, now)
    current = {finding.key: finding for finding in split.still_open}
    still_open = [current[key] for key in earlier if key in current]
    return still_open, [earlier[key] for key in split.resolved]


# Verified at once (contract 4c): nothing waits for an effective date.
VERIFIED_AT_ONCE = frozenset(
    {TransactionType.DEMOGRAPHIC.value, TransactionType.DEMOGRAPHIC_FULL.value}
)


def effective_date(sent: CarrierMember, lines_of_coverage: Iterable[str]) -> dt.date:
    """When a change takes effect: the latest start among the changed lines' active
    enrollments (a coverage's end, for one being removed)."""
    lines = set(lines_of_coverage)
    dates: list[dt.date] = []
    for coverage in sent.coverages:
        if coverage.line_of_coverage.value not in lines:
            continue
        for member in coverage.enrolled_members:
            if member.effective_end_date == OPEN_END:
                dates.append(member.effective_start_date)
            else:
                dates.append(member.effective_end_date)
    return max(dates, default=dt.date.min)


def is_last_check(
    stage: ConfirmationStage, *, transaction_type: str, takes_effect: dt.date, today: dt.date
) -> bool:
    """Whether this check verifies the transaction: the effective-date check, a change
    verified at once, or one already in effect. Otherwise another check falls on its
    effective date."""
    return (
        stage is ConfirmationStage.EFFECTIVE_DATE
        or transaction_type in VERIFIED_AT_ONCE
        or takes_effect <= today
    )


# --- the carrier's documented behaviours ---------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    sent: CarrierMember
    carrier: str
    today: dt.date
    plans: Mapping[UUID, PlanFacts]
    keep_suppressed: bool = False

    def ignored_employment_fields(self) -> frozenset[str]:
        return frozenset({"salary"}) if self.carrier == PRINCIPAL else frozenset()

    def relationship_of(self, individual_id: UUID) -> str | None:
        for dependent in self.sent.dependents:
            if dependent.id == individual_id:
                return dependent.relationship
        return None

    def absence_expected(self, coverage: CarrierCoverage, enrolled: EnrolledIndividual) -> bool:
        """A sent enrollment the carrier is not expected to show (yet)."""
        line = coverage.line_of_coverage
        if (
            self.carrier == PRINCIPAL
            and line is LineOfCoverage.CRITICAL_ILLNESS
            and enrolled.individual_type is IndividualType.DEPENDENT
            and self.relationship_of(enrolled.individual_id) in CHILD_RELATIONSHIPS
        ):
            return True  # covered at 25% of the employee's amount, no enrollment of their own
        facts = self.plans.get(coverage.plan_id)
        return (
            facts is not None
            and facts.voluntary
            and line in EOI_LINES.get(self.carrier, frozenset())
        )  # pending evidence of insurability

    def volume_expected(
        self, coverage: CarrierCoverage, enrolled: EnrolledIndividual, held_volume: int | None
    ) -> bool:
        """A held volume other than the one sent that the carrier is expected to show."""
        if self.carrier == UNUM:
            return True  # Unum shows the amount it assigned
        if (
            self.carrier == PRINCIPAL
            and coverage.line_of_coverage is LineOfCoverage.LIFE
            and enrolled.individual_id == self.sent.employee.id
            and enrolled.volume is not None
        ):
            age = _age(self.sent.employee.person, self.today)
            return (
                age is not None
                and age >= AGE_REDUCTION_AGE
                and held_volume == age_reduced(enrolled.volume)
            )
        return False

    def ended(self, enrolled: EnrolledIndividual) -> bool:
        end = enrolled.effective_end_date
        return end != OPEN_END and end < self.today


def age_reduced(volume: int) -> int:
    """Principal's age-reduced amount: 65% of the full amount, rounded half up to a whole unit."""
    return (volume * AGE_REDUCTION_PERCENT_KEPT + 50) // 100


def _age(person: Json, today: dt.date) -> int | None:
    raw = person.get("date_of_birth")
    try:
        born = dt.date.fromisoformat(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(born, dt.date):
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# --- employee and dependents ---------------------------------------------------------------------


def _employee_differences(
    sent: CarrierMember, held: CarrierMember, rules: _Rules
) -> list[FoundDifference]:
    found: list[FoundDifference] = []
    person = _field_differences({"person": sent.employee.person}, {"person": held.employee.person})
    if person:
        found.append(_mismatch(ObjectType.EMPLOYEE, sent.employee.id, person))
    ignored = rules.ignored_employment_fields()
    employment = _field_differences(
        {"employment": _without(sent.employee.employment, ignored)},
        {"employment": _without(held.employee.employment, ignored)},
    )
    if employment:
        found.append(
            _mismatch(
                ObjectType.EMPLOYEE,
                sent.employee.id,
                employment,
                DifferenceType.EMPLOYMENT_MISMATCH,
            )
        )
    elif rules.keep_suppressed and ignored:
        expected = _field_differences(
            {"employment": sent.employee.employment}, {"employment": held.employee.employment}
        )
        if expected:  # only what the carrier does not store differs
            found.append(
                replace(
                    _mismatch(
                        ObjectType.EMPLOYEE,
                        sent.employee.id,
                        expected,
                        DifferenceType.EMPLOYMENT_MISMATCH,
                    ),
                    suppressed=True,
                )
            )
    return found


def _dependent_differences(
    sent: CarrierMember, held: CarrierMember, rules: _Rules
) -> list[FoundDifference]:
    found: list[FoundDifference] = []
    held_dependents = {dependent.id: dependent for dependent in held.dependents}
    sent_ids = {dependent.id for dependent in sent.dependents}
    for dependent in sent.dependents:
        other = held_dependents.get(dependent.id)
        if other is None:
            shows = _should_show(dependent.id, sent, rules)
            if shows or (rules.keep_suppressed and not _all_ended(dependent.id, sent, rules)):
                found.append(
                    FoundDifference(
                        object_type=ObjectType.DEPENDENT,
                        object_id=dependent.id,
                        classification=DifferenceClassification.MISSING_FROM_CARRIER,
                        difference_type=DifferenceType.MISSING_DEPENDENT,
                        suppressed=not shows,
                    )
                )
            continue
        fields = _field_differences(_dependent_json(dependent), _dependent_json(other))
        if fields:
            found.append(_mismatch(ObjectType.DEPENDENT, dependent.id, fields))
    for dependent in held.dependents:
        if dependent.id in sent_ids:
            continue
        held_enrollments = _enrollments_of(dependent.id, held)
        if held_enrollments and all(rules.ended(enrolled) for _, enrolled in held_enrollments):
            continue  # a former dependent whose coverage has ended: history, not an extra
        found.append(
            FoundDifference(
                object_type=ObjectType.DEPENDENT,
                object_id=dependent.id,
                classification=DifferenceClassification.MISSING_FROM_PLATFORM,
                difference_type=DifferenceType.EXTRA_DEPENDENT,
            )
        )
    return found


def _should_show(individual_id: UUID, sent: CarrierMember, rules: _Rules) -> bool:
    """Whether the carrier should hold this sent dependent: some enrollment of theirs should show.

    A dependent enrolled only in what the carrier does not show (a child's critical illness at
    Principal, coverage pending EOI) or only in coverage that has ended is not missing.
    """
    enrollments = _enrollments_of(individual_id, sent)
    if not enrollments:
        return True
    return any(
        not rules.ended(enrolled) and not rules.absence_expected(coverage, enrolled)
        for coverage, enrolled in enrollments
    )


def _all_ended(individual_id: UUID, sent: CarrierMember, rules: _Rules) -> bool:
    """Every enrollment of the sent dependent has ended (none at all: not ended)."""
    enrollments = _enrollments_of(individual_id, sent)
    return bool(enrollments) and all(rules.ended(enrolled) for _, enrolled in enrollments)


def _dependent_json(dependent: CarrierDependent) -> Json:
    return {"person": dependent.person, "relationship": dependent.relationship}


# --- individual enrollments ----------------------------------------------------------------------

_Enrollment = tuple[CarrierCoverage, EnrolledIndividual]


def _enrollment_differences(
    sent: CarrierMember, held: CarrierMember, rules: _Rules
) -> list[FoundDifference]:
    found: list[FoundDifference] = []
    sent_by_key = _by_key(sent)
    held_by_key = _by_key(held)
    for key, (coverage, enrolled) in sent_by_key.items():
        ckey, individual_id = key
        other = held_by_key.get(key)
        if other is None:
            if rules.ended(enrolled):
                continue
            absence_expected = rules.absence_expected(coverage, enrolled)
            if absence_expected and not rules.keep_suppressed:
                continue
            found.append(
                replace(
                    _ie(
                        individual_id,
                        ckey,
                        DifferenceClassification.MISSING_FROM_CARRIER,
                        DifferenceType.MISSING_IE,
                    ),
                    suppressed=absence_expected,
                )
            )
            continue
        held_coverage, held_enrolled = other
        every_field = _enrollment_fields(coverage, enrolled, held_coverage, held_enrolled)
        fields = [
            difference
            for difference in every_field
            if not (
                difference.key == "volume"
                and rules.volume_expected(coverage, enrolled, held_enrolled.volume)
            )
        ]
        if not fields:
            if every_field and rules.keep_suppressed:  # only the volume the carrier assigns
                found.append(
                    _ie(
                        individual_id,
                        ckey,
                        DifferenceClassification.FIELD_MISMATCH,
                        DifferenceType.ENROLLMENT_MISMATCH,
                        tuple(every_field),
                        suppressed=True,
                    )
                )
            continue
        only_start = [difference.key for difference in fields] == ["effective_start_date"]
        difference_type = (
            DifferenceType.CARRIER_EFFECTIVE_DATE
            if only_start and rules.carrier == PRINCIPAL
            else DifferenceType.ENROLLMENT_MISMATCH
        )
        found.append(
            _ie(
                individual_id,
                ckey,
                DifferenceClassification.FIELD_MISMATCH,
                difference_type,
                tuple(fields),
            )
        )
    for key, (_, enrolled) in held_by_key.items():
        if key in sent_by_key or rules.ended(enrolled):
            continue  # an enrollment the carrier shows ended, and was not sent: history
        ckey, individual_id = key
        found.append(
            _ie(
                individual_id,
                ckey,
                DifferenceClassification.MISSING_FROM_PLATFORM,
                DifferenceType.EXTRA_IE,
            )
        )
    return found


def _by_key(member: CarrierMember) -> dict[tuple[tuple[str, ...], UUID], _Enrollment]:
    """Each person's enrollment per coverage key.

    Should a side list one person twice under one key (a plan switch on a line other than
    hospital indemnity, old plan ended and new plan started), the latest start is compared.
    """
    out: dict[tuple[tuple[str, ...], UUID], _Enrollment] = {}
    for coverage in member.coverages:
        ckey = coverage_key(coverage)
        for enrolled in coverage.enrolled_members:
            key = (ckey, enrolled.individual_id)
            current = out.get(key)
            if current is None or _recency(coverage, enrolled) > _recency(*current):
                out[key] = (coverage, enrolled)
    return out


def _recency(coverage: CarrierCoverage, enrolled: EnrolledIndividual) -> tuple[dt.date, str]:
    return (enrolled.effective_start_date, str(coverage.plan_id))


def _enrollments_of(individual_id: UUID, member: CarrierMember) -> list[_Enrollment]:
    return [
        (coverage, enrolled)
        for coverage in member.coverages
        for enrolled in coverage.enrolled_members
        if enrolled.individual_id == individual_id
    ]


def _enrollment_fields(
    sent_coverage: CarrierCoverage,
    sent: EnrolledIndividual,
    held_coverage: CarrierCoverage,
    held: EnrolledIndividual,
) -> list[FieldDifference]:
    values = {
        "plan_id": (str(sent_coverage.plan_id), str(held_coverage.plan_id)),
        "effective_start_date": (
            sent.effective_start_date.isoformat(),
            held.effective_start_date.isoformat(),
        ),
        "effective_end_date": (
            sent.effective_end_date.isoformat(),
            held.effective_end_date.isoformat(),
        ),
        "volume": (sent.volume, held.volume),
    }
    fields = [
        FieldDifference(key, platform, carrier)
        for key in ENROLLMENT_FIELDS
        for platform, carrier in [values[key]]
        if platform != carrier
    ]
    # The coverage's COBRA part (dates and reason), `cobra.<field>`; `cobra` when one side has none.
    cobra = _field_differences({"cobra": _cobra(sent_coverage)}, {"cobra": _cobra(held_coverage)})
    return [*fields, *cobra]


def _cobra(coverage: CarrierCoverage) -> Json | None:
    return coverage.cobra.model_dump(mode="json") if coverage.cobra is not None else None


# --- helpers -------------------------------------------------------------------------------------


def _field_differences(
    platform: Mapping[str, Any], carrier: Mapping[str, Any]
) -> tuple[FieldDifference, ...]:
    """Differing fields, two levels deep (`person.home_address`), with both values.

    A field absent on one side and null on the other is the same; so within a nested object.
    """
    found: list[FieldDifference] = []
    for name in sorted(set(platform) | set(carrier)):
        a, b = platform.get(name), carrier.get(name)
        if isinstance(a, dict) and isinstance(b, dict):
            for sub in sorted(set(a) | set(b)):
                x, y = a.get(sub), b.get(sub)
                if _normal(x) != _normal(y):
                    found.append(FieldDifference(f"{name}.{sub}", x, y))
        elif _normal(a) != _normal(b):
            found.append(FieldDifference(name, a, b))
    return tuple(found)


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    return value


def _without(data: Json, names: frozenset[str]) -> Json:
    return {key: value for key, value in data.items() if key not in names}


def _mismatch(
    object_type: ObjectType,
    object_id: UUID,
    fields: tuple[FieldDifference, ...],
    difference_type: DifferenceType = DifferenceType.PERSON_MISMATCH,
) -> FoundDifference:
    return FoundDifference(
        object_type=object_type,
        object_id=object_id,
        classification=DifferenceClassification.FIELD_MISMATCH,
        difference_type=difference_type,
        fields=fields,
    )


def _ie(
    individual_id: UUID,
    ckey: tuple[str, ...],
    classification: DifferenceClassification,
    difference_type: DifferenceType,
    fields: tuple[FieldDifference, ...] = (),
    *,
    suppressed: bool = False,
) -> FoundDifference:
    return FoundDifference(
        object_type=ObjectType.INDIVIDUAL_ENROLLMENT,
        object_id=individual_id,
        classification=classification,
        difference_type=difference_type,
        fields=fields,
        coverage_key=ckey,
        suppressed=suppressed,
    )


def _order(finding: FoundDifference) -> tuple[int, tuple[str, ...], str, str]:
    return (
        _OBJECT_ORDER[finding.object_type],
        finding.coverage_key,
        str(finding.object_id),
        finding.difference_type.value,
    )


# The messages between the GroupConfirmations loop and its activity.


class DueCheck(BaseModel):
    group_id: UUID
    # The time the loop woke for; transactions due by then are confirmed.
    now: dt.datetime


class ConfirmedTurn(BaseModel):
    confirmed: int
    # When the next transaction of the group falls due; None when none is pending.
    next_due: dt.datetime | None
