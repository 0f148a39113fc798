"""Response bodies of the REST contract, as the OpenAPI document shows them and FastAPI checks them.

Each model mirrors a record's `as_contract()` (store/models.py) or a service's answer. They allow
fields they do not name (`extra="allow"`): a record's free-form parts (a plan's line-specific
fields, a carrier's answer) pass through as the API returns them. Errors are `ErrorBody` (and
`ValidationErrorBody` for 422), as api/errors.py writes them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.params import Page
from domain.connections import GroupData

# Ids and timestamps shared by the examples below, so an example reads as one story.
_ORG = "8f1b2c3d-0000-4000-8000-000000000001"
_GROUP = "8f1b2c3d-0000-4000-8000-000000000002"
_CARRIER = "0a8c1a34-7d4e-4c1b-9b0e-5b0f6b9d1c01"
_CONNECTION = "8f1b2c3d-0000-4000-8000-000000000003"
_VERSION = "8f1b2c3d-0000-4000-8000-0000000000f1"
_EMPLOYEE = "8f1b2c3d-0000-4000-8000-000000000004"
_SNAPSHOT = "8f1b2c3d-0000-4000-8000-000000000005"
_TRANSACTION = "8f1b2c3d-0000-4000-8000-000000000006"
_CREATED = 1_733_000_000


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="allow", json_schema_extra={"examples": [example]})


def _record(**fields: Any) -> dict[str, Any]:
    return {
        "id": _CONNECTION,
        "version": _VERSION,
        "created": _CREATED,
        "modified": _CREATED,
        **fields,
    }


class Record(BaseModel):
    """Every versioned record: its id, current version (for edits) and Unix times in seconds."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    version: uuid.UUID
    created: int
    modified: int


# Errors.


class ErrorBody(BaseModel):
    """Every error: a message and the HTTP status again (a 409 may add `current_version`)."""

    model_config = _example({"message": "group not found", "status": 404})

    message: str
    status: int


class FieldError(BaseModel):
    field: str
    message: str


class ValidationErrorBody(ErrorBody):
    """A 422: the message and, per field refused, why."""

    model_config = _example(
        {
            "message": "carrier_id: Input should be a valid UUID",
            "status": 422,
            "errors": [{"field": "carrier_id", "message": "Input should be a valid UUID"}],
        }
    )

    errors: list[FieldError]


# Carriers.


class Carrier(BaseModel):
    model_config = _example(
        {
            "id": _CARRIER,
            "name": "Unum",
            "lines_of_coverage": ["dental", "vision"],
            "network": None,
            "cobra": False,
            "connection_time": "1-2 business days",
            "api_kinds": ["group_setup", "member_enrollment"],
            "carrier_group_id_format": "7 digits",
        }
    )

    id: uuid.UUID
    name: str
    lines_of_coverage: list[str]
    network: Any
    cobra: Any
    connection_time: Any
    api_kinds: list[str]
    carrier_group_id_format: str | None


# Group connections.


class GroupConnection(Record):
    """A group-carrier connection request and, once `completed`, the live link."""

    model_config = _example(
        _record(
            completed=None,
            organization_id=_ORG,
            group_id=_GROUP,
            carrier_id=_CARRIER,
            federal_ein="123456789",
            request_type="new_group",
            status="processing",
            group_data={"carrier_group_id": "0012345", "group_name": "Acme Corp"},
            setup_result={},
        )
    )

    completed: int | None
    organization_id: uuid.UUID
    group_id: uuid.UUID
    carrier_id: uuid.UUID
    federal_ein: str | None
    request_type: str
    status: str
    group_data: dict[str, Any]
    setup_result: dict[str, Any] | None


class GroupConnectionWithAudit(GroupConnection):
    """A connection of an existing group, naming the initial audit its run will request."""

    model_config = _example(
        _record(
            completed=None,
            organization_id=_ORG,
            group_id=_GROUP,
            carrier_id=_CARRIER,
            federal_ein="123456789",
            request_type="initial",
            status="created",
            group_data={"carrier_group_id": "0012345"},
            setup_result={},
            group_audit_request_id=_SNAPSHOT,
        )
    )

    group_audit_request_id: uuid.UUID


