"""Group plan content per line of coverage and its waiting periods, as seed 002 defines them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from domain.enums import LineOfCoverage
from domain.errors import FieldProblem, ValidationFailed


class PlanStatus(StrEnum):
    ACTIVE = "active"
    DISCONTINUED = "discontinued"
    PENDING = "pending"


class EligibleMemberType(StrEnum):
    # The contract also lists `employee-with-dependents`; the seed does not, and the seed wins.
    ALL = "all"
    CHILD = "child"
    DOMESTIC_PARTNER = "domestic-partner"
    EMPLOYEE = "employee"
    SPOUSE = "spouse"


class TerminationPolicy(StrEnum):
    # The contract adds first_of_following_month and end_of_plan_year; the seed wins.
    END_OF_MONTH = "end_of_month"
    FIFTEENTH_OF_MONTH = "fifteenth_of_month"
    LAST_WORK_DATE = "last_work_date"


class AncillaryPlanType(StrEnum):
    BASIC = "basic"
    VOLUNTARY = "voluntary"


class MedicalPlanType(StrEnum):
    EPO = "epo"
    HDHP = "hdhp"
    HMO = "hmo"
    HMP = "hmp"
    POS = "pos"
    PPO = "ppo"


class DentalPlanType(StrEnum):
    ASO = "aso"
    DHMO = "dhmo"
    EPO = "epo"
    INDEMNITY = "indemnity"
    POS = "pos"
    PPO = "ppo"


class MetalTier(StrEnum):
    BRONZE = "bronze"
    GOLD = "gold"
    PLATINUM = "platinum"
    SILVER = "silver"


class WaitingPeriodEnrollmentType(StrEnum):
    NEW_MEMBER = "new_member"
    CURRENT_MEMBER = "current_member"
    REHIRE = "rehire"


class WaitingPeriodUnit(StrEnum):
    BUSINESS_DAY = "business_day"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class FixedRule(StrEnum):
    HIRE_DATE = "hire_date"


class FixedCoincidingRule(StrEnum):
    FIFTEENTH_OF_MONTH_AFTER_EVENT = "fifteenth_of_month_after_event"
    FIFTEENTH_OF_MONTH_AFTER_HIRE_DATE = "fifteenth_of_month_after_hire_date"
    FIRST_OF_MONTH_AFTER_EVENT = "first_of_month_after_event"
    FIRST_OF_MONTH_AFTER_HIRE_DATE = "first_of_month_after_hire_date"
    FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_EVENT = "first_or_fifteenth_of_month_after_event"
    FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_HIRE_DATE = "first_or_fifteenth_of_month_after_hire_date"


class VariableRule(StrEnum):
    AFTER_WAITING_PERIOD = "after_waiting_period"


class VariableCoincidingRule(StrEnum):
    FIFTEENTH_OF_MONTH_AFTER_WAITING_PERIOD = "fifteenth_of_month_after_waiting_period"
    FIRST_OF_MONTH_AFTER_WAITING_PERIOD = "first_of_month_after_waiting_period"
    FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_WAITING_PERIOD = (
        "first_or_fifteenth_of_month_after_waiting_period"
    )


# Every line but these has a plan object in the seed.
PLAN_LINES: frozenset[LineOfCoverage] = frozenset(LineOfCoverage) - {
    LineOfCoverage.HEALTH_FUND,
    LineOfCoverage.PHARMACY,
    LineOfCoverage.WELLNESS,
}

# Strict, so a JSON "5" or 1 is not quietly taken for 5 or true.
_Amount = Annotated[int, Field(strict=True, ge=0)]
_Flag = Annotated[bool, Field(strict=True)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- waiting periods -----------------------------------------------------------------------------


class _WaitingPeriodBase(_Schema):
    waiting_period_enrollment_type: WaitingPeriodEnrollmentType


class FixedWaitingPeriod(_WaitingPeriodBase):
    waiting_period_rule: Literal[FixedRule.HIRE_DATE]


class FixedCoincidingWaitingPeriod(_WaitingPeriodBase):
    # The discriminator must be a Literal; a unit test keeps it equal to the enum.
    waiting_period_rule: Literal[
        FixedCoincidingRule.FIFTEENTH_OF_MONTH_AFTER_EVENT,
        FixedCoincidingRule.FIFTEENTH_OF_MONTH_AFTER_HIRE_DATE,
        FixedCoincidingRule.FIRST_OF_MONTH_AFTER_EVENT,
        FixedCoincidingRule.FIRST_OF_MONTH_AFTER_HIRE_DATE,
        FixedCoincidingRule.FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_EVENT,
        FixedCoincidingRule.FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_HIRE_DATE,
    ]
    waiting_period_coinciding: _Flag


class VariableWaitingPeriod(_WaitingPeriodBase):
    waiting_period_rule: Literal[VariableRule.AFTER_WAITING_PERIOD]
    waiting_period_amount: _Amount
    waiting_period_unit: WaitingPeriodUnit


class VariableCoincidingWaitingPeriod(_WaitingPeriodBase):
    waiting_period_rule: Literal[
        VariableCoincidingRule.FIFTEENTH_OF_MONTH_AFTER_WAITING_PERIOD,
        VariableCoincidingRule.FIRST_OF_MONTH_AFTER_WAITING_PERIOD,
        VariableCoincidingRule.FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_WAITING_PERIOD,
    ]
    waiting_period_amount: _Amount
    waiting_period_unit: WaitingPeriodUnit
    waiting_period_coinciding: _Flag


WaitingPeriod: TypeAlias = Annotated[
    FixedWaitingPeriod
    | FixedCoincidingWaitingPeriod
    | VariableWaitingPeriod
    | VariableCoincidingWaitingPeriod,
    Field(discriminator="waiting_period_rule"),
]

_WAITING_PERIOD_RULES: tuple[str, ...] = (
    *FixedRule,
    *FixedCoincidingRule,
    *VariableRule,
    *VariableCoincidingRule,
)


# --- plans ---------------------------------------------------------------------------------------


class CobraRules(_Schema):
    eligible: _Flag


class _PlanContent(_Schema):
    """The fields every line shares, save `eligible_member_types` (optional on medical only)."""

    # Narrowed to one Literal per line; declared here so dumps list it first.
    line_of_coverage: LineOfCoverage
    name: str = Field(min_length=1)
    code: str | None = None
    effective_start_date: date | None = None
    # 9999-12-31 is the open end, an ordinary date to compare against.
    effective_end_date: date | None = None
    status: PlanStatus
    waiting_periods: list[WaitingPeriod]
    termination_policy: TerminationPolicy
    plan_configuration: dict[str, Any]
    # Optional on every line in the contract, though the seed's tables do not show them.
    dependent_child_age_limits: list[Any] | None = None
    benefits: dict[str, Any] | None = None

    @field_validator("effective_end_date")
    @classmethod
    def _ends_after_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("effective_start_date")
        if end is not None and start is not None and end < start:
            raise PydanticCustomError(
                "date_order",
                "must not be before effective_start_date ({start})",
                {"start": start.isoformat()},
            )
        return end


class _Plan(_PlanContent):
    eligible_member_types: list[EligibleMemberType] = Field(min_length=1)


class _AncillaryPlan(_Plan):
    plan_type: AncillaryPlanType


class _VolumePlan(_AncillaryPlan):
    volume_rules: dict[str, Any]


class _CobraPlan(_Schema):
    cobra_rules: CobraRules


class AccidentPlan(_AncillaryPlan):
    line_of_coverage: Literal[LineOfCoverage.ACCIDENT]


class AddPlan(_VolumePlan):
    line_of_coverage: Literal[LineOfCoverage.ADD]


class CancerPlan(_AncillaryPlan):
    line_of_coverage: Literal[LineOfCoverage.CANCER]


class CriticalIllnessPlan(_VolumePlan):
    line_of_coverage: Literal[LineOfCoverage.CRITICAL_ILLNESS]


class DentalPlan(_CobraPlan, _Plan):
    line_of_coverage: Literal[LineOfCoverage.DENTAL]
    plan_type: DentalPlanType | None = None
    network: str | None = None
    voluntary: _Flag | None = None


class HospitalIndemnityPlan(_AncillaryPlan):
    line_of_coverage: Literal[LineOfCoverage.HOSPITAL_INDEMNITY]


class LifePlan(_VolumePlan):
    line_of_coverage: Literal[LineOfCoverage.LIFE]


class LtdPlan(_VolumePlan):
    line_of_coverage: Literal[LineOfCoverage.LTD]


class MedicalPlan(_CobraPlan, _PlanContent):
    line_of_coverage: Literal[LineOfCoverage.MEDICAL]
    plan_type: MedicalPlanType | None = None
    network: str | None = None
    metal_tier: MetalTier | None = None
    eligible_member_types: list[EligibleMemberType] | None = Field(default=None, min_length=1)


class StdPlan(_VolumePlan):
    line_of_coverage: Literal[LineOfCoverage.STD]


class VisionPlan(_CobraPlan, _Plan):
    line_of_coverage: Literal[LineOfCoverage.VISION]
    voluntary: _Flag | None = None


GroupPlanContent: TypeAlias = Annotated[
    AccidentPlan
    | AddPlan
    | CancerPlan
    | CriticalIllnessPlan
    | DentalPlan
    | HospitalIndemnityPlan
    | LifePlan
    | LtdPlan
    | MedicalPlan
    | StdPlan
    | VisionPlan,
    Field(discriminator="line_of_coverage"),
]

GROUP_PLAN_ADAPTER: TypeAdapter[GroupPlanContent] = TypeAdapter(GroupPlanContent)


def validate_plan(data: Mapping[str, Any], *, prefix: str = "") -> GroupPlanContent:
    """The plan content of `data`, or ValidationFailed naming each refused field under `prefix`."""
    try:
        return GROUP_PLAN_ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems = [_problem(error, prefix) for error in exc.errors()]
    raise ValidationFailed(problems)


_UNSUPPORTED_LINES = frozenset(LineOfCoverage) - PLAN_LINES


def _problem(error: ErrorDetails, prefix: str) -> FieldProblem:
    """Pydantic's error with the union tags it puts in `loc` taken out, and plainer reasons."""
    loc = list(error["loc"])
    if not loc:  # no plan model was chosen: the line itself is at fault
        field, reason = _tag_problem(error, "line_of_coverage", PLAN_LINES)
        tag = error.get("ctx", {}).get("tag")
        if error["type"] == "union_tag_invalid" and tag in _UNSUPPORTED_LINES:
            reason = f"{tag} plans are not supported; {reason[0].lower()}{reason[1:]}"
        return FieldProblem(_path(prefix, field) or "plan", reason)
    line, *rest = loc
    if len(rest) >= 2 and rest[0] == "waiting_periods" and isinstance(rest[1], int):
        head, tail = rest[:2], rest[2:]
        if not tail:  # no waiting-period model was chosen
            field, reason = _tag_problem(error, "waiting_period_rule", _WAITING_PERIOD_RULES)
            return FieldProblem(_path(prefix, *head, field), reason)
        rule, *tail = tail
        reason = _reason(error, tail, f"not a field of {rule} waiting periods")
        return FieldProblem(_path(prefix, *head, *tail), reason)
    return FieldProblem(_path(prefix, *rest), _reason(error, rest, f"not a field of {line} plans"))


