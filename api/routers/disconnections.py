"""`/api/v1/group_disconnection_requests`: request, list, read, confirm, reject and edit.

A request's run (`workflows.disconnection`) owns its status: the API creates the row and starts
the run, and every decision (confirm, reject, edit) goes to the run as a Temporal update, which
refuses an illegal one synchronously and answers once the decision is recorded in PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.deps import (
    DB,
    AppSettings,
    OrganizationId,
    Page,
    Paging,
    TemporalClient,
    csv_choices,
    csv_uuids,
    date_param,
    owned_or_404,
    sorted_page,
)
from api.errors import ApiError
from api.schemas import (
    DisconnectionConfirm,
    DisconnectionEdit,
    DisconnectionReject,
    NewDisconnectionRequest,
)
from carriers import carrier_info
from domain.disconnections import (
    OPEN,
    Decision,
    DisconnectionReason,
    DisconnectionStatus,
    RejectionReason,
    SourceType,
)
from domain.errors import ValidationFailed
from services.disconnections import (
    check_decision_end_date,
    decide,
    run_input,
    start_disconnection,
)
from store.connections import open_disconnection_request
from store.db import Database
from store.group_data import Contains
from store.models import Group, GroupDisconnectionRequest, RecordVersion
from store.versioning import save_version
from workflows import disconnection as wf

router = APIRouter(prefix="/api/v1", tags=["group disconnection requests"])
GDR = GroupDisconnectionRequest
WHAT = "group disconnection request"

SortBy = Literal["created", "modified", "status"]
Direction = Literal["asc", "desc"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _unavailable(exc: RPCError) -> ApiError:
    return ApiError(503, f"the workflow service is unavailable: {exc.message}")


# Creating a request.


def _duplicate(existing: GroupDisconnectionRequest) -> ApiError:
    return ApiError(
        409,
        f"an open disconnection request for this group and carrier already exists: "
        f"{existing.id} ({existing.status})",
        existing_id=str(existing.id),
        existing_status=existing.status,
    )


@router.post("/group_disconnection_requests", status_code=201)
async def create_disconnection_request(
    body: NewDisconnectionRequest,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Starts in `processing`; the run checks it and moves it to `rejected` (with the reason in
    `status_reason`) when the group has no completed connection to the carrier or the end date
    does not fit."""
    carrier_info(body.carrier_id)  # 422 naming carrier_id when unknown
    try:
        async with db.transaction() as session:
            group = await owned_or_404(session, Group, body.group_id, organization_id, "group")
            existing = await open_disconnection_request(session, group.id, body.carrier_id)
            if existing is not None:
                raise _duplicate(existing)
            request_id = uuid.uuid4()
            row = GroupDisconnectionRequest(
                id=request_id,
                organization_id=organization_id,
                group_id=group.id,
                carrier_id=body.carrier_id,
                group_name=group.name,
                source_type=SourceType.PLATFORM.value,
                status=DisconnectionStatus.PROCESSING.value,
                effective_end_date=body.effective_end_date,
                reason=body.reason.value if body.reason else None,
                context=body.context,
                workflow_id=wf.workflow_id(request_id),
                status_seq=0,
            )
            await save_version(session, row, is_new=True)  # a raced twin fails here
    except IntegrityError:
        async with db.transaction() as session:
            existing = await open_disconnection_request(session, body.group_id, body.carrier_id)
        raise (
            _duplicate(existing)
            if existing
            else ApiError(409, "an open disconnection request for this group and carrier exists")
        ) from None
    # Started after the commit: the run's first activity reads the row.
    try:
        await start_disconnection(temporal, settings, run_input(row))
    except RPCError as exc:
        # Nothing will process the row: take it back so it does not block a new request.
        async with db.transaction() as session:
            await session.execute(delete(RecordVersion).where(RecordVersion.record_id == row.id))
            await session.execute(delete(GDR).where(GDR.id == row.id))
        raise _unavailable(exc) from exc
    return row.as_contract()


# Lists.


