"""Carrier audits in PostgreSQL: the latest finished ones, requested ones, pulled accounts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.account import AccountStructure
from domain.audits import MAX_FAILURE_REASON, AuditFailure, AuditTrigger, PullRequest
from store.account import store_account_structure
from store.db import NO_KEY_UPDATE, Statement, id_param
from store.models import CarrierConfiguration, Group, GroupAudit, unix_now


async def latest_finished(
    session: AsyncSession,
    group_id: uuid.UUID,
    *,
    carrier_id: uuid.UUID | None = None,
    before: int | None = None,
) -> GroupAudit | None:
    """The group's last finished audit (of `carrier_id`, when given; finished at or before
    `before` Unix seconds, when given)."""
    query = select(GroupAudit).where(
        GroupAudit.group_id == group_id, GroupAudit.completed_at.is_not(None)
    )
    if before is not None:
        query = query.where(GroupAudit.completed_at <= before)
    if carrier_id is not None:
        query = query.where(GroupAudit.carrier_ids.contains([carrier_id]))
    latest = query.order_by(GroupAudit.completed_at.desc(), GroupAudit.created.desc()).limit(1)
    audit: GroupAudit | None = await session.scalar(latest)
    return audit


async def configured_carriers(session: AsyncSession, group_id: uuid.UUID) -> list[uuid.UUID]:
    """The carriers configured for the group, in the order they were configured."""
    carriers = await session.scalars(
        select(CarrierConfiguration.carrier_id)
        .where(CarrierConfiguration.group_id == group_id)
        .order_by(CarrierConfiguration.created)
    )
    return list(carriers)


async def add_requested_audit(
    session: AsyncSession, request: PullRequest, *, workflow_id: str
) -> GroupAudit:
    """Record a requested audit before its run starts, so its id can be followed at once."""
    assert request.audit_id is not None
    audit = GroupAudit(
        id=request.audit_id,
        group_id=request.group_id,
        carrier_ids=[request.carrier_id],
        trigger=AuditTrigger.REQUEST.value,
        completed_at=None,
        workflow_id=workflow_id,
    )
    session.add(audit)
    await session.flush()
    return audit


async def remove_audit(session: AsyncSession, audit_id: uuid.UUID) -> None:
    """Take back a requested audit whose run could not start."""
    await session.delete(await session.get(GroupAudit, audit_id))


async def group_name(session: AsyncSession, group_id: uuid.UUID) -> str | None:
    name: str | None = await _GROUP_NAME.fetchval(session, group_id=group_id)
    return name


_GROUP_NAME = Statement(select(Group.name).where(Group.id == id_param("group_id")))


async def record_pull(
    session: AsyncSession, request: PullRequest, account: AccountStructure
) -> dict[str, Any]:
    """Store the carrier's account and complete the audit once; what the audit recorded."""
    audit_id = request.resolved_audit_id()
    # Audits of one group take turns, so a repeated pull sees the audit it recorded.
    await session.get(Group, request.group_id, with_for_update=NO_KEY_UPDATE)
    audit = await session.get(GroupAudit, audit_id)
    if audit is None:
        audit = GroupAudit(
            id=audit_id,
            group_id=request.group_id,
            carrier_ids=[request.carrier_id],
            trigger=request.trigger.value,
        )
        session.add(audit)
    # A requested audit was recorded when asked for; it completes here, once.
    if audit.completed_at is None:
        changes = await store_account_structure(
            session,
            group_id=request.group_id,
            carrier_id=request.carrier_id,
            account=account,
        )
        end = account.coverage_end_date
        audit.changes = {
            **changes.as_dict(),
            "coverage_end_date": end.isoformat() if end else None,
        }
        audit.completed_at = unix_now()
    recorded: dict[str, Any] = audit.changes
    return recorded


async def record_failure(session: AsyncSession, failure: AuditFailure) -> None:
    """Keep why an audit's run failed on the audit (recorded now when it had no row: a
    scheduled audit's); a completed audit is left as it is, a repeat changes nothing."""
    request = failure.request
    audit_id = request.resolved_audit_id()
    audit = await session.get(GroupAudit, audit_id, with_for_update=NO_KEY_UPDATE)
    if audit is None:
        audit = GroupAudit(
            id=audit_id,
            group_id=request.group_id,
            carrier_ids=[request.carrier_id],
            trigger=request.trigger.value,
            completed_at=None,
            workflow_id=failure.workflow_id,
        )
        session.add(audit)
    if audit.completed_at is None:
        audit.failure_reason = failure.reason[:MAX_FAILURE_REASON]
