"""What the engine asks of a carrier: the adapter protocol, its two error kinds, its seed facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit
from uuid import UUID

from domain.account import AccountStructure, DataExchangeRegistration, GroupLookup
from domain.census import CensusPage
from domain.edi834_members import FileRules
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


class Network(StrEnum):
    """How the carrier takes enrollment: over its API (`sync`) or as files (`send`)."""

    SYNC = "sync"
    SEND = "send"


class FileMode(StrEnum):
    """What a feed run's file holds: the changes since the last accepted run, or everyone."""

    CHANGES = "changes"
    FULL = "full"


@dataclass(frozen=True)
class SftpSettings:
    """Where the carrier's SFTP server takes files (`inbound`) and leaves its 999s (`outbound`).

    `key_file` or `password` (a deployment secret: from settings, never in the registry of a
    real carrier). The sandbox's server takes its own user and password.
    """

    host: str
    port: int
    user: str
    inbound: str = "inbound"
    outbound: str = "outbound"
    key_file: str | None = None
    password: str | None = None
    known_hosts: str | None = None  # None: any host key (the loopback sandbox only)

    @classmethod
    def from_url(cls, url: str) -> SftpSettings:
        """`sftp://user[:password]@host:port[?key_file=PATH&known_hosts=PATH]` (settings)."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 22,
            user=unquote(parts.username or ""),
            password=unquote(parts.password) if parts.password else None,
            key_file=query.get("key_file"),
            known_hosts=query.get("known_hosts"),
            inbound=query.get("inbound", "inbound"),
            outbound=query.get("outbound", "outbound"),
        )


@dataclass(frozen=True)
class FeedSchedule:
    """When a feed runs: an RFC 5545 RRULE (FREQ=DAILY or WEEKLY;BYDAY=...) at a local time."""

    rrule: str
    time_of_day: str  # HH:MM
    zone_info: str  # an IANA zone, e.g. America/Chicago


@dataclass(frozen=True)
class TradingPartner:
    """A file carrier's EDI settings: envelope ids, SFTP, file mode and the default schedule."""

    isa_qualifier: str
    isa_sender_id: str  # ours, as the carrier knows us
    isa_receiver_qualifier: str
    isa_receiver_id: str  # the carrier's
    gs_sender: str
    gs_receiver: str
    payer_name: str  # N1*IN
    payer_federal_ein: str
    sftp: SftpSettings
    file_mode: FileMode
    schedule: FeedSchedule
    production: bool = False  # ISA15: T until the carrier moves the feed to production


@dataclass(frozen=True)
class CarrierInfo:
    """What the seeds say of a carrier: served by `GET /api/v1/carriers`. A file (`send`)
    carrier also carries its trading-partner settings."""

    id: UUID
    slug: str
    name: str
    lines_of_coverage: tuple[LineOfCoverage, ...]
    network: str
    cobra: str
    connection_time: str
    api_kinds: tuple[str, ...]
    carrier_group_id_format: str
    trading_partner: TradingPartner | None = None

    @property
    def sends_files(self) -> bool:
        return self.network == Network.SEND and self.trading_partner is not None


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

    # --- file carriers (`info.sends_files`); an API carrier refuses them (`CarrierRejected`) ---

    def file_rules(self, carrier_group_id: str) -> FileRules:
        """The carrier's companion-guide choices for a group's 834 (line codes, policy)."""
        ...

    async def deliver_file(self, name: str, content: bytes) -> None:
        """Upload a file once: a retry of the same name and content is recognised as done."""
        ...

    async def fetch_acknowledgement(self, name: str) -> str | None:
        """The carrier's 999 for the file of this name, or None while it has not answered."""
        ...
