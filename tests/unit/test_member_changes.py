"""From a snapshot to carrier transactions (domain.member_changes): projection onto one carrier,
comparison with what the carrier was last sent, transaction typing (contract 4c), and the
omitted-coverage policy (contract 4a). Pure: no I/O."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from domain.enums import LineOfCoverage
from domain.errors import ValidationFailed
from domain.member_changes import (
    Change,
    ChangeKind,
    ChosenCoverage,
    PlannedTransaction,
    TransactionType,
    apply_omitted_coverage_policy,
    carrier_member,
    coverage_key,
    plan_transaction,
)
from domain.members import CarrierMember, PlanOption
from domain.snapshots import Coverage, IndividualType, MemberSnapshot, parse_snapshot

Json = dict[str, Any]

# --- builders ------------------------------------------------------------------------------------

OPEN = "9999-12-31"
CARRIER_A = uuid.UUID("7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a01")
CARRIER_B = uuid.UUID("7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a02")

# The platform's ids (the snapshot's `id`s) and the engine's, deliberately different.
EMPLOYEE_PLATFORM_ID = uuid.UUID("0b6a4c1e-5d3f-4b8e-9a51-3c2f7d9e1a01")
SPOUSE_PLATFORM_ID = uuid.UUID("0b6a4c1e-5d3f-4b8e-9a51-3c2f7d9e1a02")
ENGINE_IDS = {
    "emp-1": uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001"),
    "dep-1": uuid.UUID("aaaaaaaa-0000-4000-8000-000000000002"),
    "dep-2": uuid.UUID("aaaaaaaa-0000-4000-8000-000000000003"),
    "dep-3": uuid.UUID("aaaaaaaa-0000-4000-8000-000000000004"),
}
EMPLOYEE_ID, SPOUSE_ID, CHILD_ID = ENGINE_IDS["emp-1"], ENGINE_IDS["dep-1"], ENGINE_IDS["dep-2"]

# PII the change descriptions must never carry.
SSN, NEW_SSN = "536271849", "536271850"
EMPLOYEE_FIRST, EMPLOYEE_LAST, EMPLOYEE_DOB = "Zebulon", "Quillfeather", "1984-07-19"
SPOUSE_FIRST, SPOUSE_DOB = "Ottoline", "1986-11-23"
CHILD_FIRST, CHILD_DOB = "Peregrine", "2015-02-14"


def _plan(name: str, line: LineOfCoverage) -> PlanOption:
    return PlanOption(
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"plan:{name}"),
        carrier_plan_id=f"C-{name.upper().replace(' ', '-')}",
        line_of_coverage=line,
        name=name,
        voluntary=False,
        plan_configuration={},
    )


PLANS = {
    plan.name: plan
    for plan in [
        _plan("Gold PPO", LineOfCoverage.MEDICAL),
        _plan("Silver HMO", LineOfCoverage.MEDICAL),
        _plan("Dental Basic", LineOfCoverage.DENTAL),
        _plan("Vision Plus", LineOfCoverage.VISION),
        _plan("Basic Life", LineOfCoverage.LIFE),
        _plan("HI Low", LineOfCoverage.HOSPITAL_INDEMNITY),
        _plan("HI High", LineOfCoverage.HOSPITAL_INDEMNITY),
        _plan("HI Mid", LineOfCoverage.HOSPITAL_INDEMNITY),
    ]
}


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


def employee(**changes: Any) -> Json:
    values = {
        "id": str(EMPLOYEE_PLATFORM_ID),
        "custom_individual_id": "emp-1",
        "employment": {
            "employment_status": "full-time",
            "hours_worked": 40,
            "employment_dates": {"hire_date": "2020-01-06"},
        },
        "person": person(EMPLOYEE_FIRST, EMPLOYEE_LAST, EMPLOYEE_DOB, "M", ssn=SSN),
    }
    return values | changes


def spouse(**changes: Any) -> Json:
    values = {
        "id": str(SPOUSE_PLATFORM_ID),
        "custom_individual_id": "dep-1",
        "person": person(SPOUSE_FIRST, EMPLOYEE_LAST, SPOUSE_DOB, "F"),
        "relationship": "spouse",
    }
    return values | changes


def child(**changes: Any) -> Json:
    values = {
        "custom_individual_id": "dep-2",
        "person": person(CHILD_FIRST, EMPLOYEE_LAST, CHILD_DOB, "X"),
        "relationship": "child",
    }
    return values | changes


def enrolled(
    who: str = "emp-1", *, start: str = "2024-01-01", end: str = OPEN, **extra: Any
) -> Json:
    """An enrolled member named by custom id ("emp-1", "dep-1", ...)."""
    kind = "employee" if who.startswith("emp") else "dependent"
    values = {
        "individual_type": kind,
        "custom_individual_id": who,
        "effective_start_date": start,
        "effective_end_date": end,
    }
    return values | extra


def coverage(
    line: str, plan: str, *members: Json, carrier: uuid.UUID = CARRIER_A, **extra: Any
) -> Json:
    values = {
        "carrier_id": str(carrier),
        "line_of_coverage": line,
        "plan_name": plan,
        "enrolled_members": list(members) or [enrolled()],
    }
    return values | extra


def event(event_id: str, reason: str, *, date: str = "2025-05-01", kind: str = "coverage") -> Json:
    return {"id": event_id, "date": date, "type": kind, "reason": reason}


def payload(
    *coverages: Json,
    dependents: Sequence[Json] | None = None,
    events: Sequence[Json] = (),
    **changes: Any,
) -> Json:
    values = {
        "snapshot_mode": "current_open",
        "employee": employee(),
        "dependents": list(dependents) if dependents is not None else [spouse(), child()],
        "coverages": list(coverages),
        "events": list(events),
    }
    return copy.deepcopy(values | changes)


def dependent_ids(snapshot: MemberSnapshot) -> list[uuid.UUID]:
    return [ENGINE_IDS[str(d.custom_individual_id)] for d in snapshot.dependents]


def chosen(coverage: Coverage, **config: Any) -> ChosenCoverage:
    return ChosenCoverage(PLANS[str(coverage.plan_name)], config or {"member_group": "MG-1"})


def member(data: Json, carrier: uuid.UUID = CARRIER_A) -> CarrierMember:
    """The snapshot projected onto `carrier`, each coverage's plan found by name."""
    snapshot = parse_snapshot(data)
    return carrier_member(
        snapshot,
        employee_id=EMPLOYEE_ID,
        dependent_ids=dependent_ids(snapshot),
        coverages={
            index: chosen(c)
            for index, c in enumerate(snapshot.coverages)
            if c.carrier_id == carrier
        },
    )


