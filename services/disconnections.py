"""Starting and steering disconnection runs: shared by the API and the carrier-ended activity."""

from __future__ import annotations

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from domain.disconnections import (
    Decision,
    DisconnectionInput,
    DisconnectionState,
    DisconnectionStatus,
    SourceType,
)
from runtime.settings import Settings
from store.models import GroupDisconnectionRequest
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
