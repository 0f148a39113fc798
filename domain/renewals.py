"""Open-enrollment renewal decisions: the body, statuses, date rules and the carrier check."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.errors import FieldProblem, ValidationFailed


class RenewalStatus(StrEnum):
    """Where a decision stands (contract section 5)."""

    SUBMITTED = "submitted"  # not checked at the carrier yet (also right after an edit)
    NOT_READY = "not_ready"  # the carrier differs from the decision: see `issues`
    READY = "ready"  # the carrier matches: new-plan-year elections can be sent
    DONE = "done"  # the renewal and its late-enrollment window are over: no longer watched


class IssueLevel(StrEnum):
    WARNING = "warning"
    ERROR = "error"


# How far a renewal date may lie from the day it is submitted (contract section 5).
MAX_DAYS_PAST = 30
MAX_MONTHS_AHEAD = 6
# Elections received more than 31 days after the OE window closed take next year's OE date
# (seed 003): the decision is watched until that late window has closed too.
LATE_WINDOW = timedelta(days=31)
# An open end, as the contract writes it; Unum's OE windows end there (seed 004).
OPEN_END = date(9999, 12, 31)


# --- the request body ----------------------------------------------------------------------------


class DecidedPlan(BaseModel):
    """A plan of the new plan year: the group's `plan_id`, or the plan's name at the carrier.

    Examples also send `plan_type` and `metal_tier` (contract open question 13): kept as sent.
    """

    model_config = ConfigDict(extra="allow")

    plan_id: uuid.UUID | None = None
    name: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _names_a_plan(self) -> Self:
        if self.plan_id is None and self.name is None:
            raise ValueError("plan_id or name is required")
        return self


class DecidedLine(BaseModel):
    open_enrollment_start_date: date | None = None
    open_enrollment_end_date: date | None = None
    plans: list[DecidedPlan] = Field(min_length=1)


class DecidedCarrier(BaseModel):
    carrier_id: uuid.UUID
    lines_of_coverage: dict[str, DecidedLine] = {}


class DecisionBody(BaseModel):
    carriers: list[DecidedCarrier] = Field(min_length=1)

    def carrier_ids(self) -> list[uuid.UUID]:
        return [carrier.carrier_id for carrier in self.carriers]


# The OpenAPI document's example body (README, "Renewal decisions").
_NEW_DECISION_EXAMPLE: dict[str, Any] = {
    "renewal_date": "2027-01-01",
    "body": {
        "carriers": [
            {
                "carrier_id": "d0003042-eaae-4491-b219-4825456a3d16",
                "lines_of_coverage": {
                    "dental": {
                        "open_enrollment_start_date": "2026-12-02",
                        "open_enrollment_end_date": "2026-12-31",
                        "plans": [{"plan_id": "5b8f6a1e-3c2d-4e7f-9a10-2b3c4d5e6f70"}],
                    }
                },
            }
        ]
    },
}


class NewRenewalDecision(BaseModel):
    """`POST /groups/{group_id}/renewal_decisions`."""

    model_config = ConfigDict(json_schema_extra={"examples": [_NEW_DECISION_EXAMPLE]})

    renewal_date: date
    body: DecisionBody


class RenewalDecisionEdit(BaseModel):
    """`PUT /renewal_decisions/{id}/{version}`: either part, or both."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"renewal_date": "2027-01-02"}]})

    renewal_date: date | None = None
    body: DecisionBody | None = None


class RenewalIssue(BaseModel):
    """Where the carrier differs from the decision."""

    level: IssueLevel
    message: str
    carrier_id: uuid.UUID | None = None
    line_of_coverage: str | None = None


# --- date rules ----------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day `months` later, the month's last day where it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def check_renewal_date(renewal_date: date, *, today: date) -> None:
    """At most 30 days in the past and 6 months ahead of the request (422 naming it)."""
    earliest = today - timedelta(days=MAX_DAYS_PAST)
    latest = add_months(today, MAX_MONTHS_AHEAD)
    if renewal_date < earliest:
        raise ValidationFailed.one(
            "renewal_date", f"more than {MAX_DAYS_PAST} days in the past (earliest {earliest})"
        )
    if renewal_date > latest:
        raise ValidationFailed.one(
            "renewal_date", f"more than {MAX_MONTHS_AHEAD} months ahead (latest {latest})"
        )


def watched_until(renewal_date: date, body: DecisionBody) -> date:
    """The last day the decision is watched; it is `done` from the next day on.

    Both the renewal date and the late-enrollment window (31 days after the latest decided OE
    end) must be over. An open OE end (Unum's 9999-12-31) bounds nothing: OE there never closes,
    so the renewal date alone plus the late window counts.
    """
    ends = [
        line.open_enrollment_end_date
        for carrier in body.carriers
        for line in carrier.lines_of_coverage.values()
        if line.open_enrollment_end_date is not None and line.open_enrollment_end_date < OPEN_END
    ]
    return max([renewal_date, *ends]) + LATE_WINDOW


