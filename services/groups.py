"""A group and its contacts, as the platform keeps them: create and edit against a version.

Locations and the group's carrier data change only at the carrier (see `services.audits`).
"""

from __future__ import annotations

import uuid
from typing import Any

from carriers import carrier_info
from domain.errors import Conflict, ValidationFailed
from store.db import Database
from store.models import Contact, Group, Versioned
from store.tenancy import owned
from store.versioning import save_version


def _stale(row: Versioned) -> Conflict:
    return Conflict(
        f"version conflict: the current version is {row.version}",
        current_version=str(row.version),
    )


async def create_group(
    db: Database, *, organization_id: uuid.UUID, fields: dict[str, Any]
) -> dict[str, Any]:
    """A new group of the organization with `fields`."""
    group = Group(id=uuid.uuid4(), organization_id=organization_id, **fields)
    async with db.transaction() as session:
        await save_version(session, group, is_new=True)
        return group.as_contract()


async def edit_group(
    db: Database,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    version: uuid.UUID,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Apply `changes` to the group if it still is at `version` (else `Conflict`)."""
    async with db.transaction() as session:
        group = await owned(
            session, Group, group_id, organization_id, what="group", for_update=True
        )
        if group.version != version:
            raise _stale(group)
        for name, value in changes.items():
            setattr(group, name, value)
        await save_version(session, group)
        return group.as_contract()


def _check_carrier_contact(types: list[str], carrier_id: uuid.UUID | None) -> None:
    """A `carrier` contact names its (known) carrier; no other contact names one."""
    if "carrier" in types:
        if carrier_id is None:
            raise ValidationFailed.one("carrier_id", "required when types contains carrier")
        carrier_info(carrier_id)
    elif carrier_id is not None:
        raise ValidationFailed.one("carrier_id", "only allowed when types contains carrier")


async def create_contact(
    db: Database, *, organization_id: uuid.UUID, group_id: uuid.UUID, fields: dict[str, Any]
) -> dict[str, Any]:
    """A new contact of the organization's group."""
    _check_carrier_contact(list(fields["types"]), fields.get("carrier_id"))
    async with db.transaction() as session:
        await owned(session, Group, group_id, organization_id, what="group")
        contact = Contact(id=uuid.uuid4(), group_id=group_id, **fields)
        await save_version(session, contact, is_new=True)
        return contact.as_contract()


async def edit_contact(
    db: Database,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    contact_id: uuid.UUID,
    version: uuid.UUID,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Apply `changes` to the contact if it still is at `version` (else `Conflict`)."""
    async with db.transaction() as session:
        contact = await owned(
            session,
            Contact,
            contact_id,
            organization_id,
            what="contact",
            group_id=group_id,
            for_update=True,
        )
        if contact.version != version:
            raise _stale(contact)
        if contact.carrier_contact_id is not None:
            # Reported by a carrier: its carrier_id is the carrier that reported it (and the key
            # the next pull matches it by), so it stays.
            if changes.get("carrier_id", contact.carrier_id) != contact.carrier_id:
                raise ValidationFailed.one(
                    "carrier_id", "this contact was reported by its carrier; it cannot change"
                )
        else:
            _check_carrier_contact(
                changes.get("types", contact.types), changes.get("carrier_id", contact.carrier_id)
            )
        for name, value in changes.items():
            setattr(contact, name, value)
        await save_version(session, contact)
        return contact.as_contract()
