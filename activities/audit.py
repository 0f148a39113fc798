"""Activities of carrier audits: pull a group's account into the store, keep its schedule."""

from __future__ import annotations

import uuid

import pydantic
from temporalio import activity
from temporalio.client import Client

from activities.heartbeat import heartbeats
from activities.refusals import refused
from carriers import CarrierAdapter, CarrierRejected
from domain.account import AccountStructure
from domain.audits import AccountSummary, AuditFailure, AuditTrigger, PullRequest
from domain.census import CENSUS_PAGE_SIZE, CensusPageRequest, CensusPageResult
from domain.errors import ValidationFailed
from domain.plans import validate_plan
from runtime.settings import Settings
from services import audits, census
from store.connections import live_connection
from store.db import Database


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
    @heartbeats
    async def pull_account(self, request: PullRequest) -> AccountSummary:
        """Store the carrier's version of the group and record the audit; safe to repeat."""
        if request.trigger is not AuditTrigger.CONNECTION:
            await self._require_live_connection(request)
        account = await self._fetch(request)
        return await audits.record_pull(self._db, request, account)

    @activity.defn(name="pull_census_page")
    @heartbeats
    async def pull_census_page(self, request: CensusPageRequest) -> CensusPageResult:
        """Read one page of the group's census at the carrier and store it (and compare it, for
        a connection); only counts and the next cursor go back: pages hold people."""
        pull = request.pull
        if pull.trigger is not AuditTrigger.CONNECTION:
            await self._require_live_connection(pull)
        try:
            page = await self._adapters[pull.carrier_id].fetch_census(
                pull.carrier_group_id, cursor=request.cursor, limit=CENSUS_PAGE_SIZE
            )
        except CarrierRejected as exc:
            raise refused(str(exc), "CarrierRejected") from exc
        except pydantic.ValidationError as exc:
            raise refused(
                f"the carrier's census is invalid: {exc.error_count()} problem(s)",
                "InvalidCarrierData",
            ) from exc
        return await census.store_census_page(self._db, request, page)

    @activity.defn(name="record_audit_failure")
    async def record_failure(self, failure: AuditFailure) -> None:
        """Keep why the audit's run failed on the audit; safe to repeat."""
        await audits.record_failure(self._db, failure)

    @activity.defn(name="ensure_audit_schedule")
    async def ensure_audit_schedule(self, request: PullRequest) -> str:
        """The completed connection's audit schedule, created or brought up to date."""
        return await audits.ensure_group_schedule(self._db, self._client, self._settings, request)

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
