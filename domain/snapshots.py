"""The inbound member snapshot (contract 4a): its schema, the rules it holds alone, its refusals.

Only what the payload can answer by itself lives here: shapes, enums, required fields, the rules
between fields, and the references inside the payload (event ids, enrolled members). Anything
that needs the group, its carriers or the member's current state belongs to later steps.

No refusal message echoes a value: reasons name fields, never SSNs, names or dates of birth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal, Self, TypeAlias
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.account import Address
from domain.bounds import (
    MAX_CHOICES,
    MAX_COVERAGES,
    MAX_DEPENDENTS,
    MAX_ENROLLED,
    MAX_EVENTS,
    MAX_PROVIDERS,
    BirthDate,
    EmailText,
    FreeFormObject,
    HoursWorked,
    Labels,
    Money,
    Name,
    PlausibleDate,
    PlausibleEndDate,
    RequiredIdentifier,
    RequiredName,
    ShortText,
    Text,
    Volume,
)
from domain.enums import LineOfCoverage
from domain.errors import FieldProblem, ValidationFailed

# --- enums ---------------------------------------------------------------------------------------


class EmploymentStatus(StrEnum):
    FULL_TIME = "full-time"
    PART_TIME = "part-time"
    CONTRACT = "contract"
    DISABLED = "disabled"
    TERMINATED = "terminated"
    RETIRED = "retired"


class SalaryType(StrEnum):
    HOURLY = "hourly"
    SALARY = "salary"


class SalaryUnit(StrEnum):
    ANNUAL = "annual"
    MONTH = "month"
    SEMI_MONTHLY = "semi-monthly"
    WEEK = "week"
    HOUR = "hour"


class Sex(StrEnum):
    F = "F"
    M = "M"
    U = "U"
    X = "X"


class MaritalStatus(StrEnum):
    SINGLE = "single"
    MARRIED = "married"
    DOMESTIC_PARTNER = "domestic-partner"
    DIVORCED = "divorced"
    WIDOWED = "widowed"
    LEGALLY_SEPARATED = "legally-separated"


class EmailAddressType(StrEnum):
    HOME = "home"
    WORK = "work"


# The contract leaves these values out; they are the spec's (InboundMemberSnapshotPersonContact).
class PreferredContactMethod(StrEnum):
    MAIL = "mail"
    EMAIL = "email"
    HOME_PHONE = "home-phone"
    WORK_PHONE = "work-phone"
    OTHER = "other"


class TobaccoType(StrEnum):
    PIPE = "pipe"
    CIGARETTES = "cigarettes"
    CHEWING_TOBACCO = "chewing-tobacco"


class Relationship(StrEnum):
    SPOUSE = "spouse"
    CHILD = "child"
    DOMESTIC_PARTNER = "domestic-partner"
    GRANDCHILD = "grandchild"
    CIVIL_UNION = "civil-union"
    STEP_CHILD = "step-child"
    FOSTER_CHILD = "foster-child"
    ADOPTED_CHILD = "adopted-child"
    LEGAL_GUARDIANSHIP = "legal-guardianship"
    EX_SPOUSE = "ex-spouse"
    OTHER = "other"


class IndividualType(StrEnum):
    EMPLOYEE = "employee"
    DEPENDENT = "dependent"


class ProviderIdentificationCodeType(StrEnum):
    SERVICE_PROVIDER_NUMBER = "service_provider_number"
    NATIONAL_PROVIDER_IDENTIFIER = "national_provider_identifier"


class ProviderEntityIdentifierCode(StrEnum):
    PCP = "pcp"
    DENTAL_PCP = "dental_pcp"
    OBGYN = "obgyn"


class ProviderEntityType(StrEnum):
    PERSON = "person"
    NON_PERSON_ENTITY = "non_person_entity"


class PatientRelationshipCode(StrEnum):
    ESTABLISHED = "established"
    NOT_ESTABLISHED = "not_established"
    UNKNOWN = "unknown"


class CobraQualifyingEventReason(StrEnum):
    TERMINATION_OF_EMPLOYMENT = "termination_of_employment"
    REDUCTION_OF_WORK_HOURS = "reduction_of_work_hours"
    MEDICARE = "medicare"
    DEATH = "death"
    DIVORCE = "divorce"
    SEPARATION = "separation"
    INELIGIBLE_CHILD = "ineligible_child"
    BANKRUPTCY_OF_RETIREES_FORMER_EMPLOYER = "bankruptcy_of_retirees_former_employer"
    LAYOFF = "layoff"
    LEAVE_OF_ABSENCE = "leave_of_absence"


class EventType(StrEnum):
    COVERAGE = "coverage"
    DEMOGRAPHIC = "demographic"


class EventReason(StrEnum):
    ADOPTION = "adoption"
    BENEFIT_CLASS_CHANGE = "benefit_class_change"
    CHANGE_TO_PART_TIME = "change_to_part_time"
    CHANGE_TO_FULL_TIME = "change_to_full_time"
    COBRA_ENROLLMENT = "cobra_enrollment"
    COBRA_TERMINATION = "cobra_termination"
    COBRA_UPDATE_OTHER = "cobra_update_other"
    COURT_ORDER = "court_order"
    DEATH = "death"
    DEMOGRAPHIC_CHANGE = "demographic_change"
    DEPENDENT_OPEN_ENROLLMENT = "dependent_open_enrollment"
    DISABILITY_STATUS_CHANGE = "disability_status_change"
    DIVORCE = "divorce"
    ELIGIBILITY_CHANGE = "eligibility_change"
    FOSTER_CARE = "foster_care"
    IMMIGRATION_STATUS_CHANGE = "immigration_status_change"
    LEAVE_STATUS_CHANGE = "leave_status_change"
    LEGAL_GUARDIAN = "legal_guardian"
    LOST_COVERAGE = "lost_coverage"
    MARRIAGE = "marriage"
    MEDICARE = "medicare"
    MOVED = "moved"
    NEWBORN = "newborn"
    NEW_HIRE = "new_hire"
    OFFLINE_CHANGE = "offline_change"
    OPEN_ENROLLMENT = "open_enrollment"
    RATE_CHANGED = "rate_changed"
    REHIRE = "rehire"
    REINSTATEMENT = "reinstatement"
    RETIREMENT = "retirement"
    TERMINATION = "termination"


class OmittedCoveragePolicy(StrEnum):
    CONTINUE = "continue"
    REJECT = "reject"
    TERMINATE = "terminate"


class OmittedCoverageTerminationRule(StrEnum):
    CUSTOM = "custom"
    END_OF_CURRENT_MONTH = "end_of_current_month"
    END_OF_PRIOR_MONTH = "end_of_prior_month"


# --- field types ---------------------------------------------------------------------------------

# Strict, so a JSON number is not quietly taken for true. Texts, dates and numbers take their
# bounds (lengths, plausible ranges, no NUL) from domain.bounds.
_Flag = Annotated[bool, Field(strict=True)]


def _ssn(value: str) -> str:
    # The spec's pattern (^(?!000)[0-9]{3}(?!00)[0-9]{2}(?!0000)[0-9]{4}$) needs look-ahead, which
    # pydantic's regex engine lacks; this is the same test, and its message never echoes the value.
    if (
        len(value) != 9
        or not (value.isascii() and value.isdigit())
        or value[:3] == "000"
        or value[3:5] == "00"
        or value[5:] == "0000"
    ):
        raise PydanticCustomError(
            "ssn_format", "must be 9 digits without dashes, and no group of them all zeros"
        )
    return value


_Ssn = Annotated[str, AfterValidator(_ssn)]

# One pydantic error carrying every broken rule of a model, each as (relative path, reason);
# `_problems` unpacks it. Pydantic allows one error per validator, this keeps them all.
_RULES = "snapshot_rules"
_Broken: TypeAlias = list[tuple[tuple[int | str, ...], str]]


def _raise_if_broken(broken: _Broken) -> None:
    if broken:
        summary = "; ".join(f"{_path(*path)}: {reason}" for path, reason in broken)
        raise PydanticCustomError(_RULES, "{summary}", {"summary": summary, "broken": broken})


class _Schema(BaseModel):
    # hide_input_in_errors: pydantic's own message (str of a ValidationError) quotes no input
    # either, for callers that validate a model directly instead of through parse_snapshot.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


# --- employee and person -------------------------------------------------------------------------


class SnapshotAddress(Address):
    """The location address shape (domain.account.Address), refusing keys it does not know."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    street_one: Name
    street_two: Name | None = None
    city: Name
    county: Name | None = None


