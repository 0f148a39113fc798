"""The carriers' member rules: resolving each coverage's carrier configuration, or refusing.

Principal resolves a member group, a bill group and (for some groups) a sort class, and refuses
snapshots without events, with gender markers other than M or F, without volumes on life,
AD&D and critical illness, or with COBRA coverage it does not continue. Unum resolves a
division, an eligibility class and a policy ID, and refuses COBRA. Every refusal names the
field, and none repeats the member's PII.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

import pytest

from carriers import principal, unum
from domain.enums import LineOfCoverage
from domain.errors import ValidationFailed
from domain.members import CoverageChoice, GroupSetup, MemberRulesOutcome, PlanOption
from domain.snapshots import MemberSnapshot, parse_snapshot

Json = dict[str, Any]
Rules = Callable[[MemberSnapshot, list[CoverageChoice], GroupSetup], MemberRulesOutcome]
Edit = Callable[[Json], object]

OTHER_CARRIER = UUID("7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a01")
_PLANS = UUID("5a1d0c6e-3b7f-4e2a-9c8d-1f0e2d3c4b5a")

# The PII no refusal may repeat.
SSN = "536271849"
FIRST, LAST, DOB = "Zebulon", "Quillfeather", "1984-07-19"
SPOUSE_FIRST, SPOUSE_DOB = "Ottoline", "1986-11-23"
PII = [SSN, FIRST, LAST, DOB, SPOUSE_FIRST, SPOUSE_DOB]

# --- the snapshot --------------------------------------------------------------------------------


def plan(
    line: LineOfCoverage,
    name: str,
    *,
    voluntary: bool = False,
    cobra_eligible: bool | None = None,
    **configuration: Any,
) -> PlanOption:
    return PlanOption(
        id=uuid5(_PLANS, name),
        carrier_plan_id=name.upper().replace(" ", "-"),
        line_of_coverage=line,
        name=name,
        voluntary=voluntary,
        plan_configuration=configuration,
        cobra_eligible=cobra_eligible,
    )


@dataclass(frozen=True)
class Cov:
    """One coverage of the test snapshot: members are the employee, then the spouse."""

    plan: PlanOption
    config: Json | None = None
    volumes: tuple[int | None, ...] = (50_000,)
    active: bool = True
    changed: bool = True
    waived: tuple[int, ...] = ()  # members whose enrollment ends the day before it starts
    elsewhere: bool = False  # held with another carrier: in the snapshot, not in the choices
    cobra: bool | None = None  # cobra_details.cobra_enrolled; None: no cobra_details


def _person(first: str, dob: str, sex: str, **more: Any) -> Json:
    home = {"street_one": "339 Hickory Street", "city": "Bend", "state": "OR", "zip_code": "97701"}
    return {
        "first_name": first,
        "last_name": LAST,
        "date_of_birth": dob,
        "sex": sex,
        "home_address": home,
        "mailing_address": home,
    } | more


def _coverage(cov: Cov, carrier_id: UUID) -> Json:
    people = [("employee", "emp-1"), ("dependent", "dep-1")]
    members = []
    for index, volume in enumerate(cov.volumes):
        kind, platform_id = people[index]
        start = "2024-01-01"
        end = "2023-12-31" if index in cov.waived else "9999-12-31" if cov.active else "2024-06-30"
        member = {
            "individual_type": kind,
            "custom_individual_id": platform_id,
            "effective_start_date": start,
            "effective_end_date": end,
        }
        members.append(member if volume is None else member | {"volume": volume})
    body: Json = {
        "carrier_id": str(OTHER_CARRIER if cov.elsewhere else carrier_id),
        "line_of_coverage": cov.plan.line_of_coverage.value,
        "plan_id": str(cov.plan.id),
        "enrolled_members": members,
    }
    if cov.cobra is not None:
        body["cobra_details"] = {
            "cobra_enrolled": cov.cobra,
            "eligibility_start_date": "2024-01-01",
            "eligibility_end_date": "2025-06-30",
            "qualifying_event_date": "2023-12-31",
            "qualifying_event_reason": "termination_of_employment",
        }
    return body if cov.config is None else body | {"carrier_config": cov.config}


def payload(covs: tuple[Cov, ...], carrier_id: UUID) -> Json:
    employment = {
        "employment_status": "full-time",
        "hours_worked": 40,
        "employment_dates": {"hire_date": "2020-01-06"},
        "salary": {"amount": 52_000.0, "type": "salary", "unit": "annual"},
    }
    return {
        "snapshot_mode": "current_open",
        "employee": {
            "custom_individual_id": "emp-1",
            "employment": employment,
            "person": _person(FIRST, DOB, "M", ssn=SSN),
        },
        "dependents": [
            {
                "custom_individual_id": "dep-1",
                "person": _person(SPOUSE_FIRST, SPOUSE_DOB, "F"),
                "relationship": "spouse",
            }
        ],
        "coverages": [_coverage(cov, carrier_id) for cov in covs],
        "events": [
            {"id": "ev-oe", "date": "2023-11-15", "type": "coverage", "reason": "open_enrollment"}
        ],
    }


def choices_of(covs: tuple[Cov, ...]) -> list[CoverageChoice]:
    return [
        CoverageChoice(
            index=index,
            plan=cov.plan,
            carrier_config=cov.config,
            active=cov.active,
            changed=cov.changed,
            volumes=cov.volumes,
        )
        for index, cov in enumerate(covs)
        if not cov.elsewhere
    ]


def run(rules: Rules, setup: GroupSetup, covs: tuple[Cov, ...], edit: Edit | None) -> Any:
    body = payload(covs, setup.carrier_id)
    if edit is not None:
        edit(body)
    return rules(parse_snapshot(body), choices_of(covs), setup)


def refused(
    rules: Rules, setup: GroupSetup, covs: tuple[Cov, ...], edit: Edit | None
) -> dict[str, str]:
    """Each refused field with its reason; fails if the snapshot is taken or a reason has PII."""
    with pytest.raises(ValidationFailed) as caught:
        run(rules, setup, covs, edit)
    problems = caught.value.problems
    assert len({p.field for p in problems}) == len(problems), problems
    text = [str(caught.value), *(p.reason for p in problems)]
    assert not [value for value in PII for line in text if value.casefold() in line.casefold()]
    return {p.field: p.reason for p in problems}


# --- Principal's group ---------------------------------------------------------------------------

MG_A, MG_B, MG_CLOSED = 1122334, 1122335, 1122336
BG_ALL, BG_COBRA, BG_CLOSED = 10001, 10002, 10003
SORT_BEEHIVE, SORT_EAGLE = 2215528, 2224658


def _member_group(key: int, status: str = "open") -> Json:
    return {"member_group_key": key, "member_group_status": status, "member_group_name": "MBRS"}


def _bill_group(number: int, status: str = "open") -> Json:
    return {
        "bill_group_number": number,
        "bill_group_description": "All",
        "bill_group_status": status,
    }


PRINCIPAL_CONFIG: Json = {
    "policy_number": "1234567",
    "member_groups": [_member_group(MG_A), _member_group(MG_B), _member_group(MG_CLOSED, "closed")],
    "bill_groups": [_bill_group(BG_ALL), _bill_group(BG_COBRA), _bill_group(BG_CLOSED, "closed")],
}
# One open member group and one open bill group: nothing to choose (closed ones are no options).
SINGLE_CONFIG: Json = {
    "policy_number": "1234567",
    "member_groups": [_member_group(MG_A), _member_group(MG_CLOSED, "closed")],
    "bill_groups": [_bill_group(BG_ALL), _bill_group(BG_CLOSED, "closed")],
}
SORTED_CONFIG: Json = PRINCIPAL_CONFIG | {
    "bill_group_sort_classes": [
        {"sort_class_key": SORT_BEEHIVE, "sort_class_name": "Beehive3D Inc."},
        {"sort_class_key": SORT_EAGLE, "sort_class_name": "Eagle Engineered Solutions"},
    ]
}

BOTH = [MG_A, MG_B]
P_LIFE = plan(LineOfCoverage.LIFE, "Basic Life", member_group_keys=[MG_A])
P_VOLUNTARY_LIFE = plan(
    LineOfCoverage.LIFE, "Voluntary Life", voluntary=True, member_group_keys=BOTH
)
P_ADD = plan(LineOfCoverage.ADD, "AD&D", member_group_keys=BOTH)
P_CRITICAL = plan(LineOfCoverage.CRITICAL_ILLNESS, "Critical Illness", member_group_keys=BOTH)
P_STD = plan(LineOfCoverage.STD, "STD", member_group_keys=BOTH)
P_LTD = plan(LineOfCoverage.LTD, "LTD", member_group_keys=BOTH)
P_DENTAL = plan(LineOfCoverage.DENTAL, "High Dental", member_group_keys=BOTH)
P_VISION = plan(
    LineOfCoverage.VISION, "Vision"
)  # lists no member groups: every open one may enroll
P_LEGACY = plan(LineOfCoverage.DENTAL, "Legacy Dental", member_group_keys=[MG_CLOSED])
P_COBRA_VISION = plan(LineOfCoverage.VISION, "COBRA Vision", bill_group_numbers=[BG_COBRA])
P_HI_ONE = plan(
    LineOfCoverage.HOSPITAL_INDEMNITY,
    "HI One",
    member_group_keys=[MG_A],
    choice_plan_description="ONE",
)
P_HI_TWO = plan(
    LineOfCoverage.HOSPITAL_INDEMNITY,
    "HI Two",
    member_group_keys=[MG_B],
    choice_plan_description="TWO",
)
PRINCIPAL_PLANS: tuple[PlanOption, ...] = (
    *(P_LIFE, P_VOLUNTARY_LIFE, P_ADD, P_CRITICAL, P_STD, P_LTD, P_DENTAL, P_VISION),
    *(P_LEGACY, P_COBRA_VISION, P_HI_ONE, P_HI_TWO),
)

# A complete, valid member configuration for PRINCIPAL_CONFIG.
OK: Json = {"member_group": MG_A, "bill_group": BG_ALL}


def principal_setup(configuration: Json = PRINCIPAL_CONFIG) -> GroupSetup:
    return GroupSetup(principal.INFO.id, configuration, PRINCIPAL_PLANS)


def principal_check(
    *covs: Cov, config: Json = PRINCIPAL_CONFIG, edit: Edit | None = None
) -> MemberRulesOutcome:
    outcome: MemberRulesOutcome = run(
        principal.check_member_snapshot, principal_setup(config), covs, edit
    )
    return outcome


def principal_refusals(
    *covs: Cov, config: Json = PRINCIPAL_CONFIG, edit: Edit | None = None
) -> dict[str, str]:
    return refused(principal.check_member_snapshot, principal_setup(config), covs, edit)


def no_salary(body: Json) -> None:
    del body["employee"]["employment"]["salary"]


# --- Principal: resolution -----------------------------------------------------------------------


@pytest.mark.parametrize("config", [None, {}])
def test_principal_resolves_the_only_open_groups_when_omitted(config: Json | None) -> None:
    outcome = principal_check(Cov(P_DENTAL, config), config=SINGLE_CONFIG)
    assert outcome.carrier_configs == {0: {"member_group": MG_A, "bill_group": BG_ALL}}
    assert outcome.warnings == []


def test_principal_keeps_the_groups_given() -> None:
    given = {"member_group": MG_B, "bill_group": BG_COBRA}
    assert principal_check(Cov(P_DENTAL, given)).carrier_configs == {0: given}


def test_principal_takes_digit_strings_as_keys() -> None:
    outcome = principal_check(Cov(P_DENTAL, {"member_group": "1122335", "bill_group": " 10002"}))
    assert outcome.carrier_configs == {0: {"member_group": MG_B, "bill_group": BG_COBRA}}


def test_principal_resolves_the_member_group_the_plan_is_offered_to() -> None:
    outcome = principal_check(Cov(P_LIFE, {"bill_group": BG_ALL}))
    assert outcome.carrier_configs[0]["member_group"] == MG_A


def test_principal_resolves_each_hospital_indemnity_choice_through_its_own_plan() -> None:
    given = {"bill_group": BG_ALL}
    outcome = principal_check(Cov(P_HI_ONE, given), Cov(P_HI_TWO, given))
    assert outcome.carrier_configs == {
        0: {"member_group": MG_A, "bill_group": BG_ALL},
        1: {"member_group": MG_B, "bill_group": BG_ALL},
    }


def test_principal_resolves_the_bill_group_the_plan_is_billed_to() -> None:
    outcome = principal_check(Cov(P_COBRA_VISION, {"member_group": MG_A}))
    assert outcome.carrier_configs == {0: {"member_group": MG_A, "bill_group": BG_COBRA}}


def test_principal_only_resolves_its_own_coverages_and_keeps_their_indexes() -> None:
    covs = (Cov(P_DENTAL, {"whatever": 1}, elsewhere=True), Cov(P_DENTAL))
    outcome = principal_check(*covs, config=SINGLE_CONFIG)
    assert outcome.carrier_configs == {1: {"member_group": MG_A, "bill_group": BG_ALL}}
    found = principal_refusals(Cov(P_DENTAL, elsewhere=True), Cov(P_VISION, {"bill_group": 1}))
    assert set(found) == {
        "coverages.1.carrier_config.member_group",
        "coverages.1.carrier_config.bill_group",
    }


# --- Principal: refusals of the member group and bill group --------------------------------------


@pytest.mark.parametrize("key", ["member_grup", "sortclass", "division_id"])
def test_principal_refuses_keys_it_does_not_know(key: str) -> None:
    found = principal_refusals(Cov(P_DENTAL, OK | {key: 1}))
    assert list(found) == [f"coverages.0.carrier_config.{key}"]
    assert "not a Principal carrier_config key" in found[f"coverages.0.carrier_config.{key}"]
    assert "member_group, bill_group, sort_class" in found[f"coverages.0.carrier_config.{key}"]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("member_group", 9_999_999, "not one of the group's member groups"),
        (
            "member_group",
            MG_CLOSED,
            "not one of the group's member groups: member group 1122336 is closed",
        ),
        ("bill_group", 99_999, "not one of the group's bill groups"),
        (
            "bill_group",
            str(BG_CLOSED),
            "not one of the group's bill groups: bill group 10003 is closed",
        ),
    ],
)
def test_principal_refuses_groups_that_are_not_the_groups_open_ones(
    field: str, value: Any, reason: str
) -> None:
    found = principal_refusals(Cov(P_VISION, OK | {field: value}))
    assert found == {f"coverages.0.carrier_config.{field}": reason}


@pytest.mark.parametrize("value", ["abc", True, 1.5, [MG_A], {"key": MG_A}, "-1"])
@pytest.mark.parametrize(
    ("field", "what"), [("member_group", "member_group_key"), ("bill_group", "bill_group_number")]
)
def test_principal_refuses_group_keys_that_are_not_integers(
    field: str, what: str, value: Any
) -> None:
    found = principal_refusals(Cov(P_DENTAL, OK | {field: value}))
    assert found == {f"coverages.0.carrier_config.{field}": f"must be a {what} (an integer)"}


def test_principal_requires_a_member_group_when_several_fit() -> None:
    found = principal_refusals(Cov(P_VISION, {"bill_group": BG_ALL}))
    assert found == {
        "coverages.0.carrier_config.member_group": (
            "required: the group has 2 member groups for this member"
        )
    }


def test_principal_refuses_a_plan_no_open_member_group_is_offered() -> None:
    found = principal_refusals(Cov(P_LEGACY, {"bill_group": BG_ALL}))
    assert found == {"coverages.0.carrier_config.member_group": "no member group offers this plan"}


def test_principal_refuses_a_plan_not_offered_to_the_member_group_given() -> None:
    found = principal_refusals(Cov(P_LIFE, {"member_group": MG_B, "bill_group": BG_ALL}))
    assert found == {"coverages.0.plan_id": "plan not available to member group 1122335"}


def test_principal_requires_a_bill_group_when_several_fit() -> None:
    found = principal_refusals(Cov(P_DENTAL, {"member_group": MG_A}))
    assert found == {
        "coverages.0.carrier_config.bill_group": (
            "required: the group has 2 bill groups for this member"
        )
    }


def test_principal_refuses_a_plan_not_billed_to_the_bill_group_given() -> None:
    found = principal_refusals(Cov(P_COBRA_VISION, OK))
    assert found == {"coverages.0.plan_id": "plan not available to bill group 10001"}


# --- Principal: sort classes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "key"),
    [
        (SORT_BEEHIVE, SORT_BEEHIVE),
        (str(SORT_EAGLE), SORT_EAGLE),
        ("Eagle Engineered Solutions", SORT_EAGLE),
        (" beehive3d inc. ", SORT_BEEHIVE),
    ],
)
def test_principal_sends_the_sort_class_key_named_by_key_or_name(given: Any, key: int) -> None:
    outcome = principal_check(Cov(P_DENTAL, OK | {"sort_class": given}), config=SORTED_CONFIG)
    assert outcome.carrier_configs == {0: OK | {"sort_class": key}}


def test_principal_requires_a_sort_class_on_every_coverage_of_a_sorted_group() -> None:
    covs = (Cov(P_DENTAL, OK | {"sort_class": SORT_EAGLE}), Cov(P_LIFE, OK))
    found = principal_refusals(*covs, config=SORTED_CONFIG)
    assert found == {
        "coverages.1.carrier_config.sort_class": (
            "required: the group bills by sort class (2 sort classes)"
        )
    }


@pytest.mark.parametrize("given", [1, "Nope Inc.", 1.5, ["Beehive3D Inc."]])
def test_principal_refuses_a_sort_class_that_is_not_the_groups(given: Any) -> None:
    found = principal_refusals(Cov(P_DENTAL, OK | {"sort_class": given}), config=SORTED_CONFIG)
    assert found == {
        "coverages.0.carrier_config.sort_class": (
            "not one of the group's sort classes (by sort_class_key or sort_class_name)"
        )
    }


def test_principal_refuses_a_sort_class_for_a_group_without_them() -> None:
    found = principal_refusals(Cov(P_DENTAL, OK | {"sort_class": SORT_BEEHIVE}))
    assert found == {
        "coverages.0.carrier_config.sort_class": "the group has no bill group sort classes"
    }


# --- Principal: events, gender markers, volumes --------------------------------------------------


@pytest.mark.parametrize("events", [None, []])
def test_principal_refuses_a_snapshot_without_events(events: list[Json] | None) -> None:
    def edit(body: Json) -> None:
        if events is None:
            del body["events"]
        else:
            body["events"] = events

    found = principal_refusals(Cov(P_DENTAL, OK), edit=edit)
    assert list(found) == ["events"]
    assert "events block" in found["events"]


@pytest.mark.parametrize("sex", ["U", "X"])
def test_principal_refuses_gender_markers_other_than_m_or_f(sex: str) -> None:
    def edit(body: Json) -> None:
        body["employee"]["person"]["sex"] = sex
        body["dependents"][0]["person"]["sex"] = sex

    # The spouse is enrolled in the Principal coverage (the second enrolled member).
    found = principal_refusals(Cov(P_DENTAL, OK, volumes=(None, None)), edit=edit)
    reason = "Principal only supports the gender markers M or F"
    assert found == {"employee.person.sex": reason, "dependents.0.person.sex": reason}


def test_principal_ignores_the_marker_of_a_dependent_covered_only_elsewhere() -> None:
    def edit(body: Json) -> None:
        body["dependents"][0]["person"]["sex"] = "X"

    # The spouse is enrolled only in the other carrier's coverage.
    covs = (Cov(P_DENTAL, OK), Cov(P_VISION, OK, volumes=(None, None), elsewhere=True))
    body = payload(covs, principal.INFO.id)
    edit(body)
    outcome = principal.check_member_snapshot(
        parse_snapshot(body), choices_of(covs), principal_setup(PRINCIPAL_CONFIG)
    )
    assert set(outcome.carrier_configs) == {0}


@pytest.mark.parametrize("plan_option", [P_LIFE, P_ADD, P_CRITICAL], ids=lambda p: p.name)
def test_principal_refuses_missing_volumes_on_life_add_and_critical_illness(
    plan_option: PlanOption,
) -> None:
    found = principal_refusals(Cov(plan_option, OK, volumes=(None, None)))
    line = plan_option.line_of_coverage.value
    reason = f"required: Principal needs a volume for every member of {line} coverage"
    assert found == {
        "coverages.0.enrolled_members.0.volume": reason,
        "coverages.0.enrolled_members.1.volume": reason,
    }


@pytest.mark.parametrize(
    "cov",
    [
        Cov(P_LIFE, OK, volumes=(None,), active=False),
        Cov(P_LIFE, OK, volumes=(50_000, None), waived=(1,)),
        Cov(P_DENTAL, OK, volumes=(None, None)),
        Cov(P_STD, OK, volumes=(None,)),
    ],
    ids=["ended coverage", "waived member", "dental", "std"],
)
def test_principal_does_not_ask_volumes_where_none_is_held(cov: Cov) -> None:
    assert principal_check(cov).carrier_configs == {0: OK}


# --- Principal: the salary warning ---------------------------------------------------------------


@pytest.mark.parametrize("plan_option", [P_LIFE, P_STD, P_LTD], ids=lambda p: p.name)
def test_principal_warns_of_a_salary_based_change_without_salary(plan_option: PlanOption) -> None:
    outcome = principal_check(Cov(plan_option, OK), edit=no_salary)
    line = plan_option.line_of_coverage.value
    assert outcome.warnings == [
        f"coverages.0: Principal needs a salary for salary-based {line} coverage; without it "
        "the final election amount may be inaccurate or take longer to process"
    ]
    assert outcome.carrier_configs == {0: OK}


def test_principal_warns_of_a_salary_without_an_amount_once_per_coverage() -> None:
    def edit(body: Json) -> None:
        body["employee"]["employment"]["salary"] = {"type": "salary", "unit": "annual"}

    outcome = principal_check(Cov(P_LIFE, OK), Cov(P_DENTAL, OK), Cov(P_STD, OK), edit=edit)
    assert [warning.split(":")[0] for warning in outcome.warnings] == ["coverages.0", "coverages.2"]


@pytest.mark.parametrize(
    ("cov", "edit"),
    [
        (Cov(P_LIFE, OK), None),
        (Cov(P_VOLUNTARY_LIFE, OK), no_salary),
        (Cov(P_LIFE, OK, changed=False), no_salary),
        (Cov(P_LIFE, OK, active=False), no_salary),
        (Cov(P_DENTAL, OK), no_salary),
    ],
    ids=["salary given", "voluntary", "unchanged", "ended", "not salary-based"],
)
def test_principal_does_not_warn_otherwise(cov: Cov, edit: Edit | None) -> None:
    assert principal_check(cov, edit=edit).warnings == []


# --- Principal: all at once, and no PII ----------------------------------------------------------


def test_principal_refuses_every_problem_at_once() -> None:
    def edit(body: Json) -> None:
        del body["events"]
        body["dependents"][0]["person"]["sex"] = "X"

    covs = (
        Cov(P_DENTAL, OK | {"member_grp": 1}, volumes=(None, None)),
        Cov(P_VISION, {"bill_group": BG_CLOSED}),
        Cov(P_LIFE, OK, volumes=(None,)),
    )
    assert set(principal_refusals(*covs, edit=edit)) == {
        "events",
        "dependents.0.person.sex",
        "coverages.0.carrier_config.member_grp",
        "coverages.1.carrier_config.member_group",
        "coverages.1.carrier_config.bill_group",
        "coverages.2.enrolled_members.0.volume",
    }


def test_principal_never_echoes_pii_sent_as_configuration() -> None:
    # Each value lands in a refusal's field; `refused` checks no reason repeats it.
    config = {"member_group": SSN, "bill_group": FIRST, "sort_class": LAST}
    found = principal_refusals(Cov(P_DENTAL, config), config=SORTED_CONFIG)
    assert set(found) == {
        "coverages.0.carrier_config.member_group",
        "coverages.0.carrier_config.bill_group",
        "coverages.0.carrier_config.sort_class",
    }


# --- Principal: COBRA --------------------------------------------------------------------------


def home_state(state: str) -> Edit:
    def edit(body: Json) -> None:
        body["employee"]["person"]["home_address"]["state"] = state

    return edit


P_DENTAL_NO_COBRA = plan(
    LineOfCoverage.DENTAL, "Dental No COBRA", cobra_eligible=False, member_group_keys=BOTH
)
P_VISION_COBRA = plan(LineOfCoverage.VISION, "Vision COBRA", cobra_eligible=True)


@pytest.mark.parametrize("state", ["OR", "MN", "TX"])
@pytest.mark.parametrize("plan_option", [P_DENTAL, P_VISION_COBRA], ids=lambda p: p.name)
def test_principal_takes_cobra_on_dental_and_vision_in_every_state(
    plan_option: PlanOption, state: str
) -> None:
    outcome = principal_check(Cov(plan_option, OK, cobra=True), edit=home_state(state))
    assert outcome.carrier_configs == {0: OK}


@pytest.mark.parametrize("state", ["MN", "MT"])
def test_principal_takes_cobra_on_life_in_minnesota_and_montana(state: str) -> None:
    outcome = principal_check(Cov(P_LIFE, OK, cobra=True), edit=home_state(state))
    assert outcome.carrier_configs == {0: OK}


@pytest.mark.parametrize("state", ["OR", "WI", "ND"])
def test_principal_refuses_cobra_on_life_elsewhere(state: str) -> None:
    found = principal_refusals(Cov(P_LIFE, OK, cobra=True), edit=home_state(state))
    assert found == {
        "coverages.0.cobra_details": (
            "Principal supports COBRA on life only for employees whose home address is in "
            "Minnesota or Montana"
        )
    }


@pytest.mark.parametrize(
    "plan_option", [P_STD, P_LTD, P_ADD, P_CRITICAL, P_HI_ONE], ids=lambda p: p.name
)
def test_principal_refuses_cobra_on_other_lines(plan_option: PlanOption) -> None:
    found = principal_refusals(Cov(plan_option, OK, cobra=True), edit=home_state("MN"))
    line = plan_option.line_of_coverage.value
    assert found == {
        "coverages.0.cobra_details": (
            f"Principal does not support COBRA on {line} coverage (dental and vision in all "
            "states, life in Minnesota and Montana)"
        )
    }


def test_principal_refuses_cobra_on_a_plan_not_cobra_eligible() -> None:
    found = principal_refusals(Cov(P_DENTAL_NO_COBRA, OK, cobra=True))
    assert found == {
        "coverages.0.plan_id": "plan is not COBRA-eligible (cobra_rules.eligible false)"
    }
    # Not on COBRA, the same plan is fine.
    assert principal_check(Cov(P_DENTAL_NO_COBRA, OK, cobra=False)).carrier_configs == {0: OK}


@pytest.mark.parametrize(
    "cov",
    [
        Cov(P_STD, OK, cobra=False),
        Cov(P_STD, OK, cobra=True, active=False),
        Cov(P_LIFE, OK, cobra=True, active=False),
        Cov(P_DENTAL_NO_COBRA, OK, cobra=True, active=False),
    ],
    ids=["not enrolled", "std ending", "life ending", "ineligible plan ending"],
)
def test_principal_lets_through_coverage_not_continued_on_cobra(cov: Cov) -> None:
    assert principal_check(cov).carrier_configs == {0: OK}


def test_principal_refuses_each_cobra_problem_with_the_others() -> None:
    covs = (
        Cov(P_DENTAL, OK, cobra=True),
        Cov(P_LIFE, OK, cobra=True),
        Cov(P_STD, OK, cobra=True),
        Cov(P_DENTAL_NO_COBRA, {"bill_group": BG_CLOSED}, cobra=True),
    )
    assert set(principal_refusals(*covs)) == {
        "coverages.1.cobra_details",
        "coverages.2.cobra_details",
        "coverages.3.plan_id",
        "coverages.3.carrier_config.member_group",
        "coverages.3.carrier_config.bill_group",
    }


# --- Unum's group --------------------------------------------------------------------------------

DIV_1, DIV_2 = "0001", "0002"
CLASS_1, CLASS_2 = "001", "002"
POLICY_1, POLICY_2 = "00123456", "00654321"

UNUM_CONFIG: Json = {
    "master_agreement_number": "H562343085C02814123",
    "division_ids": [DIV_1, DIV_2],
    # A code may repeat under several descriptions: it is one class.
    "eligibility_classes": [
        {"eligibility_class_code": CLASS_1, "eligibility_class_description": "All Salaried"},
        {"eligibility_class_code": CLASS_1, "eligibility_class_description": "All Hourly"},
        {"eligibility_class_code": CLASS_2, "eligibility_class_description": "Part-time"},
    ],
    "policy_ids": [POLICY_1, POLICY_2],
}

U_DENTAL = plan(  # one option of each (0701 is not the group's)
    LineOfCoverage.DENTAL,
    "Unum Dental",
    division_ids=[DIV_1, "0701"],
    eligibility_class_codes=[CLASS_1],
    policy_ids=[POLICY_1],
)
U_DENTAL_HIGH = plan(
    LineOfCoverage.DENTAL,
    "Unum Dental High",
    division_ids=[DIV_2],
    eligibility_class_codes=[CLASS_2],
    policy_ids=[POLICY_2],
)
U_LIFE = plan(  # two options of each
    LineOfCoverage.LIFE,
    "Unum Life",
    division_ids=[DIV_1, DIV_2],
    eligibility_class_codes=[CLASS_1, CLASS_2],
    policy_ids=[POLICY_1, POLICY_2],
)
U_STD = plan(LineOfCoverage.STD, "Unum STD")  # lists nothing: every option of the group
U_VISION = plan(  # none of its options is the group's
    LineOfCoverage.VISION,
    "Unum Vision",
    division_ids=["0701"],
    eligibility_class_codes=["009"],
    policy_ids=["00999999"],
)
UNUM_PLANS = (U_DENTAL, U_DENTAL_HIGH, U_LIFE, U_STD, U_VISION)
UNUM_SETUP = GroupSetup(unum.INFO.id, UNUM_CONFIG, UNUM_PLANS)


def policy_ids(*entries: tuple[PlanOption, str]) -> Json:
    mapping: Json = {}
    for plan_option, policy in entries:
        mapping.setdefault(plan_option.line_of_coverage.value, {})[str(plan_option.id)] = policy
    return mapping


def resolved(plan_option: PlanOption, division: str, code: str, policy: str) -> Json:
    return {
        "division_id": division,
        "eligibility_class_code": code,
        "policy_ids": policy_ids((plan_option, policy)),
    }


def life_config(**changes: Any) -> Json:
    """A complete configuration for U_LIFE, whose options are all ambiguous."""
    values: Json = {
        "division_id": DIV_2,
        "eligibility_class_code": CLASS_2,
        "policy_ids": policy_ids((U_LIFE, POLICY_2)),
    }
    return values | changes


def unum_check(*covs: Cov, edit: Edit | None = None) -> MemberRulesOutcome:
    outcome: MemberRulesOutcome = run(unum.check_member_snapshot, UNUM_SETUP, covs, edit)
    return outcome


def unum_refusals(*covs: Cov, edit: Edit | None = None) -> dict[str, str]:
    return refused(unum.check_member_snapshot, UNUM_SETUP, covs, edit)


def without(config: Json, key: str) -> Json:
    return {k: v for k, v in config.items() if k != key}


# --- Unum: resolution ----------------------------------------------------------------------------


@pytest.mark.parametrize("config", [None, {}])
def test_unum_resolves_the_only_options_when_omitted(config: Json | None) -> None:
    outcome = unum_check(Cov(U_DENTAL, config))
    assert outcome.carrier_configs == {0: resolved(U_DENTAL, DIV_1, CLASS_1, POLICY_1)}
    assert outcome.warnings == []


def test_unum_keeps_the_values_given() -> None:
    outcome = unum_check(Cov(U_LIFE, life_config()))
    assert outcome.carrier_configs == {0: resolved(U_LIFE, DIV_2, CLASS_2, POLICY_2)}


def test_unum_matches_the_plan_id_however_its_uuid_is_written() -> None:
    config = life_config(policy_ids={"life": {str(U_LIFE.id).upper(): POLICY_1}})
    outcome = unum_check(Cov(U_LIFE, config))
    assert outcome.carrier_configs == {0: resolved(U_LIFE, DIV_2, CLASS_2, POLICY_1)}


def test_unum_takes_a_mapping_holding_the_members_other_coverages() -> None:
    mapping = policy_ids((U_DENTAL, POLICY_1), (U_LIFE, POLICY_2))
    covs = (Cov(U_DENTAL, {"policy_ids": mapping}), Cov(U_LIFE, life_config(policy_ids=mapping)))
    assert unum_check(*covs).carrier_configs == {
        0: resolved(U_DENTAL, DIV_1, CLASS_1, POLICY_1),
        1: resolved(U_LIFE, DIV_2, CLASS_2, POLICY_2),
    }


def test_unum_only_resolves_its_own_coverages_and_keeps_their_indexes() -> None:
    covs = (Cov(U_LIFE, elsewhere=True), Cov(U_DENTAL))
    assert unum_check(*covs).carrier_configs == {1: resolved(U_DENTAL, DIV_1, CLASS_1, POLICY_1)}


def test_unum_has_no_event_gender_or_volume_rules() -> None:
    def edit(body: Json) -> None:
        del body["events"]
        del body["employee"]["employment"]["salary"]
        body["employee"]["person"]["sex"] = "X"
        body["dependents"][0]["person"]["sex"] = "U"

    outcome = unum_check(Cov(U_LIFE, life_config(), volumes=(None, None)), edit=edit)
    assert outcome.carrier_configs == {0: resolved(U_LIFE, DIV_2, CLASS_2, POLICY_2)}
    assert outcome.warnings == []


# --- Unum: refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["division", "member_group", "policy_id"])
def test_unum_refuses_keys_it_does_not_know(key: str) -> None:
    found = unum_refusals(Cov(U_DENTAL, {key: "0001"}))
    field = f"coverages.0.carrier_config.{key}"
    assert list(found) == [field]
    assert "not a Unum carrier_config key" in found[field]
    assert "division_id, eligibility_class_code, policy_ids" in found[field]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("division_id", "must be a division id (a string, like 0001)"),
        ("eligibility_class_code", "must be an eligibility class code (a string, like 001)"),
    ],
)
@pytest.mark.parametrize("value", [1, True, ["0001"]])
def test_unum_refuses_values_that_are_not_strings(key: str, reason: str, value: Any) -> None:
    found = unum_refusals(Cov(U_DENTAL, {key: value}))
    assert found == {f"coverages.0.carrier_config.{key}": reason}


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("division_id", "0701", "not one of the group's divisions"),
        ("eligibility_class_code", "009", "not one of the group's eligibility classes"),
    ],
)
def test_unum_refuses_values_that_are_not_the_groups(key: str, value: str, reason: str) -> None:
    found = unum_refusals(Cov(U_DENTAL, {key: value}))
    assert found == {f"coverages.0.carrier_config.{key}": reason}


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("division_id", DIV_2, "plan not available to division 0002"),
        ("eligibility_class_code", CLASS_2, "plan not available to eligibility class 002"),
    ],
)
def test_unum_refuses_a_plan_not_offered_to_the_value_given(
    key: str, value: str, reason: str
) -> None:
    found = unum_refusals(Cov(U_DENTAL, {key: value}))
    assert found == {"coverages.0.plan_id": reason}


@pytest.mark.parametrize("plan_option", [U_LIFE, U_STD], ids=lambda p: p.name)
@pytest.mark.parametrize(
    ("key", "noun"),
    [("division_id", "division"), ("eligibility_class_code", "eligibility class")],
)
def test_unum_refuses_an_omitted_value_with_several_options(
    plan_option: PlanOption, key: str, noun: str
) -> None:
    # U_STD lists nothing: the group's options, its repeated class code counted once.
    config = life_config(policy_ids=policy_ids((plan_option, POLICY_1)))
    found = unum_refusals(Cov(plan_option, without(config, key)))
    assert found == {
        f"coverages.0.carrier_config.{key}": f"cannot be resolved to a single {noun}: 2 options"
    }


def test_unum_refuses_omitted_values_no_option_fits() -> None:
    assert unum_refusals(Cov(U_VISION)) == {
        "coverages.0.carrier_config.division_id": "no division offers this plan",
        "coverages.0.carrier_config.eligibility_class_code": (
            "no eligibility class offers this plan"
        ),
        "coverages.0.carrier_config.policy_ids": "no policy offers this plan",
    }


# --- Unum: policy IDs ----------------------------------------------------------------------------


def test_unum_refuses_a_policy_that_is_not_the_groups() -> None:
    found = unum_refusals(Cov(U_DENTAL, {"policy_ids": policy_ids((U_DENTAL, "00999999"))}))
    assert found == {
        f"coverages.0.carrier_config.policy_ids.dental.{U_DENTAL.id}": (
            "not one of the group's policy ids"
        )
    }


def test_unum_refuses_a_plan_not_under_the_policy_given() -> None:
    found = unum_refusals(Cov(U_DENTAL, {"policy_ids": policy_ids((U_DENTAL, POLICY_2))}))
    assert found == {"coverages.0.plan_id": "plan not available to policy 00654321"}


def test_unum_refuses_an_omitted_policy_with_several_options() -> None:
    for config in (without(life_config(), "policy_ids"), life_config(policy_ids={})):
        found = unum_refusals(Cov(U_LIFE, config))
        assert found == {
            "coverages.0.carrier_config.policy_ids": (
                "cannot be resolved to a single policy: 2 options"
            )
        }


@pytest.mark.parametrize(
    "mapping",
    [
        POLICY_1,
        [POLICY_1],
        {"dental": POLICY_1},
        {"dental": {str(U_DENTAL.id): 123456}},
    ],
)
def test_unum_refuses_a_policy_ids_value_of_another_shape(mapping: Any) -> None:
    found = unum_refusals(Cov(U_DENTAL, {"policy_ids": mapping}))
    assert found == {
        "coverages.0.carrier_config.policy_ids": (
            "must map each line of coverage to an object of {plan id: policy id}"
        )
    }


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        ((U_DENTAL_HIGH, POLICY_2), "dental"),  # a plan of the line the member does not hold
        ((U_STD, POLICY_1), "std"),  # a line the member does not hold
    ],
)
def test_unum_refuses_entries_naming_no_coverage_of_the_member(
    entry: tuple[PlanOption, str], line: str
) -> None:
    found = unum_refusals(Cov(U_DENTAL, {"policy_ids": policy_ids((U_DENTAL, POLICY_1), entry)}))
    assert found == {
        f"coverages.0.carrier_config.policy_ids.{line}.{entry[0].id}": (
            "names no plan of this member's Unum coverages on that line"
        )
    }


def test_unum_refuses_an_entry_filed_under_another_line_than_its_plans() -> None:
    mapping = {"dental": {str(U_DENTAL.id): POLICY_1}, "vision": {str(U_LIFE.id): POLICY_1}}
    covs = (Cov(U_DENTAL, {"policy_ids": mapping}), Cov(U_LIFE, life_config()))
    found = unum_refusals(*covs)
    assert found == {
        f"coverages.0.carrier_config.policy_ids.vision.{U_LIFE.id}": (
            "names no plan of this member's Unum coverages on that line"
        )
    }


def test_unum_refuses_an_entry_for_another_coverage_with_a_policy_not_the_groups() -> None:
    mapping = policy_ids((U_DENTAL, POLICY_1), (U_LIFE, "00999999"))
    covs = (Cov(U_DENTAL, {"policy_ids": mapping}), Cov(U_LIFE, life_config()))
    assert unum_refusals(*covs) == {
        f"coverages.0.carrier_config.policy_ids.life.{U_LIFE.id}": (
            "not one of the group's policy ids"
        )
    }


# --- Unum: all at once, and no PII ---------------------------------------------------------------


def test_unum_refuses_every_problem_at_once() -> None:
    covs = (
        Cov(U_DENTAL, {"division_id": DIV_2, "class": CLASS_1}),
        Cov(U_LIFE),
        Cov(U_VISION, {"policy_ids": policy_ids((U_VISION, POLICY_1))}),
    )
    assert set(unum_refusals(*covs)) == {
        "coverages.0.carrier_config.class",
        "coverages.0.plan_id",
        "coverages.1.carrier_config.division_id",
        "coverages.1.carrier_config.eligibility_class_code",
        "coverages.1.carrier_config.policy_ids",
        "coverages.2.carrier_config.division_id",
        "coverages.2.carrier_config.eligibility_class_code",
        "coverages.2.plan_id",
    }


def test_unum_never_echoes_pii_sent_as_configuration() -> None:
    config = {
        "division_id": SSN,
        "eligibility_class_code": FIRST,
        "policy_ids": policy_ids((U_DENTAL, DOB)),
    }
    found = unum_refusals(Cov(U_DENTAL, config))
    assert set(found) == {
        "coverages.0.carrier_config.division_id",
        "coverages.0.carrier_config.eligibility_class_code",
        f"coverages.0.carrier_config.policy_ids.dental.{U_DENTAL.id}",
    }


# --- the adapters --------------------------------------------------------------------------------


def test_the_adapters_bind_the_rules_as_static_methods() -> None:
    assert principal.PrincipalAdapter.check_member_snapshot is principal.check_member_snapshot
    assert unum.UnumAdapter.check_member_snapshot is unum.check_member_snapshot


# --- Unum: COBRA ---------------------------------------------------------------------------------


@pytest.mark.parametrize("active", [True, False], ids=["active", "ending"])
def test_unum_refuses_cobra_coverage(active: bool) -> None:
    found = unum_refusals(
        Cov(U_DENTAL, cobra=True, active=active), Cov(U_LIFE, life_config(), cobra=False)
    )
    assert found == {"coverages.0.cobra_details": "Unum does not support COBRA"}


def test_unum_refuses_cobra_along_with_the_configuration_problems() -> None:
    found = unum_refusals(Cov(U_VISION, cobra=True))
    assert "coverages.0.cobra_details" in found
    assert len(found) > 1


def test_unum_takes_cobra_details_that_are_not_an_enrollment() -> None:
    outcome = unum_check(Cov(U_DENTAL, cobra=False))
    assert outcome.carrier_configs == {0: resolved(U_DENTAL, DIV_1, CLASS_1, POLICY_1)}
