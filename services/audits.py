"""Carrier audits in Temporal: a schedule per connected group and carrier, audits on demand."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

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
    WorkflowHandle,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from carriers import carrier_info
from domain.audits import AccountSummary, AuditTrigger, PullRequest
from runtime.settings import Settings
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
    client: Client, settings: Settings, request: PullRequest
) -> WorkflowHandle[GroupAuditWorkflow, AccountSummary | None]:
    """Run one audit now (a platform's audit request); `request.audit_id` must be set."""
    assert request.audit_id is not None, "a requested audit needs its id up front"
    return await client.start_workflow(
        GroupAuditWorkflow.run,
        request,
        id=audit_workflow_id(request),
        task_queue=settings.task_queue,
        search_attributes=_search_attributes(request),
    )
