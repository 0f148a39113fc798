"""Coverage exports in PostgreSQL: the export rows, their records, and what a carrier held of
each employee on a day (`held_members`, the one read an export is built from).

`held_members` reads the engine's own record of what each carrier was sent and completed: an
employee's newest transaction at the carrier that the carrier had completed by the end of the
day. A carrier's own view of a member (the census pulled at connection), once stored, belongs
in this function too, so exports read it without changing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.coverage_exports import ExportStatus, HeldMember
from domain.errors import NotFound
from domain.member_changes import StatusDetail, TransactionStatus
from domain.members import CarrierMember
from store.models import CoverageExport, CoverageExportRecord, Member, MemberTransaction
from store.tenancy import owned

WHAT = "coverage export"
# What the carrier reported once it held the change.
_HELD_DETAILS = frozenset({StatusDetail.CARRIER_COMPLETED.value, StatusDetail.NOYO_VERIFIED.value})


def end_of_day(day: date) -> int:
    """The last second of `day` (UTC), Unix seconds."""
    return int(datetime.combine(day, time.max, tzinfo=UTC).timestamp())


async def create(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    as_of: date,
    carrier_ids: Sequence[uuid.UUID],
    now: int,
    expires: int,
) -> CoverageExport:
    row = CoverageExport(
        id=uuid.uuid4(),
        organization_id=organization_id,
        group_id=group_id,
        as_of=as_of,
        carrier_ids=list(carrier_ids),
        status=ExportStatus.PROCESSING.value,
        percentage_complete=0,
        employees=0,
        record_count=0,
        created=now,
        modified=now,
        expires=expires,
    )
    session.add(row)
    await session.flush()
    return row


async def drop_expired(session: AsyncSession, *, now: int) -> None:
    """Delete the exports past their expiry, and their records with them."""
    await session.execute(delete(CoverageExport).where(CoverageExport.expires <= now))


async def owned_export(
    session: AsyncSession, export_id: uuid.UUID, organization_id: uuid.UUID, *, now: int
) -> CoverageExport:
    """The organization's export, `NotFound` when unknown, another's, or expired (its records
    are gone or about to be: an expired export is as if it never was)."""
    row = await owned(session, CoverageExport, export_id, organization_id, what=WHAT)
    if row.expires <= now:
        raise NotFound.of(WHAT)
    return row


async def export_for_build(session: AsyncSession, export_id: uuid.UUID) -> CoverageExport | None:
    """The export to build, locked; its earlier attempt's records dropped (a retry starts over)."""
    row = await session.get(CoverageExport, export_id, with_for_update=True)
    if row is not None:
        await session.execute(
            delete(CoverageExportRecord).where(CoverageExportRecord.export_id == export_id)
        )
    return row


async def export_for_build_page(
    session: AsyncSession, export_id: uuid.UUID
) -> CoverageExport | None:
    """The export being built, locked for the page's writes (None once deleted)."""
    return await session.get(CoverageExport, export_id, with_for_update=True)


async def count_employees(session: AsyncSession, group_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                Member.group_id == group_id, Member.individual_type == "employee"
            )
        )
        or 0
    )


async def employee_page(
    session: AsyncSession, group_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """The group's next `limit` employees by id after `after` (keyset paging)."""
    query = select(Member.id).where(
        Member.group_id == group_id, Member.individual_type == "employee"
    )
    if after is not None:
        query = query.where(Member.id > after)
    return list(await session.scalars(query.order_by(Member.id).limit(limit)))


async def held_members(
    session: AsyncSession,
    *,
    group_id: uuid.UUID,
    carrier_ids: Sequence[uuid.UUID],
    employee_ids: Sequence[uuid.UUID],
    as_of: date,
) -> list[HeldMember]:
    """What each carrier held of each employee at the end of `as_of`: the newest transaction
    it had completed by then. An employee a carrier held nothing of is absent."""
    if not employee_ids or not carrier_ids:
        return []
    end = end_of_day(as_of)
    rows = await session.execute(
        select(
            MemberTransaction.id,
            MemberTransaction.employee_id,
            MemberTransaction.carrier_id,
            MemberTransaction.body,
            MemberTransaction.status_details,
        )
        .where(
            MemberTransaction.group_id == group_id,
            MemberTransaction.employee_id.in_(employee_ids),
            MemberTransaction.carrier_id.in_(carrier_ids),
            MemberTransaction.created <= end,
            MemberTransaction.status.in_(
                [TransactionStatus.COMPLETED.value, TransactionStatus.PROCESSING.value]
            ),
        )
        .order_by(
            MemberTransaction.employee_id,
            MemberTransaction.carrier_id,
            MemberTransaction.position.desc(),
        )
    )
    held: dict[tuple[uuid.UUID, uuid.UUID], HeldMember] = {}
    for transaction_id, employee_id, carrier_id, body, details in rows:
        if (employee_id, carrier_id) in held:
            continue  # a newer one was held already
        since = _held_since(details, end)
        if since is None:
            continue  # not yet completed at the carrier that day
        held[(employee_id, carrier_id)] = HeldMember(
            carrier_id=carrier_id,
            member=CarrierMember.model_validate(body["member"]),
            member_transaction_id=transaction_id,
            held_since=since,
        )
    return [held[key] for key in sorted(held, key=lambda k: (str(k[1]), str(k[0])))]


def _held_since(details: list[dict[str, Any]], end: int) -> int | None:
    times = [
        int(d["event_created"])
        for d in details
        if d.get("status_detail") in _HELD_DETAILS and int(d.get("event_created", end + 1)) <= end
    ]
    return min(times) if times else None


async def add_records(
    session: AsyncSession, export: CoverageExport, records: list[dict[str, Any]]
) -> None:
    """Append records after those the export has."""
    start = export.record_count
    if records:
        # One executemany on the table, not an ORM object (nor the ORM's bulk path) per record:
        # a page of 500 employees is thousands of records.
        await session.execute(
            insert(cast(Table, CoverageExportRecord.__table__)),
            [
                {"export_id": export.id, "position": start + offset, "record": record}
                for offset, record in enumerate(records)
            ],
        )
    export.record_count = start + len(records)


async def records(session: AsyncSession, export_id: uuid.UUID) -> list[dict[str, Any]]:
    """The export's records in order."""
    return list(
        await session.scalars(
            select(CoverageExportRecord.record)
            .where(CoverageExportRecord.export_id == export_id)
            .order_by(CoverageExportRecord.position)
        )
    )