class Contact(_Schema):
    email_address: EmailText | None = None
    email_address_type: EmailAddressType | None = None
    home_phone: ShortText | None = None
    work_phone: ShortText | None = None
    preferred_language: ShortText | None = None
    preferred_method: PreferredContactMethod | None = None
    speaks_english: _Flag | None = None


# The contract names the `details` keys only; their shapes are the spec's.
class Tobacco(_Schema):
    user: _Flag | None = None
    types: list[TobaccoType] | None = Field(default=None, min_length=1, max_length=MAX_CHOICES)
    frequency: ShortText | None = None
    duration: ShortText | None = None


class Disability(_Schema):
    disabled: _Flag | None = None
    communication: _Flag | None = None
    reason: Text | None = None


class AmericanIndian(_Schema):
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    tribe: Name | None = None


class PersonDetails(_Schema):
    is_military: _Flag | None = None
    is_student: _Flag | None = None
    tobacco: Tobacco | None = None
    disability: Disability | None = None
    american_indian: AmericanIndian | None = None


class Person(_Schema):
    # repr=False keeps names, the date of birth and the SSN out of reprs, and so out of logs.
    first_name: RequiredName = Field(repr=False)
    last_name: RequiredName = Field(repr=False)
    middle_name: Name | None = Field(default=None, repr=False)
    suffix: ShortText | None = None
    date_of_birth: BirthDate = Field(repr=False)
    sex: Sex
    ssn: _Ssn | None = Field(default=None, repr=False)
    marital_status: MaritalStatus | None = None
    home_address: SnapshotAddress
    mailing_address: SnapshotAddress
    contact: Contact | None = None
    details: PersonDetails | None = None


