"""Heartbeats for long activities (batches, pulls), so one whose worker died retries in seconds.

A batch (a group's snapshots built, sent, tracked or confirmed) may rightly take minutes under
load, so its start-to-close timeout is long; without heartbeats, a batch whose worker was
killed would wait that long to be retried. The workflow sets a short heartbeat timeout, and
the activity beats while it works, whatever it is waiting on (a lock, a carrier, the pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import ParamSpec, TypeVar

from temporalio import activity

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Beat three times per heartbeat timeout while the body runs; nothing outside an
    activity, or when the workflow set no heartbeat timeout."""
    timeout = activity.info().heartbeat_timeout if activity.in_activity() else None
    if not timeout:
        yield
        return

    async def beat(every: float) -> None:
        # The server's heartbeat timeout runs from the activity's start: a first beat at once
        # adds a call to Temporal per activity (most batches end in well under a beat) and
        # shortens no retry.
        while True:
            await asyncio.sleep(every)
            activity.heartbeat()

    beats = asyncio.create_task(beat(timeout.total_seconds() / 3))
    try:
        yield
    finally:
        beats.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beats


def heartbeats(run: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """An activity that beats while it runs (put it under `@activity.defn`)."""

    @functools.wraps(run)
    async def beating(*args: P.args, **kwargs: P.kwargs) -> R:
        async with heartbeating():
            return await run(*args, **kwargs)

    return beating
