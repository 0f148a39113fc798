"""Webhook tables and SQL: subscriptions, the event outbox, deliveries and their attempts.

The outbox. Every state change a webhook reports is an ORM write of one of the records in
`_WATCHED` (groups, connection and disconnection requests, member snapshots, differences,
renewal decisions, feed runs), so the events are found where those writes happen:
`OutboxSession` looks at each flush before it is sent and inserts, in the same transaction,
one event per change and one pending delivery per matching subscription. A crash can
therefore never separate a change from its event, and no caller has to remember to record
one; `record_event` is there for an event no record write carries (the test event). Nothing
is written for an organization with no subscription.

The signing secret is stored as given, not hashed: signing needs it back. Whoever can read this
table can read every record the webhooks describe, so encrypting it with a key held next to the
database would add little; a KMS-held key is the upgrade if secrets must outlive a dump.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from domain import webhooks as rules
from domain.webhooks import DeliveryStatus, EventType, SubscriptionStatus
from store.models import (
    Base,
    Difference,
    FeedRun,
    Group,
    GroupConnection,
    GroupDisconnectionRequest,
    MemberSnapshot,
    Organization,
    RenewalDecision,
    Versioned,
    unix_now,
)
from store.versioning import save_version


class WebhookSubscription(Versioned, Base):
    """Where an organization wants its events POSTed, and how that is going."""

    __tablename__ = "webhook_subscriptions"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    # None: every type.
    event_types: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    description: Mapped[str | None] = mapped_column(Text)
    paused: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))
    secret: Mapped[str] = mapped_column(Text)
    # The secret before the last rotation, signing alongside until `previous_secret_until`.
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[int | None] = mapped_column(BigInteger)
    # Since when every attempt has failed; None after any success.
    failing_since: Mapped[int | None] = mapped_column(BigInteger)
    workflow_id: Mapped[str] = mapped_column(Text)

    def as_contract(self) -> dict[str, Any]:
        """Never the secret: it is shown once, by the call that made it."""
        return {
            **self._record_fields(),
            "organization_id": str(self.organization_id),
            "url": self.url,
            "event_types": list(self.event_types) if self.event_types is not None else None,
            "description": self.description,
            "paused": self.paused,
            "status": self.status,
        }

    def signing_secrets(self, now: int) -> list[str]:
        if self.previous_secret and (self.previous_secret_until or 0) > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookEvent(Base):
    """One state change as subscribers see it: ids and statuses, never a person."""

    __tablename__ = "webhook_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]]
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now)
    # When the change was committed (microseconds): what delivery latency is measured from.
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


class WebhookDelivery(Base):
    """One event owed to one subscription: pending until acknowledged or out of attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # What a subscription's loop claims: its pending deliveries by due time.
        Index(
            "ix_webhook_deliveries_due",
            "subscription_id",
            "due_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_log", "subscription_id", "created"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When it is next tried; while an attempt is under way, when that attempt's lease ends
    # (a worker killed mid-POST leaves it to be tried again then).
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created: Mapped[int] = mapped_column(BigInteger, default=unix_now)
    delivered: Mapped[int | None] = mapped_column(BigInteger)

    def as_contract(self, attempts: Sequence[WebhookAttempt]) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "subscription_id": str(self.subscription_id),
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "status": self.status,
            "created": self.created,
            "delivered": self.delivered,
            "next_attempt": (
                int(self.due_at.timestamp())
                if self.due_at is not None and self.status == DeliveryStatus.PENDING.value
                else None
            ),
            "attempts": [a.as_contract() for a in attempts],
        }


