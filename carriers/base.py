"""The protocol every carrier module implements, and the HTTP plumbing they share."""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from uuid import UUID

import aiohttp

from domain.account import AccountStructure, DataExchangeRegistration, GroupLookup
from domain.enums import LineOfCoverage, LookupOutcome
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


@dataclass(frozen=True)
class CarrierInfo:
    """What the seeds say of a carrier: served by `GET /api/v1/carriers`."""

    id: UUID
    slug: str
    name: str
    lines_of_coverage: tuple[LineOfCoverage, ...]
    network: str
    cobra: str
    connection_time: str
    api_kinds: tuple[str, ...]
    carrier_group_id_format: str


class CarrierUnavailable(RuntimeError):
    """A transient carrier fault (5xx, timeout, connection refused): retry later."""


class CarrierRejected(ValueError):
    """The carrier refused the request's data (4xx): retrying the same request cannot help."""


class CarrierAdapter(Protocol):
    """Everything the engine asks of a carrier. Rules are pure; I/O goes through `client`."""

    info: CarrierInfo

    def normalize_carrier_group_id(self, raw: str) -> str:
        """The stored and sent form of a carrier group ID; `ValidationFailed` when invalid."""
        ...

    def validate_group_data(self, group_data: dict[str, Any]) -> None:
        """Refuse a connection request's `group_data` this carrier cannot accept."""
        ...

    def check_member_snapshot(
        self, snapshot: MemberSnapshot, choices: list[CoverageChoice], setup: GroupSetup
    ) -> MemberRulesOutcome:
        """Resolve each coverage's carrier configuration, or refuse (`ValidationFailed`).

        `choices` are the snapshot's coverages with this carrier, each with its plan found.
        """
        ...

    async def lookup_group(
        self, carrier_group_id: str, *, broker_federal_ein: str | None
    ) -> GroupLookup: ...

    async def fetch_account(self, carrier_group_id: str) -> AccountStructure: ...

    async def fetch_plans(self, carrier_group_id: str, *, as_of: date) -> CarrierPlans:
        """The group's plans and enrollments for the plan year starting on `as_of` (renewals)."""
        ...

    async def register_data_exchange(
        self, carrier_group_id: str, *, platform_reference: str, idempotency_key: str
    ) -> DataExchangeRegistration: ...

    async def send_member_transaction(
        self,
        carrier_group_id: str,
        *,
        transaction_id: str,
        transaction_type: str,
        member: CarrierMember,
        idempotency_key: str,
    ) -> CarrierTransactionReceipt:
        """Send the member as the carrier should hold it; the same key never applies twice."""
        ...

    async def member_transaction_status(
        self, carrier_group_id: str, carrier_transaction_id: str
    ) -> CarrierTransactionStatus: ...

    async def fetch_member(
        self, carrier_group_id: str, employee_id: UUID
    ) -> CarrierMemberRecord | None:
        """The member as the carrier holds it now; None when the carrier has no such member."""
        ...


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


class CarrierHttpClient:
    """The one HTTP client of a carrier system: maps transport faults to the two error kinds."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        allow_not_found: bool = False,
    ) -> Any:
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

    async def lookup_group(self, carrier_group_id: str, **params: str) -> GroupLookup:
        body = await self.request(
            "GET", f"/groups/{carrier_group_id}", params=params, allow_not_found=True
        )
        status = body.get("status", "not_found")
        return GroupLookup(
            carrier_group_id=carrier_group_id,
            outcome=_LOOKUP_STATUS.get(status, LookupOutcome.NOT_FOUND),
            message=body.get("message"),
        )

    async def fetch_account(self, carrier_group_id: str) -> AccountStructure:
        body = await self.request("GET", f"/groups/{carrier_group_id}/account")
        return AccountStructure.model_validate(body)

    async def fetch_plans(self, carrier_group_id: str, *, as_of: date) -> CarrierPlans:
        body = await self.request(
            "GET", f"/groups/{carrier_group_id}/plans", params={"as_of": as_of.isoformat()}
        )
        return CarrierPlans.model_validate(body)

    async def register_data_exchange(
        self, carrier_group_id: str, *, platform_reference: str, idempotency_key: str
    ) -> DataExchangeRegistration:
        body = await self.request(
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
        body = await self.request(
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
        body = await self.request(
            "GET", f"/groups/{carrier_group_id}/member_transactions/{carrier_transaction_id}"
        )
        return CarrierTransactionStatus.model_validate(body)

    async def fetch_member(
        self, carrier_group_id: str, employee_id: UUID
    ) -> CarrierMemberRecord | None:
        body = await self.request(
            "GET", f"/groups/{carrier_group_id}/members/{employee_id}", allow_not_found=True
        )
        # A 404 answers a message, not a member: any (also of a group the carrier no longer
        # shares) reads as "the carrier holds no such member".
        if "employee" not in body:
            return None
        return CarrierMemberRecord.model_validate(body)


class HttpCarrierAdapter:
    """Shared I/O of the API carriers; each carrier module adds its identifier rules."""

    info: CarrierInfo

    def __init__(self, client: CarrierHttpClient) -> None:
        self._client = client

    # Subclasses bind their carrier's pure rules as static methods, so the API can check a
    # request through the class without building an HTTP client.
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

    async def lookup_group(
        self, carrier_group_id: str, *, broker_federal_ein: str | None
    ) -> GroupLookup:
        params = {"broker_federal_ein": broker_federal_ein} if broker_federal_ein else {}
        return await self._client.lookup_group(carrier_group_id, **params)

    async def fetch_account(self, carrier_group_id: str) -> AccountStructure:
        return await self._client.fetch_account(carrier_group_id)

    async def fetch_plans(self, carrier_group_id: str, *, as_of: date) -> CarrierPlans:
        return await self._client.fetch_plans(carrier_group_id, as_of=as_of)

    async def register_data_exchange(
        self, carrier_group_id: str, *, platform_reference: str, idempotency_key: str
    ) -> DataExchangeRegistration:
        return await self._client.register_data_exchange(
            carrier_group_id, platform_reference=platform_reference, idempotency_key=idempotency_key
        )

    async def send_member_transaction(
        self,
        carrier_group_id: str,
        *,
        transaction_id: str,
        transaction_type: str,
        member: CarrierMember,
        idempotency_key: str,
    ) -> CarrierTransactionReceipt:
        return await self._client.send_member_transaction(
            carrier_group_id,
            transaction_id=transaction_id,
            transaction_type=transaction_type,
            member=member,
            idempotency_key=idempotency_key,
        )

    async def member_transaction_status(
        self, carrier_group_id: str, carrier_transaction_id: str
    ) -> CarrierTransactionStatus:
        return await self._client.member_transaction_status(
            carrier_group_id, carrier_transaction_id
        )

    async def fetch_member(
        self, carrier_group_id: str, employee_id: UUID
    ) -> CarrierMemberRecord | None:
        return await self._client.fetch_member(carrier_group_id, employee_id)
