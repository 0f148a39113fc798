"""Reads of a group's data: organization-scoped lookups, and records current or as of a date.

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

from store.models import Group, Versioned
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


def _owned_query(model: type[V], organization_id: uuid.UUID, group_id: uuid.UUID | None) -> Any:
    if model is Group:
        query: Any = select(model).where(Group.organization_id == organization_id)
        return query if group_id is None else query.where(Group.id == group_id)
    column: Any = model.group_id  # type: ignore[attr-defined]
    query = (
        select(model)
        .join(Group, Group.id == column)
        .where(Group.organization_id == organization_id)
    )
    return query if group_id is None else query.where(column == group_id)


async def owned(
    session: AsyncSession,
    model: type[V],
    record_id: uuid.UUID,
    organization_id: uuid.UUID,
    *,
    group_id: uuid.UUID | None = None,
    for_update: bool = False,
) -> V | None:
    """The current row if it belongs to the organization (and to `group_id`, when given).

    `for_update` locks the row (SELECT ... FOR UPDATE) for a read-check-write of its version.
    """
    query = _owned_query(model, organization_id, group_id).where(model.id == record_id)
    if for_update:
        query = query.with_for_update(of=model)
    row: V | None = await session.scalar(query)
    return row


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
) -> tuple[list[dict[str, Any]], int]:
    """One window of the records in `scope` matching `filters`, and how many match in all.

    `scope` is what never changes between versions (organization, group, ids); `filters` apply
    to the version shown. Ordered by creation, then id, so paging is stable.
    """
    order = (model.created, model.id)
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