class WebhookAttempt(Base):
    """One POST of a delivery: when, what came back, how long it took, when the next is due."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted: Mapped[int] = mapped_column(BigInteger)
    response_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    # What failed when no response came ("timeout", "connection refused"); never a body.
    error: Mapped[str | None] = mapped_column(String(200))
    next_attempt: Mapped[int | None] = mapped_column(BigInteger)

    def as_contract(self) -> dict[str, Any]:
        return {
            "attempted": self.attempted,
            "response_code": self.response_code,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "next_attempt": self.next_attempt,
        }


# The outbox.


@dataclass(frozen=True)
class _Found:
    organization_id: uuid.UUID
    event_type: EventType
    data: dict[str, Any]


@dataclass
class _Target:
    id: uuid.UUID
    event_types: frozenset[str] | None = field(default=None)

    def wants(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types


_TARGETS = "webhook_targets"


class OutboxSession(Session):
    """The session every `Database.transaction()` uses: its flushes record webhook events."""


@event.listens_for(OutboxSession, "before_flush")
def _record_changes(session: Session, _context: Any, _instances: Any) -> None:
    found: list[_Found] = []
    unknown_orgs: list[tuple[MemberSnapshot, list[tuple[EventType, dict[str, Any]]]]] = []
    for record in list(session.new):
        found.extend(_created(record))
    for record in list(session.dirty):
        if not isinstance(record, _WATCHED) or not session.is_modified(record):
            continue
        if isinstance(record, MemberSnapshot):
            changes = _snapshot_changes(record)
            if not changes:
                continue
            organization_id = record.__dict__.get("organization_id")
            if organization_id is None:
                unknown_orgs.append((record, changes))
            else:
                found.extend(_Found(organization_id, t, d) for t, d in changes)
        else:
            found.extend(_changed(record))
    if unknown_orgs:
        # Snapshots loaded with only the columns their writer needed: one read for all.
        owners = dict(
            session.execute(
                select(MemberSnapshot.id, MemberSnapshot.organization_id).where(
                    MemberSnapshot.id.in_([snapshot.id for snapshot, _ in unknown_orgs])
                )
            ).all()
        )
        for snapshot, changes in unknown_orgs:
            found.extend(_Found(owners[snapshot.id], t, d) for t, d in changes)
    if found:
        _insert(session, found)


_WATCHED = (
    FeedRun,
    Group,
    GroupConnection,
    GroupDisconnectionRequest,
    MemberSnapshot,
    Difference,
    RenewalDecision,
)


def _created(record: object) -> list[_Found]:
    if not isinstance(
        record,
        Group
        | GroupConnection
        | GroupDisconnectionRequest
        | Difference
        | RenewalDecision
        | FeedRun,
    ):
        return []
    if record.id is None:
        record.id = uuid.uuid4()  # the column default would come only with the INSERT
    if isinstance(record, FeedRun):
        data = rules.with_status(rules.created(record.id, group_id=record.group_id), record.status)
        return [_Found(record.organization_id, EventType.FEED_RUN_CREATED, data)]
    if isinstance(record, RenewalDecision):
        data = rules.with_status(rules.created(record.id, group_id=record.group_id), record.status)
        return [_Found(record.organization_id, EventType.RENEWAL_DECISION_CREATED, data)]
    if isinstance(record, Group):
        return [_Found(record.organization_id, EventType.GROUP_CREATED, rules.created(record.id))]
    if isinstance(record, GroupConnection | GroupDisconnectionRequest):
        kind = (
            EventType.GROUP_CONNECTION_REQUEST_CREATED
            if isinstance(record, GroupConnection)
            else EventType.GROUP_DISCONNECTION_REQUEST_CREATED
        )
        data = rules.with_status(
            rules.created(record.id, group_id=record.group_id, carrier_id=record.carrier_id),
            record.status,
        )
        return [_Found(record.organization_id, kind, data)]
    return _difference_created(record)


def _difference_created(record: Difference) -> list[_Found]:
    if record.member_transaction_id is None:
        return []  # pending: announced once a check finds it at the carrier
    found = [_Found(record.organization_id, EventType.DIFFERENCE_CREATED, _difference_data(record))]
    if record.is_discrepancy:
        found.append(
            _Found(
                record.organization_id,
                EventType.DIFFERENCE_DISCREPANCY,
                _difference_data(record),
            )
        )
    return found


def _changed(record: object) -> list[_Found]:
    if isinstance(record, RenewalDecision | FeedRun):
        old, new = _old_new(record, "status")
        if new is None or old == new:
            return []
        data = rules.status_change(record.id, old, new, group_id=record.group_id)
        kind = (
            EventType.RENEWAL_DECISION_STATUS_CHANGE
            if isinstance(record, RenewalDecision)
            else EventType.FEED_RUN_STATUS_CHANGE
        )
        return [_Found(record.organization_id, kind, data)]
    if isinstance(record, GroupConnection | GroupDisconnectionRequest):
        old, new = _old_new(record, "status")
        if new is None or old == new:
            return []
        kind = (
            EventType.GROUP_CONNECTION_REQUEST_STATUS_CHANGE
            if isinstance(record, GroupConnection)
            else EventType.GROUP_DISCONNECTION_REQUEST_STATUS_CHANGE
        )
        data = rules.status_change(
            record.id, old, new, group_id=record.group_id, carrier_id=record.carrier_id
        )
        return [_Found(record.organization_id, kind, data)]
    if isinstance(record, Difference):
        if record.member_transaction_id is None:
            return []  # pending: silent until a check finds it at the carrier
        old, new = _old_new(record, "member_transaction_id")
        if new is not None and old is None:
            return _difference_created(record)  # a pending difference a check found
        found = []
        for column, kind in (
            ("is_discrepancy", EventType.DIFFERENCE_DISCREPANCY),
            ("resolved", EventType.DIFFERENCE_RESOLVED),
            ("replaced_by", EventType.DIFFERENCE_REPLACED),
        ):
            old, new = _old_new(record, column)
            if not old and new:
                found.append(_Found(record.organization_id, kind, _difference_data(record)))
        return found
    return []


def _snapshot_changes(snapshot: MemberSnapshot) -> list[tuple[EventType, dict[str, Any]]]:
    changes: list[tuple[EventType, dict[str, Any]]] = []
    old, new = _old_new(snapshot, "status")
    if new is not None and old != new:
        changes.append(
            (
                EventType.MEMBER_SNAPSHOT_STATUS_CHANGE,
                rules.status_change(snapshot.id, old, new),
            )
        )
    old_summary, new_summary = _old_new(snapshot, "fulfillment_summary")
    if new_summary is not None:
        before = {e["carrier_id"]: e["status"] for e in old_summary or []}
        for entry in new_summary:
            was = before.get(entry["carrier_id"])
            if was != entry["status"]:
                changes.append(
                    (
                        EventType.MEMBER_SNAPSHOT_CARRIER_FULFILLMENT_STATUS_CHANGE,
                        rules.status_change(
                            snapshot.id,
                            was,
                            entry["status"],
                            member_snapshot_id=snapshot.id,
                            carrier_id=uuid.UUID(entry["carrier_id"]),
                        ),
                    )
                )
    return changes


def _old_new(record: object, column: str) -> tuple[Any, Any]:
    """The value before this flush (None if never loaded) and the one being written (None
    when unchanged)."""
    history = get_history(record, column)
    if not history.added:
        return None, None
    return (history.deleted[0] if history.deleted else None), history.added[0]


def _difference_data(record: Difference) -> dict[str, Any]:
    return rules.created(
        record.id,
        group_id=record.group_id,
        carrier_id=record.carrier_id,
        employee_id=record.employee_id,
    )


# Built once, run on the flush's connection: every flush that writes a watched record asks, and
# building the query and going through the ORM each time was most of its cost (issue 23). The
# ids are one array parameter, as `store.db.ids_param` makes it (store.db imports this module).
_SUBSCRIBED = select(
    WebhookSubscription.organization_id,
    WebhookSubscription.id,
    WebhookSubscription.event_types,
).where(
    WebhookSubscription.organization_id
    == func.any(bindparam("organization_ids", type_=ARRAY(PG_UUID(as_uuid=True))))
)


def _targets(session: Session, organization_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[_Target]]:
    """The organizations' subscriptions, read once per session (a session is one transaction)."""
    cache: dict[uuid.UUID, list[_Target]] = session.info.setdefault(_TARGETS, {})
    missing = organization_ids - cache.keys()
    if missing:
        for organization_id in missing:
            cache[organization_id] = []
        rows = session.connection().execute(_SUBSCRIBED, {"organization_ids": list(missing)})
        for organization_id, subscription_id, event_types in rows:
            cache[organization_id].append(
                _Target(
                    subscription_id,
                    frozenset(event_types) if event_types is not None else None,
                )
            )
    return cache