class EmploymentDates(_Schema):
    hire_date: PlausibleDate
    full_time_start: PlausibleDate | None = None
    rehire: PlausibleDate | None = None
    retirement: PlausibleDate | None = None
    terminated: PlausibleDate | None = None


class Salary(_Schema):
    amount: Money | None = None
    type: SalaryType | None = None
    unit: SalaryUnit | None = None
    effective_date: PlausibleDate | None = None


class Employment(_Schema):
    employment_status: EmploymentStatus
    hours_worked: HoursWorked
    occupation: Name | None = None
    employment_dates: EmploymentDates
    salary: Salary | None = None


class Employee(_Schema):
    id: UUID | None = None  # Noyo's id; absent for a new member
    custom_individual_id: RequiredIdentifier | None = None  # the platform's id
    group_individual_id: RequiredIdentifier | None = None
    event_id: RequiredIdentifier | None = None
    classifications: Labels | None = None
    employment: Employment
    person: Person

    @model_validator(mode="after")
    def _new_member_has_platform_id(self) -> Self:
        if self.id is None and self.custom_individual_id is None:
            _raise_if_broken(
                [(("custom_individual_id",), "required for a new employee (one without id)")]
            )
        return self


class Dependent(_Schema):
    id: UUID | None = None
    custom_individual_id: RequiredIdentifier | None = None
    group_individual_id: RequiredIdentifier | None = None
    event_id: RequiredIdentifier | None = None
    person: Person
    relationship: Relationship

    @model_validator(mode="after")
    def _new_member_has_platform_id(self) -> Self:
        if self.id is None and self.custom_individual_id is None:
            _raise_if_broken(
                [(("custom_individual_id",), "required for a new dependent (one without id)")]
            )
        return self


# --- coverages -----------------------------------------------------------------------------------


class PrimaryCareProvider(_Schema):
    # The contract names only `providers`; the provider shape is the spec's.
    identification_code: RequiredIdentifier
    identification_code_type: ProviderIdentificationCodeType
    entity_identifier_code: ProviderEntityIdentifierCode | None = None
    entity_type: ProviderEntityType | None = None
    first_name: Name | None = None
    middle_name: Name | None = None
    last_name: Name | None = None
    organization_name: Name | None = None
    patient_relationship_code: PatientRelationshipCode | None = None


class PcpDetails(_Schema):
    providers: list[PrimaryCareProvider] = Field(max_length=MAX_PROVIDERS)


class EnrolledMember(_Schema):
    individual_type: IndividualType
    individual_id: UUID | None = None  # the `id` of the employee or a dependent
    custom_individual_id: RequiredIdentifier | None = None  # their `custom_individual_id`
    effective_start_date: PlausibleDate  # the original start
    effective_end_date: PlausibleEndDate  # 9999-12-31 while active
    latest_change_effective_date: PlausibleDate | None = None
    event_id: RequiredIdentifier | None = None
    volume: Volume | None = None  # whole dollars
    pcp_details: PcpDetails | None = None

    @model_validator(mode="after")
    def _names_someone_and_ends_after_start(self) -> Self:
        broken: _Broken = []
        if self.individual_id is None and self.custom_individual_id is None:
            broken.append((("individual_id",), "individual_id or custom_individual_id is required"))
        # An end the day before the start is how a coverage is waived or canceled.
        if (self.effective_start_date - self.effective_end_date).days > 1:
            broken.append(
                (
                    ("effective_end_date",),
                    "must not be before effective_start_date "
                    "(the day before it waives the coverage; no earlier)",
                )
            )
        _raise_if_broken(broken)
        return self


