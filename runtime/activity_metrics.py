"""The worker's own activity metrics, by activity name: executions and their duration by outcome,
failures by error type; exported through the Temporal SDK's meter on the worker's metrics port."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

# The series (the SDK's activity meter adds activity_type, namespace and task_queue labels).
EXECUTIONS = "carrierlink_activity_executions"
FAILURES = "carrierlink_activity_failures"
DURATION = "carrierlink_activity_duration_seconds"
# Seconds: from a store write (milliseconds) to an account pull or a batch (a minute and more).
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
NAMES = (EXECUTIONS, FAILURES, DURATION)


class ActivityMetrics(Interceptor):
    """Counts and times every activity attempt the worker runs (an entry of its interceptors)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Measured(next)


class _Measured(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        started = time.monotonic()
        outcome = "completed"
        try:
            return await super().execute_activity(input)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except BaseException as error:
            outcome = "failed"
            _failed(error)
            raise
        finally:
            _measured(outcome, time.monotonic() - started)


def error_type(error: BaseException) -> str:
    """A failure's label: an application error's own type (`CarrierRejected`), else its class
    (a handful of values, never a message: one series each)."""
    named = getattr(error, "type", None)
    return named if isinstance(named, str) and named else type(error).__name__


def _failed(error: BaseException) -> None:
    meter = activity.metric_meter()
    failures = meter.create_counter(FAILURES, "Activity attempts that failed, by error type.")
    failures.add(1, {"error": error_type(error)})


def _measured(outcome: str, seconds: float) -> None:
    meter = activity.metric_meter()
    meter.create_counter(
        EXECUTIONS, "Activity attempts run, by outcome (completed, failed, cancelled)."
    ).add(1, {"outcome": outcome})
    meter.create_histogram_float(DURATION, "Time an activity attempt ran, by outcome.", "s").record(
        seconds, {"outcome": outcome}
    )
