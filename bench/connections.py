"""Connection lifecycle benchmark against the running stack (start it with `make run`).

    .venv/bin/python -m bench.connections [--rate 5 --seconds 30 --burst 300]

Latency: requests arrive at `--rate` per second for `--seconds`; each is timed from its POST to
the first status it settles in (terminal or waiting), read from the API's list endpoint.
Burst: `--burst` plain IDs posted at once; throughput in connections completed per second, and
in the same run the floor: as many trivial workflows, each running the same number of
activities (5) as a completed connection, on the same Temporal server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from bench.snapshots import fresh_organization_token

PRINCIPAL = "d0003042-eaae-4491-b219-4825456a3d16"
UNUM = "23054cd9-0a41-43e3-bd43-2d2138006536"
SETTLED = {
    "completed",
    "unable_to_connect",
    "noyo_review",
    "waiting_on_carrier",
    "action_required",
    "carrier_authorization",
}
# A completed connection runs: status processing, lookup, register, pull, status completed.
ACTIVITIES_PER_CONNECTION = 5


# (carrier, ID prefix, width): plain prefixes complete, the others are sandbox test IDs.
MIX = [
    (PRINCIPAL, "2", 7),
    (UNUM, "4", 8),
    (PRINCIPAL, "1767", 7),
    (PRINCIPAL, "1545", 7),
    (UNUM, "212", 8),
    (UNUM, "323", 8),
    (PRINCIPAL, "1989", 7),
]
_SEQUENCE = itertools.count(random.randrange(10**6))


def request_body(kind: int) -> dict[str, object]:
    """Each kind of the mix in turn; IDs run in sequence so no two in a run collide."""
    carrier, prefix, width = MIX[kind % len(MIX)]
    suffix = str(next(_SEQUENCE) % 10 ** (width - len(prefix)))
    carrier_group_id = prefix + suffix.zfill(width - len(prefix))
    data: dict[str, object] = {"carrier_group_id": carrier_group_id, "group_name": "Bench Co"}
    if carrier == PRINCIPAL:
        data["broker_federal_ein"] = "123456789"
    return {"carrier_id": carrier, "group_data": data}


@dataclass
class Tracker:
    """First time each connection was seen in a settled status, from one list poll."""

    expected: int
    posted: dict[str, float] = field(default_factory=dict)
    settled: dict[str, tuple[float, str]] = field(default_factory=dict)
    all_settled: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self, within: float) -> None:
        try:
            await asyncio.wait_for(self.all_settled.wait(), within)
        except TimeoutError:
            print(f"  gave up waiting: {len(self.settled)}/{self.expected} settled")

    async def poll(self, api: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = time.perf_counter()
            offset = 0
            while True:
                page = (
                    await api.get(
                        "/api/v1/group_connections",
                        params={"page_size": 1000, "offset": offset, "sort_by": "created"},
                    )
                ).json()
                for c in page["response"]:
                    fresh = c["id"] in self.posted and c["id"] not in self.settled
                    if fresh and c["status"] in SETTLED:
                        self.settled[c["id"]] = (now, c["status"])
                offset += 1000
                # Newest first: everything this run posted sits on the first page or two.
                if offset >= min(page["meta"]["total_records"], 2000):
                    break
            if len(self.settled) >= self.expected:
                self.all_settled.set()
            await asyncio.sleep(0.05)


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49]:.3f} s  p90 {q[89]:.3f} s  p99 {q[98]:.3f} s  max {max(values):.3f} s"


async def latency(api: httpx.AsyncClient, rate: float, seconds: float) -> None:
    total = int(rate * seconds)
    tracker = Tracker(expected=total)
    stop = asyncio.Event()
    poller = asyncio.create_task(tracker.poll(api, stop))
    start = time.perf_counter()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        t0 = time.perf_counter()
        response = await api.post("/api/v1/group_connections", json=request_body(i))
        response.raise_for_status()
        tracker.posted[response.json()["id"]] = t0

    await asyncio.gather(*(one(i) for i in range(total)))
    await tracker.wait(60)
    stop.set()
    await poller
    times = [tracker.settled[i][0] - t0 for i, t0 in tracker.posted.items() if i in tracker.settled]
    by_status: dict[str, int] = {}
    for _, status in tracker.settled.values():
        by_status[status] = by_status.get(status, 0) + 1
    print(f"latency: {total} requests at {rate}/s over {seconds:.0f} s")
    print(f"  settled {len(times)}/{total}: {by_status}")
    print(f"  POST -> settled status: {percentiles(times)}")


async def burst(api: httpx.AsyncClient, n: int) -> float:
    tracker = Tracker(expected=n)
    stop = asyncio.Event()
    start = time.perf_counter()
    limits = asyncio.Semaphore(100)

    async def one() -> None:
        async with limits:
            body = request_body(0 if random.random() < 0.5 else 1)
            response = await api.post("/api/v1/group_connections", json=body)
            response.raise_for_status()
            tracker.posted[response.json()["id"]] = time.perf_counter()

    poller = asyncio.create_task(tracker.poll(api, stop))
    await asyncio.gather(*(one() for _ in range(n)))
    posted = time.perf_counter() - start
    await tracker.wait(300)
    stop.set()
    await poller
    elapsed = max(t for t, _ in tracker.settled.values()) - start
    completed = sum(1 for _, s in tracker.settled.values() if s == "completed")
    print(f"burst: {n} requests posted in {posted:.2f} s")
    print(f"  {completed} completed in {elapsed:.2f} s: {completed / elapsed:.1f} connections/s")
    return completed / elapsed


@activity.defn(name="bench_noop")
async def noop(value: int) -> int:
    return value


@workflow.defn(name="BenchFloor", sandboxed=False)
class FloorWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for i in range(steps):
            await workflow.execute_activity(
                "bench_noop", i, start_to_close_timeout=timedelta(seconds=30)
            )
        return steps


async def floor(temporal_address: str, namespace: str, n: int) -> float:
    client = await Client.connect(temporal_address, namespace=namespace)
    queue = f"bench-floor-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[FloorWorkflow],
        activities=[noop],
        max_concurrent_activities=200,
    ):
        start = time.perf_counter()
        handles = await asyncio.gather(
            *(
                client.start_workflow(
                    FloorWorkflow.run,
                    ACTIVITIES_PER_CONNECTION,
                    id=f"{queue}-{i}",
                    task_queue=queue,
                )
                for i in range(n)
            )
        )
        await asyncio.gather(*(h.result() for h in handles))
        elapsed = time.perf_counter() - start
    print(
        f"floor: {n} trivial workflows x {ACTIVITIES_PER_CONNECTION} activities in "
        f"{elapsed:.2f} s: {n / elapsed:.1f} workflows/s"
    )
    return n / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--token", help="an API token; by default a fresh organization is made for the run"
    )
    parser.add_argument("--temporal", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--rate", type=float, default=5)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--burst", type=int, default=300)
    args = parser.parse_args()
    token = args.token or await fresh_organization_token()
    async with httpx.AsyncClient(
        base_url=args.api,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        limits=httpx.Limits(max_connections=100),
    ) as api:
        await latency(api, args.rate, args.seconds)
        ours = await burst(api, args.burst)
    base = await floor(args.temporal, args.namespace, args.burst)
    print(f"burst / floor: {ours / base:.2f} (target >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    # WorkflowEnvironment-free, but the SDK's runtime can still trip at interpreter exit.
    os._exit(0)
