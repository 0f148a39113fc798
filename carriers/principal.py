"""Principal Financial: 7-digit policy numbers, the broker's FEIN on every connection, and the
member rules: member group, bill group and sort class per coverage, an events block, M or F only,
volumes on life, AD&D and critical illness.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from carriers.cobra import cobra_path, ineligible_plan_problems, is_cobra
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
from domain.snapshots import MemberSnapshot, Sex

INFO = CarrierInfo(
    id=UUID("d0003042-eaae-4491-b219-4825456a3d16"),
    slug="principal",
    name="Principal",
    lines_of_coverage=(
        LineOfCoverage.ACCIDENT,
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
    cobra="dental and vision in all states; life in Minnesota and Montana (group billing only)",
    connection_time="5-10 days",
    api_kinds=("requests", "snapshot"),
    carrier_group_id_format="the group's 7-digit policy number",
)

_POLICY_NUMBER = re.compile(r"^[0-9]{7}$")
_FEIN = re.compile(r"^[0-9]{9}$")


def normalize_carrier_group_id(raw: str) -> str:
    value = raw.strip()
    if not _POLICY_NUMBER.fullmatch(value):
        raise ValidationFailed.one(
            "group_data.carrier_group_id", "Principal expects the group's 7-digit policy number"
        )
    return value


def validate_group_data(group_data: dict[str, Any]) -> None:
    problems: list[FieldProblem] = []
    try:
        normalize_carrier_group_id(str(group_data.get("carrier_group_id") or ""))
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    fein = group_data.get("broker_federal_ein")
    if not fein:
        problems.append(
            FieldProblem(
                "group_data.broker_federal_ein",
                "Principal requires the broker's FEIN (it must match the broker of record)",
            )
        )
    elif not _FEIN.fullmatch(str(fein)):
        problems.append(FieldProblem("group_data.broker_federal_ein", "must be 9 digits"))
    if problems:
        raise ValidationFailed(problems)


# --- member rules --------------------------------------------------------------------------------

_CONFIG_KEYS = ("member_group", "bill_group", "sort_class")
_SEXES = frozenset({Sex.M, Sex.F})
# "Noyo validates that all member requests adding life, AD&D, and critical illness coverage have
# volume amounts included."
_VOLUME_LINES = frozenset(
    {LineOfCoverage.LIFE, LineOfCoverage.ADD, LineOfCoverage.CRITICAL_ILLNESS}
)
# Basic life and disability are the salary-based coverages: their amounts follow the salary.
_SALARY_LINES = frozenset({LineOfCoverage.LIFE, LineOfCoverage.STD, LineOfCoverage.LTD})
# "COBRA support is available for Dental and Vision in all states, and Life in Minnesota and
# Montana."
_COBRA_LINES = frozenset({LineOfCoverage.DENTAL, LineOfCoverage.VISION})
_COBRA_LIFE_STATES = frozenset({"MN", "MT"})


def check_member_snapshot(
    snapshot: MemberSnapshot, choices: list[CoverageChoice], setup: GroupSetup
) -> MemberRulesOutcome:
    """Resolve each Principal coverage's member group, bill group and sort class, or refuse.

    Every problem is collected before refusing, so the platform can fix a snapshot in one round.
    A salary-based coverage changed without a salary is only warned about: Principal takes it,
    but may compute the election amount wrongly or slowly.

    Args:
        snapshot: The whole member snapshot (events and people are checked once, not per coverage).
        choices: The snapshot's Principal coverages, each with its plan found.
        setup: The group's Principal configuration and plans.

    Raises:
        ValidationFailed: Naming every refused field.
    """
    problems = _event_problems(snapshot) + _sex_problems(snapshot, choices)
    problems += _cobra_problems(snapshot, choices)
    outcome = MemberRulesOutcome()
    for choice in choices:
        resolved, found = _resolve_config(choice, setup.configuration)
        problems += found + _volume_problems(snapshot, choice)
        if resolved is not None:
            outcome.carrier_configs[choice.index] = resolved
        if _lacks_salary(snapshot, choice):
            line = choice.plan.line_of_coverage.value
            outcome.warnings.append(
                f"coverages.{choice.index}: Principal needs a salary for salary-based {line} "
                "coverage; without it the final election amount may be inaccurate or take "
                "longer to process"
            )
    if problems:
        raise ValidationFailed(problems)
    return outcome


def _event_problems(snapshot: MemberSnapshot) -> list[FieldProblem]:
    # Principal computes effective dates from the event, its date and the waiting periods.
    if snapshot.events:
        return []
    reason = "required: Principal calculates effective dates from a complete events block"
    return [FieldProblem("events", reason)]


def _sex_problems(snapshot: MemberSnapshot, choices: list[CoverageChoice]) -> list[FieldProblem]:
    """The employee, and the dependents enrolled in a Principal coverage: a dependent covered
    only by another carrier is none of Principal's business."""
    enrolled = [
        member for choice in choices for member in snapshot.coverages[choice.index].enrolled_members
    ]
    ids = {m.individual_id for m in enrolled if m.individual_id is not None}
    custom_ids = {m.custom_individual_id for m in enrolled if m.custom_individual_id is not None}
    people = [("employee", snapshot.employee.person.sex)] + [
        (f"dependents.{index}", dependent.person.sex)
        for index, dependent in enumerate(snapshot.dependents)
        if dependent.id in ids or dependent.custom_individual_id in custom_ids
    ]
    return [
        FieldProblem(f"{path}.person.sex", "Principal only supports the gender markers M or F")
        for path, sex in people
        if sex not in _SEXES
    ]


