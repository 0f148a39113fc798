"""Carrier audits: a schedule per connected group and carrier, audits on demand, the latest ones.

Refusals leave as domain errors (`NotFound`, `ValidationFailed`); a workflow service that does
not answer as `temporalio.service.RPCError`, which the API answers with 503.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from carriers import carrier_info
from domain.account import AccountStructure
from domain.audits import AccountSummary, AuditFailure, AuditTrigger, PullRequest, failure_reason
from domain.errors import ValidationFailed
from runtime.settings import Settings
from store import audits as audit_rows
from store.connections import live_connection
from store.db import Database
from store.models import Group, GroupAudit
from store.tenancy import owned
from store.versioning import end_of_day_micros
from workflows import search_attributes as sa
from workflows.audit import WORKFLOW_NAME, GroupAuditWorkflow

# Never fewer than Temporal's minimum; at most one missed run is caught up after an outage.
_MIN_CATCHUP = timedelta(seconds=10)
_MAX_CATCHUP = timedelta(days=1)


def schedule_id(carrier_id: uuid.UUID, carrier_group_id: str, group_id: uuid.UUID) -> str:
    """Says which carrier and group a schedule serves, e.g. `group-audit/principal/1234567/<id>`."""
    return f"group-audit/{carrier_info(carrier_id).slug}/{carrier_group_id}/{group_id}"


def _schedule_id(request: PullRequest) -> str:
    return schedule_id(request.carrier_id, request.carrier_group_id, request.group_id)


def _offset(request: PullRequest, every: timedelta) -> timedelta:
    """A stable point in the interval per group and carrier.

    Interval schedules fire at multiples of `every` since the epoch: without an offset every
    group's daily audit would start at midnight UTC at once.
    """
    digest = hashlib.sha256(f"{request.group_id}/{request.carrier_id}".encode()).digest()
    seconds = max(1, int(every.total_seconds()))
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % seconds)


def _search_attributes(request: PullRequest) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.CARRIER_ID, str(request.carrier_id)),
            SearchAttributePair(sa.GROUP_ID, str(request.group_id)),
            SearchAttributePair(sa.CARRIER_GROUP_ID, request.carrier_group_id),
        ]
    )


def _summary(request: PullRequest, group_name: str) -> str:
    carrier = carrier_info(request.carrier_id).name
    return f"Audit of {group_name} at {carrier} (carrier group {request.carrier_group_id})"


def audit_schedule(settings: Settings, request: PullRequest, *, group_name: str) -> Schedule:
    every = settings.audit_interval
    scheduled = request.model_copy(update={"trigger": AuditTrigger.SCHEDULE, "audit_id": None})
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW_NAME,
            scheduled,
            # Temporal appends the scheduled time, so each run has its own ID.
            id=_schedule_id(request),
            task_queue=settings.task_queue,
            typed_search_attributes=_search_attributes(request),
            static_summary=_summary(request, group_name),
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=every, offset=_offset(request, every))]
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            catchup_window=max(_MIN_CATCHUP, min(every, _MAX_CATCHUP)),
        ),
        state=ScheduleState(note=f"{_summary(request, group_name)}, every {every}"),
    )


async def ensure_audit_schedule(
    client: Client, settings: Settings, request: PullRequest, *, group_name: str
) -> str:
    """Create the group's audit schedule, or bring an existing one up to date and running."""
    schedule = audit_schedule(settings, request, group_name=group_name)
    attributes = _search_attributes(request)
    try:
        await client.create_schedule(_schedule_id(request), schedule, search_attributes=attributes)
    except ScheduleAlreadyRunningError:
        # A repeated completion, a reconnection or a changed interval: the new definition wins.
        await client.get_schedule_handle(_schedule_id(request)).update(
            lambda _: ScheduleUpdate(schedule=schedule, search_attributes=attributes)
        )
    return _schedule_id(request)


async def pause_audit_schedule(
    client: Client,
    *,
    carrier_id: uuid.UUID,
    carrier_group_id: str,
    group_id: uuid.UUID,
    note: str,
) -> bool:
    """Stop a group's audits (kept, paused, for the record); False if it has no schedule."""
    handle = client.get_schedule_handle(schedule_id(carrier_id, carrier_group_id, group_id))
    try:
        await handle.pause(note=note)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def audit_workflow_id(request: PullRequest) -> str:
    """The ID of a requested audit's run: its schedule's ID, then the audit's own id."""
    return f"{_schedule_id(request)}/request/{request.audit_id}"


async def start_audit(
    client: Client, settings: Settings, request: PullRequest, *, group_name: str | None = None
) -> WorkflowHandle[GroupAuditWorkflow, AccountSummary | None]:
    """Run one audit now (a platform's audit request); `request.audit_id` must be set."""
    assert request.audit_id is not None, "a requested audit needs its id up front"
    return await client.start_workflow(
        GroupAuditWorkflow.run,
        request,
        id=audit_workflow_id(request),
        task_queue=settings.task_queue,
        search_attributes=_search_attributes(request),
        static_summary=_summary(request, group_name or request.carrier_group_id),
    )


# The API's use cases.


def _latest(group: Group, audit: GroupAudit | None) -> dict[str, Any]:
    """The contract's latest-audit object; the group's creation when no audit has finished."""
    if audit is None:
        return {"group_id": str(group.id), "completed_at": group.created, "carrier_ids": []}
    return {
        "group_id": str(group.id),
        "completed_at": audit.completed_at,
        "carrier_ids": [str(c) for c in audit.carrier_ids],
    }


def _audit(audit: GroupAudit, status: str) -> dict[str, Any]:
    return {**audit.as_contract(), "status": status}