class ConnectionLiveState(BaseModel):
    """The running workflow's own view of a connection (a query)."""

    model_config = _example(
        {
            "connection_id": _CONNECTION,
            "status": "waiting_on_carrier",
            "group_data": {"carrier_group_id": "0012345", "group_name": "Acme Corp"},
            "federal_ein": "123456789",
            "reason": "the carrier has not set the group up yet",
            "rechecks": 2,
            "next_recheck_in_seconds": 3600.0,
            "amendments": 0,
        }
    )

    connection_id: uuid.UUID
    status: str
    group_data: GroupData
    federal_ein: str | None
    reason: str | None
    rechecks: int
    next_recheck_in_seconds: float | None
    amendments: int
    # The last review decision the run refused (a mistyped UI signal), until a valid one arrives.
    refused_review: str | None = None
    # When the next check at the carrier falls (`next_recheck_in_seconds` counts down to it).
    next_recheck_at: datetime | None = None


# Groups and their data.


class Group(Record):
    model_config = _example(
        _record(
            id=_GROUP,
            name="Acme Corp",
            dba_name=None,
            federal_ein="123456789",
            sic_code="5812",
            organization_id=_ORG,
        )
    )

    name: str
    dba_name: str | None
    federal_ein: str | None
    sic_code: str | None
    organization_id: uuid.UUID


class Contact(Record):
    model_config = _example(
        _record(
            group_id=_GROUP,
            types=["company"],
            first_name="Ada",
            last_name="Byron",
            email="ada@example.com",
            phone_number="+15555550100",
            title="HR",
            primary_contact=True,
            carrier_id=None,
        )
    )

    group_id: uuid.UUID
    types: list[str]
    first_name: str | None
    last_name: str | None
    email: str | None
    phone_number: str | None
    title: str | None
    primary_contact: bool
    carrier_id: uuid.UUID | None


class Location(Record):
    model_config = _example(
        _record(
            group_id=_GROUP,
            display_name="Head office",
            address={"street_one": "1 Main St", "city": "Springfield", "state": "IL"},
        )
    )

    group_id: uuid.UUID
    display_name: str
    address: dict[str, Any]


class CarrierConfiguration(Record):
    model_config = _example(
        _record(
            group_id=_GROUP,
            carrier_id=_CARRIER,
            carrier_group_id="0012345",
            configuration={},
            connection_configuration=None,
        )
    )

    group_id: uuid.UUID
    carrier_id: uuid.UUID
    carrier_group_id: str | None
    configuration: dict[str, Any]
    connection_configuration: dict[str, Any] | None


class GroupEnrollment(Record):
    model_config = _example(
        _record(
            group_id=_GROUP,
            carrier_id=_CARRIER,
            line_of_coverage="dental",
            status="active",
            effective_start_date="2025-01-01",
            effective_end_date="9999-12-31",
            open_enrollment_start_date=None,
            open_enrollment_end_date=None,
            open_enrollment_renewal_date=None,
        )
    )

    group_id: uuid.UUID
    carrier_id: uuid.UUID
    line_of_coverage: str
    status: str
    effective_start_date: date | None
    effective_end_date: date | None
    open_enrollment_start_date: date | None
    open_enrollment_end_date: date | None
    open_enrollment_renewal_date: date | None


class Plan(Record):
    """A group plan: these fields and the line of coverage's own (e.g. `plan_name`)."""

    model_config = _example(
        _record(
            group_enrollment_id=_CONNECTION,
            carrier_id=_CARRIER,
            line_of_coverage="dental",
            status="active",
            plan_name="Dental PPO",
        )
    )

    group_enrollment_id: uuid.UUID
    carrier_id: uuid.UUID
    line_of_coverage: str
    status: str


