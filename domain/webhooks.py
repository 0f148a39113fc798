"""Webhooks, the pure rules: event types and bodies, signing, retries, URL and health checks.

No I/O here: the store records events (an outbox), activities deliver them, services check
subscriptions; each asks this module what the contract (section 6) says.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from domain.errors import ValidationFailed

SIGNATURE_HEADER = "x-noyo-signature"
TIMESTAMP_HEADER = "x-noyo-timestamp"
TRACE_HEADER = "x-cloud-trace-context"


class EventType(enum.StrEnum):
    """The contract's event keys, and the test event a subscription can ask for."""

    MEMBER_SNAPSHOT_STATUS_CHANGE = "member_snapshot.status_change"
    MEMBER_SNAPSHOT_CARRIER_FULFILLMENT_STATUS_CHANGE = (
        "member_snapshot_carrier_fulfillment_status.status_change"
    )
    DIFFERENCE_CREATED = "difference.created"
    DIFFERENCE_DISCREPANCY = "difference.discrepancy"
    DIFFERENCE_RESOLVED = "difference.resolved"
    DIFFERENCE_REPLACED = "difference.replaced"
    GROUP_CREATED = "group.created"
    GROUP_CONNECTION_REQUEST_CREATED = "group_connection_request.created"
    GROUP_CONNECTION_REQUEST_STATUS_CHANGE = "group_connection_request.status_change"
    GROUP_DISCONNECTION_REQUEST_CREATED = "group_disconnection_request.created"
    GROUP_DISCONNECTION_REQUEST_STATUS_CHANGE = "group_disconnection_request.status_change"
    # Beyond the contract's eleven: the renewal decisions this engine adds (contract section 5).
    RENEWAL_DECISION_CREATED = "renewal_decision.created"
    RENEWAL_DECISION_STATUS_CHANGE = "renewal_decision.status_change"
    # And the runs of a file carrier's feed (one file each: built, sent, acknowledged by a 999).
    FEED_RUN_CREATED = "feed_run.created"
    FEED_RUN_STATUS_CHANGE = "feed_run.status_change"
    TEST_HELLO_WORLD = "test.hello_world"


# What a subscription may filter on: every type but the test event, which only
# `POST /webhook_subscriptions/{id}/test` sends, to that subscription alone.
SUBSCRIBABLE: tuple[EventType, ...] = tuple(
    t for t in EventType if t is not EventType.TEST_HELLO_WORLD
)


class SubscriptionStatus(enum.StrEnum):
    HEALTHY = "healthy"
    # Every delivery failed for `unhealthy_after` (a day): still retried.
    UNHEALTHY = "unhealthy"
    # Every delivery failed for `failed_after` (7 days): paused until edited.
    FAILED = "failed"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Every attempt failed: kept for the log and for redelivery.
    FAILED = "failed"


# Bodies. `data` carries ids and statuses only, never a person: the platform GETs the resource.


def status_change(
    resource_id: uuid.UUID, old_status: str | None, new_status: str, **ids: uuid.UUID | None
) -> dict[str, Any]:
    """The `data` of a `*.status_change` event: the resource, its old and new status."""
    return {
        "id": str(resource_id),
        **_ids(ids),
        "old_status": old_status,
        "new_status": new_status,
    }


def created(resource_id: uuid.UUID, **ids: uuid.UUID | None) -> dict[str, Any]:
    """The `data` of a `*.created` (or difference) event: the resource and the ids it hangs on."""
    return {"id": str(resource_id), **_ids(ids)}


def with_status(data: dict[str, Any], status: str) -> dict[str, Any]:
    return {**data, "status": status}


def _ids(ids: dict[str, uuid.UUID | None]) -> dict[str, str | None]:
    return {name: str(value) if value is not None else None for name, value in ids.items()}


def event_body(
    event_id: uuid.UUID, created_at: int, event_type: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The body POSTed to a subscriber (contract 6)."""
    return {
        "data": data,
        "event": {"id": str(event_id), "created": created_at, "type": event_type},
    }


def encode_body(body: dict[str, Any]) -> bytes:
    """The raw bytes sent and signed: compact JSON."""
    return json.dumps(body, separators=(",", ":")).encode()


# Signatures.


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    """Hex HMAC-SHA256 of `"<timestamp>.<raw body>"`, as the contract's sample code verifies."""
    message = timestamp.encode() + b"." + raw_body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: str, raw_body: bytes) -> str:
    """One signature per active secret, comma-separated (two while a rotation's grace runs)."""
    return ",".join(sign(secret, timestamp, raw_body) for secret in secrets)


