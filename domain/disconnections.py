"""Group disconnection lifecycle: statuses, the transition table, decisions and their rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ValidationError

from domain.bounds import OPEN_END, PlausibleEndDate, ShortText, Text
from domain.errors import FieldProblem, ValidationFailed


class DisconnectionStatus(StrEnum):
    NEEDS_REVIEW = "needs_review"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REJECTED = "rejected"


# A request is open while it may still disconnect the group: one per group and carrier.
OPEN: frozenset[DisconnectionStatus] = frozenset(
    {DisconnectionStatus.NEEDS_REVIEW, DisconnectionStatus.PROCESSING}
)

# Every legal move. `rejected` is not final: an edit (or a confirm) puts it back to processing.
TRANSITIONS: dict[DisconnectionStatus, frozenset[DisconnectionStatus]] = {
    DisconnectionStatus.NEEDS_REVIEW: frozenset(
        {DisconnectionStatus.PROCESSING, DisconnectionStatus.REJECTED}
    ),
    DisconnectionStatus.PROCESSING: frozenset(
        {DisconnectionStatus.COMPLETED, DisconnectionStatus.REJECTED}
    ),
    DisconnectionStatus.REJECTED: frozenset({DisconnectionStatus.PROCESSING}),
    DisconnectionStatus.COMPLETED: frozenset(),
}


class SourceType(StrEnum):
    """Who raised the request (the contract's enum)."""

    PLATFORM = "platform"
    CARRIER = "carrier"
    GROUP_AUDIT_REQUEST = "group_audit_request"
    GROUP_SETUP_REQUEST = "group_setup_request"
    MEMBER_TRANSACTION = "member_transaction"


class DisconnectionReason(StrEnum):
    """Why a platform disconnects a group: the spec's and the rendered page's lists together."""

    BROKER_OF_RECORD = "broker_of_record"
    CHANGED_ENROLLMENT_METHOD = "changed_enrollment_method"
    LOST_ACCESS = "lost_access"
    LOST_GROUP = "lost_group"
    NO_LONGER_ELIGIBLE = "no_longer_eligible"
    NOT_USING_CONNECTION = "not_using_connection"
    OTHER = "other"
    PAYMENT_LAPSE = "payment_lapse"
    PLATFORM_REQUESTED = "platform_requested"
    TERMINATED = "terminated"


class RejectionReason(StrEnum):
    """Why a request is rejected and the group stays connected."""

    CONNECTION_RESTORED = "connection_restored"
    ELIGIBILITY_RESTORED = "eligibility_restored"
    OTHER = "other"
    PAYMENT_REINSTATED = "payment_reinstated"


class IllegalDecision(ValueError):
    """A confirm, reject or edit the request's current state does not allow (the API's 409)."""

    def __init__(self, status: DisconnectionStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class VersionConflict(ValueError):
    """An edit of a version that is no longer the current one (the API's 409)."""

    def __init__(self, current: uuid.UUID) -> None:
        super().__init__(f"version conflict: the current version is {current}")
        self.current = current


class Decision(BaseModel):
    """A person's word on a request: confirm, reject or edit; one handler serves all three.

    Arrives as a Temporal update (from the API) or as the `confirm` / `reject` signals (from the
    Temporal UI or `temporal workflow signal`).
    """

    kind: Literal["confirm", "reject", "edit"]
    # Where the decision moves the request: confirm -> processing, reject -> rejected.
    status: Literal["processing", "rejected"]
    effective_end_date: date | None = None
    reason: str | None = None
    context: str | None = None
    # Edits name the version they were made against.
    expected_version: uuid.UUID | None = None

    @classmethod
    def confirm(cls, effective_end_date: date | None = None) -> Decision:
        return cls(kind="confirm", status="processing", effective_end_date=effective_end_date)

    @classmethod
    def reject(cls, reason: str | None = None, context: str | None = None) -> Decision:
        return cls(kind="reject", status="rejected", reason=reason, context=context)


class DisconnectionState(BaseModel):
    """A request as its workflow holds it: what queries answer and decisions are checked on."""

    request_id: uuid.UUID
    status: DisconnectionStatus
    version: uuid.UUID
    effective_end_date: date | None = None
    reason: str | None = None
    context: str | None = None
    # Why carrierlink rejected a platform request (a failed check), or None.
    status_reason: str | None = None
    # Set once the end date has passed and the group is being disconnected: no way back.
    disconnecting: bool = False


def check_decision(state: DisconnectionState, decision: Decision) -> None:
    """Refuse a decision the request's state does not allow; nothing else changes state.

    Raises:
        IllegalDecision: for the current status (or a disconnection already under way).
        VersionConflict: an edit made against an earlier version.
        ValidationFailed: moving to processing with no end date anywhere.
    """
    status = state.status
    if status is DisconnectionStatus.COMPLETED:
        raise IllegalDecision(status, "the request is completed: the group is disconnected")
    if state.disconnecting:
        raise IllegalDecision(status, "the end date has passed and the group is being disconnected")
    if decision.kind == "edit":
        if decision.expected_version is not None and decision.expected_version != state.version:
            raise VersionConflict(state.version)
    elif decision.kind == "confirm" and status is DisconnectionStatus.PROCESSING:
        raise IllegalDecision(status, "the request is already confirmed and processing")
    elif decision.kind == "reject" and status is DisconnectionStatus.REJECTED:
        raise IllegalDecision(status, "the request is already rejected")
    if decision.status == DisconnectionStatus.PROCESSING.value and not (
        decision.effective_end_date or state.effective_end_date
    ):
        raise ValidationFailed.one(
            "effective_end_date", "required: the request has no effective end date yet"
        )


class _DecisionBounds(BaseModel):
    """A decision's fields under the bounds the API's bodies declare (`domain.bounds`)."""

    effective_end_date: PlausibleEndDate | None = None
    reason: ShortText | None = None
    context: Text | None = None


def check_decision_bounds(decision: Decision) -> None:
    """Refuse (`ValidationFailed`, naming the field, never echoing it) a decision the API would
    have refused at its door: an implausible end date, a reason that is not one for the status
    it moves to, an overlong or unclean context. The API checks these on its bodies; decisions
    sent from the Temporal UI or CLI (the `confirm` / `reject` signals, the `decide` update)
    meet them here, in the run. (The end date's rule against the past and the coverage start
    needs the store: the API and a platform request's check apply it.)"""
    try:
        _DecisionBounds.model_validate(
            decision.model_dump(include={"effective_end_date", "reason", "context"})
        )
    except ValidationError as err:
        raise ValidationFailed(
            [
                FieldProblem(".".join(str(part) for part in problem["loc"]), problem["msg"])
                for problem in err.errors()
            ]
        ) from None
    if decision.reason is not None:
        allowed = (
            RejectionReason
            if decision.status == DisconnectionStatus.REJECTED.value
            else DisconnectionReason
        )
        choices = [reason.value for reason in allowed]
        if decision.reason not in choices:
            raise ValidationFailed.one(
                "reason", f"for status {decision.status}, one of {', '.join(choices)}"
            )


def parse_signalled_decision(kind: Literal["confirm", "reject"], body: object) -> Decision:
    """The decision a `confirm` or `reject` signal's raw JSON body asks for (None: no body), or
    `ValidationFailed` naming what is wrong: `{"effective_end_date": "YYYY-MM-DD"}` for confirm,
    `{"reason": ..., "context": ...}` for reject."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ValidationFailed.one("body", "must be a JSON object or null")
    fields = {"confirm": {"effective_end_date"}, "reject": {"reason", "context"}}[kind]
    unknown = sorted(str(key) for key in body if key not in fields)
    if unknown:
        raise ValidationFailed.one(
            "body",
            f"unknown field(s) {', '.join(unknown)[:200]}; known: {', '.join(sorted(fields))}",
        )
    try:
        decision = (
            Decision.confirm(body.get("effective_end_date"))
            if kind == "confirm"
            else Decision.reject(body.get("reason"), body.get("context"))
        )
    except ValidationError as err:
        raise ValidationFailed(
            [
                FieldProblem(".".join(str(part) for part in problem["loc"]), problem["msg"])
                for problem in err.errors()
            ]
        ) from None
    check_decision_bounds(decision)
    return decision


def apply_decision(state: DisconnectionState, decision: Decision) -> DisconnectionState:
    """The request after a (checked) decision; the new version comes from the store."""
    return state.model_copy(
        update={
            "status": DisconnectionStatus(decision.status),
            "effective_end_date": decision.effective_end_date or state.effective_end_date,
            "reason": decision.reason if decision.reason is not None else state.reason,
            "context": decision.context if decision.context is not None else state.context,
            "status_reason": None,
        }
    )


def disconnects_at(effective_end_date: date) -> datetime | None:
    """The end of the last day carrierlink manages coverage (UTC): when the group disconnects.

    None for the open end (9999-12-31, the last day a date can name): the group disconnects only
    when a person sets a real end date.
    """
    if effective_end_date >= OPEN_END:
        return None
    return datetime.combine(effective_end_date + timedelta(days=1), datetime.min.time(), UTC)


def platform_request_problem(
    *,
    connected: bool,
    coverage_start: date | None,
    effective_end_date: date,
    today: date,
    max_days_past: int,
) -> str | None:
    """Why a platform's request cannot be processed, or None when it can."""
    if not connected:
        return "the group has no completed connection to this carrier"
    return end_date_problem(
        effective_end_date=effective_end_date,
        coverage_start=coverage_start,
        today=today,
        max_days_past=max_days_past,
    )


def end_date_problem(
    *,
    effective_end_date: date,
    coverage_start: date | None,
    today: date,
    max_days_past: int,
) -> str | None:
    """Why an end date cannot be taken, or None: the one rule for new requests and decisions."""
    if coverage_start is not None and effective_end_date < coverage_start:
        return (
            f"the effective end date {effective_end_date} is before the connection's coverage "
            f"start {coverage_start}"
        )
    if effective_end_date < today - timedelta(days=max_days_past):
        return (
            f"the effective end date {effective_end_date} is more than {max_days_past} days "
            "in the past"
        )
    return None


class CarrierLink(BaseModel):
    """What enrollment intake needs to know about a group's link to one carrier."""

    connected: bool
    disconnected_on: date | None = None
    # The end date of a confirmed (processing) disconnection that has not happened yet.
    ends_on: date | None = None


class EnrollmentRefused(ValueError):
    """An enrollment change for a group and carrier that carrierlink no longer manages."""


def check_enrollment_change(link: CarrierLink, *, coverage_date: date | None = None) -> None:
    """The one check member-change intake calls before accepting a change for a carrier.

    Refused when the group is not (or no longer) connected to the carrier, and for coverage
    dated after the end date of a disconnection under way.
    """
    if link.disconnected_on is not None:
        raise EnrollmentRefused(
            f"the group was disconnected from this carrier on {link.disconnected_on}"
        )
    if not link.connected:
        raise EnrollmentRefused("the group has no completed connection to this carrier")
    if link.ends_on is not None and coverage_date is not None and coverage_date > link.ends_on:
        raise EnrollmentRefused(
            f"coverage on {coverage_date} is after the group's disconnection from this carrier "
            f"on {link.ends_on}"
        )


class IllegalTransition(ValueError):
    def __init__(self, current: DisconnectionStatus, new: DisconnectionStatus) -> None:
        super().__init__(f"a disconnection request cannot move from {current} to {new}")


def can_transition(current: DisconnectionStatus, new: DisconnectionStatus) -> bool:
    return new in TRANSITIONS[current]


def check_transition(current: DisconnectionStatus, new: DisconnectionStatus) -> None:
    if not can_transition(current, new):
        raise IllegalTransition(current, new)


# --- workflow messages ----------------------------------------------------------------------


class DisconnectionInput(BaseModel):
    """Everything a request's run needs; also enough to recreate its row if it went missing."""

    request_id: uuid.UUID
    organization_id: uuid.UUID
    group_id: uuid.UUID
    carrier_id: uuid.UUID
    connection_id: uuid.UUID | None = None
    source_type: SourceType
    source_id: uuid.UUID | None = None
    state: DisconnectionState
    # Status writes carry a growing sequence number so a retried write is applied once; a new
    # run (an edit of a rejected request) continues from the row's last number.
    status_seq: int = 0


class DisconnectionChange(BaseModel):
    """One write of the request's state, as the recording activity applies it."""

    input: DisconnectionInput
    state: DisconnectionState
    seq: int
    decided: bool = False
    completed: bool = False


class RequestCheck(BaseModel):
    """Check a platform's request against the group's connection to the carrier."""

    request_id: uuid.UUID
    group_id: uuid.UUID
    carrier_id: uuid.UUID
    effective_end_date: date


class CheckResult(BaseModel):
    connection_id: uuid.UUID | None = None
    problem: str | None = None


class DisconnectGroup(BaseModel):
    """The end date has passed: stop the group's audits and mark the connection disconnected."""

    request_id: uuid.UUID
    group_id: uuid.UUID
    carrier_id: uuid.UUID
    connection_id: uuid.UUID | None = None


class CarrierEnded(BaseModel):
    """The carrier reports the group ended: raise a request for a person to review."""

    connection_id: uuid.UUID
    organization_id: uuid.UUID
    group_id: uuid.UUID
    carrier_id: uuid.UUID
    coverage_end_date: date
    audit_id: uuid.UUID

    def request_id(self) -> uuid.UUID:
        """One request per connection and carrier end date, however many audits report it."""
        return uuid.uuid5(self.connection_id, f"carrier-ended/{self.coverage_end_date}")