def planned(previous: Json | None, target: Json) -> PlannedTransaction:
    transaction = plan_transaction(None if previous is None else member(previous), member(target))
    assert transaction is not None
    return transaction


def kinds(transaction: PlannedTransaction) -> list[ChangeKind]:
    return [change.kind for change in transaction.changes]


def put(data: Json, path: str, value: Any) -> Json:
    """`data` with the value at a dotted path (list indexes as numbers) replaced."""
    *parents, last = [int(s) if s.isdigit() else s for s in path.split(".")]
    node: Any = data
    for step in parents:
        node = node[step]
    node[last] = value
    return data


def medical(*members: Json, plan: str = "Gold PPO", **extra: Any) -> Json:
    return coverage("medical", plan, *members, **extra)


def dental(*members: Json, **extra: Any) -> Json:
    return coverage("dental", "Dental Basic", *members, **extra)


def vision(*members: Json, **extra: Any) -> Json:
    return coverage("vision", "Vision Plus", *members, **extra)


def base() -> Json:
    """An existing member: medical and dental with carrier A, the employee alone."""
    return payload(medical(), dental())


# --- carrier_member: the snapshot as one carrier holds it -----------------------------------------


def test_only_the_carriers_coverages_are_projected_with_their_plan_and_config() -> None:
    snapshot = parse_snapshot(
        payload(medical(), vision(carrier=CARRIER_B), dental(), coverage("life", "Basic Life"))
    )
    projected = carrier_member(
        snapshot,
        employee_id=EMPLOYEE_ID,
        dependent_ids=dependent_ids(snapshot),
        coverages={
            2: ChosenCoverage(PLANS["Dental Basic"], {"bill_group": "B-2"}),
            0: ChosenCoverage(PLANS["Gold PPO"], {"bill_group": "B-0"}),
        },
    )
    assert [c.line_of_coverage for c in projected.coverages] == [
        LineOfCoverage.MEDICAL,
        LineOfCoverage.DENTAL,
    ]
    gold, dental_plan = PLANS["Gold PPO"], PLANS["Dental Basic"]
    assert [(c.plan_id, c.carrier_plan_id) for c in projected.coverages] == [
        (gold.id, gold.carrier_plan_id),
        (dental_plan.id, dental_plan.carrier_plan_id),
    ]
    assert [c.carrier_config for c in projected.coverages] == [
        {"bill_group": "B-0"},
        {"bill_group": "B-2"},
    ]


def test_each_carrier_sees_its_own_coverages() -> None:
    data = payload(medical(), vision(carrier=CARRIER_B))
    assert [c.line_of_coverage.value for c in member(data, CARRIER_A).coverages] == ["medical"]
    assert [c.line_of_coverage.value for c in member(data, CARRIER_B).coverages] == ["vision"]


def test_enrolled_members_carry_the_engines_ids_whichever_id_names_them() -> None:
    data = payload(
        medical(
            enrolled("emp-1"),  # by custom_individual_id
            {  # by the dependent's platform id
                "individual_type": "dependent",
                "individual_id": str(SPOUSE_PLATFORM_ID),
                "effective_start_date": "2024-01-01",
                "effective_end_date": OPEN,
            },
            enrolled("dep-2"),
        ),
        dental(
            {  # the employee by its platform id
                "individual_type": "employee",
                "individual_id": str(EMPLOYEE_PLATFORM_ID),
                "effective_start_date": "2024-01-01",
                "effective_end_date": OPEN,
                "volume": 1000,
            },
        ),
    )
    projected = member(data)
    assert projected.employee.id == EMPLOYEE_ID
    medical_members, dental_members = (c.enrolled_members for c in projected.coverages)
    assert [m.individual_id for m in medical_members] == [EMPLOYEE_ID, SPOUSE_ID, CHILD_ID]
    assert [m.individual_type for m in medical_members] == [
        IndividualType.EMPLOYEE,
        IndividualType.DEPENDENT,
        IndividualType.DEPENDENT,
    ]
    assert [m.individual_id for m in dental_members] == [EMPLOYEE_ID]
    assert dental_members[0].volume == 1000
    assert dental_members[0].effective_start_date == dt.date(2024, 1, 1)
    assert dental_members[0].active
    everything = projected.model_dump_json()
    assert str(EMPLOYEE_PLATFORM_ID) not in everything
    assert str(SPOUSE_PLATFORM_ID) not in everything


def test_an_enrolled_member_may_be_named_by_the_engines_own_id() -> None:
    data = payload(
        medical(
            enrolled("emp-1"),
            {
                "individual_type": "dependent",
                "individual_id": str(CHILD_ID),
                "effective_start_date": "2024-01-01",
                "effective_end_date": OPEN,
            },
        ),
        # The child carries the engine's id already, as a processed snapshot's would.
        dependents=[spouse(), child(id=str(CHILD_ID))],
    )
    assert [m.individual_id for m in member(data).coverages[0].enrolled_members] == [
        EMPLOYEE_ID,
        CHILD_ID,
    ]


def test_only_dependents_enrolled_in_the_carriers_coverages_are_included() -> None:
    third = {
        "custom_individual_id": "dep-3",
        "person": person("Wilhelmina", EMPLOYEE_LAST, "2017-03-09", "F"),
        "relationship": "child",
    }
    data = payload(
        medical(enrolled("emp-1"), enrolled("dep-1")),
        vision(enrolled("emp-1"), enrolled("dep-2"), carrier=CARRIER_B),
        dependents=[spouse(), child(), third],  # dep-3 is enrolled nowhere
    )
    carrier_a, carrier_b = member(data, CARRIER_A), member(data, CARRIER_B)
    assert [d.id for d in carrier_a.dependents] == [SPOUSE_ID]
    assert [d.relationship for d in carrier_a.dependents] == ["spouse"]
    assert [d.id for d in carrier_b.dependents] == [CHILD_ID]
    assert [d.relationship for d in carrier_b.dependents] == ["child"]


