"""Waking a group's round-trip confirmation loop: shared by the snapshot activities."""

from __future__ import annotations

import uuid

from temporalio.client import Client

from runtime.settings import Settings
from workflows import confirmation as wf


async def wake_group_confirmations(client: Client, settings: Settings, group_id: uuid.UUID) -> None:
    """Signal the group's loop that a transaction is due, starting the loop if none runs."""
    await client.start_workflow(
        wf.GroupConfirmationsWorkflow.run,
        wf.GroupConfirmationsInput(group_id=group_id),
        id=wf.workflow_id(group_id),
        task_queue=settings.task_queue,
        start_signal=wf.WAKE,
        static_summary=f"round-trip confirmation of group {group_id}",
    )
