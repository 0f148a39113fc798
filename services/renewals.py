"""Renewal decisions' use cases: submit, edit (re-checked at once), and the election gate.

Refusals are domain errors: `ValidationFailed` (422 naming the field), `NotFound`, `Conflict`
(409) and `Unavailable` (503).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from carriers.registry import CARRIERS
from domain.errors import Conflict, FieldProblem, Unavailable, ValidationFailed
from domain.renewals import (
    DecisionBody,
    NewRenewalDecision,
    RenewalDecisionEdit,
    RenewalRunInput,
    RenewalStatus,
    body_problems,
    check_renewal_date,
    election_refusal,
)
from domain.snapshots import MemberSnapshot
from runtime.settings import Settings
from store import renewals as store
from store.db import Database
from store.models import RenewalDecision
from workflows import renewal as wf

WHAT = "renewal decision"
_OPEN_ENROLLMENT = frozenset({"open_enrollment", "dependent_open_enrollment"})


async def submit(
    db: Database,
    client: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    request: NewRenewalDecision,
    today: dt.date,
) -> dict[str, Any]:
    """Store the decision as `submitted` and start its run, which checks it at once."""
    check_renewal_date(request.renewal_date, today=today)
    decision_id = uuid.uuid4()
    try:
        async with db.transaction() as session:
            group = await store.owned_group(session, group_id, organization_id)
            await _check_body(session, group_id, request.body)
            await _refuse_second_open(session, group_id, request.renewal_date)
            row = await store.add_decision(
                session,
                decision_id=decision_id,
                organization_id=organization_id,
                group=group,
                renewal_date=request.renewal_date,
                body=request.body,
                workflow_id=wf.workflow_id(decision_id),
            )
    except IntegrityError:
        raise _open_conflict(None, request.renewal_date) from None
    # Started after the commit: the run's first check reads the row.
    try:
        await _start(client, settings, row)
    except RPCError as exc:
        async with db.transaction() as session:
            await store.delete_decision(session, decision_id)
        raise Unavailable(f"the workflow service is unavailable: {exc.message}") from exc
    return row.as_contract()


async def edit(
    db: Database,
    client: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    decision_id: uuid.UUID,
    version: uuid.UUID,
    change: RenewalDecisionEdit,
    today: dt.date,
) -> dict[str, Any]:
    """Edit against the current version (else 409): `submitted` again, and re-checked now."""
    try:
        async with db.transaction() as session:
            row = await store.owned_decision(session, decision_id, organization_id, for_update=True)
            if row.status == RenewalStatus.DONE.value:
                raise Conflict("the decision is done: it is no longer watched")
            if row.version != version:
                raise Conflict(
                    f"version conflict: the current version is {row.version}",
                    current_version=str(row.version),
                )
            renewal_date = change.renewal_date or row.renewal_date
            body = change.body or DecisionBody.model_validate(row.body)
            if change.renewal_date is not None and change.renewal_date != row.renewal_date:
                check_renewal_date(change.renewal_date, today=today)
                await _refuse_second_open(session, row.group_id, change.renewal_date)
            if change.body is not None:
                await _check_body(session, row.group_id, change.body)
            row = await store.edit_decision(session, row, renewal_date=renewal_date, body=body)
    except IntegrityError:
        raise _open_conflict(None, change.renewal_date) from None
    try:
        await _start(client, settings, row, recheck=True)
    except RPCError as exc:
        # The edit is kept; the run's next daily check sees it.
        raise Unavailable(
            f"the decision was saved but could not be re-checked now: {exc.message}"
        ) from exc
    return row.as_contract()


async def _check_body(session: AsyncSession, group_id: uuid.UUID, body: DecisionBody) -> None:
    group = await store.group_at_carriers(session, group_id)
    problems = body_problems(
        body,
        connected=set(group.connections),
        carrier_lines={
            carrier_id: {line.value for line in info.lines_of_coverage}
            for carrier_id, info in CARRIERS.items()
        },
        group_plan_ids=group.plan_ids(),
    )
    if problems:
        raise ValidationFailed(problems)


async def _refuse_second_open(
    session: AsyncSession, group_id: uuid.UUID, renewal_date: dt.date
) -> None:
    existing = await store.open_decision(session, group_id, renewal_date)
    if existing is not None:
        raise _open_conflict(existing, renewal_date)


def _open_conflict(existing: RenewalDecision | None, renewal_date: dt.date | None) -> Conflict:
    if existing is None:
        return Conflict(f"the group already has an open decision for {renewal_date}")
    return Conflict(
        f"the group already has an open decision for {renewal_date}: {existing.id} "
        f"({existing.status})",
        existing_id=str(existing.id),
    )


async def _start(
    client: Client, settings: Settings, row: RenewalDecision, *, recheck: bool = False
) -> None:
    """Start the decision's run (kept if one runs); with `recheck`, wake it to check now."""
    input = RenewalRunInput(
        decision_id=row.id,
        group_id=row.group_id,
        recheck_every=settings.renewal_recheck_interval,
        last_status=RenewalStatus(row.status),
    )
    names = [CARRIERS[c].name for c in row.carrier_ids if c in CARRIERS]
    await client.start_workflow(
        wf.RenewalDecisionWorkflow.run,
        input,
        id=wf.workflow_id(row.id),
        task_queue=settings.task_queue,
        search_attributes=wf.search_attributes(input),
        static_summary=wf.summary(row.group_name, names, row.renewal_date.isoformat()),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=wf.RECHECK_SIGNAL if recheck else None,
    )


# --- the election gate ---------------------------------------------------------------------------


async def election_problems(
    session: AsyncSession, group_id: uuid.UUID, snapshot: MemberSnapshot
) -> list[FieldProblem]:
    """Refuse open-enrollment elections for a plan year whose decision is not `ready` yet.

    A coverage is an election when its event (its employee's, else any enrolled member's, else
    the employee's own event, as the carriers are told) is an open enrollment; each enrolled
    member's takes effect on its `latest_change_effective_date`, else its `effective_start_date`.
    The governing decision of the group and carrier is the latest with a renewal date on or
    before that day; with none, the elections are accepted (`domain.renewals.election_refusal`).
    """
    reasons = {event.id: event.reason.value for event in snapshot.events}
    elections: dict[uuid.UUID, list[tuple[int, dt.date]]] = defaultdict(list)
    for index, coverage in enumerate(snapshot.coverages):
        named = sorted(
            coverage.enrolled_members, key=lambda m: m.individual_type.value != "employee"
        )
        event_id = next((m.event_id for m in named if m.event_id), snapshot.employee.event_id)
        if reasons.get(event_id or "") not in _OPEN_ENROLLMENT:
            continue
        for member in coverage.enrolled_members:
            takes_effect = member.latest_change_effective_date or member.effective_start_date
            elections[coverage.carrier_id].append((index, takes_effect))
    problems: list[FieldProblem] = []
    for carrier_id, found in elections.items():
        decisions = await store.decisions_for_elections(session, group_id, carrier_id)
        if not decisions:
            continue
        refused: set[int] = set()
        for index, takes_effect in found:
            reason = election_refusal(decisions, takes_effect=takes_effect)
            if reason is not None and index not in refused:
                refused.add(index)
                problems.append(FieldProblem(f"coverages.{index}", reason))
    return problems
