"""The disconnection lifecycle's use cases: request, decide (confirm, reject, edit), and the
run's steps (record a status, check a request, disconnect, raise the carrier's end of a group).

A request's run (`workflows.disconnection`) owns its status: a platform's request is recorded
and its run started here, and every decision goes to the run as a Temporal update, which refuses
an illegal one synchronously and answers once the decision is recorded in PostgreSQL. Refusals
leave as domain errors (`NotFound`, `Conflict`, `ValidationFailed`, `Unavailable`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from carriers import carrier_info
from domain.disconnections import (
    OPEN,
    CarrierEnded,
    CheckResult,
    Decision,
    DisconnectGroup,
    DisconnectionChange,
    DisconnectionInput,
    DisconnectionState,
    DisconnectionStatus,
    RequestCheck,
    SourceType,
    end_date_problem,
    platform_request_problem,
)
from domain.errors import Conflict, Unavailable, ValidationFailed
from runtime.settings import Settings
from services.audits import pause_audit_schedule
from store import disconnections as requests
from store.audits import group_name
from store.connections import live_connection, open_disconnection_request
from store.db import Database
from store.models import Group, GroupDisconnectionRequest
from store.tenancy import owned
from workflows import disconnection as wf

WHAT = "group disconnection request"
OPEN_VALUES = frozenset(status.value for status in OPEN)


def run_input(row: GroupDisconnectionRequest) -> DisconnectionInput:
    """What a run needs to carry the stored request on from where its row stands."""
    return DisconnectionInput(
        request_id=row.id,
        organization_id=row.organization_id,
        group_id=row.group_id,
        carrier_id=row.carrier_id,
        connection_id=row.connection_id,
        source_type=SourceType(row.source_type),
        source_id=row.source_id,
        state=DisconnectionState(
            request_id=row.id,
            status=DisconnectionStatus(row.status),
            version=row.version,
            effective_end_date=row.effective_end_date,
            reason=row.reason,
            context=row.context,
            status_reason=row.status_reason,
        ),
        status_seq=row.status_seq,
    )


def _summary(name: str | None, input: DisconnectionInput) -> str:
    """The run's static summary in the Temporal UI: the group's and the carrier's names."""
    carrier = carrier_info(input.carrier_id).name
    return wf.summary(name or str(input.group_id), carrier, input.source_type.value)


async def start_disconnection(
    client: Client, settings: Settings, input: DisconnectionInput, *, group_name: str | None
) -> WorkflowHandle[wf.GroupDisconnectionWorkflow, DisconnectionState]:
    """Start the request's run; an already running one is kept (a repeated start is harmless)."""
    return await client.start_workflow(
        wf.GroupDisconnectionWorkflow.run,
        input,
        id=wf.workflow_id(input.request_id),
        task_queue=settings.task_queue,
        search_attributes=wf.search_attributes(input),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=_summary(group_name, input),
    )


async def decide(
    client: Client,
    settings: Settings,
    row: GroupDisconnectionRequest,
    decision: Decision,
    *,
    group_name: str | None,
) -> DisconnectionState:
    """Send a decision to the request's run, starting a new run if the last one has ended.

    A rejected request's run has ended; confirming or editing it starts the next run from the
    row (update-with-start), so there is one path whether or not a run is alive.

    Raises:
        temporalio.client.WorkflowUpdateFailedError: the run refused the decision; its cause is
            an ApplicationError of type `wf.ILLEGAL_DECISION`, `wf.VERSION_CONFLICT` or
            `wf.INVALID_DECISION`.
    """
    input = run_input(row)
    start = WithStartWorkflowOperation(
        wf.GroupDisconnectionWorkflow.run,
        input,
        id=wf.workflow_id(row.id),
        task_queue=settings.task_queue,
        search_attributes=wf.search_attributes(input),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=_summary(group_name, input),
    )
    return await client.execute_update_with_start_workflow(
        wf.GroupDisconnectionWorkflow.decide, decision, start_workflow_operation=start
    )


def _duplicate(existing: GroupDisconnectionRequest) -> Conflict:
    return Conflict(
        f"an open disconnection request for this group and carrier already exists: "
        f"{existing.id} ({existing.status})",
        existing_id=str(existing.id),
        existing_status=existing.status,
    )


async def request_disconnection(
    db: Database,
    temporal: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    carrier_id: uuid.UUID,
    effective_end_date: date | None,
    reason: str | None,
    context: str | None,
) -> dict[str, Any]:
    """A platform's request: recorded in `processing` and its run started; the run checks it and
    moves it to `rejected` (reason in `status_reason`) when it does not fit."""
    carrier_info(carrier_id)  # ValidationFailed naming carrier_id when unknown
    request_id = uuid.uuid4()
    try:
        async with db.transaction() as session:
            group = await owned(session, Group, group_id, organization_id, what="group")
            existing = await open_disconnection_request(session, group.id, carrier_id)
            if existing is not None:
                raise _duplicate(existing)
            row = await requests.add_platform_request(
                session,
                group,
                carrier_id=carrier_id,
                effective_end_date=effective_end_date,
                reason=reason,
                context=context,
                workflow_id=wf.workflow_id(request_id),
                request_id=request_id,
            )
    except IntegrityError:
        async with db.transaction() as session:
            existing = await open_disconnection_request(session, group_id, carrier_id)
        raise (
            _duplicate(existing)
            if existing
            else Conflict("an open disconnection request for this group and carrier exists")
        ) from None
    # Started after the commit: the run's first activity reads the row.
    try:
        await start_disconnection(temporal, settings, run_input(row), group_name=group.name)
    except RPCError:
        # Nothing will process the row: take it back so it does not block a new request.
        async with db.transaction() as session:
            await requests.discard_request(session, row.id)
        raise
    return row.as_contract()