def _cobra_problems(snapshot: MemberSnapshot, choices: list[CoverageChoice]) -> list[FieldProblem]:
    """Active COBRA coverage Principal does not continue: a line other than dental and vision,
    or life for an employee living outside Minnesota and Montana; and plans not COBRA-eligible.

    A COBRA coverage being ended is let through: the carrier must hear that it ends (say, after
    the member moved away from Minnesota).
    """
    problems = ineligible_plan_problems(snapshot, choices)
    state = snapshot.employee.person.home_address.state
    for choice in choices:
        line = choice.plan.line_of_coverage
        if not choice.active or not is_cobra(snapshot, choice) or line in _COBRA_LINES:
            continue
        if line is LineOfCoverage.LIFE:
            if state in _COBRA_LIFE_STATES:
                continue
            reason = (
                "Principal supports COBRA on life only for employees whose home address is in "
                "Minnesota or Montana"
            )
        else:
            reason = (
                f"Principal does not support COBRA on {line.value} coverage (dental and vision "
                "in all states, life in Minnesota and Montana)"
            )
        problems.append(FieldProblem(cobra_path(choice), reason))
    return problems


def _resolve_config(
    choice: CoverageChoice, configuration: Json
) -> tuple[Json | None, list[FieldProblem]]:
    """The coverage's resolved carrier configuration, or why it cannot be resolved."""
    given = choice.carrier_config or {}
    member_group, member_problems = _member_group(choice, given, configuration)
    bill_group, bill_problems = _bill_group(choice, given, configuration)
    sort_class, sort_problems = _sort_class(choice, given, configuration)
    problems = unknown_keys(choice, _CONFIG_KEYS, "Principal")
    problems += member_problems + bill_problems + sort_problems
    if problems:
        return None, problems
    resolved: Json = {"member_group": member_group, "bill_group": bill_group}
    if sort_class is not None:
        resolved["sort_class"] = sort_class
    return resolved, []


def _member_group(
    choice: CoverageChoice, given: Json, configuration: Json
) -> tuple[int | None, list[FieldProblem]]:
    field = config_path(choice, "member_group")
    key, problems = _integer(given.get("member_group"), field, "a member_group_key")
    if problems:
        return None, problems
    open_keys, closed_keys = _by_status(
        configuration.get("member_groups"), "member_group_key", "member_group_status"
    )
    options = Options(
        noun="member group",
        plural="member groups",
        group=open_keys,
        closed=closed_keys,
        plan=plan_list(choice.plan, "member_group_keys"),
        ambiguous="required: the group has {count} member groups for this member",
    )
    return resolve(key, options, field=field, plan_field=plan_path(choice))


