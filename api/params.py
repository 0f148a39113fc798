"""Query parameters every list shares: paging and its envelope, sorting, CSV filters, dates."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement

from domain.errors import ValidationFailed
from domain.overdue import OverdueFilter, StatusLimits
from store import group_data
from store.db import Database
from store.group_data import Filter
from store.models import Versioned, unix_now

# `Direction` is re-exported: routers take it from here with the other list parameters.
from store.pages import Direction as Direction
from store.pages import sorted_window

MAX_PAGE_SIZE = 1000
# Past any list's length; a larger offset would overflow PostgreSQL's bigint before that.
MAX_OFFSET = 1_000_000_000

# What each list may be sorted by (`sort_by`); every list sorts `asc` or `desc` (`Direction`).
RequestSortBy = Literal["created", "modified", "status"]
SnapshotSortBy = Literal["created", "modified"]
DifferenceSortBy = Literal["created", "modified", "impact_score"]
RenewalSortBy = Literal["created", "modified", "renewal_date", "status"]
# Groups and their carrier data (contacts, locations, enrollments, plans, configurations).
RecordSortBy = Literal["created", "modified"]
TransactionSortBy = Literal["created", "modified"]


@dataclass(frozen=True)
class RecordOrder:
    sort_by: str
    direction: Direction


async def record_order_dep(
    sort_by: RecordSortBy = "created", sort_direction: Direction = "desc"
) -> RecordOrder:
    return RecordOrder(sort_by=sort_by, direction=sort_direction)


# `sort_by` / `sort_direction` of a group-data list: newest first unless they say otherwise.
RecordSort = Annotated[RecordOrder, Depends(record_order_dep)]


@dataclass(frozen=True)
class PageRequest:
    page_size: int
    offset: int


async def page_dep(
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
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


async def sorted_page(
    db: Database,
    model: Any,
    page: PageRequest,
    *,
    conditions: Sequence[ColumnElement[bool]],
    sort_by: str,
    sort_direction: Direction,
    render: Callable[[Any], dict[str, Any]] = lambda row: row.as_contract(),
) -> Page[Any]:
    """One page of `model` rows matching `conditions`, sorted (ties broken by id), each shown by
    `render` (the contract shape unless a list shows less)."""
    async with db.transaction() as session:
        rows, total = await sorted_window(
            session,
            model,
            conditions=conditions,
            sort_by=sort_by,
            direction=sort_direction,
            offset=page.offset,
            limit=page.page_size,
        )
        return Page.of([render(row) for row in rows], page, total)


async def group_page(
    db: Database,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    model: type[Versioned],
    page: PageRequest,
    day: date | None,
    filters: Sequence[Filter] = (),
    order: RecordOrder = RecordOrder("created", "desc"),
) -> Page[Any]:
    """One page of the group's records of `model` matching `filters`, in `order` (`NotFound`
    when the group is not the organization's)."""
    async with db.transaction() as session:
        records, total = await group_data.group_listing(
            session,
            organization_id,
            group_id,
            model,
            day,
            filters=filters,
            offset=page.offset,
            limit=page.page_size,
            sort_by=order.sort_by,
            direction=order.direction,
        )
    return Page.of(records, page, total)


def csv_values(raw: str | None) -> list[str]:
    """A comma-separated filter as a list (empty items dropped)."""
    return [v.strip() for v in raw.split(",") if v.strip()] if raw else []


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


_LOOSE_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


def day_param(raw: str | None, field: str) -> date | None:
    """A `YYYY-MM-DD` value (month and day may be one digit, as in the contract's `2020-12-1`),
    or 422 naming `field`."""
    if raw is None:
        return None
    try:
        if not _LOOSE_DATE.match(raw):
            raise ValueError
        year, month, day = (int(part) for part in raw.split("-"))
        return date(year, month, day)
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


# `overdue=true|false` on the connection and disconnection request lists (issue 21's stuck work).
Overdue = Annotated[
    bool | None,
    Query(
        description="true: in a waiting status longer than its limit (settings overdue_*); "
        "false: every other record"
    ),
]


def overdue_filter(overdue: bool | None, limits: StatusLimits) -> OverdueFilter | None:
    """The list's overdue filter, with the cutoffs of this moment (None: not asked)."""
    if overdue is None:
        return None
    return OverdueFilter(overdue, limits.cutoffs(now=unix_now()))
