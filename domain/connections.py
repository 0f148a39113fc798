"""The group connection lifecycle: statuses, the one transition table, and workflow messages."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from domain.bounds import EmailText, NonEmptyIdentifier, ShortText, Text
from domain.enums import LookupOutcome
from domain.errors import FieldProblem, ValidationFailed


class ConnectionStatus(StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    NOYO_REVIEW = "noyo_review"
    WAITING_ON_CARRIER = "waiting_on_carrier"
    CARRIER_AUTHORIZATION = "carrier_authorization"
    ACTION_REQUIRED = "action_required"
    UNABLE_TO_CONNECT = "unable_to_connect"
    COMPLETED = "completed"


# Statuses in which the workflow is parked, re-checking the carrier on a backing-off timer.
WAITING: frozenset[ConnectionStatus] = frozenset(
    {
        ConnectionStatus.NOYO_REVIEW,
        ConnectionStatus.WAITING_ON_CARRIER,
        ConnectionStatus.CARRIER_AUTHORIZATION,
        ConnectionStatus.ACTION_REQUIRED,
    }
)

# Every legal move. A waiting status may change into another when the carrier's answer changes;
# a re-check that finds the group goes back through `processing` to pull the account.
TRANSITIONS: dict[ConnectionStatus, frozenset[ConnectionStatus]] = {
    ConnectionStatus.CREATED: frozenset({ConnectionStatus.PROCESSING}),
    ConnectionStatus.PROCESSING: WAITING
    | {ConnectionStatus.UNABLE_TO_CONNECT, ConnectionStatus.COMPLETED},
    **{
        status: (WAITING - {status})
        | {ConnectionStatus.PROCESSING, ConnectionStatus.UNABLE_TO_CONNECT}
        for status in WAITING
    },
    ConnectionStatus.UNABLE_TO_CONNECT: frozenset({ConnectionStatus.PROCESSING}),
    ConnectionStatus.COMPLETED: frozenset(),
}

# How each carrier answer lands: `found` is not a status of its own, it leads to the account pull.
OUTCOME_STATUS: dict[LookupOutcome, ConnectionStatus] = {
    LookupOutcome.NEEDS_REVIEW: ConnectionStatus.NOYO_REVIEW,
    LookupOutcome.NOT_INSTALLED: ConnectionStatus.WAITING_ON_CARRIER,
    LookupOutcome.ACTION_REQUIRED: ConnectionStatus.ACTION_REQUIRED,
    LookupOutcome.NOT_AUTHORIZED: ConnectionStatus.CARRIER_AUTHORIZATION,
    LookupOutcome.NOT_FOUND: ConnectionStatus.UNABLE_TO_CONNECT,
}


class IllegalTransition(ValueError):
    def __init__(self, current: ConnectionStatus, new: ConnectionStatus) -> None:
        super().__init__(f"a connection cannot move from {current} to {new}")
        self.current = current
        self.new = new


def can_transition(current: ConnectionStatus, new: ConnectionStatus) -> bool:
    return new in TRANSITIONS[current]


def check_transition(current: ConnectionStatus, new: ConnectionStatus) -> None:
    if not can_transition(current, new):
        raise IllegalTransition(current, new)


def can_retry(status: ConnectionStatus) -> bool:
    """A retry/amend is taken in every status but `completed`."""
    return status is not ConnectionStatus.COMPLETED


def next_recheck_delay(previous: timedelta, policy: RecheckPolicy) -> timedelta:
    """The backoff step: grow by the policy's factor, never past its ceiling."""
    return min(
        timedelta(seconds=previous.total_seconds() * policy.backoff), policy.maximum_interval
    )


class RecheckPolicy(BaseModel):
    """How a waiting connection re-checks the carrier: from seconds (sandbox) to a day."""

    initial_interval: timedelta
    backoff: float = Field(ge=1.0)
    maximum_interval: timedelta
    wait_limit: timedelta
    # Time-in-status limits by status (settings overdue_*): the run's current details say from
    # when it is overdue. Empty in runs started before there were limits.
    overdue_after: dict[str, timedelta] = {}