class PlanEnvelope(BaseModel):
    """`GET /plans/{id}` answers the plan under `plan`."""

    model_config = _example(
        {
            "plan": _record(
                group_enrollment_id=_CONNECTION,
                carrier_id=_CARRIER,
                line_of_coverage="dental",
                status="active",
                plan_name="Dental PPO",
            )
        }
    )

    plan: Plan


# Audits.


class LatestAudit(BaseModel):
    """The latest finished audit: when, and of which carriers."""

    model_config = _example(
        {"group_id": _GROUP, "completed_at": _CREATED, "carrier_ids": [_CARRIER]}
    )

    group_id: uuid.UUID
    completed_at: int | None
    carrier_ids: list[uuid.UUID]


class CarrierLatestAudit(LatestAudit):
    """One carrier's entry in `list_latest`: its latest finished audit."""

    model_config = _example(
        {
            "group_id": _GROUP,
            "completed_at": _CREATED,
            "carrier_ids": [_CARRIER],
            "carrier_id": _CARRIER,
        }
    )

    carrier_id: uuid.UUID


class GroupAudit(BaseModel):
    """A requested (or scheduled) audit, with `status`: processing, completed, failed, ..."""

    model_config = _example(
        {
            "id": _CONNECTION,
            "group_id": _GROUP,
            "carrier_ids": [_CARRIER],
            "trigger": "request",
            "created": _CREATED,
            "completed_at": None,
            "changes": {},
            "status": "processing",
        }
    )

    id: uuid.UUID
    group_id: uuid.UUID
    carrier_ids: list[uuid.UUID]
    trigger: str
    created: int
    completed_at: int | None
    changes: dict[str, Any] = Field(
        description="what the audit changed: counts by record type (`created`, `changed`), the "
        "group's `group_differences`, and `records`: each record created or changed "
        "(`record_type`, `id`, its carrier key, `change`, and `fields`: `{field, from, to}`)"
    )
    status: str
    failure_reason: str | None = Field(
        default=None, description="only when `status` is failed: why (the innermost cause)"
    )


# Disconnections and renewals.


class DisconnectionRequest(Record):
    model_config = _example(
        _record(
            organization_id=_ORG,
            carrier_id=_CARRIER,
            group_id=_GROUP,
            group_name="Acme Corp",
            source_type="platform",
            source_id=None,
            source_date=None,
            status="processing",
            effective_end_date="2026-12-31",
            reason="switching_carriers",
            context=None,
            status_reason=None,
            decided=None,
            completed=None,
        )
    )

    organization_id: uuid.UUID
    carrier_id: uuid.UUID
    group_id: uuid.UUID
    group_name: str
    source_type: str
    source_id: uuid.UUID | None
    source_date: date | None
    status: str
    effective_end_date: date | None
    reason: str | None
    context: str | None
    status_reason: str | None
    decided: int | None
    completed: int | None


class RenewalDecision(Record):
    model_config = _example(
        _record(
            group_id=_GROUP,
            renewal_date="2027-01-01",
            status="submitted",
            body={"carriers": []},
            issues=[],
        )
    )

    group_id: uuid.UUID
    renewal_date: date
    status: str
    body: dict[str, Any]
    issues: list[Any]


# Member snapshots, transactions, employees, differences.


class FulfillmentSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    carrier_id: uuid.UUID
    status: str
    errors: list[Any]


class MemberSnapshotSummary(Record):
    """A snapshot in a list: no payloads."""

    model_config = _example(
        _record(
            id=_SNAPSHOT,
            employee_id=_EMPLOYEE,
            group_id=_GROUP,
            status="completed",
            fulfillment_summary=[{"carrier_id": _CARRIER, "status": "completed", "errors": []}],
        )
    )

    employee_id: uuid.UUID
    group_id: uuid.UUID
    status: str
    fulfillment_summary: list[FulfillmentSummary]