StatusFilter = Annotated[
    str | None,
    Query(description="comma-separated: needs_review, processing, completed, rejected"),
]
CarrierFilter = Annotated[str | None, Query(description="comma-separated carrier ids")]
MinEnd = Annotated[str | None, Query(description="YYYY-MM-DD: effective_end_date on or after")]
MaxEnd = Annotated[str | None, Query(description="YYYY-MM-DD: effective_end_date on or before")]
Search = Annotated[str | None, Query(description="part of the group name (any case)")]
SourceFilter = Annotated[str | None, Query(description="comma-separated source types")]
IdFilter = Annotated[str | None, Query(description="comma-separated request ids")]


@dataclass(frozen=True)
class DisconnectionFilters:
    """The query filters both lists take, as given.

    Checked by `conditions()` in the endpoint, not here: FastAPI calls a dependency even when
    other parameters failed, and their 422 must come first.
    """

    status: StatusFilter = None
    carrier_id: CarrierFilter = None
    min_effective_end_date: MinEnd = None
    max_effective_end_date: MaxEnd = None
    search: Search = None
    source_type: SourceFilter = None
    id: IdFilter = None

    def conditions(self) -> list[Any]:
        """The filters as conditions on the requests (422 naming the first one not valid)."""
        conditions: list[Any] = []
        if statuses := csv_choices(self.status, "status", (s.value for s in DisconnectionStatus)):
            conditions.append(GDR.status.in_(statuses))
        if carriers := csv_uuids(self.carrier_id, "carrier_id"):
            conditions.append(GDR.carrier_id.in_(carriers))
        earliest = date_param(self.min_effective_end_date, "min_effective_end_date")
        if earliest is not None:
            conditions.append(GDR.effective_end_date >= earliest)
        latest = date_param(self.max_effective_end_date, "max_effective_end_date")
        if latest is not None:
            conditions.append(GDR.effective_end_date <= latest)
        if self.search:
            conditions.append(Contains(("group_name",), self.search).condition(GDR))
        if sources := csv_choices(self.source_type, "source_type", (s.value for s in SourceType)):
            conditions.append(GDR.source_type.in_(sources))
        if ids := csv_uuids(self.id, "id"):
            conditions.append(GDR.id.in_(ids))
        return conditions


Filters = Annotated[DisconnectionFilters, Depends()]


