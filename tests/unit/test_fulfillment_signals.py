"""The API's signals to group fulfillment loops: one call per group at a time, none lost."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from temporalio.client import Client

from carrierlink.fulfillment_signals import FulfillmentSignals
from carrierlink.settings import Settings
from workflows.fulfillment import SNAPSHOTS_STORED, workflow_id


@dataclass
class SlowTemporal:
    """Answers each signal-with-start after a pause, as a busy server does; `fail` raises."""

    calls: list[tuple[str, list[uuid.UUID]]] = field(default_factory=list)
    fail: int = 0
    in_flight: dict[str, int] = field(default_factory=dict)
    most_at_once: int = 0

    async def start_workflow(self, *_: Any, id: str, **kwargs: Any) -> None:
        assert kwargs["start_signal"] == SNAPSHOTS_STORED
        (snapshot_ids,) = kwargs["start_signal_args"]
        self.in_flight[id] = self.in_flight.get(id, 0) + 1
        self.most_at_once = max(self.most_at_once, self.in_flight[id])
        try:
            await asyncio.sleep(0.02)
            if self.fail:
                self.fail -= 1
                raise RuntimeError("the workflow service is unavailable")
            self.calls.append((id, list(snapshot_ids)))
        finally:
            self.in_flight[id] -= 1


def signals(temporal: SlowTemporal) -> FulfillmentSignals:
    return FulfillmentSignals(cast(Client, temporal), Settings())


async def test_a_burst_for_one_group_goes_in_a_few_calls_never_two_at_once() -> None:
    temporal = SlowTemporal()
    group = uuid.uuid4()
    snapshots = [uuid.uuid4() for _ in range(50)]

    sender = signals(temporal)

    await asyncio.gather(*(sender.snapshot_stored(group, s) for s in snapshots))

    assert temporal.most_at_once == 1
    assert len(temporal.calls) <= 2
    assert {id for id, _ in temporal.calls} == {workflow_id(group)}
    sent = [s for _, ids in temporal.calls for s in ids]
    assert sorted(sent) == sorted(snapshots)
    assert len(sent) == len(set(sent))


async def test_groups_are_signalled_side_by_side() -> None:
    temporal = SlowTemporal()
    sender = signals(temporal)
    groups = [uuid.uuid4() for _ in range(5)]

    await asyncio.gather(*(sender.snapshot_stored(g, uuid.uuid4()) for g in groups))

    assert sorted(id for id, _ in temporal.calls) == sorted(workflow_id(g) for g in groups)


async def test_a_failed_call_fails_every_caller_it_carried_and_the_next_batch_goes() -> None:
    temporal = SlowTemporal(fail=1)
    sender = signals(temporal)
    group = uuid.uuid4()
    first = asyncio.create_task(sender.snapshot_stored(group, uuid.uuid4()))
    await asyncio.sleep(0)  # the first call is under way
    carried = [asyncio.create_task(sender.snapshot_stored(group, uuid.uuid4())) for _ in range(3)]

    with pytest.raises(RuntimeError):
        await first
    await asyncio.gather(*carried)

    assert len(temporal.calls) == 1
    assert len(temporal.calls[0][1]) == 3