class MemberSnapshot(MemberSnapshotSummary):
    """A snapshot as received (`inbound_snapshot`) and processed (`member_snapshot`)."""

    model_config = _example(
        _record(
            id=_SNAPSHOT,
            employee_id=_EMPLOYEE,
            group_id=_GROUP,
            status="submitted",
            fulfillment_summary=[{"carrier_id": _CARRIER, "status": "submitted", "errors": []}],
            replaced_by=None,
            member_snapshot={"employee": {"id": _EMPLOYEE}, "coverages": []},
            inbound_snapshot='{"employee": {...}, "coverages": [...]}',
            created_members=[{"id": _EMPLOYEE, "individual_type": "employee"}],
            warnings=[],
        )
    )

    replaced_by: uuid.UUID | None
    member_snapshot: dict[str, Any]
    inbound_snapshot: str
    created_members: list[dict[str, Any]]
    warnings: list[Any]


class SnapshotDryRun(BaseModel):
    """`.../member_snapshots/test`: what a submission would record; nothing is stored."""

    model_config = _example(
        {
            "id": None,
            "employee_id": None,
            "group_id": _GROUP,
            "status": "valid",
            "member_snapshot": {"employee": {"id": None}, "coverages": []},
            "inbound_snapshot": '{"employee": {...}, "coverages": [...]}',
            "created_members": [{"id": None, "individual_type": "employee"}],
            "warnings": [],
            "fulfillment_summary": [{"carrier_id": _CARRIER, "status": "valid", "errors": []}],
        }
    )

    id: None
    employee_id: uuid.UUID | None
    group_id: uuid.UUID
    status: str
    member_snapshot: dict[str, Any]
    inbound_snapshot: str
    created_members: list[dict[str, Any]]
    warnings: list[Any]
    fulfillment_summary: list[FulfillmentSummary]


class StatusDetail(BaseModel):
    """One step of a member transaction (kept oldest first)."""

    model_config = _example(
        {"status_detail": "submitted_to_carrier", "event_created": _CREATED, "message": None}
    )

    status_detail: str


class MemberTransaction(Record):
    """One carrier's part of a snapshot: what was sent, and how far the carrier has taken it."""

    model_config = _example(
        _record(
            id=_TRANSACTION,
            member_request_id=None,
            member_snapshot_id=_SNAPSHOT,
            employee_id=_EMPLOYEE,
            group_id=_GROUP,
            carrier_id=_CARRIER,
            lines_of_coverage=["dental"],
            transaction_type="new_enrollment",
            status="processing",
            body={},
            result=None,
            status_details=[{"status_detail": "submitted_to_carrier", "event_created": _CREATED}],
            verified=None,
        )
    )

    member_request_id: uuid.UUID | None
    member_snapshot_id: uuid.UUID
    employee_id: uuid.UUID
    group_id: uuid.UUID
    carrier_id: uuid.UUID
    lines_of_coverage: list[str]
    transaction_type: str
    status: str
    body: Any
    result: Any
    status_details: list[StatusDetail]


class CarrierStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    carrier_id: uuid.UUID
    status: str
    pending_changes: list[uuid.UUID]
    latest_platform_change: int | None


class EmployeeStatus(BaseModel):
    """Per carrier: `pending_changes`, `unable_to_fulfill` or `stable`."""

    model_config = _example(
        {
            "carrier_statuses": [
                {
                    "carrier_id": _CARRIER,
                    "status": "stable",
                    "pending_changes": [],
                    "latest_platform_change": _CREATED,
                }
            ]
        }
    )

    carrier_statuses: list[CarrierStatus]


class EmployeeSnapshot(BaseModel):
    """The employee as carrierlink holds them now, in the shape of a snapshot to submit."""

    model_config = _example(
        {"employee": {"id": _EMPLOYEE, "first_name": "Ada"}, "dependents": [], "coverages": []}
    )