def test_a_member_with_no_coverage_at_the_carrier_has_no_dependents_there() -> None:
    data = payload(vision(enrolled("emp-1"), enrolled("dep-1"), carrier=CARRIER_B))
    projected = member(data, CARRIER_A)
    assert projected.coverages == ()
    assert projected.dependents == ()


def test_the_coverage_event_is_the_enrolled_employees_event() -> None:
    data = payload(
        # The dependent, listed first, points at another event: the employee's still wins.
        medical(
            enrolled("dep-1", event_id="ev-newborn"), enrolled("emp-1", event_id="ev-marriage")
        ),
        employee=employee(event_id="ev-hire"),
        events=[
            event("ev-hire", "new_hire", date="2024-01-01"),
            event("ev-marriage", "marriage", date="2025-04-12"),
            event("ev-newborn", "newborn", date="2025-04-20"),
        ],
    )
    (medical_coverage,) = member(data).coverages
    assert medical_coverage.event is not None
    assert medical_coverage.event.reason == "marriage"
    assert medical_coverage.event.type == "coverage"
    assert medical_coverage.event.date == dt.date(2025, 4, 12)


def test_without_an_enrolled_event_the_coverage_takes_the_employees_event() -> None:
    data = payload(
        medical(enrolled("emp-1")),
        dental(enrolled("emp-1", event_id="ev-oe")),
        employee=employee(event_id="ev-hire"),
        events=[
            event("ev-oe", "open_enrollment", date="2024-11-01"),
            event("ev-hire", "new_hire", date="2024-01-01", kind="demographic"),
        ],
    )
    projected = member(data)
    medical_event, dental_event = (c.event for c in projected.coverages)
    assert medical_event is not None
    assert (medical_event.reason, medical_event.type) == ("new_hire", "demographic")
    assert dental_event is not None
    assert dental_event.reason == "open_enrollment"
    # The member's own event is the employee's, not the first of the list.
    assert projected.event is not None
    assert projected.event.reason == "new_hire"


def test_without_an_employee_event_the_member_takes_the_first_event() -> None:
    data = payload(
        medical(),
        events=[event("ev-marriage", "marriage"), event("ev-moved", "moved", kind="demographic")],
    )
    projected = member(data)
    assert projected.event is not None
    assert projected.event.reason == "marriage"
    # A coverage no event points at has none.
    assert projected.coverages[0].event is None


def test_person_and_employment_are_the_contracts_json() -> None:
    data = payload(medical(enrolled("emp-1"), enrolled("dep-1")))
    projected = member(data)
    person_json, employment = projected.employee.person, projected.employee.employment
    assert isinstance(person_json, dict)
    assert isinstance(employment, dict)
    assert person_json["first_name"] == EMPLOYEE_FIRST
    assert person_json["date_of_birth"] == EMPLOYEE_DOB  # JSON: a string, not a date
    assert person_json["ssn"] == SSN
    assert person_json["home_address"] == address()
    assert "middle_name" not in person_json  # unset fields are left out, not null
    assert employment == {
        "employment_status": "full-time",
        "hours_worked": 40,
        "employment_dates": {"hire_date": "2020-01-06"},
    }
    (dependent,) = projected.dependents
    assert dependent.person["first_name"] == SPOUSE_FIRST
    assert dependent.person["date_of_birth"] == SPOUSE_DOB
    json.dumps(projected.model_dump(mode="json"))  # serialisable as is


# --- plan_transaction: what differs, and how the carrier is told --------------------------------


def test_nothing_differing_plans_nothing() -> None:
    assert plan_transaction(member(base()), member(base())) is None


def test_a_different_event_alone_plans_nothing() -> None:
    target = payload(
        medical(enrolled(event_id="ev")),
        dental(),
        employee=employee(event_id="ev"),
        events=[event("ev", "marriage")],
    )
    assert plan_transaction(member(base()), member(target)) is None


def test_a_member_the_carrier_never_had_is_a_new_hire() -> None:
    data = payload(medical(), dental(), vision(enrolled(start="2024-01-01", end="2023-12-31")))
    transaction = planned(None, data)
    assert transaction.transaction_type is TransactionType.NEW_HIRE
    assert transaction.transaction_type.value == "carrier_new_hire"
    assert transaction.changes == (
        Change(ChangeKind.NEW_MEMBER, EMPLOYEE_ID),
        Change(ChangeKind.COVERAGE_ADDED, line_of_coverage="medical"),
        Change(ChangeKind.COVERAGE_ADDED, line_of_coverage="dental"),
    )
    # The waived vision coverage is not added.
    assert transaction.lines_of_coverage == ("dental", "medical")
    assert transaction.member == member(data)


def test_a_terminated_employee_is_a_termination() -> None:
    target = payload(
        medical(enrolled(end="2025-06-30")),
        dental(enrolled(end="2025-06-30")),
        employee=employee(
            employment={
                "employment_status": "terminated",
                "hours_worked": 0,
                "employment_dates": {"hire_date": "2020-01-06", "terminated": "2025-06-15"},
            }
        ),
    )
    transaction = planned(base(), target)
    assert transaction.transaction_type is TransactionType.TERMINATION
    assert transaction.transaction_type.value == "carrier_termination"
    assert ChangeKind.TERMINATED in kinds(transaction)
    assert ChangeKind.REINSTATED not in kinds(transaction)
    assert kinds(transaction).count(ChangeKind.COVERAGE_REMOVED) == 2
    assert transaction.lines_of_coverage == ("dental", "medical")


def test_termination_wins_over_the_coverage_event() -> None:
    target = payload(
        medical(),
        dental(),
        employee=employee(
            event_id="ev",
            employment={
                "employment_status": "terminated",
                "hours_worked": 0,
                "employment_dates": {"hire_date": "2020-01-06"},
            },
        ),
        events=[event("ev", "open_enrollment")],
    )
    transaction = planned(base(), target)
    assert transaction.transaction_type is TransactionType.TERMINATION
    assert transaction.changes[0] == Change(ChangeKind.TERMINATED, EMPLOYEE_ID)