class CobraDetails(_Schema):
    cobra_enrolled: _Flag
    eligibility_start_date: PlausibleDate
    eligibility_end_date: PlausibleEndDate
    qualifying_event_date: PlausibleDate | None = None
    qualifying_event_reason: CobraQualifyingEventReason | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.eligibility_end_date < self.eligibility_start_date:
            _raise_if_broken(
                [(("eligibility_end_date",), "must not be before eligibility_start_date")]
            )
        return self


class Coverage(_Schema):
    carrier_id: UUID
    line_of_coverage: LineOfCoverage
    enrolled_members: list[EnrolledMember] = Field(max_length=MAX_ENROLLED)
    plan_id: UUID | None = None
    plan_name: RequiredName | None = None
    custom_plan_id: RequiredIdentifier | None = None
    signature_date: PlausibleDate | None = None
    carrier_config: FreeFormObject | None = None  # free-form: bill group, member group, ...
    cobra_details: CobraDetails | None = None

    @model_validator(mode="after")
    def _names_a_plan(self) -> Self:
        if self.plan_id is None and self.plan_name is None:
            reason = "plan_id or plan_name is required"
            if self.custom_plan_id is not None:
                reason += "; custom_plan_id alone does not name a plan"
            _raise_if_broken([(("plan_id",), reason)])
        return self


# --- events and omitted coverages ----------------------------------------------------------------


class Event(_Schema):
    id: RequiredIdentifier  # local to the payload
    date: PlausibleDate
    type: EventType
    reason: EventReason


class OmittedCoverageCustom(_Schema):
    effective_end_date: PlausibleEndDate | None = None


class OmittedCoverageHandling(_Schema):
    policy: OmittedCoveragePolicy = OmittedCoveragePolicy.REJECT
    termination_rule: OmittedCoverageTerminationRule | None = None
    custom: OmittedCoverageCustom | None = None

    @model_validator(mode="after")
    def _rule_has_what_it_needs(self) -> Self:
        broken: _Broken = []
        custom_date = self.custom.effective_end_date if self.custom is not None else None
        if self.policy is OmittedCoveragePolicy.TERMINATE and self.termination_rule is None:
            broken.append((("termination_rule",), "required when policy is terminate"))
        if self.termination_rule is OmittedCoverageTerminationRule.CUSTOM:
            if custom_date is None:
                broken.append(
                    (("custom", "effective_end_date"), "required when termination_rule is custom")
                )
        elif custom_date is not None:
            broken.append(
                (
                    ("custom", "effective_end_date"),
                    "only used when termination_rule is custom",
                )
            )
        _raise_if_broken(broken)
        return self


# --- the snapshot --------------------------------------------------------------------------------


class MemberSnapshot(_Schema):
    """`POST /groups/{group_id}/member_snapshots`: the employee's whole desired state."""

    snapshot_mode: Literal["current_open"]
    employee: Employee
    dependents: list[Dependent] = Field(default=[], max_length=MAX_DEPENDENTS)
    coverages: list[Coverage] = Field(default=[], max_length=MAX_COVERAGES)
    events: list[Event] = Field(default=[], max_length=MAX_EVENTS)
    omitted_coverage_handling: OmittedCoverageHandling = Field(
        default_factory=OmittedCoverageHandling
    )
    enable_member_auto_link: _Flag = False

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        _raise_if_broken(_reference_problems(self))
        return self


def parse_snapshot(data: Mapping[str, Any]) -> MemberSnapshot:
    """The snapshot in `data`, or ValidationFailed naming every refused field by its dotted path.

    The references between parts (event ids, enrolled members) are checked once every part has
    its shape: a payload with shape errors is refused with those first.
    """
    try:
        return MemberSnapshot.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
    # Raised outside the except block: pydantic's error, which carries the inputs, is not chained.
    raise ValidationFailed(problems)


class DuplicateDependent(ValueError):
    """Two dependents are one person by name and date of birth; the contract answers 400."""

    def __init__(self, pairs: list[tuple[int, int]]) -> None:
        self.pairs = pairs
        super().__init__(
            "; ".join(
                f"dependents {first} and {second} are the same person" for first, second in pairs
            )
            + " (same first name, last name and date of birth)"
        )


