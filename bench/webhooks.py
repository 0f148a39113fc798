"""Webhook benchmark against the running stack (start it with `make run`).

    .venv/bin/python -m bench.webhooks [--groups 100 --employees 50 --concurrency 100]

A receiver in this process (aiohttp, a free loopback port) verifies every signature and notes
when each event arrives; a fresh organization subscribes it to every event type.

Burst: the snapshots bench's load (`bench.snapshots`: setup connects the groups, then one snapshot
per employee posted at once). Every event the outbox recorded for the subscription must reach the
receiver: none lost. Latency runs from the commit of the change's transaction (PostgreSQL's commit
timestamp of the event's row; the dev stack's server keeps them) to its receipt; target p99 <= 5 s.
A server without commit timestamps gives the row's write time instead, and the bench says so.

Drain, in the same run: each of the burst's events owed once more at once (rows inserted due
now), measured alone: deliveries/s and the CPU per delivery of each process: the engine
worker, the webhook worker (which runs the deliveries, on their own task queue), Temporal,
PostgreSQL and the API. Floor: the same number of signed POSTs to the same receiver from a
plain asyncio loop (one aiohttp client, the subscription's concurrency), as a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from functools import partial

import aiohttp
import httpx
from aiohttp import web
from sqlalchemy import func, literal_column, select, text

from bench import snapshots as load
from domain import webhooks as rules
from runtime.settings import get_settings
from store.db import Database
from store.webhooks import WebhookDelivery, WebhookEvent

P99_TARGET = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """A platform's endpoint: verifies each POST, keeps the first receipt time per event."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secret = ""
        self.first_seen: dict[str, float] = {}
        self.received = 0
        self.unverified = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def hook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        ok = rules.verify(
            self.secret,
            request.headers.get(rules.SIGNATURE_HEADER, ""),
            request.headers.get(rules.TIMESTAMP_HEADER, ""),
            raw,
            now=datetime.now(UTC),
        )
        if not ok:
            self.unverified += 1
            return web.Response(status=401)
        self.received += 1
        event_id = json.loads(raw)["event"]["id"]
        self.first_seen.setdefault(event_id, time.time())
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def commit_times_kept(db: Database) -> bool:
    """Whether the server keeps commit timestamps (the dev stack's does)."""
    async with db.transaction() as session:
        return (
            await session.scalar(text("SELECT current_setting('track_commit_timestamp')")) == "on"
        )


async def owed(
    db: Database, subscription_id: uuid.UUID, *, from_commit: bool
) -> list[tuple[str, float, str]]:
    """Every event owed to the subscription, with when it was committed (`from_commit`; else
    when its row was written, earlier by the rest of its transaction), and its type. Event rows
    are only ever inserted, so a row's `xmin` is the transaction that recorded the change."""
    since = (
        func.coalesce(
            func.pg_xact_commit_timestamp(literal_column("webhook_events.xmin")),
            WebhookEvent.recorded_at,
        )
        if from_commit
        else WebhookEvent.recorded_at
    )
    async with db.transaction() as session:
        rows = await session.execute(
            select(WebhookEvent.id, since.label("since"), WebhookEvent.event_type)
            .join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .distinct()
        )
        return [(str(row.id), row.since.timestamp(), row.event_type) for row in rows]


async def pending(db: Database, subscription_id: uuid.UUID) -> int:
    async with db.transaction() as session:
        return int(
            await session.scalar(
                select(func.count()).where(
                    WebhookDelivery.subscription_id == subscription_id,
                    WebhookDelivery.status == "pending",
                )
            )
            or 0
        )


async def settle(db: Database, subscription_id: uuid.UUID, stall: float) -> None:
    """Until nothing is pending; give up after `stall` seconds without progress."""
    last, since = -1, time.monotonic()
    while (left := await pending(db, subscription_id)) > 0:
        if left != last:
            last, since = left, time.monotonic()
        elif time.monotonic() - since > stall:
            raise load.BenchError(f"{left} deliveries still pending after {stall:.0f} s idle")
        await asyncio.sleep(0.25)


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered):.3f} s  p99 {p99:.3f} s  max {ordered[-1]:.3f} s"
        f"  (n={len(ordered)})"
    )


async def drain(
    db: Database, subscription_id: uuid.UUID, receiver: Receiver, stall: float
) -> tuple[int, float, dict[str, float]]:
    """Each event owed once more, due now; deliveries/s and CPU seconds per service."""
    before = receiver.received
    sampler = load.Sampler(load.stack_processes())
    sampler.start()
    t0 = time.perf_counter()
    async with db.transaction() as session:
        # In SQL: tens of thousands of ids exceed what one statement may bind.
        await session.execute(
            text(
                "INSERT INTO webhook_deliveries "
                "(id, subscription_id, event_id, event_type, status, attempts, due_at, created) "
                "SELECT gen_random_uuid(), :subscription_id, e.id, e.event_type, 'pending', 0, "
                "clock_timestamp(), :now FROM webhook_events e WHERE e.id IN "
                "(SELECT event_id FROM webhook_deliveries WHERE subscription_id = :subscription_id)"
            ),
            {"subscription_id": subscription_id, "now": int(time.time())},
        )
    await settle(db, subscription_id, stall)
    elapsed = time.perf_counter() - t0
    await sampler.stop()
    return receiver.received - before, elapsed, sampler.cpu_used