class CarrierHeld(BaseModel):
    """A carrier holding the member: its own id for them and when it was last read."""

    model_config = ConfigDict(extra="allow")

    carrier_id: uuid.UUID
    carrier_member_id: str
    terminated: bool
    carrier_fetch_time: int


class Employee(Record):
    """An employee: the person as the platform last sent them, else as a carrier holds them."""

    model_config = _example(
        _record(
            id=_EMPLOYEE,
            group_id=_GROUP,
            employee_id=_EMPLOYEE,
            custom_individual_id="emp-1001",
            status="active",
            person={"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1985-12-10"},
            employment={"employment_status": "full-time", "hours_worked": 40},
            carriers=[
                {
                    "carrier_id": _CARRIER,
                    "carrier_member_id": _EMPLOYEE,
                    "terminated": False,
                    "carrier_fetch_time": _CREATED,
                }
            ],
        )
    )

    group_id: uuid.UUID
    employee_id: uuid.UUID
    custom_individual_id: str | None
    # `active` or `terminated`; a plain string, as the generated clients' `EmployeeStatus` is
    # already the status-per-carrier model.
    status: str
    person: dict[str, Any] | None
    employment: dict[str, Any] | None
    carriers: list[CarrierHeld]


class Dependent(Record):
    """A dependent of an employee, read like an employee."""

    model_config = _example(
        _record(
            group_id=_GROUP,
            employee_id=_EMPLOYEE,
            custom_individual_id="emp-1001-spouse",
            relationship="spouse",
            person={"first_name": "Charles", "last_name": "Lovelace"},
            carriers=[],
        )
    )

    group_id: uuid.UUID
    employee_id: uuid.UUID
    custom_individual_id: str | None
    relationship: str | None
    person: dict[str, Any] | None
    carriers: list[CarrierHeld]


class EnrollmentSide(BaseModel):
    """One side of an individual enrollment: its dates and volume."""

    model_config = ConfigDict(extra="allow")

    effective_start_date: date
    effective_end_date: date
    volume: int | None = None


class IndividualEnrollment(BaseModel):
    """One person's coverage under one plan at one carrier: as the platform last sent it
    (`platform`) and as the carrier holds it (`carrier`), with the carrier's calculated
    effective date."""

    model_config = _example(
        {
            "id": _SNAPSHOT,
            "individual_id": _EMPLOYEE,
            "individual_type": "employee",
            "carrier_id": _CARRIER,
            "line_of_coverage": "dental",
            "plan_id": _TRANSACTION,
            "carrier_plan_id": "plan-dental-0",
            "platform": {
                "effective_start_date": "2026-02-01",
                "effective_end_date": "9999-12-31",
                "volume": None,
            },
            "carrier": {
                "effective_start_date": "2026-03-01",
                "effective_end_date": "9999-12-31",
                "volume": None,
            },
            "carrier_effective_date": "2026-03-01",
            "status": "active",
        }
    )

    id: uuid.UUID
    individual_id: uuid.UUID
    individual_type: Literal["employee", "dependent"]
    carrier_id: uuid.UUID
    line_of_coverage: str
    plan_id: uuid.UUID
    carrier_plan_id: str
    platform: EnrollmentSide | None
    carrier: EnrollmentSide | None
    carrier_effective_date: date | None
    status: Literal["active", "terminated"]


