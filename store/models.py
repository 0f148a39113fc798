"""Tables of carrierlink. Versioned records keep every earlier version in `record_versions`."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def unix_now() -> int:
    return int(time.time())


class Base(DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSONB,
        list[dict[str, Any]]: JSONB,
        list[str]: ARRAY(Text),
        list[uuid.UUID]: ARRAY(Uuid),
    }


class Versioned:
    """A record the contract calls versioned: stable `id`, a new `version` on every write."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    version: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4, unique=True)
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now)
    modified: Mapped[int] = mapped_column(BigInteger, default=unix_now)

    def as_contract(self) -> dict[str, Any]:
        """The record as the wire contract shows it (also what history keeps)."""
        raise NotImplementedError

    def _record_fields(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "version": str(self.version),
            "created": self.created,
            "modified": self.modified,
        }


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now)


class ApiToken(Base):
    """A bearer token of one organization; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now)


class Carrier(Base):
    """A row per registry entry, kept in step with `carriers.registry` at migrate time."""

    __tablename__ = "carriers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    lines_of_coverage: Mapped[list[str]]
    network: Mapped[str] = mapped_column(String(20))


class Group(Versioned, Base):
    __tablename__ = "groups"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    dba_name: Mapped[str | None] = mapped_column(Text)
    federal_ein: Mapped[str | None] = mapped_column(String(9))
    sic_code: Mapped[str | None] = mapped_column(String(4))

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "name": self.name,
            "dba_name": self.dba_name,
            "federal_ein": self.federal_ein,
            "sic_code": self.sic_code,
            "organization_id": str(self.organization_id),
        }


class GroupConnection(Versioned, Base):
    """A group-carrier connection request and, once completed, the live link itself."""

    __tablename__ = "group_connections"
    __table_args__ = (
        # One live connection per carrier group and per group-carrier pair in an organization.
        # A disconnected connection frees both keys for a later request.
        Index(
            "uq_group_connections_live_carrier_group",
            "organization_id",
            "carrier_id",
            "carrier_group_id",
            unique=True,
            postgresql_where=text("disconnected IS NULL"),
        ),
        Index(
            "uq_group_connections_live_group_carrier",
            "group_id",
            "carrier_id",
            unique=True,
            postgresql_where=text("disconnected IS NULL"),
        ),
        Index("ix_group_connections_status_changed", "status", "status_changed"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    carrier_group_id: Mapped[str] = mapped_column(String(64))
    federal_ein: Mapped[str | None] = mapped_column(String(9))
    request_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(32), index=True)
    group_data: Mapped[dict[str, Any]]
    setup_result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    completed: Mapped[int | None] = mapped_column(BigInteger)
    disconnected: Mapped[int | None] = mapped_column(BigInteger)
    workflow_id: Mapped[str] = mapped_column(Text)
    status_seq: Mapped[int] = mapped_column(default=0)
    # When the record entered its current status (Unix seconds): its time in status, overdue.
    status_changed: Mapped[int] = mapped_column(BigInteger, default=unix_now)

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "completed": self.completed,
            "organization_id": str(self.organization_id),
            "group_id": str(self.group_id),
            "carrier_id": str(self.carrier_id),
            "federal_ein": self.federal_ein,
            "request_type": self.request_type,
            "status": self.status,
            "group_data": self.group_data,
            "setup_result": self.setup_result,
        }


class Contact(Versioned, Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("group_id", "carrier_id", "carrier_contact_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("carriers.id"))
    carrier_contact_id: Mapped[str | None] = mapped_column(Text)
    types: Mapped[list[str]]
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone_number: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str | None] = mapped_column(Text)
    primary_contact: Mapped[bool] = mapped_column(default=False)

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "group_id": str(self.group_id),
            "types": list(self.types),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "phone_number": self.phone_number,
            "title": self.title,
            "primary_contact": self.primary_contact,
            "carrier_id": str(self.carrier_id) if self.carrier_id else None,
        }


class Location(Versioned, Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("group_id", "carrier_id", "carrier_location_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    carrier_location_id: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    address: Mapped[dict[str, Any]]

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "group_id": str(self.group_id),
            "display_name": self.display_name,
            "address": self.address,
        }


class CarrierConfiguration(Versioned, Base):
    __tablename__ = "carrier_configurations"
    __table_args__ = (UniqueConstraint("group_id", "carrier_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    carrier_group_id: Mapped[str | None] = mapped_column(String(64))
    configuration: Mapped[dict[str, Any]]
    connection_configuration: Mapped[dict[str, Any] | None]

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "group_id": str(self.group_id),
            "carrier_id": str(self.carrier_id),
            "carrier_group_id": self.carrier_group_id,
            "configuration": self.configuration,
            "connection_configuration": self.connection_configuration,
        }


class GroupEnrollment(Versioned, Base):
    __tablename__ = "group_enrollments"
    __table_args__ = (UniqueConstraint("group_id", "carrier_id", "carrier_enrollment_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    carrier_enrollment_id: Mapped[str] = mapped_column(Text)
    line_of_coverage: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    effective_start_date: Mapped[date | None] = mapped_column(Date)
    effective_end_date: Mapped[date | None] = mapped_column(Date)
    open_enrollment_start_date: Mapped[date | None] = mapped_column(Date)
    open_enrollment_end_date: Mapped[date | None] = mapped_column(Date)
    open_enrollment_renewal_date: Mapped[date | None] = mapped_column(Date)

    def as_contract(self) -> dict[str, Any]:
        def iso(d: date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            **self._record_fields(),
            "group_id": str(self.group_id),
            "carrier_id": str(self.carrier_id),
            "line_of_coverage": self.line_of_coverage,
            "status": self.status,
            "effective_start_date": iso(self.effective_start_date),
            "effective_end_date": iso(self.effective_end_date),
            "open_enrollment_start_date": iso(self.open_enrollment_start_date),
            "open_enrollment_end_date": iso(self.open_enrollment_end_date),
            "open_enrollment_renewal_date": iso(self.open_enrollment_renewal_date),
        }


class Plan(Versioned, Base):
    """A group plan; the line-specific contract fields live in `details`."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("group_id", "carrier_id", "carrier_plan_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    group_enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group_enrollments.id"))
    carrier_plan_id: Mapped[str] = mapped_column(Text)
    line_of_coverage: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]]

    def as_contract(self) -> dict[str, Any]:
        return {
            **self.details,
            **self._record_fields(),
            "group_enrollment_id": str(self.group_enrollment_id),
            "carrier_id": str(self.carrier_id),
            "line_of_coverage": self.line_of_coverage,
            "status": self.status,
        }


