"""The inbound member snapshot (contract 4a): what it takes, what it refuses, and how it says so."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest
from pydantic import ValidationError

from domain.enums import LineOfCoverage
from domain.errors import ValidationFailed
from domain.snapshots import (
    CobraQualifyingEventReason,
    DuplicateDependent,
    EmailAddressType,
    EmploymentStatus,
    EventReason,
    EventType,
    IndividualType,
    MaritalStatus,
    MemberSnapshot,
    OmittedCoveragePolicy,
    OmittedCoverageTerminationRule,
    PatientRelationshipCode,
    PreferredContactMethod,
    ProviderEntityIdentifierCode,
    ProviderEntityType,
    ProviderIdentificationCodeType,
    Relationship,
    SalaryType,
    SalaryUnit,
    Sex,
    TobaccoType,
    check_duplicate_dependents,
    parse_snapshot,
)

Json = dict[str, Any]

# --- the contract, copied by hand so the module cannot grade itself ------------------------------

CONTRACT_ENUMS: dict[type[StrEnum], set[str]] = {
    EmploymentStatus: {"full-time", "part-time", "contract", "disabled", "terminated", "retired"},
    SalaryType: {"hourly", "salary"},
    SalaryUnit: {"annual", "month", "semi-monthly", "week", "hour"},
    Sex: {"F", "M", "U", "X"},
    MaritalStatus: {
        "single",
        "married",
        "domestic-partner",
        "divorced",
        "widowed",
        "legally-separated",
    },
    EmailAddressType: {"home", "work"},
    Relationship: {
        "spouse",
        "child",
        "domestic-partner",
        "grandchild",
        "civil-union",
        "step-child",
        "foster-child",
        "adopted-child",
        "legal-guardianship",
        "ex-spouse",
        "other",
    },
    IndividualType: {"employee", "dependent"},
    EventType: {"coverage", "demographic"},
    EventReason: {
        "adoption",
        "benefit_class_change",
        "change_to_part_time",
        "change_to_full_time",
        "cobra_enrollment",
        "cobra_termination",
        "cobra_update_other",
        "court_order",
        "death",
        "demographic_change",
        "dependent_open_enrollment",
        "disability_status_change",
        "divorce",
        "eligibility_change",
        "foster_care",
        "immigration_status_change",
        "leave_status_change",
        "legal_guardian",
        "lost_coverage",
        "marriage",
        "medicare",
        "moved",
        "newborn",
        "new_hire",
        "offline_change",
        "open_enrollment",
        "rate_changed",
        "rehire",
        "reinstatement",
        "retirement",
        "termination",
    },
    OmittedCoveragePolicy: {"continue", "reject", "terminate"},
    OmittedCoverageTerminationRule: {"custom", "end_of_current_month", "end_of_prior_month"},
    # The contract leaves these out; they are the spec's (InboundMemberSnapshot* schemas).
    PreferredContactMethod: {"mail", "email", "home-phone", "work-phone", "other"},
    TobaccoType: {"pipe", "cigarettes", "chewing-tobacco"},
    ProviderIdentificationCodeType: {"service_provider_number", "national_provider_identifier"},
    ProviderEntityIdentifierCode: {"pcp", "dental_pcp", "obgyn"},
    ProviderEntityType: {"person", "non_person_entity"},
    PatientRelationshipCode: {"established", "not_established", "unknown"},
    CobraQualifyingEventReason: {
        "termination_of_employment",
        "reduction_of_work_hours",
        "medicare",
        "death",
        "divorce",
        "separation",
        "ineligible_child",
        "bankruptcy_of_retirees_former_employer",
        "layoff",
        "leave_of_absence",
    },
}

# --- builders ------------------------------------------------------------------------------------

EMPLOYEE_ID = "0b6a4c1e-5d3f-4b8e-9a51-3c2f7d9e1a01"
SPOUSE_ID = "0b6a4c1e-5d3f-4b8e-9a51-3c2f7d9e1a02"
MEDICAL_CARRIER = "7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a01"
DENTAL_CARRIER = "7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a02"
MEDICAL_PLAN = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c01"
STRANGER_ID = "11111111-2222-4333-8444-555555555555"

# The PII the refusals must never repeat.
SSN = "536271849"
EMPLOYEE_FIRST, EMPLOYEE_LAST, EMPLOYEE_DOB = "Zebulon", "Quillfeather", "1984-07-19"
SPOUSE_FIRST, SPOUSE_DOB = "Ottoline", "1986-11-23"
CHILD_FIRST, CHILD_DOB = "Peregrine", "2015-02-14"
PII = [SSN, EMPLOYEE_FIRST, EMPLOYEE_LAST, EMPLOYEE_DOB, SPOUSE_FIRST, SPOUSE_DOB, CHILD_FIRST]
PII += [CHILD_DOB]


def address(**changes: Any) -> Json:
    values = {
        "street_one": "339 Hickory Street",
        "city": "Bend",
        "state": "OR",
        "zip_code": "97701",
    }
    return values | changes


def person(first: str, last: str, dob: str, sex: str, **changes: Any) -> Json:
    values = {
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "sex": sex,
        "home_address": address(),
        "mailing_address": address(),
    }
    return values | changes


def minimal_snapshot() -> Json:
    return {
        "snapshot_mode": "current_open",
        "employee": {
            "custom_individual_id": "emp-1",
            "employment": {
                "employment_status": "full-time",
                "hours_worked": 40,
                "employment_dates": {"hire_date": "2020-01-06"},
            },
            "person": person(EMPLOYEE_FIRST, EMPLOYEE_LAST, EMPLOYEE_DOB, "M"),
        },
    }


def full_snapshot() -> Json:
    """Every field of the contract (and the spec's sub-objects) set once."""
    return {
        "snapshot_mode": "current_open",
        "employee": {
            "id": EMPLOYEE_ID,
            "custom_individual_id": "emp-1",
            "group_individual_id": "G-0042",
            "event_id": "ev-hire",
            "classifications": {"division": "west", "class": "salaried"},
            "employment": {
                "employment_status": "full-time",
                "hours_worked": 40,
                "occupation": "Engineer",
                "employment_dates": {
                    "hire_date": "2020-01-06",
                    "full_time_start": "2020-01-06",
                    "rehire": "2021-03-01",
                    "retirement": "2045-01-01",
                    "terminated": "2021-01-31",
                },
                "salary": {
                    "amount": 52000.5,
                    "type": "salary",
                    "unit": "annual",
                    "effective_date": "2022-02-01",
                },
            },
            "person": person(
                EMPLOYEE_FIRST,
                EMPLOYEE_LAST,
                EMPLOYEE_DOB,
                "M",
                middle_name="Ambrose",
                suffix="Jr",
                ssn=SSN,
                marital_status="married",
                home_address=address(street_two="Apartment 5", county="Deschutes"),
                mailing_address=address(zip_code="97701-1234"),
                contact={
                    "email_address": "z@example.com",
                    "email_address_type": "work",
                    "home_phone": "+15555551212",
                    "work_phone": "+15555551313",
                    "preferred_language": "English",
                    "preferred_method": "email",
                    "speaks_english": True,
                },
                details={
                    "is_military": False,
                    "is_student": False,
                    "tobacco": {
                        "user": True,
                        "types": ["pipe"],
                        "frequency": "Daily",
                        "duration": "5 years",
                    },
                    "disability": {"disabled": False, "communication": False, "reason": "none"},
                    "american_indian": {"state": "OR", "tribe": "Klamath"},
                },
            ),
        },
        "dependents": [
            {
                "id": SPOUSE_ID,
                "custom_individual_id": "dep-1",
                "group_individual_id": "G-0042-1",
                "event_id": "ev-marriage",
                "person": person(SPOUSE_FIRST, EMPLOYEE_LAST, SPOUSE_DOB, "F"),
                "relationship": "spouse",
            },
            {
                "custom_individual_id": "dep-2",
                "person": person(CHILD_FIRST, EMPLOYEE_LAST, CHILD_DOB, "X"),
                "relationship": "child",
            },
        ],
        "coverages": [
            {
                "carrier_id": MEDICAL_CARRIER,
                "line_of_coverage": "medical",
                "plan_id": MEDICAL_PLAN,
                "plan_name": "Gold PPO",
                "custom_plan_id": "med-gold",
                "signature_date": "2022-09-15",
                "carrier_config": {"member_group": 1, "bill_group": {"number": 7}},
                "cobra_details": {
                    "cobra_enrolled": False,
                    "eligibility_start_date": "2022-10-01",
                    "eligibility_end_date": "2024-03-31",
                    "qualifying_event_date": "2022-09-30",
                    "qualifying_event_reason": "reduction_of_work_hours",
                },
                "enrolled_members": [
                    {
                        "individual_type": "employee",
                        "individual_id": EMPLOYEE_ID,
                        "custom_individual_id": "emp-1",
                        "effective_start_date": "2022-10-01",
                        "effective_end_date": "9999-12-31",
                        "latest_change_effective_date": "2022-10-01",
                        "event_id": "ev-hire",
                        "volume": 50000,
                        "pcp_details": {
                            "providers": [
                                {
                                    "identification_code": "1234567893",
                                    "identification_code_type": "national_provider_identifier",
                                    "entity_identifier_code": "pcp",
                                    "entity_type": "person",
                                    "first_name": "Ada",
                                    "middle_name": "B",
                                    "last_name": "Cole",
                                    "organization_name": "Bend Clinic",
                                    "patient_relationship_code": "established",
                                }
                            ]
                        },
                    },
                    {
                        "individual_type": "dependent",
                        "individual_id": SPOUSE_ID,
                        "effective_start_date": "2022-10-01",
                        "effective_end_date": "9999-12-31",
                        "event_id": "ev-marriage",
                    },
                ],
            },
            {
                "carrier_id": DENTAL_CARRIER,
                "line_of_coverage": "dental",
                "plan_name": "Dental Basic",
                "enrolled_members": [
                    {
                        "individual_type": "employee",
                        "custom_individual_id": "emp-1",
                        "effective_start_date": "2022-10-01",
                        "effective_end_date": "9999-12-31",
                    },
                    {
                        "individual_type": "dependent",
                        "custom_individual_id": "dep-2",
                        "effective_start_date": "2022-10-01",
                        "effective_end_date": "2023-09-30",
                    },
                ],
            },
        ],
        "events": [
            {"id": "ev-hire", "date": "2022-09-15", "type": "coverage", "reason": "new_hire"},
            {"id": "ev-marriage", "date": "2022-09-20", "type": "coverage", "reason": "marriage"},
        ],
        "omitted_coverage_handling": {
            "policy": "terminate",
            "termination_rule": "custom",
            "custom": {"effective_end_date": "2022-12-31"},
        },
        "enable_member_auto_link": True,
    }


def _steps(path: str) -> list[str | int]:
    return [int(step) if step.isdigit() else step for step in path.split(".")]


def _parent(payload: Json, path: str) -> tuple[Any, str | int]:
    *head, last = _steps(path)
    node: Any = payload
    for step in head:
        node = node[step]
    return node, last


def put(payload: Json, path: str, value: Any) -> Json:
    node, last = _parent(payload, path)
    node[last] = value
    return payload


def drop(payload: Json, path: str) -> Json:
    node, last = _parent(payload, path)
    del node[last]
    return payload


def refusals(payload: Any) -> dict[str, str]:
    """Each refused field with its reason; fails the test if the payload is taken."""
    with pytest.raises(ValidationFailed) as caught:
        parse_snapshot(payload)
    problems = caught.value.problems
    assert len({p.field for p in problems}) == len(problems), problems
    return {p.field: p.reason for p in problems}


# --- the enums -----------------------------------------------------------------------------------


@pytest.mark.parametrize("enum", CONTRACT_ENUMS, ids=lambda e: e.__name__)
def test_enums_hold_exactly_the_contract_values(enum: type[StrEnum]) -> None:
    assert {member.value for member in enum} == CONTRACT_ENUMS[enum]


def test_there_are_thirty_one_event_reasons() -> None:
    assert len(EventReason) == 31


# --- what it takes -------------------------------------------------------------------------------


def test_the_full_snapshot_round_trips() -> None:
    snapshot = parse_snapshot(full_snapshot())
    assert snapshot.model_dump(mode="json", exclude_unset=True) == full_snapshot()
    assert snapshot.coverages[0].line_of_coverage is LineOfCoverage.MEDICAL
    assert str(snapshot.dependents[0].id) == SPOUSE_ID
    assert snapshot.employee.person.details is not None
    assert snapshot.employee.person.details.tobacco is not None
    assert snapshot.employee.person.details.tobacco.types == [TobaccoType.PIPE]


def test_the_minimal_snapshot_takes_the_contract_defaults() -> None:
    snapshot = parse_snapshot(minimal_snapshot())
    assert snapshot.dependents == []
    assert snapshot.coverages == []
    assert snapshot.events == []
    assert snapshot.omitted_coverage_handling.policy is OmittedCoveragePolicy.REJECT
    assert snapshot.omitted_coverage_handling.termination_rule is None
    assert snapshot.omitted_coverage_handling.custom is None
    assert snapshot.enable_member_auto_link is False
    assert snapshot.employee.id is None
    assert snapshot.employee.person.ssn is None


def test_nullable_optional_fields_take_null() -> None:
    payload = full_snapshot()
    put(payload, "employee.person.ssn", None)
    put(payload, "employee.person.middle_name", None)
    put(payload, "coverages.0.enrolled_members.0.individual_id", None)
    snapshot = parse_snapshot(payload)
    assert snapshot.employee.person.ssn is None
    assert snapshot.coverages[0].enrolled_members[0].individual_id is None


def test_free_form_objects_take_any_keys() -> None:
    payload = full_snapshot()
    put(payload, "coverages.0.carrier_config", {"anything": [1, {"deep": None}]})
    put(payload, "employee.classifications", {"any key": "any value"})
    snapshot = parse_snapshot(payload)
    assert snapshot.coverages[0].carrier_config == {"anything": [1, {"deep": None}]}
    assert snapshot.employee.classifications == {"any key": "any value"}


def test_models_are_frozen() -> None:
    snapshot = parse_snapshot(minimal_snapshot())
    with pytest.raises(ValidationError):
        snapshot.employee.person.sex = Sex.F  # type: ignore[misc]


# --- schema refusals -----------------------------------------------------------------------------

ENUM_FIELDS: list[tuple[str, type[StrEnum]]] = [
    ("employee.employment.employment_status", EmploymentStatus),
    ("employee.employment.salary.type", SalaryType),
    ("employee.employment.salary.unit", SalaryUnit),
    ("employee.person.sex", Sex),
    ("employee.person.marital_status", MaritalStatus),
    ("employee.person.contact.email_address_type", EmailAddressType),
    ("employee.person.contact.preferred_method", PreferredContactMethod),
    ("employee.person.details.tobacco.types.0", TobaccoType),
    ("dependents.1.person.sex", Sex),
    ("dependents.0.relationship", Relationship),
    ("coverages.0.line_of_coverage", LineOfCoverage),
    ("coverages.0.enrolled_members.0.individual_type", IndividualType),
    (
        "coverages.0.enrolled_members.0.pcp_details.providers.0.identification_code_type",
        ProviderIdentificationCodeType,
    ),
    (
        "coverages.0.enrolled_members.0.pcp_details.providers.0.entity_identifier_code",
        ProviderEntityIdentifierCode,
    ),
    ("coverages.0.enrolled_members.0.pcp_details.providers.0.entity_type", ProviderEntityType),
    (
        "coverages.0.enrolled_members.0.pcp_details.providers.0.patient_relationship_code",
        PatientRelationshipCode,
    ),
    ("coverages.0.cobra_details.qualifying_event_reason", CobraQualifyingEventReason),
    ("events.0.type", EventType),
    ("events.1.reason", EventReason),
    ("omitted_coverage_handling.policy", OmittedCoveragePolicy),
    ("omitted_coverage_handling.termination_rule", OmittedCoverageTerminationRule),
]


@pytest.mark.parametrize(("path", "enum"), ENUM_FIELDS, ids=[path for path, _ in ENUM_FIELDS])
def test_a_bad_enum_value_is_named(path: str, enum: type[StrEnum]) -> None:
    found = refusals(put(full_snapshot(), path, "bogus"))
    assert list(found) == [path]
    assert all(f"'{member.value}'" in found[path] for member in enum)


def test_an_unknown_snapshot_mode_is_named() -> None:
    found = refusals(put(minimal_snapshot(), "snapshot_mode", "historical"))
    assert list(found) == ["snapshot_mode"]
    assert "'current_open'" in found["snapshot_mode"]


REQUIRED = [
    "snapshot_mode",
    "employee",
    "employee.employment",
    "employee.person",
    "employee.employment.employment_status",
    "employee.employment.hours_worked",
    "employee.employment.employment_dates",
    "employee.employment.employment_dates.hire_date",
    "employee.person.first_name",
    "employee.person.last_name",
    "employee.person.date_of_birth",
    "employee.person.sex",
    "employee.person.home_address",
    "employee.person.mailing_address",
    "employee.person.home_address.street_one",
    "employee.person.home_address.city",
    "employee.person.home_address.state",
    "employee.person.mailing_address.zip_code",
    "dependents.0.person",
    "dependents.0.relationship",
    "dependents.1.person.date_of_birth",
    "coverages.0.carrier_id",
    "coverages.0.line_of_coverage",
    "coverages.0.enrolled_members",
    "coverages.0.enrolled_members.1.individual_type",
    "coverages.0.enrolled_members.1.effective_start_date",
    "coverages.1.enrolled_members.0.effective_end_date",
    "coverages.0.enrolled_members.0.pcp_details.providers",
    "coverages.0.enrolled_members.0.pcp_details.providers.0.identification_code",
    "coverages.0.enrolled_members.0.pcp_details.providers.0.identification_code_type",
    "coverages.0.cobra_details.cobra_enrolled",
    "coverages.0.cobra_details.eligibility_start_date",
    "coverages.0.cobra_details.eligibility_end_date",
    "events.0.id",
    "events.0.date",
    "events.1.type",
    "events.1.reason",
]


@pytest.mark.parametrize("path", REQUIRED)
def test_each_required_field_missing_is_named(path: str) -> None:
    assert refusals(drop(full_snapshot(), path)) == {path: "Field required"}


UNKNOWN_FIELD_PARENTS = [
    "",
    "employee",
    "employee.employment",
    "employee.employment.employment_dates",
    "employee.employment.salary",
    "employee.person",
    "employee.person.home_address",
    "employee.person.contact",
    "employee.person.details",
    "employee.person.details.tobacco",
    "dependents.0",
    "coverages.0",
    "coverages.0.cobra_details",
    "coverages.0.enrolled_members.0",
    "coverages.0.enrolled_members.0.pcp_details.providers.0",
    "events.0",
    "omitted_coverage_handling",
    "omitted_coverage_handling.custom",
]


@pytest.mark.parametrize("parent", UNKNOWN_FIELD_PARENTS)
def test_an_unknown_field_is_named(parent: str) -> None:
    path = f"{parent}.nickname".lstrip(".")
    found = refusals(put(full_snapshot(), path, "x"))
    assert found == {path: "Extra inputs are not permitted"}


WRONG_VALUES: list[tuple[str, Any]] = [
    ("employee.employment.hours_worked", "40"),
    ("employee.employment.hours_worked", True),
    ("employee.employment.hours_worked", -1),
    ("employee.employment.hours_worked", 37.5),
    ("employee.employment.salary.amount", "52000"),
    ("employee.employment.salary.amount", True),
    ("employee.employment.salary.amount", -0.01),
    ("employee.employment.salary.amount", float("inf")),
    ("coverages.0.enrolled_members.0.volume", -5),
    ("coverages.0.enrolled_members.0.volume", "50000"),
    ("enable_member_auto_link", "true"),
    ("coverages.0.cobra_details.cobra_enrolled", 1),
    ("employee.person.contact.speaks_english", "yes"),
    ("employee.person.details.is_student", 0),
    ("employee.person.details.tobacco.types", []),
    ("employee.person.first_name", ""),
    ("employee.custom_individual_id", ""),
    ("events.0.id", ""),
    ("coverages.1.plan_name", ""),
    ("coverages.0.carrier_id", "not-a-uuid"),
    ("coverages.0.plan_id", "med-gold"),
    ("dependents.0.id", 42),
    ("employee.person.date_of_birth", "1984-13-01"),
    ("events.0.date", "yesterday"),
    ("employee.person.home_address.state", "Oregon"),
    ("employee.person.mailing_address.zip_code", "9770"),
    ("employee.person.details.american_indian.state", "or"),
    ("employee.classifications", {"division": 7}),
    ("dependents", None),
    ("coverages.0.enrolled_members", {"individual_type": "employee"}),
]


@pytest.mark.parametrize(("path", "value"), WRONG_VALUES)
def test_a_wrong_value_is_named(path: str, value: Any) -> None:
    payload = put(full_snapshot(), path, value)
    found = refusals(payload)
    # A mistyped dict value is named down to its key.
    expected = f"{path}.division" if path == "employee.classifications" else path
    assert list(found) == [expected]


@pytest.mark.parametrize("ssn", ["123456789", "001010001", None])
def test_a_well_formed_ssn_or_none_is_taken(ssn: str | None) -> None:
    snapshot = parse_snapshot(put(full_snapshot(), "employee.person.ssn", ssn))
    assert snapshot.employee.person.ssn == ssn


@pytest.mark.parametrize(
    "ssn",
    [
        "12345678",
        "1234567890",
        "123-45-6789",
        "000456789",
        "123006789",
        "123450000",
        "12345678X",
        "\uff11\uff12\uff13456789",  # full-width digits
        123456789,
    ],
)
def test_a_malformed_ssn_is_named_without_echoing_it(ssn: Any) -> None:
    found = refusals(put(full_snapshot(), "dependents.1.person.ssn", ssn))
    assert list(found) == ["dependents.1.person.ssn"]
    assert str(ssn) not in found["dependents.1.person.ssn"]


def test_every_problem_is_reported_at_once() -> None:
    payload = full_snapshot()
    put(payload, "dependents.1.person.sex", "female")
    # A model's own rules run once its fields have their shape: one coverage errs in its
    # members, the other in its plan.
    drop(payload, "coverages.0.enrolled_members.1.effective_end_date")
    put(payload, "coverages.0.enrolled_members.0.effective_end_date", "2020-01-01")
    drop(payload, "coverages.1.plan_name")
    put(payload, "events.0.reason", "wedding")
    put(payload, "omitted_coverage_handling.custom", {})
    assert set(refusals(payload)) == {
        "dependents.1.person.sex",
        "coverages.0.enrolled_members.1.effective_end_date",
        "coverages.0.enrolled_members.0.effective_end_date",
        "coverages.1.plan_id",
        "events.0.reason",
        "omitted_coverage_handling.custom.effective_end_date",
    }


def test_every_reference_problem_is_reported_at_once() -> None:
    payload = full_snapshot()
    put(payload, "employee.event_id", "ev-nope")
    put(payload, "events.1.id", "ev-hire")  # also orphans the spouse's event ids
    put(payload, "coverages.1.enrolled_members.1.custom_individual_id", "dep-9")
    assert refusals(payload) == {
        "events.1.id": "repeats an earlier event's id",
        "employee.event_id": "names no event in events",
        "dependents.0.event_id": "names no event in events",
        "coverages.0.enrolled_members.1.event_id": "names no event in events",
        "coverages.1.enrolled_members.1.custom_individual_id": (
            "names neither the employee nor a dependent of this snapshot"
        ),
    }


def test_a_payload_that_is_not_an_object_is_named() -> None:
    found = refusals(["not", "an", "object"])
    assert list(found) == ["snapshot"]


# --- the rules between fields --------------------------------------------------------------------


def coverage(**changes: Any) -> Json:
    values: Json = {
        "carrier_id": DENTAL_CARRIER,
        "line_of_coverage": "dental",
        "enrolled_members": [
            {
                "individual_type": "employee",
                "custom_individual_id": "emp-1",
                "effective_start_date": "2022-10-01",
                "effective_end_date": "9999-12-31",
            }
        ],
    }
    return values | changes


def with_coverage(**changes: Any) -> Json:
    return minimal_snapshot() | {"coverages": [coverage(**changes)]}


@pytest.mark.parametrize(
    "plan",
    [
        {"plan_id": MEDICAL_PLAN},
        {"plan_name": "Dental Basic"},
        {"plan_id": MEDICAL_PLAN, "plan_name": "Dental Basic"},
        {"plan_name": "Dental Basic", "custom_plan_id": "den-1"},
        {"plan_id": MEDICAL_PLAN, "custom_plan_id": "den-1"},
    ],
)
def test_a_plan_named_by_id_or_name_is_taken(plan: Json) -> None:
    snapshot = parse_snapshot(with_coverage(**plan))
    assert snapshot.coverages[0].custom_plan_id == plan.get("custom_plan_id")
    assert snapshot.coverages[0].plan_name == plan.get("plan_name")


def test_a_coverage_without_plan_id_or_plan_name_is_refused() -> None:
    assert refusals(with_coverage()) == {"coverages.0.plan_id": "plan_id or plan_name is required"}


def test_custom_plan_id_alone_is_refused() -> None:
    found = refusals(with_coverage(custom_plan_id="den-1"))
    assert list(found) == ["coverages.0.plan_id"]
    assert "plan_id or plan_name is required" in found["coverages.0.plan_id"]
    assert "custom_plan_id" in found["coverages.0.plan_id"]


def test_a_new_employee_needs_a_platform_id() -> None:
    payload = drop(minimal_snapshot(), "employee.custom_individual_id")
    assert refusals(payload) == {
        "employee.custom_individual_id": "required for a new employee (one without id)"
    }


def test_a_known_employee_may_go_without_a_platform_id() -> None:
    payload = put(minimal_snapshot(), "employee.id", EMPLOYEE_ID)
    drop(payload, "employee.custom_individual_id")
    assert str(parse_snapshot(payload).employee.id) == EMPLOYEE_ID


def test_a_dependent_needs_an_id_or_a_platform_id() -> None:
    payload = drop(full_snapshot(), "dependents.1.custom_individual_id")
    drop(payload, "coverages.1.enrolled_members.1")
    assert refusals(payload) == {
        "dependents.1.custom_individual_id": "required for a new dependent (one without id)"
    }
    payload = drop(full_snapshot(), "dependents.0.custom_individual_id")
    assert parse_snapshot(payload).dependents[0].custom_individual_id is None


def test_an_enrolled_member_needs_one_of_its_ids() -> None:
    payload = full_snapshot()
    drop(payload, "coverages.1.enrolled_members.0.custom_individual_id")
    assert refusals(payload) == {
        "coverages.1.enrolled_members.0.individual_id": (
            "individual_id or custom_individual_id is required"
        )
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("custom_individual_id", "dep-9"), ("individual_id", STRANGER_ID)],
)
def test_an_enrolled_member_pointing_at_nobody_is_refused(field: str, value: str) -> None:
    payload = full_snapshot()
    put(payload, f"coverages.0.enrolled_members.1.{field}", value)
    path = f"coverages.0.enrolled_members.1.{field}"
    assert refusals(payload) == {
        path: "names neither the employee nor a dependent of this snapshot"
    }


