"""Recorded histories of every workflow still replay against today's workflow code.

The histories come from `python -m tests.workflows.record_histories` (see its docstring for when
to re-record). A nondeterminism error here means a change would break running connections.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from domain.connections import ConnectionInput, LookupRequest
from runtime.temporal import DATA_CONVERTER
from worker import WORKFLOWS
from workflows import activity_refs
from workflows.connection import WORKFLOW_NAME

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_the_recorded_histories_are_there_and_cover_every_kind_of_message() -> None:
    assert len(FILES) >= 4, f"expected recorded histories in {HISTORIES}"
    stems = {path.stem for path in FILES}
    # Histories from before the audit-schedule patch stay, beside the ones recorded with it.
    assert {"connection_completed_first_try_v1", "connection_completed_first_try"} <= stems
    assert any(stem.startswith("audit_") for stem in stems)
    kinds = {event.event_type for path in FILES for event in load(path).events}
    assert {
        EventType.EVENT_TYPE_TIMER_FIRED,
        EventType.EVENT_TYPE_TIMER_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    } <= kinds


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
async def test_a_recorded_history_replays_without_nondeterminism(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)

    result = await replayer.replay_workflow(load(path))

    assert result.replay_failure is None


@workflow.defn(name=WORKFLOW_NAME)
class _ReorderedConnection:
    """A 'change' that skips the status write: what the replay test exists to catch."""

    @workflow.run
    async def run(self, input: ConnectionInput) -> None:
        request = LookupRequest(
            carrier_id=input.carrier_id, carrier_group_id=input.group_data.carrier_group_id
        )
        await workflow.execute_activity_method(
            activity_refs.ConnectionActivities.lookup_group,
            request,
            start_to_close_timeout=timedelta(seconds=30),
        )


async def test_replay_catches_a_nondeterministic_change() -> None:
    assert FILES, f"no recorded histories in {HISTORIES}"
    replayer = Replayer(
        workflows=[_ReorderedConnection],
        data_converter=DATA_CONVERTER,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )

    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES / "connection_completed_first_try.json"))
