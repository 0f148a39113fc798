"""Round-trip confirmation (domain.confirmation): the carrier's copy of a member against what the
engine sent, with the carriers' documented behaviours (seeds 003 Principal, 004 Unum) that are
not differences. Pure: no I/O."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from domain.confirmation import (
    PlanFacts,
    age_reduced,
    compare_member,
    differences_resolved,
)
from domain.differences import (
    ConfirmationStage,
    DifferenceClassification,
    DifferenceType,
    FieldDifference,
    FoundDifference,
    ObjectType,
)
from domain.enums import LineOfCoverage
from domain.members import (
    OPEN_END,
    CarrierCobra,
    CarrierCoverage,
    CarrierDependent,
    CarrierEmployee,
    CarrierMember,
    CarrierMemberRecord,
    EnrolledIndividual,
    PlanOption,
)
from domain.snapshots import IndividualType

Json = dict[str, Any]

TODAY = dt.date(2025, 6, 15)
START = dt.date(2025, 1, 1)

EMPLOYEE_ID = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
SPOUSE_ID = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000002")
CHILD_ID = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000003")
OTHER_ID = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000004")


def _plan_id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"plan:{name}")


BASIC_LIFE = _plan_id("basic life")
VOL_LIFE = _plan_id("voluntary life")
VOL_STD = _plan_id("voluntary std")
CI_PLAN = _plan_id("critical illness")
DENTAL = _plan_id("dental")
DENTAL_HIGH = _plan_id("dental high")
HI_LOW = _plan_id("hi low")
HI_HIGH = _plan_id("hi high")

PLANS = {
    BASIC_LIFE: PlanFacts(voluntary=False, line_of_coverage=LineOfCoverage.LIFE),
    VOL_LIFE: PlanFacts(voluntary=True, line_of_coverage=LineOfCoverage.LIFE),
    VOL_STD: PlanFacts(voluntary=True, line_of_coverage=LineOfCoverage.STD),
    CI_PLAN: PlanFacts(voluntary=True, line_of_coverage=LineOfCoverage.CRITICAL_ILLNESS),
    DENTAL: PlanFacts(voluntary=False, line_of_coverage=LineOfCoverage.DENTAL),
}


def _dob_at_age(age: int, today: dt.date = TODAY) -> str:
    """A date of birth making the person exactly `age` on `today` (birthday a week earlier)."""
    birthday = today - dt.timedelta(days=7)
    return birthday.replace(year=birthday.year - age).isoformat()


def _person(first: str, dob: str = "1984-07-19", **extra: Any) -> Json:
    return {"first_name": first, "last_name": "Quillfeather", "date_of_birth": dob, "sex": "F"} | (
        extra
    )


def _employee(**person: Any) -> CarrierEmployee:
    return CarrierEmployee(
        id=EMPLOYEE_ID,
        person=_person("Zebulon", **person),
        employment={
            "employment_status": "full-time",
            "hours_worked": 40,
            "employment_dates": {"hire_date": "2020-03-15"},
            "salary": {"amount": 85000, "type": "salary", "unit": "annual"},
        },
    )


def _spouse(**person: Any) -> CarrierDependent:
    return CarrierDependent(
        id=SPOUSE_ID, person=_person("Ottoline", "1986-11-23", **person), relationship="spouse"
    )


def _child(relationship: str = "child") -> CarrierDependent:
    return CarrierDependent(
        id=CHILD_ID, person=_person("Peregrine", "2015-02-14"), relationship=relationship
    )


def _enrolled(
    individual_id: uuid.UUID = EMPLOYEE_ID,
    *,
    start: dt.date = START,
    end: dt.date = OPEN_END,
    volume: int | None = None,
) -> EnrolledIndividual:
    return EnrolledIndividual(
        individual_id=individual_id,
        individual_type=(
            IndividualType.EMPLOYEE if individual_id == EMPLOYEE_ID else IndividualType.DEPENDENT
        ),
        effective_start_date=start,
        effective_end_date=end,
        volume=volume,
    )


def _coverage(
    line: LineOfCoverage,
    plan_id: uuid.UUID,
    *enrolled: EnrolledIndividual,
    cobra: CarrierCobra | None = None,
) -> CarrierCoverage:
    return CarrierCoverage(
        line_of_coverage=line,
        plan_id=plan_id,
        carrier_plan_id=f"C-{str(plan_id)[:8]}",
        enrolled_members=enrolled or (_enrolled(),),
        cobra=cobra,
    )


def _member(
    *coverages: CarrierCoverage,
    employee: CarrierEmployee | None = None,
    dependents: tuple[CarrierDependent, ...] = (),
) -> CarrierMember:
    return CarrierMember(
        employee=employee or _employee(), dependents=dependents, coverages=coverages
    )


def _held(member: CarrierMember) -> CarrierMemberRecord:
    """What the carrier reads back: the same shape, plus `terminated`."""
    return CarrierMemberRecord.model_validate(member.model_dump() | {"terminated": False})


def _compare(
    sent: CarrierMember,
    held: CarrierMember | None,
    carrier: str = "principal",
    today: dt.date = TODAY,
    stage: ConfirmationStage = ConfirmationStage.ACCEPTANCE,
) -> list[FoundDifference]:
    return compare_member(
        sent,
        _held(held) if held is not None else None,
        carrier=carrier,
        today=today,
        plans=PLANS,
        stage=stage,
    )


def _types(found: list[FoundDifference]) -> list[tuple[str, str, tuple[str, ...], str]]:
    return [
        (f.object_type.value, str(f.object_id), f.coverage_key, f.difference_type.value)
        for f in found
    ]


def _life(volume: int, individual_id: uuid.UUID = EMPLOYEE_ID) -> CarrierCoverage:
    return _coverage(LineOfCoverage.LIFE, BASIC_LIFE, _enrolled(individual_id, volume=volume))


# --- the whole member ---------------------------------------------------------------------------


def test_identical_member_has_no_differences() -> None:
    sent = _member(
        _coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(), _enrolled(SPOUSE_ID)),
        _life(50_000),
        dependents=(_spouse(),),
    )
    for carrier in ("principal", "unum", "other"):
        assert _compare(sent, sent, carrier=carrier) == []


def test_member_missing_at_carrier_is_one_missing_employee() -> None:
    sent = _member(_life(50_000), dependents=(_spouse(),))
    assert compare_member(sent, None, carrier="principal", today=TODAY) == [
        FoundDifference(
            object_type=ObjectType.EMPLOYEE,
            object_id=EMPLOYEE_ID,
            classification=DifferenceClassification.MISSING_FROM_CARRIER,
            difference_type=DifferenceType.MISSING_EMPLOYEE,
        )
    ]


# --- the employee -------------------------------------------------------------------------------


def test_employee_person_fields_differ_by_dotted_key_with_both_values() -> None:
    address = {"street_one": "1 Main St", "city": "Springfield", "state": "IL", "zip_code": "62701"}
    sent = _member(_life(50_000), employee=_employee(home_address=address, marital_status="single"))
    held_employee = _employee(home_address=address | {"city": "Shelbyville"}, sex="M")
    found = _compare(sent, _member(_life(50_000), employee=held_employee))
    assert len(found) == 1
    (finding,) = found
    assert finding.object_type is ObjectType.EMPLOYEE
    assert finding.object_id == EMPLOYEE_ID
    assert finding.classification is DifferenceClassification.FIELD_MISMATCH
    assert finding.difference_type is DifferenceType.PERSON_MISMATCH
    assert finding.fields == (
        FieldDifference("person.home_address", address, address | {"city": "Shelbyville"}),
        FieldDifference("person.marital_status", "single", None),
        FieldDifference("person.sex", "F", "M"),
    )


def test_absent_and_null_fields_are_the_same() -> None:
    address = {"street_one": "1 Main St", "city": "Springfield"}
    sent = _member(_life(50_000), employee=_employee(home_address=address))
    held = _member(
        _life(50_000), employee=_employee(home_address=address | {"street_two": None}, ssn=None)
    )
    assert _compare(sent, held) == []


def test_employment_mismatch_is_its_own_finding() -> None:
    sent = _member(_life(50_000))
    employee = _employee(last_name="Other")
    held_employee = employee.model_copy(
        update={"employment": sent.employee.employment | {"hours_worked": 30}}
    )
    found = _compare(sent, _member(_life(50_000), employee=held_employee))
    assert [(f.difference_type, f.fields) for f in found] == [
        (DifferenceType.EMPLOYMENT_MISMATCH, (FieldDifference("employment.hours_worked", 40, 30),)),
        (
            DifferenceType.PERSON_MISMATCH,
            (FieldDifference("person.last_name", "Quillfeather", "Other"),),
        ),
    ]


def test_salary_is_not_compared_at_principal_but_is_elsewhere() -> None:
    sent = _member(_life(50_000))
    without_salary = {k: v for k, v in sent.employee.employment.items() if k != "salary"}
    held = _member(
        _life(50_000), employee=sent.employee.model_copy(update={"employment": without_salary})
    )
    assert _compare(sent, held, carrier="principal") == []
    (finding,) = _compare(sent, held, carrier="unum")
    assert finding.difference_type is DifferenceType.EMPLOYMENT_MISMATCH
    assert [f.key for f in finding.fields] == ["employment.salary"]


# --- dependents ---------------------------------------------------------------------------------


def test_dependent_sent_but_not_held_is_missing_from_carrier() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(), _enrolled(SPOUSE_ID))
    sent = _member(dental, dependents=(_spouse(),))
    held = _member(_coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled()))
    found = _compare(sent, held)
    assert _types(found) == [
        ("dependent", str(SPOUSE_ID), (), "missing_dependent"),
        ("individual_enrollment", str(SPOUSE_ID), ("dental",), "missing_ie"),
    ]
    assert {f.classification for f in found} == {DifferenceClassification.MISSING_FROM_CARRIER}


def test_dependent_held_but_not_sent_is_extra() -> None:
    sent = _member(_coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled()))
    held = _member(
        _coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(), _enrolled(SPOUSE_ID)),
        dependents=(_spouse(),),
    )
    found = _compare(sent, held)
    assert _types(found) == [
        ("dependent", str(SPOUSE_ID), (), "extra_dependent"),
        ("individual_enrollment", str(SPOUSE_ID), ("dental",), "extra_ie"),
    ]
    assert {f.classification for f in found} == {DifferenceClassification.MISSING_FROM_PLATFORM}


def test_dependent_fields_and_relationship_mismatch() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(), _enrolled(SPOUSE_ID))
    sent = _member(dental, dependents=(_spouse(),))
    held_spouse = _spouse(first_name="Otto").model_copy(update={"relationship": "domestic-partner"})
    (finding,) = _compare(sent, _member(dental, dependents=(held_spouse,)))
    assert finding.object_type is ObjectType.DEPENDENT
    assert finding.object_id == SPOUSE_ID
    assert finding.difference_type is DifferenceType.PERSON_MISMATCH
    assert finding.fields == (
        FieldDifference("person.first_name", "Ottoline", "Otto"),
        FieldDifference("relationship", "spouse", "domestic-partner"),
    )


def test_former_dependent_with_only_ended_coverage_is_neither_missing_nor_extra() -> None:
    ended = _enrolled(SPOUSE_ID, end=dt.date(2025, 3, 31))
    sent = _member(
        _coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(), ended), dependents=(_spouse(),)
    )
    held = _member(_coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled()))
    assert _compare(sent, held) == []
    # ... and the reverse: the carrier still lists them, ended; the platform no longer sends them.
    assert _compare(held, sent) == []


# --- individual enrollments ---------------------------------------------------------------------


def test_enrollment_missing_and_extra() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL)
    life = _life(50_000)
    assert _types(_compare(_member(dental, life), _member(dental))) == [
        ("individual_enrollment", str(EMPLOYEE_ID), ("life",), "missing_ie")
    ]
    (extra,) = _compare(_member(dental), _member(dental, life))
    assert extra.difference_type is DifferenceType.EXTRA_IE
    assert extra.classification is DifferenceClassification.MISSING_FROM_PLATFORM
    assert extra.coverage_key == ("life",)


def test_ended_enrollment_the_carrier_no_longer_shows_is_not_missing() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL)
    ended = _coverage(
        LineOfCoverage.VISION, _plan_id("vision"), _enrolled(end=TODAY - dt.timedelta(days=1))
    )
    assert _compare(_member(dental, ended), _member(dental)) == []
    # Ending in the future, or today, it is still in force: the carrier must show it.
    ending = _coverage(LineOfCoverage.VISION, _plan_id("vision"), _enrolled(end=TODAY))
    assert _types(_compare(_member(dental, ending), _member(dental))) == [
        ("individual_enrollment", str(EMPLOYEE_ID), ("vision",), "missing_ie")
    ]


def test_enrollment_field_mismatch_lists_each_field() -> None:
    sent = _member(_coverage(LineOfCoverage.DENTAL, DENTAL))
    held = _member(
        _coverage(LineOfCoverage.DENTAL, DENTAL_HIGH, _enrolled(end=dt.date(2025, 12, 31)))
    )
    (finding,) = _compare(sent, held)
    assert finding.difference_type is DifferenceType.ENROLLMENT_MISMATCH
    assert finding.classification is DifferenceClassification.FIELD_MISMATCH
    assert finding.coverage_key == ("dental",)
    assert finding.fields == (
        FieldDifference("plan_id", str(DENTAL), str(DENTAL_HIGH)),
        FieldDifference("effective_end_date", "9999-12-31", "2025-12-31"),
    )


# --- Principal: age reduction -------------------------------------------------------------------


def test_principal_age_reduction_at_65_is_expected() -> None:
    assert age_reduced(50_000) == 32_500
    employee = _employee(date_of_birth=_dob_at_age(65))
    sent = _member(_life(50_000), employee=employee)
    held = _member(_life(32_500), employee=employee)
    assert _compare(sent, held) == []


def test_principal_age_reduction_does_not_excuse_other_amounts() -> None:
    employee = _employee(date_of_birth=_dob_at_age(70))
    sent = _member(_life(50_000), employee=employee)
    (finding,) = _compare(sent, _member(_life(30_000), employee=employee))
    assert finding.difference_type is DifferenceType.ENROLLMENT_MISMATCH
    assert finding.fields == (FieldDifference("volume", 50_000, 30_000),)


def test_principal_age_reduction_at_64_is_a_difference() -> None:
    employee = _employee(date_of_birth=_dob_at_age(64))
    sent = _member(_life(50_000), employee=employee)
    (finding,) = _compare(sent, _member(_life(32_500), employee=employee))
    assert finding.difference_type is DifferenceType.ENROLLMENT_MISMATCH
    assert finding.coverage_key == ("life",)
    assert finding.fields == (FieldDifference("volume", 50_000, 32_500),)


def test_principal_age_reduction_turns_65_tomorrow_is_still_a_difference() -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    employee = _employee(date_of_birth=tomorrow.replace(year=tomorrow.year - 65).isoformat())
    sent = _member(_life(50_000), employee=employee)
    assert len(_compare(sent, _member(_life(32_500), employee=employee))) == 1
    assert _compare(sent, _member(_life(32_500), employee=employee), today=tomorrow) == []


def test_principal_age_reduction_only_for_life_and_only_at_principal() -> None:
    employee = _employee(date_of_birth=_dob_at_age(67))
    add = _coverage(LineOfCoverage.ADD, _plan_id("add"), _enrolled(volume=50_000))
    add_held = _coverage(LineOfCoverage.ADD, _plan_id("add"), _enrolled(volume=32_500))
    (finding,) = _compare(_member(add, employee=employee), _member(add_held, employee=employee))
    assert finding.fields == (FieldDifference("volume", 50_000, 32_500),)
    (other,) = _compare(
        _member(_life(50_000), employee=employee),
        _member(_life(32_500), employee=employee),
        carrier="other",
    )
    assert other.fields == (FieldDifference("volume", 50_000, 32_500),)


def test_principal_age_reduction_is_the_employees_own_life_only() -> None:
    # The employee is 65 or older, but a spouse's life amount shown reduced is a difference.
    employee = _employee(date_of_birth=_dob_at_age(68))

    def life(employee_volume: int, spouse_volume: int) -> CarrierMember:
        coverage = _coverage(
            LineOfCoverage.LIFE,
            BASIC_LIFE,
            _enrolled(volume=employee_volume),
            _enrolled(SPOUSE_ID, volume=spouse_volume),
        )
        return _member(coverage, employee=employee, dependents=(_spouse(),))

    sent, held = life(50_000, 20_000), life(32_500, 13_000)
    (finding,) = _compare(sent, held)
    assert finding.object_id == SPOUSE_ID
    assert finding.fields == (FieldDifference("volume", 20_000, 13_000),)


# --- Principal: critical illness children --------------------------------------------------------


def _ci(*enrolled: EnrolledIndividual) -> CarrierCoverage:
    return _coverage(LineOfCoverage.CRITICAL_ILLNESS, CI_PLAN, *enrolled)


@pytest.mark.parametrize("relationship", ["child", "step-child", "foster-child", "adopted-child"])
def test_principal_ci_child_not_held_is_expected(relationship: str) -> None:
    sent = _member(
        _ci(_enrolled(volume=20_000), _enrolled(CHILD_ID, volume=5_000)),
        dependents=(_child(relationship),),
    )
    held = _member(_ci(_enrolled(volume=20_000)), dependents=(_child(relationship),))
    assert _compare(sent, held) == []
    # The carrier may not list the child at all: they have nothing of their own to show.
    assert _compare(sent, _member(_ci(_enrolled(volume=20_000)))) == []


def test_principal_ci_spouse_not_held_is_a_difference() -> None:
    # A non-voluntary CI plan, so only the child rule could excuse it.
    plans = PLANS | {CI_PLAN: PlanFacts(voluntary=False)}
    sent = _member(
        _ci(_enrolled(volume=20_000), _enrolled(SPOUSE_ID, volume=10_000)),
        dependents=(_spouse(),),
    )
    held = _member(_ci(_enrolled(volume=20_000)), dependents=(_spouse(),))
    found = compare_member(sent, _held(held), carrier="principal", today=TODAY, plans=plans)
    assert _types(found) == [
        ("individual_enrollment", str(SPOUSE_ID), ("critical_illness",), "missing_ie")
    ]


def test_ci_child_not_held_is_a_difference_at_unum() -> None:
    sent = _member(
        _ci(_enrolled(volume=20_000), _enrolled(CHILD_ID, volume=5_000)), dependents=(_child(),)
    )
    held = _member(_ci(_enrolled(volume=20_000)), dependents=(_child(),))
    assert _types(_compare(sent, held, carrier="unum")) == [
        ("individual_enrollment", str(CHILD_ID), ("critical_illness",), "missing_ie")
    ]


# --- evidence of insurability --------------------------------------------------------------------


@pytest.mark.parametrize("stage", list(ConfirmationStage))
def test_voluntary_life_pending_eoi_is_expected_at_both_stages(stage: ConfirmationStage) -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL)
    vol_life = _coverage(LineOfCoverage.LIFE, VOL_LIFE, _enrolled(volume=100_000))
    for carrier in ("principal", "unum"):
        assert _compare(_member(dental, vol_life), _member(dental), carrier, stage=stage) == []


def test_voluntary_std_pending_eoi_is_expected_at_principal_not_unum() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL)
    vol_std = _coverage(LineOfCoverage.STD, VOL_STD, _enrolled())
    assert _compare(_member(dental, vol_std), _member(dental), "principal") == []
    assert _types(_compare(_member(dental, vol_std), _member(dental), "unum")) == [
        ("individual_enrollment", str(EMPLOYEE_ID), ("std",), "missing_ie")
    ]


def test_non_voluntary_or_unknown_plan_missing_is_a_difference() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL)
    sent = _member(dental, _life(50_000))  # basic life: employer-paid
    assert len(_compare(sent, _member(dental))) == 1
    vol_life = _coverage(LineOfCoverage.LIFE, VOL_LIFE, _enrolled(volume=100_000))
    found = compare_member(
        _member(dental, vol_life), _held(_member(dental)), carrier="principal", today=TODAY
    )
    assert _types(found) == [("individual_enrollment", str(EMPLOYEE_ID), ("life",), "missing_ie")]


def test_spouse_pending_eoi_only_is_not_a_missing_dependent() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL)
    vol_life = _coverage(
        LineOfCoverage.LIFE,
        VOL_LIFE,
        _enrolled(volume=100_000),
        _enrolled(SPOUSE_ID, volume=50_000),
    )
    sent = _member(dental, vol_life, dependents=(_spouse(),))
    assert (
        _compare(
            sent,
            _member(dental, _coverage(LineOfCoverage.LIFE, VOL_LIFE, _enrolled(volume=100_000))),
        )
        == []
    )


def test_voluntary_coverage_held_with_other_fields_is_still_compared() -> None:
    vol_life = _coverage(LineOfCoverage.LIFE, VOL_LIFE, _enrolled(volume=100_000))
    held = _coverage(
        LineOfCoverage.LIFE, VOL_LIFE, _enrolled(volume=100_000, end=dt.date(2025, 12, 31))
    )
    (finding,) = _compare(_member(vol_life), _member(held))
    assert finding.fields == (FieldDifference("effective_end_date", "9999-12-31", "2025-12-31"),)


# --- Unum volumes --------------------------------------------------------------------------------


def test_unum_assigned_volume_is_expected() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL)
    assert _compare(_member(dental, _life(50_000)), _member(dental, _life(40_000)), "unum") == []
    # ... but not at Principal (employee under 65).
    (finding,) = _compare(_member(dental, _life(50_000)), _member(dental, _life(40_000)))
    assert finding.fields == (FieldDifference("volume", 50_000, 40_000),)


def test_unum_volume_is_ignored_but_other_fields_are_not() -> None:
    held = _coverage(
        LineOfCoverage.LIFE, BASIC_LIFE, _enrolled(volume=40_000, start=dt.date(2025, 2, 1))
    )
    (finding,) = _compare(_member(_life(50_000)), _member(held), "unum")
    assert finding.difference_type is DifferenceType.ENROLLMENT_MISMATCH  # not Principal's rule
    assert finding.fields == (FieldDifference("effective_start_date", "2025-01-01", "2025-02-01"),)


# --- Principal: carrier-calculated effective dates ----------------------------------------------


def test_principal_effective_date_alone_is_carrier_effective_date() -> None:
    sent = _member(_coverage(LineOfCoverage.DENTAL, DENTAL))
    held = _member(_coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(start=dt.date(2025, 2, 1))))
    (finding,) = _compare(sent, held)
    assert finding.difference_type is DifferenceType.CARRIER_EFFECTIVE_DATE
    assert finding.classification is DifferenceClassification.FIELD_MISMATCH
    assert finding.fields == (FieldDifference("effective_start_date", "2025-01-01", "2025-02-01"),)


def test_principal_effective_date_with_other_changes_is_enrollment_mismatch() -> None:
    sent = _member(_coverage(LineOfCoverage.DENTAL, DENTAL))
    held = _member(
        _coverage(LineOfCoverage.DENTAL, DENTAL_HIGH, _enrolled(start=dt.date(2025, 2, 1)))
    )
    (finding,) = _compare(sent, held)
    assert finding.difference_type is DifferenceType.ENROLLMENT_MISMATCH
    assert [f.key for f in finding.fields] == ["plan_id", "effective_start_date"]


def test_principal_effective_date_with_expected_age_reduction_is_carrier_effective_date() -> None:
    employee = _employee(date_of_birth=_dob_at_age(66))
    held = _coverage(
        LineOfCoverage.LIFE, BASIC_LIFE, _enrolled(volume=32_500, start=dt.date(2025, 2, 1))
    )
    (finding,) = _compare(
        _member(_life(50_000), employee=employee), _member(held, employee=employee)
    )
    assert finding.difference_type is DifferenceType.CARRIER_EFFECTIVE_DATE


# --- COBRA continuation -------------------------------------------------------------------------

COBRA = CarrierCobra(
    eligibility_start_date=dt.date(2025, 4, 1),
    eligibility_end_date=dt.date(2026, 9, 30),
    qualifying_event_date=dt.date(2025, 3, 31),
    qualifying_event_reason="termination_of_employment",
)
COBRA_JSON = {
    "eligibility_start_date": "2025-04-01",
    "eligibility_end_date": "2026-09-30",
    "qualifying_event_date": "2025-03-31",
    "qualifying_event_reason": "termination_of_employment",
}


def _cobra_dental(cobra: CarrierCobra | None, *enrolled: EnrolledIndividual) -> CarrierCoverage:
    return _coverage(LineOfCoverage.DENTAL, DENTAL, *enrolled, cobra=cobra)


def test_cobra_part_held_as_sent_has_no_differences() -> None:
    sent = _member(_cobra_dental(COBRA), dependents=(_spouse(),))
    for carrier in ("principal", "unum", "other"):
        assert _compare(sent, sent, carrier=carrier) == []


@pytest.mark.parametrize(
    ("held", "fields"),
    [
        pytest.param(
            COBRA.model_copy(update={"eligibility_end_date": dt.date(2026, 3, 31)}),
            [FieldDifference("cobra.eligibility_end_date", "2026-09-30", "2026-03-31")],
            id="eligibility end",
        ),
        pytest.param(
            COBRA.model_copy(
                update={
                    "eligibility_start_date": dt.date(2025, 5, 1),
                    "qualifying_event_date": None,
                }
            ),
            [
                FieldDifference("cobra.eligibility_start_date", "2025-04-01", "2025-05-01"),
                FieldDifference("cobra.qualifying_event_date", "2025-03-31", None),
            ],
            id="eligibility start and event date",
        ),
        pytest.param(
            COBRA.model_copy(update={"qualifying_event_reason": "layoff"}),
            [
                FieldDifference(
                    "cobra.qualifying_event_reason", "termination_of_employment", "layoff"
                )
            ],
            id="event reason",
        ),
        pytest.param(None, [FieldDifference("cobra", COBRA_JSON, None)], id="not held as COBRA"),
    ],
)
def test_cobra_part_held_otherwise_is_an_enrollment_mismatch_of_each_enrollment(
    held: CarrierCobra | None, fields: list[FieldDifference]
) -> None:
    enrolled = (_enrolled(), _enrolled(SPOUSE_ID))
    sent = _member(_cobra_dental(COBRA, *enrolled), dependents=(_spouse(),))
    found = _compare(sent, _member(_cobra_dental(held, *enrolled), dependents=(_spouse(),)))
    assert [(f.object_id, f.coverage_key) for f in found] == [
        (EMPLOYEE_ID, ("dental",)),
        (SPOUSE_ID, ("dental",)),
    ]
    for finding in found:
        assert finding.classification is DifferenceClassification.FIELD_MISMATCH
        assert finding.difference_type is DifferenceType.ENROLLMENT_MISMATCH
        assert list(finding.fields) == fields


def test_cobra_part_the_carrier_holds_but_was_not_sent_is_a_difference() -> None:
    (finding,) = _compare(_member(_cobra_dental(None)), _member(_cobra_dental(COBRA)))
    assert finding.difference_type is DifferenceType.ENROLLMENT_MISMATCH
    assert finding.fields == (FieldDifference("cobra", None, COBRA_JSON),)


def test_principal_start_date_with_a_cobra_difference_is_an_enrollment_mismatch() -> None:
    sent = _member(_cobra_dental(COBRA))
    held_cobra = COBRA.model_copy(update={"eligibility_start_date": dt.date(2025, 5, 1)})
    held = _member(_cobra_dental(held_cobra, _enrolled(start=dt.date(2025, 2, 1))))
    (finding,) = _compare(sent, held)
    assert finding.difference_type is DifferenceType.ENROLLMENT_MISMATCH
    assert [f.key for f in finding.fields] == [
        "effective_start_date",
        "cobra.eligibility_start_date",
    ]


# --- hospital indemnity --------------------------------------------------------------------------


def _hi(plan_id: uuid.UUID, *enrolled: EnrolledIndividual) -> CarrierCoverage:
    return _coverage(LineOfCoverage.HOSPITAL_INDEMNITY, plan_id, *enrolled)


def test_two_hospital_plans_are_distinct_enrollments() -> None:
    sent = _member(_hi(HI_LOW), _hi(HI_HIGH))
    assert _compare(sent, sent) == []
    (missing,) = _compare(sent, _member(_hi(HI_LOW)))
    assert missing.difference_type is DifferenceType.MISSING_IE
    assert missing.coverage_key == ("hospital_indemnity", str(HI_HIGH))
    # Held in the other plan only: one missing and one extra, not a plan mismatch.
    found = _compare(_member(_hi(HI_LOW)), _member(_hi(HI_HIGH)))
    assert sorted((f.coverage_key[1], f.difference_type) for f in found) == sorted(
        [(str(HI_LOW), DifferenceType.MISSING_IE), (str(HI_HIGH), DifferenceType.EXTRA_IE)]
    )
    assert [f.coverage_key for f in found] == sorted(f.coverage_key for f in found)


def test_hospital_plan_switch_old_ended_day_before_new_start_is_consistent() -> None:
    switch = dt.date(2025, 7, 1)
    old = _hi(HI_LOW, _enrolled(end=switch - dt.timedelta(days=1)))
    new = _hi(HI_HIGH, _enrolled(start=switch))
    sent = _member(old, new)
    assert _compare(sent, sent) == []
    # After the switch, the carrier may drop the old plan from what it shows.
    assert _compare(sent, _member(new), today=dt.date(2025, 7, 2)) == []
    # The carrier still has the old plan open: the end date differs.
    (finding,) = _compare(sent, _member(_hi(HI_LOW), new))
    assert finding.coverage_key == ("hospital_indemnity", str(HI_LOW))
    assert finding.fields == (FieldDifference("effective_end_date", "2025-06-30", "9999-12-31"),)


def test_plan_switch_on_another_line_compares_the_latest_plan() -> None:
    switch = dt.date(2025, 7, 1)
    old = _coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(end=switch - dt.timedelta(days=1)))
    new = _coverage(LineOfCoverage.DENTAL, DENTAL_HIGH, _enrolled(start=switch))
    sent = _member(old, new)
    assert _compare(sent, sent) == []
    assert _compare(sent, _member(new)) == []
    (finding,) = _compare(sent, _member(_coverage(LineOfCoverage.DENTAL, DENTAL)))
    assert [f.key for f in finding.fields] == ["plan_id", "effective_start_date"]


# --- order and resolution ------------------------------------------------------------------------


def test_findings_are_in_a_fixed_order() -> None:
    sent = _member(
        _coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(), _enrolled(SPOUSE_ID)),
        _coverage(LineOfCoverage.VISION, _plan_id("vision"), _enrolled()),
        dependents=(_spouse(),),
    )
    held = _member(
        _coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(), _enrolled(CHILD_ID)),
        employee=_employee(first_name="Zeb"),
        dependents=(_child(),),
    )
    found = _compare(sent, held)
    assert _types(found) == [
        ("employee", str(EMPLOYEE_ID), (), "person_mismatch"),
        # by object kind, then coverage, then individual id (SPOUSE_ID < CHILD_ID)
        ("dependent", str(SPOUSE_ID), (), "missing_dependent"),
        ("dependent", str(CHILD_ID), (), "extra_dependent"),
        ("individual_enrollment", str(SPOUSE_ID), ("dental",), "missing_ie"),
        ("individual_enrollment", str(CHILD_ID), ("dental",), "extra_ie"),
        ("individual_enrollment", str(EMPLOYEE_ID), ("vision",), "missing_ie"),
    ]
    assert _compare(sent, held) == found


def test_differences_resolved_by_identity() -> None:
    def ie(key: str, volume: int, kind: DifferenceType) -> FoundDifference:
        return FoundDifference(
            object_type=ObjectType.INDIVIDUAL_ENROLLMENT,
            object_id=EMPLOYEE_ID,
            classification=DifferenceClassification.FIELD_MISMATCH,
            difference_type=kind,
            fields=(FieldDifference("volume", 50_000, volume),),
            coverage_key=(key,),
        )

    life_before = ie("life", 40_000, DifferenceType.ENROLLMENT_MISMATCH)
    life_now = ie("life", 45_000, DifferenceType.ENROLLMENT_MISMATCH)
    dental = ie("dental", 1, DifferenceType.ENROLLMENT_MISMATCH)
    add = ie("add", 1, DifferenceType.ENROLLMENT_MISMATCH)
    add_retyped = ie("add", 1, DifferenceType.CARRIER_EFFECTIVE_DATE)
    fresh = ie("std", 1, DifferenceType.ENROLLMENT_MISMATCH)

    still_open, resolved = differences_resolved(
        [life_before, dental, add, life_before], [fresh, add_retyped, life_now]
    )
    assert still_open == [life_now]  # the current values
    assert resolved == [dental, add]  # a different type is a different difference


def test_plan_facts_of_plan_option() -> None:
    option = PlanOption(
        id=VOL_LIFE,
        carrier_plan_id="C-1",
        line_of_coverage=LineOfCoverage.LIFE,
        name="Voluntary Life",
        voluntary=True,
        plan_configuration={},
    )
    assert PlanFacts.of(option) == PlanFacts(voluntary=True, line_of_coverage=LineOfCoverage.LIFE)