def verify(
    secret: str,
    signature_header_value: str,
    timestamp: str,
    raw_body: bytes,
    *,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """What a receiver does: one of the signatures matches (in constant time) and the timestamp
    is recent (a replayed old request fails)."""
    try:
        sent = datetime.fromisoformat(timestamp)
    except ValueError:
        return False
    if sent.tzinfo is None or abs(now - sent) > tolerance:
        return False
    expected = sign(secret, timestamp, raw_body)
    return any(
        hmac.compare_digest(expected, candidate.strip())
        for candidate in signature_header_value.split(",")
    )


# Retries.


def retry_delays(*, attempts: int, first: timedelta, factor: float) -> list[timedelta]:
    """The wait before each retry: `attempts - 1` of them, each `factor` times the last.

    With the defaults (15 attempts, 16 s, 2.0) the last retry comes 16 s * (2^14 - 1), about
    3 days, after the first attempt.
    """
    return [first * factor**n for n in range(attempts - 1)]


def next_attempt_delay(
    attempts_made: int, *, attempts: int, first: timedelta, factor: float
) -> timedelta | None:
    """How long after its `attempts_made`-th failed attempt a delivery is tried again; None
    once every attempt is spent."""
    if attempts_made >= attempts:
        return None
    return first * factor ** (attempts_made - 1)


# Health.


def health(
    failing_since: datetime | None,
    now: datetime,
    *,
    unhealthy_after: timedelta,
    failed_after: timedelta,
) -> SubscriptionStatus:
    """A subscription's health from how long every delivery to it has failed."""
    if failing_since is None:
        return SubscriptionStatus.HEALTHY
    failing = now - failing_since
    if failing >= failed_after:
        return SubscriptionStatus.FAILED
    if failing >= unhealthy_after:
        return SubscriptionStatus.UNHEALTHY
    return SubscriptionStatus.HEALTHY


# URLs.


def check_url_shape(url: str) -> str:
    """The host of an `http(s)` URL, or 422 naming `url`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed.one("url", "must be an http or https URL")
    if not parts.hostname:
        raise ValidationFailed.one("url", "must name a host")
    if parts.username or parts.password:
        raise ValidationFailed.one("url", "must not carry credentials")
    return parts.hostname


def check_addresses(addresses: Iterable[str], *, allow_loopback: bool, allow_private: bool) -> None:
    """422 when the URL's host resolves to loopback, link-local or private ranges (or other
    addresses not on the public internet), unless a setting allows them."""
    found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    if not found:
        raise ValidationFailed.one("url", "the host does not resolve")
    for address in found:
        if address.is_loopback:
            if not allow_loopback:
                raise ValidationFailed.one("url", "must not point at a loopback address")
        elif address.is_link_local:
            # Cloud metadata services live here (169.254.169.254).
            if not allow_private:
                raise ValidationFailed.one("url", "must not point at a link-local address")
        elif (
            address.is_private
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ) and not allow_private:
            raise ValidationFailed.one("url", "must not point at a private address")


def check_event_types(event_types: Iterable[str] | None) -> list[str] | None:
    """The subscription's filter (None: every type), or 422 naming the unknown ones."""
    if event_types is None:
        return None
    values = list(dict.fromkeys(event_types))
    allowed = {t.value for t in SUBSCRIBABLE}
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationFailed.one(
            "event_types", f"unknown event type {', '.join(unknown)}; one of {', '.join(allowed)}"
        )
    if not values:
        raise ValidationFailed.one("event_types", "must name at least one type (or be omitted)")
    return values


# What a subscription's delivery loop (`workflows.webhooks`) hands its activity and gets back:
# ids and counts only, so no event (and no person) ever enters a workflow history.


class DeliveryTurn(BaseModel):
    subscription_id: uuid.UUID
    # The turn delivers what falls due until then, then returns so the loop can go on.
    until: datetime


class TurnResult(BaseModel):
    delivered: int = 0
    failed: int = 0
    # The subscription was deleted: the loop ends.
    gone: bool = False


# Deliveries run on a task queue of their own, beside the engine's (`worker.py` polls it in its
# own process when the role says so): a saturated engine worker's event loop delayed them by
# tens of seconds, and a receiver that hangs then held engine capacity.
DELIVERY_QUEUE_SUFFIX = "-webhooks"


def delivery_queue(task_queue: str) -> str:
    """The task queue that carries the deliveries of loops running on `task_queue`."""
    return task_queue + DELIVERY_QUEUE_SUFFIX
