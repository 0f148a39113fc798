"""Connecting a group to a carrier: request (new or existing group), retry, the run's live state.

Each use case writes through `store/`, starts or updates the connection's workflow, and raises
domain errors (`NotFound`, `Conflict`, `ValidationFailed`) that the API maps to HTTP.
`start_group_connection` starts a lifecycle from another service without the API: the run's
first status write creates the group and connection rows from its input, so such a connection
shows up in the REST API like any other.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from carriers import carrier_info, rules_for
from domain.connections import (
    Amendment,
    ConnectionInput,
    ConnectionState,
    ConnectionStatus,
    GroupData,
    RecheckPolicy,
    ReviewDecision,
    StatusChange,
    can_retry,
)
from domain.errors import Conflict, ValidationFailed
from runtime.settings import Settings
from store.audits import group_name
from store.connections import add_connection, connection_for_update, live_conflict
from store.db import Database
from store.models import Group, GroupConnection, unix_now
from store.tenancy import owned
from store.versioning import save_version
from workflows.connection import GroupConnectionWorkflow, search_attributes, summary, workflow_id

WHAT = "group connection"


def recheck_policy(settings: Settings) -> RecheckPolicy:
    """The waiting policy the settings describe (seconds in the sandbox, up to a day)."""
    return RecheckPolicy(
        initial_interval=settings.connection_recheck_initial,
        backoff=settings.connection_recheck_backoff,
        maximum_interval=settings.connection_recheck_max,
        wait_limit=settings.connection_wait_limit,
        overdue_after=settings.overdue_limits().connections.limits,
    )


def checked_group_data(carrier_id: uuid.UUID, raw: dict[str, Any]) -> GroupData:
    """Apply the carrier's identifier rules: `ValidationFailed` naming the field, or the
    normalized data (e.g. Unum policy IDs left-padded) that is stored and sent."""
    rules = rules_for(carrier_id)
    rules.validate_group_data(raw)
    data = GroupData.model_validate(raw)
    return data.model_copy(
        update={"carrier_group_id": rules.normalize_carrier_group_id(data.carrier_group_id)}
    )


def _run_input(row: GroupConnection, settings: Settings, **overrides: Any) -> ConnectionInput:
    """What a run needs to carry the stored connection on from where its row stands."""
    return ConnectionInput.model_validate(
        {
            "connection_id": row.id,
            "organization_id": row.organization_id,
            "group_id": row.group_id,
            "carrier_id": row.carrier_id,
            "group_data": row.group_data,
            "federal_ein": row.federal_ein,
            "request_type": row.request_type,
            "status": row.status,
            "status_seq": row.status_seq,
            "recheck": recheck_policy(settings),
            **overrides,
        }
    )


def _duplicate(existing: GroupConnection) -> Conflict:
    return Conflict(
        f"a live connection for this carrier and group already exists: {existing.id}",
        existing_id=str(existing.id),
    )


async def request_connection(
    db: Database,
    temporal: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    carrier_id: uuid.UUID,
    group_data: dict[str, Any],
    new_group_name: str | None = None,
    group_id: uuid.UUID | None = None,
    federal_ein: str | None = None,
) -> dict[str, Any]:
    """Record a connection (and, without `group_id`, its new group) and start its lifecycle.

    With `group_id`, the group must be the organization's (`NotFound`) and its federal EIN is
    used; the answer then names the initial audit the run will request.
    """
    if group_id is not None:
        async with db.transaction() as session:
            group = await owned(session, Group, group_id, organization_id, what="group")
            federal_ein = group.federal_ein
    data = checked_group_data(carrier_id, group_data)
    contract = await _create(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        carrier_id=carrier_id,
        data=data,
        new_group_name=new_group_name,
        group_id=group_id,
        federal_ein=federal_ein,
    )
    if group_id is not None:
        initial_audit = uuid.uuid5(uuid.UUID(contract["id"]), "initial-audit")
        contract["group_audit_request_id"] = str(initial_audit)
    return contract


async def _create(
    db: Database,
    temporal: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    carrier_id: uuid.UUID,
    data: GroupData,
    new_group_name: str | None,
    group_id: uuid.UUID | None,
    federal_ein: str | None,
) -> dict[str, Any]:
    connection_id = uuid.uuid4()
    run_id = workflow_id(organization_id, carrier_id, data.carrier_group_id)
    try:
        async with db.transaction() as session:
            if group_id is None:
                group = Group(
                    id=uuid.uuid4(),
                    organization_id=organization_id,
                    name=new_group_name or data.carrier_group_id,
                    federal_ein=federal_ein,
                )
                await save_version(session, group, is_new=True)
                group_id = group.id
                name: str | None = group.name
            else:
                name = await group_name(session, group_id)
            row = GroupConnection(
                id=connection_id,
                organization_id=organization_id,
                group_id=group_id,
                carrier_id=carrier_id,
                carrier_group_id=data.carrier_group_id,
                federal_ein=federal_ein,
                request_type="initial" if new_group_name else "incremental",
                status=ConnectionStatus.CREATED.value,
                group_data=data.contract(),
                setup_result={},
                workflow_id=run_id,
            )
            await save_version(session, row, is_new=True)  # a duplicate fails here (unique index)
            run_input = _run_input(row, settings)
            # Started inside the transaction: if the start fails nothing is kept; if the commit
            # fails after it, the run's first status write recreates the rows from its input.
            await temporal.start_workflow(
                GroupConnectionWorkflow.run,
                run_input,
                id=run_id,
                task_queue=settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=search_attributes(run_input),
                static_summary=_summary(name, carrier_id, data.carrier_group_id),
            )
            return row.as_contract()
    except IntegrityError:
        existing = await _find_conflict(db, organization_id, carrier_id, data, group_id)
        raise _duplicate(existing) if existing else Conflict("duplicate connection") from None
    except WorkflowAlreadyStartedError:
        existing = await _find_conflict(db, organization_id, carrier_id, data, group_id)
        raise (
            _duplicate(existing)
            if existing
            else Conflict(f"a connection lifecycle for {data.carrier_group_id} is already running")
        ) from None


async def _find_conflict(
    db: Database,
    organization_id: uuid.UUID,
    carrier_id: uuid.UUID,
    data: GroupData,
    group_id: uuid.UUID | None,
) -> GroupConnection | None:
    async with db.transaction() as session:
        return await live_conflict(
            session, organization_id, carrier_id, data.carrier_group_id, group_id
        )


async def live_state(
    db: Database, temporal: Client, *, organization_id: uuid.UUID, connection_id: uuid.UUID
) -> ConnectionState:
    """The running workflow's own view (query): next re-check, re-check count, reason."""
    async with db.transaction() as session:
        row = await owned(session, GroupConnection, connection_id, organization_id, what=WHAT)
    state = await temporal.get_workflow_handle(row.workflow_id).query(GroupConnectionWorkflow.state)
    if state.next_recheck_at is None:
        return state
    # The query counts from the run's last step; a caller wants the seconds left from now.
    left = (state.next_recheck_at - datetime.now(UTC)).total_seconds()
    return state.model_copy(update={"next_recheck_in_seconds": max(left, 0.0)})


