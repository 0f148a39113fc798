"""What operators ask of a running API: is it ready (PostgreSQL, Temporal, schema), and the
business figures `/metrics` exposes (read from PostgreSQL at scrape time)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import lru_cache

from temporalio.client import Client

from domain.overdue import OverdueKind, OverdueLimits
from store import operations
from store.db import Database
from store.migrate import current_head
from store.models import GroupConnection, GroupDisconnectionRequest, unix_now
from store.operations import StatusCount
from store.overdue import WaitingRecord, overdue_by_status

# A readiness probe answers within its own timeout even when a dependency hangs.
CHECK_TIMEOUT_SECONDS = 3.0


@lru_cache(maxsize=1)
def _script_head() -> str:
    return current_head()


async def readiness(db: Database, temporal: Client) -> dict[str, str]:
    """Each dependency's check: "ok", or what is wrong (never raises)."""
    timeout = CHECK_TIMEOUT_SECONDS
    checks: dict[str, str] = {}
    try:
        revision = await asyncio.wait_for(_revision(db), timeout)
    except Exception as err:
        checks["postgresql"] = f"unreachable: {type(err).__name__}"
        checks["migrations"] = "unknown: PostgreSQL is unreachable"
    else:
        checks["postgresql"] = "ok"
        head = _script_head()
        checks["migrations"] = (
            "ok" if revision == head else f"database at {revision or 'nothing'}, code at {head}"
        )
    try:
        healthy = await asyncio.wait_for(temporal.service_client.check_health(), timeout)
    except Exception as err:
        checks["temporal"] = f"unreachable: {type(err).__name__}"
    else:
        checks["temporal"] = "ok" if healthy else "not serving"
    return checks


async def _revision(db: Database) -> str | None:
    async with db.transaction() as session:
        return await operations.migration_revision(session)


@dataclass(frozen=True)
class BusinessFigures:
    """The gauges of one scrape."""

    connections: list[StatusCount]
    disconnection_reviews: StatusCount
    transactions: list[tuple[str, str, int]]
    open_differences: int
    open_discrepancies: int
    # (kind, status) -> records past that status's time limit; every limited status is named.
    overdue: dict[tuple[OverdueKind, str], int] = field(default_factory=dict)
    # Webhook deliveries: pending, failed (out of attempts), the oldest pending's creation.
    webhooks: tuple[int, int, int | None] = (0, 0, None)


async def business_figures(db: Database, *, limits: OverdueLimits | None = None) -> BusinessFigures:
    """Aggregates over the whole store (every organization): a handful of indexed counts
    (overdue ones only when `limits` are given)."""
    now = unix_now()
    overdue: dict[tuple[OverdueKind, str], int] = {}
    async with db.transaction() as session:
        connections = await operations.connections_by_status(session)
        reviews = await operations.open_disconnection_reviews(session)
        transactions = await operations.transactions_by_status_detail(session)
        differences, discrepancies = await operations.open_differences(session)
        webhooks = await operations.webhook_deliveries(session)
        if limits is not None:
            for kind, model in _WAITING_RECORDS.items():
                cutoffs = limits.of_kind(kind).cutoffs(now=now)
                counts = await overdue_by_status(session, model, cutoffs)
                overdue.update({(kind, status): count for status, count in counts.items()})
    return BusinessFigures(
        connections, reviews, transactions, differences, discrepancies, overdue, webhooks
    )


_WAITING_RECORDS: dict[OverdueKind, WaitingRecord] = {
    OverdueKind.CONNECTION: GroupConnection,
    OverdueKind.DISCONNECTION: GroupDisconnectionRequest,
}