class GroupData(BaseModel):
    """The carrier-facing identifiers of a connection (the contract's `group_data`)."""

    carrier_group_id: str
    group_name: str | None = None
    broker_federal_ein: str | None = None
    broker_tin: str | None = None
    employer_email_address: str | None = None

    def contract(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Amendment(BaseModel):
    """A retry, optionally correcting identifiers: `PUT .../retry` body, normalized."""

    carrier_group_id: str | None = None
    broker_federal_ein: str | None = None
    broker_tin: str | None = None
    employer_email_address: str | None = None
    federal_ein: str | None = None

    def apply(self, data: GroupData) -> GroupData:
        changes = self.model_dump(exclude_none=True, exclude={"federal_ein"})
        return data.model_copy(update=changes)


class _AmendmentBounds(BaseModel):
    """An amendment's fields under the bounds of the API's retry body (`domain.bounds`)."""

    carrier_group_id: NonEmptyIdentifier | None = None
    broker_federal_ein: ShortText | None = None
    broker_tin: ShortText | None = None
    employer_email_address: EmailText | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    federal_ein: str | None = Field(default=None, pattern=r"^[0-9]{9}$")


def check_amendment_bounds(amendment: Amendment) -> None:
    """Refuse (`ValidationFailed`, naming the field, never echoing it) an amendment the API's
    `PUT .../retry` would have refused: the `amend` update sent from the Temporal UI or CLI
    meets the same bounds in the run's validator."""
    try:
        _AmendmentBounds.model_validate(amendment.model_dump())
    except ValidationError as err:
        raise ValidationFailed(
            [
                FieldProblem(".".join(str(part) for part in problem["loc"]), problem["msg"])
                for problem in err.errors()
            ]
        ) from None


class ConnectionInput(BaseModel):
    """Everything a connection run needs; also enough to recreate its row if it went missing."""

    connection_id: uuid.UUID
    organization_id: uuid.UUID
    group_id: uuid.UUID
    carrier_id: uuid.UUID
    group_data: GroupData
    federal_ein: str | None = None
    request_type: Literal["initial", "incremental"]
    status: ConnectionStatus = ConnectionStatus.CREATED
    # Status writes carry an ever-growing sequence number so a retried write is applied once;
    # a new run (a retry after `unable_to_connect`) continues from the row's last number.
    status_seq: int = 0
    recheck: RecheckPolicy


class ReviewDecision(BaseModel):
    """An operator's answer to `noyo_review`: approve the data and pull, or give up."""

    decision: Literal["approve", "reject"]
    note: Text | None = None


def parse_review_decision(raw: object) -> ReviewDecision:
    """A review decision as sent (a signal's or an update's raw JSON), or `ValueError` naming
    what is wrong in words an operator can act on (never echoing the note)."""
    try:
        return ReviewDecision.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'input'}: {problem['msg']}"
            for problem in err.errors()
        )
        raise ValueError(f"refused review decision ({problems})") from None


class LookupRequest(BaseModel):
    carrier_id: uuid.UUID
    carrier_group_id: str
    broker_federal_ein: str | None = None


class DataExchangeRequest(BaseModel):
    carrier_id: uuid.UUID
    carrier_group_id: str
    platform_reference: str
    idempotency_key: str


class ConnectionState(BaseModel):
    """The live state a query answers with (and the amend update returns)."""

    connection_id: uuid.UUID
    status: ConnectionStatus
    group_data: GroupData
    federal_ein: str | None
    reason: str | None = None
    rechecks: int = 0
    # Seconds from the run's last step to the next recheck; the API counts from its own clock.
    next_recheck_in_seconds: float | None = None
    next_recheck_at: datetime | None = None
    amendments: int = 0
    # The last review decision the run refused (a mistyped signal), until a valid one arrives.
    refused_review: str | None = None


class StatusChange(BaseModel):
    """One transition, as the status-recording activity writes it."""

    connection: ConnectionInput
    status: ConnectionStatus
    seq: int
    reason: str | None = None
    setup_result: dict[str, Any] = {}
    completed: bool = False