class Difference(Record):
    """A difference between the platform's snapshot and what a carrier holds."""

    model_config = _example(
        _record(
            group_id=_GROUP,
            carrier_id=_CARRIER,
            employee_id=_EMPLOYEE,
            object_type="employee",
            object_id=_EMPLOYEE,
            coverage_key=[],
            impact_type="demographic",
            impact_score=1,
            difference_classification="field_mismatch",
            difference_type="demographic_mismatch",
            fields=[{"field": "last_name"}],
            resolved=None,
            replaced_by=None,
            is_dismissed=False,
            assignee_id=None,
            is_suppressed=False,
            is_discrepancy=True,
            discrepancy_time=_CREATED,
            is_open=True,
        )
    )

    group_id: uuid.UUID
    carrier_id: uuid.UUID
    employee_id: uuid.UUID
    object_type: str
    object_id: uuid.UUID
    coverage_key: list[Any]
    impact_type: str | None
    impact_score: int | None
    difference_classification: str
    difference_type: str
    fields: Any
    resolved: Any
    replaced_by: uuid.UUID | None
    is_dismissed: bool
    # Who on the platform's team works it (`PUT /differences/{id}/assign`).
    assignee_id: uuid.UUID | None
    is_suppressed: bool
    is_discrepancy: bool
    discrepancy_time: Any
    is_open: bool


class DifferenceDetail(Difference):
    """One difference by id: the list shape, its organization, origin and sources."""

    organization_id: uuid.UUID
    member_snapshot_id: uuid.UUID | None
    member_transaction_id: uuid.UUID | None
    sources: list[Any]


class ChangedDifferences(BaseModel):
    """A batch write's answer: the differences it changed (those already so are left out)."""

    model_config = _example({"ids": [_EMPLOYEE]})

    ids: list[uuid.UUID]


# Webhook subscriptions and their deliveries (store/webhooks.py `as_contract()`).

_SUBSCRIPTION = "8f1b2c3d-0000-4000-8000-000000000007"
_DELIVERY = "8f1b2c3d-0000-4000-8000-000000000008"
_EVENT = "8f1b2c3d-0000-4000-8000-000000000009"


def _subscription(**fields: Any) -> dict[str, Any]:
    return _record(
        id=_SUBSCRIPTION,
        organization_id=_ORG,
        url="https://hooks.example.com/carrierlink",
        event_types=["member_snapshot.status_change"],
        description="Our connection dashboard",
        paused=False,
        status="healthy",
        **fields,
    )


class WebhookSubscription(Record):
    """Where events are POSTed, and how that is going (`healthy`, `unhealthy`, `failed`); never the
    secret."""

    model_config = _example(_subscription())

    organization_id: uuid.UUID
    url: str
    # None: every event type.
    event_types: list[str] | None
    description: str | None
    paused: bool
    status: str


class NewWebhookSubscription(WebhookSubscription):
    """A new subscription with its signing `secret`: the only time it is shown."""

    model_config = _example(_subscription(secret="whsec_example-shown-once"))

    secret: str


class RotatedWebhookSubscription(NewWebhookSubscription):
    """The subscription with its new `secret` (shown this once); the old one keeps signing until
    `previous_secret_expires` (Unix seconds)."""

    model_config = _example(
        _subscription(secret="whsec_example-rotated", previous_secret_expires=_CREATED + 86_400)
    )

    previous_secret_expires: int | None


class WebhookAttempt(BaseModel):
    """One POST of a delivery: when, the response code (None: no response), how long it took."""

    model_config = _example(
        {
            "attempted": _CREATED,
            "response_code": 200,
            "latency_ms": 84,
            "error": None,
            "next_attempt": None,
        }
    )

    attempted: int
    response_code: int | None
    latency_ms: int
    error: str | None
    next_attempt: int | None


class WebhookDelivery(BaseModel):
    """One event owed to one subscription, with every attempt so far (oldest first)."""

    model_config = _example(
        {
            "id": _DELIVERY,
            "subscription_id": _SUBSCRIPTION,
            "event_id": _EVENT,
            "event_type": "test.hello_world",
            "status": "delivered",
            "created": _CREATED,
            "delivered": _CREATED,
            "next_attempt": None,
            "attempts": [
                {
                    "attempted": _CREATED,
                    "response_code": 200,
                    "latency_ms": 84,
                    "error": None,
                    "next_attempt": None,
                }
            ],
        }
    )

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str
    created: int
    delivered: int | None
    next_attempt: int | None
    attempts: list[WebhookAttempt]


