"""`/api/v1/groups`: groups, their contacts and locations, limited to the caller's organization."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import (
    DB,
    EffectiveDate,
    OrganizationId,
    Page,
    Paging,
    csv_uuids,
    group_record,
    group_records,
    owned_or_404,
)
from api.errors import ApiError
from api.schemas import ContactEdit, GroupEdit, NewContact, NewGroup
from carriers import CARRIERS, carrier_info, rules_for
from domain.errors import ValidationFailed
from store import group_data
from store.group_data import Contains, Filter
from store.models import Contact, Group, GroupConnection, Location, Versioned
from store.versioning import save_version

router = APIRouter(prefix="/api/v1", tags=["groups"])


def _stale(row: Versioned) -> ApiError:
    return ApiError(
        409,
        f"version conflict: the current version is {row.version}",
        current_version=str(row.version),
    )


# Groups.


def _carrier_group_id_as_stored(carrier_id: uuid.UUID, raw: str) -> str:
    """The carrier's stored form of its group ID (e.g. Unum zero-fills); as given if it has none."""
    if carrier_id not in CARRIERS:
        return raw.strip()
    try:
        return rules_for(carrier_id).normalize_carrier_group_id(raw)
    except ValidationFailed:
        return raw.strip()  # not a valid ID of that carrier: it matches no connection


@router.get("/groups")
async def list_groups(
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    day: EffectiveDate,
    company: Annotated[str | None, Query(description="part of name or dba_name")] = None,
    group_ids: Annotated[str | None, Query(description="comma-separated group ids")] = None,
    carrier_id: Annotated[uuid.UUID | None, Query(description="with carrier_group_id")] = None,
    carrier_group_id: Annotated[str | None, Query(description="with carrier_id")] = None,
) -> Page[Any]:
    scope: list[Any] = [Group.organization_id == organization_id]
    if ids := csv_uuids(group_ids, "group_ids"):
        scope.append(Group.id.in_(ids))
    if carrier_id is not None and carrier_group_id is None:
        raise ValidationFailed.one("carrier_group_id", "required together with carrier_id")
    if carrier_group_id is not None:
        if carrier_id is None:
            raise ValidationFailed.one("carrier_id", "required together with carrier_group_id")
        connected = select(GroupConnection.group_id).where(
            GroupConnection.organization_id == organization_id,
            GroupConnection.carrier_id == carrier_id,
            GroupConnection.carrier_group_id
            == _carrier_group_id_as_stored(carrier_id, carrier_group_id),
        )
        scope.append(Group.id.in_(connected))
    filters: list[Filter] = [Contains(("name", "dba_name"), company)] if company else []
    async with db.transaction() as session:
        records, total = await group_data.listing(
            session,
            Group,
            scope=scope,
            filters=filters,
            day=day,
            offset=page.offset,
            limit=page.page_size,
        )
    return Page.of(records, page, total)


@router.get("/groups/{group_id}")
async def get_group(
    group_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    return await group_record(db, organization_id, Group, group_id, "group", day=day)


@router.post("/groups", status_code=201)
async def create_group(body: NewGroup, organization_id: OrganizationId, db: DB) -> dict[str, Any]:
    if body.organization_id is not None and body.organization_id != organization_id:
        raise ValidationFailed.one("organization_id", "must be your own organization's id")
    group = Group(
        id=uuid.uuid4(),
        organization_id=organization_id,
        **body.model_dump(exclude={"organization_id"}),
    )
    async with db.transaction() as session:
        await save_version(session, group, is_new=True)
        return group.as_contract()


@router.put("/groups/{group_id}/{version:version}")
async def edit_group(
    group_id: uuid.UUID,
    version: uuid.UUID,
    body: GroupEdit,
    organization_id: OrganizationId,
    db: DB,
) -> dict[str, Any]:
    async with db.transaction() as session:
        group = await owned_or_404(
            session, Group, group_id, organization_id, "group", for_update=True
        )
        if group.version != version:
            raise _stale(group)
        for name, value in body.model_dump(exclude_unset=True).items():
            setattr(group, name, value)
        await save_version(session, group)
        return group.as_contract()


# Contacts.


def _check_carrier_contact(types: list[str], carrier_id: uuid.UUID | None) -> None:
    """A `carrier` contact names its (known) carrier; no other contact names one."""
    if "carrier" in types:
        if carrier_id is None:
            raise ValidationFailed.one("carrier_id", "required when types contains carrier")
        carrier_info(carrier_id)
    elif carrier_id is not None:
        raise ValidationFailed.one("carrier_id", "only allowed when types contains carrier")


@router.get("/groups/{group_id}/contacts")
async def list_contacts(
    group_id: uuid.UUID, organization_id: OrganizationId, db: DB, page: Paging, day: EffectiveDate
) -> Page[Any]:
    return await group_records(db, organization_id, group_id, Contact, page, day)


@router.get("/groups/{group_id}/contacts/{contact_id}")
async def get_contact(
    group_id: uuid.UUID,
    contact_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    day: EffectiveDate,
) -> dict[str, Any]:
    return await group_record(
        db, organization_id, Contact, contact_id, "contact", group_id=group_id, day=day
    )


@router.post("/groups/{group_id}/contacts", status_code=201)
async def create_contact(
    group_id: uuid.UUID, body: NewContact, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    _check_carrier_contact(list(body.types), body.carrier_id)
    async with db.transaction() as session:
        await owned_or_404(session, Group, group_id, organization_id, "group")
        contact = Contact(id=uuid.uuid4(), group_id=group_id, **body.model_dump())
        await save_version(session, contact, is_new=True)
        return contact.as_contract()


@router.put("/groups/{group_id}/contacts/{contact_id}/{version:version}")
async def edit_contact(
    group_id: uuid.UUID,
    contact_id: uuid.UUID,
    version: uuid.UUID,
    body: ContactEdit,
    organization_id: OrganizationId,
    db: DB,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    async with db.transaction() as session:
        contact = await owned_or_404(
            session,
            Contact,
            contact_id,
            organization_id,
            "contact",
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


# Locations (read-only: they change only at the carrier).


@router.get("/groups/{group_id}/locations")
async def list_locations(
    group_id: uuid.UUID, organization_id: OrganizationId, db: DB, page: Paging, day: EffectiveDate
) -> Page[Any]:
    return await group_records(db, organization_id, group_id, Location, page, day)


@router.get("/groups/{group_id}/locations/{location_id}")
async def get_location(
    group_id: uuid.UUID,
    location_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    day: EffectiveDate,
) -> dict[str, Any]:
    return await group_record(
        db, organization_id, Location, location_id, "location", group_id=group_id, day=day
    )
