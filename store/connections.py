"""Group connections and their disconnection requests: reads shared by API and activities, and
the rows a connection run writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    exists,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.connections import ConnectionInput, ConnectionStatus
from domain.disconnections import OPEN, CarrierLink, DisconnectionStatus
from domain.overdue import OverdueFilter
from store.db import NO_KEY_UPDATE, Statement, id_param
from store.models import Feed, Group, GroupConnection, GroupDisconnectionRequest
from store.overdue import filter_condition
from store.versioning import save_version


async def live_connection(
    session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID
) -> GroupConnection | None:
    """The group's completed, not disconnected connection to the carrier, if any."""
    live = await live_connections(session, group_id)
    return next((c for c in live if c.carrier_id == carrier_id), None)


async def live_connections(session: AsyncSession, group_id: uuid.UUID) -> Sequence[GroupConnection]:
    """The group's completed, not disconnected connections, one per carrier at most."""
    return (await session.scalars(select(GroupConnection).where(*_live(group_id)))).all()


async def live_carrier_groups(session: AsyncSession, group_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Of `live_connections`, what sending needs: each carrier's group id, by carrier id. Read
    as columns (the fulfillment loop asks on every send, and the entity carries the
    connection's documents)."""
    rows = await _LIVE_CARRIER_GROUPS.fetch(session, group_id=group_id)
    return {row["carrier_id"]: row["carrier_group_id"] for row in rows}


def _live(group_id: uuid.UUID | BindParameter[uuid.UUID]) -> tuple[ColumnElement[bool], ...]:
    return (
        GroupConnection.group_id == group_id,
        GroupConnection.disconnected.is_(None),
        or_(
            GroupConnection.status == ConnectionStatus.COMPLETED.value,
            # A file carrier's connection takes the census in `action_required`, once its
            # account is pulled and its feed made (seed 002: Send data from action_required).
            and_(
                GroupConnection.status == ConnectionStatus.ACTION_REQUIRED.value,
                exists().where(
                    Feed.group_id == GroupConnection.group_id,
                    Feed.carrier_id == GroupConnection.carrier_id,
                ),
            ),
        ),
    )


async def open_disconnection_request(
    session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID
) -> GroupDisconnectionRequest | None:
    """The group's open (needs_review or processing) request for the carrier, if any."""
    return await session.scalar(
        select(GroupDisconnectionRequest).where(
            GroupDisconnectionRequest.group_id == group_id,
            GroupDisconnectionRequest.carrier_id == carrier_id,
            GroupDisconnectionRequest.status.in_([status.value for status in OPEN]),
        )
    )


async def carrier_link(
    session: AsyncSession, group_id: uuid.UUID, carrier_id: uuid.UUID
) -> CarrierLink:
    """What enrollment intake checks (`domain.disconnections.check_enrollment_change`)."""
    return (await carrier_links(session, group_id, [carrier_id]))[carrier_id]


_GROUP = id_param("group_id")
_LIVE_CARRIER_GROUPS = Statement(
    select(GroupConnection.carrier_id, GroupConnection.carrier_group_id).where(*_live(_GROUP))
)
# A live connection's row, then the disconnections under way or done: one statement (intake
# reads it on every snapshot). The latest completed disconnection comes last, so it is the one
# kept below; a live connection's row has no completion and comes first.
_LIVE = "live"
_LINKS = Statement(
    union_all(
        select(
            GroupConnection.carrier_id,
            literal(_LIVE).label("status"),
            null().label("effective_end_date"),
            null().label("completed"),
        ).where(*_live(_GROUP)),
        select(
            GroupDisconnectionRequest.carrier_id,
            GroupDisconnectionRequest.status,
            GroupDisconnectionRequest.effective_end_date,
            GroupDisconnectionRequest.completed,
        ).where(
            GroupDisconnectionRequest.group_id == _GROUP,
            or_(
                GroupDisconnectionRequest.status == DisconnectionStatus.PROCESSING.value,
                GroupDisconnectionRequest.status == DisconnectionStatus.COMPLETED.value,
            ),
        ),
    ).order_by(literal_column("completed").asc().nulls_first())
)


async def carrier_links(
    session: AsyncSession, group_id: uuid.UUID, carrier_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, CarrierLink]:
    """`carrier_link` for each carrier, in one query whatever their number: connected (with
    the end date of a disconnection under way), or not (with the date the last one ended)."""
    rows = await _LINKS.fetch(session, group_id=group_id)
    live = {r["carrier_id"] for r in rows if r["status"] == _LIVE}
    pending = {
        r["carrier_id"]: r["effective_end_date"]
        for r in rows
        if r["status"] == DisconnectionStatus.PROCESSING.value
    }
    ended = {
        r["carrier_id"]: r["effective_end_date"]
        for r in rows
        if r["status"] == DisconnectionStatus.COMPLETED.value
    }
    return {
        carrier_id: CarrierLink(connected=True, ends_on=pending.get(carrier_id))
        if carrier_id in live
        else CarrierLink(connected=False, disconnected_on=ended.get(carrier_id))
        for carrier_id in carrier_ids
    }


async def live_conflict(
    session: AsyncSession,
    organization_id: uuid.UUID,
    carrier_id: uuid.UUID,
    carrier_group_id: str,
    group_id: uuid.UUID | None,
    *,
    excluding: uuid.UUID | None = None,
) -> GroupConnection | None:
    """A not disconnected connection to the carrier for the same carrier group (or, when
    `group_id` is given, the same group) in the organization, other than `excluding`."""
    keys = GroupConnection.carrier_group_id == carrier_group_id
    if group_id is not None:
        keys = keys | (GroupConnection.group_id == group_id)
    query = select(GroupConnection).where(
        GroupConnection.organization_id == organization_id,
        GroupConnection.carrier_id == carrier_id,
        GroupConnection.disconnected.is_(None),
        keys,
    )
    if excluding is not None:
        query = query.where(GroupConnection.id != excluding)
    return await session.scalar(query.limit(1))


def connection_conditions(
    organization_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID] = (),
    statuses: Sequence[str] = (),
    carrier_ids: Sequence[uuid.UUID] = (),
    carrier_group_id: str | None = None,
    group_id: uuid.UUID | None = None,
    overdue: OverdueFilter | None = None,
    visible: bool = True,
) -> list[ColumnElement[bool]]:
    """The organization's connections matching every filter given (none when not `visible`)."""
    conditions = [GroupConnection.organization_id == organization_id]
    if not visible:
        conditions.append(GroupConnection.id.is_(None))
    if ids:
        conditions.append(GroupConnection.id.in_(ids))
    if statuses:
        conditions.append(GroupConnection.status.in_(statuses))
    if carrier_ids:
        conditions.append(GroupConnection.carrier_id.in_(carrier_ids))
    if carrier_group_id is not None:
        conditions.append(GroupConnection.carrier_group_id == carrier_group_id)
    if group_id is not None:
        conditions.append(GroupConnection.group_id == group_id)
    if overdue is not None:
        conditions.append(filter_condition(GroupConnection, overdue))
    return conditions


async def connection_for_update(
    session: AsyncSession, connection_id: uuid.UUID
) -> GroupConnection | None:
    return await session.get(GroupConnection, connection_id, with_for_update=NO_KEY_UPDATE)


async def add_connection(
    session: AsyncSession, connection: ConnectionInput, *, workflow_id: str
) -> GroupConnection:
    """The connection's row (and its group's, if missing) from the run's input."""
    if await session.scalar(select(Group.id).where(Group.id == connection.group_id)) is None:
        group = Group(
            id=connection.group_id,
            organization_id=connection.organization_id,
            name=connection.group_data.group_name or connection.group_data.carrier_group_id,
            federal_ein=connection.federal_ein,
        )
        await save_version(session, group, is_new=True)
    row = GroupConnection(
        id=connection.connection_id,
        organization_id=connection.organization_id,
        group_id=connection.group_id,
        carrier_id=connection.carrier_id,
        carrier_group_id=connection.group_data.carrier_group_id,
        federal_ein=connection.federal_ein,
        request_type=connection.request_type,
        status=connection.status.value,
        group_data=connection.group_data.contract(),
        setup_result={},
        workflow_id=workflow_id,
        status_seq=connection.status_seq,
    )
    await save_version(session, row, is_new=True)
    return row
