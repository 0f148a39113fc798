"""The one way to write a versioned record: new `version`, new `modified`, history kept."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from store.models import RecordVersion, Versioned

V = TypeVar("V", bound=Versioned)


async def save_version(
    session: AsyncSession, record: V, *, is_new: bool = False, history: bool = True
) -> V:
    """Stamp a new version of `record` and append it to the history.

    Call after changing fields (or on a new record). Timestamps are whole seconds for the
    contract, history keeps microseconds so two writes in one second stay ordered. Records no
    read asks "as of a date" (snapshots, transactions) pass `history=False`: their payloads
    hold PII, and one copy of it is enough.
    """
    await save_versions(session, [record], is_new=is_new, history=history)
    return record


async def save_versions(
    session: AsyncSession,
    records: Iterable[Versioned],
    *,
    is_new: bool = False,
    history: bool = False,
) -> None:
    """`save_version` for many records in one flush: a batch of snapshots or transactions (no
    history), or a census page (with history), is written in a statement or two, not one
    round trip each."""
    now = time.time()
    stamped = list(records)
    for record in stamped:
        _stamp(session, record, now, is_new=is_new)
    await session.flush()
    if not history:
        return
    for record in stamped:
        session.add(
            RecordVersion(
                record_type=type(record).__tablename__,  # type: ignore[attr-defined]
                record_id=record.id,
                version=record.version,
                valid_from=int(now * 1_000_000),
                data=record.as_contract(),
            )
        )
    await session.flush()


def _stamp(session: AsyncSession, record: Versioned, now: float, *, is_new: bool) -> None:
    if is_new:
        record.created = int(now)
        session.add(record)
    else:
        record.version = uuid.uuid4()
    record.modified = int(now)
    # Written even when the second has not changed since the last write: the ORM batches
    # the UPDATEs of a flush by the columns they set, and a batch whose records differ in
    # that alone would go out as a statement per record.
    flag_modified(record, "modified")


def end_of_day_micros(day: date) -> int:
    """The last microsecond of `day` (UTC): a record "as it stood on that date"."""
    end = datetime.combine(day, dtime.max, tzinfo=UTC)
    return int(end.timestamp() * 1_000_000)


async def as_of(
    session: AsyncSession, record_type: type[Versioned], record_ids: list[uuid.UUID], day: date
) -> dict[uuid.UUID, dict[str, Any]]:
    """The contract shape of each record as it stood at the end of `day`; absent if not yet born."""
    if not record_ids:
        return {}
    cutoff = end_of_day_micros(day)
    rows = await session.execute(
        select(RecordVersion.record_id, RecordVersion.data)
        .where(
            RecordVersion.record_type == record_type.__tablename__,  # type: ignore[attr-defined]
            RecordVersion.record_id.in_(record_ids),
            RecordVersion.valid_from <= cutoff,
        )
        .order_by(RecordVersion.record_id, RecordVersion.valid_from.desc())
        .ext(distinct_on(RecordVersion.record_id))
    )
    return {record_id: data for record_id, data in rows.all()}
