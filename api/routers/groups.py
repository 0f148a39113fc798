"""`/api/v1/groups`: groups, their contacts and locations, limited to the caller's organization."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import responses
from api.deps import DB, OrganizationId
from api.openapi import ERROR_RESPONSES
from api.params import EffectiveDate, Page, Paging, RecordSort, csv_uuids, group_page
from api.schemas import ContactEdit, GroupEdit, NewContact, NewGroup
from domain.errors import ValidationFailed
from services import groups
from services.carriers import normalized_carrier_group_id
from store import group_data
from store.models import Contact, Group, Location

router = APIRouter(prefix="/api/v1", tags=["groups"], responses=ERROR_RESPONSES)


# Groups.


def _carrier_group_id_as_stored(carrier_id: uuid.UUID, raw: str) -> str:
    """The carrier's stored form of its group ID (e.g. Unum zero-fills); as given if it has none."""
    try:
        return normalized_carrier_group_id(carrier_id, raw)
    except ValidationFailed:
        return raw.strip()  # no such carrier, or not an ID it issues: it matches no connection


@router.get("/groups", response_model=Page[responses.Group])
async def list_groups(
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    day: EffectiveDate,
    order: RecordSort,
    company: Annotated[str | None, Query(description="part of name or dba_name")] = None,
    group_ids: Annotated[str | None, Query(description="comma-separated group ids")] = None,
    carrier_id: Annotated[uuid.UUID | None, Query(description="with carrier_group_id")] = None,
    carrier_group_id: Annotated[str | None, Query(description="with carrier_id")] = None,
) -> Page[Any]:
    """The organization's groups, filtered by name, ids or a carrier's group id; with
    `effective_date`, as they stood at the end of that day."""
    ids = csv_uuids(group_ids, "group_ids")
    if carrier_id is not None and carrier_group_id is None:
        raise ValidationFailed.one("carrier_group_id", "required together with carrier_id")
    connected_to = None
    if carrier_group_id is not None:
        if carrier_id is None:
            raise ValidationFailed.one("carrier_id", "required together with carrier_group_id")
        connected_to = (carrier_id, _carrier_group_id_as_stored(carrier_id, carrier_group_id))
    async with db.transaction() as session:
        records, total = await group_data.groups(
            session,
            organization_id,
            ids=ids,
            connected_to=connected_to,
            company=company,
            day=day,
            offset=page.offset,
            limit=page.page_size,
            sort_by=order.sort_by,
            direction=order.direction,
        )
    return Page.of(records, page, total)


@router.get("/groups/{group_id}", response_model=responses.Group)
async def get_group(
    group_id: uuid.UUID, organization_id: OrganizationId, db: DB, day: EffectiveDate
) -> dict[str, Any]:
    """One group (as it stood at the end of `effective_date`, when given)."""
    async with db.transaction() as session:
        return await group_data.group_record(
            session, organization_id, Group, group_id, "group", day=day
        )


@router.post("/groups", status_code=201, response_model=responses.Group)
async def create_group(body: NewGroup, organization_id: OrganizationId, db: DB) -> dict[str, Any]:
    """Create a group in the caller's organization."""
    if body.organization_id is not None and body.organization_id != organization_id:
        raise ValidationFailed.one("organization_id", "must be your own organization's id")
    return await groups.create_group(
        db, organization_id=organization_id, fields=body.model_dump(exclude={"organization_id"})
    )


@router.put("/groups/{group_id}/{version:version}", response_model=responses.Group)
async def edit_group(
    group_id: uuid.UUID,
    version: uuid.UUID,
    body: GroupEdit,
    organization_id: OrganizationId,
    db: DB,
) -> dict[str, Any]:
    """Edit a group against its current `version` (409 with `current_version` when stale)."""
    return await groups.edit_group(
        db,
        organization_id=organization_id,
        group_id=group_id,
        version=version,
        changes=body.model_dump(exclude_unset=True),
    )


# Contacts.


@router.get("/groups/{group_id}/contacts", response_model=Page[responses.Contact])
async def list_contacts(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    day: EffectiveDate,
    order: RecordSort,
) -> Page[Any]:
    """The group's contacts (as they stood at the end of `effective_date`, when given)."""
    return await group_page(db, organization_id, group_id, Contact, page, day, order=order)


@router.get("/groups/{group_id}/contacts/{contact_id}", response_model=responses.Contact)
async def get_contact(
    group_id: uuid.UUID,
    contact_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    day: EffectiveDate,
) -> dict[str, Any]:
    """One contact of the group."""
    async with db.transaction() as session:
        return await group_data.group_record(
            session, organization_id, Contact, contact_id, "contact", group_id=group_id, day=day
        )


@router.post("/groups/{group_id}/contacts", status_code=201, response_model=responses.Contact)
async def create_contact(
    group_id: uuid.UUID, body: NewContact, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """Add a contact to the group."""
    return await groups.create_contact(
        db, organization_id=organization_id, group_id=group_id, fields=body.model_dump()
    )


@router.put(
    "/groups/{group_id}/contacts/{contact_id}/{version:version}", response_model=responses.Contact
)
async def edit_contact(
    group_id: uuid.UUID,
    contact_id: uuid.UUID,
    version: uuid.UUID,
    body: ContactEdit,
    organization_id: OrganizationId,
    db: DB,
) -> dict[str, Any]:
    """Edit a contact against its current `version` (409 with `current_version` when stale)."""
    return await groups.edit_contact(
        db,
        organization_id=organization_id,
        group_id=group_id,
        contact_id=contact_id,
        version=version,
        changes=body.model_dump(exclude_unset=True),
    )


# Locations (read-only: they change only at the carrier).


@router.get("/groups/{group_id}/locations", response_model=Page[responses.Location])
async def list_locations(
    group_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    day: EffectiveDate,
    order: RecordSort,
) -> Page[Any]:
    """The group's locations, as its carriers report them (read-only)."""
    return await group_page(db, organization_id, group_id, Location, page, day, order=order)


@router.get("/groups/{group_id}/locations/{location_id}", response_model=responses.Location)
async def get_location(
    group_id: uuid.UUID,
    location_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    day: EffectiveDate,
) -> dict[str, Any]:
    """One location of the group."""
    async with db.transaction() as session:
        return await group_data.group_record(
            session, organization_id, Location, location_id, "location", group_id=group_id, day=day
        )