def test_a_demographic_change_names_the_field_and_lists_every_line() -> None:
    target = base()
    put(target, "employee.person.home_address", address(street_one="12 Alder Lane"))
    transaction = planned(base(), target)
    assert transaction.transaction_type is TransactionType.DEMOGRAPHIC
    assert transaction.transaction_type.value == "carrier_demographic"
    assert transaction.changes == (
        Change(ChangeKind.DEMOGRAPHIC, EMPLOYEE_ID, fields=("person.home_address",)),
    )
    assert transaction.lines_of_coverage == ("dental", "medical")


def test_an_employment_change_is_demographic() -> None:
    target = base()
    put(target, "employee.employment.hours_worked", 30)
    put(target, "employee.employment.employment_status", "part-time")
    transaction = planned(base(), target)
    assert transaction.transaction_type is TransactionType.DEMOGRAPHIC
    assert transaction.changes == (
        Change(
            ChangeKind.DEMOGRAPHIC,
            EMPLOYEE_ID,
            fields=("employment.employment_status", "employment.hours_worked"),
        ),
    )


def test_change_descriptions_name_fields_never_values() -> None:
    previous = payload(medical(enrolled("emp-1"), enrolled("dep-1")))
    target = copy.deepcopy(previous)
    put(target, "employee.person.first_name", "Bartholomew")
    put(target, "employee.person.last_name", "Sedgewick")
    put(target, "employee.person.date_of_birth", "1984-07-20")
    put(target, "employee.person.ssn", NEW_SSN)
    put(target, "dependents.0.person.first_name", "Henrietta")
    put(target, "dependents.0.person.middle_name", "Clementine")
    transaction = planned(previous, target)
    assert transaction.transaction_type is TransactionType.DEMOGRAPHIC
    assert transaction.changes == (
        Change(
            ChangeKind.DEMOGRAPHIC,
            EMPLOYEE_ID,
            fields=("person.date_of_birth", "person.first_name", "person.last_name", "person.ssn"),
        ),
        Change(
            ChangeKind.DEMOGRAPHIC, SPOUSE_ID, fields=("person.first_name", "person.middle_name")
        ),
    )
    described = json.dumps([change.as_json() for change in transaction.changes])
    for value in [
        EMPLOYEE_FIRST,
        EMPLOYEE_LAST,
        EMPLOYEE_DOB,
        SSN,
        SPOUSE_FIRST,
        "Bartholomew",
        "Sedgewick",
        "1984-07-20",
        NEW_SSN,
        "Henrietta",
        "Clementine",
    ]:
        assert value not in described
    assert transaction.lines_of_coverage == ("medical",)


def test_a_change_as_json_leaves_out_what_it_does_not_have() -> None:
    assert Change(ChangeKind.NEW_MEMBER, EMPLOYEE_ID).as_json() == {
        "kind": "new_member",
        "individual_id": str(EMPLOYEE_ID),
    }
    assert Change(
        ChangeKind.COVERAGE_MODIFIED, line_of_coverage="medical", fields=("plan_id",)
    ).as_json() == {
        "kind": "coverage_modified",
        "line_of_coverage": "medical",
        "fields": ["plan_id"],
    }


# The four coverage changes from base() (medical and dental, the employee alone).
def _adding(event_id: str) -> Json:
    return payload(medical(), dental(), vision(enrolled(event_id=event_id)))


def _removing(event_id: str) -> Json:
    return payload(medical(), dental(enrolled(end="2025-06-30", event_id=event_id)))


def _modifying(event_id: str) -> Json:
    return payload(medical(enrolled(event_id=event_id), plan="Silver HMO"), dental())


def _full(event_id: str) -> Json:
    return payload(
        medical(), dental(enrolled(end="2025-06-30")), vision(enrolled(event_id=event_id))
    )


SCENARIOS = {"ADDING": _adding, "REMOVING": _removing, "MODIFYING": _modifying, "FULL": _full}
EXPECTED_KINDS = {
    "ADDING": [ChangeKind.COVERAGE_ADDED],
    "REMOVING": [ChangeKind.COVERAGE_REMOVED],
    "MODIFYING": [ChangeKind.COVERAGE_MODIFIED],
    "FULL": [ChangeKind.COVERAGE_REMOVED, ChangeKind.COVERAGE_ADDED],
}
EXPECTED_LINES = {
    "ADDING": ("vision",),
    "REMOVING": ("dental",),
    "MODIFYING": ("medical",),
    "FULL": ("dental", "vision"),
}


def _with_event(data: Json, reason: str) -> Json:
    data["events"] = [event("ev", reason)]
    return data


@pytest.mark.parametrize("suffix", list(SCENARIOS))
@pytest.mark.parametrize("reason", ["marriage", "divorce", "newborn", "moved"])
def test_coverage_changes_for_a_life_event_are_qualifying_life_events(
    reason: str, suffix: str
) -> None:
    transaction = planned(base(), _with_event(SCENARIOS[suffix]("ev"), reason))
    assert transaction.transaction_type is TransactionType[f"QLE_{suffix}"]
    assert transaction.transaction_type.value == (f"carrier_qualifying_life_event_{suffix.lower()}")
    assert kinds(transaction) == EXPECTED_KINDS[suffix]
    assert transaction.lines_of_coverage == EXPECTED_LINES[suffix]


@pytest.mark.parametrize("suffix", list(SCENARIOS))
@pytest.mark.parametrize("reason", ["open_enrollment", "dependent_open_enrollment"])
def test_coverage_changes_at_open_enrollment_are_open_enrollment(reason: str, suffix: str) -> None:
    transaction = planned(base(), _with_event(SCENARIOS[suffix]("ev"), reason))
    assert transaction.transaction_type is TransactionType[f"OPEN_ENROLLMENT_{suffix}"]
    assert transaction.transaction_type.value == f"carrier_open_enrollment_{suffix.lower()}"
    assert kinds(transaction) == EXPECTED_KINDS[suffix]


@pytest.mark.parametrize("suffix", list(SCENARIOS))
@pytest.mark.parametrize("reason", ["new_hire", "rehire"])
def test_coverage_changes_of_an_existing_member_for_a_hire_are_a_new_hire(
    reason: str, suffix: str
) -> None:
    transaction = planned(base(), _with_event(SCENARIOS[suffix]("ev"), reason))
    assert transaction.transaction_type is TransactionType.NEW_HIRE
    assert ChangeKind.NEW_MEMBER not in kinds(transaction)