def is_done(renewal_date: date, body: DecisionBody, *, today: date) -> bool:
    return today > watched_until(renewal_date, body)


def body_problems(
    body: DecisionBody,
    *,
    connected: set[uuid.UUID],
    carrier_lines: Mapping[uuid.UUID, set[str]],
    group_plan_ids: Mapping[uuid.UUID, set[uuid.UUID]],
) -> list[FieldProblem]:
    """Every refused field of a decision's body, given what carrierlink knows of the group.

    `connected`: carriers the group has a completed, live connection to; `carrier_lines`: the
    lines each carrier offers (contract values, e.g. `dental`); `group_plan_ids`: the group's
    plan ids at each carrier.
    """
    problems: list[FieldProblem] = []
    seen: set[uuid.UUID] = set()
    for index, carrier in enumerate(body.carriers):
        at = f"body.carriers.{index}"
        if carrier.carrier_id in seen:
            problems.append(FieldProblem(f"{at}.carrier_id", "repeats an earlier carrier"))
            continue
        seen.add(carrier.carrier_id)
        if carrier.carrier_id not in connected:
            problems.append(
                FieldProblem(
                    f"{at}.carrier_id",
                    "the group has no completed, live connection to this carrier",
                )
            )
            continue
        offered = carrier_lines.get(carrier.carrier_id, set())
        plan_ids = group_plan_ids.get(carrier.carrier_id, set())
        for line, decided in carrier.lines_of_coverage.items():
            line_at = f"{at}.lines_of_coverage.{line}"
            if line not in offered:
                problems.append(
                    FieldProblem(line_at, "a line of coverage the carrier does not offer")
                )
                continue
            start, end = decided.open_enrollment_start_date, decided.open_enrollment_end_date
            if start is not None and end is not None and end < start:
                problems.append(
                    FieldProblem(
                        f"{line_at}.open_enrollment_end_date",
                        f"before open_enrollment_start_date {start}",
                    )
                )
            for plan_index, plan in enumerate(decided.plans):
                if plan.plan_id is not None and plan.plan_id not in plan_ids:
                    problems.append(
                        FieldProblem(
                            f"{line_at}.plans.{plan_index}.plan_id",
                            "names no plan of this group at the carrier; send its name instead",
                        )
                    )
    return problems


# --- the check at the carrier --------------------------------------------------------------------


class CarrierRenewalEnrollment(BaseModel):
    """A line's enrollment as the carrier holds it for the plan year starting `as_of`."""

    line_of_coverage: str
    open_enrollment_start_date: date | None = None
    open_enrollment_end_date: date | None = None
    open_enrollment_renewal_date: date | None = None


class CarrierRenewalPlan(BaseModel):
    carrier_plan_id: str
    line_of_coverage: str
    name: str
    status: str
    effective_start_date: date | None = None
    effective_end_date: date | None = None

    def active_on(self, day: date) -> bool:
        started = self.effective_start_date is None or self.effective_start_date <= day
        ended = self.effective_end_date is not None and self.effective_end_date < day
        return self.status == "active" and started and not ended


class CarrierPlans(BaseModel):
    """A group's plans at a carrier as of a date (the adapter's `fetch_plans`)."""

    as_of: date
    group_enrollments: list[CarrierRenewalEnrollment] = []
    plans: list[CarrierRenewalPlan] = []


def _same_name(left: str, right: str) -> bool:
    return left.strip().casefold() == right.strip().casefold()


def compare_carrier(
    decided: DecidedCarrier,
    carrier: CarrierPlans,
    *,
    carrier_plan_ids: Mapping[uuid.UUID, str],
) -> list[RenewalIssue]:
    """Where the carrier's plans as of the renewal date differ from one carrier's decision.

    Errors: a decided plan not present and active at the carrier; with no lines decided, no
    plan at all. Warnings: the carrier's OE dates differ from the decided ones (an open end at
    the carrier, Unum's, accepts any), and active carrier plans the decision does not name.
    `carrier_plan_ids` maps the group's plan ids to the carrier's.
    """
    carrier_id = decided.carrier_id
    active = [plan for plan in carrier.plans if plan.active_on(carrier.as_of)]
    issues: list[RenewalIssue] = []

    def issue(level: IssueLevel, message: str, line: str | None = None) -> None:
        issues.append(
            RenewalIssue(level=level, message=message, carrier_id=carrier_id, line_of_coverage=line)
        )

    if not decided.lines_of_coverage:
        if not active:
            issue(IssueLevel.ERROR, f"the carrier has no plans in effect on {carrier.as_of} yet")
        return issues
    enrollments = {e.line_of_coverage: e for e in carrier.group_enrollments}
    for line, decision in sorted(decided.lines_of_coverage.items()):
        of_line = [plan for plan in active if plan.line_of_coverage == line]
        named: set[str] = set()
        for plan in decision.plans:
            found = _find(plan, of_line, carrier_plan_ids)
            if found is None:
                what = f"plan {plan.name!r}" if plan.name else f"plan {plan.plan_id}"
                issue(
                    IssueLevel.ERROR,
                    f"{what} is not installed and active at the carrier for {carrier.as_of}",
                    line,
                )
            else:
                named.add(found.carrier_plan_id)
        for held in of_line:
            if held.carrier_plan_id not in named:
                issue(
                    IssueLevel.WARNING,
                    f"the carrier also has plan {held.name!r}, which the decision does not name",
                    line,
                )
        enrollment = enrollments.get(line)
        if enrollment is not None:
            issues += _oe_differences(decision, enrollment, carrier_id)
    return issues


