"""Store a carrier's account structure: upsert by carrier-side keys, a new version per change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.account import AccountStructure, CarrierGroupProfile
from domain.audits import MAX_RECORDED_CHANGES, field_changes
from store.db import NO_KEY_UPDATE
from store.models import (
    CarrierConfiguration,
    Contact,
    Group,
    GroupEnrollment,
    Location,
    Plan,
    Versioned,
)
from store.versioning import save_version, save_versions


@dataclass
class AccountChanges:
    """What a pull changed, by record type: the audit's record of the comparison."""

    created: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    group_differences: list[dict[str, Any]] = field(default_factory=list)
    # Which records: `{record_type, id, <carrier key>, change, fields: [{field, from, to}]}`.
    records: list[dict[str, Any]] = field(default_factory=list)
    records_omitted: int = 0

    def count(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1

    def name(self, entry: dict[str, Any]) -> None:
        """Name one record the pull created or changed (past the bound, only count it)."""
        if len(self.records) < MAX_RECORDED_CHANGES:
            self.records.append(entry)
        else:
            self.records_omitted += 1

    def as_dict(self) -> dict[str, Any]:
        named: dict[str, Any] = {"records": self.records}
        if self.records_omitted:
            named["records_omitted"] = self.records_omitted
        return {
            "created": self.created,
            "changed": self.changed,
            "group_differences": self.group_differences,
            **named,
        }


async def _sync(
    session: AsyncSession,
    model: type[Versioned],
    key_column: str,
    scope: dict[str, Any],
    incoming: dict[str, dict[str, Any]],
    changes: AccountChanges,
) -> dict[str, uuid.UUID]:
    """Upsert `incoming` (carrier key -> fields) under `scope`; returns carrier key -> our id."""
    existing = {
        getattr(row, key_column): row
        for row in await session.scalars(select(model).filter_by(**scope))
    }
    ids: dict[str, uuid.UUID] = {}
    kind = model.__tablename__  # type: ignore[attr-defined]
    created: list[Versioned] = []
    changed: list[Versioned] = []
    for key, fields in incoming.items():
        row = existing.get(key)
        if row is None:
            row = model(id=uuid.uuid4(), **scope, **{key_column: key}, **fields)  # type: ignore[call-arg]
            created.append(row)
            changes.count(changes.created, kind)
            changes.name(
                {"record_type": kind, "id": str(row.id), key_column: key, "change": "created"}
            )
        elif any(getattr(row, name) != value for name, value in fields.items()):
            before = {name: getattr(row, name) for name in fields}
            for name, value in fields.items():
                setattr(row, name, value)
            changed.append(row)
            changes.count(changes.changed, kind)
            changes.name(
                {
                    "record_type": kind,
                    "id": str(row.id),
                    key_column: key,
                    "change": "changed",
                    "fields": field_changes(before, fields),
                }
            )
        ids[key] = row.id
    # Each kind's new and changed records, with their history, in a flush or two: a version per
    # record was two flushes each, about 40 for a new connection's account (issue 23).
    await save_versions(session, changed, history=True)
    await save_versions(session, created, is_new=True, history=True)
    return ids


async def store_account_structure(
    session: AsyncSession, *, group_id: uuid.UUID, carrier_id: uuid.UUID, account: AccountStructure
) -> AccountChanges:
    """Bring the store in line with the carrier; safe to repeat (a repeat changes nothing)."""
    changes = AccountChanges()
    scope = {"group_id": group_id, "carrier_id": carrier_id}
    await _reconcile_group(session, group_id, account.group, changes)
    await _sync(
        session,
        CarrierConfiguration,
        "carrier_group_id",
        scope,
        {account.carrier_group_id: {"configuration": account.configuration}},
        changes,
    )
    await _sync(session, Location, "carrier_location_id", scope, _locations(account), changes)
    await _sync(session, Contact, "carrier_contact_id", scope, _contacts(account), changes)
    enrollment_ids = await _sync(
        session, GroupEnrollment, "carrier_enrollment_id", scope, _enrollments(account), changes
    )
    plans = _plans(account, enrollment_ids)
    await _sync(session, Plan, "carrier_plan_id", scope, plans, changes)
    return changes


async def _reconcile_group(
    session: AsyncSession,
    group_id: uuid.UUID,
    profile: CarrierGroupProfile,
    changes: AccountChanges,
) -> None:
    """Note where the carrier names the group otherwise; fill what the platform never gave."""
    group = await session.get(Group, group_id, with_for_update=NO_KEY_UPDATE)
    assert group is not None, f"group {group_id} missing"
    changes.group_differences.extend(_group_differences(group, profile))
    before = {name: getattr(group, name) for name in _FILLED_FROM_CARRIER}
    if _fill_from_carrier(group, profile):
        await save_version(session, group)
        changes.count(changes.changed, "groups")
        after = {name: getattr(group, name) for name in _FILLED_FROM_CARRIER}
        changes.name(
            {
                "record_type": "groups",
                "id": str(group.id),
                "change": "changed",
                "fields": field_changes(before, after),
            }
        )


def _group_differences(group: Group, profile: CarrierGroupProfile) -> list[dict[str, Any]]:
    """The group's names the carrier knows otherwise (both sides given)."""
    differences = []
    for name in ("name", "federal_ein"):
        ours, theirs = getattr(group, name), getattr(profile, name)
        if theirs and ours and ours != theirs:
            differences.append({"field": name, "platform_value": ours, "carrier_value": theirs})
    return differences


# The group's fields the carrier may fill when the platform never gave them.
_FILLED_FROM_CARRIER = ("dba_name", "federal_ein", "sic_code")


def _fill_from_carrier(group: Group, profile: CarrierGroupProfile) -> bool:
    """Take from the carrier the fields the platform never gave; whether any was."""
    filled = False
    for name in _FILLED_FROM_CARRIER:
        if getattr(group, name) is None and getattr(profile, name):
            setattr(group, name, getattr(profile, name))
            filled = True
    return filled


def _locations(account: AccountStructure) -> dict[str, dict[str, Any]]:
    return {
        location.carrier_location_id: {
            "display_name": location.display_name,
            "address": location.address.model_dump(mode="json"),
        }
        for location in account.locations
    }


def _contacts(account: AccountStructure) -> dict[str, dict[str, Any]]:
    return {
        contact.carrier_contact_id: contact.model_dump(exclude={"carrier_contact_id"})
        for contact in account.contacts
    }


def _enrollments(account: AccountStructure) -> dict[str, dict[str, Any]]:
    return {
        enrollment.carrier_enrollment_id: {
            **enrollment.model_dump(exclude={"carrier_enrollment_id", "line_of_coverage"}),
            "line_of_coverage": enrollment.line_of_coverage.value,
        }
        for enrollment in account.group_enrollments
    }


def _plans(
    account: AccountStructure, enrollment_ids: dict[str, uuid.UUID]
) -> dict[str, dict[str, Any]]:
    """Each plan under its group enrollment's row id (stored just before)."""
    return {
        plan.carrier_plan_id: {
            "group_enrollment_id": enrollment_ids[plan.carrier_enrollment_id],
            "line_of_coverage": plan.line_of_coverage.value,
            "status": plan.status,
            "details": plan.details(),
        }
        for plan in account.plans
    }