def test_an_enrolled_member_may_name_a_dependent_by_noyo_id_only() -> None:
    snapshot = parse_snapshot(full_snapshot())
    assert str(snapshot.coverages[0].enrolled_members[1].individual_id) == SPOUSE_ID
    assert snapshot.coverages[0].enrolled_members[1].custom_individual_id is None


def test_an_enrolled_member_naming_a_new_employee_by_noyo_id_is_refused() -> None:
    payload = with_coverage(plan_name="Dental Basic")
    put(payload, "coverages.0.enrolled_members.0.individual_id", EMPLOYEE_ID)
    assert list(refusals(payload)) == ["coverages.0.enrolled_members.0.individual_id"]


def test_an_enrolled_member_whose_two_ids_name_two_people_is_refused() -> None:
    payload = put(full_snapshot(), "coverages.0.enrolled_members.0.custom_individual_id", "dep-1")
    assert refusals(payload) == {
        "coverages.0.enrolled_members.0.custom_individual_id": (
            "names another person than individual_id"
        )
    }


def test_an_enrolled_member_of_the_wrong_type_is_refused() -> None:
    payload = put(full_snapshot(), "coverages.1.enrolled_members.1.individual_type", "employee")
    assert refusals(payload) == {
        "coverages.1.enrolled_members.1.individual_type": (
            "is employee, but the member named is dependents.1"
        )
    }


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("dependents.1.custom_individual_id", "dep-1", "repeats the custom_individual_id of "),
        ("dependents.1.custom_individual_id", "emp-1", "repeats the custom_individual_id of "),
        ("dependents.1.id", SPOUSE_ID, "repeats the id of "),
        ("dependents.0.id", EMPLOYEE_ID, "repeats the id of "),
    ],
)
def test_a_member_id_used_twice_is_refused(path: str, value: str, reason: str) -> None:
    found = refusals(put(full_snapshot(), path, value))
    assert path in found
    assert found[path].startswith(reason)


