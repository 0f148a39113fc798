"""Time-in-status limits: when a waiting record becomes overdue, and the settings behind them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.connections import WAITING, ConnectionStatus
from domain.disconnections import DisconnectionStatus
from domain.overdue import OverdueKind, OverdueLimits, StatusLimits
from runtime.settings import Settings

DAY = 86_400
NOW = 1_800_000_000


def test_a_record_is_overdue_from_the_moment_its_limit_is_reached() -> None:
    limits = StatusLimits(limits={"waiting_on_carrier": timedelta(days=7)})
    entered = NOW - 7 * DAY
    assert limits.overdue_at("waiting_on_carrier", entered) == NOW
    assert limits.is_overdue("waiting_on_carrier", entered, now=NOW)
    assert not limits.is_overdue("waiting_on_carrier", entered + 1, now=NOW)
    assert limits.is_overdue("waiting_on_carrier", entered - 1, now=NOW)


def test_a_status_without_a_limit_is_never_overdue() -> None:
    limits = StatusLimits(limits={"waiting_on_carrier": timedelta(days=7)})
    assert limits.overdue_at("completed", 0) is None
    assert not limits.is_overdue("completed", 0, now=NOW)


def test_cutoffs_are_the_latest_overdue_entry_per_status() -> None:
    limits = StatusLimits(
        limits={"noyo_review": timedelta(days=3), "waiting_on_carrier": timedelta(days=7)}
    )
    cutoffs = limits.cutoffs(now=NOW)
    assert cutoffs == {"noyo_review": NOW - 3 * DAY, "waiting_on_carrier": NOW - 7 * DAY}
    # The cutoff and the rule agree: entering at the cutoff is overdue, a second later is not.
    for status, cutoff in cutoffs.items():
        assert limits.is_overdue(status, cutoff, now=NOW)
        assert not limits.is_overdue(status, cutoff + 1, now=NOW)


def test_default_limits_a_week_waiting_on_the_carrier_three_days_for_a_review() -> None:
    limits = Settings(_env_file=None).overdue_limits()
    assert limits.connections.limits == {
        ConnectionStatus.NOYO_REVIEW.value: timedelta(days=3),
        ConnectionStatus.WAITING_ON_CARRIER.value: timedelta(days=7),
        ConnectionStatus.CARRIER_AUTHORIZATION.value: timedelta(days=7),
        ConnectionStatus.ACTION_REQUIRED.value: timedelta(days=7),
    }
    # Every waiting status has a limit: none can wait unseen.
    assert set(limits.connections.limits) == {status.value for status in WAITING}
    assert limits.disconnections.limits == {
        DisconnectionStatus.NEEDS_REVIEW.value: timedelta(days=3)
    }
    assert limits.of_kind(OverdueKind.DISCONNECTION) is limits.disconnections


def test_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARRIERLINK_OVERDUE_WAITING_ON_CARRIER", "P2D")
    monkeypatch.setenv("CARRIERLINK_OVERDUE_DISCONNECTION_REVIEW", "PT12H")
    limits = Settings(_env_file=None).overdue_limits()
    assert limits.connections.limits["waiting_on_carrier"] == timedelta(days=2)
    assert limits.disconnections.limits["needs_review"] == timedelta(hours=12)


def test_a_limit_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARRIERLINK_OVERDUE_NOYO_REVIEW", "PT0S")
    with pytest.raises(ValueError, match="overdue_noyo_review"):
        Settings(_env_file=None)


def test_limits_of_enums_are_keyed_by_status_value() -> None:
    limits = OverdueLimits.of(
        connections={ConnectionStatus.ACTION_REQUIRED: timedelta(hours=1)}, disconnections={}
    )
    assert limits.connections.limits == {"action_required": timedelta(hours=1)}
    assert limits.disconnections.cutoffs(now=NOW) == {}