def _find(
    plan: DecidedPlan, of_line: list[CarrierRenewalPlan], carrier_plan_ids: Mapping[uuid.UUID, str]
) -> CarrierRenewalPlan | None:
    if plan.plan_id is not None:
        wanted = carrier_plan_ids.get(plan.plan_id)
        return next((p for p in of_line if p.carrier_plan_id == wanted), None)
    assert plan.name is not None
    return next((p for p in of_line if _same_name(p.name, plan.name)), None)


def _oe_differences(
    decision: DecidedLine, enrollment: CarrierRenewalEnrollment, carrier_id: uuid.UUID
) -> list[RenewalIssue]:
    issues = []
    line = enrollment.line_of_coverage
    pairs = (
        ("start", decision.open_enrollment_start_date, enrollment.open_enrollment_start_date),
        ("end", decision.open_enrollment_end_date, enrollment.open_enrollment_end_date),
    )
    for which, decided, held in pairs:
        # An open end at the carrier takes elections any time: nothing to differ from.
        if decided is None or held is None or held == OPEN_END or decided == held:
            continue
        issues.append(
            RenewalIssue(
                level=IssueLevel.WARNING,
                message=f"the carrier's open enrollment {which}s on {held}, not {decided}",
                carrier_id=carrier_id,
                line_of_coverage=line,
            )
        )
    return issues


def status_of(issues: list[RenewalIssue]) -> RenewalStatus:
    """Ready when nothing is in error; warnings alone do not hold elections back."""
    if any(issue.level is IssueLevel.ERROR for issue in issues):
        return RenewalStatus.NOT_READY
    return RenewalStatus.READY


def shown_issues(status: RenewalStatus, issues: list[RenewalIssue]) -> list[RenewalIssue]:
    """The contract's `issues`: empty when `submitted` or `ready` (warnings then go unshown in
    the API; the workflow's details keep them for an operator)."""
    if status is RenewalStatus.NOT_READY:
        return issues
    return []


# --- the election gate ---------------------------------------------------------------------------


class DecisionForElections(BaseModel):
    """A group's decision that covers a carrier, as the election gate sees it."""

    decision_id: uuid.UUID
    renewal_date: date
    status: RenewalStatus


def election_refusal(decisions: list[DecisionForElections], *, takes_effect: date) -> str | None:
    """Why OE elections taking effect on `takes_effect` must wait, or None when they may go.

    The decision that governs them is the latest one with a renewal date on or before that day.
    With none, elections are accepted: the contract makes decisions optional, so a platform that
    never sends one keeps sending elections as before. A `done` decision no longer holds anything.
    """
    governing = [d for d in decisions if d.renewal_date <= takes_effect]
    if not governing:
        return None
    decision = max(governing, key=lambda d: d.renewal_date)
    if decision.status in (RenewalStatus.READY, RenewalStatus.DONE):
        return None
    return (
        f"open-enrollment elections effective {takes_effect} wait for the renewal decision "
        f"{decision.decision_id} (renewal date {decision.renewal_date}) to be ready; it is "
        f"{decision.status.value}"
    )


# --- workflow messages ---------------------------------------------------------------------------


class RenewalRunInput(BaseModel):
    """What a decision's run needs; everything else it reads through its check activity."""

    decision_id: uuid.UUID
    group_id: uuid.UUID
    recheck_every: timedelta
    # Carried over a continue-as-new, so the run knows what it last recorded.
    last_status: RenewalStatus = RenewalStatus.SUBMITTED


class RenewalCheck(BaseModel):
    decision_id: uuid.UUID


class CheckOutcome(BaseModel):
    """One check of the decision at its carriers, against the body it was made for."""

    decision_id: uuid.UUID
    # The edit the check read; a result of an earlier edit is not recorded.
    edit_seq: int = 0
    renewal_date: date | None = None
    watched_until: date | None = None
    status: RenewalStatus = RenewalStatus.SUBMITTED
    issues: list[RenewalIssue] = []
    # For the workflow's details: the group and carrier names.
    group_name: str = ""
    carrier_names: dict[uuid.UUID, str] = {}
    # The decision is gone (its row deleted): the run ends.
    missing: bool = False


class RecordedCheck(BaseModel):
    """What the recording activity made of a check."""

    applied: bool  # False: the decision was edited since; the check is stale
    status: RenewalStatus
    changed: bool  # the status or issues moved: a new version was written