@pytest.mark.parametrize(
    "path",
    ["employee.event_id", "dependents.0.event_id", "coverages.0.enrolled_members.1.event_id"],
)
def test_an_unknown_event_id_is_refused(path: str) -> None:
    assert refusals(put(full_snapshot(), path, "ev-nope")) == {path: "names no event in events"}


def test_an_event_id_given_without_events_is_refused() -> None:
    payload = put(minimal_snapshot(), "employee.event_id", "1")
    assert refusals(payload) == {"employee.event_id": "names no event in events"}


def test_duplicate_event_ids_are_refused() -> None:
    payload = full_snapshot()
    payload["events"].append(
        {"id": "ev-hire", "date": "2022-09-16", "type": "demographic", "reason": "moved"}
    )
    assert refusals(payload) == {"events.2.id": "repeats an earlier event's id"}


def test_a_custom_termination_rule_needs_its_date() -> None:
    for custom in (None, {}, {"effective_end_date": None}):
        payload = full_snapshot()
        put(payload, "omitted_coverage_handling.custom", custom)
        assert refusals(payload) == {
            "omitted_coverage_handling.custom.effective_end_date": (
                "required when termination_rule is custom"
            )
        }


def test_terminate_needs_a_termination_rule() -> None:
    payload = put(minimal_snapshot(), "omitted_coverage_handling", {"policy": "terminate"})
    assert refusals(payload) == {
        "omitted_coverage_handling.termination_rule": "required when policy is terminate"
    }


