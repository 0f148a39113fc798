"""Starting and steering disconnection runs: shared by the API and the carrier-ended activity."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from domain.disconnections import (
    Decision,
    DisconnectionInput,
    DisconnectionState,
    DisconnectionStatus,
    SourceType,
    end_date_problem,
)
from domain.errors import ValidationFailed
from runtime.settings import Settings
from store.models import GroupDisconnectionRequest, GroupEnrollment
from workflows import disconnection as wf


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


async def start_disconnection(
    client: Client, settings: Settings, input: DisconnectionInput
) -> WorkflowHandle[wf.GroupDisconnectionWorkflow, DisconnectionState]:
    """Start the request's run; an already running one is kept (a repeated start is harmless)."""
    return await client.start_workflow(
        wf.GroupDisconnectionWorkflow.run,
        input,
        id=wf.workflow_id(input.request_id),
        task_queue=settings.task_queue,
        search_attributes=wf.search_attributes(input),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def decide(
    client: Client, settings: Settings, row: GroupDisconnectionRequest, decision: Decision
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
    )
    return await client.execute_update_with_start_workflow(
        wf.GroupDisconnectionWorkflow.decide, decision, start_workflow_operation=start
    )


async def check_decision_end_date(
    session: AsyncSession,
    row: GroupDisconnectionRequest,
    decision: Decision,
    *,
    settings: Settings,
    today: date,
) -> None:
    """Refuse (ValidationFailed) a decision's new end date that a new request could not have.

    A platform's request is checked by its run; a confirm or edit, whatever raised the request,
    meets the same rule here, so no decision disconnects a group from a long-past date.
    """
    if decision.status != DisconnectionStatus.PROCESSING.value or not decision.effective_end_date:
        return
    coverage_start = await session.scalar(
        select(func.min(GroupEnrollment.effective_start_date)).where(
            GroupEnrollment.group_id == row.group_id,
            GroupEnrollment.carrier_id == row.carrier_id,
        )
    )
    problem = end_date_problem(
        effective_end_date=decision.effective_end_date,
        coverage_start=coverage_start,
        today=today,
        max_days_past=settings.disconnection_max_days_past,
    )
    if problem is not None:
        raise ValidationFailed.one("effective_end_date", problem)