def _tag_problem(error: ErrorDetails, field: str, tags: Iterable[str]) -> tuple[str, str]:
    if error["type"] == "union_tag_not_found":
        return field, "Field required"
    if error["type"] == "union_tag_invalid":
        return field, f"Input should be one of: {', '.join(sorted(tags))}"
    return "", error["msg"]


def _reason(error: ErrorDetails, loc: list[int | str], extra_field: str) -> str:
    # Only a key right on the plan or waiting period is another kind's field; deeper is just extra.
    return extra_field if error["type"] == "extra_forbidden" and len(loc) == 1 else error["msg"]


def _path(*parts: int | str) -> str:
    return ".".join(str(part) for part in parts if part != "")


def is_voluntary(plan: Mapping[str, Any]) -> bool:
    """Whether the member pays (contributory): dental and vision plans carry a `voluntary` flag;
    life, disability and the other ancillary lines say it with `plan_type`."""
    flag = plan.get("voluntary")
    if isinstance(flag, bool):
        return flag
    return plan.get("plan_type") == AncillaryPlanType.VOLUNTARY.value


def cobra_eligible(plan: Mapping[str, Any]) -> bool | None:
    """The plan's `cobra_rules.eligible`; None when the plan states no COBRA rules."""
    rules = plan.get("cobra_rules")
    flag = rules.get("eligible") if isinstance(rules, Mapping) else None
    return flag if isinstance(flag, bool) else None
