"""Store a carrier's account structure: upsert by carrier-side keys, a new version per change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.account import AccountStructure
from store.models import (
    CarrierConfiguration,
    Contact,
    Group,
    GroupEnrollment,
    Location,
    Plan,
    Versioned,
)
from store.versioning import save_version


@dataclass
class AccountChanges:
    """What a pull changed, by record type: the audit's record of the comparison."""

    created: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    group_differences: list[dict[str, Any]] = field(default_factory=list)

    def count(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "changed": self.changed,
            "group_differences": self.group_differences,
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
    for key, fields in incoming.items():
        row = existing.get(key)
        if row is None:
            row = model(id=uuid.uuid4(), **scope, **{key_column: key}, **fields)  # type: ignore[call-arg]
            await save_version(session, row, is_new=True)
            changes.count(changes.created, kind)
        elif any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            await save_version(session, row)
            changes.count(changes.changed, kind)
        ids[key] = row.id
    return ids


async def store_account_structure(
    session: AsyncSession, *, group_id: uuid.UUID, carrier_id: uuid.UUID, account: AccountStructure
) -> AccountChanges:
    """Bring the store in line with the carrier; safe to repeat (a repeat changes nothing)."""
    changes = AccountChanges()
    scope = {"group_id": group_id, "carrier_id": carrier_id}

    group = await session.get(Group, group_id, with_for_update=True)
    assert group is not None, f"group {group_id} missing"
    profile = account.group
    for name in ("name", "federal_ein"):
        ours, theirs = getattr(group, name), getattr(profile, name)
        if theirs and ours and ours != theirs:
            changes.group_differences.append(
                {"field": name, "platform_value": ours, "carrier_value": theirs}
            )
    # Fields the platform never gave are taken from the carrier.
    filled = False
    for name in ("dba_name", "federal_ein", "sic_code"):
        if getattr(group, name) is None and getattr(profile, name):
            setattr(group, name, getattr(profile, name))
            filled = True
    if filled:
        await save_version(session, group)
        changes.count(changes.changed, "groups")

    await _sync(
        session,
        CarrierConfiguration,
        "carrier_group_id",
        scope,
        {account.carrier_group_id: {"configuration": account.configuration}},
        changes,
    )
    await _sync(
        session,
        Location,
        "carrier_location_id",
        scope,
        {
            loc.carrier_location_id: {
                "display_name": loc.display_name,
                "address": loc.address.model_dump(mode="json"),
            }
            for loc in account.locations
        },
        changes,
    )
    await _sync(
        session,
        Contact,
        "carrier_contact_id",
        scope,
        {
            c.carrier_contact_id: c.model_dump(exclude={"carrier_contact_id"})
            for c in account.contacts
        },
        changes,
    )
    enrollment_ids = await _sync(
        session,
        GroupEnrollment,
        "carrier_enrollment_id",
        scope,
        {
            e.carrier_enrollment_id: {
                **e.model_dump(exclude={"carrier_enrollment_id", "line_of_coverage"}),
                "line_of_coverage": e.line_of_coverage.value,
            }
            for e in account.group_enrollments
        },
        changes,
    )
    await _sync(
        session,
        Plan,
        "carrier_plan_id",
        scope,
        {
            p.carrier_plan_id: {
                "group_enrollment_id": enrollment_ids[p.carrier_enrollment_id],
                "line_of_coverage": p.line_of_coverage.value,
                "status": p.status,
                "details": p.details(),
            }
            for p in account.plans
        },
        changes,
    )
    return changes