def test_a_custom_date_under_another_rule_is_refused() -> None:
    payload = full_snapshot()
    put(payload, "omitted_coverage_handling.termination_rule", "end_of_prior_month")
    assert refusals(payload) == {
        "omitted_coverage_handling.custom.effective_end_date": (
            "only used when termination_rule is custom"
        )
    }


@pytest.mark.parametrize(
    "handling",
    [
        {"policy": "continue"},
        {"policy": "reject"},
        {"policy": "terminate", "termination_rule": "end_of_current_month"},
        {"termination_rule": "custom", "custom": {"effective_end_date": "2022-12-31"}},
    ],
)
def test_complete_omitted_coverage_handling_is_taken(handling: Json) -> None:
    payload = put(minimal_snapshot(), "omitted_coverage_handling", handling)
    taken = parse_snapshot(payload).omitted_coverage_handling
    assert taken.policy.value == handling.get("policy", "reject")


# The earliest end the date bounds let through (0001-01-01 is refused by them: test_bounds).
@pytest.mark.parametrize("end", ["2022-09-29", "2022-01-01", "1900-01-01"])
def test_an_end_before_the_start_is_refused(end: str) -> None:
    path = "coverages.0.enrolled_members.2.effective_end_date"
    payload = full_snapshot()
    member = dict(payload["coverages"][0]["enrolled_members"][1], individual_id=None)
    payload["coverages"][0]["enrolled_members"].append(
        member | {"custom_individual_id": "dep-2", "effective_end_date": end}
    )
    found = refusals(payload)
    assert list(found) == [path]
    assert found[path].startswith("must not be before effective_start_date")