async def floor(receiver: Receiver, count: int, concurrency: int) -> float:
    """`count` signed POSTs of a typical body to the receiver by a plain asyncio loop."""
    raw = rules.encode_body(
        rules.event_body(
            uuid.uuid4(),
            int(time.time()),
            "member_snapshot.status_change",
            rules.status_change(uuid.uuid4(), "processing", "completed"),
        )
    )
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            async with gate:
                timestamp = datetime.now(UTC).isoformat()
                headers = {
                    "Content-Type": "application/json",
                    rules.TIMESTAMP_HEADER: timestamp,
                    rules.SIGNATURE_HEADER: rules.signature_header(
                        [receiver.secret], timestamp, raw
                    ),
                }
                async with http.post(receiver.url, data=raw, headers=headers) as response:
                    assert response.status == 200

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return count / (time.perf_counter() - t0)


async def run(args: argparse.Namespace) -> None:
    db = Database(load.database_url(), pool_size=2)
    receiver = Receiver()
    await receiver.start()
    token = args.token or await load.fresh_organization_token()
    try:
        async with (
            httpx.AsyncClient(
                base_url=args.api,
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
                limits=httpx.Limits(max_connections=args.concurrency),
            ) as api,
            httpx.AsyncClient(base_url=args.sandbox, timeout=120) as sandbox,
        ):
            created = await api.post("/api/v1/webhook_subscriptions", json={"url": receiver.url})
            if created.status_code != 201:
                raise load.BenchError(f"subscribing the receiver: {created.text}")
            receiver.secret = created.json()["secret"]
            subscription_id = uuid.UUID(created.json()["id"])
            t = time.perf_counter()
            groups = await load.gather_limited(
                20, partial(load.connect_group, api), range(args.groups)
            )
            employees = load.roster(groups, args.employees, args.changes)
            print(f"setup: {len(groups)} groups connected in {time.perf_counter() - t:.1f} s")
            if not args.keep_audits:
                await load.pause_audits(args, groups)
            changes = [e for e in employees if e.change]
            if changes:
                await load.hire_in_setup(api, changes, args.concurrency, args.timeout)
            await load.measure(api, sandbox, employees, args)
            await settle(db, subscription_id, args.stall)

        from_commit = await commit_times_kept(db)
        recorded = await owed(db, subscription_id, from_commit=from_commit)
        lost = [event_id for event_id, _, _ in recorded if event_id not in receiver.first_seen]
        by_type: dict[str, list[float]] = {}
        for event_id, at, event_type in recorded:
            if event_id in receiver.first_seen:
                by_type.setdefault(event_type, []).append(receiver.first_seen[event_id] - at)
        latencies = [latency for values in by_type.values() for latency in values]
        window = max(receiver.first_seen.values(), default=0) - min(
            (at for _, at, _ in recorded), default=0
        )
        print(
            f"webhooks (burst): {len(recorded)} events recorded for the subscription, "
            f"{len(receiver.first_seen)} received ({receiver.received} POSTs, "
            f"{receiver.unverified} failed verification), lost {len(lost)}"
        )
        if from_commit:
            print(f"  change committed -> received: {percentiles(latencies)}")
        else:
            print(
                "  the server keeps no commit timestamps (track_commit_timestamp is off): "
                "measured from each event's row write, earlier than its commit"
            )
            print(f"  row written -> received: {percentiles(latencies)}")
        for event_type, values in sorted(by_type.items()):
            print(f"    {event_type}: {percentiles(values)}")
        if window > 0:
            print(f"  {len(receiver.first_seen) / window:.1f} events/s over {window:.1f} s")
        p99 = sorted(latencies)[int(len(latencies) * 0.99)] if latencies else float("inf")
        print(f"  target: none lost: {load.verdict(not lost and receiver.unverified == 0)}")
        print(f"  target: p99 <= {P99_TARGET:.0f} s: {load.verdict(p99 <= P99_TARGET)}")

        delivered, elapsed, cpu = await drain(db, subscription_id, receiver, args.stall)
        rate = delivered / elapsed if elapsed else 0.0
        print(f"drain: {delivered} deliveries in {elapsed:.2f} s: {rate:.1f} deliveries/s")
        per = "  ".join(
            f"{name} {1000 * seconds / max(delivered, 1):.2f} ms"
            for name, seconds in sorted(cpu.items())
            if name in (*load.ENGINE, "other")
        )
        print(f"  CPU per delivery: {per}")
        base = await floor(receiver, max(delivered, 1), get_settings().webhook_concurrency)
        print(
            f"floor: {max(delivered, 1)} signed POSTs by a plain asyncio loop: {base:.1f}/s; "
            f"engine / floor = {rate / base if base else 0:.2f}"
        )
    finally:
        await receiver.stop()
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--sandbox", default="http://127.0.0.1:8100")
    parser.add_argument("--token")
    parser.add_argument("--temporal", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--keep-audits", action="store_true")
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--employees", type=int, default=50, help="per group")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--changes", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--stall", type=float, default=120)
    args = parser.parse_args()
    try:
        asyncio.run(run(args))
    except (load.BenchError, httpx.HTTPError) as exc:
        print(f"bench.webhooks: {exc}", file=sys.stderr)
        sys.stdout.flush()
        os._exit(1)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)
