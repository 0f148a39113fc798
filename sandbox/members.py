"""Members at the sandbox carriers: what each holds, how it takes a member transaction, and when.

A transaction's body is the whole member as the platform wants the carrier to hold it (the
engine's `CarrierMember` JSON). The carrier compares it with what it holds for that employee and
either applies it (`completed`), applies it through its slow manual path (`managed`, then
`completed`), or refuses it (`failed`, with a reason; what it holds is unchanged).

Timing is lazy, from timestamps only: nothing runs in the background. Each employee's
transactions form one queue, taken in receipt order: a transaction starts (`processing`) when it
is received or when the one before it finished, whichever is later, and finishes `delay` later
(`delay * managed_factor` on the managed path, which it enters `delay` after its start). Every
read and write first finishes whatever is due, so a later transaction is always applied after an
earlier one.

A transaction is classified when it is received, against the member as the earlier transactions
of the queue sent it once they are done (all of them are already classified, so that projection
is exact): the outcome is decided at receipt and only revealed as time passes.

When a transaction completes, the carrier holds the member as *it* applies it, which may differ
from what it was sent (seed 003, Principal; seed 004, Unum), so round-trip confirmation has
realistic differences to find; see `apply_carrier_behaviour`. Classification still compares
what the carrier was sent: the engine resending its own full amounts and dates is no change.

Nothing here logs, and no reason echoes a value: bodies hold PII.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from domain.plans import WaitingPeriod, is_voluntary
from sandbox.effective_dates import OpenEnrollment, principal_effective_date, unum_eoi_pending
from sandbox.errors import SandboxError

Json = dict[str, Any]

OPEN_END = date(9999, 12, 31)


class CarrierProcessingStatus(StrEnum):
    """Where the sandbox carrier is with a member transaction it received (its own words); the
    engine's contract statuses are `domain.member_changes.TransactionStatus`."""

    ACCEPTED = "accepted"
    PROCESSING = "processing"
    MANAGED = "managed"
    COMPLETED = "completed"
    FAILED = "failed"