def test_a_volume_change_is_a_modification_naming_the_enrolled_members() -> None:
    previous = payload(coverage("life", "Basic Life", enrolled(volume=50000)))
    target = payload(
        coverage("life", "Basic Life", enrolled(volume=100000)), events=[event("ev", "marriage")]
    )
    transaction = planned(previous, target)
    assert transaction.transaction_type is TransactionType.QLE_MODIFYING
    assert transaction.changes == (
        Change(ChangeKind.COVERAGE_MODIFIED, line_of_coverage="life", fields=("enrolled_members",)),
    )


def test_a_plan_change_names_the_plan_fields() -> None:
    transaction = planned(base(), _with_event(_modifying("ev"), "marriage"))
    (change,) = transaction.changes
    assert change.line_of_coverage == "medical"
    assert set(change.fields) == {"plan_id", "carrier_plan_id"}


def test_a_carrier_config_change_is_a_modification() -> None:
    before = member(base())
    medical_coverage = before.coverages[0].model_copy(
        update={"carrier_config": {"member_group": 2}}
    )
    after = before.model_copy(update={"coverages": (medical_coverage, before.coverages[1])})
    transaction = plan_transaction(before, after)
    assert transaction is not None
    assert transaction.changes == (
        Change(
            ChangeKind.COVERAGE_MODIFIED,
            line_of_coverage="medical",
            fields=("carrier_config.member_group",),
        ),
    )


def test_a_coverage_restarted_after_ending_is_added() -> None:
    previous = payload(medical(), dental(enrolled(end="2024-12-31")))
    target = payload(
        medical(), dental(enrolled(start="2025-07-01")), events=[event("ev", "lost_coverage")]
    )
    transaction = planned(previous, target)
    assert transaction.transaction_type is TransactionType.QLE_ADDING
    assert transaction.changes == (Change(ChangeKind.COVERAGE_ADDED, line_of_coverage="dental"),)


def test_a_coverage_no_longer_sent_is_removed() -> None:
    target = payload(medical(), events=[event("ev", "divorce")])
    transaction = planned(base(), target)
    assert transaction.transaction_type is TransactionType.QLE_REMOVING
    assert transaction.changes == (Change(ChangeKind.COVERAGE_REMOVED, line_of_coverage="dental"),)


def test_an_added_dependent_is_named_with_the_coverage_it_joins() -> None:
    previous = payload(medical(), dental())
    target = payload(
        medical(enrolled("emp-1"), enrolled("dep-1", start="2025-05-01", event_id="ev")),
        dental(),
        events=[event("ev", "marriage")],
    )
    transaction = planned(previous, target)
    assert transaction.transaction_type is TransactionType.QLE_MODIFYING
    assert transaction.changes == (
        Change(ChangeKind.DEPENDENT_ADDED, SPOUSE_ID),
        Change(
            ChangeKind.COVERAGE_MODIFIED, line_of_coverage="medical", fields=("enrolled_members",)
        ),
    )
    assert transaction.lines_of_coverage == ("medical",)
    assert [d.id for d in transaction.member.dependents] == [SPOUSE_ID]


def test_a_dependent_the_carrier_no_longer_covers_is_removed() -> None:
    previous = payload(medical(enrolled("emp-1"), enrolled("dep-1")))
    target = payload(medical(enrolled("emp-1")), events=[event("ev", "divorce")])
    transaction = planned(previous, target)
    assert transaction.changes == (
        Change(ChangeKind.DEPENDENT_REMOVED, SPOUSE_ID),
        Change(
            ChangeKind.COVERAGE_MODIFIED, line_of_coverage="medical", fields=("enrolled_members",)
        ),
    )
    assert transaction.transaction_type is TransactionType.QLE_MODIFYING


def test_only_the_changed_lines_are_listed() -> None:
    previous = payload(medical(), dental(), vision())
    target = payload(
        medical(), dental(enrolled(end="2025-06-30")), vision(), events=[event("ev", "divorce")]
    )
    assert planned(previous, target).lines_of_coverage == ("dental",)


def hospital(plan: str, *members: Json) -> Json:
    return coverage("hospital_indemnity", plan, *members)


def test_two_hospital_indemnity_plans_are_two_coverages() -> None:
    data = payload(hospital("HI Low"), hospital("HI High"))
    projected = member(data)
    assert [c.plan_id for c in projected.coverages] == [PLANS["HI Low"].id, PLANS["HI High"].id]
    keys = [coverage_key(c) for c in projected.coverages]
    assert keys == [
        ("hospital_indemnity", str(PLANS["HI Low"].id)),
        ("hospital_indemnity", str(PLANS["HI High"].id)),
    ]
    assert plan_transaction(member(data), member(data)) is None
    # Other lines are one coverage per line, whatever the plan.
    medical_key = coverage_key(member(payload(medical())).coverages[0])
    assert medical_key == ("medical",)


def test_switching_hospital_indemnity_plan_is_one_added_and_one_removed() -> None:
    previous = payload(hospital("HI Low"), hospital("HI High"))
    target = payload(
        hospital("HI Mid"), hospital("HI High"), events=[event("ev", "open_enrollment")]
    )
    transaction = planned(previous, target)
    assert sorted(kinds(transaction)) == sorted(
        [ChangeKind.COVERAGE_ADDED, ChangeKind.COVERAGE_REMOVED]
    )
    assert {c.line_of_coverage for c in transaction.changes} == {"hospital_indemnity"}
    assert transaction.transaction_type is TransactionType.OPEN_ENROLLMENT_FULL
    assert transaction.lines_of_coverage == ("hospital_indemnity",)


def test_adding_a_second_hospital_indemnity_plan_is_an_addition() -> None:
    previous = payload(hospital("HI Low"))
    target = payload(hospital("HI Low"), hospital("HI High"), events=[event("ev", "marriage")])
    transaction = planned(previous, target)
    assert transaction.transaction_type is TransactionType.QLE_ADDING
    assert transaction.changes == (
        Change(ChangeKind.COVERAGE_ADDED, line_of_coverage="hospital_indemnity"),
    )


def _terminated() -> Json:
    return payload(
        medical(),
        dental(),
        employee=employee(
            employment={
                "employment_status": "terminated",
                "hours_worked": 0,
                "employment_dates": {"hire_date": "2020-01-06", "terminated": "2025-01-31"},
            }
        ),
    )


