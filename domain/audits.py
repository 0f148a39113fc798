"""Audits: pulling a group's account from a carrier and recording what changed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any

from pydantic import BaseModel


class AuditTrigger(StrEnum):
    """Why an audit ran: the connection's first pull, the group's schedule, or a platform ask."""

    CONNECTION = "connection"
    SCHEDULE = "schedule"
    REQUEST = "request"


class PullRequest(BaseModel):
    """Pull one group's account from one carrier, store what changed, record the audit.

    Also the input of the audit workflow, where `audit_id` may be left for the run to make.
    """

    connection_id: uuid.UUID
    organization_id: uuid.UUID
    group_id: uuid.UUID
    carrier_id: uuid.UUID
    carrier_group_id: str
    trigger: AuditTrigger = AuditTrigger.CONNECTION
    audit_id: uuid.UUID | None = None

    def resolved_audit_id(self) -> uuid.UUID:
        """The audit's id; the connection's first audit derives it so a retried pull records one."""
        return self.audit_id or uuid.uuid5(self.connection_id, "initial-audit")


class AccountSummary(BaseModel):
    """What an account pull stored, without any of the data itself."""

    audit_id: uuid.UUID
    locations: int
    contacts: int
    group_enrollments: int
    plans: int
    differences: int
    coverage_end_date: str | None = None
    # Records created and changed, by record type (counts only).
    created: dict[str, int] = {}
    changed: dict[str, int] = {}


class AuditFailure(BaseModel):
    """Why an audit's run failed, recorded on the audit (the run's history is not kept forever)."""

    request: PullRequest
    workflow_id: str
    reason: str


# An audit's `changes.records` names each record a pull created or changed; past these bounds
# the rest are only counted (a carrier renumbering every plan must not make a huge row).
MAX_RECORDED_CHANGES = 500
MAX_FIELDS_PER_RECORD = 100
# A failure reason is a carrier's or the runtime's message: kept readable, not unbounded.
MAX_FAILURE_REASON = 2000


def json_value(value: Any) -> Any:
    """A stored field's value as JSON shows it (ids and dates as strings)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each field that differs, `{field, from, to}`, nested objects by dotted path
    (`details.premium`), lists compared whole; in field order, at most MAX_FIELDS_PER_RECORD."""
    found: list[dict[str, Any]] = []
    _compare(json_value(dict(before)), json_value(dict(after)), "", found)
    return found[:MAX_FIELDS_PER_RECORD]


def _compare(before: Any, after: Any, path: str, found: list[dict[str, Any]]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(key for key in after if key not in before)]:
            _compare(before.get(key), after.get(key), f"{path}.{key}" if path else key, found)
    elif before != after:
        found.append({"field": path, "from": before, "to": after})


def failure_reason(error: BaseException) -> str:
    """The innermost cause of a failure, `Type: message` (an ApplicationError's own type, e.g.
    `InvalidCarrierData`), bounded: what an operator needs instead of a worker's traceback."""
    cause = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    # An application error's own type names it; a timeout's `type` is an enum, not a name.
    kind = getattr(cause, "type", None)
    if not isinstance(kind, str) or not kind:
        kind = type(cause).__name__
    message = getattr(cause, "message", None) or str(cause)
    reason = f"{kind}: {message}" if message else str(kind)
    return reason[:MAX_FAILURE_REASON]