# API clients and their tokens (store/clients.py `ClientView.as_dict()`, api/routers/auth.py).


def _client(**fields: Any) -> dict[str, Any]:
    return {
        "client_id": "clc_4f9d2a7b1c3e5d6f7a8b9c0d",
        "organization": "acme-benefits",
        "label": "payroll sync",
        "created": _CREATED,
        "revoked": None,
        **fields,
    }


class ApiClient(BaseModel):
    """An API client of an organization (`revoked`: Unix seconds, or None); never its secret."""

    model_config = _example(_client())

    client_id: str
    organization: str
    label: str
    created: int
    revoked: int | None


class NewApiClient(ApiClient):
    """A new client with its `client_secret`: the only time it is shown."""

    model_config = _example(_client(client_secret="cls_example-shown-once"))

    client_secret: str


class TokenResponse(BaseModel):
    """A bearer token for `Authorization: Bearer <access_token>`, valid `expires_in` seconds."""

    model_config = _example(
        {
            "access_token": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
            "expires_in": 3600,
            "token_type": "Bearer",
        }
    )

    access_token: str
    # Seconds (the contract leaves the unit open; see README).
    expires_in: int
    token_type: Literal["Bearer"] = "Bearer"


# Probes.


class Health(BaseModel):
    """`ok` or `unavailable`, and each dependency's check: "ok" or what is wrong."""

    model_config = _example(
        {
            "status": "ok",
            "checks": {"postgresql": "ok", "migrations": "ok", "temporal": "ok"},
        }
    )

    status: str
    checks: dict[str, str]


class Pong(BaseModel):
    model_config = _example({"status": "ok"})

    status: str


__all__ = ["Page"]


# Coverage exports (a census as of a date; store/models.py `CoverageExport.as_contract()`).

_EXPORT = "8f1b2c3d-0000-4000-8000-00000000e001"
_EXPORT_FIELDS: dict[str, Any] = {
    "id": _EXPORT,
    "organization_id": _ORG,
    "group_id": _GROUP,
    "as_of": "2026-01-31",
    "carrier_ids": [_CARRIER],
    "status": "processing",
    "percentage_complete": 40,
    "employees": 2000,
    "record_count": 5100,
    "created": _CREATED,
    "modified": _CREATED,
    "completed": None,
    "expires": _CREATED + 86_400,
}


class CoverageExport(BaseModel):
    """A census as of a date being built (`processing`, `percentage_complete`) or ready to
    download (`completed`) until `expires` (Unix seconds), then gone (404)."""

    model_config = _example(_EXPORT_FIELDS)

    id: uuid.UUID
    organization_id: uuid.UUID
    group_id: uuid.UUID
    as_of: date
    carrier_ids: list[uuid.UUID]
    status: Literal["processing", "completed"]
    percentage_complete: int
    employees: int
    record_count: int
    created: int
    modified: int
    completed: int | None
    expires: int


class CoverageExportRecord(BaseModel):
    """One individual's enrollment in one coverage in force on the day at one carrier (the
    coverage columns empty for an individual with none)."""

    carrier_id: uuid.UUID
    employee_id: uuid.UUID
    individual_id: uuid.UUID
    individual_type: Literal["employee", "dependent"]
    relationship: str | None
    first_name: str | None
    last_name: str | None
    date_of_birth: str | None
    sex: str | None
    line_of_coverage: str | None
    plan_id: uuid.UUID | None
    carrier_plan_id: str | None
    effective_start_date: date | None
    effective_end_date: date | None
    volume: int | None
    member_transaction_id: uuid.UUID
    # When the carrier completed the change that made it hold this (Unix seconds).
    held_since: int