def test_a_terminated_member_made_active_again_is_reinstated() -> None:
    transaction = planned(_terminated(), base())
    assert transaction.changes[0] == Change(ChangeKind.REINSTATED, EMPLOYEE_ID)
    assert ChangeKind.TERMINATED not in kinds(transaction)
    assert transaction.transaction_type is not TransactionType.TERMINATION


def test_a_member_still_terminated_is_not_terminated_again() -> None:
    target = _terminated()
    put(target, "employee.person.home_address", address(street_one="12 Alder Lane"))
    transaction = planned(_terminated(), target)
    assert kinds(transaction) == [ChangeKind.DEMOGRAPHIC]
    assert transaction.transaction_type is TransactionType.DEMOGRAPHIC


# --- apply_omitted_coverage_policy ---------------------------------------------------------------

TODAY = dt.date(2025, 6, 15)


def processed_coverages(data: Json) -> list[Json]:
    """The `coverages` of a processed snapshot, as stored: JSON, each plan's id filled in."""
    coverages: list[Json] = parse_snapshot(data).model_dump(mode="json", exclude_none=True)[
        "coverages"
    ]
    for c in coverages:
        c["plan_id"] = str(PLANS[c["plan_name"]].id)
    return coverages


def omitting(policy: Json | None = None, *coverages: Json) -> MemberSnapshot:
    data = payload(*(coverages or (medical(),)))
    if policy is not None:
        data["omitted_coverage_handling"] = policy
    return parse_snapshot(data)


PREVIOUS = processed_coverages(
    payload(medical(), dental(enrolled("emp-1"), enrolled("dep-1"), enrolled("dep-2")))
)


def test_omitting_an_active_coverage_is_refused_by_default() -> None:
    with pytest.raises(ValidationFailed) as refused:
        apply_omitted_coverage_policy(omitting(), PREVIOUS, today=TODAY)
    (problem,) = refused.value.problems
    assert problem.field == "coverages"
    assert "dental" in problem.reason
    assert str(CARRIER_A) in problem.reason
    assert "medical" not in problem.reason


def test_reject_lists_every_omitted_coverage() -> None:
    previous = processed_coverages(payload(medical(), dental(), vision(carrier=CARRIER_B)))
    snapshot = omitting({"policy": "reject"}, dental())
    with pytest.raises(ValidationFailed) as refused:
        apply_omitted_coverage_policy(snapshot, previous, today=TODAY)
    (problem,) = refused.value.problems
    assert problem.field == "coverages"
    reason = problem.reason
    assert "medical" in reason
    assert "vision" in reason
    assert str(CARRIER_B) in reason
    assert "dental" not in reason


def test_continue_keeps_the_omitted_coverage_as_it_was() -> None:
    snapshot = omitting({"policy": "continue"})
    applied = apply_omitted_coverage_policy(snapshot, PREVIOUS, today=TODAY)
    assert [c.line_of_coverage.value for c in applied.coverages] == ["medical", "dental"]
    assert applied.coverages[0] == snapshot.coverages[0]
    assert applied.coverages[1] == Coverage.model_validate(PREVIOUS[1])
    assert all(
        m.effective_end_date == dt.date(9999, 12, 31) for m in applied.coverages[1].enrolled_members
    )
    # The input is left as it was.
    assert len(snapshot.coverages) == 1


@pytest.mark.parametrize(
    ("handling", "today", "end"),
    [
        ({"termination_rule": "end_of_current_month"}, TODAY, dt.date(2025, 6, 30)),
        ({"termination_rule": "end_of_current_month"}, dt.date(2024, 2, 10), dt.date(2024, 2, 29)),
        (
            {"termination_rule": "end_of_current_month"},
            dt.date(2025, 12, 31),
            dt.date(2025, 12, 31),
        ),
        ({"termination_rule": "end_of_prior_month"}, TODAY, dt.date(2025, 5, 31)),
        ({"termination_rule": "end_of_prior_month"}, dt.date(2025, 1, 1), dt.date(2024, 12, 31)),
        ({"termination_rule": "end_of_prior_month"}, dt.date(2024, 3, 31), dt.date(2024, 2, 29)),
        (
            {"termination_rule": "custom", "custom": {"effective_end_date": "2025-07-15"}},
            TODAY,
            dt.date(2025, 7, 15),
        ),
    ],
)
def test_terminate_ends_the_omitted_coverage(handling: Json, today: dt.date, end: dt.date) -> None:
    snapshot = omitting({"policy": "terminate", **handling})
    applied = apply_omitted_coverage_policy(snapshot, PREVIOUS, today=today)
    assert [c.line_of_coverage.value for c in applied.coverages] == ["medical", "dental"]
    ended = applied.coverages[1]
    assert [m.effective_end_date for m in ended.enrolled_members] == [end, end, end]
    assert [m.effective_start_date for m in ended.enrolled_members] == [dt.date(2024, 1, 1)] * 3
    assert ended.plan_id == PLANS["Dental Basic"].id
    # The coverages the snapshot sends are untouched.
    assert applied.coverages[0] == snapshot.coverages[0]


def test_terminate_waives_a_coverage_that_has_not_started() -> None:
    previous = processed_coverages(payload(medical(), dental(enrolled(start="2025-09-01"))))
    snapshot = omitting({"policy": "terminate", "termination_rule": "end_of_current_month"})
    applied = apply_omitted_coverage_policy(snapshot, previous, today=TODAY)
    (member_end,) = [m.effective_end_date for m in applied.coverages[1].enrolled_members]
    assert member_end == dt.date(2025, 8, 31)  # the day before the start


def test_terminate_never_lengthens_a_members_coverage() -> None:
    previous = processed_coverages(
        payload(
            medical(),
            dental(
                enrolled("emp-1"),
                enrolled("dep-1", end="2024-09-30"),  # ended long ago
                enrolled("dep-2", end="2025-06-20"),  # ends before the month does
            ),
        )
    )
    snapshot = omitting({"policy": "terminate", "termination_rule": "end_of_current_month"})
    applied = apply_omitted_coverage_policy(snapshot, previous, today=TODAY)
    assert [m.effective_end_date for m in applied.coverages[1].enrolled_members] == [
        dt.date(2025, 6, 30),
        dt.date(2024, 9, 30),
        dt.date(2025, 6, 20),
    ]