def _insert(session: Session, found: Iterable[_Found]) -> None:
    found = list(found)
    targets = _targets(session, {f.organization_id for f in found})
    now, due = unix_now(), datetime.now(UTC)
    events: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for item in found:
        wanted = [t for t in targets[item.organization_id] if t.wants(item.event_type)]
        if not wanted:
            continue
        event_id = uuid.uuid4()
        events.append(
            {
                "id": event_id,
                "organization_id": item.organization_id,
                "event_type": item.event_type.value,
                "data": item.data,
                "created": now,
            }
        )
        deliveries.extend(
            _pending(target.id, event_id, item.event_type, now, due) for target in wanted
        )
    if events:
        connection = session.connection()
        connection.execute(insert(WebhookEvent), events)
        connection.execute(insert(WebhookDelivery), deliveries)


def _pending(
    subscription_id: uuid.UUID, event_id: uuid.UUID, event_type: str, now: int, due: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "subscription_id": subscription_id,
        "event_id": event_id,
        "event_type": event_type,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "due_at": due,
        "created": now,
        "delivered": None,
    }


async def record_event(
    session: AsyncSession,
    organization_id: uuid.UUID,
    event_type: EventType,
    data: dict[str, Any],
    *,
    subscription_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Record an event in the caller's transaction, owed to every subscription of the
    organization that wants its type (or to `subscription_id` alone, whatever it filters);
    the ids of the deliveries made."""
    if subscription_id is None:
        targets = _targets_of(
            await session.execute(
                select(WebhookSubscription.id, WebhookSubscription.event_types).where(
                    WebhookSubscription.organization_id == organization_id
                )
            )
        )
        wanted = [t.id for t in targets if t.wants(event_type)]
    else:
        wanted = [subscription_id]
    if not wanted:
        return []
    now, due = unix_now(), datetime.now(UTC)
    event_id = uuid.uuid4()
    await session.execute(
        insert(WebhookEvent).values(
            id=event_id,
            organization_id=organization_id,
            event_type=event_type.value,
            data=data,
            created=now,
        )
    )
    rows = [_pending(target, event_id, event_type, now, due) for target in wanted]
    await session.execute(insert(WebhookDelivery), rows)
    return [row["id"] for row in rows]


def _targets_of(rows: Any) -> list[_Target]:
    return [
        _Target(row.id, frozenset(row.event_types) if row.event_types is not None else None)
        for row in rows
    ]


# Subscriptions.


async def subscription(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    organization_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> WebhookSubscription | None:
    """The organization's subscription, or None (unknown and another organization's alike)."""
    query = select(WebhookSubscription).where(
        WebhookSubscription.id == subscription_id,
        WebhookSubscription.organization_id == organization_id,
    )
    if for_update:
        query = query.with_for_update(key_share=True)  # FOR NO KEY UPDATE: see store.db
    return await session.scalar(query)


async def subscriptions(
    session: AsyncSession, organization_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[WebhookSubscription], int]:
    scope = WebhookSubscription.organization_id == organization_id
    total = await session.scalar(select(func.count()).where(scope)) or 0
    rows = await session.scalars(
        select(WebhookSubscription)
        .where(scope)
        .order_by(WebhookSubscription.created, WebhookSubscription.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


async def all_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    """Every subscription of every organization (the admin CLI)."""
    return list(
        await session.scalars(
            select(WebhookSubscription).order_by(
                WebhookSubscription.organization_id, WebhookSubscription.created
            )
        )
    )


# Deliveries: the log, redelivery.


@dataclass(frozen=True)
class DeliveryFilter:
    event_types: Sequence[str] = ()
    statuses: Sequence[str] = ()
    created_from: int | None = None
    created_to: int | None = None


async def deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    where: DeliveryFilter,
    *,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the subscription's deliveries, newest first, each with every attempt."""
    conditions: list[Any] = [WebhookDelivery.subscription_id == subscription_id]
    if where.event_types:
        conditions.append(WebhookDelivery.event_type.in_(where.event_types))
    if where.statuses:
        conditions.append(WebhookDelivery.status.in_(where.statuses))
    if where.created_from is not None:
        conditions.append(WebhookDelivery.created >= where.created_from)
    if where.created_to is not None:
        conditions.append(WebhookDelivery.created <= where.created_to)
    total = await session.scalar(select(func.count()).where(*conditions)) or 0
    rows = list(
        await session.scalars(
            select(WebhookDelivery)
            .where(*conditions)
            .order_by(WebhookDelivery.created.desc(), WebhookDelivery.id)
            .offset(offset)
            .limit(limit)
        )
    )
    attempts: dict[uuid.UUID, list[WebhookAttempt]] = {}
    if rows:
        for attempt in await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_([r.id for r in rows]))
            .order_by(WebhookAttempt.id)
        ):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return [row.as_contract(attempts.get(row.id, [])) for row in rows], total