class GroupAudit(Base):
    """A comparison of the group with a carrier: the connection's first, scheduled, or requested.

    A requested audit is recorded when asked for (`completed_at` empty, `workflow_id` set) so its
    id can be followed; scheduled and initial audits are recorded once they finish.
    """

    __tablename__ = "group_audits"
    __table_args__ = (Index("ix_group_audits_latest", "group_id", "completed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_ids: Mapped[list[uuid.UUID]]
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    trigger: Mapped[str] = mapped_column(String(32))
    workflow_id: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Why its run failed (the innermost cause), recorded by the run itself; None otherwise.
    failure_reason: Mapped[str | None] = mapped_column(Text)

    def as_contract(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "group_id": str(self.group_id),
            "carrier_ids": [str(c) for c in self.carrier_ids],
            "trigger": self.trigger,
            "created": self.created,
            "completed_at": self.completed_at,
            "changes": self.changes,
        }


class GroupDisconnectionRequest(Versioned, Base):
    """A request to stop managing a group at a carrier, from the platform or the carrier."""

    __tablename__ = "group_disconnection_requests"
    __table_args__ = (
        # One open request (needs_review or processing) per group and carrier.
        Index(
            "uq_group_disconnection_requests_open",
            "group_id",
            "carrier_id",
            unique=True,
            postgresql_where=text("status IN ('needs_review', 'processing')"),
        ),
        Index("ix_group_disconnection_requests_status_changed", "status", "status_changed"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    connection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("group_connections.id"))
    group_name: Mapped[str] = mapped_column(Text)
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[uuid.UUID | None]
    source_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)
    effective_end_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(64))
    context: Mapped[str | None] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    decided: Mapped[int | None] = mapped_column(BigInteger)
    completed: Mapped[int | None] = mapped_column(BigInteger)
    workflow_id: Mapped[str] = mapped_column(Text)
    status_seq: Mapped[int] = mapped_column(default=0)
    # When the record entered its current status (Unix seconds): its time in status, overdue.
    status_changed: Mapped[int] = mapped_column(BigInteger, default=unix_now)

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "organization_id": str(self.organization_id),
            "carrier_id": str(self.carrier_id),
            "group_id": str(self.group_id),
            "group_name": self.group_name,
            "source_type": self.source_type,
            "source_id": str(self.source_id) if self.source_id else None,
            "source_date": self.source_date.isoformat() if self.source_date else None,
            "status": self.status,
            "effective_end_date": (
                self.effective_end_date.isoformat() if self.effective_end_date else None
            ),
            "reason": self.reason,
            "context": self.context,
            "status_reason": self.status_reason,
            "decided": self.decided,
            "completed": self.completed,
        }


