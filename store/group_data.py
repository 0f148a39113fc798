"""Reads of a group's data: its records current or as of a date, a page or one at a time.

Every read takes an optional `day`: `None` means the current row, a date means the record as it
stood in carrierlink at the end of that day (UTC), read from `record_versions`. Filters match the
version being shown, so a plan that is active today but was pending then is found as pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from store.models import Group, GroupConnection, GroupEnrollment, Plan, Versioned
from store.pages import Direction
from store.tenancy import owned
from store.versioning import as_of

V = TypeVar("V", bound=Versioned)


class Filter(Protocol):
    """A list filter that applies to current rows (SQL) and to historic versions alike."""

    def condition(self, model: type[Versioned]) -> ColumnElement[bool]: ...

    def keeps(self, record: dict[str, Any]) -> bool: ...


@dataclass(frozen=True)
class OneOf:
    """`field` is one of `values` (compared as the contract writes them: strings)."""

    field: str
    values: tuple[Any, ...]

    def condition(self, model: type[Versioned]) -> ColumnElement[bool]:
        column: Any = getattr(model, self.field)
        return column.in_(self.values)

    def keeps(self, record: dict[str, Any]) -> bool:
        return record.get(self.field) in {str(v) for v in self.values}


@dataclass(frozen=True)
class Contains:
    """Any of `fields` contains `text`, ignoring case."""

    fields: tuple[str, ...]
    text: str

    def condition(self, model: type[Versioned]) -> ColumnElement[bool]:
        escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        return or_(*(getattr(model, f).ilike(pattern, escape="\\") for f in self.fields))

    def keeps(self, record: dict[str, Any]) -> bool:
        needle = self.text.lower()
        return any(needle in str(record.get(f) or "").lower() for f in self.fields)


async def view(session: AsyncSession, row: Versioned, day: date | None) -> dict[str, Any] | None:
    """The row's contract shape now, or as of `day` (`None` when it was not yet born then)."""
    if day is None:
        return row.as_contract()
    return (await as_of(session, type(row), [row.id], day)).get(row.id)


async def listing(
    session: AsyncSession,
    model: type[Versioned],
    *,
    scope: Sequence[ColumnElement[bool]],
    filters: Sequence[Filter] = (),
    day: date | None = None,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str = "created",
    direction: Direction = "desc",
) -> tuple[list[dict[str, Any]], int]:
    """One window of the records in `scope` matching `filters`, and how many match in all.

    `scope` is what never changes between versions (organization, group, ids); `filters` apply
    to the version shown. Ordered by `sort_by` (newest first by default), then id, so paging is
    stable; as of a `day`, by the current row's value (`created` never changes).
    """
    column: Any = getattr(model, sort_by)
    order = (column.asc() if direction == "asc" else column.desc(), model.id)
    if day is None:
        base = select(model).where(*scope, *(f.condition(model) for f in filters))
        total = await session.scalar(select(func.count()).select_from(base.subquery()))
        rows = await session.scalars(base.order_by(*order).offset(offset).limit(limit))
        return [r.as_contract() for r in rows], total or 0
    # Records are never deleted, so today's rows are every candidate; each is then read as of
    # `day`, filtered and windowed here.
    ids = list(await session.scalars(select(model.id).where(*scope).order_by(*order)))
    historic = await as_of(session, model, ids, day)
    kept = [
        historic[i] for i in ids if i in historic and all(f.keeps(historic[i]) for f in filters)
    ]
    end = None if limit is None else offset + limit
    return kept[offset:end], len(kept)


async def view_or_not_found(
    session: AsyncSession, row: Versioned, day: date | None, what: str
) -> dict[str, Any]:
    """The record now or as of `day`; `NotFound` when it did not exist yet on that day."""
    record = await view(session, row, day)
    if record is None:
        raise NotFound.of(what)
    return record


async def group_listing(
    session: AsyncSession,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    model: type[Versioned],
    day: date | None,
    *,
    filters: Sequence[Filter] = (),
    offset: int = 0,
    limit: int | None = None,
    sort_by: str = "created",
    direction: Direction = "desc",
) -> tuple[list[dict[str, Any]], int]:
    """The group's records of `model` matching `filters` (a window of them when `limit` is
    given), and how many match in all; `NotFound` when the group is not the organization's."""
    column: Any = model.group_id  # type: ignore[attr-defined]
    await owned(session, Group, group_id, organization_id, what="group")
    return await listing(
        session,
        model,
        scope=[column == group_id],
        filters=filters,
        day=day,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        direction=direction,
    )


async def group_record(
    session: AsyncSession,
    organization_id: uuid.UUID,
    model: type[Versioned],
    record_id: uuid.UUID,
    what: str,
    *,
    group_id: uuid.UUID | None = None,
    day: date | None = None,
) -> dict[str, Any]:
    """The organization's record (in `group_id`, when given) now or as of `day`, or `NotFound`."""
    row = await owned(session, model, record_id, organization_id, what=what, group_id=group_id)
    return await view_or_not_found(session, row, day, what)


async def enrollment_plans(
    session: AsyncSession,
    organization_id: uuid.UUID,
    enrollment_id: uuid.UUID,
    day: date | None,
    *,
    sort_by: str = "created",
    direction: Direction = "desc",
) -> list[dict[str, Any]]:
    """The plans of the organization's group enrollment, now or as of `day`."""
    what = "group enrollment"
    enrollment = await owned(session, GroupEnrollment, enrollment_id, organization_id, what=what)
    await view_or_not_found(session, enrollment, day, what)
    records, _ = await listing(
        session,
        Plan,
        scope=[Plan.group_id == enrollment.group_id],
        filters=[OneOf("group_enrollment_id", (enrollment_id,))],
        day=day,
        sort_by=sort_by,
        direction=direction,
    )
    return records


async def groups(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID] = (),
    connected_to: tuple[uuid.UUID, str] | None = None,
    company: str | None = None,
    day: date | None = None,
    offset: int = 0,
    limit: int | None = None,
    sort_by: str = "created",
    direction: Direction = "desc",
) -> tuple[list[dict[str, Any]], int]:
    """The organization's groups: those in `ids` (when given), connected to the carrier group
    `connected_to` (carrier id, its stored group ID), whose name or dba name contains `company`."""
    scope: list[ColumnElement[bool]] = [Group.organization_id == organization_id]
    if ids:
        scope.append(Group.id.in_(ids))
    if connected_to is not None:
        carrier_id, carrier_group_id = connected_to
        connected = select(GroupConnection.group_id).where(
            GroupConnection.organization_id == organization_id,
            GroupConnection.carrier_id == carrier_id,
            GroupConnection.carrier_group_id == carrier_group_id,
        )
        scope.append(Group.id.in_(connected))
    filters: list[Filter] = [Contains(("name", "dba_name"), company)] if company else []
    return await listing(
        session,
        Group,
        scope=scope,
        filters=filters,
        day=day,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        direction=direction,
    )
