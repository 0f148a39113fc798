"""Webhook delivery: claim due deliveries, POST them signed, record every attempt.

One call is one turn of a subscription's loop (`workflows.webhooks`). It claims due deliveries
in batches (leased, `FOR UPDATE SKIP LOCKED`), POSTs a batch concurrently through the worker's
one HTTP client (redirects not followed; a 2xx within the timeout acknowledges), records the
attempts and the subscription's health in one transaction, and polls the table while nothing
is due. Logs name ids and counts; bodies hold ids and statuses only.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
from temporalio import activity

from activities.heartbeat import heartbeats
from domain import webhooks as rules
from domain.webhooks import DeliveryTurn, TurnResult
from runtime.settings import Settings
from store import webhooks as store
from store.db import Database

log = logging.getLogger("carrierlink.webhooks")

# How long past its timeout a claimed attempt stays leased: long enough to record the answer;
# only a worker that died holds one longer, and its deliveries are then due again. (One turn
# runs per subscription at a time, so nothing else claims them meanwhile.)
LEASE_SLACK = timedelta(seconds=5)
ROUNDS_PER_BATCH = 4
# How long a subscription must stay missing before its loop ends: longer than the transaction
# that creates it takes to commit after starting the loop.
GONE_AFTER = timedelta(seconds=30)


class WebhookActivities:
    def __init__(self, database: Database, settings: Settings) -> None:
        self._db = database
        self._settings = settings
        self._retry = store.RetryRules(
            max_attempts=settings.webhook_max_attempts,
            retry_first=settings.webhook_retry_first,
            retry_factor=settings.webhook_retry_factor,
            unhealthy_after=settings.webhook_unhealthy_after,
            failed_after=settings.webhook_failed_after,
        )
        self._timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds)
        # A batch is a few rounds of `webhook_concurrency` POSTs: fewer, larger claims and
        # records per delivery, and a slow receiver's POST does not hold up the others.
        self._batch = settings.webhook_concurrency * ROUNDS_PER_BATCH
        self._lease = (
            timedelta(seconds=settings.webhook_timeout_seconds) * ROUNDS_PER_BATCH + LEASE_SLACK
        )
        # One client per worker, made on first use (it needs the running loop).
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=100),
                headers={"User-Agent": "carrierlink-webhooks"},
            )
        return self._http

    @activity.defn(name="deliver_due_webhooks")
    @heartbeats
    async def deliver_due(self, turn: DeliveryTurn) -> TurnResult:
        """Deliver what falls due until `turn.until`; say so when the subscription is gone."""
        result = TurnResult()
        # Per subscription: a receiver that times out holds up only its own deliveries.
        in_flight = asyncio.Semaphore(self._settings.webhook_concurrency)
        missing_since: float | None = None
        poll = self._settings.webhook_poll_interval.total_seconds()
        while datetime.now(UTC) < turn.until:
            now = datetime.now(UTC)
            async with self._db.transaction() as session:
                target = await store.delivery_target(session, turn.subscription_id)
                if target is None:
                    # Deleted, or not committed yet: the loop starts inside the transaction
                    # that creates the subscription. Gone only once it has stayed missing.
                    missing_since = missing_since or time.monotonic()
                    if time.monotonic() - missing_since >= GONE_AFTER.total_seconds():
                        return TurnResult(
                            delivered=result.delivered, failed=result.failed, gone=True
                        )
                else:
                    missing_since = None
                due = (
                    []
                    if target is None or target.paused
                    else await store.claim_due(
                        session, turn.subscription_id, now=now, limit=self._batch, lease=self._lease
                    )
                )
            if target is None or not due:
                await asyncio.sleep(poll)
                continue
            attempts = await asyncio.gather(*(self._post(target, item, in_flight) for item in due))
            async with self._db.transaction() as session:
                await store.record_attempts(
                    session,
                    turn.subscription_id,
                    attempts,
                    now=datetime.now(UTC),
                    retry=self._retry,
                )
            acknowledged = sum(1 for a in attempts if a.acknowledged)
            result.delivered += acknowledged
            result.failed += len(attempts) - acknowledged
            if acknowledged < len(attempts):
                log.info(
                    "subscription %s: %d of %d attempt(s) failed",
                    turn.subscription_id,
                    len(attempts) - acknowledged,
                    len(attempts),
                )
        return result

    async def _post(
        self, target: store.Target, item: store.DueDelivery, in_flight: asyncio.Semaphore
    ) -> store.AttemptResult:
        raw = rules.encode_body(item.body)
        # Signed when it leaves, not when queued: the timestamp is fresh at the receiver.
        async with in_flight:
            return await self._attempt(target, item, raw)

    async def _attempt(
        self, target: store.Target, item: store.DueDelivery, raw: bytes
    ) -> store.AttemptResult:
        attempted = datetime.now(UTC)
        timestamp = attempted.isoformat()
        headers = {
            "Content-Type": "application/json",
            rules.TIMESTAMP_HEADER: timestamp,
            rules.SIGNATURE_HEADER: rules.signature_header(target.secrets, timestamp, raw),
            rules.TRACE_HEADER: f"{item.id.hex}/{_span(item.id)};o=1",
        }
        started = time.monotonic()
        code: int | None = None
        error: str | None = None
        try:
            async with self._client().post(
                target.url,
                data=raw,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout,
            ) as response:
                code = response.status
        except TimeoutError:
            error = "timeout"
        except aiohttp.ClientConnectorError:
            error = "connection refused"
        except aiohttp.ClientError as exc:
            error = type(exc).__name__
        return store.AttemptResult(
            delivery_id=item.id,
            attempts=item.attempts + 1,
            attempted=attempted,
            response_code=code,
            latency_ms=int((time.monotonic() - started) * 1000),
            error=error,
        )


def _span(delivery_id: uuid.UUID) -> int:
    return delivery_id.int & 0x7FFF_FFFF_FFFF_FFFF
