"""What every carrier does with a coverage's `carrier_config`: refuse keys it does not know, and
settle each value on the one option the group and the plan leave.

Carriers let the platform omit a configuration value when only one option fits the member, and
refuse when the value given is not the group's, the plan is not offered to it, or several options
remain. The carrier modules say what the options are; this module says how one is picked.

Reasons echo only values found in the group's own configuration (a member group key, a division),
never the value the platform sent when it matches nothing: that input is unverified and could be
anything, PII included.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from domain.errors import FieldProblem
from domain.members import CoverageChoice, PlanOption

T = TypeVar("T", bound=Hashable)


@dataclass(frozen=True)
class Options(Generic[T]):
    """The values a configuration field may take for one coverage.

    Attributes:
        noun: What one value is, for reasons ("member group", "division").
        plural: The plural of `noun`.
        group: The group's values on offer, in the group configuration's order.
        plan: The plan's own restriction, or None when the plan lists none.
        ambiguous: The reason when several options remain; `{count}` is their number.
        closed: Values of the group that exist but are no longer on offer.
    """

    noun: str
    plural: str
    group: Sequence[T]
    plan: Collection[T] | None
    ambiguous: str
    closed: Collection[T] = ()


def resolve(
    given: T | None, options: Options[T], *, field: str, plan_field: str
) -> tuple[T | None, list[FieldProblem]]:
    """The value to send, or the problems that keep one from being chosen.

    A given value is kept when it is the group's and the plan's; an omitted one is filled in
    only when exactly one option fits, because guessing between several would enroll the member
    in a population the platform did not choose.

    Args:
        given: The platform's value (already of the right type), or None when omitted.
        options: What the group and the plan offer.
        field: The dotted path of the value in the snapshot, for refusals of the value itself.
        plan_field: The dotted path naming the coverage's plan, for "plan not available" refusals.
    """
    if given is not None:
        if given not in options.group:
            reason = f"not one of the group's {options.plural}"
            if given in options.closed:
                reason += f": {options.noun} {given} is closed"
            return None, [FieldProblem(field, reason)]
        if options.plan is not None and given not in options.plan:
            return None, [FieldProblem(plan_field, f"plan not available to {options.noun} {given}")]
        return given, []
    fitting = [value for value in dict.fromkeys(options.group) if _offered(value, options.plan)]
    if len(fitting) == 1:
        return fitting[0], []
    if not fitting:
        return None, [FieldProblem(field, f"no {options.noun} offers this plan")]
    return None, [FieldProblem(field, options.ambiguous.format(count=len(fitting)))]


def unknown_keys(choice: CoverageChoice, known: Sequence[str], carrier: str) -> list[FieldProblem]:
    """A refusal per key the carrier does not take: a misspelt key would otherwise be dropped
    silently and its value resolved (or refused) as if it had been omitted."""
    given = choice.carrier_config or {}
    reason = f"not a {carrier} carrier_config key (expected {', '.join(known)})"
    return [FieldProblem(config_path(choice, key), reason) for key in given if key not in known]


def plan_list(plan: PlanOption, key: str) -> list[Any] | None:
    """The plan's restriction under `key`; None when absent or empty, since a plan nobody could
    enroll in is not what a carrier means by an empty list."""
    values = plan.plan_configuration.get(key)
    return list(values) if values else None


def config_path(choice: CoverageChoice, *parts: str) -> str:
    """The dotted path of a value under the coverage's `carrier_config`."""
    return ".".join(("coverages", str(choice.index), "carrier_config", *parts))


def plan_path(choice: CoverageChoice) -> str:
    """The dotted path naming the coverage's plan (also when the platform named it by name)."""
    return f"coverages.{choice.index}.plan_id"


def _offered(value: T, plan: Collection[T] | None) -> bool:
    return plan is None or value in plan