def test_the_ended_coverage_is_sent_to_the_carrier_as_removed() -> None:
    snapshot = omitting({"policy": "terminate", "termination_rule": "end_of_current_month"})
    applied = apply_omitted_coverage_policy(snapshot, PREVIOUS, today=TODAY)
    target = carrier_member(
        applied,
        employee_id=EMPLOYEE_ID,
        dependent_ids=dependent_ids(applied),
        coverages={index: chosen(c) for index, c in enumerate(applied.coverages)},
    )
    previous = member(
        payload(medical(), dental(enrolled("emp-1"), enrolled("dep-1"), enrolled("dep-2")))
    )
    transaction = plan_transaction(previous, target)
    assert transaction is not None
    assert transaction.changes == (Change(ChangeKind.COVERAGE_REMOVED, line_of_coverage="dental"),)


@pytest.mark.parametrize("policy", ["reject", "continue", "terminate"])
def test_a_coverage_already_ended_is_not_omitted(policy: str) -> None:
    previous = processed_coverages(
        payload(
            medical(),
            dental(enrolled(end="2025-03-31")),  # ended before today
            vision(enrolled(start="2024-01-01", end="2023-12-31")),  # waived
        )
    )
    handling: Json = {"policy": policy}
    if policy == "terminate":
        handling["termination_rule"] = "end_of_current_month"
    snapshot = omitting(handling)
    assert apply_omitted_coverage_policy(snapshot, previous, today=TODAY) is snapshot


def test_a_coverage_ending_later_is_still_omitted() -> None:
    previous = processed_coverages(payload(medical(), dental(enrolled(end="2025-12-31"))))
    with pytest.raises(ValidationFailed):
        apply_omitted_coverage_policy(omitting(), previous, today=TODAY)


def test_nothing_omitted_gives_the_same_snapshot() -> None:
    snapshot = parse_snapshot(payload(medical(), dental(enrolled(end="2025-06-30"))))
    assert apply_omitted_coverage_policy(snapshot, PREVIOUS, today=TODAY) is snapshot
    assert apply_omitted_coverage_policy(snapshot, [], today=TODAY) is snapshot


def test_the_same_line_at_another_carrier_does_not_stand_for_the_omitted_one() -> None:
    snapshot = parse_snapshot(payload(medical(), dental(carrier=CARRIER_B)))
    with pytest.raises(ValidationFailed) as refused:
        apply_omitted_coverage_policy(snapshot, PREVIOUS, today=TODAY)
    assert "dental" in refused.value.problems[0].reason


def test_a_hospital_indemnity_plan_left_out_is_omitted() -> None:
    previous = processed_coverages(payload(hospital("HI Low"), hospital("HI High")))
    snapshot = parse_snapshot(payload(hospital("HI High")))
    with pytest.raises(ValidationFailed) as refused:
        apply_omitted_coverage_policy(snapshot, previous, today=TODAY)
    assert "hospital_indemnity" in refused.value.problems[0].reason


def test_a_hospital_indemnity_plan_named_again_by_name_is_not_omitted() -> None:
    # The stored snapshot holds the plan id the engine found; the platform names the plan again.
    previous = processed_coverages(payload(hospital("HI Low"), hospital("HI High")))
    assert all("plan_id" in c for c in previous)
    snapshot = parse_snapshot(payload(hospital("HI Low"), hospital("HI High")))
    assert apply_omitted_coverage_policy(snapshot, previous, today=TODAY) is snapshot
    by_id = payload(hospital("HI Low"), hospital("HI High"))
    for c in by_id["coverages"]:
        c["plan_id"] = str(PLANS[c.pop("plan_name")].id)
    snapshot = parse_snapshot(by_id)
    assert apply_omitted_coverage_policy(snapshot, previous, today=TODAY) is snapshot


def test_the_changed_coverages_event_types_the_transaction_not_an_older_member_event() -> None:
    # The employee still points at their hire; the added vision coverage is for a marriage.
    target = payload(
        medical(),
        dental(),
        vision(enrolled(event_id="wed")),
        events=[event("hire", "new_hire", date="2024-01-01"), event("wed", "marriage")],
    )
    target["employee"]["event_id"] = "hire"

    transaction = planned(base(), target)

    assert transaction.transaction_type is TransactionType.QLE_ADDING


def test_a_continued_coverage_naming_a_dependent_no_longer_sent_leaves_them_out() -> None:
    previous = payload(medical(enrolled(), enrolled("dep-1")))
    snapshot = parse_snapshot(
        payload(dental(), dependents=[], omitted_coverage_handling={"policy": "continue"})
    )

    applied = apply_omitted_coverage_policy(
        snapshot, parse_snapshot(previous).model_dump(mode="json")["coverages"], today=TODAY
    )
    projected = carrier_member(
        applied,
        employee_id=EMPLOYEE_ID,
        dependent_ids=[],
        coverages={index: chosen(c) for index, c in enumerate(applied.coverages)},
    )

    medical_coverage = next(c for c in projected.coverages if c.line_of_coverage.value == "medical")
    assert [m.individual_id for m in medical_coverage.enrolled_members] == [EMPLOYEE_ID]
    assert projected.dependents == ()


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("new_hire", TransactionType.NEW_HIRE),
        ("rehire", TransactionType.NEW_HIRE),
        ("marriage", TransactionType.QLE_ADDING),
        ("open_enrollment", TransactionType.OPEN_ENROLLMENT_ADDING),
    ],
)
def test_a_member_new_to_the_carrier_is_typed_by_why_they_enroll(
    reason: str, expected: TransactionType
) -> None:
    target = payload(medical(enrolled(event_id="ev")), events=[event("ev", reason)])

    assert planned(None, target).transaction_type is expected


# --- COBRA: the carrier is told, and the transaction is typed as COBRA --------------------------


def cobra(enrolled_flag: bool = True, **changes: Any) -> Json:
    values = {
        "cobra_enrolled": enrolled_flag,
        "eligibility_start_date": "2025-07-01",
        "eligibility_end_date": "2026-12-31",
        "qualifying_event_date": "2025-06-30",
        "qualifying_event_reason": "reduction_of_work_hours",
    }
    return values | changes


