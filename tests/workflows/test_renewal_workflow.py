"""RenewalDecision on the time-skipping server: a plan year of daily checks, edits, faults, done."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from temporalio.client import WorkflowHandle

from domain.renewals import RenewalRunInput, RenewalStatus
from tests.harness import eventually
from tests.workflows.fakes import Rig
from workflows import renewal as wf
from workflows import search_attributes as sa
from workflows.renewal import RenewalDecisionWorkflow

DAY = timedelta(days=1)
Handle = WorkflowHandle[RenewalDecisionWorkflow, RenewalStatus]


async def start(rig: Rig, *, every: timedelta = DAY, id: str | None = None) -> Handle:
    input = RenewalRunInput(decision_id=uuid.uuid4(), group_id=uuid.uuid4(), recheck_every=every)
    return await rig.client.start_workflow(
        RenewalDecisionWorkflow.run,
        input,
        id=id or wf.workflow_id(input.decision_id),
        task_queue=rig.task_queue,
        search_attributes=wf.search_attributes(input),
        static_summary=wf.summary("Acme Corp", ["Principal"], "2027-01-01"),
    )


def moves(rig: Rig) -> list[RenewalStatus]:
    """The statuses the run recorded, one entry per change."""
    return [status for _, status, changed in rig.renewals.recorded if changed]


async def test_a_plan_year_of_daily_checks_flips_with_the_carrier_and_ends_done(
    rig: Rig,
) -> None:
    start_time = await rig.env.get_current_time()

    def answer(now: datetime) -> RenewalStatus:
        day = (now - start_time) // DAY
        # Installed on day 30; a carrier change breaks it on days 120-129; installed after.
        return RenewalStatus.READY if 30 <= day < 120 or day >= 130 else RenewalStatus.NOT_READY

    rig.renewals.answer = answer
    rig.renewals.watched_until = (start_time + 364 * DAY).date()
    handle = await start(rig)

    assert await handle.result() == RenewalStatus.DONE

    assert moves(rig) == [
        RenewalStatus.NOT_READY,
        RenewalStatus.READY,
        RenewalStatus.NOT_READY,
        RenewalStatus.READY,
        RenewalStatus.DONE,
    ]
    checks = rig.renewals.checks
    # One a day for days 0 to 364, and the one on the day it is done.
    assert len(checks) == 366, "one check a day for the whole plan year"
    gaps = {later - earlier for earlier, later in itertools.pairwise(checks)}
    assert max(gaps) <= DAY + timedelta(seconds=5)
    # Flips were seen on the day they happened at the carrier.
    changed_at = [at for at, _, changed in rig.renewals.recorded if changed]
    assert (changed_at[1] - start_time) // DAY == 30
    assert (changed_at[2] - start_time) // DAY == 120
    # Continued as new along the way (100 checks a run), so histories stay short.
    assert (await handle.describe()).run_id != handle.first_execution_run_id
    described = await rig.client.get_workflow_handle(handle.id).describe()
    assert described.typed_search_attributes.get(sa.RENEWAL_STATUS) == "done"


async def test_an_edit_wakes_the_run_at_once_instead_of_at_the_next_daily_check(
    rig: Rig,
) -> None:
    rig.renewals.answer = lambda _: RenewalStatus.NOT_READY
    handle = await start(rig)

    async def not_ready() -> bool:
        return await handle.query(RenewalDecisionWorkflow.status) == RenewalStatus.NOT_READY

    await eventually(not_ready)
    edited_at = await rig.env.get_current_time()
    # The edit as the API makes it: a new body (edit_seq), then the `recheck` signal.
    rig.renewals.edit_seq += 1
    rig.renewals.answer = lambda _: RenewalStatus.READY
    await handle.signal(RenewalDecisionWorkflow.recheck)

    async def ready() -> bool:
        return await handle.query(RenewalDecisionWorkflow.status) == RenewalStatus.READY

    await eventually(ready)
    ready_at = next(at for at, status, _ in rig.renewals.recorded if status is RenewalStatus.READY)
    assert ready_at - edited_at < timedelta(hours=1)
    await handle.terminate()


async def test_carrier_faults_are_retried_and_leave_the_status_alone(rig: Rig) -> None:
    rig.renewals.faults = 3
    start_time = await rig.env.get_current_time()
    rig.renewals.watched_until = start_time.date()  # done after the first day's checks
    handle = await start(rig, every=timedelta(hours=6))

    assert await handle.result() == RenewalStatus.DONE

    assert rig.renewals.attempts >= 4
    # Nothing was recorded for the failed attempts: ready once checked, then done.
    assert moves(rig) == [RenewalStatus.READY, RenewalStatus.DONE]


async def test_a_check_of_an_earlier_edit_is_not_recorded_and_the_new_body_is_checked(
    rig: Rig,
) -> None:
    rig.renewals.answer = lambda _: RenewalStatus.NOT_READY
    rig.renewals.edit_seq = 1  # edited before the first check was recorded
    handle = await start(rig)

    async def recorded() -> bool:
        return bool(rig.renewals.recorded)

    await eventually(recorded)
    assert all(status is RenewalStatus.NOT_READY for _, status, _ in rig.renewals.recorded)
    await handle.terminate()


async def test_a_decision_past_its_late_window_is_done_at_its_first_check(rig: Rig) -> None:
    start_time = await rig.env.get_current_time()
    rig.renewals.watched_until = (start_time - DAY).date()
    handle = await start(rig)

    assert await handle.result() == RenewalStatus.DONE
    assert moves(rig) == [RenewalStatus.DONE]
    assert len(rig.renewals.checks) == 1