async def decide_request(
    db: Database,
    temporal: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    request_id: uuid.UUID,
    decision: Decision,
    version: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Send the decision to the request's run; the request as recorded once the run applied it.
    With `version`, the decision is for that version only (else `Conflict`)."""
    # No lock is held while the run decides: its recording activity writes this row.
    async with db.transaction() as session:
        row = await owned(
            session, GroupDisconnectionRequest, request_id, organization_id, what=WHAT
        )
        await _check_decision_end_date(session, row, decision, settings)
        name = await group_name(session, row.group_id)
    if row.status == DisconnectionStatus.COMPLETED.value:
        raise Conflict(
            "the request is completed: the group is disconnected", current_status=row.status
        )
    if version is not None and version != row.version:
        raise Conflict(
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
        await decide(temporal, settings, row, decision, group_name=name)
    except WorkflowUpdateFailedError as exc:
        raise _refused(exc) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise Unavailable(
            "the workflow service did not answer in time; the decision may still apply"
        ) from exc
    async with db.transaction() as session:
        row = await owned(
            session, GroupDisconnectionRequest, request_id, organization_id, what=WHAT
        )
        return row.as_contract()


def _refused(exc: WorkflowUpdateFailedError) -> Exception:
    """The run's refusal in the domain's words: a conflict (illegal, stale version) or a field."""
    cause = exc.cause
    if not isinstance(cause, ApplicationError):
        return Conflict(f"the decision was refused: {cause}")
    details = [str(d) for d in cause.details]
    if cause.type == wf.ILLEGAL_DECISION:
        return Conflict(cause.message, current_status=details[0] if details else None)
    if cause.type == wf.VERSION_CONFLICT:
        return Conflict(cause.message, current_version=details[0] if details else None)
    if cause.type == wf.INVALID_DECISION and len(details) >= 2:
        return ValidationFailed.one(details[0], details[1])
    return Conflict(f"the decision was refused: {cause.message}")


# The run's steps (called by `activities.disconnection`).


async def record_status(db: Database, change: DisconnectionChange) -> uuid.UUID:
    """Write the request's new state once; its version after it."""
    async with db.transaction() as session:
        return await requests.record_status(
            session, change, workflow_id=wf.workflow_id(change.input.request_id)
        )


async def check_request(db: Database, settings: Settings, check: RequestCheck) -> CheckResult:
    """Is a platform's request for a connected group, with a plausible end date?"""
    async with db.transaction() as session:
        connection = await live_connection(session, check.group_id, check.carrier_id)
        coverage_start = await requests.coverage_start(session, check.group_id, check.carrier_id)
    return CheckResult(
        connection_id=connection.id if connection else None,
        problem=platform_request_problem(
            connected=connection is not None,
            coverage_start=coverage_start,
            effective_end_date=check.effective_end_date,
            today=datetime.now(UTC).date(),
            max_days_past=settings.disconnection_max_days_past,
        ),
    )


async def disconnect_group(db: Database, client: Client, request: DisconnectGroup) -> None:
    """Mark the connection disconnected and pause its audits; safe to repeat."""
    async with db.transaction() as session:
        connection = await requests.mark_disconnected(
            session,
            connection_id=request.connection_id,
            group_id=request.group_id,
            carrier_id=request.carrier_id,
        )
        if connection is None:
            return
        carrier_group_id = connection.carrier_group_id
    await pause_audit_schedule(
        client,
        carrier_id=request.carrier_id,
        carrier_group_id=carrier_group_id,
        group_id=request.group_id,
        note=f"disconnected by request {request.request_id}",
    )


async def raise_carrier_disconnection(
    db: Database, client: Client, settings: Settings, ended: CarrierEnded
) -> uuid.UUID | None:
    """The carrier ended the group: a `needs_review` request, once per reported end date.

    Returns the request's id, or None when there is nothing to raise (another request is open
    for the group and carrier, or the connection is gone).
    """
    request_id = ended.request_id()
    try:
        async with db.transaction() as session:
            row = await session.get(GroupDisconnectionRequest, request_id)
            if row is None:
                row = await requests.add_carrier_request(
                    session, ended, request_id, wf.workflow_id(request_id)
                )
                if row is None:
                    return None
            name = await group_name(session, row.group_id)
    except IntegrityError:
        return None  # a request was opened for the group and carrier meanwhile
    if DisconnectionStatus(row.status) in OPEN:
        # Started here (not by the caller's workflow) so a repeat of this step after a crash
        # still starts it; an already running request is left as it is.
        await start_disconnection(client, settings, run_input(row), group_name=name)
    return row.id


async def _check_decision_end_date(
    session: AsyncSession, row: GroupDisconnectionRequest, decision: Decision, settings: Settings
) -> None:
    """Refuse (`ValidationFailed`) a decision's new end date that a new request could not have.

    A platform's request is checked by its run; a confirm or edit, whatever raised the request,
    meets the same rule here, so no decision disconnects a group from a long-past date.
    """
    if decision.status != DisconnectionStatus.PROCESSING.value or not decision.effective_end_date:
        return
    problem = end_date_problem(
        effective_end_date=decision.effective_end_date,
        coverage_start=await requests.coverage_start(session, row.group_id, row.carrier_id),
        today=datetime.now(UTC).date(),
        max_days_past=settings.disconnection_max_days_past,
    )
    if problem is not None:
        raise ValidationFailed.one("effective_end_date", problem)
