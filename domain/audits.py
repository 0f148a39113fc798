"""Audits: pulling a group's account from a carrier and recording what changed."""

from __future__ import annotations

import uuid
from enum import StrEnum

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
