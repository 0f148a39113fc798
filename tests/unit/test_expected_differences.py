"""What a snapshot expects its carrier to come to hold (pending differences), and the carrier's
documented behaviours reported `suppressed` instead of left out. Pure: no I/O."""

from __future__ import annotations

import uuid

from domain.confirmation import compare_member, expected_at_carrier
from domain.differences import DifferenceType, FoundDifference, ObjectType, split_check
from domain.enums import LineOfCoverage
from domain.members import CarrierMember
from tests.unit.test_confirmation import (
    CHILD_ID,
    CI_PLAN,
    DENTAL,
    EMPLOYEE_ID,
    PLANS,
    SPOUSE_ID,
    TODAY,
    VOL_LIFE,
    _child,
    _coverage,
    _enrolled,
    _held,
    _life,
    _member,
    _spouse,
)


def _kinds(found: list[FoundDifference]) -> list[tuple[str, uuid.UUID, tuple[str, ...], str, bool]]:
    return [
        (f.object_type.value, f.object_id, f.coverage_key, f.difference_type.value, f.suppressed)
        for f in found
    ]


def _expected(
    sent: CarrierMember, believed: CarrierMember | None, carrier: str = "principal"
) -> list[FoundDifference]:
    return expected_at_carrier(sent, believed, carrier=carrier, today=TODAY, plans=PLANS)


def test_a_new_hire_expects_the_employee_each_dependent_and_each_enrollment() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL, _enrolled(), _enrolled(SPOUSE_ID))
    sent = _member(dental, dependents=(_spouse(),))

    assert _kinds(_expected(sent, None)) == [
        ("employee", EMPLOYEE_ID, (), "missing_employee", False),
        ("dependent", SPOUSE_ID, (), "missing_dependent", False),
        ("individual_enrollment", EMPLOYEE_ID, ("dental",), "missing_ie", False),
        ("individual_enrollment", SPOUSE_ID, ("dental",), "missing_ie", False),
    ]


def test_a_change_expects_only_what_differs_from_what_the_carrier_was_last_sent() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL)
    before = _member(dental)
    after = _member(
        dental,
        employee=before.employee.model_copy(
            update={"person": {**before.employee.person, "last_name": "Smith"}}
        ),
    )

    [finding] = _expected(after, before)
    assert (finding.difference_type, finding.suppressed) == (DifferenceType.PERSON_MISMATCH, False)
    assert [(f.key, f.platform_value, f.carrier_value) for f in finding.fields] == [
        ("person.last_name", "Smith", "Quillfeather")
    ]
    assert _expected(before, before) == []


def test_coverage_pending_evidence_of_insurability_is_expected_suppressed() -> None:
    dental = _coverage(LineOfCoverage.DENTAL, DENTAL)
    vol_life = _coverage(LineOfCoverage.LIFE, VOL_LIFE, _enrolled(volume=100_000))
    sent, held = _member(dental, vol_life), _member(dental)

    [finding] = _expected(sent, held)
    assert (finding.coverage_key, finding.difference_type, finding.suppressed) == (
        ("life",),
        DifferenceType.MISSING_IE,
        True,
    )
    # A check reports it suppressed only when asked; left out as before otherwise.
    assert compare_member(sent, _held(held), carrier="principal", today=TODAY, plans=PLANS) == []


def test_principal_ci_children_and_unum_volumes_are_suppressed_not_absent() -> None:
    ci = _coverage(LineOfCoverage.CRITICAL_ILLNESS, CI_PLAN, _enrolled(), _enrolled(CHILD_ID))
    sent = _member(ci, dependents=(_child(),))
    held = _member(_coverage(LineOfCoverage.CRITICAL_ILLNESS, CI_PLAN, _enrolled()))
    assert _kinds(_expected(sent, held)) == [
        ("dependent", CHILD_ID, (), "missing_dependent", True),
        ("individual_enrollment", CHILD_ID, ("critical_illness",), "missing_ie", True),
    ]

    [volume] = _expected(_member(_life(50_000)), _member(_life(40_000)), carrier="unum")
    assert (volume.difference_type, volume.suppressed) == (DifferenceType.ENROLLMENT_MISMATCH, True)
    assert [f.key for f in volume.fields] == ["volume"]


def test_salary_principal_does_not_store_is_suppressed() -> None:
    sent = _member(_life(50_000))
    without_salary = {k: v for k, v in sent.employee.employment.items() if k != "salary"}
    held = _member(
        _life(50_000), employee=sent.employee.model_copy(update={"employment": without_salary})
    )

    [finding] = _expected(sent, held)
    assert (finding.object_type, finding.difference_type, finding.suppressed) == (
        ObjectType.EMPLOYEE,
        DifferenceType.EMPLOYMENT_MISMATCH,
        True,
    )
    assert _expected(sent, held, carrier="unum")[0].suppressed is False


def test_a_check_finding_the_employee_missing_resolves_nothing_else() -> None:
    sent = _member(_coverage(LineOfCoverage.DENTAL, DENTAL))
    pending = _expected(sent, None)
    found = compare_member(sent, None, carrier="principal", today=TODAY)

    split = split_check([finding.key for finding in pending], found)

    assert split.resolved == []
    assert [f.difference_type for f in split.still_open] == [DifferenceType.MISSING_EMPLOYEE]
