"""Wakes of group fulfillment loops: each snapshot told to its group's loop, errors reach the
caller. That a group's calls never overlap is the wake row's work
(tests/integration/test_fulfillment_wakes.py)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import pytest
from temporalio.client import Client

from runtime.settings import Settings
from services.wakes import Wakes
from workflows.common import LOOP_TASK_TIMEOUT
from workflows.confirmation import WAKE
from workflows.confirmation import workflow_id as confirmation_workflow_id
from workflows.fulfillment import SNAPSHOTS_STORED, workflow_id


@dataclass
class SlowTemporal:
    """Answers each signal-with-start after a pause, as a busy server does; `fail` raises."""

    calls: list[tuple[str, list[uuid.UUID]]] = field(default_factory=list)
    fail: int = 0

    async def start_workflow(self, *_: Any, id: str, **kwargs: Any) -> None:
        assert kwargs["start_signal"] == SNAPSHOTS_STORED
        (snapshot_ids,) = kwargs["start_signal_args"]
        await asyncio.sleep(0.02)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the workflow service is unavailable")
        self.calls.append((id, list(snapshot_ids)))


def signals(temporal: SlowTemporal) -> Wakes:
    return Wakes(cast(Client, temporal), Settings())


async def test_groups_are_signalled_side_by_side() -> None:
    temporal = SlowTemporal()
    sender = signals(temporal)
    groups = [uuid.uuid4() for _ in range(5)]

    await asyncio.gather(*(sender.fulfillment(g, [uuid.uuid4()]) for g in groups))

    assert sorted(id for id, _ in temporal.calls) == sorted(workflow_id(g) for g in groups)


async def test_the_signal_names_the_snapshot_and_its_group() -> None:
    temporal = SlowTemporal()
    group, snapshot = uuid.uuid4(), uuid.uuid4()

    await signals(temporal).fulfillment(group, [snapshot])

    assert temporal.calls == [(workflow_id(group), [snapshot])]


async def test_a_failed_call_fails_its_caller_and_the_next_call_goes() -> None:
    temporal = SlowTemporal(fail=1)
    sender = signals(temporal)
    group, second = uuid.uuid4(), uuid.uuid4()

    with pytest.raises(RuntimeError):
        await sender.fulfillment(group, [uuid.uuid4()])
    await sender.fulfillment(group, [second])

    assert temporal.calls == [(workflow_id(group), [second])]


async def test_the_confirmation_wake_signals_the_groups_confirmation_loop() -> None:
    calls: list[dict[str, Any]] = []

    class Recorder:
        async def start_workflow(self, *_: Any, **kwargs: Any) -> None:
            calls.append(kwargs)

    group = uuid.uuid4()
    await Wakes(cast(Client, Recorder()), Settings()).confirmations(group)

    assert [(call["id"], call["start_signal"]) for call in calls] == [
        (confirmation_workflow_id(group), WAKE)
    ]


async def test_both_loops_start_with_the_loops_task_timeout() -> None:
    """Room for a turn's local steps on a busy worker (`LOOP_TASK_TIMEOUT`), not the 10 s
    default that lost workflow tasks under the snapshot burst."""
    calls: list[dict[str, Any]] = []

    class Recorder:
        async def start_workflow(self, *_: Any, **kwargs: Any) -> None:
            calls.append(kwargs)

    wakes = Wakes(cast(Client, Recorder()), Settings())
    await wakes.fulfillment(uuid.uuid4(), [uuid.uuid4()])
    await wakes.confirmations(uuid.uuid4())

    assert [call["task_timeout"] for call in calls] == [LOOP_TASK_TIMEOUT, LOOP_TASK_TIMEOUT]
    assert timedelta(seconds=10) < LOOP_TASK_TIMEOUT