@router.get("/group_disconnection_requests")
async def list_disconnection_requests(
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    group_id: Annotated[str | None, Query(description="comma-separated group ids")] = None,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    conditions = filters.conditions()
    if groups := csv_uuids(group_id, "group_id"):
        conditions.append(GDR.group_id.in_(groups))
    return await sorted_page(
        db,
        GDR,
        page,
        conditions=[GDR.organization_id == organization_id, *conditions],
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get("/groups/{group_id}/group_disconnection_requests")
async def list_group_disconnection_requests(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    filters: Filters,
    page: Paging,
    sort_by: SortBy = "created",
    sort_direction: Direction = "desc",
) -> Page[Any]:
    conditions = filters.conditions()
    async with db.transaction() as session:
        await owned_or_404(session, Group, group_id, organization_id, "group")
    conditions.append(GDR.group_id == group_id)
    return await sorted_page(
        db,
        GDR,
        page,
        conditions=[GDR.organization_id == organization_id, *conditions],
        sort_by=sort_by,
        sort_direction=sort_direction,
    )


@router.get("/group_disconnection_requests/{request_id}")
async def get_disconnection_request(
    request_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    async with db.transaction() as session:
        return (await owned_or_404(session, GDR, request_id, organization_id, WHAT)).as_contract()


OPEN_VALUES = frozenset(status.value for status in OPEN)

# Decisions: confirm, reject, edit. `/confirm` and `/reject` are registered before `/{version}`.


async def _decided(
    db: Database,
    temporal: TemporalClient,
    settings: AppSettings,
    organization_id: uuid.UUID,
    request_id: uuid.UUID,
    decision: Decision,
    *,
    version: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Send the decision to the request's run; the row as recorded once the run has applied it."""
    # No lock is held while the run decides: its recording activity writes this row.
    async with db.transaction() as session:
        row = await owned_or_404(session, GDR, request_id, organization_id, WHAT)
        today = datetime.now(UTC).date()
        await check_decision_end_date(session, row, decision, settings=settings, today=today)
    if row.status == DisconnectionStatus.COMPLETED.value:
        raise ApiError(
            409,
            "the request is completed: the group is disconnected",
            current_status=row.status,
        )
    if version is not None and version != row.version:
        raise ApiError(
            409,
            f"version conflict: the current version is {row.version}",
            current_version=str(row.version),
        )
    if decision.status == DisconnectionStatus.PROCESSING.value and row.status not in OPEN_VALUES:
        # Reopening a rejected request while another one is open would make two.
        async with db.transaction() as session:
            existing = await open_disconnection_request(session, row.group_id, row.carrier_id)
        if existing is not None:
            raise _duplicate(existing)
    try:
        await decide(temporal, settings, row, decision)
    except WorkflowUpdateFailedError as exc:
        raise _refused(exc) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise ApiError(
            503, "the workflow service did not answer in time; the decision may still apply"
        ) from exc
    except RPCError as exc:
        raise _unavailable(exc) from exc
    async with db.transaction() as session:
        return (await owned_or_404(session, GDR, request_id, organization_id, WHAT)).as_contract()


def _refused(exc: WorkflowUpdateFailedError) -> Exception:
    """The run's refusal as the API's answer: 409 (illegal, stale version) or 422."""
    cause = exc.cause
    if not isinstance(cause, ApplicationError):
        return ApiError(409, f"the decision was refused: {cause}")
    details = [str(d) for d in cause.details]
    if cause.type == wf.ILLEGAL_DECISION:
        return ApiError(409, cause.message, current_status=details[0] if details else None)
    if cause.type == wf.VERSION_CONFLICT:
        return ApiError(409, cause.message, current_version=details[0] if details else None)
    if cause.type == wf.INVALID_DECISION and len(details) >= 2:
        return ValidationFailed.one(details[0], details[1])
    return ApiError(409, f"the decision was refused: {cause.message}")


@router.put("/group_disconnection_requests/{request_id}/confirm")
async def confirm_disconnection_request(
    request_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
    body: DisconnectionConfirm | None = None,
) -> dict[str, Any]:
    """Moves the request to `processing`; `effective_end_date` is needed if none is set yet."""
    decision = Decision.confirm(body.effective_end_date if body else None)
    return await _decided(db, temporal, settings, organization_id, request_id, decision)


@router.put("/group_disconnection_requests/{request_id}/reject")
async def reject_disconnection_request(
    request_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
    body: DisconnectionReject | None = None,
) -> dict[str, Any]:
    """Moves the request to `rejected`: the group stays connected."""
    body = body or DisconnectionReject()
    decision = Decision.reject(body.reason.value if body.reason else None, body.context)
    return await _decided(db, temporal, settings, organization_id, request_id, decision)


@router.put("/group_disconnection_requests/{request_id}/{version:version}")
async def edit_disconnection_request(
    request_id: uuid.UUID,
    version: uuid.UUID,
    body: DisconnectionEdit,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Edit against `version` (else 409 with `current_version`): `processing` confirms or
    resubmits (a rejected platform request is checked again), `rejected` rejects."""
    if body.reason is not None:
        allowed = RejectionReason if body.status == "rejected" else DisconnectionReason
        choices = [r.value for r in allowed]
        if body.reason not in choices:
            raise ValidationFailed.one(
                "reason", f"for status {body.status}, one of {', '.join(choices)}"
            )
    decision = Decision(
        kind="edit",
        status=body.status,
        effective_end_date=body.effective_end_date,
        reason=body.reason,
        context=body.context,
        expected_version=version,
    )
    return await _decided(
        db, temporal, settings, organization_id, request_id, decision, version=version
    )
