"""Workflow-test fixtures: a fresh time-skipping server, a worker and mocked activities."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflows.fakes import Rig, running, start_time_skipping


# Function scope on purpose: automatic time skipping must not be shared between tests.
@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def rig(env: WorkflowEnvironment) -> AsyncIterator[Rig]:
    async with running(env) as rig:
        yield rig
    # Every test also proves the workflow made only legal moves with growing sequence numbers.
    assert rig.carrier.problems == []
    assert rig.disconnections.problems == []