@pytest.mark.parametrize("end", ["2022-09-30", "2022-10-01", "2022-10-31", "9999-12-31"])
def test_an_end_on_or_after_the_day_before_the_start_is_taken(end: str) -> None:
    # The day before the start is how the contract's guide waives or cancels a coverage.
    payload = put(full_snapshot(), "coverages.1.enrolled_members.0.effective_end_date", end)
    taken = parse_snapshot(payload).coverages[1].enrolled_members[0]
    assert taken.effective_end_date.isoformat() == end


def test_cobra_eligibility_ending_before_it_starts_is_refused() -> None:
    payload = put(full_snapshot(), "coverages.0.cobra_details.eligibility_end_date", "2022-09-30")
    assert refusals(payload) == {
        "coverages.0.cobra_details.eligibility_end_date": (
            "must not be before eligibility_start_date"
        )
    }


def test_the_model_itself_holds_the_rules() -> None:
    payload = put(full_snapshot(), "employee.event_id", "ev-nope")
    with pytest.raises(ValidationError, match=r"employee\.event_id: names no event in events"):
        MemberSnapshot.model_validate(payload)


# --- duplicate dependents (the contract's 400) ---------------------------------------------------


def with_children(*children: tuple[str, str, str]) -> Json:
    payload = minimal_snapshot()
    payload["dependents"] = [
        {
            "custom_individual_id": f"dep-{index}",
            "person": person(first, last, dob, "F"),
            "relationship": "child",
        }
        for index, (first, last, dob) in enumerate(children)
    ]
    return payload


