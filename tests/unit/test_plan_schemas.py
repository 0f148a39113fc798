"""The seed-002 plan and waiting-period schemas: what they take, what they refuse, and why."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, get_args

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from domain.account import CarrierPlan
from domain.enums import LineOfCoverage
from domain.errors import FieldProblem, ValidationFailed
from domain.plans import (
    GROUP_PLAN_ADAPTER,
    PLAN_LINES,
    AccidentPlan,
    AddPlan,
    AncillaryPlanType,
    CancerPlan,
    CriticalIllnessPlan,
    DentalPlan,
    DentalPlanType,
    EligibleMemberType,
    FixedCoincidingRule,
    FixedCoincidingWaitingPeriod,
    FixedRule,
    FixedWaitingPeriod,
    GroupPlanContent,
    HospitalIndemnityPlan,
    LifePlan,
    LtdPlan,
    MedicalPlan,
    MedicalPlanType,
    MetalTier,
    PlanStatus,
    StdPlan,
    TerminationPolicy,
    VariableCoincidingRule,
    VariableCoincidingWaitingPeriod,
    VariableRule,
    VariableWaitingPeriod,
    VisionPlan,
    WaitingPeriod,
    WaitingPeriodEnrollmentType,
    WaitingPeriodUnit,
    cobra_eligible,
    validate_plan,
)
from sandbox.generator import generate_account

Json = dict[str, Any]

# --- the seed, copied by hand so the module cannot grade itself ---------------------------------

SEED_ENUMS: dict[type[StrEnum], set[str]] = {
    PlanStatus: {"active", "discontinued", "pending"},
    EligibleMemberType: {"all", "child", "domestic-partner", "employee", "spouse"},
    TerminationPolicy: {"end_of_month", "fifteenth_of_month", "last_work_date"},
    AncillaryPlanType: {"basic", "voluntary"},
    MedicalPlanType: {"epo", "hdhp", "hmo", "hmp", "pos", "ppo"},
    DentalPlanType: {"aso", "dhmo", "epo", "indemnity", "pos", "ppo"},
    MetalTier: {"bronze", "gold", "platinum", "silver"},
    WaitingPeriodEnrollmentType: {"current_member", "new_member", "rehire"},
    WaitingPeriodUnit: {"business_day", "day", "month", "week", "year"},
    FixedRule: {"hire_date"},
    FixedCoincidingRule: {
        "fifteenth_of_month_after_event",
        "fifteenth_of_month_after_hire_date",
        "first_of_month_after_event",
        "first_of_month_after_hire_date",
        "first_or_fifteenth_of_month_after_event",
        "first_or_fifteenth_of_month_after_hire_date",
    },
    VariableRule: {"after_waiting_period"},
    VariableCoincidingRule: {
        "fifteenth_of_month_after_waiting_period",
        "first_of_month_after_waiting_period",
        "first_or_fifteenth_of_month_after_waiting_period",
    },
}

ANCILLARY_LINES = [
    LineOfCoverage.ACCIDENT,
    LineOfCoverage.ADD,
    LineOfCoverage.CANCER,
    LineOfCoverage.CRITICAL_ILLNESS,
    LineOfCoverage.HOSPITAL_INDEMNITY,
    LineOfCoverage.LIFE,
    LineOfCoverage.LTD,
    LineOfCoverage.STD,
]
VOLUME_RULE_LINES = {
    LineOfCoverage.ADD,
    LineOfCoverage.CRITICAL_ILLNESS,
    LineOfCoverage.LIFE,
    LineOfCoverage.LTD,
    LineOfCoverage.STD,
}
COBRA_LINES = {LineOfCoverage.DENTAL, LineOfCoverage.MEDICAL, LineOfCoverage.VISION}
ALL_LINES = sorted([*ANCILLARY_LINES, *COBRA_LINES])
UNSUPPORTED_LINES = [LineOfCoverage.HEALTH_FUND, LineOfCoverage.PHARMACY, LineOfCoverage.WELLNESS]

MODELS: dict[LineOfCoverage, type[BaseModel]] = {
    LineOfCoverage.ACCIDENT: AccidentPlan,
    LineOfCoverage.ADD: AddPlan,
    LineOfCoverage.CANCER: CancerPlan,
    LineOfCoverage.CRITICAL_ILLNESS: CriticalIllnessPlan,
    LineOfCoverage.DENTAL: DentalPlan,
    LineOfCoverage.HOSPITAL_INDEMNITY: HospitalIndemnityPlan,
    LineOfCoverage.LIFE: LifePlan,
    LineOfCoverage.LTD: LtdPlan,
    LineOfCoverage.MEDICAL: MedicalPlan,
    LineOfCoverage.STD: StdPlan,
    LineOfCoverage.VISION: VisionPlan,
}

COMMON_REQUIRED = {
    "line_of_coverage",
    "name",
    "status",
    "waiting_periods",
    "termination_policy",
    "plan_configuration",
}
# The contract's extras ride on every line, next to the seed's unstarred fields.
COMMON_OPTIONAL = {
    "code",
    "effective_start_date",
    "effective_end_date",
    "dependent_child_age_limits",
    "benefits",
}
LINE_OPTIONAL: dict[LineOfCoverage, set[str]] = {
    LineOfCoverage.DENTAL: {"plan_type", "network", "voluntary"},
    LineOfCoverage.MEDICAL: {"plan_type", "network", "metal_tier", "eligible_member_types"},
    LineOfCoverage.VISION: {"voluntary"},
}


def required_fields(line: LineOfCoverage) -> set[str]:
    """The seed's starred content fields of a line (identity fields are the store's)."""
    fields = set(COMMON_REQUIRED)
    if line != LineOfCoverage.MEDICAL:
        fields.add("eligible_member_types")
    if line in ANCILLARY_LINES:
        fields.add("plan_type")
    if line in VOLUME_RULE_LINES:
        fields.add("volume_rules")
    if line in COBRA_LINES:
        fields.add("cobra_rules")
    return fields


REQUIRED_CASES = [(line, field) for line in ALL_LINES for field in sorted(required_fields(line))]

# --- builders ------------------------------------------------------------------------------------

KINDS: list[tuple[type[StrEnum], type[BaseModel], Json]] = [
    (FixedRule, FixedWaitingPeriod, {}),
    (FixedCoincidingRule, FixedCoincidingWaitingPeriod, {"waiting_period_coinciding": True}),
    (
        VariableRule,
        VariableWaitingPeriod,
        {"waiting_period_amount": 30, "waiting_period_unit": "day"},
    ),
    (
        VariableCoincidingRule,
        VariableCoincidingWaitingPeriod,
        {
            "waiting_period_amount": 1,
            "waiting_period_unit": "month",
            "waiting_period_coinciding": False,
        },
    ),
]
RULES = [(rule, model) for rules, model, _ in KINDS for rule in rules]
KIND_FIELDS = {rule: fields for rules, _, fields in KINDS for rule in rules}


def waiting_period(rule: StrEnum = FixedRule.HIRE_DATE, **changes: Any) -> Json:
    period = {
        "waiting_period_enrollment_type": "new_member",
        "waiting_period_rule": rule.value,
        **KIND_FIELDS[rule],
    }
    return period | changes


def minimal_plan(line: LineOfCoverage) -> Json:
    values: Json = {
        "line_of_coverage": line.value,
        "name": "Core",
        "status": "active",
        "waiting_periods": [waiting_period()],
        "termination_policy": "end_of_month",
        "plan_configuration": {},
        "eligible_member_types": ["all"],
        "plan_type": "basic",
        "volume_rules": {},
        "cobra_rules": {"eligible": True},
    }
    return {field: values[field] for field in required_fields(line)}


def full_plan(line: LineOfCoverage) -> Json:
    extras: dict[LineOfCoverage, Json] = {
        LineOfCoverage.DENTAL: {
            "plan_type": "dhmo",
            "network": "Dental HMO Network",
            "voluntary": True,
        },
        LineOfCoverage.MEDICAL: {
            "plan_type": "hdhp",
            "network": "Choice Plus",
            "metal_tier": "gold",
            "eligible_member_types": ["employee", "spouse", "child"],
        },
        LineOfCoverage.VISION: {"voluntary": False},
    }
    return (
        minimal_plan(line)
        | {
            "code": "ABC123",
            "effective_start_date": "2024-01-01",
            "effective_end_date": "9999-12-31",
            "dependent_child_age_limits": [{"age": 26}],
            "benefits": {"deductible": 500},
            "waiting_periods": [waiting_period(rule) for rule, _ in RULES],
            "plan_configuration": {"member_group_keys": [1234567]},
        }
        | extras.get(line, {})
    )


def plan(line: LineOfCoverage, **changes: Any) -> Json:
    return minimal_plan(line) | changes


def without(data: Json, *fields: str) -> Json:
    return {key: value for key, value in data.items() if key not in fields}


def problems(data: Json, prefix: str = "") -> list[FieldProblem]:
    with pytest.raises(ValidationFailed) as caught:
        validate_plan(data, prefix=prefix)
    return caught.value.problems


def fields(data: Json) -> list[str]:
    return [problem.field for problem in problems(data)]


def dumped(data: Json) -> Json:
    return validate_plan(data).model_dump(mode="json", exclude_none=True)


# --- the schema matches the seed -----------------------------------------------------------------


@pytest.mark.parametrize("enum", list(SEED_ENUMS), ids=lambda enum: enum.__name__)
def test_enums_hold_exactly_the_seed_values(enum: type[StrEnum]) -> None:
    assert {member.value for member in enum} == SEED_ENUMS[enum]


@pytest.mark.parametrize(("rules", "model"), [(rules, model) for rules, model, _ in KINDS])
def test_waiting_period_discriminator_lists_every_rule_of_its_enum(
    rules: type[StrEnum], model: type[BaseModel]
) -> None:
    annotation = model.model_fields["waiting_period_rule"].annotation
    assert set(get_args(annotation)) == set(rules)


def test_plan_lines_are_the_eleven_lines_with_a_model() -> None:
    tags = {
        tag
        for model in MODELS.values()
        for tag in get_args(model.model_fields["line_of_coverage"].annotation)
    }
    assert PLAN_LINES == set(MODELS) == tags
    assert len(PLAN_LINES) == 11
    assert not PLAN_LINES & set(UNSUPPORTED_LINES)


@pytest.mark.parametrize("line", ALL_LINES)
def test_each_model_has_exactly_the_seed_fields(line: LineOfCoverage) -> None:
    model_fields = MODELS[line].model_fields
    required = {name for name, info in model_fields.items() if info.is_required()}
    assert required == required_fields(line)
    assert set(model_fields) - required == COMMON_OPTIONAL | LINE_OPTIONAL.get(line, set())


# --- valid plans ---------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ALL_LINES)
def test_minimal_plan_of_every_line_validates(line: LineOfCoverage) -> None:
    assert type(validate_plan(minimal_plan(line))) is MODELS[line]


@pytest.mark.parametrize("line", ALL_LINES)
def test_full_plan_of_every_line_round_trips(line: LineOfCoverage) -> None:
    data = full_plan(line)
    assert dumped(data) == data


def test_adapter_and_alias_are_the_union_of_the_eleven() -> None:
    parsed: GroupPlanContent = GROUP_PLAN_ADAPTER.validate_python(full_plan(LineOfCoverage.MEDICAL))
    assert isinstance(parsed, MedicalPlan)
    assert parsed.metal_tier is MetalTier.GOLD


ENUM_CASES = [
    *((LineOfCoverage.LIFE, "status", value) for value in PlanStatus),
    *((LineOfCoverage.VISION, "termination_policy", value) for value in TerminationPolicy),
    *((LineOfCoverage.DENTAL, "eligible_member_types", [value]) for value in EligibleMemberType),
    *((LineOfCoverage.MEDICAL, "eligible_member_types", [value]) for value in EligibleMemberType),
    *((line, "plan_type", value) for line in ANCILLARY_LINES for value in AncillaryPlanType),
    *((LineOfCoverage.MEDICAL, "plan_type", value) for value in MedicalPlanType),
    *((LineOfCoverage.DENTAL, "plan_type", value) for value in DentalPlanType),
    *((LineOfCoverage.MEDICAL, "metal_tier", value) for value in MetalTier),
]


@pytest.mark.parametrize(("line", "field", "value"), ENUM_CASES)
def test_every_enum_value_is_accepted(line: LineOfCoverage, field: str, value: Any) -> None:
    wire = [str(v) for v in value] if isinstance(value, list) else str(value)
    assert dumped(plan(line, **{field: wire}))[field] == wire


@pytest.mark.parametrize(("rule", "model"), RULES)
def test_every_rule_selects_its_waiting_period_kind(rule: StrEnum, model: type[BaseModel]) -> None:
    parsed = validate_plan(plan(LineOfCoverage.DENTAL, waiting_periods=[waiting_period(rule)]))
    (period,) = parsed.waiting_periods
    assert type(period) is model
    assert period.waiting_period_rule == rule


@pytest.mark.parametrize("enrollment_type", list(WaitingPeriodEnrollmentType))
def test_every_enrollment_type_is_accepted(enrollment_type: WaitingPeriodEnrollmentType) -> None:
    period = waiting_period(waiting_period_enrollment_type=enrollment_type.value)
    parsed = TypeAdapter(WaitingPeriod).validate_python(period)
    assert parsed.waiting_period_enrollment_type is enrollment_type


@pytest.mark.parametrize("unit", list(WaitingPeriodUnit))
@pytest.mark.parametrize(
    "rule",
    [VariableRule.AFTER_WAITING_PERIOD, VariableCoincidingRule.FIRST_OF_MONTH_AFTER_WAITING_PERIOD],
)
def test_every_unit_is_accepted(unit: WaitingPeriodUnit, rule: StrEnum) -> None:
    period = waiting_period(rule, waiting_period_unit=unit.value, waiting_period_amount=0)
    parsed = TypeAdapter(WaitingPeriod).validate_python(period)
    assert isinstance(parsed, VariableWaitingPeriod | VariableCoincidingWaitingPeriod)
    assert parsed.waiting_period_unit is unit
    assert parsed.waiting_period_amount == 0


@pytest.mark.parametrize("coinciding", [True, False])
def test_both_coinciding_flags_are_accepted(coinciding: bool) -> None:
    rule = FixedCoincidingRule.FIRST_OF_MONTH_AFTER_HIRE_DATE
    period = waiting_period(rule, waiting_period_coinciding=coinciding)
    parsed = TypeAdapter(WaitingPeriod).validate_python(period)
    assert isinstance(parsed, FixedCoincidingWaitingPeriod)
    assert parsed.waiting_period_coinciding is coinciding


def test_a_plan_may_have_no_waiting_period_and_open_or_equal_dates() -> None:
    assert dumped(plan(LineOfCoverage.LIFE, waiting_periods=[]))["waiting_periods"] == []
    same_day = {"effective_start_date": "2024-03-01", "effective_end_date": "2024-03-01"}
    assert validate_plan(plan(LineOfCoverage.LIFE, **same_day))
    assert validate_plan(plan(LineOfCoverage.LIFE, effective_end_date="2020-01-01"))


def test_models_are_frozen() -> None:
    parsed = validate_plan(minimal_plan(LineOfCoverage.VISION))
    with pytest.raises(ValidationError):
        parsed.name = "Renamed"  # type: ignore[misc]
    period = parsed.waiting_periods[0]
    with pytest.raises(ValidationError):
        period.waiting_period_enrollment_type = WaitingPeriodEnrollmentType.REHIRE  # type: ignore[misc]


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "field"), REQUIRED_CASES)
def test_each_required_field_missing_is_named(line: LineOfCoverage, field: str) -> None:
    assert problems(without(minimal_plan(line), field)) == [FieldProblem(field, "Field required")]


INVALID_ENUM_CASES = [
    (LineOfCoverage.LIFE, "status", "inactive", "status"),
    # A contract-only value: the seed wins.
    (LineOfCoverage.LIFE, "termination_policy", "first_of_following_month", "termination_policy"),
    (
        LineOfCoverage.DENTAL,
        "eligible_member_types",
        ["employee-with-dependents"],
        "eligible_member_types.0",
    ),
    (LineOfCoverage.MEDICAL, "eligible_member_types", ["all", "cousin"], "eligible_member_types.1"),
    (LineOfCoverage.ACCIDENT, "plan_type", "ppo", "plan_type"),
    (LineOfCoverage.MEDICAL, "plan_type", "basic", "plan_type"),
    (LineOfCoverage.DENTAL, "plan_type", "hmo", "plan_type"),
    (LineOfCoverage.MEDICAL, "metal_tier", "diamond", "metal_tier"),
]


@pytest.mark.parametrize(("line", "field", "value", "named"), INVALID_ENUM_CASES)
def test_a_wrong_enum_value_is_named(
    line: LineOfCoverage, field: str, value: Any, named: str
) -> None:
    (problem,) = problems(plan(line, **{field: value}))
    assert problem.field == named
    assert problem.reason.startswith("Input should be")


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("waiting_period_enrollment_type", "retiree", "waiting_period_enrollment_type"),
        ("waiting_period_unit", "hour", "waiting_period_unit"),
        ("waiting_period_amount", -1, "waiting_period_amount"),
        # Strict: JSON has real integers and booleans, so look-alikes are refused.
        ("waiting_period_amount", "30", "waiting_period_amount"),
        ("waiting_period_amount", True, "waiting_period_amount"),
        ("waiting_period_coinciding", "yes", "waiting_period_coinciding"),
        ("waiting_period_rule", "end_of_month", "waiting_period_rule"),
        ("waiting_period_rule", None, "waiting_period_rule"),
    ],
)
def test_a_bad_waiting_period_value_is_named(field: str, value: Any, named: str) -> None:
    rule = VariableCoincidingRule.FIRST_OF_MONTH_AFTER_WAITING_PERIOD
    periods = [waiting_period(), waiting_period(rule, **{field: value})]
    assert fields(plan(LineOfCoverage.STD, waiting_periods=periods)) == [
        f"waiting_periods.1.{named}"
    ]


@pytest.mark.parametrize(
    ("rule", "changes", "missing", "extra"),
    [
        (
            VariableRule.AFTER_WAITING_PERIOD,
            {},
            ["waiting_period_amount", "waiting_period_unit"],
            [],
        ),
        (
            FixedRule.HIRE_DATE,
            {"waiting_period_coinciding": True},
            [],
            ["waiting_period_coinciding"],
        ),
        (
            FixedRule.HIRE_DATE,
            {"waiting_period_amount": 30, "waiting_period_unit": "day"},
            [],
            ["waiting_period_amount", "waiting_period_unit"],
        ),
        (FixedCoincidingRule.FIRST_OF_MONTH_AFTER_EVENT, {}, ["waiting_period_coinciding"], []),
        (
            FixedCoincidingRule.FIRST_OF_MONTH_AFTER_EVENT,
            {"waiting_period_coinciding": True, "waiting_period_amount": 30},
            [],
            ["waiting_period_amount"],
        ),
        (
            VariableRule.AFTER_WAITING_PERIOD,
            {
                "waiting_period_amount": 30,
                "waiting_period_unit": "day",
                "waiting_period_coinciding": True,
            },
            [],
            ["waiting_period_coinciding"],
        ),
        (
            VariableCoincidingRule.FIRST_OF_MONTH_AFTER_WAITING_PERIOD,
            {"waiting_period_amount": 30, "waiting_period_unit": "day"},
            ["waiting_period_coinciding"],
            [],
        ),
    ],
)
def test_a_rule_with_the_fields_of_another_kind_is_refused(
    rule: StrEnum, changes: Json, missing: list[str], extra: list[str]
) -> None:
    period = {
        "waiting_period_enrollment_type": "rehire",
        "waiting_period_rule": rule.value,
        **changes,
    }
    expected = [FieldProblem(f"waiting_periods.0.{f}", "Field required") for f in missing] + [
        FieldProblem(f"waiting_periods.0.{f}", f"not a field of {rule} waiting periods")
        for f in extra
    ]
    assert problems(plan(LineOfCoverage.LIFE, waiting_periods=[period])) == expected


def test_a_waiting_period_that_is_not_an_object_is_named() -> None:
    assert fields(plan(LineOfCoverage.LIFE, waiting_periods=[waiting_period(), "hire_date"])) == [
        "waiting_periods.1"
    ]
    assert fields(plan(LineOfCoverage.LIFE, waiting_periods={"rule": "hire_date"})) == [
        "waiting_periods"
    ]


@pytest.mark.parametrize(
    ("line", "field", "value"),
    [
        (LineOfCoverage.DENTAL, "metal_tier", "gold"),
        (LineOfCoverage.VISION, "plan_type", "ppo"),
        (LineOfCoverage.VISION, "network", "VSP Choice"),
        (LineOfCoverage.MEDICAL, "voluntary", True),
        (LineOfCoverage.ACCIDENT, "volume_rules", {}),
        (LineOfCoverage.LIFE, "cobra_rules", {"eligible": True}),
        (LineOfCoverage.CANCER, "network", "Any"),
        # Identity is the store's to assign, not part of the content.
        (LineOfCoverage.STD, "id", "5f0c4a4e-0000-0000-0000-000000000000"),
        (LineOfCoverage.MEDICAL, "carrier_id", "5f0c4a4e-0000-0000-0000-000000000000"),
    ],
)
def test_a_field_of_another_line_is_refused(line: LineOfCoverage, field: str, value: Any) -> None:
    assert problems(plan(line, **{field: value})) == [
        FieldProblem(field, f"not a field of {line} plans")
    ]


def test_nested_objects_refuse_unknown_and_mistyped_fields() -> None:
    assert problems(plan(LineOfCoverage.DENTAL, cobra_rules={"eligible": True, "months": 18})) == [
        FieldProblem("cobra_rules.months", "Extra inputs are not permitted")
    ]
    assert fields(plan(LineOfCoverage.DENTAL, cobra_rules={})) == ["cobra_rules.eligible"]
    assert fields(plan(LineOfCoverage.DENTAL, cobra_rules={"eligible": "yes"})) == [
        "cobra_rules.eligible"
    ]
    assert fields(plan(LineOfCoverage.VISION, voluntary=1)) == ["voluntary"]
    assert fields(plan(LineOfCoverage.LIFE, volume_rules=[])) == ["volume_rules"]
    assert fields(plan(LineOfCoverage.LIFE, plan_configuration=None)) == ["plan_configuration"]


def test_blank_name_and_no_member_types_are_refused() -> None:
    assert fields(plan(LineOfCoverage.LIFE, name="")) == ["name"]
    assert fields(plan(LineOfCoverage.LIFE, eligible_member_types=[])) == ["eligible_member_types"]
    assert fields(plan(LineOfCoverage.MEDICAL, eligible_member_types=[])) == [
        "eligible_member_types"
    ]


def test_end_before_start_is_refused() -> None:
    data = plan(
        LineOfCoverage.LTD, effective_start_date="2024-01-01", effective_end_date="2023-12-31"
    )
    assert problems(data) == [
        FieldProblem("effective_end_date", "must not be before effective_start_date (2024-01-01)")
    ]
    assert fields(plan(LineOfCoverage.LTD, effective_start_date="2024-02-30")) == [
        "effective_start_date"
    ]


@pytest.mark.parametrize("line", UNSUPPORTED_LINES)
def test_a_line_without_a_plan_object_is_refused(line: LineOfCoverage) -> None:
    (problem,) = problems(plan(LineOfCoverage.LIFE, line_of_coverage=line.value))
    assert problem.field == "line_of_coverage"
    assert problem.reason.startswith(f"{line} plans are not supported")


@pytest.mark.parametrize("value", ["dentistry", None, 7])
def test_an_unknown_line_is_refused(value: Any) -> None:
    (problem,) = problems(plan(LineOfCoverage.LIFE, line_of_coverage=value))
    assert problem.field == "line_of_coverage"
    assert problem.reason.startswith("Input should be one of: accident, add, cancer")


def test_problems_are_all_reported_under_the_prefix() -> None:
    data = without(plan(LineOfCoverage.DENTAL, metal_tier="gold", status="gone"), "name")
    data["waiting_periods"] = [{"waiting_period_enrollment_type": "new_member"}]
    assert [p.field for p in problems(data, prefix="plans.3")] == [
        "plans.3.name",
        "plans.3.status",
        "plans.3.waiting_periods.0.waiting_period_rule",
        "plans.3.metal_tier",
    ]
    assert [p.field for p in problems({}, prefix="plans.0")] == ["plans.0.line_of_coverage"]


# --- the sandbox carriers ------------------------------------------------------------------------

SANDBOX_IDS = {
    "principal": [str(1_000_000 + 44_987 * i) for i in range(200)],
    "unum": [f"{104_729 * i:08d}" for i in range(200)]
    + [f"MA{i:017d}" for i in range(0, 200_000, 10_000)],
}


@pytest.mark.parametrize("slug", list(SANDBOX_IDS))
def test_every_plan_the_sandbox_generates_validates(slug: str) -> None:
    refused: list[str] = []
    lines: set[str] = set()
    for carrier_group_id in SANDBOX_IDS[slug]:
        for raw in generate_account(slug, carrier_group_id)["plans"]:
            details = CarrierPlan.model_validate(raw).details()
            lines.add(details["line_of_coverage"])
            try:
                validate_plan(details)
            except ValidationFailed as exc:
                refused.append(f"{carrier_group_id} {raw['carrier_plan_id']}: {exc}")
    assert not refused, "\n".join(refused[:20])
    assert lines <= PLAN_LINES
    assert len(lines) >= 8


@pytest.mark.parametrize(
    ("plan", "eligible"),
    [
        ({"cobra_rules": {"eligible": True}}, True),
        ({"cobra_rules": {"eligible": False}}, False),
        ({"line_of_coverage": "life"}, None),  # life plans state no COBRA rules
        ({"cobra_rules": None}, None),
        ({"cobra_rules": {"eligible": "yes"}}, None),
    ],
)
def test_a_plans_cobra_eligibility_is_its_cobra_rules_flag(
    plan: dict[str, object], eligible: bool | None
) -> None:
    assert cobra_eligible(plan) is eligible
