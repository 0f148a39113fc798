"""Unum: a master agreement number or an 8-digit policy ID, zero-padded when shorter; and the
member rules: a division, an eligibility class and a policy ID resolved for every coverage.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from carriers.cobra import cobra_path, is_cobra
from carriers.http import HttpCarrier
from carriers.member_config import (
    Options,
    config_path,
    plan_list,
    plan_path,
    resolve,
    unknown_keys,
)
from carriers.protocol import CarrierInfo
from domain.enums import LineOfCoverage
from domain.errors import FieldProblem, ValidationFailed
from domain.members import CoverageChoice, GroupSetup, Json, MemberRulesOutcome
from domain.snapshots import MemberSnapshot

INFO = CarrierInfo(
    id=UUID("23054cd9-0a41-43e3-bd43-2d2138006536"),
    slug="unum",
    name="Unum",
    lines_of_coverage=(
        LineOfCoverage.ADD,
        LineOfCoverage.CRITICAL_ILLNESS,
        LineOfCoverage.DENTAL,
        LineOfCoverage.HOSPITAL_INDEMNITY,
        LineOfCoverage.LIFE,
        LineOfCoverage.LTD,
        LineOfCoverage.STD,
        LineOfCoverage.VISION,
    ),
    network="sync",
    cobra="not supported",
    connection_time="5-10 days",
    api_kinds=("requests",),
    carrier_group_id_format=(
        "a master agreement number (19-21 alphanumerics) or an 8-digit policy ID "
        "(shorter numeric IDs are left-padded with zeros)"
    ),
)

_POLICY_ID_LENGTH = 8
_MASTER_AGREEMENT = re.compile(r"^[A-Za-z0-9]{19,21}$")


def normalize_carrier_group_id(raw: str) -> str:
    value = raw.strip()
    if value.isdigit() and value.isascii():
        if len(value) > _POLICY_ID_LENGTH:
            raise ValidationFailed.one(
                "group_data.carrier_group_id",
                "an Unum policy ID has at most 8 digits "
                "(a master agreement number has 19-21 alphanumerics)",
            )
        return value.zfill(_POLICY_ID_LENGTH)
    if _MASTER_AGREEMENT.fullmatch(value):
        return value.upper()
    raise ValidationFailed.one(
        "group_data.carrier_group_id",
        "Unum expects a master agreement number (19-21 alphanumerics) "
        "or a numeric policy ID of up to 8 digits",
    )


def validate_group_data(group_data: dict[str, Any]) -> None:
    normalize_carrier_group_id(str(group_data.get("carrier_group_id") or ""))


def is_policy_id(carrier_group_id: str) -> bool:
    return len(carrier_group_id) == _POLICY_ID_LENGTH and carrier_group_id.isdigit()


# --- member rules --------------------------------------------------------------------------------

_CONFIG_KEYS = ("division_id", "eligibility_class_code", "policy_ids")
_POLICY_IDS_SHAPE = "must map each line of coverage to an object of {plan id: policy id}"


def check_member_snapshot(
    snapshot: MemberSnapshot, choices: list[CoverageChoice], setup: GroupSetup
) -> MemberRulesOutcome:
    """Resolve each Unum coverage's division, eligibility class and policy ID, or refuse.

    Unum has no events, gender or volume rules: it needs each coverage placed in the group's
    account structure, and refuses COBRA coverage, which it does not support. Every problem is
    collected before refusing, so the platform can fix a snapshot in one round.

    Args:
        snapshot: The member snapshot (for each coverage's COBRA details).
        choices: The snapshot's Unum coverages, each with its plan found.
        setup: The group's Unum configuration and plans.

    Raises:
        ValidationFailed: Naming every refused field.
    """
    problems: list[FieldProblem] = []
    outcome = MemberRulesOutcome()
    for choice in choices:
        resolved, found = _resolve_config(choice, choices, setup.configuration)
        problems += found
        # Refused also when ending: Unum never held it as COBRA, so there is nothing to end.
        if is_cobra(snapshot, choice):
            problems.append(FieldProblem(cobra_path(choice), "Unum does not support COBRA"))
        if resolved is not None:
            outcome.carrier_configs[choice.index] = resolved
    if problems:
        raise ValidationFailed(problems)
    return outcome


def _resolve_config(
    choice: CoverageChoice, choices: list[CoverageChoice], configuration: Json
) -> tuple[Json | None, list[FieldProblem]]:
    """The coverage's resolved carrier configuration, or why it cannot be resolved."""
    given = choice.carrier_config or {}
    division, division_problems = _division(choice, given, configuration)
    code, class_problems = _eligibility_class(choice, given, configuration)
    policy, policy_problems = _policy_id(choice, choices, given, configuration)
    problems = unknown_keys(choice, _CONFIG_KEYS, "Unum")
    problems += division_problems + class_problems + policy_problems
    if problems:
        return None, problems
    line = choice.plan.line_of_coverage.value
    return {
        "division_id": division,
        "eligibility_class_code": code,
        "policy_ids": {line: {str(choice.plan.id): policy}},
    }, []


def _division(
    choice: CoverageChoice, given: Json, configuration: Json
) -> tuple[str | None, list[FieldProblem]]:
    field = config_path(choice, "division_id")
    value = given.get("division_id")
    if value is not None and not isinstance(value, str):
        return None, [FieldProblem(field, "must be a division id (a string, like 0001)")]
    options = Options(
        noun="division",
        plural="divisions",
        group=list(configuration.get("division_ids") or []),
        plan=plan_list(choice.plan, "division_ids"),
        ambiguous="cannot be resolved to a single division: {count} options",
    )
    return resolve(value, options, field=field, plan_field=plan_path(choice))


def _eligibility_class(
    choice: CoverageChoice, given: Json, configuration: Json
) -> tuple[str | None, list[FieldProblem]]:
    field = config_path(choice, "eligibility_class_code")
    value = given.get("eligibility_class_code")
    if value is not None and not isinstance(value, str):
        return None, [FieldProblem(field, "must be an eligibility class code (a string, like 001)")]
    # One code may appear under several descriptions: it is still one class to choose.
    classes = configuration.get("eligibility_classes") or []
    options = Options(
        noun="eligibility class",
        plural="eligibility classes",
        group=list(dict.fromkeys(c["eligibility_class_code"] for c in classes)),
        plan=plan_list(choice.plan, "eligibility_class_codes"),
        ambiguous="cannot be resolved to a single eligibility class: {count} options",
    )
    return resolve(value, options, field=field, plan_field=plan_path(choice))


def _policy_id(
    choice: CoverageChoice, choices: list[CoverageChoice], given: Json, configuration: Json
) -> tuple[str | None, list[FieldProblem]]:
    """The policy ID of the coverage's plan, from `policy_ids[line][plan id]` or resolved.

    The mapping may carry entries for the member's other Unum coverages (it is one object per
    member on Unum's side); those are only refused when they name no such coverage or a policy
    that is not the group's.
    """
    field = config_path(choice, "policy_ids")
    mapping = given.get("policy_ids")
    if mapping is None:
        mapping = {}
    elif not _is_policy_mapping(mapping):
        return None, [FieldProblem(field, _POLICY_IDS_SHAPE)]
    group_policies = list(configuration.get("policy_ids") or [])
    line = choice.plan.line_of_coverage.value
    own_key = _own_key(mapping.get(line, {}), choice)
    problems = _other_entry_problems(choice, choices, mapping, own_key, group_policies)
    options = Options(
        noun="policy",
        plural="policy ids",
        group=group_policies,
        plan=plan_list(choice.plan, "policy_ids"),
        ambiguous="cannot be resolved to a single policy: {count} options",
    )
    given_policy = None if own_key is None else mapping[line][own_key]
    at = field if own_key is None else config_path(choice, "policy_ids", line, own_key)
    policy, found = resolve(given_policy, options, field=at, plan_field=plan_path(choice))
    problems += found
    return (None if problems else policy), problems


def _other_entry_problems(
    choice: CoverageChoice,
    choices: list[CoverageChoice],
    mapping: dict[str, dict[str, str]],
    own_key: str | None,
    group_policies: list[str],
) -> list[FieldProblem]:
    """Refusals for the mapping's entries that are not this coverage's own."""
    own_line = choice.plan.line_of_coverage.value
    problems: list[FieldProblem] = []
    for line, entries in mapping.items():
        plans_of_line = {str(c.plan.id) for c in choices if c.plan.line_of_coverage.value == line}
        for key, policy in entries.items():
            if line == own_line and key == own_key:
                continue
            path = config_path(choice, "policy_ids", line, key)
            if _plan_key(key) not in plans_of_line:
                reason = "names no plan of this member's Unum coverages on that line"
                problems.append(FieldProblem(path, reason))
            elif policy not in group_policies:
                problems.append(FieldProblem(path, "not one of the group's policy ids"))
    return problems


def _own_key(entries: dict[str, str], choice: CoverageChoice) -> str | None:
    """The key of the coverage's own plan among a line's entries, however its UUID is written."""
    plan_id = str(choice.plan.id)
    return next((key for key in entries if _plan_key(key) == plan_id), None)


def _plan_key(key: str) -> str:
    """A plan id key in canonical form, so an upper-case or brace-wrapped UUID still matches."""
    try:
        return str(UUID(key))
    except ValueError:
        return key


def _is_policy_mapping(mapping: Any) -> bool:
    return isinstance(mapping, dict) and all(
        isinstance(entries, dict) and all(isinstance(policy, str) for policy in entries.values())
        for entries in mapping.values()
    )


class UnumAdapter(HttpCarrier):
    info = INFO

    normalize_carrier_group_id = staticmethod(normalize_carrier_group_id)
    validate_group_data = staticmethod(validate_group_data)
    check_member_snapshot = staticmethod(check_member_snapshot)