def test_a_dependent_repeated_by_name_and_birth_date_is_refused_without_pii() -> None:
    snapshot = parse_snapshot(
        with_children(
            (CHILD_FIRST, EMPLOYEE_LAST, CHILD_DOB),
            (SPOUSE_FIRST, EMPLOYEE_LAST, SPOUSE_DOB),
            (f" {CHILD_FIRST.upper()}", EMPLOYEE_LAST.lower(), CHILD_DOB),
        )
    )
    with pytest.raises(DuplicateDependent) as caught:
        check_duplicate_dependents(snapshot)
    assert caught.value.pairs == [(0, 2)]
    message = str(caught.value)
    assert message.startswith("dependents 0 and 2 are the same person")
    assert not [value for value in PII if value.casefold() in message.casefold()]


def test_each_repeat_is_named_against_the_first() -> None:
    twin = (CHILD_FIRST, EMPLOYEE_LAST, CHILD_DOB)
    snapshot = parse_snapshot(with_children(twin, twin, twin))
    with pytest.raises(DuplicateDependent) as caught:
        check_duplicate_dependents(snapshot)
    assert caught.value.pairs == [(0, 1), (0, 2)]


@pytest.mark.parametrize(
    "second",
    [
        (CHILD_FIRST, EMPLOYEE_LAST, "2015-02-15"),
        (SPOUSE_FIRST, EMPLOYEE_LAST, CHILD_DOB),
        (CHILD_FIRST, "Other", CHILD_DOB),
    ],
)
def test_dependents_that_differ_in_any_of_the_three_pass(second: tuple[str, str, str]) -> None:
    snapshot = parse_snapshot(with_children((CHILD_FIRST, EMPLOYEE_LAST, CHILD_DOB), second))
    check_duplicate_dependents(snapshot)
    assert len(snapshot.dependents) == 2