def _bill_group(
    choice: CoverageChoice, given: Json, configuration: Json
) -> tuple[int | None, list[FieldProblem]]:
    field = config_path(choice, "bill_group")
    number, problems = _integer(given.get("bill_group"), field, "a bill_group_number")
    if problems:
        return None, problems
    open_numbers, closed_numbers = _by_status(
        configuration.get("bill_groups"), "bill_group_number", "bill_group_status"
    )
    options = Options(
        noun="bill group",
        plural="bill groups",
        group=open_numbers,
        closed=closed_numbers,
        plan=plan_list(choice.plan, "bill_group_numbers"),
        ambiguous="required: the group has {count} bill groups for this member",
    )
    return resolve(number, options, field=field, plan_field=plan_path(choice))


def _sort_class(
    choice: CoverageChoice, given: Json, configuration: Json
) -> tuple[int | None, list[FieldProblem]]:
    """The sort class key: required of every coverage when the group bills by sort class."""
    field = config_path(choice, "sort_class")
    value = given.get("sort_class")
    classes = configuration.get("bill_group_sort_classes") or []
    if not classes:
        if value is None:
            return None, []
        return None, [FieldProblem(field, "the group has no bill group sort classes")]
    if value is None:
        reason = f"required: the group bills by sort class ({len(classes)} sort classes)"
        return None, [FieldProblem(field, reason)]
    key = _sort_class_key(value, classes)
    if key is None:
        reason = "not one of the group's sort classes (by sort_class_key or sort_class_name)"
        return None, [FieldProblem(field, reason)]
    return key, []


def _sort_class_key(value: Any, classes: list[Json]) -> int | None:
    """The key of the class `value` names, by key (int or digit string) or by name."""
    number = _as_int(value)
    if number is not None:
        for sort_class in classes:
            if sort_class["sort_class_key"] == number:
                return number
    if isinstance(value, str):
        name = value.strip().casefold()
        for sort_class in classes:
            if str(sort_class.get("sort_class_name", "")).strip().casefold() == name:
                return int(sort_class["sort_class_key"])
    return None


def _volume_problems(snapshot: MemberSnapshot, choice: CoverageChoice) -> list[FieldProblem]:
    """Each member of an active life, AD&D or critical illness coverage without a volume.

    A member whose enrollment is waived (ending the day before it starts) holds no amount.
    """
    line = choice.plan.line_of_coverage
    if not choice.active or line not in _VOLUME_LINES:
        return []
    members = snapshot.coverages[choice.index].enrolled_members
    reason = f"required: Principal needs a volume for every member of {line.value} coverage"
    return [
        FieldProblem(f"coverages.{choice.index}.enrolled_members.{index}.volume", reason)
        for index, (volume, member) in enumerate(zip(choice.volumes, members, strict=True))
        if volume is None and member.effective_end_date >= member.effective_start_date
    ]


def _lacks_salary(snapshot: MemberSnapshot, choice: CoverageChoice) -> bool:
    """A changed, active, employer-paid salary-based coverage sent without the salary."""
    salary = snapshot.employee.employment.salary
    return (
        choice.changed
        and choice.active
        and choice.plan.line_of_coverage in _SALARY_LINES
        and not choice.plan.voluntary
        and (salary is None or salary.amount is None)
    )


def _integer(value: Any, field: str, what: str) -> tuple[int | None, list[FieldProblem]]:
    """The integer of a configuration value; None when omitted, a problem when not a number."""
    if value is None:
        return None, []
    number = _as_int(value)
    if number is None:
        return None, [FieldProblem(field, f"must be {what} (an integer)")]
    return number, []


def _as_int(value: Any) -> int | None:
    """A JSON number or a string of digits as an int (platforms send keys either way)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    digits = value.strip() if isinstance(value, str) else ""
    return int(digits) if digits.isascii() and digits.isdigit() else None


def _by_status(groups: Any, key: str, status: str) -> tuple[list[Any], list[Any]]:
    """The groups' keys split into open ones (the options) and the rest (closed)."""
    open_keys: list[Any] = []
    closed_keys: list[Any] = []
    for entry in groups or []:
        is_open = str(entry.get(status)).strip().lower() == "open"
        (open_keys if is_open else closed_keys).append(entry[key])
    return open_keys, closed_keys


class PrincipalAdapter(HttpCarrier):
    info = INFO

    normalize_carrier_group_id = staticmethod(normalize_carrier_group_id)
    validate_group_data = staticmethod(validate_group_data)
    check_member_snapshot = staticmethod(check_member_snapshot)
