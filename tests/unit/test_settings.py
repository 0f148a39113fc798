"""One settings object: defaults for the embedded stack, overrides from the environment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.webhooks import delivery_queue
from runtime.settings import Settings
from worker import polls


def fresh(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


def test_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATABASE_URL", "TEMPORAL_ADDRESS", "CARRIERLINK_API_PORT"):
        monkeypatch.delenv(var, raising=False)
    s = fresh(monkeypatch)
    assert s.database_url is None
    assert s.temporal_target == "127.0.0.1:7233"
    assert (s.api_host, s.api_port, s.temporal_ui_port) == ("127.0.0.1", 8000, 8233)
    assert s.carrier_base_url("principal") == "http://127.0.0.1:8100/principal"
    assert s.dev_token == "dev-token"
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        s.require_database_url()


def test_external_services_are_chosen_by_the_two_plain_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = fresh(
        monkeypatch,
        DATABASE_URL="postgresql+asyncpg://u:p@db.internal/carrierlink",
        TEMPORAL_ADDRESS="temporal.internal:7233",
    )
    assert s.require_database_url() == "postgresql+asyncpg://u:p@db.internal/carrierlink"
    assert s.temporal_target == "temporal.internal:7233"


def test_every_setting_reads_its_prefixed_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    s = fresh(
        monkeypatch,
        CARRIERLINK_API_PORT="9001",
        CARRIERLINK_TASK_QUEUE="q",
        CARRIERLINK_SANDBOX_PORT="9100",
        CARRIERLINK_UNUM_BASE_URL="https://unum.example/api",
        CARRIERLINK_CONNECTION_RECHECK_INITIAL="PT15M",
        CARRIERLINK_DEV_TOKEN="t0k",
        CARRIERLINK_SANDBOX_ERROR_RATE="0.25",
    )
    assert s.api_port == 9001
    assert s.task_queue == "q"
    assert s.carrier_base_url("principal") == "http://127.0.0.1:9100/principal"
    assert s.carrier_base_url("unum") == "https://unum.example/api"
    assert s.connection_recheck_initial == timedelta(minutes=15)
    assert s.dev_token == "t0k"
    assert s.sandbox_error_rate == 0.25


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="sandbox_error_rate"):
        fresh(monkeypatch, CARRIERLINK_SANDBOX_ERROR_RATE="2")


def test_the_worker_role_says_which_task_queues_a_process_polls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CARRIERLINK_WORKER_ROLE", raising=False)
    assert fresh(monkeypatch).worker_role == "all"
    role = fresh(monkeypatch, CARRIERLINK_WORKER_ROLE="webhooks").worker_role
    assert role == "webhooks"
    # (engine queue, deliveries' queue)
    assert polls("all") == (True, True)
    assert polls("engine") == (True, False)
    assert polls(role) == (False, True)
    assert delivery_queue("carrierlink") == "carrierlink-webhooks"
    with pytest.raises(ValueError, match="worker_role"):
        fresh(monkeypatch, CARRIERLINK_WORKER_ROLE="everything")
