"""The carrier calls over HTTP, written once: every API carrier subclasses `HttpCarrier`."""

from __future__ import annotations

import json as jsonlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any
from uuid import UUID

import aiohttp

from carriers.protocol import CarrierInfo, CarrierRejected, CarrierUnavailable
from domain.account import AccountStructure, DataExchangeRegistration, GroupLookup
from domain.census import CensusPage
from domain.edi834_members import FileRules
from domain.enums import LookupOutcome
from domain.members import (
    CarrierMember,
    CarrierMemberRecord,
    CarrierTransactionReceipt,
    CarrierTransactionStatus,
    CoverageChoice,
    GroupSetup,
    MemberRulesOutcome,
)
from domain.renewals import CarrierPlans
from domain.snapshots import MemberSnapshot

# The carrier systems answer lookups in their own words; these are the sandbox's (and, for the
# carriers modelled here, the production APIs') vocabulary.
_LOOKUP_STATUS = {
    "found": LookupOutcome.FOUND,
    "in_review": LookupOutcome.NEEDS_REVIEW,
    "not_installed": LookupOutcome.NOT_INSTALLED,
    "action_required": LookupOutcome.ACTION_REQUIRED,
    "not_authorized": LookupOutcome.NOT_AUTHORIZED,
    "not_found": LookupOutcome.NOT_FOUND,
}


@asynccontextmanager
async def carrier_session(
    *, timeout_seconds: float, connections: int
) -> AsyncIterator[aiohttp.ClientSession]:
    """One pool of at most `connections` kept-alive connections, shared by every carrier and
    closed on exit. A call gives up after `timeout_seconds` waiting for a connection, or for a
    byte.

    aiohttp, not httpx, for the engine's carrier calls: in bench.snapshots httpx took a third
    of the worker's CPU, a tenth in scanning its whole pool for expired connections on every
    request.
    """
    timeout = aiohttp.ClientTimeout(total=None, connect=timeout_seconds, sock_read=timeout_seconds)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        yield http


class HttpCarrier:
    """A carrier reached over its HTTP API: implements `CarrierAdapter`.

    The calls are the same for every such carrier and live here; a carrier module subclasses
    this with its `info` and binds its pure rules as static methods, so the API can check a
    request through the class (`carriers.rules_for`) without building an HTTP client.
    """

    info: CarrierInfo

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    # --- the carrier's pure rules: each carrier module binds its own ---------------------------

    @staticmethod
    def normalize_carrier_group_id(raw: str) -> str:
        raise NotImplementedError

    @staticmethod
    def validate_group_data(group_data: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def check_member_snapshot(
        snapshot: MemberSnapshot, choices: list[CoverageChoice], setup: GroupSetup
    ) -> MemberRulesOutcome:
        raise NotImplementedError

    def file_rules(self, carrier_group_id: str) -> FileRules:
        raise CarrierRejected(f"{self.info.name} takes no files")

    # --- the carrier calls --------------------------------------------------------------------

    async def deliver_file(self, name: str, content: bytes) -> None:
        raise CarrierRejected(f"{self.info.name} takes no files")

    async def fetch_acknowledgement(self, name: str) -> str | None:
        raise CarrierRejected(f"{self.info.name} takes no files")

    async def lookup_group(
        self, carrier_group_id: str, *, broker_federal_ein: str | None
    ) -> GroupLookup:
        params = {"broker_federal_ein": broker_federal_ein} if broker_federal_ein else {}
        body = await self._request(
            "GET", f"/groups/{carrier_group_id}", params=params, allow_not_found=True
        )
        status = body.get("status", "not_found")
        return GroupLookup(
            carrier_group_id=carrier_group_id,
            outcome=_LOOKUP_STATUS.get(status, LookupOutcome.NOT_FOUND),
            message=body.get("message"),
        )

    async def fetch_account(self, carrier_group_id: str) -> AccountStructure:
        body = await self._request("GET", f"/groups/{carrier_group_id}/account")
        return AccountStructure.model_validate(body)

    async def fetch_plans(self, carrier_group_id: str, *, as_of: date) -> CarrierPlans:
        body = await self._request(
            "GET", f"/groups/{carrier_group_id}/plans", params={"as_of": as_of.isoformat()}
        )
        return CarrierPlans.model_validate(body)

    async def register_data_exchange(
        self, carrier_group_id: str, *, platform_reference: str, idempotency_key: str
    ) -> DataExchangeRegistration:
        body = await self._request(
            "POST",
            f"/groups/{carrier_group_id}/data_exchange",
            json={"platform_reference": platform_reference},
            headers={"Idempotency-Key": idempotency_key},
        )
        return DataExchangeRegistration.model_validate(body)

    async def send_member_transaction(
        self,
        carrier_group_id: str,
        *,
        transaction_id: str,
        transaction_type: str,
        member: CarrierMember,
        idempotency_key: str,
    ) -> CarrierTransactionReceipt:
        body = await self._request(
            "POST",
            f"/groups/{carrier_group_id}/member_transactions",
            json={
                "transaction_id": transaction_id,
                "transaction_type": transaction_type,
                "member": member.model_dump(mode="json"),
            },
            headers={"Idempotency-Key": idempotency_key},
        )
        return CarrierTransactionReceipt.model_validate(body)

    async def member_transaction_status(
        self, carrier_group_id: str, carrier_transaction_id: str
    ) -> CarrierTransactionStatus:
        body = await self._request(
            "GET", f"/groups/{carrier_group_id}/member_transactions/{carrier_transaction_id}"
        )
        return CarrierTransactionStatus.model_validate(body)

    async def fetch_member(
        self, carrier_group_id: str, employee_id: UUID
    ) -> CarrierMemberRecord | None:
        body = await self._request(
            "GET", f"/groups/{carrier_group_id}/members/{employee_id}", allow_not_found=True
        )
        # A 404 answers a message, not a member: any (also of a group the carrier no longer
        # shares) reads as "the carrier holds no such member".
        if "employee" not in body:
            return None
        return CarrierMemberRecord.model_validate(body)

    async def fetch_census(
        self, carrier_group_id: str, *, cursor: str | None, limit: int
    ) -> CensusPage:
        params = {"limit": str(limit)}
        if cursor is not None:
            params["cursor"] = cursor
        body = await self._request("GET", f"/groups/{carrier_group_id}/census", params=params)
        return CensusPage.model_validate(body)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        allow_not_found: bool = False,
    ) -> Any:
        """The answer's JSON body; transport faults mapped to the two error kinds."""
        url = f"{self._base_url}{path}"
        try:
            async with self._http.request(
                method, url, json=json, params=params, headers=headers
            ) as response:
                status = response.status
                body = await response.read()
        # Timeouts, refused connections, resets, a body cut short.
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CarrierUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if status >= 500 or status == 429:
            raise CarrierUnavailable(f"{method} {path}: HTTP {status}")
        if status >= 400 and not (status == 404 and allow_not_found):
            text = body.decode(errors="replace")
            raise CarrierRejected(f"{method} {path}: HTTP {status} {text}")
        return jsonlib.loads(body)
