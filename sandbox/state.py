"""Everything one sandbox app remembers: changes, registrations, members, keys and counters."""

from __future__ import annotations

import calendar
import json
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter

from sandbox.carriers import CARRIERS, CarrierRules, Lookup, LookupStatus
from sandbox.census import as_census_member, census_member, census_size, employee_id
from sandbox.changes import Change, RenewalPlan, SetStatus, apply_change
from sandbox.errors import ChangeRejected, GroupUnavailable
from sandbox.faults import FaultInjector
from sandbox.generator import generate_account
from sandbox.idempotency import IdempotencyStore
from sandbox.members import (
    MemberStore,
    MemberTransactionCounts,
    MemberTransactionRequest,
    ProcessingSettings,
)
from sandbox.plans import Json
from sandbox.renewals import renewal_plans


@dataclass
class WriteCounts:
    applied: int = 0
    duplicates_absorbed: int = 0
    # Applied writes that repeat an earlier one under a new Idempotency-Key: the client's bug.
    doubled: int = 0


def last_day_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


class SandboxState:
    """One lock guards every read-modify-write: handlers may run concurrently."""

    def __init__(
        self,
        faults: FaultInjector,
        *,
        processing: ProcessingSettings | None = None,
        clock: Callable[[], datetime] | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.faults = faults
        # Member transactions are timed by this clock alone, so tests can move time.
        self.clock: Callable[[], datetime] = clock or _utc_now
        self._lock = threading.Lock()
        self._requests = 0
        self._writes = WriteCounts()
        self._idempotency = IdempotencyStore()
        self._registrations: set[tuple[str, str, str]] = set()
        self._changes: dict[tuple[str, str], list[Change]] = {}
        # When each group was first asked for a plan year: the delayed-install script counts
        # from there (`sandbox.renewals`).
        self._renewals_asked: dict[tuple[str, str, date], datetime] = {}
        # The carriers' behaviours read the group's plans as they are when a transaction
        # completes; the store calls this under the lock, so it reads the logs directly.
        self._members = MemberStore(
            processing or ProcessingSettings(), accounts=self._account_for_members
        )
        # The carriers' groups (changes, registrations, renewal clocks) survive a restart here.
        self._state_file = state_file
        if state_file is not None and state_file.exists():
            self._load(state_file)

    def count_request(self) -> None:
        with self._lock:
            self._requests += 1

    def counters(self) -> tuple[int, WriteCounts]:
        with self._lock:
            return self._requests, replace(self._writes)

    def lookup(self, carrier: CarrierRules, carrier_group_id: str) -> Lookup:
        with self._lock:
            return self._lookup(carrier, carrier_group_id)

    def account(self, carrier: CarrierRules, carrier_group_id: str, today: date) -> Json:
        """The account of a found (or in-review) group; `today` dates carrier-ended groups."""
        with self._lock:
            lookup = self._lookup(carrier, carrier_group_id)
            log = self._changes.get((carrier.slug, carrier_group_id), [])
        _require_existing(lookup)
        # Logs are replaced, never mutated, so this snapshot stays valid outside the lock.
        return _build_account(carrier, carrier_group_id, log, today)

    def renewal(self, carrier: CarrierRules, carrier_group_id: str, renewal_date: date) -> Json:
        """The group's plans for the plan year starting on `renewal_date` (`sandbox.renewals`)."""
        with self._lock:
            lookup = self._lookup(carrier, carrier_group_id)
            log = self._changes.get((carrier.slug, carrier_group_id), [])
            now = self.clock()
            asked = self._first_asked((carrier.slug, carrier_group_id, renewal_date), now)
        _require_existing(lookup)
        account = _build_account(carrier, carrier_group_id, log, now.date())
        return renewal_plans(carrier, account, log, renewal_date, first_asked=asked, now=now)

    def change(
        self, carrier: CarrierRules, carrier_group_id: str, change: Change, today: date
    ) -> Json:
        """Record a carrier-side change (any lookup status) and answer the changed account (the
        changed plan year, for a `renewal_plan` change)."""
        with self._lock:
            self._lookup(carrier, carrier_group_id)  # Refuses malformed IDs.
            log = self._changes.get((carrier.slug, carrier_group_id), [])
            account = _build_account(carrier, carrier_group_id, log, today)
            if isinstance(change, RenewalPlan):
                now = self.clock()
                asked = self._first_asked(
                    (carrier.slug, carrier_group_id, change.renewal_date), now
                )
                # Refused (ChangeRejected) before it is logged when it does not apply.
                plans = renewal_plans(
                    carrier,
                    account,
                    [*log, change],
                    change.renewal_date,
                    first_asked=asked,
                    now=now,
                    strict_last=True,
                )
                self._changes[(carrier.slug, carrier_group_id)] = [*log, change]
                self._save()
                return plans
            # Applied before it is logged, so a rejected change leaves no trace.
            apply_change(account, change, carrier=carrier, ordinal=len(log))
            self._changes[(carrier.slug, carrier_group_id)] = [*log, change]
            self._save()
            return account

    def register_data_exchange(
        self,
        carrier: CarrierRules,
        carrier_group_id: str,
        platform_reference: str,
        *,
        idempotency_key: str,
        fingerprint: str,
        now: datetime,
    ) -> tuple[bool, Json]:
        """(replayed, body) of registering the platform's data-exchange link for the group."""

        def apply() -> Json:
            _require_existing(self._lookup(carrier, carrier_group_id))
            target = (carrier.slug, carrier_group_id, platform_reference)
            if target in self._registrations:
                self._writes.doubled += 1
            self._registrations.add(target)
            self._save()
            return {
                "registration_id": str(uuid.uuid4()),
                "carrier_group_id": carrier_group_id,
                "platform_reference": platform_reference,
                "registered_at": now.isoformat(),
            }

        return self._idempotent_write(carrier, idempotency_key, fingerprint, apply)

    # --- members ------------------------------------------------------------------------------
    # The member store finishes what is due on every call (of one member's queue where only
    # that member is concerned); it is called under the lock only.

    def send_member_transaction(
        self,
        carrier: CarrierRules,
        carrier_group_id: str,
        request: MemberTransactionRequest,
        *,
        idempotency_key: str,
        fingerprint: str,
    ) -> tuple[bool, Json]:
        """(replayed, receipt) of a member transaction sent to the group."""

        def apply() -> Json:
            now = self.clock()  # Read under the lock, so receipts are in clock order.
            _require_existing(self._lookup(carrier, carrier_group_id))
            cobra = request.member.cobra_coverages()
            if cobra and not carrier.cobra:
                # Refused on receipt, as a carrier without COBRA refuses the whole request.
                fields = ", ".join(f"member.coverages.{index}.cobra" for index in cobra)
                raise ChangeRejected(f"{carrier.name} does not support COBRA ({fields})")
            if self._members.seen(carrier.slug, carrier_group_id, request.transaction_id):
                self._writes.doubled += 1
            transaction = self._members.receive(carrier.slug, carrier_group_id, request, now)
            return transaction.receipt()

        return self._idempotent_write(carrier, idempotency_key, fingerprint, apply)

    def member_transaction(self, carrier: CarrierRules, carrier_group_id: str, id: str) -> Json:
        """The status of one of the group's member transactions, as of now."""
        with self._lock:
            now = self.clock()
            self._lookup(carrier, carrier_group_id)  # Refuses malformed IDs.
            return self._members.transaction(carrier.slug, carrier_group_id, id, now)

    def member(self, carrier: CarrierRules, carrier_group_id: str, employee_id: UUID) -> Json:
        """The member as the carrier holds it now: after every finished transaction."""
        with self._lock:
            now = self.clock()
            self._lookup(carrier, carrier_group_id)
            return self._members.member(carrier.slug, carrier_group_id, employee_id, now)

    def census(
        self, carrier: CarrierRules, carrier_group_id: str, *, cursor: int, limit: int
    ) -> Json:
        """A page of every member the carrier holds for the group: its census (`sandbox.census`),
        then the members only the platform's transactions brought, each as it holds it now.

        The cursor is a position in that order; `next_cursor` is None on the last page.
        """
        with self._lock:
            now = self.clock()
            lookup = self._lookup(carrier, carrier_group_id)
            _require_existing(lookup)
            log = self._changes.get((carrier.slug, carrier_group_id), [])
            size = census_size(carrier, carrier_group_id)
            census_ids = {employee_id(carrier, carrier_group_id, index) for index in range(size)}
            brought = [
                held
                for held in self._members.held_ids(carrier.slug, carrier_group_id, now)
                if str(held) not in census_ids
            ]
            total = size + len(brought)
            end = min(cursor + limit, total)
            account = _build_account(carrier, carrier_group_id, log, now.date()) if size else {}
            members = []
            for position in range(cursor, end):
                if position < size:
                    held_id = UUID(employee_id(carrier, carrier_group_id, position))
                    if self._members.holds(carrier.slug, carrier_group_id, held_id):
                        wire = self._members.member(carrier.slug, carrier_group_id, held_id, now)
                        member = {
                            **as_census_member(wire),
                            "custom_individual_id": census_member(
                                carrier, carrier_group_id, position, account
                            )["custom_individual_id"],
                        }
                    else:
                        member = census_member(carrier, carrier_group_id, position, account)
                else:
                    wire = self._members.member(
                        carrier.slug, carrier_group_id, brought[position - size], now
                    )
                    member = as_census_member(wire)
                members.append(member)
        return {
            "members": members,
            "total": total,
            "next_cursor": str(end) if end < total else None,
        }

    def complete_eoi(self, carrier: CarrierRules, carrier_group_id: str, employee_id: UUID) -> Json:
        """The member's evidence of insurability arrived: coverage pending it is held now."""
        with self._lock:
            now = self.clock()
            self._lookup(carrier, carrier_group_id)
            return self._members.complete_eoi(carrier.slug, carrier_group_id, employee_id, now)

    def member_transactions(self, transaction_id: str) -> list[Json]:
        """Every carrier transaction made for one of the client's transaction ids."""
        with self._lock:
            now = self.clock()
            return self._members.transactions(transaction_id, now)

    def member_transaction_counts(self) -> MemberTransactionCounts:
        with self._lock:
            now = self.clock()
            self._members.advance(now)
            return replace(self._members.counts)

    def processing(self) -> ProcessingSettings:
        with self._lock:
            return self._members.settings

    def set_processing(self, settings: ProcessingSettings) -> None:
        """New speeds apply to every unfinished transaction; what is due now finishes first."""
        with self._lock:
            now = self.clock()
            self._members.advance(now)
            self._members.settings = settings

    # --- persistence ----------------------------------------------------------------------------
    # Written whole on every change (rare: a control-API change, a registration, a first renewal
    # question), to a temporary file renamed over the old one, so a crash never leaves half.

    def _first_asked(self, key: tuple[str, str, date], now: datetime) -> datetime:
        if key not in self._renewals_asked:
            self._renewals_asked[key] = now
            self._save()
        return self._renewals_asked[key]

    def _save(self) -> None:
        if self._state_file is None:
            return
        snapshot = {
            "version": 1,
            "changes": [
                {
                    "carrier": slug,
                    "carrier_group_id": group,
                    "log": _CHANGES.dump_python(log, mode="json"),
                }
                for (slug, group), log in self._changes.items()
            ],
            "registrations": sorted(list(target) for target in self._registrations),
            "renewals_asked": [
                [slug, group, renewal.isoformat(), asked.isoformat()]
                for (slug, group, renewal), asked in self._renewals_asked.items()
            ],
        }
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(snapshot))
        os.replace(temporary, self._state_file)

    def _load(self, state_file: Path) -> None:
        snapshot: dict[str, Any] = json.loads(state_file.read_text())
        for entry in snapshot.get("changes", []):
            key = (entry["carrier"], entry["carrier_group_id"])
            self._changes[key] = _CHANGES.validate_python(entry["log"])
        self._registrations = {
            (slug, group, reference) for slug, group, reference in snapshot.get("registrations", [])
        }
        for slug, group, renewal, asked in snapshot.get("renewals_asked", []):
            self._renewals_asked[(slug, group, date.fromisoformat(renewal))] = (
                datetime.fromisoformat(asked)
            )

    def _account_for_members(self, carrier_slug: str, carrier_group_id: str, today: date) -> Json:
        """The group's account as of now; called by the member store, under the lock."""
        log = self._changes.get((carrier_slug, carrier_group_id), [])
        return _build_account(CARRIERS[carrier_slug], carrier_group_id, log, today)

    def _idempotent_write(
        self, carrier: CarrierRules, key: str, fingerprint: str, apply: Callable[[], Json]
    ) -> tuple[bool, Json]:
        """Replay the key's stored answer, or apply the write and store its answer.

        `apply` runs under the lock and must use only the unlocked helpers.
        """
        with self._lock:
            stored = self._idempotency.replay(carrier.slug, key, fingerprint)
            if stored is not None:
                self._writes.duplicates_absorbed += 1
                return True, stored
            body = apply()
            self._idempotency.remember(carrier.slug, key, fingerprint, body)
            self._writes.applied += 1
            return False, body

    def _lookup(self, carrier: CarrierRules, carrier_group_id: str) -> Lookup:
        generated = carrier.lookup(carrier_group_id)
        if generated is None:
            raise GroupUnavailable(
                LookupStatus.NOT_FOUND,
                f"{carrier_group_id!r} is not a well-formed {carrier.name} group ID",
            )
        for change in reversed(self._changes.get((carrier.slug, carrier_group_id), [])):
            if isinstance(change, SetStatus):
                return Lookup(change.status, change.message)
        return generated


_CHANGES: TypeAdapter[list[Change]] = TypeAdapter(list[Change])


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _require_existing(lookup: Lookup) -> None:
    """Accounts and writes need the group to exist at the carrier: found, or in review.

    A group in review is installed; only its data awaits a check, so a reviewer who approves
    it can have the link registered and the account pulled.
    """
    if lookup.status not in (LookupStatus.FOUND, LookupStatus.IN_REVIEW):
        raise GroupUnavailable(lookup.status, lookup.message or "group is not available")


def _build_account(
    carrier: CarrierRules, carrier_group_id: str, log: list[Change], today: date
) -> Json:
    account = generate_account(carrier.slug, carrier_group_id)
    if carrier.ended_by_carrier(carrier_group_id):
        account["coverage_end_date"] = last_day_of_month(today).isoformat()
    for ordinal, change in enumerate(log):
        apply_change(account, change, carrier=carrier, ordinal=ordinal)
    return account
