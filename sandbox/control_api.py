"""Sandbox control endpoints, under /_sandbox: counters, live faults and speeds, carrier changes,
and a member's evidence of insurability arriving."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel

from sandbox.changes import Change
from sandbox.deps import Carrier, State
from sandbox.faults import FaultSettings
from sandbox.members import ProcessingSettings
from sandbox.plans import Json

router = APIRouter(prefix="/_sandbox")


class WriteStats(BaseModel):
    applied: int
    duplicates_absorbed: int
    doubled: int


class MemberTransactionStats(BaseModel):
    received: int
    completed: int
    failed: int
    managed: int  # received on the managed path (finished or not)


class Stats(BaseModel):
    requests: int
    writes: WriteStats
    faults_injected: int
    # Present once a member transaction was received (so stats of apps without any keep their
    # shape); `GET /_sandbox/member_transactions/stats` always answers the counts.
    member_transactions: MemberTransactionStats | None = None


@router.get("/stats", response_model_exclude_none=True)
async def get_stats(state: State) -> Stats:
    requests, writes = state.counters()
    members = await get_member_transaction_stats(state)
    return Stats(
        requests=requests,
        writes=WriteStats(
            applied=writes.applied,
            duplicates_absorbed=writes.duplicates_absorbed,
            doubled=writes.doubled,
        ),
        faults_injected=state.faults.injected,
        member_transactions=members if members.received else None,
    )


@router.get("/member_transactions/stats")
async def get_member_transaction_stats(state: State) -> MemberTransactionStats:
    counts = state.member_transaction_counts()
    return MemberTransactionStats(
        received=counts.received,
        completed=counts.completed,
        failed=counts.failed,
        managed=counts.managed,
    )


@router.get("/member_transactions")
async def find_member_transactions(
    state: State, transaction_id: Annotated[str, Query(min_length=1)]
) -> list[Json]:
    """Every carrier transaction made for one client transaction id, each with its carrier and
    group: two or more mean the client sent it twice under different keys."""
    return state.member_transactions(transaction_id)


@router.get("/processing")
async def get_processing(state: State) -> ProcessingSettings:
    return state.processing()


@router.put("/processing")
async def put_processing(settings: ProcessingSettings, state: State) -> ProcessingSettings:
    state.set_processing(settings)
    return settings


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


@router.post("/{carrier}/groups/{carrier_group_id}/members/{employee_id}/eoi")
async def complete_eoi(
    carrier: Carrier, carrier_group_id: str, employee_id: UUID, state: State
) -> Json:
    """The member submitted evidence of insurability: the coverage the carrier held back for
    it is held from now on (seed 003). Answers the member as the carrier now holds it."""
    return state.complete_eoi(carrier, carrier_group_id, employee_id)
