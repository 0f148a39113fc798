"""The one way to reach Temporal: a client with the project's data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from runtime.activity_metrics import DURATION, DURATION_BUCKETS
from runtime.settings import Settings

DATA_CONVERTER = pydantic_data_converter


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """A client for the configured cluster; `lazy` defers dialing to the first call."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        lazy=lazy,
        runtime=runtime,
    )


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal SDK runtime exporting its metrics (workflow and activity task latencies, poll
    counts, slots) for Prometheus on the worker's metrics port; None when no port is set."""
    if settings.worker_metrics_port is None:
        return None
    address = f"{settings.worker_host}:{settings.worker_metrics_port}"
    prometheus = PrometheusConfig(
        bind_address=address,
        # The worker's own activity histogram is in seconds (runtime/activity_metrics.py).
        histogram_bucket_overrides={DURATION: list(DURATION_BUCKETS)},
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))
