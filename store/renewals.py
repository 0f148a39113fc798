"""Renewal decisions in PostgreSQL: what submitting, checking, listing and the election gate read
and write."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.renewals import (
    CheckOutcome,
    DecisionBody,
    DecisionForElections,
    RecordedCheck,
    RenewalStatus,
    shown_issues,
)
from store.connections import live_carrier_groups
from store.db import NO_KEY_UPDATE
from store.group_data import Contains, owned
from store.models import Group, Plan, RenewalDecision, unix_now
from store.versioning import save_version


@dataclass(frozen=True)
class GroupAtCarriers:
    """What a decision's body is checked against: the group's live links and plans."""

    # carrier id -> the carrier's id of the group, for each completed, live connection
    connections: dict[uuid.UUID, str]
    # carrier id -> (the group's plan id -> the carrier's plan id)
    plans: dict[uuid.UUID, dict[uuid.UUID, str]]

    def plan_ids(self) -> dict[uuid.UUID, set[uuid.UUID]]:
        return {carrier: set(plans) for carrier, plans in self.plans.items()}


async def group_at_carriers(session: AsyncSession, group_id: uuid.UUID) -> GroupAtCarriers:
    connections = await live_carrier_groups(session, group_id)
    plans: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
    rows = await session.execute(
        select(Plan.carrier_id, Plan.id, Plan.carrier_plan_id).where(Plan.group_id == group_id)
    )
    for carrier_id, plan_id, carrier_plan_id in rows.all():
        plans[carrier_id][plan_id] = carrier_plan_id
    return GroupAtCarriers(connections=connections, plans=dict(plans))


async def owned_group(
    session: AsyncSession, group_id: uuid.UUID, organization_id: uuid.UUID
) -> Group:
    """The organization's group, or `NotFound`."""
    return await owned(session, Group, group_id, organization_id, what="group")


async def owned_decision(
    session: AsyncSession,
    decision_id: uuid.UUID,
    organization_id: uuid.UUID,
    *,
    group_id: uuid.UUID | None = None,
    for_update: bool = False,
) -> RenewalDecision:
    """The organization's decision (in `group_id`, when given), or `NotFound`."""
    return await owned(
        session,
        RenewalDecision,
        decision_id,
        organization_id,
        what="renewal decision",
        group_id=group_id,
        for_update=for_update,
    )


async def open_decision(
    session: AsyncSession, group_id: uuid.UUID, renewal_date: date
) -> RenewalDecision | None:
    """The group's decision for the renewal date that is not `done`, if any."""
    return await session.scalar(
        select(RenewalDecision).where(
            RenewalDecision.group_id == group_id,
            RenewalDecision.renewal_date == renewal_date,
            RenewalDecision.status != RenewalStatus.DONE.value,
        )
    )


async def add_decision(
    session: AsyncSession,
    *,
    decision_id: uuid.UUID,
    organization_id: uuid.UUID,
    group: Group,
    renewal_date: date,
    body: DecisionBody,
    workflow_id: str,
) -> RenewalDecision:
    row = RenewalDecision(
        id=decision_id,
        organization_id=organization_id,
        group_id=group.id,
        group_name=group.name,
        renewal_date=renewal_date,
        status=RenewalStatus.SUBMITTED.value,
        body=body.model_dump(mode="json", exclude_none=True),
        carrier_ids=body.carrier_ids(),
        issues=[],
        edit_seq=0,
        workflow_id=workflow_id,
    )
    return await save_version(session, row, is_new=True)


async def edit_decision(
    session: AsyncSession, row: RenewalDecision, *, renewal_date: date, body: DecisionBody
) -> RenewalDecision:
    """The edited decision, `submitted` again until its next check."""
    row.renewal_date = renewal_date
    row.body = body.model_dump(mode="json", exclude_none=True)
    row.carrier_ids = body.carrier_ids()
    row.status = RenewalStatus.SUBMITTED.value
    row.issues = []
    row.edit_seq += 1
    return await save_version(session, row)


async def delete_decision(session: AsyncSession, decision_id: uuid.UUID) -> None:
    """Take back a decision nothing will check (its run could not be started)."""
    row = await session.get(RenewalDecision, decision_id)
    if row is not None:
        await session.delete(row)


def list_conditions(
    organization_id: uuid.UUID,
    *,
    group_id: uuid.UUID | None = None,
    renewal_date: date | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    group_name: str | None = None,
    statuses: list[str] | None = None,
) -> list[Any]:
    """The lists' filters; `start_date` and `end_date` bound the renewal date."""
    conditions: list[Any] = [RenewalDecision.organization_id == organization_id]
    if group_id is not None:
        conditions.append(RenewalDecision.group_id == group_id)
    if renewal_date is not None:
        conditions.append(RenewalDecision.renewal_date == renewal_date)
    if start_date is not None:
        conditions.append(RenewalDecision.renewal_date >= start_date)
    if end_date is not None:
        conditions.append(RenewalDecision.renewal_date <= end_date)
    if group_name:
        conditions.append(Contains(("group_name",), group_name).condition(RenewalDecision))
    if statuses:
        conditions.append(RenewalDecision.status.in_(statuses))
    return conditions


# --- the check -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionToCheck:
    decision_id: uuid.UUID
    edit_seq: int
    group_name: str
    renewal_date: date
    body: DecisionBody
    group: GroupAtCarriers


async def decision_to_check(
    session: AsyncSession, decision_id: uuid.UUID
) -> DecisionToCheck | None:
    row = await session.get(RenewalDecision, decision_id)
    if row is None:
        return None
    return DecisionToCheck(
        decision_id=row.id,
        edit_seq=row.edit_seq,
        group_name=row.group_name,
        renewal_date=row.renewal_date,
        body=DecisionBody.model_validate(row.body),
        group=await group_at_carriers(session, row.group_id),
    )


async def record_check(session: AsyncSession, outcome: CheckOutcome) -> RecordedCheck:
    """Store a check's result; a new version only when the status or the issues move.

    A check of an earlier edit is not applied (the edit's own check follows), nor is anything
    written to a decision that is already `done`.
    """
    row = await session.get(RenewalDecision, outcome.decision_id, with_for_update=NO_KEY_UPDATE)
    if row is None:
        return RecordedCheck(applied=False, status=outcome.status, changed=False)
    current = RenewalStatus(row.status)
    if row.edit_seq != outcome.edit_seq or current is RenewalStatus.DONE:
        return RecordedCheck(applied=False, status=current, changed=False)
    issues = [
        issue.model_dump(mode="json") for issue in shown_issues(outcome.status, outcome.issues)
    ]
    row.checked = unix_now()
    changed = row.status != outcome.status.value or row.issues != issues
    if changed:
        row.status = outcome.status.value
        row.issues = issues
        await save_version(session, row)
    return RecordedCheck(applied=True, status=outcome.status, changed=changed)


# --- the election gate -----------------------------------------------------------------------


async def decisions_for_elections(
    session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID
) -> list[DecisionForElections]:
    """The group's decisions that cover the carrier."""
    rows = await session.execute(
        select(RenewalDecision.id, RenewalDecision.renewal_date, RenewalDecision.status).where(
            RenewalDecision.group_id == group_id,
            RenewalDecision.carrier_ids.contains([carrier_id]),
        )
    )
    return [
        DecisionForElections(
            decision_id=decision_id, renewal_date=renewal_date, status=RenewalStatus(status)
        )
        for decision_id, renewal_date, status in rows.all()
    ]
