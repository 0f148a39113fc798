"""Activities of carrier audits: pull a group's account into the store, keep its schedule."""

from __future__ import annotations

import uuid

import pydantic
from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client

from activities.refusals import refused
from carriers import CarrierAdapter, CarrierRejected
from domain.account import AccountStructure
from domain.audits import AccountSummary, AuditTrigger, PullRequest
from domain.errors import ValidationFailed
from domain.plans import validate_plan
from runtime.settings import Settings
from services.audits import ensure_audit_schedule
from store.account import store_account_structure
from store.connections import live_connection
from store.db import Database
from store.models import Group, GroupAudit, unix_now


class AuditActivities:
    def __init__(
        self,
        database: Database,
        adapters: dict[uuid.UUID, CarrierAdapter],
        client: Client,
        settings: Settings,
    ) -> None:
        self._db = database
        self._adapters = adapters
        self._client = client
        self._settings = settings

    @activity.defn(name="pull_account_structure")
    async def pull_account(self, request: PullRequest) -> AccountSummary:
        """Store the carrier's version of the group and record the audit; safe to repeat."""
        if request.trigger is not AuditTrigger.CONNECTION:
            await self._require_live_connection(request)
        account = await self._fetch(request)
        audit_id = request.resolved_audit_id()
        async with self._db.transaction() as session:
            # Audits of one group take turns, so a repeated pull sees the audit it recorded.
            await session.get(Group, request.group_id, with_for_update=True)
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
        recorded = audit.changes
        return AccountSummary(
            audit_id=audit_id,
            locations=len(account.locations),
            contacts=len(account.contacts),
            group_enrollments=len(account.group_enrollments),
            plans=len(account.plans),
            differences=len(recorded.get("group_differences", [])),
            coverage_end_date=recorded.get("coverage_end_date"),
            created=recorded.get("created", {}),
            changed=recorded.get("changed", {}),
        )

    @activity.defn(name="ensure_audit_schedule")
    async def ensure_audit_schedule(self, request: PullRequest) -> str:
        """The completed connection's audit schedule, created or brought up to date."""
        async with self._db.transaction() as session:
            group_name = await session.scalar(
                select(Group.name).where(Group.id == request.group_id)
            )
        return await ensure_audit_schedule(
            self._client,
            self._settings,
            request,
            group_name=group_name or request.carrier_group_id,
        )

    async def _require_live_connection(self, request: PullRequest) -> None:
        async with self._db.transaction() as session:
            connection = await live_connection(session, request.group_id, request.carrier_id)
        if connection is None or connection.id != request.connection_id:
            raise refused(
                f"group {request.group_id} has no live completed connection to carrier "
                f"{request.carrier_id}",
                "GroupNotConnected",
            )

    async def _fetch(self, request: PullRequest) -> AccountStructure:
        """The carrier's account, every plan checked against its line's schema."""
        try:
            account = await self._adapters[request.carrier_id].fetch_account(
                request.carrier_group_id
            )
        except CarrierRejected as exc:
            raise refused(str(exc), "CarrierRejected") from exc
        except pydantic.ValidationError as exc:
            first = ".".join(map(str, exc.errors()[0]["loc"]))
            raise refused(
                f"the carrier's account data is invalid: {exc.error_count()} problem(s), "
                f"first at {first}",
                "InvalidCarrierData",
            ) from exc
        try:
            for index, plan in enumerate(account.plans):
                validate_plan(plan.details(), prefix=f"plans.{index}")
        except ValidationFailed as exc:
            raise refused(
                f"the carrier's account data is invalid: {exc}", "InvalidCarrierData"
            ) from exc
        return account