async def latest_audit(
    db: Database,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    carrier_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The group's latest finished audit (of `carrier_id`, when given)."""
    async with db.transaction() as session:
        group = await owned(session, Group, group_id, organization_id, what="group")
        audit = await audit_rows.latest_finished(session, group_id, carrier_id=carrier_id)
        return _latest(group, audit)


async def latest_audits(
    db: Database, *, organization_id: uuid.UUID, group_id: uuid.UUID, day: date | None
) -> list[dict[str, Any]]:
    """Per carrier configured for the group, its latest audit finished by the end of `day`."""
    # Seconds, as `completed_at` is stored; the end of `day` in UTC.
    before = end_of_day_micros(day) // 1_000_000 if day else None
    async with db.transaction() as session:
        group = await owned(session, Group, group_id, organization_id, what="group")
        entries = []
        for carrier_id in await audit_rows.configured_carriers(session, group_id):
            audit = await audit_rows.latest_finished(
                session, group_id, carrier_id=carrier_id, before=before
            )
            entries.append({**_latest(group, audit), "carrier_id": str(carrier_id)})
        return entries


async def request_audit(
    db: Database,
    temporal: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    carrier_id: uuid.UUID,
) -> dict[str, Any]:
    """Audit the group at one carrier now; the audit, `processing`, with its id to follow."""
    carrier_info(carrier_id)  # ValidationFailed naming carrier_id when unknown
    audit_id = uuid.uuid4()
    async with db.transaction() as session:
        group = await owned(session, Group, group_id, organization_id, what="group")
        connection = await live_connection(session, group_id, carrier_id)
        if connection is None:
            raise ValidationFailed.one(
                "carrier_id", "the group has no completed connection to this carrier to audit"
            )
        request = PullRequest(
            connection_id=connection.id,
            organization_id=organization_id,
            group_id=group_id,
            carrier_id=carrier_id,
            carrier_group_id=connection.carrier_group_id,
            trigger=AuditTrigger.REQUEST,
            audit_id=audit_id,
        )
        # Recorded before the run starts, so the id can be followed from the first moment.
        audit = await audit_rows.add_requested_audit(
            session, request, workflow_id=audit_workflow_id(request)
        )
        answer = _audit(audit, "processing")
    try:
        await start_audit(temporal, settings, request, group_name=group.name)
    except RPCError:
        async with db.transaction() as session:
            await audit_rows.remove_audit(session, audit_id)
        raise
    return answer


async def audit_status(
    db: Database,
    temporal: Client,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    audit_id: uuid.UUID,
) -> dict[str, Any]:
    """The group's audit with its status: completed, or what became of its run."""
    async with db.transaction() as session:
        await owned(session, Group, group_id, organization_id, what="group")
        audit = await owned(
            session, GroupAudit, audit_id, organization_id, what="audit request", group_id=group_id
        )
    if audit.completed_at is not None:
        return _audit(audit, "completed")
    if audit.failure_reason is not None:
        # Recorded by the run itself: no need for its history (which is not kept forever).
        return {**_audit(audit, "failed"), "failure_reason": audit.failure_reason}
    status = await _run_status(temporal, audit)
    if status != "failed":
        return _audit(audit, status)
    # A run that failed without recording why (before runs did, or ended otherwise).
    return {**_audit(audit, status), "failure_reason": await _failure_reason(temporal, audit)}


async def _failure_reason(temporal: Client, audit: GroupAudit) -> str:
    """Why a requested audit failed, from its run's failure (the innermost cause: e.g. the
    carrier's refusal of the account data), instead of only a worker's traceback."""
    assert audit.workflow_id is not None
    try:
        await temporal.get_workflow_handle(audit.workflow_id).result()
    except WorkflowFailureError as err:
        return failure_reason(err)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return "the audit's run never started"
        raise
    return "the audit's run ended without recording a result"


async def _run_status(temporal: Client, audit: GroupAudit) -> str:
    """What became of a requested audit that has not recorded a finish."""
    assert audit.workflow_id is not None
    try:
        described = await temporal.get_workflow_handle(audit.workflow_id).describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            # Recorded, but the run never started (the API died in between): nothing will run.
            return "failed"
        raise
    if described.status in (WorkflowExecutionStatus.RUNNING, None):
        return "processing"
    if described.status is WorkflowExecutionStatus.COMPLETED:
        return "skipped"  # the group was disconnected before the audit ran
    return "failed"


# The run's steps (called by `activities.audit`).


async def record_pull(
    db: Database, request: PullRequest, account: AccountStructure
) -> AccountSummary:
    """Store the carrier's version of the group and complete the audit once; its summary."""
    async with db.transaction() as session:
        recorded = await audit_rows.record_pull(session, request, account)
    return AccountSummary(
        audit_id=request.resolved_audit_id(),
        locations=len(account.locations),
        contacts=len(account.contacts),
        group_enrollments=len(account.group_enrollments),
        plans=len(account.plans),
        differences=len(recorded.get("group_differences", [])),
        coverage_end_date=recorded.get("coverage_end_date"),
        created=recorded.get("created", {}),
        changed=recorded.get("changed", {}),
    )


async def record_failure(db: Database, failure: AuditFailure) -> None:
    """Keep why the audit's run failed on the audit, where the API serves it."""
    async with db.transaction() as session:
        await audit_rows.record_failure(session, failure)


async def ensure_group_schedule(
    db: Database, client: Client, settings: Settings, request: PullRequest
) -> str:
    """The completed connection's audit schedule, created or brought up to date."""
    async with db.transaction() as session:
        name = await audit_rows.group_name(session, request.group_id)
    return await ensure_audit_schedule(
        client, settings, request, group_name=name or request.carrier_group_id
    )