class RenewalDecision(Versioned, Base):
    """A group's open-enrollment renewal decision and the latest check of it at the carriers."""

    __tablename__ = "renewal_decisions"
    __table_args__ = (
        # One open (not done) decision per group and renewal date.
        Index(
            "uq_renewal_decisions_open",
            "group_id",
            "renewal_date",
            unique=True,
            postgresql_where=text("status <> 'done'"),
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    group_name: Mapped[str] = mapped_column(Text)
    renewal_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[dict[str, Any]]
    # The body's carriers, for the election gate's lookup by group and carrier.
    carrier_ids: Mapped[list[uuid.UUID]]
    issues: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # Grows on every edit: a check made against an earlier body is not recorded.
    edit_seq: Mapped[int] = mapped_column(default=0)
    # When the carriers were last checked (unix seconds); a check that changes nothing moves
    # only this, not the version.
    checked: Mapped[int | None] = mapped_column(BigInteger)
    workflow_id: Mapped[str] = mapped_column(Text)

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "group_id": str(self.group_id),
            "renewal_date": self.renewal_date.isoformat(),
            "status": self.status,
            "body": self.body,
            "issues": self.issues,
        }


class Member(Base):
    """An individual the engine has assigned an id: an employee, or one of their dependents.

    Only ids live here; the person (names, date of birth, SSN) is in the snapshots and the
    transactions sent to carriers.
    """

    __tablename__ = "members"
    __table_args__ = (
        # The platform's id names one employee per group, and one dependent per employee.
        Index(
            "uq_members_employee_custom_id",
            "group_id",
            "custom_individual_id",
            unique=True,
            postgresql_where=text("individual_type = 'employee'"),
        ),
        Index(
            "uq_members_dependent_custom_id",
            "employee_id",
            "custom_individual_id",
            unique=True,
            postgresql_where=text("individual_type = 'dependent'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    employee_id: Mapped[uuid.UUID] = mapped_column(index=True)  # its own id for an employee
    individual_type: Mapped[str] = mapped_column(String(16))
    custom_individual_id: Mapped[str | None] = mapped_column(Text)
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now)


class CarrierHolding(Versioned, Base):
    """One employee as one carrier holds them: its census read at connection and by audits.

    `member` is the carrier's view in the engine's ids (`domain.members.CarrierMember` JSON,
    with the carrier's calculated effective dates); `match_key` is the hashed SSN and date of
    birth snapshots are linked by (`domain.census.match_key`). History is kept, for
    `effective_date` reads of members.
    """

    __tablename__ = "carrier_holdings"
    __table_args__ = (
        UniqueConstraint("employee_id", "carrier_id", name="uq_carrier_holdings_employee_carrier"),
        Index("ix_carrier_holdings_carrier_member", "group_id", "carrier_id", "carrier_member_id"),
        Index("ix_carrier_holdings_match_key", "group_id", "match_key"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"))
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    employee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    carrier_member_id: Mapped[str] = mapped_column(Text)
    member: Mapped[dict[str, Any]]
    terminated: Mapped[bool]
    match_key: Mapped[str | None] = mapped_column(String(64))
    fetched: Mapped[int] = mapped_column(BigInteger)  # when the carrier was read (Unix seconds)

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "group_id": str(self.group_id),
            "carrier_id": str(self.carrier_id),
            "employee_id": str(self.employee_id),
            "carrier_member_id": self.carrier_member_id,
            "member": self.member,
            "terminated": self.terminated,
            "fetched": self.fetched,
        }


class MemberSnapshot(Versioned, Base):
    """A member snapshot as received and processed; the employee's desired state."""

    __tablename__ = "member_snapshots"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    employee_id: Mapped[uuid.UUID] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    replaced_by: Mapped[uuid.UUID | None]
    inbound_snapshot: Mapped[str] = mapped_column(Text)
    member_snapshot: Mapped[dict[str, Any]]
    # Per carrier id, the snapshot as that carrier holds it (`domain.members.CarrierMember`).
    carrier_members: Mapped[dict[str, Any]]
    created_members: Mapped[list[dict[str, Any]]]
    warnings: Mapped[list[str]]
    fulfillment_summary: Mapped[list[dict[str, Any]]]
    workflow_id: Mapped[str] = mapped_column(Text)

    def as_summary(self) -> dict[str, Any]:
        """The list shape: no payloads."""
        return {
            **self._record_fields(),
            "employee_id": str(self.employee_id),
            "group_id": str(self.group_id),
            "status": self.status,
            "fulfillment_summary": self.fulfillment_summary,
        }

    def as_contract(self) -> dict[str, Any]:
        return {
            **self.as_summary(),
            "replaced_by": str(self.replaced_by) if self.replaced_by else None,
            "member_snapshot": self.member_snapshot,
            "inbound_snapshot": self.inbound_snapshot,
            "created_members": self.created_members,
            "warnings": self.warnings,
        }


class FulfillmentWake(Base):
    """Whether a group's fulfillment loop has been signalled since its last build began.

    Intake signals the loop only when it turns this on; the build turns it off before it reads
    the submitted snapshots. So a burst costs one signal per build, not one per snapshot, and
    no snapshot is left unsignalled: the group's wake lock (shared by intakes, taken alone by a
    build) orders every intake commit before or after the build's read (see
    `store.members.needs_wake`).
    """

    __tablename__ = "fulfillment_wakes"

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    signalled: Mapped[bool]


class MemberTransaction(Versioned, Base):
    """One carrier's part of a snapshot: what was sent, and how far the carrier has taken it."""

    __tablename__ = "member_transactions"
    __table_args__ = (Index("ix_member_transactions_confirm_due", "group_id", "confirm_due"),)

    # Orders an employee's transactions at one carrier: the last live one is what it was sent.
    position: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    employee_id: Mapped[uuid.UUID] = mapped_column(index=True)
    member_snapshot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("member_snapshots.id"), index=True
    )
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    lines_of_coverage: Mapped[list[str]]
    transaction_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status_details: Mapped[list[dict[str, Any]]]
    verified: Mapped[int | None] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    carrier_transaction_id: Mapped[str | None] = mapped_column(Text)
    # Round-trip confirmation: the next check (acceptance or effective_date) and when it is due
    # (Unix seconds); both empty once verified, or before the carrier completed it.
    confirm_stage: Mapped[str | None] = mapped_column(String(20))
    confirm_due: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def current_status_detail(self) -> str:
        return str(self.status_details[-1]["status_detail"])

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "member_request_id": None,
            "member_snapshot_id": str(self.member_snapshot_id),
            "employee_id": str(self.employee_id),
            "group_id": str(self.group_id),
            "carrier_id": str(self.carrier_id),
            "lines_of_coverage": self.lines_of_coverage,
            "transaction_type": self.transaction_type,
            "status": self.status,
            "body": self.body,
            "result": self.result,
            "status_details": self.status_details,
            "verified": self.verified,
        }


class RecordVersion(Base):
    """Every version ever written of a versioned record, for `effective_date` reads."""

    __tablename__ = "record_versions"
    __table_args__ = (Index("ix_record_versions_lookup", "record_type", "record_id", "valid_from"),)

    pk: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID]
    version: Mapped[uuid.UUID] = mapped_column(unique=True)
    valid_from: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]]


