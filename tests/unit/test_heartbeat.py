"""Batch activities beat while they run, so a batch whose worker died is retried soon."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from temporalio.testing import ActivityEnvironment

from activities.heartbeat import heartbeats


@heartbeats
async def long_batch(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"


def environment(heartbeat_timeout: timedelta | None) -> tuple[ActivityEnvironment, list[object]]:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=heartbeat_timeout)
    beats: list[object] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    return env, beats


async def test_a_batch_beats_several_times_per_heartbeat_timeout_while_it_works() -> None:
    env, beats = environment(timedelta(seconds=0.3))

    assert await env.run(long_batch, 0.45) == "done"

    # Every 0.1 s (a third of the timeout) after the start: four on an idle machine; at least
    # two however late the event loop wakes it.
    assert len(beats) >= 2


async def test_no_beats_without_a_heartbeat_timeout_or_outside_an_activity() -> None:
    env, beats = environment(None)

    assert await env.run(long_batch, 0.05) == "done"
    assert await long_batch(0.01) == "done"

    assert beats == []


async def test_the_beats_stop_when_the_batch_ends() -> None:
    env, beats = environment(timedelta(seconds=0.15))
    await env.run(long_batch, 0.01)
    after = len(beats)

    await asyncio.sleep(0.2)

    assert len(beats) == after