async def retry(
    db: Database,
    temporal: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    connection_id: uuid.UUID,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Amend a waiting or failed connection's data with `changes` (the retry's fields) and run it
    again; the connection as stored."""
    async with db.transaction() as session:
        row = await owned(session, GroupConnection, connection_id, organization_id, what=WHAT)
        if row.disconnected is not None or not can_retry(ConnectionStatus(row.status)):
            raise Conflict(
                f"the connection is {row.status}; it cannot be retried", current_status=row.status
            )
        amendment = Amendment.model_validate(changes)
        merged = amendment.apply(GroupData.model_validate(row.group_data)).contract()
        data = checked_group_data(row.carrier_id, merged)
        amendment = amendment.model_copy(update={"carrier_group_id": data.carrier_group_id})
        if data.carrier_group_id != row.carrier_group_id:
            existing = await live_conflict(
                session,
                organization_id,
                row.carrier_id,
                data.carrier_group_id,
                None,
                excluding=row.id,
            )
            if existing is not None:
                raise _duplicate(existing)
        run_input = _run_input(row, settings, request_type="incremental")
        run_id = row.workflow_id
        name = await group_name(session, row.group_id)
    # Wakes a waiting run at once, or starts a new run of a finished one (unable_to_connect).
    start = WithStartWorkflowOperation(
        GroupConnectionWorkflow.run,
        run_input,
        id=run_id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search_attributes(run_input),
        static_summary=_summary(name, row.carrier_id, data.carrier_group_id),
    )
    try:
        await temporal.execute_update_with_start_workflow(
            GroupConnectionWorkflow.amend, amendment, start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == "ConnectionCompleted":
            raise Conflict("the connection is completed; it cannot be retried") from exc
        raise Conflict(f"the retry was refused: {cause}") from exc
    async with db.transaction() as session:
        row = await owned(session, GroupConnection, connection_id, organization_id, what=WHAT)
        return row.as_contract()


async def review(
    db: Database,
    temporal: Client,
    *,
    organization_id: uuid.UUID,
    connection_id: uuid.UUID,
    decision: ReviewDecision,
) -> dict[str, Any]:
    """An operator's decision on a connection in `noyo_review`, through the run's `review` update
    (its validator refuses loudly what a signal would drop); the connection as stored after it."""
    async with db.transaction() as session:
        row = await owned(session, GroupConnection, connection_id, organization_id, what=WHAT)
        if row.status != ConnectionStatus.NOYO_REVIEW.value:
            raise _not_in_review(row.status)
        run_id = row.workflow_id
    try:
        await temporal.get_workflow_handle(run_id).execute_update(
            GroupConnectionWorkflow.review, decision
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == "InvalidReviewDecision":
            raise ValidationFailed.one("decision", cause.message) from exc
        raise Conflict(f"the review was refused: {getattr(cause, 'message', cause)}") from exc
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        raise Conflict("the connection's run has ended; it cannot be reviewed") from exc
    async with db.transaction() as session:
        row = await owned(session, GroupConnection, connection_id, organization_id, what=WHAT)
        return row.as_contract()


def _not_in_review(status: str) -> Conflict:
    return Conflict(
        f"the connection is {status}; only a connection in noyo_review can be reviewed",
        current_status=status,
    )


async def start_group_connection(
    client: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    carrier_id: uuid.UUID,
    group_data: GroupData,
    group_id: uuid.UUID | None = None,
    federal_ein: str | None = None,
) -> WorkflowHandle[GroupConnectionWorkflow, ConnectionState]:
    """Validate and normalize `group_data` by the carrier's rules, then start the lifecycle.

    Raises `domain.errors.ValidationFailed` for data the carrier cannot take, and
    `temporalio.exceptions.WorkflowAlreadyStartedError` if this carrier group already has a
    running lifecycle in the organization.
    """
    data = checked_group_data(carrier_id, group_data.model_dump())
    run_input = ConnectionInput(
        connection_id=uuid.uuid4(),
        organization_id=organization_id,
        group_id=group_id or uuid.uuid4(),
        carrier_id=carrier_id,
        group_data=data,
        federal_ein=federal_ein,
        request_type="incremental" if group_id else "initial",
        recheck=recheck_policy(settings),
    )
    return await client.start_workflow(
        GroupConnectionWorkflow.run,
        run_input,
        id=workflow_id(organization_id, carrier_id, data.carrier_group_id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=search_attributes(run_input),
        static_summary=_summary(data.group_name, carrier_id, data.carrier_group_id),
    )


def _summary(name: str | None, carrier_id: uuid.UUID, carrier_group_id: str) -> str:
    """The run's static summary in the Temporal UI: the group's and the carrier's names."""
    return summary(name or carrier_group_id, carrier_info(carrier_id).name, carrier_group_id)


async def record_status(database: Database, change: StatusChange) -> None:
    """Write a transition once: a retried or replayed write with an old seq is a no-op."""
    connection = change.connection
    async with database.transaction() as session:
        row = await connection_for_update(session, connection.connection_id)
        if row is None:
            # The API commits the row before the run is visible, but a crash between the
            # workflow start and that commit must not lose the request.
            row = await add_connection(
                session,
                connection,
                workflow_id=workflow_id(
                    connection.organization_id,
                    connection.carrier_id,
                    connection.group_data.carrier_group_id,
                ),
            )
        if row.status_seq >= change.seq:
            return
        if row.status != change.status.value:
            row.status_changed = unix_now()
        row.status = change.status.value
        row.status_seq = change.seq
        row.group_data = connection.group_data.contract()
        row.carrier_group_id = connection.group_data.carrier_group_id
        row.federal_ein = connection.federal_ein
        row.request_type = connection.request_type
        row.setup_result = change.setup_result
        if change.completed:
            row.completed = unix_now()
        await save_version(session, row)
