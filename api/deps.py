"""Request dependencies: caller's organization, database, Temporal client, paging, shared reads.

The dependencies are `async def` although none of them waits: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per dependency per request (about 4% of the API's CPU
under a burst of snapshot POSTs).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from cachetools import TTLCache
from fastapi import Depends, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import ApiError, not_found
from domain.errors import ValidationFailed
from runtime.settings import Settings
from services.wakes import Wakes
from store import group_data
from store.db import Database
from store.group_data import Filter
from store.models import Group, Versioned
from store.tenancy import organization_for_token


async def get_database(request: Request) -> Database:
    return request.app.state.database


DB = Annotated[Database, Depends(get_database)]


async def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


async def get_wakes(request: Request) -> Wakes:
    return request.app.state.wakes


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def organization_dep(
    db: DB,
    authorization: Annotated[str | None, Header()] = None,
) -> uuid.UUID:
    if not authorization:
        raise ApiError(401, "Missing credentials")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Malformed credentials: expected 'Authorization: Bearer <token>'")
    token = token.strip()
    organization_id = _known_tokens.get(token)
    if organization_id is None:
        async with db.transaction() as session:
            organization_id = await organization_for_token(session, token)
        if organization_id is None:
            raise ApiError(401, "Invalid token")
        _known_tokens[token] = organization_id
    return organization_id


# Tokens found lately, so a busy caller's requests do not each read `api_tokens`. Only found
# ones are kept (a wrong token is read each time), and for a minute: tokens are never revoked
# today; when they are, a revoked one stops working within that minute.
_known_tokens: TTLCache[str, uuid.UUID] = TTLCache(maxsize=10_000, ttl=60)


OrganizationId = Annotated[uuid.UUID, Depends(organization_dep)]
TemporalClient = Annotated[Client, Depends(get_temporal)]
Signals = Annotated[Wakes, Depends(get_wakes)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PageRequest:
    page_size: int
    offset: int


async def page_dep(
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PageRequest:
    return PageRequest(page_size=page_size, offset=offset)


Paging = Annotated[PageRequest, Depends(page_dep)]

T = TypeVar("T")


class PageMeta(BaseModel):
    offset: int
    page_num: int
    page_size: int
    total_records: int


class Page(BaseModel, Generic[T]):
    """The contract's paging envelope."""

    meta: PageMeta
    response: list[T]

    @classmethod
    def of(cls, items: list[Any], page: PageRequest, total: int) -> Page[Any]:
        return Page[Any](
            meta=PageMeta(
                offset=page.offset,
                page_num=page.offset // page.page_size + 1,
                page_size=page.page_size,
                total_records=total,
            ),
            response=items,
        )


def csv_values(raw: str | None) -> list[str]:
    """A comma-separated filter as a list (empty items dropped)."""
    return [v.strip() for v in raw.split(",") if v.strip()] if raw else []


# Reads shared by the routers: dates, multi-value filters, organization-scoped records.

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def date_param(raw: str | None, field: str) -> date | None:
    """A `YYYY-MM-DD` query value, or 422 naming `field`."""
    if raw is None:
        return None
    try:
        if not _ISO_DATE.match(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.one(field, "must be a date YYYY-MM-DD") from None


async def effective_date_dep(
    effective_date: Annotated[
        str | None,
        Query(description="YYYY-MM-DD: the record as it stood at the end of that day (UTC)"),
    ] = None,
) -> date | None:
    return date_param(effective_date, "effective_date")


EffectiveDate = Annotated[date | None, Depends(effective_date_dep)]


def csv_uuids(raw: str | None, field: str) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(v) for v in csv_values(raw)]
    except ValueError:
        raise ValidationFailed.one(field, "must be a comma-separated list of UUIDs") from None


def csv_choices(raw: str | None, field: str, allowed: Iterable[str]) -> list[str]:
    values, choices = csv_values(raw), list(allowed)
    unknown = [v for v in values if v not in choices]
    if unknown:
        raise ValidationFailed.one(
            field, f"unknown value {', '.join(unknown)}; one of {', '.join(choices)}"
        )
    return values


RecordT = TypeVar("RecordT", bound=Versioned)


async def owned_or_404(
    session: AsyncSession,
    model: type[RecordT],
    record_id: uuid.UUID,
    organization_id: uuid.UUID,
    what: str,
    *,
    group_id: uuid.UUID | None = None,
    for_update: bool = False,
) -> RecordT:
    """The organization's record, or 404 (unknown and another organization's alike)."""
    row = await group_data.owned(
        session, model, record_id, organization_id, group_id=group_id, for_update=for_update
    )
    if row is None:
        raise not_found(what)
    return row


async def view_or_404(
    session: AsyncSession, row: Versioned, day: date | None, what: str
) -> dict[str, Any]:
    """The record now or as of `day`; 404 when it did not exist yet on that day."""
    record = await group_data.view(session, row, day)
    if record is None:
        raise not_found(what)
    return record


# A group's records: one page of a kind, or one record (404 when not the organization's).


async def group_listing(
    db: Database,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    model: type[Versioned],
    day: date | None,
    *,
    filters: Sequence[Filter] = (),
    page: PageRequest | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The group's records of `model` matching `filters` (a window of them when `page` is
    given), and how many match in all; 404 when the group is not the organization's."""
    column: Any = model.group_id  # type: ignore[attr-defined]
    async with db.transaction() as session:
        await owned_or_404(session, Group, group_id, organization_id, "group")
        return await group_data.listing(
            session,
            model,
            scope=[column == group_id],
            filters=filters,
            day=day,
            offset=page.offset if page else 0,
            limit=page.page_size if page else None,
        )


async def group_records(
    db: Database,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    model: type[Versioned],
    page: PageRequest,
    day: date | None,
    filters: Sequence[Filter] = (),
) -> Page[Any]:
    """One page of the group's records of `model` matching `filters`."""
    records, total = await group_listing(
        db, organization_id, group_id, model, day, filters=filters, page=page
    )
    return Page.of(records, page, total)


async def group_record(
    db: Database,
    organization_id: uuid.UUID,
    model: type[Versioned],
    record_id: uuid.UUID,
    what: str,
    *,
    group_id: uuid.UUID | None = None,
    day: date | None = None,
) -> dict[str, Any]:
    """The organization's record (in `group_id`, when given) now or as of `day`, or 404."""
    async with db.transaction() as session:
        row = await owned_or_404(
            session, model, record_id, organization_id, what, group_id=group_id
        )
        return await view_or_404(session, row, day, what)


async def sorted_page(
    db: Database,
    model: Any,
    page: PageRequest,
    *,
    conditions: list[Any],
    sort_by: str,
    sort_direction: str,
    render: Callable[[Any], dict[str, Any]] = lambda row: row.as_contract(),
) -> Page[Any]:
    """One page of `model` rows matching `conditions`, sorted (ties broken by id), each shown by
    `render` (the contract shape unless a list shows less)."""
    base = select(model).where(*conditions)
    column = getattr(model, sort_by)
    order = column.asc() if sort_direction == "asc" else column.desc()
    async with db.transaction() as session:
        total = await session.scalar(select(func.count()).select_from(base.subquery()))
        rows = await session.scalars(
            base.order_by(order, model.id).offset(page.offset).limit(page.page_size)
        )
        return Page.of([render(r) for r in rows], page, total or 0)
