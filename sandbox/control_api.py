"""Sandbox control endpoints, under /_sandbox: counters, live faults and carrier-side changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel

from sandbox.changes import Change
from sandbox.deps import Carrier, State
from sandbox.faults import FaultSettings
from sandbox.plans import Json

router = APIRouter(prefix="/_sandbox")


class WriteStats(BaseModel):
    applied: int
    duplicates_absorbed: int
    doubled: int


class Stats(BaseModel):
    requests: int
    writes: WriteStats
    faults_injected: int


@router.get("/stats")
async def get_stats(state: State) -> Stats:
    requests, writes = state.counters()
    return Stats(
        requests=requests,
        writes=WriteStats(
            applied=writes.applied,
            duplicates_absorbed=writes.duplicates_absorbed,
            doubled=writes.doubled,
        ),
        faults_injected=state.faults.injected,
    )


@router.get("/faults")
async def get_faults(state: State) -> FaultSettings:
    return state.faults.settings


@router.put("/faults")
async def put_faults(settings: FaultSettings, state: State) -> FaultSettings:
    state.faults.replace(settings)
    return settings


@router.post("/{carrier}/groups/{carrier_group_id}/changes")
async def change_group(
    carrier: Carrier, carrier_group_id: str, change: Annotated[Change, Body()], state: State
) -> Json:
    return state.change(carrier, carrier_group_id, change, datetime.now(UTC).date())
