"""Intake signals a group's fulfillment loop once per build, and never leaves a snapshot behind."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from services import fulfillment
from store.db import Database
from store.members import needs_wake, take_wake
from store.models import Group
from store.tenancy import ensure_organization
from tests.integration.test_member_snapshots import both_carriers, coverages, settled, submitted
from tools.sample_snapshots import new_hire, unique_id
from workflows.fulfillment import workflow_id

pytestmark = pytest.mark.integration


async def a_group(database: Database) -> uuid.UUID:
    async with database.transaction() as session:
        organization, _ = await ensure_organization(session, f"org-{uuid.uuid4().hex[:10]}")
        group = Group(organization_id=organization.id, name="Acme Corp")
        session.add(group)
        await session.flush()
        return group.id


async def wake(database: Database, group_id: uuid.UUID) -> bool:
    async with database.transaction() as session:
        return await needs_wake(session, group_id)


async def build_begins(database: Database, group_id: uuid.UUID) -> None:
    async with database.transaction() as session:
        await take_wake(session, group_id)


async def test_the_first_snapshot_since_a_build_began_signals_and_the_rest_do_not(
    database: Database,
) -> None:
    group_id = await a_group(database)

    assert await wake(database, group_id), "a group's first snapshot signals"
    assert not await wake(database, group_id), "the loop was told and has not built since"
    assert not await wake(database, group_id)
    await build_begins(database, group_id)
    assert await wake(database, group_id), "the build read what came before: tell it again"
    assert not await wake(database, group_id)


async def test_a_rolled_back_signal_leaves_the_next_snapshot_to_signal(
    database: Database,
) -> None:
    group_id = await a_group(database)

    async def signal_fails() -> None:
        async with database.transaction() as session:
            assert await needs_wake(session, group_id)
            raise RuntimeError("the signal failed: the POST's transaction rolls back")

    with pytest.raises(RuntimeError):
        await signal_fails()

    assert await wake(database, group_id)


async def build_during_intake(database: Database, group_id: uuid.UUID, *, signals: bool) -> None:
    """An intake stores its snapshot (signalling or not, as `signals` expects) and holds its
    transaction open; a build begins meanwhile. The build must wait for the intake's commit,
    else it could read the snapshots before that commit and turn the wake off after it, or
    let the commit leave it on with no build to come: either way, snapshots nobody signals."""
    committed = asyncio.Event()

    async def intake() -> None:
        async with database.transaction() as session:
            assert await needs_wake(session, group_id) is signals
            await committed.wait()

    open_intake = asyncio.create_task(intake())
    try:
        await asyncio.sleep(0.1)
        build = asyncio.create_task(build_begins(database, group_id))
        await asyncio.sleep(0.5)
        assert not build.done(), "the build began before an intake holding the wake committed"
    finally:
        committed.set()
        await asyncio.wait_for(open_intake, timeout=10)
    await asyncio.wait_for(build, timeout=10)


async def test_a_build_waits_for_an_intake_that_relied_on_an_earlier_signal(
    database: Database,
) -> None:
    group_id = await a_group(database)
    assert await wake(database, group_id)

    await build_during_intake(database, group_id, signals=False)

    assert await wake(database, group_id), "the next snapshot must signal again"


async def test_a_build_beginning_before_the_signalling_intake_commits_turns_the_wake_off_after(
    database: Database,
) -> None:
    """The build the intake's signal brings can begin before the intake commits."""
    group_id = await a_group(database)
    assert await wake(database, group_id)
    await build_begins(database, group_id)

    await build_during_intake(database, group_id, signals=True)

    assert await wake(database, group_id), "the next snapshot must signal again"


async def test_a_build_waits_for_the_group_s_first_snapshot_creating_the_wake(
    database: Database,
) -> None:
    """The first snapshot creates the wake row: no committed row exists yet to lock."""
    group_id = await a_group(database)

    await build_during_intake(database, group_id, signals=True)

    assert await wake(database, group_id), "the next snapshot must signal again"


async def test_a_burst_to_one_group_is_built_and_sent_on_fewer_signals_than_snapshots(
    api: httpx.AsyncClient, client: Client
) -> None:
    group_id, choices = await both_carriers(api)
    bodies = [new_hire(unique_id(), coverages(choices)) for _ in range(12)]

    snapshots = await asyncio.gather(*(submitted(api, group_id, body) for body in bodies))

    for snapshot in snapshots:
        assert (await settled(api, snapshot["id"], within=60))["status"] == "completed"
    signals = 0
    runs = client.list_workflows(f"WorkflowId = '{workflow_id(uuid.UUID(group_id))}'")
    async for run in runs:
        handle = client.get_workflow_handle(run.id, run_id=run.run_id)
        async for event in handle.fetch_history_events():
            signals += event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    assert 1 <= signals < len(snapshots)


async def test_transactions_beyond_one_send_are_sent_though_no_signal_brings_them(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new hire at both carriers builds two transactions; with one sent per turn, the second
    is left unsent and no snapshot will signal the loop again: the build must say so."""
    monkeypatch.setattr(fulfillment, "SEND_BATCH", 1)
    group_id, choices = await both_carriers(api)
    snapshot = await submitted(api, group_id, new_hire(unique_id(), coverages(choices)))
    assert (await settled(api, snapshot["id"], within=60))["status"] == "completed"


async def test_intakes_finding_the_wake_on_do_not_wait_for_each_other(
    database: Database,
) -> None:
    """A burst to one group: intakes relying on an earlier signal commit side by side (issue 23:
    the row lock made each wait for the commit of the one before)."""
    group_id = await a_group(database)
    assert await wake(database, group_id)
    both_open = asyncio.Barrier(2)

    async def intake() -> None:
        async with database.transaction() as session:
            assert not await needs_wake(session, group_id)
            await both_open.wait()  # neither commits before the other has answered

    await asyncio.wait_for(asyncio.gather(intake(), intake()), timeout=10)


@pytest.mark.parametrize("commits", [True, False])
async def test_an_intake_finding_the_wake_off_while_another_turns_it_on_waits_for_its_outcome(
    database: Database, commits: bool
) -> None:
    """It does not signal too when that one commits, and signals itself when that one's signal
    failed (rolled back)."""
    group_id = await a_group(database)
    assert await wake(database, group_id)
    await build_begins(database, group_id)
    turned_on = asyncio.Event()
    decided = asyncio.Event()

    async def signalling_intake() -> None:
        async with database.transaction() as session:
            assert await needs_wake(session, group_id)
            turned_on.set()
            await decided.wait()
            if not commits:
                raise RuntimeError("the signal failed: the POST's transaction rolls back")

    first = asyncio.create_task(signalling_intake())
    await turned_on.wait()
    second = asyncio.create_task(wake(database, group_id))
    await asyncio.sleep(0.3)
    assert not second.done(), "it must wait for the intake turning the wake on"
    decided.set()
    if commits:
        await first
    else:
        with pytest.raises(RuntimeError):
            await first
    assert await asyncio.wait_for(second, timeout=10) is not commits