class Difference(Versioned, Base):
    """One object the carrier shows otherwise than the platform sent it (the Tracking API).

    Found by round-trip confirmation (`store.differences.record_check`). Open while `resolved`
    is empty; a difference still open at the effective-date check is a discrepancy. `identity`
    (`FoundDifference.identity` joined by "|") names it across checks: one open difference per
    identity for an employee at a carrier. `sources` lists every check that saw (or resolved) it.
    `fields` hold member data, so no history is kept (`save_version(..., history=False)`).
    """

    __tablename__ = "differences"
    __table_args__ = (
        Index(
            "uq_differences_open_identity",
            "employee_id",
            "carrier_id",
            "identity",
            unique=True,
            postgresql_where=text("resolved IS NULL AND replaced_by IS NULL"),
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    employee_id: Mapped[uuid.UUID] = mapped_column(index=True)
    member_snapshot_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("member_snapshots.id"), index=True
    )
    # The transaction whose check first found it; later checks add to `sources`.
    member_transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("member_transactions.id"), index=True
    )
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[uuid.UUID]
    coverage_key: Mapped[list[str]]
    difference_classification: Mapped[str] = mapped_column(String(32))
    difference_type: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[dict[str, Any]]]
    impact_score: Mapped[int] = mapped_column(default=1)
    impact_type: Mapped[str | None] = mapped_column(String(32))
    is_dismissed: Mapped[bool] = mapped_column(default=False)
    is_suppressed: Mapped[bool] = mapped_column(default=False)
    is_discrepancy: Mapped[bool] = mapped_column(default=False)
    discrepancy_time: Mapped[int | None] = mapped_column(BigInteger)
    resolved: Mapped[int | None] = mapped_column(BigInteger)
    replaced_by: Mapped[uuid.UUID | None]
    identity: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[dict[str, Any]]]
    # Who on the platform's team works it (`PUT /differences/{id}/assign`); the engine does not
    # know the platform's people, so any id is taken.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(index=True, default=None)

    @property
    def is_open(self) -> bool:
        """Still to be resolved: not resolved, not replaced, not dismissed."""
        return self.resolved is None and self.replaced_by is None and not self.is_dismissed

    def as_contract(self) -> dict[str, Any]:
        """The list shape."""
        return {
            **self._record_fields(),
            "group_id": str(self.group_id),
            "carrier_id": str(self.carrier_id),
            "employee_id": str(self.employee_id),
            "object_type": self.object_type,
            "object_id": str(self.object_id),
            "coverage_key": list(self.coverage_key),
            "impact_type": self.impact_type,
            "impact_score": self.impact_score,
            "difference_classification": self.difference_classification,
            "difference_type": self.difference_type,
            "fields": self.fields,
            "resolved": self.resolved,
            "replaced_by": str(self.replaced_by) if self.replaced_by else None,
            "is_dismissed": self.is_dismissed,
            "assignee_id": str(self.assignee_id) if self.assignee_id else None,
            "is_suppressed": self.is_suppressed,
            "is_discrepancy": self.is_discrepancy,
            "discrepancy_time": self.discrepancy_time,
            "is_open": self.is_open,
        }

    def as_detail(self) -> dict[str, Any]:
        """One difference by id: the list shape, its organization, origin and sources."""
        return {
            **self.as_contract(),
            "organization_id": str(self.organization_id),
            "member_snapshot_id": (
                str(self.member_snapshot_id) if self.member_snapshot_id else None
            ),
            "member_transaction_id": (
                str(self.member_transaction_id) if self.member_transaction_id else None
            ),
            "sources": self.sources,
        }