# --- PII stays out of every refusal --------------------------------------------------------------


def test_no_refusal_repeats_the_ssn_names_or_dates_of_birth() -> None:
    payload = full_snapshot()
    # PII dropped into fields of every kind, plus PII fields of their own that fail.
    put(payload, "employee.person.sex", SSN)
    put(payload, "employee.person.marital_status", EMPLOYEE_DOB)
    put(payload, "dependents.0.relationship", SPOUSE_FIRST)
    put(payload, "dependents.0.person.date_of_birth", f"{SPOUSE_DOB}T10:30:00")
    put(payload, "dependents.1.person.ssn", f"{SSN}0")
    put(payload, "dependents.1.person.first_name", [CHILD_FIRST])
    put(payload, "dependents.1.person.last_name", {"name": EMPLOYEE_LAST})
    put(payload, "employee.employment.hours_worked", SSN)
    put(payload, "coverages.0.carrier_id", SSN)
    put(payload, "coverages.0.enrolled_members.0.volume", -int(SSN))
    put(payload, "coverages.0.enrolled_members.0.effective_start_date", EMPLOYEE_FIRST)
    put(payload, "coverages.1.plan_name", None)
    put(payload, "events.0.date", f"{CHILD_DOB}x")
    put(payload, "snapshot_mode", EMPLOYEE_LAST)
    put(payload, "employee.person.home_address.zip_code", f"{SSN}0")
    put(payload, "employee.person.mailing_address.state", EMPLOYEE_LAST)
    with pytest.raises(ValidationFailed) as caught:
        parse_snapshot(payload)
    exc = caught.value
    assert len(exc.problems) == 16
    text = [str(exc), *(f"{p.field} {p.reason}" for p in exc.problems)]
    assert not [value for value in PII for line in text if value in line]
    # Pydantic's own error, which quotes inputs, rides along neither as cause nor as context.
    assert exc.__cause__ is None
    assert exc.__context__ is None


