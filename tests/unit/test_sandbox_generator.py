"""The sandbox's pure account generation: determinism and the seed-002 plan shapes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sandbox.generator import generate_account

Json = dict[str, Any]

# Enumerations copied from seed 002, deliberately not imported from the generator.
ENROLLMENT_TYPES = {"new_member", "current_member", "rehire"}
FIXED_COINCIDING_RULES = {
    "fifteenth_of_month_after_event",
    "fifteenth_of_month_after_hire_date",
    "first_of_month_after_event",
    "first_of_month_after_hire_date",
    "first_or_fifteenth_of_month_after_event",
    "first_or_fifteenth_of_month_after_hire_date",
}
VARIABLE_COINCIDING_RULES = {
    "fifteenth_of_month_after_waiting_period",
    "first_of_month_after_waiting_period",
    "first_or_fifteenth_of_month_after_waiting_period",
}
UNITS = {"business_day", "day", "month", "week", "year"}
TERMINATION_POLICIES = {"end_of_month", "fifteenth_of_month", "last_work_date"}
MEMBER_TYPES = {"all", "child", "domestic-partner", "employee", "spouse"}
DENTAL_PLAN_TYPES = {"aso", "dhmo", "epo", "indemnity", "pos", "ppo"}
BASIC_OR_VOLUNTARY_LINES = {
    "accident",
    "add",
    "cancer",
    "critical_illness",
    "hospital_indemnity",
    "life",
    "ltd",
    "std",
}
VOLUME_RULE_LINES = {"add", "critical_illness", "life", "ltd", "std"}
PRINCIPAL_LINES = {
    "accident",
    "add",
    "critical_illness",
    "dental",
    "hospital_indemnity",
    "life",
    "ltd",
    "std",
    "vision",
}
UNUM_LINES = PRINCIPAL_LINES - {"accident"}
COMMON_PLAN_KEYS = {
    "carrier_plan_id",
    "carrier_enrollment_id",
    "line_of_coverage",
    "name",
    "code",
    "status",
    "effective_start_date",
    "effective_end_date",
    "eligible_member_types",
    "waiting_periods",
    "termination_policy",
    "plan_configuration",
}

principal_ids = st.from_regex(r"[0-9]{7}", fullmatch=True)
unum_policy_ids = st.from_regex(r"[0-9]{8}", fullmatch=True)
unum_master_agreements = st.from_regex(r"[A-Za-z0-9]{19,21}", fullmatch=True)
carrier_and_id = st.one_of(
    st.tuples(st.just("principal"), principal_ids),
    st.tuples(st.just("unum"), st.one_of(unum_policy_ids, unum_master_agreements)),
)

# Fixed samples for distribution checks; none starts with a scripted sandbox prefix.
PRINCIPAL_SAMPLE = [str(2_000_000 + 7_919 * i) for i in range(60)]
UNUM_SAMPLE = [f"{10_000_000 + 104_729 * i:08d}" for i in range(60)]


def waiting_period_kind(period: Json) -> str:
    """Which of seed 002's four waiting-period objects this is; fails on anything else."""
    assert period["waiting_period_enrollment_type"] in ENROLLMENT_TYPES
    rule = period["waiting_period_rule"]
    extra = set(period) - {"waiting_period_enrollment_type", "waiting_period_rule"}
    if extra & {"waiting_period_amount", "waiting_period_unit"}:
        assert type(period["waiting_period_amount"]) is int
        assert period["waiting_period_amount"] >= 0
        assert period["waiting_period_unit"] in UNITS
    if extra & {"waiting_period_coinciding"}:
        assert type(period["waiting_period_coinciding"]) is bool
    if rule == "hire_date" and not extra:
        return "fixed"
    if rule in FIXED_COINCIDING_RULES and extra == {"waiting_period_coinciding"}:
        return "fixed_coinciding"
    if rule == "after_waiting_period" and extra == {"waiting_period_amount", "waiting_period_unit"}:
        return "variable"
    if rule in VARIABLE_COINCIDING_RULES and extra == {
        "waiting_period_amount",
        "waiting_period_unit",
        "waiting_period_coinciding",
    }:
        return "variable_coinciding"
    raise AssertionError(f"not a seed-002 waiting period: {period}")