class CoverageExportDownload(BaseModel):
    """`?format=json`: the export and its records (`?format=csv`: the records, one a line)."""

    model_config = _example(
        {
            "id": _EXPORT,
            "group_id": _GROUP,
            "as_of": "2026-01-31",
            "carrier_ids": [_CARRIER],
            "completed": _CREATED,
            "records": [
                {
                    "carrier_id": _CARRIER,
                    "employee_id": _EMPLOYEE,
                    "individual_id": _EMPLOYEE,
                    "individual_type": "employee",
                    "relationship": None,
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "date_of_birth": "1980-12-10",
                    "sex": "F",
                    "line_of_coverage": "dental",
                    "plan_id": "8f1b2c3d-0000-4000-8000-00000000a001",
                    "carrier_plan_id": "DEN-1",
                    "effective_start_date": "2026-01-01",
                    "effective_end_date": "9999-12-31",
                    "volume": None,
                    "member_transaction_id": "8f1b2c3d-0000-4000-8000-00000000a002",
                    "held_since": _CREATED,
                }
            ],
        }
    )

    id: uuid.UUID
    group_id: uuid.UUID
    as_of: date
    carrier_ids: list[uuid.UUID]
    completed: int | None
    records: list[CoverageExportRecord]


# Feeds to file carriers.


class Feed(Record):
    model_config = _example(
        _record(
            group_id=_GROUP,
            carrier_id=_CARRIER,
            carrier_group_id="LM104233",
            status="active",
            testing=True,
            paused=False,
            rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR",
            time_of_day="06:00",
            zone_info="America/Chicago",
            file_mode="changes",
            error_threshold=None,
            approved=None,
        )
    )

    group_id: uuid.UUID
    carrier_id: uuid.UUID
    carrier_group_id: str
    status: Literal["active", "retired"]
    testing: bool
    paused: bool
    rrule: str
    time_of_day: str
    zone_info: str
    file_mode: Literal["changes", "full"]
    error_threshold: float | None
    approved: int | None


class FeedRunCounts(BaseModel):
    model_config = ConfigDict(extra="allow")

    members: int | None = None
    primaries: int | None = None
    dependents: int | None = None
    enrollments: int | None = None
    terminations: int | None = None


class FeedRunAudit(BaseModel):
    count: FeedRunCounts


class FeedRunFile(BaseModel):
    name: str | None
    interchange_control_number: int | None
    group_control_number: int | None
    sha256: str | None
    bytes: int | None
    audit: FeedRunAudit


class FeedRunDetails(BaseModel):
    file: FeedRunFile
    acknowledgement: dict[str, Any]


class FeedRun(Record):
    model_config = _example(
        _record(
            feed_id=_CONNECTION,
            group_id=_GROUP,
            carrier_id=_CARRIER,
            status="accepted",
            trigger="scheduled",
            testing=False,
            file_mode="changes",
            details={
                "file": {
                    "name": "LARKSPUR_LM104233_000000012.834",
                    "interchange_control_number": 12,
                    "group_control_number": 12,
                    "sha256": "0" * 64,
                    "bytes": 2048,
                    "audit": {
                        "count": {
                            "members": 3,
                            "primaries": 1,
                            "dependents": 2,
                            "enrollments": 5,
                            "terminations": 0,
                        }
                    },
                },
                "acknowledgement": {"code": "A", "transactions": []},
            },
            reason=None,
            sent_timestamp=_CREATED,
            acknowledged=_CREATED + 60,
            resends=0,
        )
    )

    feed_id: uuid.UUID
    group_id: uuid.UUID
    carrier_id: uuid.UUID
    status: str
    trigger: Literal["scheduled", "on_demand", "resend"]
    testing: bool
    file_mode: Literal["changes", "full"]
    details: FeedRunDetails
    reason: str | None
    sent_timestamp: int | None
    acknowledged: int | None
    resends: int


class FeedRunFileLink(BaseModel):
    """A link to the run's file (it holds PII): signed, valid until `expires` (300 s)."""

    model_config = _example(
        {
            "url": "https://api.example/api/v1/feed_runs/8f1b2c3d-.../file/content?expires=...",
            "expires": _CREATED + 300,
        }
    )

    url: str
    expires: int
