"""What the engine asks of a carrier: the adapter protocol, its two error kinds, its seed facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from domain.account import AccountStructure, DataExchangeRegistration, GroupLookup
from domain.census import CensusPage
from domain.enums import LineOfCoverage
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
    """Everything the engine asks of a carrier: pure rules (no I/O) and the carrier calls.

    `carriers.http.HttpCarrier` implements the calls once for every carrier reached over its
    HTTP API; each carrier module subclasses it with its own rules.
    """

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

    async def fetch_census(
        self, carrier_group_id: str, *, cursor: str | None, limit: int
    ) -> CensusPage:
        """A page of the members the carrier holds for the group (its census); pass the page's
        `next_cursor` back for the next one, until it is None."""
        ...