def assert_plan_shape(plan: Json) -> None:
    line = plan["line_of_coverage"]
    expected = set(COMMON_PLAN_KEYS)
    if line in ("dental", "vision"):
        expected |= {"voluntary", "cobra_rules"}
        assert type(plan["voluntary"]) is bool
        assert set(plan["cobra_rules"]) == {"eligible"}
        assert type(plan["cobra_rules"]["eligible"]) is bool
    if line == "dental":
        expected |= {"plan_type"} | ({"network"} & set(plan))
        assert plan["plan_type"] in DENTAL_PLAN_TYPES
    if line in BASIC_OR_VOLUNTARY_LINES:
        expected.add("plan_type")
        assert plan["plan_type"] in {"basic", "voluntary"}
    if line in VOLUME_RULE_LINES:
        expected.add("volume_rules")
        assert isinstance(plan["volume_rules"], dict)
    assert set(plan) == expected, f"{line}: {sorted(set(plan) ^ expected)}"
    assert plan["status"] == "active"
    assert plan["effective_end_date"] == "9999-12-31"
    assert plan["termination_policy"] in TERMINATION_POLICIES
    members = plan["eligible_member_types"]
    assert members
    assert set(members) <= MEMBER_TYPES
    assert members == ["all"] or "all" not in members
    periods = plan["waiting_periods"]
    assert 1 <= len(periods) <= 3
    types = [p["waiting_period_enrollment_type"] for p in periods]
    assert len(set(types)) == len(types)
    for period in periods:
        waiting_period_kind(period)


def assert_account_shape(carrier: str, account: Json) -> None:
    assert set(account["group"]) == {"name", "dba_name", "federal_ein", "sic_code"}
    assert re.fullmatch(r"[0-9]{9}", account["group"]["federal_ein"])
    assert re.fullmatch(r"[0-9]{4}", account["group"]["sic_code"])
    assert account["coverage_end_date"] is None
    assert account["locations"]
    for location in account["locations"]:
        address = location["address"]
        assert re.fullmatch(r"[A-Z]{2}", address["state"])
        assert re.fullmatch(r"[0-9]{5}", address["zip_code"])
    contacts = account["contacts"]
    assert sum(contact["primary_contact"] for contact in contacts) == 1
    for contact in contacts:
        assert contact["types"]
        assert set(contact["types"]) <= {"company", "billing", "executive", "online", "carrier"}
        assert re.fullmatch(r"\+1[0-9]{10}", contact["phone_number"])

    enrollments = account["group_enrollments"]
    lines = [e["line_of_coverage"] for e in enrollments]
    assert len(lines) == len(set(lines)), "one enrollment per line"
    assert set(lines) <= (PRINCIPAL_LINES if carrier == "principal" else UNUM_LINES)
    assert {"dental", "life", "vision"} <= set(lines)
    assert len(lines) >= 5
    for enrollment in enrollments:
        assert enrollment["status"] == "active"
        assert enrollment["effective_end_date"] == "9999-12-31"
        start = enrollment["effective_start_date"]
        assert re.fullmatch(r"202[1-5]-01-01", start)
        assert enrollment["open_enrollment_renewal_date"] == start
        assert enrollment["open_enrollment_start_date"] == f"{int(start[:4]) - 1}-12-01"
        # Unum's open enrollment never closes (seed 004); Principal's ends in December.
        oe_end = "9999-12-31" if carrier == "unum" else f"{int(start[:4]) - 1}-12-31"
        assert enrollment["open_enrollment_end_date"] == oe_end

    enrollment_by_id = {e["carrier_enrollment_id"]: e for e in enrollments}
    plan_ids = [plan["carrier_plan_id"] for plan in account["plans"]]
    assert len(plan_ids) == len(set(plan_ids))
    for plan in account["plans"]:
        assert_plan_shape(plan)
        enrollment = enrollment_by_id[plan["carrier_enrollment_id"]]
        assert enrollment["line_of_coverage"] == plan["line_of_coverage"]
        assert plan["effective_start_date"] == enrollment["effective_start_date"]
    assert {plan["line_of_coverage"] for plan in account["plans"]} == set(lines)


def plans_of(account: Json, line: str) -> list[Json]:
    return [plan for plan in account["plans"] if plan["line_of_coverage"] == line]


# --- determinism -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(carrier_and_id)
def test_same_id_always_yields_the_same_json_account(case: tuple[str, str]) -> None:
    carrier, group_id = case
    first = generate_account(carrier, group_id)
    first_json = json.dumps(first, sort_keys=True)
    first["plans"].clear()  # a caller mutating its copy must not leak into the next call
    second = generate_account(carrier, group_id)
    assert json.dumps(second, sort_keys=True) == first_json
    assert second["carrier_group_id"] == group_id


@settings(max_examples=40, deadline=None)
@given(carrier_and_id, carrier_and_id)
def test_different_ids_yield_different_records(a: tuple[str, str], b: tuple[str, str]) -> None:
    assume(a != b)
    first, second = generate_account(*a), generate_account(*b)
    first_ids = {p["carrier_plan_id"] for p in first["plans"]}
    second_ids = {p["carrier_plan_id"] for p in second["plans"]}
    assert first_ids.isdisjoint(second_ids)
    assert (
        first["locations"][0]["carrier_location_id"]
        != second["locations"][0]["carrier_location_id"]
    )