class ProcessingSettings(BaseModel):
    """How fast the carriers process; `PUT /_sandbox/processing` replaces them whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delay_seconds: float = Field(default=2.0, ge=0.0)
    # The managed (manual) path takes this many times the delay; never faster than the normal one.
    managed_factor: float = Field(default=5.0, ge=1.0)


class UnknownRecord(SandboxError):
    """An unknown member transaction or member of a group."""

    status_code = 404


# --- the body: the engine's CarrierMember JSON, read leniently (the carrier keeps it whole) -------


class _Body(BaseModel):
    # Fields the carrier does not compare ride along untouched and are answered back as sent.
    model_config = ConfigDict(extra="allow")


class EnrolledMember(_Body):
    individual_id: UUID
    individual_type: str
    effective_start_date: date
    effective_end_date: date
    volume: int | None = None

    def active(self, today: date) -> bool:
        return self.effective_end_date >= self.effective_start_date and (
            self.effective_end_date == OPEN_END or self.effective_end_date >= today
        )


class CoverageEvent(_Body):
    """Why a coverage changed (the engine's `MemberEvent`): what the carrier dates an add by."""

    reason: str
    date: dt.date


class MemberCoverage(_Body):
    line_of_coverage: str
    plan_id: UUID
    carrier_plan_id: str
    carrier_config: Json = {}
    enrolled_members: list[EnrolledMember]
    event: CoverageEvent | None = None
    # COBRA continuation (the engine's `CarrierCobra`): kept whole and answered back as sent.
    cobra: Json | None = None


class MemberPerson(_Body):
    id: UUID
    person: Json = Field(repr=False)


class MemberEmployee(MemberPerson):
    employment: Json = Field(repr=False)


class MemberDependent(MemberPerson):
    relationship: str


class Member(_Body):
    employee: MemberEmployee
    dependents: list[MemberDependent] = []
    coverages: list[MemberCoverage] = []

    def enrollments(self) -> dict[tuple[UUID, UUID], EnrolledMember]:
        """Each (plan, individual) enrollment."""
        return {
            (coverage.plan_id, enrolled.individual_id): enrolled
            for coverage in self.coverages
            for enrolled in coverage.enrolled_members
        }

    def terminated(self, today: date) -> bool:
        """Employment terminated, or coverages held and none of them active any more."""
        if self.employee.employment.get("employment_status") == "terminated":
            return True
        enrolled = list(self.enrollments().values())
        return bool(enrolled) and not any(e.active(today) for e in enrolled)

    def cobra_coverages(self) -> list[int]:
        """The indexes of the coverages sent as COBRA continuation."""
        return [index for index, c in enumerate(self.coverages) if c.cobra is not None]

    def on_cobra(self, today: date) -> bool:
        """Some COBRA continuation coverage is still active."""
        return any(
            enrolled.active(today)
            for index in self.cobra_coverages()
            for enrolled in self.coverages[index].enrolled_members
        )

    def wire(self) -> Json:
        """The member as it was sent."""
        return self.model_dump(mode="json", exclude_unset=True)


class MemberTransactionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transaction_id: str = Field(min_length=1)
    transaction_type: str = Field(min_length=1)
    member: Member


# --- classification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    managed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()

    @property
    def reason(self) -> str | None:
        if self.failed:
            return "the carrier cannot apply this change: " + "; ".join(self.failed)
        if self.managed:
            return "needs manual handling at the carrier: " + "; ".join(self.managed)
        return None


def classify(carrier: str, held: Member | None, incoming: Member, today: date) -> Classification:
    """How `carrier` takes `incoming` when it holds `held` (None: a member new to the carrier)."""
    rules = _RULES.get(carrier)
    if held is None or rules is None:
        return Classification()
    return rules(held, incoming, today)


def _common_dependents(
    held: Member, incoming: Member
) -> Iterator[tuple[MemberDependent, MemberDependent]]:
    before = {d.id: d for d in held.dependents}
    for dependent in incoming.dependents:
        if dependent.id in before:
            yield before[dependent.id], dependent


def _common_coverages(
    held: Member, incoming: Member
) -> Iterator[tuple[MemberCoverage, MemberCoverage]]:
    before = {c.plan_id: c for c in held.coverages}
    for coverage in incoming.coverages:
        if coverage.plan_id in before:
            yield before[coverage.plan_id], coverage


def _person_pairs(
    held: Member, incoming: Member, *, employee: bool = True
) -> list[tuple[MemberPerson, MemberPerson]]:
    """(held, incoming) of the employee (unless not wanted) and of each dependent in both."""
    pairs: list[tuple[MemberPerson, MemberPerson]] = list(_common_dependents(held, incoming))
    return [(held.employee, incoming.employee), *pairs] if employee else pairs


def _differ(pairs: list[tuple[MemberPerson, MemberPerson]], *fields: str) -> bool:
    """Whether any pair differs in one of these person fields (in any, when none are named)."""
    return any(
        any(old.person.get(f) != new.person.get(f) for f in fields)
        if fields
        else old.person != new.person
        for old, new in pairs
    )


def _hire_date(member: Member) -> Any:
    dates = member.employee.employment.get("employment_dates") or {}
    return dates.get("hire_date")


def _terminated_member(member: Member, today: date) -> bool:
    """A terminated member for Principal's failed changes: terminated, and not continuing any
    coverage under COBRA (a former employee on COBRA is still an active covered member there)."""
    return member.terminated(today) and not member.on_cobra(today)


def _principal(held: Member, incoming: Member, today: date) -> Classification:
    """Principal (seed 003): some changes it cannot apply (failed, which wins over managed);
    others it applies through its manual path (managed)."""
    failed = _principal_failed(held, incoming, today)
    if failed:
        return Classification(failed=tuple(failed))
    managed = [change for change, made in _PRINCIPAL_MANAGED_CHANGES if made(held, incoming, today)]
    return Classification(managed=tuple(managed))


def _principal_failed(held: Member, incoming: Member, today: date) -> list[str]:
    """The changes Principal refuses. A member on COBRA is not terminated for them: their
    demographics change, and their COBRA coverage ends, as any active member's."""
    failed: list[str] = []
    if _differ(_person_pairs(held, incoming, employee=False), "home_address", "mailing_address"):
        failed.append("dependent address change")
    if _terminated_member(held, today):
        if _removes_active_coverage(held, incoming, today):
            failed.append("coverage removal for a terminated member")
        # A reinstatement is handled (managed) with whatever it changes; a member who stays
        # terminated cannot have demographics changed.
        if _terminated_member(incoming, today) and _differ(_person_pairs(held, incoming)):
            failed.append("demographic change for a terminated member")
    return failed


def _removes_active_coverage(held: Member, incoming: Member, today: date) -> bool:
    """Ending (or dropping) coverage the carrier still holds as active."""
    before, after = held.enrollments(), incoming.enrollments()
    return any(
        key not in after or after[key].effective_end_date < enrolled.effective_end_date
        for key, enrolled in before.items()
        if enrolled.active(today)
    )


# Principal's managed changes, each (reason, whether `incoming` makes it over `held`), in the
# order the reasons are listed.
_Change = Callable[[Member, Member, date], bool]


def _gender_changed(held: Member, incoming: Member, today: date) -> bool:
    return _differ(_person_pairs(held, incoming), "sex")


def _effective_date_changed(held: Member, incoming: Member, today: date) -> bool:
    before, after = held.enrollments(), incoming.enrollments()
    return any(
        after[key].effective_start_date != enrolled.effective_start_date
        for key, enrolled in before.items()
        if key in after
    )


def _hire_date_changed(held: Member, incoming: Member, today: date) -> bool:
    return bool(_hire_date(held) != _hire_date(incoming))


def _config_changed(config_field: str) -> _Change:
    """Whether a coverage held and sent again names another `config_field`."""

    def changed(held: Member, incoming: Member, today: date) -> bool:
        return any(
            old.carrier_config.get(config_field) != new.carrier_config.get(config_field)
            for old, new in _common_coverages(held, incoming)
        )

    return changed


def _reinstated(held: Member, incoming: Member, today: date) -> bool:
    return held.terminated(today) and not incoming.terminated(today)


def _dependent_reinstated(held: Member, incoming: Member, today: date) -> bool:
    """A dependent all of whose held enrollments had ended is enrolled again."""
    before, after = held.enrollments(), incoming.enrollments()
    for dependent in incoming.dependents:
        had = [e for (_, who), e in before.items() if who == dependent.id]
        has = [e for (_, who), e in after.items() if who == dependent.id]
        ended = bool(had) and not any(e.active(today) for e in had)
        if ended and any(e.active(today) for e in has):
            return True
    return False


def _life_volume_changed(held: Member, incoming: Member, today: date) -> bool:
    """A life or AD&D enrollment held and sent again with another volume."""
    before, after = held.enrollments(), incoming.enrollments()
    lines = {coverage.plan_id: coverage.line_of_coverage for coverage in incoming.coverages}
    return any(
        after[key].volume != enrolled.volume
        for key, enrolled in before.items()
        if key in after and lines[key[0]] in ("life", "add")
    )


_PRINCIPAL_MANAGED_CHANGES: tuple[tuple[str, _Change], ...] = (
    ("gender change", _gender_changed),
    ("effective date change", _effective_date_changed),
    ("hire date change", _hire_date_changed),
    ("member group change", _config_changed("member_group")),
    ("bill group change", _config_changed("bill_group")),
    ("reinstatement", _reinstated),
    ("dependent reinstatement", _dependent_reinstated),
    ("volume change", _life_volume_changed),
)


def _unum(held: Member, incoming: Member, today: date) -> Classification:
    dependents = _person_pairs(held, incoming, employee=False)
    managed = [
        f"dependent {name} change"
        for name in ("first_name", "date_of_birth")
        if _differ(dependents, name)
    ]
    return Classification(managed=tuple(managed))


_RULES: dict[str, Callable[[Member, Member, date], Classification]] = {
    "principal": _principal,
    "unum": _unum,
}


# --- what the carrier holds: its own behaviours, applied when a transaction completes -------------

CHILD_RELATIONSHIPS = frozenset({"child", "step-child", "foster-child", "adopted-child"})
AGE_REDUCTION_AGE = 65
AGE_REDUCTION_PERCENT = 35

EnrollmentKey = tuple[UUID, UUID]  # (engine plan id, individual id)
# The group's account as the carrier reports it now: (carrier slug, carrier group ID, today).
AccountLookup = Callable[[str, str, date], Json]

_WAITING_PERIODS: TypeAdapter[list[WaitingPeriod]] = TypeAdapter(list[WaitingPeriod])


class Note(StrEnum):
    """What the carrier held differently from what it was sent (names only, never values)."""

    AGE_REDUCTION = "age_reduction"
    CHILD_CRITICAL_ILLNESS = "child_critical_illness"
    EFFECTIVE_DATE = "effective_date"
    EOI_PENDING = "eoi_pending"


@dataclass(frozen=True)
class PlanFacts:
    """What the carrier's behaviours need to know of one of the group's plans."""

    line_of_coverage: str
    voluntary: bool
    waiting_periods: tuple[WaitingPeriod, ...]
    open_enrollment: OpenEnrollment | None


def plan_facts(account: Json) -> dict[str, PlanFacts]:
    """The account's plans by carrier plan id.

    Voluntary: the plan's `voluntary` flag (dental and vision plans carry one); a plan without
    it is voluntary when its `plan_type` is `voluntary` (life, disability and the other lines
    carry `basic` or `voluntary`). The open-enrollment dates are the plan's group enrollment's.
    """
    enrollments = {e.get("carrier_enrollment_id"): e for e in account.get("group_enrollments", [])}
    facts: dict[str, PlanFacts] = {}
    for plan in account.get("plans", []):
        voluntary = is_voluntary(plan)
        try:
            periods = tuple(_WAITING_PERIODS.validate_python(plan.get("waiting_periods", [])))
        except ValidationError:
            periods = ()
        facts[plan["carrier_plan_id"]] = PlanFacts(
            line_of_coverage=plan["line_of_coverage"],
            voluntary=voluntary,
            waiting_periods=periods,
            open_enrollment=_open_enrollment(enrollments.get(plan.get("carrier_enrollment_id"))),
        )
    return facts


def _open_enrollment(enrollment: Json | None) -> OpenEnrollment | None:
    if enrollment is None:
        return None
    dates = [
        _as_date(enrollment.get(name))
        for name in (
            "open_enrollment_start_date",
            "open_enrollment_end_date",
            "open_enrollment_renewal_date",
        )
    ]
    start, end, renewal = dates
    if start is None or end is None or renewal is None:
        return None
    return OpenEnrollment(start_date=start, end_date=end, renewal_date=renewal)


@dataclass(frozen=True)
class CarrierDecision:
    """The carrier's own start for an enrollment it added; kept while the enrollment is sent.

    `held_start` None: pending EOI, the enrollment is not held. A decided date holds while the
    engine keeps sending the same start; a different start is a (managed) effective date change
    the carrier then applies as sent. EOI stays pending while the enrollment is sent (the
    sandbox never receives the evidence).
    """

    sent_start: date
    held_start: date | None


@dataclass(frozen=True)
class Applied:
    held: Member
    decisions: dict[EnrollmentKey, CarrierDecision]
    notes: tuple[str, ...]


def apply_carrier_behaviour(
    carrier: str,
    received: Member,
    *,
    previous: Member | None,
    decisions: Mapping[EnrollmentKey, CarrierDecision],
    plans: Mapping[str, PlanFacts],
    submitted: date,
    today: date,
) -> Applied:
    """The member as `carrier` holds it once it has applied `received`.

    `previous` is the body of the last transaction it applied (None: a member new to it) and
    `decisions` the dates it decided then; `plans` the group's plans by carrier plan id;
    `submitted` the day the transaction was received, `today` the day it completes.

    Principal (seed 003):
    - an employee aged 65 or more today holds basic (not voluntary) life at 65% of the volume
      sent, rounded half up to whole dollars ("35% benefit reduction": 50,000 -> 32,500);
    - children (child, step-, foster-, adopted-child) are not held in critical illness ("will
      not be reflected as a separate individual enrollment");
    - an added enrollment (not in `previous`) whose coverage carries an event gets Principal's
      own effective date (`principal_effective_date`), or is not held while EOI is pending.
    Unum (seed 004): holds the volumes and dates sent; added voluntary life elected late is
    not held while EOI is pending (`unum_eoi_pending`).
    Plans not in `plans` get none of the plan-based behaviours (age reduction, dates, EOI).
    """
    decided = _decide(carrier, received, previous, decisions, plans, submitted)
    holding = _Holding.of(carrier, received, decided, today)
    body = received.wire()
    held_coverages = [
        held
        for coverage, wire in zip(received.coverages, body.get("coverages", []), strict=True)
        if (held := holding.coverage(coverage, wire, plans.get(coverage.carrier_plan_id)))
        is not None
    ]
    if "coverages" in body:
        body["coverages"] = held_coverages
    return Applied(
        held=Member.model_validate(body),
        decisions=decided,
        notes=tuple(note.value for note in Note if note in holding.notes),
    )


@dataclass
class _Holding:
    """How the carrier holds each enrollment of one member it applies, and the notes of what
    it held differently from what it was sent."""

    principal: bool
    decided: Mapping[EnrollmentKey, CarrierDecision]
    relationships: Mapping[UUID, str]
    employee_id: UUID
    # Principal, and the employee is 65 or more today.
    reduce_life: bool
    notes: set[Note] = field(default_factory=set)

    @classmethod
    def of(
        cls,
        carrier: str,
        received: Member,
        decided: Mapping[EnrollmentKey, CarrierDecision],
        today: date,
    ) -> _Holding:
        principal = carrier == "principal"
        age = _age(received.employee.person.get("date_of_birth"), today)
        return cls(
            principal=principal,
            decided=decided,
            relationships={d.id: d.relationship for d in received.dependents},
            employee_id=received.employee.id,
            reduce_life=principal and age is not None and age >= AGE_REDUCTION_AGE,
        )

    def coverage(self, coverage: MemberCoverage, wire: Json, plan: PlanFacts | None) -> Json | None:
        """The coverage as held; None when none of its enrollments is (then it is not held)."""
        kept = [
            held
            for enrolled, enrolled_wire in zip(
                coverage.enrolled_members, wire["enrolled_members"], strict=True
            )
            if (held := self._enrollment(coverage, plan, enrolled, enrolled_wire)) is not None
        ]
        return {**wire, "enrolled_members": kept} if kept else None

    def _enrollment(
        self,
        coverage: MemberCoverage,
        plan: PlanFacts | None,
        enrolled: EnrolledMember,
        wire: Json,
    ) -> Json | None:
        """The enrollment as held; None when the carrier does not hold it."""
        decision = self.decided.get((coverage.plan_id, enrolled.individual_id))
        if decision is not None and decision.held_start is None:
            self.notes.add(Note.EOI_PENDING)
            return None
        if self._child_in_critical_illness(coverage, enrolled):
            self.notes.add(Note.CHILD_CRITICAL_ILLNESS)
            return None
        held = dict(wire)
        if decision is not None and decision.held_start != enrolled.effective_start_date:
            assert decision.held_start is not None
            held["effective_start_date"] = decision.held_start.isoformat()
            self.notes.add(Note.EFFECTIVE_DATE)
        if self._age_reduces(coverage, plan, enrolled):
            assert enrolled.volume is not None
            reduced = age_reduced(enrolled.volume)
            if reduced != enrolled.volume:
                held["volume"] = reduced
                self.notes.add(Note.AGE_REDUCTION)
        return held

    def _child_in_critical_illness(
        self, coverage: MemberCoverage, enrolled: EnrolledMember
    ) -> bool:
        return (
            self.principal
            and coverage.line_of_coverage == "critical_illness"
            and self.relationships.get(enrolled.individual_id) in CHILD_RELATIONSHIPS
        )

    def _age_reduces(
        self, coverage: MemberCoverage, plan: PlanFacts | None, enrolled: EnrolledMember
    ) -> bool:
        """The employee's own basic life volume, when the employee is of age."""
        return (
            self.reduce_life
            and coverage.line_of_coverage == "life"
            and plan is not None
            and not plan.voluntary
            and enrolled.individual_id == self.employee_id
            and enrolled.volume is not None
        )


def age_reduced(volume: int) -> int:
    """`volume` reduced by 35%, rounded half up to whole dollars."""
    return (volume * (100 - AGE_REDUCTION_PERCENT) + 50) // 100


def _decide(
    carrier: str,
    received: Member,
    previous: Member | None,
    decisions: Mapping[EnrollmentKey, CarrierDecision],
    plans: Mapping[str, PlanFacts],
    submitted: date,
) -> dict[EnrollmentKey, CarrierDecision]:
    """The carrier's decisions for the enrollments `received` holds: kept ones, and new ones
    for the enrollments it adds whose coverage carries an event and names a known plan."""
    before = previous.enrollments() if previous is not None else {}
    hire_date = _as_date(_hire_date(received))
    decided: dict[EnrollmentKey, CarrierDecision] = {}
    for coverage in received.coverages:
        plan = plans.get(coverage.carrier_plan_id)
        for enrolled in coverage.enrolled_members:
            key = (coverage.plan_id, enrolled.individual_id)
            sent = enrolled.effective_start_date
            prior = decisions.get(key)
            if prior is not None and (prior.held_start is None or prior.sent_start == sent):
                decided[key] = prior
                continue
            if key in before or coverage.event is None or plan is None:
                continue
            held_start = _carrier_start(carrier, plan, coverage.event, sent, submitted, hire_date)
            if held_start != sent:
                decided[key] = CarrierDecision(sent_start=sent, held_start=held_start)
    return decided


def _carrier_start(
    carrier: str,
    plan: PlanFacts,
    event: CoverageEvent,
    sent: date,
    submitted: date,
    hire_date: date | None,
) -> date | None:
    """The start `carrier` holds for an added enrollment sent with `sent`; None: pending EOI."""
    if carrier == "principal" and plan.open_enrollment is not None:
        return principal_effective_date(
            line_of_coverage=plan.line_of_coverage,
            voluntary=plan.voluntary,
            waiting_periods=plan.waiting_periods,
            reason=event.reason,
            event_date=event.date,
            submitted=submitted,
            hire_date=hire_date,
            open_enrollment=plan.open_enrollment,
        )
    if carrier == "unum" and unum_eoi_pending(
        line_of_coverage=plan.line_of_coverage,
        voluntary=plan.voluntary,
        waiting_periods=plan.waiting_periods,
        reason=event.reason,
        event_date=event.date,
        submitted=submitted,
        hire_date=hire_date,
    ):
        return None
    return sent


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _age(date_of_birth: Any, today: date) -> int | None:
    born = _as_date(date_of_birth)
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# --- transactions and the store ------------------------------------------------------------------

MemberKey = tuple[str, str, UUID]  # (carrier slug, carrier group ID, employee id)


@dataclass
class Transaction:
    id: str
    transaction_id: str
    transaction_type: str
    key: MemberKey
    member: Member
    received_at: datetime
    classification: Classification
    # Set once finished; until then the schedule follows the current settings.
    started_at: datetime | None = None
    managed_at: datetime | None = None
    finished_at: datetime | None = None
    # What the carrier held differently from the body (`Note` values), once completed.
    notes: tuple[str, ...] = ()

    @property
    def final_status(self) -> CarrierProcessingStatus:
        return (
            CarrierProcessingStatus.FAILED
            if self.classification.failed
            else CarrierProcessingStatus.COMPLETED
        )

    def receipt(self) -> Json:
        return {
            "id": self.id,
            "transaction_id": self.transaction_id,
            "status": CarrierProcessingStatus.ACCEPTED.value,
            "received_at": self.received_at.isoformat(),
        }


@dataclass(frozen=True)
class _Schedule:
    started_at: datetime
    managed_at: datetime | None
    finished_at: datetime


@dataclass
class MemberTransactionCounts:
    received: int = 0
    completed: int = 0
    failed: int = 0
    managed: int = 0  # received transactions routed to the managed path


@dataclass
class _Queue:
    transactions: list[Transaction] = field(default_factory=list)
    done: int = 0  # how many, from the front, are finished


class MemberStore:
    """Not locked itself: the sandbox state holds its one lock around every call."""

    def __init__(
        self, settings: ProcessingSettings, *, accounts: AccountLookup | None = None
    ) -> None:
        self.settings = settings
        self.counts = MemberTransactionCounts()
        # The group's plans, for the carrier's behaviours; without it only the plan-free ones.
        self._accounts = accounts
        self._queues: dict[MemberKey, _Queue] = {}
        self._pending: set[MemberKey] = set()
        self._held: dict[MemberKey, Member] = {}  # after every finished transaction
        # The body of the last transaction applied, and the carrier's own dates decided so far.
        self._received: dict[MemberKey, Member] = {}
        self._decisions: dict[MemberKey, dict[EnrollmentKey, CarrierDecision]] = {}
        self._projected: dict[MemberKey, Member] = {}  # after every received transaction
        self._by_id: dict[tuple[str, str, str], Transaction] = {}
        self._by_transaction_id: dict[tuple[str, str, str], list[Transaction]] = {}

    def seen(self, carrier: str, carrier_group_id: str, transaction_id: str) -> bool:
        return (carrier, carrier_group_id, transaction_id) in self._by_transaction_id

    def receive(
        self,
        carrier: str,
        carrier_group_id: str,
        request: MemberTransactionRequest,
        now: datetime,
    ) -> Transaction:
        key: MemberKey = (carrier, carrier_group_id, request.member.employee.id)
        self._advance(key, now)
        classification = classify(carrier, self._projected.get(key), request.member, now.date())
        if not classification.failed:
            self._projected[key] = request.member
        transaction = Transaction(
            id=str(uuid.uuid4()),
            transaction_id=request.transaction_id,
            transaction_type=request.transaction_type,
            key=key,
            member=request.member,
            received_at=now,
            classification=classification,
        )
        self._queues.setdefault(key, _Queue()).transactions.append(transaction)
        self._pending.add(key)
        self._by_id[(carrier, carrier_group_id, transaction.id)] = transaction
        self._by_transaction_id.setdefault(
            (carrier, carrier_group_id, request.transaction_id), []
        ).append(transaction)
        self.counts.received += 1
        if classification.managed and not classification.failed:
            self.counts.managed += 1
        return transaction

    def advance(self, now: datetime) -> None:
        """Finish, in receipt order per member, every transaction due by `now`."""
        for key in list(self._pending):
            self._advance(key, now)

    def _advance(self, key: MemberKey, now: datetime) -> None:
        """Finish the member's transactions due by `now` (each queue is independent)."""
        if key in self._pending:
            queue = self._queues[key]
            for transaction, schedule in self._schedule(queue):
                if schedule.finished_at > now:
                    break
                transaction.started_at = schedule.started_at
                transaction.managed_at = schedule.managed_at
                transaction.finished_at = schedule.finished_at
                queue.done += 1
                if transaction.classification.failed:
                    self.counts.failed += 1
                else:
                    self._complete(key, transaction)
                    self.counts.completed += 1
            if queue.done == len(queue.transactions):
                self._pending.discard(key)

    def _complete(self, key: MemberKey, transaction: Transaction) -> None:
        """Hold the member as the carrier applies the (finished, not failed) transaction."""
        assert transaction.finished_at is not None
        carrier, carrier_group_id, _ = key
        today = transaction.finished_at.date()
        applied = apply_carrier_behaviour(
            carrier,
            transaction.member,
            previous=self._received.get(key),
            decisions=self._decisions.get(key, {}),
            plans=self._plans(carrier, carrier_group_id, today),
            submitted=transaction.received_at.date(),
            today=today,
        )
        self._held[key] = applied.held
        self._received[key] = transaction.member
        self._decisions[key] = applied.decisions
        transaction.notes = applied.notes

    def transaction(self, carrier: str, carrier_group_id: str, id: str, now: datetime) -> Json:
        transaction = self._by_id.get((carrier, carrier_group_id, id))
        if transaction is None:
            raise UnknownRecord("no member transaction with this id at this group")
        self._advance(transaction.key, now)
        return self._view(transaction, now)

    def transactions(self, transaction_id: str, now: datetime) -> list[Json]:
        """Every carrier transaction made for one engine transaction id, in receipt order."""
        found = [
            t
            for (_, _, tid), ts in self._by_transaction_id.items()
            if tid == transaction_id
            for t in ts
        ]
        found.sort(key=lambda t: t.received_at)
        for key in {t.key for t in found}:
            self._advance(key, now)
        return [
            {"carrier": t.key[0], "carrier_group_id": t.key[1], **self._view(t, now)} for t in found
        ]

    def _plans(self, carrier: str, carrier_group_id: str, today: date) -> dict[str, PlanFacts]:
        accounts = self._accounts
        return plan_facts(accounts(carrier, carrier_group_id, today)) if accounts else {}

    def complete_eoi(
        self, carrier: str, carrier_group_id: str, employee_id: UUID, now: datetime
    ) -> Json:
        """The member has submitted evidence of insurability: every enrollment pending it is
        held from now on, from the start it was sent; answers the member as now held.

        Seed 003: "the correct coverage will not be visible until the member has submitted
        EOI"; the seed gives no other date for it, so the one sent stands. Nothing pending:
        nothing changes.
        """
        key: MemberKey = (carrier, carrier_group_id, employee_id)
        self._advance(key, now)
        received = self._received.get(key)
        if received is None:
            raise UnknownRecord("no member with this id at this group")
        decisions = {
            enrollment: CarrierDecision(decision.sent_start, decision.sent_start)
            if decision.held_start is None
            else decision
            for enrollment, decision in self._decisions.get(key, {}).items()
        }
        # Applied again over itself: no enrollment is new, so only the decisions change.
        applied = apply_carrier_behaviour(
            carrier,
            received,
            previous=received,
            decisions=decisions,
            plans=self._plans(carrier, carrier_group_id, now.date()),
            submitted=now.date(),
            today=now.date(),
        )
        self._held[key] = applied.held
        self._decisions[key] = applied.decisions
        return self.member(carrier, carrier_group_id, employee_id, now)

    def holds(self, carrier: str, carrier_group_id: str, employee_id: UUID) -> bool:
        """Some transaction of the member has completed (`member` answers it)."""
        return (carrier, carrier_group_id, employee_id) in self._held

    def held_ids(self, carrier: str, carrier_group_id: str, now: datetime) -> list[UUID]:
        """The employees of the group the carrier holds from transactions, in id order."""
        self.advance(now)
        return sorted(
            employee
            for slug, group, employee in self._held
            if slug == carrier and group == carrier_group_id
        )

    def member(self, carrier: str, carrier_group_id: str, employee_id: UUID, now: datetime) -> Json:
        key: MemberKey = (carrier, carrier_group_id, employee_id)
        self._advance(key, now)
        held = self._held.get(key)
        if held is None:
            raise UnknownRecord("no member with this id at this group")
        return {**held.wire(), "terminated": held.terminated(now.date())}

    def _schedule(self, queue: _Queue) -> Iterator[tuple[Transaction, _Schedule]]:
        """The unfinished transactions of a queue with when each starts, is managed, finishes."""
        delay = timedelta(seconds=self.settings.delay_seconds)
        previous = queue.transactions[queue.done - 1].finished_at if queue.done else None
        for transaction in queue.transactions[queue.done :]:
            start = transaction.received_at
            if previous is not None and previous > start:
                start = previous
            classification = transaction.classification
            if classification.managed and not classification.failed:
                schedule = _Schedule(
                    start, start + delay, start + delay * self.settings.managed_factor
                )
            else:
                schedule = _Schedule(start, None, start + delay)
            yield transaction, schedule
            previous = schedule.finished_at

    def _view(self, transaction: Transaction, now: datetime) -> Json:
        if transaction.finished_at is not None:
            assert transaction.started_at is not None
            schedule = _Schedule(
                transaction.started_at, transaction.managed_at, transaction.finished_at
            )
        else:
            queue = self._queues[transaction.key]
            schedule = next(s for t, s in self._schedule(queue) if t is transaction)
        finished = transaction.finished_at is not None
        steps: list[tuple[CarrierProcessingStatus, datetime]] = [
            (CarrierProcessingStatus.ACCEPTED, transaction.received_at),
            (CarrierProcessingStatus.PROCESSING, schedule.started_at),
        ]
        if schedule.managed_at is not None:
            steps.append((CarrierProcessingStatus.MANAGED, schedule.managed_at))
        steps.append((transaction.final_status, schedule.finished_at))
        # Steps are ordered; a finished transaction shows all, even if the clock went back.
        history = [(status, at) for status, at in steps if finished or at <= now]
        status = history[-1][0]
        managed = any(s is CarrierProcessingStatus.MANAGED for s, _ in history)
        reason = (
            transaction.classification.reason
            if status is CarrierProcessingStatus.FAILED or managed
            else None
        )
        employee_id = transaction.key[2]
        return {
            "id": transaction.id,
            "transaction_id": transaction.transaction_id,
            "transaction_type": transaction.transaction_type,
            "employee_id": str(employee_id),
            "status": status.value,
            "reason": reason,
            "managed": managed,
            "history": [{"status": s.value, "at": at.isoformat()} for s, at in history],
            # What the carrier held differently from what it was sent, once completed.
            "notes": list(transaction.notes) if status is CarrierProcessingStatus.COMPLETED else [],
        }