def on_cobra(*reasons: str) -> Json:
    """`base()` with dental continued on COBRA, for the event reason given (if any)."""
    events = [event("ev", reason) for reason in reasons]
    dental_members = [enrolled(event_id="ev")] if reasons else []
    return payload(medical(), dental(*dental_members, cobra_details=cobra()), events=events)


def test_a_cobra_coverage_tells_the_carrier_its_eligibility_and_qualifying_event() -> None:
    (_, dental_coverage) = member(on_cobra()).coverages
    assert dental_coverage.cobra is not None
    assert dental_coverage.cobra.model_dump(mode="json") == {
        "eligibility_start_date": "2025-07-01",
        "eligibility_end_date": "2026-12-31",
        "qualifying_event_date": "2025-06-30",
        "qualifying_event_reason": "reduction_of_work_hours",
    }


def test_cobra_details_not_enrolled_tell_the_carrier_nothing() -> None:
    data = payload(medical(), dental(cobra_details=cobra(False)))
    assert [c.cobra for c in member(data).coverages] == [None, None]
    assert plan_transaction(member(base()), member(data)) is None


def test_a_body_stored_without_cobra_still_loads_and_compares_equal() -> None:
    stored = member(base()).model_dump(mode="json")
    for stored_coverage in stored["coverages"]:
        del stored_coverage["cobra"]
    assert plan_transaction(CarrierMember.model_validate(stored), member(base())) is None


@pytest.mark.parametrize("reasons", [(), ("cobra_enrollment",), ("change_to_part_time",)])
def test_coverage_continued_on_cobra_is_a_cobra_enrollment(reasons: tuple[str, ...]) -> None:
    transaction = planned(base(), on_cobra(*reasons))
    assert transaction.transaction_type is TransactionType.COBRA_ENROLLMENT
    assert transaction.transaction_type.value == "carrier_cobra_enrollment"
    assert transaction.changes == (
        Change(ChangeKind.COVERAGE_MODIFIED, line_of_coverage="dental", fields=("cobra",)),
    )


def test_a_member_new_to_the_carrier_on_cobra_is_a_cobra_enrollment() -> None:
    assert planned(None, on_cobra()).transaction_type is TransactionType.COBRA_ENROLLMENT


def test_a_former_employee_continuing_on_cobra_is_not_a_termination() -> None:
    target = on_cobra("termination")
    target["employee"]["employment"]["employment_status"] = "terminated"
    transaction = planned(base(), target)
    assert ChangeKind.TERMINATED in kinds(transaction)
    assert transaction.transaction_type is TransactionType.COBRA_ENROLLMENT


def test_a_cobra_enrollment_event_on_a_cobra_member_is_a_cobra_enrollment() -> None:
    target = on_cobra("cobra_enrollment")
    target["coverages"].append(vision(enrolled(event_id="ev"), cobra_details=cobra()))
    assert planned(on_cobra(), target).transaction_type is TransactionType.COBRA_ENROLLMENT


@pytest.mark.parametrize(
    "ending",
    [
        lambda data: put(data, "coverages.1.enrolled_members.0.effective_end_date", "2026-12-31"),
        lambda data: data["coverages"].pop(1),
        lambda data: put(data, "coverages.1.cobra_details", cobra(False)),
    ],
    ids=["ended", "no longer sent", "no longer cobra"],
)
def test_a_cobra_coverage_ending_is_a_cobra_termination(ending: Any) -> None:
    target = on_cobra("offline_change")
    ending(target)
    assert planned(on_cobra(), target).transaction_type is TransactionType.COBRA_TERMINATION


def test_a_cobra_termination_event_is_a_cobra_termination() -> None:
    target = on_cobra("cobra_termination")
    put(target, "coverages.1.cobra_details.eligibility_end_date", "2026-01-31")
    transaction = planned(on_cobra(), target)
    assert transaction.transaction_type is TransactionType.COBRA_TERMINATION
    assert transaction.transaction_type.value == "carrier_cobra_termination"


@pytest.mark.parametrize("reason", ["open_enrollment", "dependent_open_enrollment"])
def test_a_cobra_members_open_enrollment_change_is_cobra_open_enrollment(reason: str) -> None:
    target = on_cobra(reason)
    target["coverages"].append(vision(enrolled(event_id="ev"), cobra_details=cobra()))
    transaction = planned(on_cobra(), target)
    assert transaction.transaction_type is TransactionType.COBRA_OPEN_ENROLLMENT
    assert transaction.transaction_type.value == "carrier_cobra_open_enrollment"


@pytest.mark.parametrize("reason", ["cobra_update_other", "marriage", "newborn"])
def test_other_changes_of_a_cobra_coverage_are_cobra_qualifying_life_events(reason: str) -> None:
    target = on_cobra(reason)
    target["coverages"][1]["enrolled_members"].append(enrolled("dep-1", event_id="ev"))
    transaction = planned(on_cobra(), target)
    assert transaction.transaction_type is TransactionType.COBRA_QLE
    assert transaction.transaction_type.value == "carrier_cobra_qualifying_life_event"


def test_changing_only_the_cobra_eligibility_is_a_modification_naming_the_field() -> None:
    target = on_cobra("cobra_update_other")
    put(target, "coverages.1.cobra_details.eligibility_end_date", "2026-06-30")
    transaction = planned(on_cobra(), target)
    assert transaction.transaction_type is TransactionType.COBRA_QLE
    assert transaction.changes == (
        Change(
            ChangeKind.COVERAGE_MODIFIED,
            line_of_coverage="dental",
            fields=("cobra.eligibility_end_date",),
        ),
    )


def test_a_cobra_members_demographic_change_stays_demographic() -> None:
    target = on_cobra()
    put(target, "employee.person.home_address", address(street_one="12 Alder Lane"))
    assert planned(on_cobra(), target).transaction_type is TransactionType.DEMOGRAPHIC


def test_changes_to_coverage_not_on_cobra_of_a_cobra_member_keep_their_type() -> None:
    target = on_cobra("marriage")
    target["coverages"][0] = medical(enrolled(event_id="ev"), plan="Silver HMO")
    assert planned(on_cobra(), target).transaction_type is TransactionType.QLE_MODIFYING
