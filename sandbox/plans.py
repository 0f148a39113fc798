"""Deterministic plan generation: line-specific fields, waiting periods and eligible populations."""

from __future__ import annotations

import random
from typing import Any

from sandbox.carriers import CarrierRules

Json = dict[str, Any]

OPEN_ENDED = "9999-12-31"
HOSPITAL_CHOICES = ("ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX")

_ENROLLMENT_TYPES = ("new_member", "current_member", "rehire")
_FIXED_COINCIDING_RULES = (
    "first_of_month_after_hire_date",
    "first_of_month_after_event",
    "fifteenth_of_month_after_hire_date",
    "fifteenth_of_month_after_event",
    "first_or_fifteenth_of_month_after_hire_date",
    "first_or_fifteenth_of_month_after_event",
)
_VARIABLE_COINCIDING_RULES = (
    "first_of_month_after_waiting_period",
    "fifteenth_of_month_after_waiting_period",
    "first_or_fifteenth_of_month_after_waiting_period",
)
# Amounts a benefits administrator would plausibly set for each unit.
_AMOUNTS_BY_UNIT = {
    "business_day": (5, 10, 20),
    "day": (0, 30, 60, 90),
    "week": (1, 2, 4),
    "month": (1, 2, 3),
    "year": (1,),
}
_TERMINATION_POLICIES = ("end_of_month", "fifteenth_of_month", "last_work_date")
_DEPENDENT_TYPES = ("spouse", "child", "domestic-partner")
_DENTAL_PLAN_TYPES = ("ppo", "pos", "dhmo", "epo", "aso", "indemnity")
_VOLUME_RULE_LINES = ("add", "critical_illness", "life", "ltd", "std")
_SALARY_BASED_LINES = ("ltd", "std")
_TIERS = ("Core", "Plus", "Premier", "Select", "Base", "Buy-Up")
_LABELS = {
    "accident": ("Accident", "ACC"),
    "add": ("AD&D", "ADD"),
    "critical_illness": ("Critical Illness", "CI"),
    "dental": ("Dental", "DEN"),
    "hospital_indemnity": ("Hospital Indemnity", "HI"),
    "life": ("Life", "LIF"),
    "ltd": ("Long Term Disability", "LTD"),
    "std": ("Short Term Disability", "STD"),
    "vision": ("Vision", "VIS"),
}


def make_plan(
    rng: random.Random,
    carrier: CarrierRules,
    *,
    carrier_plan_id: str,
    enrollment: Json,
    tier: str,
    plan_configuration: Json,
) -> Json:
    """One plan of the enrollment's line, shaped like that line's plan object in the seeds."""
    line = enrollment["line_of_coverage"]
    label, code = _LABELS[line]
    plan_type = _plan_type(rng, line)
    choice = plan_configuration.get("choice_plan_description")
    if choice is not None:
        name = f"{label} Choice {choice}"
    elif line == "dental":
        name = f"{label} {str(plan_type).upper()} {tier}"
    elif plan_type is None:
        name = f"{label} {tier}"
    else:
        name = f"{plan_type.title()} {label} {tier}"
    plan: Json = {
        "carrier_plan_id": carrier_plan_id,
        "carrier_enrollment_id": enrollment["carrier_enrollment_id"],
        "line_of_coverage": line,
        "name": name,
        "code": f"{code}{rng.randint(100, 999)}",
    }
    if plan_type is not None:
        plan["plan_type"] = plan_type
    plan |= {
        "status": "active",
        "effective_start_date": enrollment["effective_start_date"],
        "effective_end_date": OPEN_ENDED,
        "eligible_member_types": _eligible_member_types(rng),
        "waiting_periods": _waiting_periods(rng),
        "termination_policy": rng.choice(_TERMINATION_POLICIES),
    }
    if line == "dental" and rng.random() < 0.5:
        plan["network"] = f"{carrier.name} Dental {str(plan_type).upper()} Network"
    if line in ("dental", "vision"):
        plan["voluntary"] = rng.random() < 0.4
        plan["cobra_rules"] = {"eligible": carrier.cobra and rng.random() < 0.8}
    if line in _VOLUME_RULE_LINES:
        plan["volume_rules"] = _volume_rules(rng, line) if carrier.exposes_volume_rules else {}
    plan["plan_configuration"] = plan_configuration
    return plan


def plan_tiers(rng: random.Random, count: int) -> list[str]:
    """Distinct tiers, so plans sharing a line never share a name."""
    return rng.sample(_TIERS, count)


def _plan_type(rng: random.Random, line: str) -> str | None:
    if line == "vision":
        return None
    if line == "dental":
        return rng.choice(_DENTAL_PLAN_TYPES)
    return rng.choice(("basic", "voluntary"))


def _eligible_member_types(rng: random.Random) -> list[str]:
    if rng.random() < 0.5:
        return ["all"]
    dependents = rng.sample(_DEPENDENT_TYPES, rng.randint(0, len(_DEPENDENT_TYPES)))
    return ["employee", *(kind for kind in _DEPENDENT_TYPES if kind in dependents)]


def _waiting_periods(rng: random.Random) -> list[Json]:
    chosen = rng.sample(_ENROLLMENT_TYPES, rng.randint(1, len(_ENROLLMENT_TYPES)))
    return [_waiting_period(rng, kind) for kind in _ENROLLMENT_TYPES if kind in chosen]


def _waiting_period(rng: random.Random, enrollment_type: str) -> Json:
    """One of the four waiting-period kinds of seed 002, picked uniformly."""
    period: Json = {"waiting_period_enrollment_type": enrollment_type}
    kind = rng.randrange(4)
    if kind == 0:
        return period | {"waiting_period_rule": "hire_date"}
    if kind == 1:
        return period | {
            "waiting_period_rule": rng.choice(_FIXED_COINCIDING_RULES),
            "waiting_period_coinciding": rng.random() < 0.5,
        }
    unit = rng.choice(tuple(_AMOUNTS_BY_UNIT))
    period |= {
        "waiting_period_rule": "after_waiting_period",
        "waiting_period_amount": rng.choice(_AMOUNTS_BY_UNIT[unit]),
        "waiting_period_unit": unit,
    }
    if kind == 2:
        return period
    return period | {
        "waiting_period_rule": rng.choice(_VARIABLE_COINCIDING_RULES),
        "waiting_period_coinciding": rng.random() < 0.5,
    }


def _volume_rules(rng: random.Random, line: str) -> Json:
    if line in _SALARY_BASED_LINES:
        weekly = line == "std"
        return {
            "percent_of_salary": rng.choice((50, 60, 66, 70)),
            "maximum_benefit": rng.choice((1000, 1500, 2000) if weekly else (5000, 10000, 15000)),
            "benefit_frequency": "weekly" if weekly else "monthly",
        }
    increment = rng.choice((5000, 10000))
    return {
        "minimum": increment,
        "maximum": increment * rng.choice((10, 25, 50)),
        "increment": increment,
    }
