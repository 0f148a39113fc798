"""Snapshot intake's cost to the API, against the running stack (start it with `make run`).

    .venv/bin/python -m bench.intake [--posts 600 --rounds 3 --concurrency 20]

Each round connects a fresh group to Principal and Unum (not timed), then POSTs `--posts` new
hires to it (carriers in `bench.snapshots`' rotation) and prints the API process's CPU time per
POST (user and system, from psutil) and the POST rate. The worker is paused (SIGSTOP) while the
POSTs run, so the fulfillment they start does not compete with the API for the CPU, and resumed
after (`--keep-worker` leaves it running): this measures the API alone, where `bench.snapshots`
measures the whole stack.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import statistics
import time
import uuid
from collections.abc import Iterator

import httpx
import psutil

from bench.snapshots import (
    CARRIER_ROTATION,
    SPOUSE_EVERY,
    BenchError,
    Employee,
    checked,
    connect_group,
    fresh_organization_token,
    gather_limited,
    stack_processes,
)


@contextlib.contextmanager
def paused(proc: psutil.Process | None) -> Iterator[None]:
    """The process stopped for the block (nothing when None); resumed whatever happens."""
    if proc is None:
        yield
        return
    proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGCONT)


async def one_round(
    api: httpx.AsyncClient, n: int, args: argparse.Namespace, worker: psutil.Process | None
) -> float:
    api_process = stack_processes().get("api")
    if api_process is None:
        raise BenchError("no API process found: start the stack with `make run`")
    group = await connect_group(api, n)
    employees = [
        Employee(
            group,
            i,
            f"intake-{uuid.uuid4().hex[:10]}",
            CARRIER_ROTATION[i % len(CARRIER_ROTATION)],
            i % SPOUSE_EVERY == 0,
            None,
        )
        for i in range(args.posts)
    ]
    bodies = [e.hire() for e in employees]
    path = f"/api/v1/groups/{group.id}/member_snapshots"

    async def post(body: dict[str, object]) -> None:
        await checked(api.post(path, json=body), "snapshot POST", 201)

    with paused(worker):
        before = api_process.cpu_times()
        start = time.perf_counter()
        await gather_limited(args.concurrency, post, bodies)
        elapsed = time.perf_counter() - start
        after = api_process.cpu_times()
    user = (after.user - before.user) * 1000 / args.posts
    system = (after.system - before.system) * 1000 / args.posts
    print(
        f"round {n + 1}: {args.posts} POSTs in {elapsed:.1f} s ({args.posts / elapsed:.0f}/s); "
        f"API CPU {user + system:.2f} ms per POST (user {user:.2f}, system {system:.2f})"
    )
    return user + system


async def run(args: argparse.Namespace) -> None:
    token = await fresh_organization_token()
    worker = None if args.keep_worker else stack_processes().get("worker")
    async with httpx.AsyncClient(
        base_url=args.api, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as api:
        costs = [await one_round(api, n, args, worker) for n in range(args.rounds)]
    print(f"API CPU per POST over {args.rounds} rounds: median {statistics.median(costs):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--keep-worker", action="store_true", help="leave the worker running during the POSTs"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