class ApiClient(Base):
    """An organization's API client (client credentials); only its secret's SHA-256 is stored.

    `revoked` set (unix seconds) ends the client: no new tokens, and its tokens stop working.
    """

    __tablename__ = "api_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now)
    revoked: Mapped[int | None] = mapped_column(BigInteger, default=None)


class IdempotencyKey(Base):
    """A POST's `Idempotency-Key` per organization: the request's hash, then its first answer.

    `status_code` is null while the first request is in flight.
    """

    __tablename__ = "idempotency_keys"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(default=None)
    content_type: Mapped[str | None] = mapped_column(Text, default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now, index=True)


class CoverageExport(Base):
    """A census of a group as of a date at some carriers (`POST /groups/{id}/coverage_exports`).

    Built in the background by the `CoverageExport` workflow's activity; its records (PII) are
    `CoverageExportRecord` rows, dropped with it once `expires` has passed.
    """

    __tablename__ = "coverage_exports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    carrier_ids: Mapped[list[uuid.UUID]]
    status: Mapped[str] = mapped_column(String(20))
    percentage_complete: Mapped[int] = mapped_column(default=0)
    employees: Mapped[int] = mapped_column(default=0)
    record_count: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now)
    modified: Mapped[int] = mapped_column(BigInteger, default=unix_now)
    completed: Mapped[int | None] = mapped_column(BigInteger, default=None)
    expires: Mapped[int] = mapped_column(BigInteger, index=True)

    def as_contract(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "organization_id": str(self.organization_id),
            "group_id": str(self.group_id),
            "as_of": self.as_of.isoformat(),
            "carrier_ids": [str(c) for c in self.carrier_ids],
            "status": self.status,
            "percentage_complete": self.percentage_complete,
            "employees": self.employees,
            "record_count": self.record_count,
            "created": self.created,
            "modified": self.modified,
            "completed": self.completed,
            "expires": self.expires,
        }


