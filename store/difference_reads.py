"""Reads of differences: the conditions every difference list filters by, per organization."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from domain.differences import CENSUS_OBJECT_TYPE
from store.differences import SOURCE_OBJECT_TYPE
from store.member_reads import within_days
from store.models import Difference


def is_open() -> ColumnElement[bool]:
    """Not resolved, replaced or dismissed."""
    return and_(
        Difference.resolved.is_(None),
        Difference.replaced_by.is_(None),
        Difference.is_dismissed.is_(false()),
    )


def is_available() -> ColumnElement[bool]:
    """Seen at the carrier: a check found it, or a census read at connection or audit did. A
    pending difference (what a snapshot expects, no carrier read yet) is unavailable until
    one does."""
    return or_(
        Difference.member_transaction_id.is_not(None),
        Difference.sources.contains([{"object_type": CENSUS_OBJECT_TYPE}]),
    )


def seen_by_transaction(transaction_id: uuid.UUID) -> ColumnElement[bool]:
    """The transaction's check found it first, or saw or resolved it since."""
    source = {"object_type": SOURCE_OBJECT_TYPE, "object_id": str(transaction_id)}
    return or_(
        Difference.member_transaction_id == transaction_id, Difference.sources.contains([source])
    )


def of_snapshots(snapshot_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """Found from one of the snapshots (as origin or as any source)."""
    return or_(
        Difference.member_snapshot_id.in_(snapshot_ids),
        *(Difference.sources.contains([{"member_snapshot_id": str(s)}]) for s in snapshot_ids),
    )


def _flag(column: Any, value: bool) -> ColumnElement[bool]:
    return column.is_(true() if value else false())


def difference_conditions(
    organization_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID] = (),
    object_types: Sequence[str] = (),
    object_ids: Sequence[uuid.UUID] = (),
    open_: bool | None = None,
    dismissed: bool | None = None,
    assignee_ids: Sequence[uuid.UUID] = (),
    discrepancy: bool | None = None,
    classifications: Sequence[str] = (),
    types: Sequence[str] = (),
    impact_types: Sequence[str] = (),
    snapshot_ids: Sequence[uuid.UUID] = (),
    created_before: date | None = None,
    created_after: date | None = None,
    min_impact_score: int | None = None,
    max_impact_score: int | None = None,
    group_ids: Sequence[uuid.UUID] = (),
    employee_ids: Sequence[uuid.UUID] = (),
    seen_by: uuid.UUID | None = None,
    include_unavailable: bool = False,
) -> list[ColumnElement[bool]]:
    """The organization's differences matching every filter given (`created_before` and
    `created_after` exclusive, whole UTC days; `seen_by`: a transaction's, see
    `seen_by_transaction`; `include_unavailable`: pending differences too, see `is_available`)."""
    conditions = [Difference.organization_id == organization_id]
    if not include_unavailable:
        conditions.append(is_available())
    if group_ids:
        conditions.append(Difference.group_id.in_(group_ids))
    if employee_ids:
        conditions.append(Difference.employee_id.in_(employee_ids))
    if ids:
        conditions.append(Difference.id.in_(ids))
    if object_types:
        conditions.append(Difference.object_type.in_(object_types))
    if object_ids:
        conditions.append(Difference.object_id.in_(object_ids))
    if open_ is not None:
        conditions.append(is_open() if open_ else not_(is_open()))
    if dismissed is not None:
        conditions.append(_flag(Difference.is_dismissed, dismissed))
    if assignee_ids:
        conditions.append(Difference.assignee_id.in_(assignee_ids))
    if discrepancy is not None:
        conditions.append(_flag(Difference.is_discrepancy, discrepancy))
    if classifications:
        conditions.append(Difference.difference_classification.in_(classifications))
    if types:
        conditions.append(Difference.difference_type.in_(types))
    if impact_types:
        conditions.append(Difference.impact_type.in_(impact_types))
    if snapshot_ids:
        conditions.append(of_snapshots(snapshot_ids))
    if created_before:
        conditions += within_days(Difference.created, None, created_before - timedelta(days=1))
    if created_after:
        conditions += within_days(Difference.created, created_after + timedelta(days=1), None)
    if min_impact_score is not None:
        conditions.append(Difference.impact_score >= min_impact_score)
    if max_impact_score is not None:
        conditions.append(Difference.impact_score <= max_impact_score)
    if seen_by is not None:
        conditions.append(seen_by_transaction(seen_by))
    return conditions
