"""The worker's probe server: alive always, ready only while the worker polls; the SDK metrics
runtime and the graceful shutdown come from settings."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx

from runtime import temporal
from runtime.activity_metrics import error_type
from runtime.probes import serve_probes
from runtime.settings import Settings
from tests.harness import free_port


async def test_readyz_follows_the_worker_and_healthz_always_answers() -> None:
    polling = False
    port = free_port()
    async with (
        serve_probes("127.0.0.1", port, ready=lambda: polling),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        assert (await http.get("/healthz")).json() == {"status": "ok", "checks": {}}
        not_yet = await http.get("/readyz")
        assert not_yet.status_code == 503
        assert not_yet.json()["checks"] == {"worker": "not polling"}
        polling = True
        ready = await http.get("/readyz")
        assert (ready.status_code, ready.json()["status"]) == (200, "ok")
        assert (await http.get("/other")).status_code == 404


def test_worker_operations_settings() -> None:
    settings = Settings(_env_file=None)
    assert settings.worker_graceful_shutdown == timedelta(seconds=30)
    assert settings.worker_probe_port is None
    assert temporal.metrics_runtime(settings) is None  # off unless a port is set
    port = free_port()
    configured = Settings(_env_file=None, worker_metrics_port=port)
    runtime = temporal.metrics_runtime(configured)
    assert runtime is not None
    # The SDK serves its Prometheus endpoint itself while the runtime lives.
    for _ in range(50):
        try:
            assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
            break
        except httpx.ConnectError:
            time.sleep(0.1)
    else:
        raise AssertionError("the SDK's metrics endpoint never answered")
    del runtime


def test_an_activity_failure_is_labelled_by_its_type_never_its_message() -> None:
    class Refusal(Exception):
        type = "CarrierRejected"

    class Timeout(Exception):
        type = 2  # a timeout's kind is an enum, not a name

    assert error_type(Refusal("GET /account: HTTP 404 for group 1234567")) == "CarrierRejected"
    assert error_type(Timeout()) == "Timeout"
    assert error_type(ValueError("anything")) == "ValueError"