class CoverageExportRecord(Base):
    """One record of an export (`domain.coverage_exports.COLUMNS`), in download order."""

    __tablename__ = "coverage_export_records"

    export_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("coverage_exports.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    record: Mapped[dict[str, Any]]


# --- file carriers: feeds and their runs (issue 22) -----------------------------------------------


class Feed(Versioned, Base):
    """One group's feed to one file carrier: when its runs go, and what their files hold."""

    __tablename__ = "feeds"
    __table_args__ = (UniqueConstraint("group_id", "carrier_id"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"))
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    carrier_group_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # active | retired
    testing: Mapped[bool]  # until the carrier approves a test file
    paused: Mapped[bool]
    rrule: Mapped[str] = mapped_column(Text)
    time_of_day: Mapped[str] = mapped_column(String(5))
    zone_info: Mapped[str] = mapped_column(String(64))
    file_mode: Mapped[str] = mapped_column(String(20))
    error_threshold: Mapped[float | None]  # None: the setting's
    approved: Mapped[int | None] = mapped_column(BigInteger)  # when a test file was approved

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "group_id": str(self.group_id),
            "carrier_id": str(self.carrier_id),
            "carrier_group_id": self.carrier_group_id,
            "status": self.status,
            "testing": self.testing,
            "paused": self.paused,
            "rrule": self.rrule,
            "time_of_day": self.time_of_day,
            "zone_info": self.zone_info,
            "file_mode": self.file_mode,
            "error_threshold": self.error_threshold,
            "approved": self.approved,
        }


class FeedRun(Versioned, Base):
    """One file of a feed: what it holds (counts, transactions), where it went, the 999."""

    __tablename__ = "feed_runs"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    feed_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feeds.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    run_key: Mapped[str] = mapped_column(Text, unique=True)  # the workflow that opened it
    status: Mapped[str] = mapped_column(String(30), index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    testing: Mapped[bool]
    file_mode: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str | None] = mapped_column(Text)
    interchange_control_number: Mapped[int | None] = mapped_column(BigInteger)
    group_control_number: Mapped[int | None] = mapped_column(BigInteger)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_bytes: Mapped[int | None] = mapped_column(BigInteger)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    acknowledgement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where each loop 2000 of a subscriber starts in the transaction set, and whose it is
    # ([position, REF*0F]): a 999's IK3 positions name the members in error.
    loops: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    sent_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged: Mapped[int | None] = mapped_column(BigInteger)
    resends: Mapped[int] = mapped_column(default=0)

    def as_contract(self) -> dict[str, Any]:
        return {
            **self._record_fields(),
            "feed_id": str(self.feed_id),
            "group_id": str(self.group_id),
            "carrier_id": str(self.carrier_id),
            "status": self.status,
            "trigger": self.trigger,
            "testing": self.testing,
            "file_mode": self.file_mode,
            "details": {
                "file": {
                    "name": self.file_name,
                    "interchange_control_number": self.interchange_control_number,
                    "group_control_number": self.group_control_number,
                    "sha256": self.file_sha256,
                    "bytes": self.file_bytes,
                    "audit": {"count": self.counts},
                },
                "acknowledgement": self.acknowledgement,
            },
            "reason": self.reason,
            "sent_timestamp": self.sent_timestamp,
            "acknowledged": self.acknowledged,
            "resends": self.resends,
        }


class FeedRunTransaction(Base):
    """A member transaction carried by a run's file, and what the carrier's 999 made of it."""

    __tablename__ = "feed_run_transactions"

    feed_run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("feed_runs.id", ondelete="CASCADE"), primary_key=True
    )
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("member_transactions.id"), primary_key=True, index=True
    )
    subscriber_id: Mapped[str] = mapped_column(String(64))  # REF*0F of its loop 2000


class TradingPartnerCounter(Base):
    """The last ISA13 / GS06 given out per file carrier: control numbers never repeat."""

    __tablename__ = "trading_partner_counters"

    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"), primary_key=True)
    last_control_number: Mapped[int] = mapped_column(BigInteger)
