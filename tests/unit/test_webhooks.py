"""Webhook rules: signatures (one and two secrets), retry schedule, URL checks, health, bodies."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain import webhooks as rules
from domain.errors import ValidationFailed
from domain.webhooks import SUBSCRIBABLE, EventType, SubscriptionStatus

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
RESOURCE = uuid.UUID("11111111-2222-3333-4444-555555555555")
GROUP = uuid.UUID("66666666-7777-8888-9999-000000000000")


def contract_sample_verify(secret: str, header: str, timestamp: str, raw: bytes) -> bool:
    """The contract's sample receiver: HMAC-SHA256 of "<timestamp>.<raw body>", any of a
    comma-separated list, compared in constant time."""
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in header.split(","))


def test_the_signature_is_what_the_contracts_sample_code_verifies() -> None:
    raw = rules.encode_body(rules.event_body(RESOURCE, 1_700_000_000, "group.created", {}))
    timestamp = NOW.isoformat()
    header = rules.signature_header(["whsec_one"], timestamp, raw)
    assert len(header) == 64
    assert "," not in header
    assert contract_sample_verify("whsec_one", header, timestamp, raw)
    assert rules.verify("whsec_one", header, timestamp, raw, now=NOW)
    assert not rules.verify("whsec_two", header, timestamp, raw, now=NOW)
    # Any byte of the body or the timestamp changed: no longer valid.
    assert not rules.verify("whsec_one", header, timestamp, raw + b" ", now=NOW)
    later = (NOW + timedelta(seconds=1)).isoformat()
    assert not rules.verify("whsec_one", header, later, raw, now=NOW)


def test_two_active_secrets_sign_side_by_side_and_either_verifies() -> None:
    raw = b'{"data":{"id":"x"},"event":{"id":"y","created":1,"type":"test.hello_world"}}'
    timestamp = NOW.isoformat()
    header = rules.signature_header(["whsec_new", "whsec_old"], timestamp, raw)
    first, second = header.split(",")
    assert first == rules.sign("whsec_new", timestamp, raw)
    assert second == rules.sign("whsec_old", timestamp, raw)
    for secret in ("whsec_new", "whsec_old"):
        assert rules.verify(secret, header, timestamp, raw, now=NOW)
        assert contract_sample_verify(secret, header, timestamp, raw)
    assert not rules.verify("whsec_other", header, timestamp, raw, now=NOW)


def test_a_stale_or_malformed_timestamp_is_rejected() -> None:
    raw = b"{}"
    old = (NOW - timedelta(minutes=6)).isoformat()
    header = rules.sign("s", old, raw)
    assert not rules.verify("s", header, old, raw, now=NOW)
    assert rules.verify("s", header, old, raw, now=NOW, tolerance=timedelta(minutes=10))
    assert not rules.verify("s", rules.sign("s", "yesterday", raw), "yesterday", raw, now=NOW)
    naive = "2026-12-06T12:00:00"
    assert not rules.verify("s", rules.sign("s", naive, raw), naive, raw, now=NOW)


def test_fifteen_attempts_over_about_three_days() -> None:
    delays = rules.retry_delays(attempts=15, first=timedelta(seconds=16), factor=2.0)
    assert len(delays) == 14
    assert delays[0] == timedelta(seconds=16)
    assert all(b == a * 2 for a, b in itertools.pairwise(delays))
    total = sum(delays, timedelta())
    assert timedelta(days=2, hours=12) < total < timedelta(days=3, hours=12)


def test_the_next_attempt_follows_the_schedule_and_stops_after_the_last() -> None:
    schedule = {"attempts": 15, "first": timedelta(seconds=16), "factor": 2.0}
    delays = rules.retry_delays(**schedule)  # type: ignore[arg-type]
    for made in range(1, 15):
        assert rules.next_attempt_delay(made, **schedule) == delays[made - 1]  # type: ignore[arg-type]
    assert rules.next_attempt_delay(15, **schedule) is None  # type: ignore[arg-type]
    assert rules.next_attempt_delay(1, attempts=1, first=timedelta(1), factor=2) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "example.com/hook",
        "http://",
        "https://u:p@h.io/",
    ],
)
def test_only_http_and_https_urls_with_a_host(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        rules.check_url_shape(url)
    assert refused.value.problems[0].field == "url"


def test_a_url_shape_gives_its_host() -> None:
    assert rules.check_url_shape("https://hooks.example.com:8443/noyo?x=1") == "hooks.example.com"
    assert rules.check_url_shape("http://127.0.0.1:9000/hook") == "127.0.0.1"


@pytest.mark.parametrize(
    ("addresses", "why"),
    [
        (["127.0.0.1"], "loopback"),
        (["::1"], "loopback"),
        (["169.254.169.254"], "link-local"),
        (["fe80::1%eth0"], "link-local"),
        (["10.1.2.3"], "private"),
        (["192.168.0.10"], "private"),
        (["172.16.5.4"], "private"),
        (["fd00::1"], "private"),
        (["0.0.0.0"], "private"),
        (["93.184.216.34", "10.0.0.1"], "private"),  # every address counts, not just the first
        ([], "does not resolve"),
    ],
)
def test_addresses_off_the_public_internet_are_refused(addresses: list[str], why: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        rules.check_addresses(addresses, allow_loopback=False, allow_private=False)
    assert why in refused.value.problems[0].reason


def test_settings_allow_loopback_or_private_ranges() -> None:
    rules.check_addresses(
        ["93.184.216.34", "2606:2800:220:1::"], allow_loopback=False, allow_private=False
    )
    rules.check_addresses(["127.0.0.1", "::1"], allow_loopback=True, allow_private=False)
    with pytest.raises(ValidationFailed):
        rules.check_addresses(["10.0.0.1"], allow_loopback=True, allow_private=False)
    rules.check_addresses(["10.0.0.1", "169.254.1.1"], allow_loopback=False, allow_private=True)
    with pytest.raises(ValidationFailed):
        rules.check_addresses(["127.0.0.1"], allow_loopback=False, allow_private=True)


def test_event_type_filters_name_known_types_and_never_the_test_event() -> None:
    assert rules.check_event_types(None) is None
    assert rules.check_event_types(["group.created", "group.created"]) == ["group.created"]
    for bad in (["group.deleted"], ["test.hello_world"], []):
        with pytest.raises(ValidationFailed):
            rules.check_event_types(bad)


def test_the_eleven_contract_keys_the_renewal_and_feed_run_events_and_the_test_event() -> None:
    assert {t.value for t in SUBSCRIBABLE} == {
        "member_snapshot.status_change",
        "member_snapshot_carrier_fulfillment_status.status_change",
        "difference.created",
        "difference.discrepancy",
        "difference.resolved",
        "difference.replaced",
        "group.created",
        "group_connection_request.created",
        "group_connection_request.status_change",
        "group_disconnection_request.created",
        "group_disconnection_request.status_change",
        "renewal_decision.created",
        "renewal_decision.status_change",
        "feed_run.created",
        "feed_run.status_change",
    }
    assert EventType.TEST_HELLO_WORLD.value == "test.hello_world"


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_body_has_the_contract_shape_and_ids_and_statuses_only(event_type: EventType) -> None:
    if event_type.value.endswith(".status_change"):
        data = rules.status_change(RESOURCE, "processing", "completed", group_id=GROUP)
        assert data["old_status"] == "processing"
        assert data["new_status"] == "completed"
    elif event_type.value.startswith("group_"):
        data = rules.with_status(rules.created(RESOURCE, group_id=GROUP), "created")
    else:
        data = rules.created(RESOURCE, group_id=GROUP)
    event_id = uuid.uuid4()
    body = json.loads(
        rules.encode_body(rules.event_body(event_id, 1_765_000_000, event_type, data))
    )
    assert body["event"] == {
        "id": str(event_id),
        "created": 1_765_000_000,
        "type": event_type.value,
    }
    assert body["data"]["id"] == str(RESOURCE)
    for key, value in body["data"].items():
        assert key in {"id", "group_id", "old_status", "new_status", "status"}
        assert value is None or isinstance(value, str)


def test_health_from_how_long_every_delivery_has_failed() -> None:
    limits = {"unhealthy_after": timedelta(days=1), "failed_after": timedelta(days=7)}
    assert rules.health(None, NOW, **limits) is SubscriptionStatus.HEALTHY
    assert rules.health(NOW - timedelta(hours=23), NOW, **limits) is SubscriptionStatus.HEALTHY
    assert rules.health(NOW - timedelta(days=1), NOW, **limits) is SubscriptionStatus.UNHEALTHY
    assert rules.health(NOW - timedelta(days=6), NOW, **limits) is SubscriptionStatus.UNHEALTHY
    assert rules.health(NOW - timedelta(days=7), NOW, **limits) is SubscriptionStatus.FAILED