def test_different_ids_yield_varied_groups() -> None:
    accounts = [generate_account("principal", group_id) for group_id in PRINCIPAL_SAMPLE]
    assert len({json.dumps(a["group"]) for a in accounts}) > 40
    assert len({a["group_enrollments"][0]["effective_start_date"] for a in accounts}) == 5


def test_generation_is_identical_in_fresh_processes_with_other_hash_seeds() -> None:
    script = (
        "import json; from sandbox.generator import generate_account; "
        "print(json.dumps([generate_account('principal', '2468013'), "
        "generate_account('unum', '13572468')], sort_keys=True))"
    )
    here = json.dumps(
        [generate_account("principal", "2468013"), generate_account("unum", "13572468")],
        sort_keys=True,
    )
    for hash_seed in ("0", "12345"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert result.stdout.strip() == here


# --- shapes ------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(carrier_and_id)
def test_every_generated_account_has_the_seed_shapes(case: tuple[str, str]) -> None:
    carrier, group_id = case
    assert_account_shape(carrier, generate_account(carrier, group_id))


@settings(max_examples=60, deadline=None)
@given(principal_ids)
def test_principal_configuration_and_member_group_eligibility(group_id: str) -> None:
    account = generate_account("principal", group_id)
    configuration = account["configuration"]
    assert set(configuration) - {"bill_group_sort_classes"} == {
        "policy_number",
        "member_groups",
        "bill_groups",
    }
    assert configuration["policy_number"] == group_id
    member_groups = configuration["member_groups"]
    assert 1 <= len(member_groups) <= 3
    for member_group in member_groups:
        assert set(member_group) == {"member_group_key", "member_group_status", "member_group_name"}
        assert type(member_group["member_group_key"]) is int
        assert 1_000_000 <= member_group["member_group_key"] <= 9_999_999
        assert member_group["member_group_status"] == "open"
    bill_groups = configuration["bill_groups"]
    assert 1 <= len(bill_groups) <= 3
    for bill_group in bill_groups:
        assert set(bill_group) == {
            "bill_group_number",
            "bill_group_description",
            "bill_group_status",
        }
        assert 10_000 <= bill_group["bill_group_number"] <= 99_999
        assert bill_group["bill_group_status"] == "open"
    if "bill_group_sort_classes" in configuration:
        sort_classes = configuration["bill_group_sort_classes"]
        assert sort_classes
        for sort_class in sort_classes:
            assert set(sort_class) == {"sort_class_key", "sort_class_name"}
            assert type(sort_class["sort_class_key"]) is int

    keys = [group["member_group_key"] for group in member_groups]
    assert len(set(keys)) == len(keys)
    for enrollment in account["group_enrollments"]:
        enrollable: set[int] = set()
        for plan in plans_of(account, enrollment["line_of_coverage"]):
            plan_keys = plan["plan_configuration"]["member_group_keys"]
            assert plan_keys
            assert set(plan_keys) <= set(keys)
            enrollable |= set(plan_keys)
        assert enrollable == set(keys), "every member group can enroll in every line"


def test_principal_groups_vary_between_single_and_several_member_and_bill_groups() -> None:
    configurations = [generate_account("principal", i)["configuration"] for i in PRINCIPAL_SAMPLE]
    shapes = Counter(
        (len(c["member_groups"]) > 1, len(c["bill_groups"]) > 1) for c in configurations
    )
    assert shapes[(False, False)] >= 5
    assert shapes[(True, True)] >= 3
    with_sort_classes = sum("bill_group_sort_classes" in c for c in configurations)
    assert 8 <= with_sort_classes <= 35  # "roughly a third" of 60


@settings(max_examples=40, deadline=None)
@given(principal_ids)
def test_principal_hospital_indemnity_offers_two_or_three_choices(group_id: str) -> None:
    account = generate_account("principal", group_id)
    hospital = plans_of(account, "hospital_indemnity")
    if not hospital:
        return
    choices = [plan["plan_configuration"]["choice_plan_description"] for plan in hospital]
    assert choices in (["ONE", "TWO"], ["ONE", "TWO", "THREE"])
    for plan in account["plans"]:
        if plan["line_of_coverage"] != "hospital_indemnity":
            assert set(plan["plan_configuration"]) == {"member_group_keys"}


def test_principal_sample_has_lines_of_one_and_two_plans() -> None:
    per_line = Counter(
        len(plans_of(generate_account("principal", group_id), "dental"))
        for group_id in PRINCIPAL_SAMPLE
    )
    assert set(per_line) == {1, 2}


@settings(max_examples=60, deadline=None)
@given(st.one_of(unum_policy_ids, unum_master_agreements))
def test_unum_configuration_and_plan_configuration_subsets(group_id: str) -> None:
    account = generate_account("unum", group_id)
    configuration = account["configuration"]
    assert set(configuration) == {
        "master_agreement_number",
        "division_ids",
        "eligibility_classes",
        "policy_ids",
    }
    by_policy_id = re.fullmatch(r"[0-9]{8}", group_id) is not None
    if by_policy_id:
        assert re.fullmatch(r"[A-Z0-9]{19}", configuration["master_agreement_number"])
        assert group_id in configuration["policy_ids"]
    else:
        assert configuration["master_agreement_number"] == group_id
    assert 1 <= len(configuration["policy_ids"]) <= 2
    assert len(set(configuration["policy_ids"])) == len(configuration["policy_ids"])
    assert all(re.fullmatch(r"[0-9]{8}", p) for p in configuration["policy_ids"])
    divisions = configuration["division_ids"]
    assert 1 <= len(divisions) <= 3
    assert all(re.fullmatch(r"[0-9]{4}", d) for d in divisions)
    classes = configuration["eligibility_classes"]
    codes = [c["eligibility_class_code"] for c in classes]
    assert 1 <= len(classes) <= 3
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[0-9]{3}", code) for code in codes)

    for plan in account["plans"]:
        plan_configuration = plan["plan_configuration"]
        assert set(plan_configuration) == {"eligibility_class_codes", "policy_ids", "division_ids"}
        for key, available in (
            ("eligibility_class_codes", codes),
            ("policy_ids", configuration["policy_ids"]),
            ("division_ids", divisions),
        ):
            assert plan_configuration[key]
            assert set(plan_configuration[key]) <= set(available)
        if plan["line_of_coverage"] in ("dental", "vision"):
            assert plan["cobra_rules"] == {"eligible": False}, "Unum does not support COBRA"
        if plan["line_of_coverage"] in VOLUME_RULE_LINES:
            assert plan["volume_rules"] == {}, "Unum does not expose volume rules"
    assert len(plans_of(account, "hospital_indemnity")) <= 1


def test_principal_volume_rules_carry_amounts_or_salary_percentages() -> None:
    shapes: dict[str, set[frozenset[str]]] = {}
    for group_id in PRINCIPAL_SAMPLE[:20]:
        for plan in generate_account("principal", group_id)["plans"]:
            if plan["line_of_coverage"] in VOLUME_RULE_LINES:
                rules = plan["volume_rules"]
                shapes.setdefault(plan["line_of_coverage"], set()).add(frozenset(rules))
                if "increment" in rules:
                    assert rules["minimum"] <= rules["maximum"]
                    assert rules["maximum"] % rules["increment"] == 0
    amount_shape = frozenset({"minimum", "maximum", "increment"})
    assert shapes["life"] == shapes["add"] == shapes["critical_illness"] == {amount_shape}
    assert len(shapes["ltd"]) == len(shapes["std"]) == 1
    assert "percent_of_salary" in next(iter(shapes["ltd"]))


def test_vision_plans_never_carry_a_plan_type() -> None:
    vision = [
        plan
        for group_id in PRINCIPAL_SAMPLE[:20]
        for plan in plans_of(generate_account("principal", group_id), "vision")
    ]
    assert vision
    assert all("plan_type" not in plan for plan in vision)


@pytest.mark.parametrize(
    ("carrier", "sample"), [("principal", PRINCIPAL_SAMPLE), ("unum", UNUM_SAMPLE)]
)
def test_all_four_waiting_period_kinds_appear_across_fifty_groups(
    carrier: str, sample: list[str]
) -> None:
    kinds = Counter(
        waiting_period_kind(period)
        for group_id in sample[:50]
        for plan in generate_account(carrier, group_id)["plans"]
        for period in plan["waiting_periods"]
    )
    assert set(kinds) == {"fixed", "fixed_coinciding", "variable", "variable_coinciding"}


@pytest.mark.parametrize(
    ("carrier", "sample"), [("principal", PRINCIPAL_SAMPLE), ("unum", UNUM_SAMPLE)]
)
def test_groups_carry_all_lines_or_a_subset_of_at_least_five(
    carrier: str, sample: list[str]
) -> None:
    all_lines = PRINCIPAL_LINES if carrier == "principal" else UNUM_LINES
    line_counts = Counter(len(generate_account(carrier, i)["group_enrollments"]) for i in sample)
    assert line_counts[len(all_lines)] >= 10
    assert sum(n for count, n in line_counts.items() if count < len(all_lines)) >= 10
    assert min(line_counts) >= 5