def check_duplicate_dependents(snapshot: MemberSnapshot) -> None:
    """Raise DuplicateDependent naming, by index, each dependent that repeats an earlier one.

    Names match regardless of case and surrounding spaces.
    """
    first_seen: dict[tuple[str, str, dt.date], int] = {}
    pairs: list[tuple[int, int]] = []
    for index, dependent in enumerate(snapshot.dependents):
        person = dependent.person
        key = (_same(person.first_name), _same(person.last_name), person.date_of_birth)
        if key in first_seen:
            pairs.append((first_seen[key], index))
        else:
            first_seen[key] = index
    if pairs:
        raise DuplicateDependent(pairs)


# --- helpers -------------------------------------------------------------------------------------


def _same(name: str) -> str:
    return name.strip().casefold()


def _reference_problems(snapshot: MemberSnapshot) -> _Broken:
    """Event ids and member ids that are repeated, or that point at nothing in the snapshot."""
    broken: _Broken = []

    event_ids: set[str] = set()
    for index, event in enumerate(snapshot.events):
        if event.id in event_ids:
            broken.append((("events", index, "id"), "repeats an earlier event's id"))
        event_ids.add(event.id)

    def event_exists(path: tuple[int | str, ...], event_id: str | None) -> None:
        if event_id is not None and event_id not in event_ids:
            broken.append(((*path, "event_id"), "names no event in events"))

    # Every person of the snapshot, by path and type; their ids as ("id" | "custom_individual_id",
    # value) keys, each naming one person.
    people: list[tuple[tuple[int | str, ...], IndividualType, Employee | Dependent]] = [
        (("employee",), IndividualType.EMPLOYEE, snapshot.employee),
        *(
            (("dependents", index), IndividualType.DEPENDENT, dependent)
            for index, dependent in enumerate(snapshot.dependents)
        ),
    ]
    known: dict[tuple[str, str], int] = {}
    for number, (path, _, person) in enumerate(people):
        for key in _keys(person.id, person.custom_individual_id):
            if key in known:
                other = _path(*people[known[key]][0])
                broken.append(((*path, key[0]), f"repeats the {key[0]} of {other}"))
            else:
                known[key] = number

    event_exists(("employee",), snapshot.employee.event_id)
    for index, dependent in enumerate(snapshot.dependents):
        event_exists(("dependents", index), dependent.event_id)

    for c_index, coverage in enumerate(snapshot.coverages):
        for m_index, enrolled in enumerate(coverage.enrolled_members):
            at: tuple[int | str, ...] = ("coverages", c_index, "enrolled_members", m_index)
            event_exists(at, enrolled.event_id)
            found: list[int] = []
            for key in _keys(enrolled.individual_id, enrolled.custom_individual_id):
                field = "individual_id" if key[0] == "id" else key[0]
                if key in known:
                    found.append(known[key])
                else:
                    broken.append(
                        (
                            (*at, field),
                            "names neither the employee nor a dependent of this snapshot",
                        )
                    )
            if len(set(found)) > 1:
                broken.append(
                    (
                        (*at, "custom_individual_id"),
                        "names another person than individual_id",
                    )
                )
            elif found and people[found[0]][1] is not enrolled.individual_type:
                named = _path(*people[found[0]][0])
                broken.append(
                    (
                        (*at, "individual_type"),
                        f"is {enrolled.individual_type.value}, but the member named is {named}",
                    )
                )
    return broken


def _problems(exc: ValidationError) -> list[FieldProblem]:
    """Pydantic's errors as dotted paths and reasons, each broken rule of a model on its own."""
    problems: list[FieldProblem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == _RULES:
            broken: _Broken = error.get("ctx", {})["broken"]
            problems += [FieldProblem(_path(*loc, *path), reason) for path, reason in broken]
        else:
            # Pydantic's messages name the rule, never the input (kept apart, in error["input"]).
            problems.append(FieldProblem(_path(*loc) or "snapshot", error["msg"]))
    return problems


def _keys(noyo_id: UUID | None, custom_id: str | None) -> list[tuple[str, str]]:
    keys = [] if noyo_id is None else [("id", str(noyo_id))]
    return keys if custom_id is None else [*keys, ("custom_individual_id", custom_id)]


def _path(*parts: int | str) -> str:
    return ".".join(str(part) for part in parts)
