"""Start a group connection from another service through the Temporal client, without the API.

The run's first status write creates the group and connection rows from its input, so a
connection started here shows up in the REST API like any other.
"""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from carriers import rules_for
from domain.connections import ConnectionInput, ConnectionState, GroupData, RecheckPolicy
from runtime.settings import Settings
from workflows.connection import GroupConnectionWorkflow, search_attributes, workflow_id


def recheck_policy(settings: Settings) -> RecheckPolicy:
    """The waiting policy the settings describe (seconds in the sandbox, up to a day)."""
    return RecheckPolicy(
        initial_interval=settings.connection_recheck_initial,
        backoff=settings.connection_recheck_backoff,
        maximum_interval=settings.connection_recheck_max,
        wait_limit=settings.connection_wait_limit,
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
    )