async def redeliver(
    session: AsyncSession, subscription_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    """A new delivery of the same event (same `event.id`, so receivers can tell), due now;
    None when the subscription has no such delivery."""
    original = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.subscription_id == subscription_id,
        )
    )
    if original is None:
        return None
    again = WebhookDelivery(
        **_pending(
            subscription_id, original.event_id, original.event_type, unix_now(), datetime.now(UTC)
        )
    )
    session.add(again)
    await session.flush()
    return again


async def delivery_view(session: AsyncSession, delivery: WebhookDelivery) -> dict[str, Any]:
    attempts = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.id)
    )
    return delivery.as_contract(list(attempts))


# What the delivery loop claims and records.


@dataclass(frozen=True)
class Target:
    """A subscription as its loop sees it at the start of a batch."""

    url: str
    secrets: list[str]
    paused: bool


@dataclass(frozen=True)
class DueDelivery:
    id: uuid.UUID
    attempts: int
    body: dict[str, Any]
    recorded_at: datetime


async def delivery_target(session: AsyncSession, subscription_id: uuid.UUID) -> Target | None:
    """Where the subscription's deliveries go now; None once it is deleted."""
    row = await session.get(WebhookSubscription, subscription_id)
    if row is None:
        return None
    return Target(url=row.url, secrets=row.signing_secrets(unix_now()), paused=row.paused)


