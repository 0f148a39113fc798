"""Paging over one model's current rows: a sorted window and how many match in all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

Direction = Literal["asc", "desc"]


async def sorted_window(
    session: AsyncSession,
    model: Any,
    *,
    conditions: Sequence[ColumnElement[bool]],
    sort_by: str,
    direction: Direction,
    offset: int,
    limit: int,
) -> tuple[list[Any], int]:
    """The rows of `model` matching `conditions`, sorted by `sort_by` (ties broken by id),
    `limit` of them from `offset`, and how many match in all."""
    base = select(model).where(*conditions)
    column = getattr(model, sort_by)
    order = column.asc() if direction == "asc" else column.desc()
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = await session.scalars(base.order_by(order, model.id).offset(offset).limit(limit))
    return list(rows), total or 0