def test_no_reference_refusal_repeats_pii() -> None:
    payload = full_snapshot()
    put(payload, "employee.event_id", EMPLOYEE_DOB)
    put(payload, "coverages.1.enrolled_members.0.custom_individual_id", SSN)
    put(payload, "dependents.1.custom_individual_id", "dep-1")
    with pytest.raises(ValidationFailed) as caught:
        parse_snapshot(payload)
    # The dependent's repeated id also leaves its enrolled member naming nobody.
    assert len(caught.value.problems) == 4
    assert not [value for value in PII if value in str(caught.value)]


def test_validating_the_model_directly_quotes_no_input_either() -> None:
    payload = put(full_snapshot(), "employee.person.ssn", f"{SSN}0")
    put(payload, "dependents.0.person.sex", SPOUSE_DOB)
    put(payload, "employee.person.home_address.extra", EMPLOYEE_FIRST)
    with pytest.raises(ValidationError) as caught:
        MemberSnapshot.model_validate(payload)
    assert caught.value.error_count() == 3
    assert not [value for value in PII if value in str(caught.value)]


def test_the_parsed_snapshot_keeps_pii_out_of_its_repr() -> None:
    snapshot = parse_snapshot(full_snapshot())
    text = repr(snapshot) + str(snapshot)
    assert "date_of_birth" not in text
    assert not [value for value in PII if value in text]
    assert "sex=<Sex.M: 'M'>" in text  # the rest is still there
