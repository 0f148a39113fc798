"""Prometheus metrics of the API: requests by route template (rate, errors, duration) and the
business gauges, computed from PostgreSQL when scraped."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.connections import WAITING, ConnectionStatus
from services.operations import BusinessFigures
from store.models import unix_now

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ApiMetrics:
    """One app's registry (tests build several apps in one process)."""

    content_type = CONTENT_TYPE

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "carrierlink_http_requests",
            "API requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "carrierlink_http_request_duration_seconds",
            "Time to answer an API request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.connections = Gauge(
            "carrierlink_connections",
            "Group connections by status.",
            ["status"],
            registry=self.registry,
        )
        self.oldest_waiting = Gauge(
            "carrierlink_connection_oldest_waiting_seconds",
            "Age of the oldest connection in each waiting status (0: none waits).",
            ["status"],
            registry=self.registry,
        )
        self.reviews = Gauge(
            "carrierlink_disconnection_reviews_open",
            "Disconnection requests waiting for an operator (needs_review).",
            registry=self.registry,
        )
        self.oldest_review = Gauge(
            "carrierlink_disconnection_review_oldest_seconds",
            "Age of the oldest disconnection request in needs_review (0: none).",
            registry=self.registry,
        )
        self.transactions = Gauge(
            "carrierlink_member_transactions",
            "Member transactions by status and current status detail.",
            ["status", "status_detail"],
            registry=self.registry,
        )
        self.differences = Gauge(
            "carrierlink_differences_open",
            "Open differences between the platform and the carriers.",
            registry=self.registry,
        )
        self.discrepancies = Gauge(
            "carrierlink_discrepancies_open",
            "Open differences that are discrepancies.",
            registry=self.registry,
        )
        self.overdue = Gauge(
            "carrierlink_overdue",
            "Records in a waiting status longer than its limit (settings overdue_*), by kind "
            "(connection, disconnection) and status.",
            ["kind", "status"],
            registry=self.registry,
        )

        self.webhook_deliveries = Gauge(
            "carrierlink_webhook_deliveries",
            "Webhook deliveries owed (pending) or out of attempts (failed), by status.",
            ["status"],
            registry=self.registry,
        )
        self.webhook_lag = Gauge(
            "carrierlink_webhook_delivery_lag_seconds",
            "Age of the oldest pending webhook delivery (0: none pending).",
            registry=self.registry,
        )

    def render(self, figures: BusinessFigures) -> bytes:
        """The exposition text, with the gauges set from this scrape's figures."""
        now = unix_now()
        counts = {status.value: 0 for status in ConnectionStatus}
        oldest = {status.value: 0 for status in WAITING}
        for row in figures.connections:
            counts[row.status] = row.count
            if row.status in oldest and row.oldest is not None:
                oldest[row.status] = max(0, now - row.oldest)
        for status, count in counts.items():
            self.connections.labels(status).set(count)
        for status, age in oldest.items():
            self.oldest_waiting.labels(status).set(age)
        reviews = figures.disconnection_reviews
        self.reviews.set(reviews.count)
        self.oldest_review.set(max(0, now - reviews.oldest) if reviews.oldest else 0)
        self.transactions.clear()  # a status detail nobody is in any more disappears
        for status, detail, count in figures.transactions:
            self.transactions.labels(status, detail).set(count)
        self.differences.set(figures.open_differences)
        self.discrepancies.set(figures.open_discrepancies)
        for (kind, status), count in figures.overdue.items():
            self.overdue.labels(kind.value, status).set(count)
        pending, failed, oldest_pending = figures.webhooks
        self.webhook_deliveries.labels("pending").set(pending)
        self.webhook_deliveries.labels("failed").set(failed)
        self.webhook_lag.set(max(0, now - oldest_pending) if oldest_pending else 0)
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware counting and timing every request by its route's template (`/api/v1/
    group_connections/{connection_id}`), never the raw path: ids would make a series each."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - started)


def _template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