async def claim_due(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
) -> list[DueDelivery]:
    """Up to `limit` of the subscription's pending deliveries due by `now`, leased for
    `lease`: a worker that dies with them leaves them due again when it ends."""
    due = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.due_at <= now,
        )
        .order_by(WebhookDelivery.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    )
    claimed = (
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(due.scalar_subquery()))
            .values(due_at=now + lease)
            .returning(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.event_id)
        )
    ).all()
    if not claimed:
        return []
    events = {
        row.id: row
        for row in await session.execute(
            select(
                WebhookEvent.id,
                WebhookEvent.event_type,
                WebhookEvent.data,
                WebhookEvent.created,
                WebhookEvent.recorded_at,
            ).where(WebhookEvent.id.in_({c.event_id for c in claimed}))
        )
    }
    return [
        DueDelivery(
            id=c.id,
            attempts=c.attempts,
            body=rules.event_body(
                c.event_id,
                events[c.event_id].created,
                events[c.event_id].event_type,
                events[c.event_id].data,
            ),
            recorded_at=events[c.event_id].recorded_at,
        )
        for c in claimed
    ]


@dataclass(frozen=True)
class AttemptResult:
    delivery_id: uuid.UUID
    attempts: int  # attempts made, this one included
    attempted: datetime
    response_code: int | None
    latency_ms: int
    error: str | None

    @property
    def acknowledged(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300


@dataclass(frozen=True)
class RetryRules:
    max_attempts: int
    retry_first: timedelta
    retry_factor: float
    unhealthy_after: timedelta
    failed_after: timedelta


_RECORD_ATTEMPT = (
    update(WebhookDelivery.__table__)  # type: ignore[arg-type]
    .where(
        WebhookDelivery.__table__.c.id == bindparam("delivery_id"),
        WebhookDelivery.__table__.c.status == DeliveryStatus.PENDING.value,
    )
    .values(
        status=bindparam("new_status"),
        attempts=bindparam("new_attempts"),
        due_at=bindparam("new_due_at"),
        delivered=bindparam("new_delivered"),
    )
)


async def record_attempts(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    results: Sequence[AttemptResult],
    *,
    now: datetime,
    retry: RetryRules,
) -> None:
    """Write each attempt, schedule retries, and bring the subscription's health up to date."""
    if not results:
        return
    attempt_rows = []
    delivery_rows = []
    for result in results:
        delay = (
            None
            if result.acknowledged
            else rules.next_attempt_delay(
                result.attempts,
                attempts=retry.max_attempts,
                first=retry.retry_first,
                factor=retry.retry_factor,
            )
        )
        next_at = result.attempted + delay if delay is not None else None
        if result.acknowledged:
            status = DeliveryStatus.DELIVERED
        elif next_at is None:
            status = DeliveryStatus.FAILED
        else:
            status = DeliveryStatus.PENDING
        delivery_rows.append(
            {
                "delivery_id": result.delivery_id,
                "new_status": status.value,
                "new_attempts": result.attempts,
                "new_due_at": next_at,
                "new_delivered": (
                    int(result.attempted.timestamp()) if result.acknowledged else None
                ),
            }
        )
        attempt_rows.append(
            {
                "delivery_id": result.delivery_id,
                "attempted": int(result.attempted.timestamp()),
                "response_code": result.response_code,
                "latency_ms": result.latency_ms,
                "error": result.error,
                "next_attempt": int(next_at.timestamp()) if next_at is not None else None,
            }
        )
    # One statement for the batch (executemany, pipelined by asyncpg), not a round trip each.
    # Only a pending delivery is touched: a redelivered copy has its own row.
    await session.execute(_RECORD_ATTEMPT, delivery_rows)
    await session.execute(insert(WebhookAttempt), attempt_rows)
    await _update_health(
        session, subscription_id, any(r.acknowledged for r in results), now=now, retry=retry
    )


async def _update_health(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    any_acknowledged: bool,
    *,
    now: datetime,
    retry: RetryRules,
) -> None:
    row = await session.get(
        WebhookSubscription, subscription_id, with_for_update={"key_share": True}
    )
    if row is None:
        return
    if any_acknowledged:
        if row.failing_since is None and row.status == SubscriptionStatus.HEALTHY.value:
            return
        row.failing_since = None
        row.status = SubscriptionStatus.HEALTHY.value
        await save_version(session, row)
        return
    if row.failing_since is None:
        row.failing_since = int(now.timestamp())
    status = rules.health(
        datetime.fromtimestamp(row.failing_since, UTC),
        now,
        unhealthy_after=retry.unhealthy_after,
        failed_after=retry.failed_after,
    )
    if status.value != row.status:
        row.status = status.value
        if status is SubscriptionStatus.FAILED:
            row.paused = True
        await save_version(session, row)


async def organization_named(session: AsyncSession, name: str) -> uuid.UUID | None:
    return await session.scalar(select(Organization.id).where(Organization.name == name))


async def owner_of(session: AsyncSession, subscription_id: uuid.UUID) -> uuid.UUID | None:
    """The organization a subscription belongs to (the admin CLI names subscriptions by id)."""
    return await session.scalar(
        select(WebhookSubscription.organization_id).where(WebhookSubscription.id == subscription_id)
    )
