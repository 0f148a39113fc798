"""Member snapshot benchmark against the running stack (start it with `make run`).

    .venv/bin/python -m bench.snapshots [--snapshots 5000 --employees 50 --concurrency 100]

The documented run is the default, 5,000 snapshots (100 groups of 50, about 6,600 carrier
transactions); `--snapshots 1000` is a quick one (20 groups).

Setup (not timed): `--groups` groups, each connected to Principal and to Unum, and a valid
choice per plan (`tools.sample_snapshots`). The mix, by an employee's index in the group:
carriers rotate Principal only, Unum only, both; every 4th new hire brings a spouse; every 5th
employee (`--changes 0.2`) is hired during setup, and its measured snapshot is a change instead:
in turn a demographic change (the employee moves) and a qualifying life event (marriage: the
spouse joins every coverage).

Measured: one snapshot per employee (`--groups` x `--employees`) posted at once, at most
`--concurrency` in flight (a client-side semaphore). A snapshot's latency runs from the start of
its POST to the last of its transactions the carrier accepted (the sandbox's `received_at`).
Throughput is over the window from the first POST to the last acceptance. Lost: snapshots with
a transaction the carrier never received within `--timeout`; doubled: the sandbox's `doubled`
counter and any engine transaction the carrier received more than once. The RSS of the workers
(the engine's and the webhook deliveries') and the API is sampled every 0.25 s; the CPU time of
every service (and of whatever else ran on the machine: "other") is printed too.

`make run` audits each connected group every 2 minutes (production: daily); the run pauses the
audit schedules of its own groups after setup, so 200 connections do not add about 1.7 audits/s
to the measured phase and keep running afterwards (`--keep-audits` leaves them running).

Floor, in the same run: the same carrier writes (the members the engine sent, under a fresh
employee id, transaction id and Idempotency-Key) made straight to the sandbox by a plain asyncio
loop with the same concurrency, through the engine's own carrier client.

Headline (issue 23): the engine's own CPU per carrier transaction, the CPU-ms that the API, the
workers, Temporal and PostgreSQL (the postmaster and every backend, ended ones included) spent in
the measured phase over the transactions the carrier received, against the floor's CPU-ms per
write (its client and the sandbox, over the floor phase); the target is a ratio of at most 2.
CPU time is far less sensitive than throughput to whatever else runs on the machine, so it is
the figure to compare runs by; the load average is printed beside every phase.

Guarantee floor, last (`--no-guarantee-floor` skips it): the measured phase's snapshots again,
under fresh employee ids, through `bench.guarantee_floor`, the least pipeline that keeps the
engine's guarantees, in its own process on the same PostgreSQL, Temporal and sandbox. Its CPU-ms
per transaction (that process, Temporal, PostgreSQL) against the floor's is what the guarantees
alone cost; the engine's figure against it is what the engine adds. Both phases print
PostgreSQL's work per transaction beside it: statements run, and bytes of write-ahead log
written (every row and index entry written, and each commit).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import httpx
import psutil
from sqlalchemy import text
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from bench import guarantee_floor
from carriers import CARRIERS, CarrierRejected, CarrierUnavailable, carrier_adapters
from domain.members import CarrierMember
from runtime.settings import get_settings
from services.audits import schedule_id
from store.db import DATABASE_ERRORS, Database
from tools.admin import issue_token, with_database
from tools.sample_snapshots import PlanChoice, new_hire, person, pick, plan_choices
from workflows import confirmation as confirmation_workflow
from workflows import fulfillment as fulfillment_workflow

Json = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")
PRINCIPAL = "d0003042-eaae-4491-b219-4825456a3d16"
UNUM = "23054cd9-0a41-43e3-bd43-2d2138006536"
NAME = {PRINCIPAL: "Principal", UNUM: "Unum"}
# By employee index: Principal only, Unum only, both.
CARRIER_ROTATION = [(PRINCIPAL,), (UNUM,), (PRINCIPAL, UNUM)]
SPOUSE_EVERY = 4
CONNECTION_TIMEOUT = 120.0
SAMPLE_INTERVAL = 0.25
P90_TARGET = 60.0  # the snapshot issue's bound
P90_GOAL = 10.0  # issue 23's goal for the same figure
FLOOR_TARGET = 1 / 3
CPU_RATIO_TARGET = 2.0
# Whose CPU is the engine's: the sandbox (the carriers) and the bench client are not. The
# webhook worker (`make run`'s process for the deliveries' own task queue) is the engine's too,
# shown on its own; the names are the run record's (`{data_dir}/devstack.json`).
ENGINE = ("api", "worker", "webhook-worker", "temporal", "postgres")
# The floor's: its client (this process) and the carrier; "other" is the rest of the machine.
NAMES = ("bench", "sandbox", "other")
# Plain IDs (no sandbox test prefix), in sequence so no two in a run collide.
_SEQUENCE = itertools.count(random.randrange(10**6))


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def principal_id() -> str:
    return "2" + str(next(_SEQUENCE) % 10**6).zfill(6)


def unum_id() -> str:
    return "4" + str(next(_SEQUENCE) % 10**7).zfill(7)


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    if len(values) < 2:
        return f"{values[0]:.3f} s"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49]:.3f} s  p90 {q[89]:.3f} s  p99 {q[98]:.3f} s  max {max(values):.3f} s"


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("inf")
    return statistics.quantiles(values, n=100, method="inclusive")[89]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def load() -> str:
    """The machine's load averages (1, 5, 15 min): other work skews every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def per_unit_ms(seconds: float, count: int) -> float:
    return 1000 * seconds / count if count else float("nan")


async def checked(response: Awaitable[httpx.Response], what: str, *ok: int) -> Json:
    answer = await response
    if answer.status_code not in (ok or (200,)):
        raise BenchError(f"{what}: HTTP {answer.status_code}: {answer.text[:300]}")
    body: Json = answer.json()
    return body


async def gather_limited(
    limit: int, job: Callable[[T], Awaitable[R]], items: Iterable[T]
) -> list[R]:
    """`job(item)` for every item, at most `limit` at a time, in order."""
    semaphore = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with semaphore:
            return await job(item)

    return await asyncio.gather(*(one(item) for item in items))


# --- setup ---------------------------------------------------------------------------------------


@dataclass
class Group:
    id: str
    choices: list[PlanChoice]
    carrier_group_ids: dict[str, str]  # carrier id -> the group's ID at that carrier

    def coverages(self, carrier_id: str) -> list[PlanChoice]:
        """A dental-or-vision plan, plus Principal life (volume rules apply); any plan else."""
        if carrier_id == PRINCIPAL:
            chosen = pick(self.choices, PRINCIPAL, "dental", "vision")[:1] + pick(
                self.choices, PRINCIPAL, "life"
            )
        else:
            chosen = pick(self.choices, UNUM, "dental", "vision", "std", "ltd", "add")[:1]
        chosen = chosen or [c for c in self.choices if c.carrier_id == carrier_id][:1]
        if not chosen:
            raise BenchError(f"group {self.id} has no active {NAME[carrier_id]} plan")
        return chosen


@dataclass
class Employee:
    group: Group
    index: int
    custom_id: str
    carriers: tuple[str, ...]
    spouse: bool
    change: str | None  # None: a new hire; "demographic" or "qle": a member hired in setup
    employee_id: str | None = None

    @property
    def kind(self) -> str:
        return self.change or "new_hire"

    def hire(self) -> Json:
        coverages = [c for carrier in self.carriers for c in self.group.coverages(carrier)]
        return new_hire(
            self.custom_id,
            coverages,
            employee=person("Sample", f"Member{self.custom_id}", born="1980-01-01", sex="M"),
            dependents=[self.spouse_entry()] if self.spouse else [],
        )

    def spouse_entry(self) -> Json:
        return {
            "custom_individual_id": f"{self.custom_id}-spouse",
            "relationship": "spouse",
            "person": person("Sample", f"Spouse{self.custom_id}", born="1982-06-15"),
        }

    def measured(self) -> Json:
        """The snapshot the measured phase posts."""
        body = self.hire()
        if self.change is None:
            return body
        assert self.employee_id is not None, "a change needs the member hired in setup"
        body["employee"]["id"] = self.employee_id
        if self.change == "demographic":
            body["employee"]["person"]["home_address"]["street_one"] = "2 Elm St"
            body["events"].append(
                {
                    "id": "moved",
                    "date": "2026-03-01",
                    "type": "demographic",
                    "reason": "demographic_change",
                }
            )
            body["employee"]["event_id"] = "moved"
            return body
        # A marriage: the spouse joins every coverage from the first of the next month.
        spouse = self.spouse_entry()
        spouse["event_id"] = "marriage"
        body["dependents"] = [spouse]
        body["events"].append(
            {"id": "marriage", "date": "2026-03-10", "type": "coverage", "reason": "marriage"}
        )
        for coverage in body["coverages"]:
            enrolled = copy.deepcopy(coverage["enrolled_members"][0])
            enrolled.update(
                individual_type="dependent",
                custom_individual_id=spouse["custom_individual_id"],
                effective_start_date="2026-04-01",
                event_id="marriage",
            )
            if "volume" in enrolled:
                enrolled["volume"] = 10000
            coverage["enrolled_members"].append(enrolled)
        return body


async def wait_completed(api: httpx.AsyncClient, connection_id: str, what: str) -> None:
    deadline = time.monotonic() + CONNECTION_TIMEOUT
    status = "?"
    while time.monotonic() < deadline:
        status = (await checked(api.get(f"/api/v1/group_connections/{connection_id}"), what))[
            "status"
        ]
        if status == "completed":
            return
        if status in ("unable_to_connect", "action_required", "noyo_review"):
            raise BenchError(f"{what} ended {status} (connection {connection_id})")
        await asyncio.sleep(0.5)
    raise BenchError(f"{what} not completed within {CONNECTION_TIMEOUT:.0f} s (last {status})")


async def connect_group(api: httpx.AsyncClient, n: int) -> Group:
    principal = principal_id()
    created = await checked(
        api.post(
            "/api/v1/group_connections",
            json={
                "carrier_id": PRINCIPAL,
                "group_data": {
                    "carrier_group_id": principal,
                    "group_name": f"Snapshot Bench {n}",
                    "broker_federal_ein": "123456789",
                },
                "federal_ein": "987654321",
            },
        ),
        f"connecting group {n} to Principal",
        201,
    )
    group_id = created["group_id"]
    await wait_completed(api, created["id"], f"group {n} at Principal ({principal})")
    unum = unum_id()
    created = await checked(
        api.post(
            f"/api/v1/groups/{group_id}/group_connections",
            json={"carrier_id": UNUM, "group_data": {"carrier_group_id": unum}},
        ),
        f"connecting group {n} to Unum",
        201,
    )
    await wait_completed(api, created["id"], f"group {n} at Unum ({unum})")
    return Group(
        id=group_id,
        choices=await plan_choices(api, group_id),
        carrier_group_ids={PRINCIPAL: principal, UNUM: unum},
    )


def roster(groups: list[Group], employees: int, changes: float) -> list[Employee]:
    change_every = round(1 / changes) if changes > 0 else 0
    out: list[Employee] = []
    for group in groups:
        changed = 0
        for i in range(employees):
            is_change = change_every > 0 and i % change_every == change_every - 1
            change = None
            if is_change:
                change = "demographic" if changed % 2 == 0 else "qle"
                changed += 1
            out.append(
                Employee(
                    group=group,
                    index=i,
                    custom_id=f"bench-{uuid.uuid4().hex[:12]}",
                    carriers=CARRIER_ROTATION[i % len(CARRIER_ROTATION)],
                    # A marriage adds the spouse; those are hired single.
                    spouse=i % SPOUSE_EVERY == SPOUSE_EVERY - 1 and change != "qle",
                    change=change,
                )
            )
    return out


async def hire_in_setup(
    api: httpx.AsyncClient, employees: list[Employee], concurrency: int, within: float
) -> None:
    """Hire the members whose measured snapshot is a change, and wait until they completed."""

    async def post(employee: Employee) -> str:
        body = await checked(
            api.post(f"/api/v1/groups/{employee.group.id}/member_snapshots", json=employee.hire()),
            "posting a setup snapshot",
            201,
        )
        employee.employee_id = body["employee_id"]
        return str(body["id"])

    async def read(ids: list[str]) -> Json:
        return await checked(
            api.get(
                "/api/v1/member_snapshots", params={"id": ",".join(ids), "page_size": len(ids)}
            ),
            "reading setup snapshots",
        )

    ids = await gather_limited(concurrency, post, employees)
    deadline = time.monotonic() + within
    pending = set(ids)
    while pending:
        if time.monotonic() > deadline:
            raise BenchError(f"{len(pending)} setup snapshots not completed within {within:.0f} s")
        await asyncio.sleep(1)
        done = await gather_limited(20, read, chunks(sorted(pending), 100))
        for page in done:
            for snapshot in page["response"]:
                if snapshot["status"] == "completed":
                    pending.discard(snapshot["id"])
                elif snapshot["status"] != "processing" and snapshot["status"] != "submitted":
                    raise BenchError(
                        f"setup snapshot {snapshot['id']} ended {snapshot['status']}: "
                        f"{snapshot.get('fulfillment_summary')}"
                    )


async def pause_audits(args: argparse.Namespace, groups: list[Group]) -> int:
    """Pause the audit schedules of the run's groups; how many were paused.

    `make run` audits every connected group every 2 minutes (production: daily), which would
    add about 1.7 audits/s for 200 connections to the measured phase and keep running after
    it. `--keep-audits` leaves them alone.
    """
    client = await Client.connect(args.temporal, namespace=args.namespace)
    ids = [
        schedule_id(uuid.UUID(carrier), carrier_group_id, uuid.UUID(group.id))
        for group in groups
        for carrier, carrier_group_id in group.carrier_group_ids.items()
    ]

    async def pause(schedule: str) -> bool:
        # The run creates its schedule right after the connection completes.
        for _ in range(20):
            try:
                await client.get_schedule_handle(schedule).pause(note="paused by bench.snapshots")
                return True
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                await asyncio.sleep(0.5)
        return False

    return sum(await gather_limited(20, pause, ids))


def chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- processes -----------------------------------------------------------------------------------


def stack_processes() -> dict[str, psutil.Process]:
    """The dev stack's services, from the run record `make run` keeps (pid and start time), and
    PostgreSQL's postmaster; falls back to the API's listening port."""
    settings = get_settings()
    found: dict[str, psutil.Process] = {}
    record_path = settings.data_dir / "devstack.json"
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        record = {}
    for entry in record.get("children", []):
        try:
            proc = psutil.Process(int(entry["pid"]))
            if abs(proc.create_time() - float(entry["create_time"])) < 0.5:
                found[entry["name"]] = proc
        except (psutil.Error, KeyError, TypeError, ValueError):
            continue
    try:
        pid = int((settings.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        found["postgres"] = psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    if "api" not in found:
        try:
            for conn in psutil.net_connections(kind="tcp"):
                listening = conn.status == psutil.CONN_LISTEN and conn.laddr
                if listening and conn.laddr.port == settings.api_port and conn.pid:
                    found["api"] = psutil.Process(conn.pid)
        except (psutil.Error, OSError):
            pass
    return found


def family(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return [proc]


def rss_mb(proc: psutil.Process) -> float:
    total = 0
    for p in family(proc):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU time of the process and its children, live and reaped (PostgreSQL's backends come
    and go: the ones that ended count in the postmaster's `children_*` times)."""
    total = 0.0
    try:
        times = proc.cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
        children = proc.children(recursive=True)
    except psutil.Error:
        return total
    for p in children:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def busy_seconds() -> float:
    """CPU seconds the machine has been busy (all CPUs together)."""
    times = psutil.cpu_times()
    return float(
        times.user
        + times.system
        + sum(getattr(times, name, 0.0) for name in ("nice", "irq", "softirq"))
    )


@dataclass
class Sampler:
    """Peak RSS of the workers and the API, and every service's CPU time, over a phase."""

    processes: dict[str, psutil.Process]
    peaks: dict[str, float] = field(default_factory=dict)
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_used: dict[str, float] = field(default_factory=dict)
    busy_start: float = 0.0
    busy: float = 0.0  # CPU seconds the whole machine was busy
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.processes = {**self.processes, "bench": psutil.Process()}
        self.cpu_start = {name: cpu_seconds(p) for name, p in self.processes.items()}
        self.busy_start = busy_seconds()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stop.is_set():
            for name in ("worker", "webhook-worker", "api"):
                if name in self.processes:
                    value = await asyncio.to_thread(rss_mb, self.processes[name])
                    self.peaks[name] = max(self.peaks.get(name, 0.0), value)
            await asyncio.sleep(SAMPLE_INTERVAL)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        self.cpu_used = {
            name: cpu_seconds(p) - self.cpu_start.get(name, 0.0)
            for name, p in self.processes.items()
        }
        self.busy = busy_seconds() - self.busy_start
        # Whatever else ran on the machine meanwhile (other test runs skew the figures).
        self.cpu_used["other"] = max(0.0, self.busy - sum(self.cpu_used.values()))


# --- the measured phase ----------------------------------------------------------------------


def database_url() -> str:
    """The stack's database: DATABASE_URL, else the running dev stack's embedded server."""
    return with_database(get_settings()).require_database_url()


@dataclass(frozen=True)
class ServerWork:
    """What PostgreSQL has done so far: statements run (pg_stat_statements, which the dev
    stack's server keeps) and bytes written to its write-ahead log (every row and index entry
    written, and each commit); None where the server does not say."""

    statements: int | None
    wal_bytes: int | None

    def since(self, before: ServerWork) -> ServerWork:
        return ServerWork(
            statements=_difference(self.statements, before.statements),
            wal_bytes=_difference(self.wal_bytes, before.wal_bytes),
        )


def _difference(after: int | None, before: int | None) -> int | None:
    return None if after is None or before is None else after - before


async def server_work(db: Database) -> ServerWork:
    """PostgreSQL's counters now (`ServerWork`)."""
    return ServerWork(
        statements=await _counter(db, "SELECT sum(calls) FROM pg_stat_statements"),
        wal_bytes=await _counter(db, "SELECT wal_bytes FROM pg_stat_wal"),
    )


async def _counter(db: Database, query: str) -> int | None:
    try:
        async with db.transaction() as session:
            return int(await session.scalar(text(query)))
    except DATABASE_ERRORS:  # no extension (or no server): the figure is not shown
        return None


async def history_events(args: argparse.Namespace, groups: list[Group]) -> int:
    """Events in every run so far of the groups' fulfillment and confirmation workflows: a
    closed run's count from visibility, the running one's from its description (exact)."""
    client = await Client.connect(args.temporal, namespace=args.namespace)
    ids = [
        module.workflow_id(uuid.UUID(group.id))
        for group in groups
        for module in (fulfillment_workflow, confirmation_workflow)
    ]

    async def count(workflow_id: str) -> int:
        total = 0
        async for run in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
            if run.status == WorkflowExecutionStatus.RUNNING:
                handle = client.get_workflow_handle(workflow_id, run_id=run.run_id)
                total += (await handle.describe()).history_length
            else:
                total += run.history_length
        return total

    return sum(await gather_limited(20, count, ids))


@dataclass
class Posted:
    employee: Employee
    expected: int  # carrier transactions the snapshot should make
    started: float = 0.0  # wall clock, comparable with the sandbox's received_at
    took: float = 0.0  # the POST's own duration
    snapshot_id: str | None = None
    error: str | None = None
    busy: int = 0  # 503s with Retry-After it waited out and sent again, as the contract asks


# How many 503 "come back later" answers one POST waits out before the bench calls it refused.
BUSY_RETRIES = 5


async def accepted_count(api: httpx.AsyncClient) -> int:
    page = await checked(
        api.get(
            "/api/v1/member_transactions",
            params={"status_details": "carrier_accepted", "page_size": 1},
        ),
        "counting accepted transactions",
    )
    return int(page["meta"]["total_records"])


async def all_transactions(api: httpx.AsyncClient) -> list[Json]:
    out: list[Json] = []
    offset = 0
    while True:
        page = await checked(
            api.get(
                "/api/v1/member_transactions",
                params={"page_size": 1000, "offset": offset, "sort_by": "created"},
            ),
            "listing transactions",
        )
        out += page["response"]
        offset += 1000
        if offset >= page["meta"]["total_records"]:
            return out


async def post_all(api: httpx.AsyncClient, posts: list[Posted], concurrency: int) -> None:
    async def one(post: Posted) -> None:
        body = post.employee.measured()
        post.started = time.time()
        t0 = time.perf_counter()
        while True:
            try:
                response = await api.post(
                    f"/api/v1/groups/{post.employee.group.id}/member_snapshots", json=body
                )
            except httpx.HTTPError as exc:
                post.error = f"{type(exc).__name__}: {exc}"
                return
            retry_after = response.headers.get("Retry-After")
            if response.status_code != 503 or retry_after is None or post.busy >= BUSY_RETRIES:
                break
            # A platform written against the contract sends it again once told to: nothing
            # was stored. The POST's time runs from its first attempt.
            post.busy += 1
            await asyncio.sleep(float(retry_after))
        post.took = time.perf_counter() - t0
        if response.status_code != 201:
            post.error = f"HTTP {response.status_code}: {response.text[:200]}"
            return
        post.snapshot_id = response.json()["id"]

    await gather_limited(concurrency, one, posts)


async def wait_accepted(
    api: httpx.AsyncClient, baseline: int, expected: int, within: float, stall: float
) -> None:
    start = time.monotonic()
    last_progress, last_seen, last_print = start, -1, start
    while True:
        seen = await accepted_count(api) - baseline
        now = time.monotonic()
        if seen >= expected:
            return
        if seen != last_seen:
            last_progress, last_seen = now, seen
        if now - last_print >= 10:
            print(f"  ... {seen}/{expected} transactions accepted after {now - start:.0f} s")
            last_print = now
        if now - start > within:
            print(f"  gave up: {seen}/{expected} accepted within --timeout {within:.0f} s")
            return
        if now - last_progress > stall:
            print(f"  gave up: no transaction accepted in {stall:.0f} s ({seen}/{expected})")
            return
        await asyncio.sleep(1)


async def wait_settled(api: httpx.AsyncClient, within: float) -> int:
    """Snapshots still submitted or processing once they settle (or `within` s pass)."""
    deadline = time.monotonic() + within
    while True:
        page = await checked(
            api.get(
                "/api/v1/member_snapshots",
                params={"status": "submitted,processing", "page_size": 1},
            ),
            "counting unsettled snapshots",
        )
        left = int(page["meta"]["total_records"])
        if left == 0 or time.monotonic() > deadline:
            return left
        await asyncio.sleep(1)


async def receipts(sandbox: httpx.AsyncClient, ids: list[str], concurrency: int) -> dict[str, Any]:
    """What the carrier received for each engine transaction id."""

    async def one(transaction_id: str) -> tuple[str, Any]:
        found = await checked(
            sandbox.get("/_sandbox/member_transactions", params={"transaction_id": transaction_id}),
            "reading the sandbox's transactions",
        )
        return transaction_id, found

    pairs = await gather_limited(concurrency, one, ids)
    return dict(pairs)


async def sandbox_writes(sandbox: httpx.AsyncClient) -> Json:
    writes: Json = (await sandbox_stats(sandbox))["writes"]
    return writes


async def sandbox_stats(sandbox: httpx.AsyncClient) -> Json:
    """The sandbox's counters: every request it answered, and its writes."""
    stats: Json = await checked(sandbox.get("/_sandbox/stats"), "reading sandbox stats")
    return stats


def received_at(receipt: Json) -> float:
    """When the carrier accepted the transaction: the first step of its history."""
    accepted = next(step for step in receipt["history"] if step["status"] == "accepted")
    return datetime.fromisoformat(accepted["at"]).timestamp()


@dataclass
class Measured:
    transactions: list[Json]
    tx_per_s: float
    delivered: int  # transactions the carrier received
    cpu_used: dict[str, float]  # CPU seconds by process over the measured phase
    # Requests the carriers answered from the first POST until every snapshot settled: the
    # writes, and the status polls and read-backs that follow each transaction.
    carrier_requests: int

    @property
    def engine_cpu_ms(self) -> float:
        """The engine's CPU-ms per transaction the carrier received."""
        return per_unit_ms(sum(self.cpu_used.get(name, 0.0) for name in ENGINE), self.delivered)


async def measure(
    api: httpx.AsyncClient,
    sandbox: httpx.AsyncClient,
    employees: list[Employee],
    args: argparse.Namespace,
) -> Measured:
    posts = [Posted(employee=e, expected=len(e.carriers)) for e in employees]
    expected = sum(p.expected for p in posts)
    baseline = await accepted_count(api)
    stats_before = await sandbox_stats(sandbox)
    writes_before = stats_before["writes"]
    sampler = Sampler(stack_processes())
    missing = {"worker", "api"} - sampler.processes.keys()
    if missing:
        print(f"  (no {', '.join(sorted(missing))} process found: no memory figure for it)")
    sampler.start()
    load_before = load()
    t0 = time.perf_counter()
    await post_all(api, posts, args.concurrency)
    posted_in = time.perf_counter() - t0
    # A refused POST makes no transaction: waiting for its would only stall the phase (and
    # count the engine's idle CPU against the transactions).
    taken = sum(p.expected for p in posts if p.snapshot_id)
    await wait_accepted(api, baseline, taken, args.timeout, args.stall)
    await sampler.stop()
    load_after = load()
    # Measured phase over; the rest reads results and is not timed.
    unsettled = await wait_settled(api, 120)
    stats_after = await sandbox_stats(sandbox)
    writes_after = stats_after["writes"]
    ours = {p.snapshot_id: p for p in posts if p.snapshot_id}
    transactions = [t for t in await all_transactions(api) if t["member_snapshot_id"] in ours]
    got = await receipts(sandbox, [t["id"] for t in transactions], 20)

    by_snapshot: dict[str, list[float]] = {}
    sent_twice = 0
    sent: list[Json] = []
    for t in transactions:
        found = got.get(t["id"]) or []
        if len(found) > 1:
            sent_twice += 1
        if found:
            by_snapshot.setdefault(t["member_snapshot_id"], []).append(received_at(found[0]))
            sent.append(t)
    failed_posts = [p for p in posts if p.error]
    latencies: list[float] = []
    lost: list[Posted] = []
    for p in posts:
        if p.snapshot_id is None:
            continue
        times = by_snapshot.get(p.snapshot_id, [])
        if len(times) < p.expected:
            lost.append(p)
        else:
            latencies.append(max(times) - p.started)
    delivered = sum(len(v) for v in by_snapshot.values())
    first = min((p.started for p in posts if p.started), default=0.0)
    last = max((max(v) for v in by_snapshot.values()), default=first)
    window = max(last - first, 1e-9)
    built = [t["created"] - ours[t["member_snapshot_id"]].started for t in transactions]
    doubled = writes_after["doubled"] - writes_before["doubled"]
    absorbed = writes_after["duplicates_absorbed"] - writes_before["duplicates_absorbed"]

    kinds: dict[str, int] = {}
    for e in employees:
        label = f"{e.kind}/{'+'.join(NAME[c] for c in e.carriers)}"
        kinds[label] = kinds.get(label, 0) + 1
    n = len(posts)
    print(
        f"measured: {n} snapshots posted at once (client concurrency {args.concurrency}); "
        f"{load_before} at the start, {load_after} at the end"
    )
    print("  mix: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(
        f"  POSTs done in {posted_in:.2f} s ({n / posted_in:.1f}/s); "
        f"POST answered in {percentiles([p.took for p in posts if p.snapshot_id])}"
    )
    print(f"  POST -> transaction built (1 s resolution): {percentiles(built)}")
    print(f"  POST -> last transaction accepted by the carrier: {percentiles(latencies)}")
    print(
        f"  throughput over {window:.2f} s (first POST to last acceptance): "
        f"{len(latencies) / window:.1f} snapshots/s, {delivered / window:.1f} transactions/s"
    )
    print(
        f"  transactions: {expected} expected, {len(transactions)} built, {delivered} received by "
        f"the carrier; snapshots still unsettled 120 s after: {unsettled}"
    )
    print(
        f"  POSTs refused or failed: {len(failed_posts)}; lost (not at the carrier within "
        f"{args.timeout:.0f} s): {len(lost)}; doubled: sandbox {doubled}, "
        f"received more than once {sent_twice}; resends absorbed by the carrier {absorbed}"
    )
    busy = [p.busy for p in posts if p.busy]
    if busy:
        print(
            f"  POSTs answered 503 + Retry-After and sent again: {len(busy)} "
            f"({sum(busy)} answers; their time counts from the first attempt)"
        )
    for p in failed_posts[:5]:
        print(f"    failed POST ({p.employee.kind}): {p.error}")
    for p in lost[:5]:
        print(f"    lost: snapshot {p.snapshot_id} ({p.employee.kind}, expected {p.expected})")
    peaks = "  ".join(f"{name} {mb:.0f} MB" for name, mb in sorted(sampler.peaks.items()))
    print(f"  peak RSS: {peaks or 'n/a'}")
    cpu = "  ".join(f"{name} {s:.1f}" for name, s in sorted(sampler.cpu_used.items()))
    print(
        f"  CPU seconds in the measured phase ({psutil.cpu_count()} CPUs, "
        f"{sampler.busy:.1f} busy): {cpu}"
    )
    per_tx = "  ".join(
        f"{name} {per_unit_ms(s, delivered):.2f}"
        for name, s in sorted(sampler.cpu_used.items())
        if name != "other"
    )
    print(f"  CPU-ms per transaction received: {per_tx}")

    all_sent = not failed_posts and not lost and len(latencies) == n
    print(f"  target: all {n} sent, none lost: {verdict(all_sent)}")
    print(f"  target: none doubled: {verdict(doubled == 0 and sent_twice == 0)}")
    print(f"  target: p90 <= {P90_TARGET:.0f} s: {verdict(p90(latencies) <= P90_TARGET)}")
    print(f"  goal (issue 23): p90 <= {P90_GOAL:.0f} s: {verdict(p90(latencies) <= P90_GOAL)}")
    return Measured(
        transactions=sent,
        tx_per_s=delivered / window,
        delivered=delivered,
        cpu_used=dict(sampler.cpu_used),
        carrier_requests=stats_after["requests"] - stats_before["requests"],
    )


def work_per_transaction(
    delivered: int, *, work: ServerWork, events: int, carrier_requests: int
) -> None:
    """What the engine did per transaction, from the first POST until every snapshot settled
    (so the round-trip confirmations are in, which the CPU window may end before)."""
    if not delivered:
        return
    print(
        f"  work per transaction, first POST until settled: {database_work(work, delivered)}, "
        f"{events / delivered:.2f} Temporal history events (fulfillment and confirmation runs), "
        f"{carrier_requests / delivered:.2f} carrier requests (the floor: 1 write; the rest "
        "follow the transaction at the carrier and read the member back)"
    )


def database_work(work: ServerWork, transactions: int) -> str:
    """PostgreSQL's work per transaction, as the bench prints it."""
    sql = (
        "n/a (no pg_stat_statements)"
        if work.statements is None
        else f"{work.statements / transactions:.1f} PostgreSQL statements"
    )
    if work.wal_bytes is not None:
        sql += f" writing {work.wal_bytes / transactions / 1024:.1f} kB of WAL"
    return sql


# --- the floor -----------------------------------------------------------------------------------


@dataclass
class Floor:
    writes_per_s: float
    writes: int
    cpu_used: dict[str, float]  # CPU seconds of the client ("bench") and the sandbox

    @property
    def cpu_ms(self) -> float:
        """The client's and the carrier's CPU-ms per write."""
        spent = self.cpu_used.get("bench", 0.0) + self.cpu_used.get("sandbox", 0.0)
        return per_unit_ms(spent, self.writes)


async def floor(sandbox_url: str, transactions: list[Json], concurrency: int) -> Floor:
    """The same writes made straight to the sandbox by a plain asyncio loop, through the
    engine's own carrier client (`carriers.carrier_adapters`)."""
    writes: list[tuple[uuid.UUID, str, str, CarrierMember]] = []
    for t in transactions:
        member = copy.deepcopy(t["body"]["member"])
        member["employee"]["id"] = str(uuid.uuid4())
        writes.append(
            (
                uuid.UUID(t["carrier_id"]),
                t["result"]["carrier_group_id"],
                t["transaction_type"],
                CarrierMember.model_validate(member),
            )
        )
    errors: list[str] = []
    base_urls = {info.slug: f"{sandbox_url}/{info.slug}" for info in CARRIERS.values()}
    async with carrier_adapters(
        base_urls, timeout_seconds=120, connections=concurrency
    ) as adapters:

        async def one(write: tuple[uuid.UUID, str, str, CarrierMember]) -> None:
            carrier_id, carrier_group_id, transaction_type, member = write
            try:
                await adapters[carrier_id].send_member_transaction(
                    carrier_group_id,
                    transaction_id=str(uuid.uuid4()),
                    transaction_type=transaction_type,
                    member=member,
                    idempotency_key=str(uuid.uuid4()),
                )
            except (CarrierRejected, CarrierUnavailable) as exc:
                errors.append(str(exc)[:200])

        # This process is the floor's client ("bench", added by the sampler).
        sandbox = {k: p for k, p in stack_processes().items() if k == "sandbox"}
        if not sandbox:
            print("  (no sandbox process found: the floor's CPU figure is the client's alone)")
        sampler = Sampler(sandbox)
        sampler.start()
        load_before = load()
        start = time.perf_counter()
        await gather_limited(concurrency, one, writes)
        elapsed = time.perf_counter() - start
        await sampler.stop()
    rate = len(writes) / elapsed if writes else 0.0
    print(
        f"floor: {len(writes)} carrier writes by a plain asyncio loop (concurrency "
        f"{concurrency}) in {elapsed:.2f} s: {rate:.1f} writes/s"
        + (f"; {len(errors)} refused, e.g. {errors[0]}" if errors else "")
        + f"; {load_before} at the start, {load()} at the end"
    )
    result = Floor(writes_per_s=rate, writes=len(writes), cpu_used=dict(sampler.cpu_used))
    spent = {name: per_unit_ms(result.cpu_used.get(name, 0.0), len(writes)) for name in NAMES}
    print(
        f"  CPU-ms per write: client {spent['bench']:.2f}  sandbox {spent['sandbox']:.2f}"
        f"  (other {spent['other']:.2f})"
    )
    return result


# --- the guarantee floor -------------------------------------------------------------------------


async def guarantee_floor_phase(
    args: argparse.Namespace, sandbox: httpx.AsyncClient, transactions: list[Json]
) -> guarantee_floor.Measured:
    """The measured phase's snapshots again, through the least pipeline that keeps the engine's
    guarantees (`bench.guarantee_floor`), on the same PostgreSQL, Temporal and sandbox."""
    posts = guarantee_floor.snapshots_of(transactions)
    run_id = f"bench-guarantee-floor-{uuid.uuid4().hex[:8]}"
    client = await Client.connect(args.temporal, namespace=args.namespace)
    async with guarantee_floor.running_server(
        database_url=database_url(),
        temporal=args.temporal,
        namespace=args.namespace,
        sandbox=args.sandbox,
        run=run_id,
    ) as (server, url):
        sampler = Sampler({**stack_processes(), "server": server})
        requests_before = (await sandbox_stats(sandbox))["requests"]
        db = Database(database_url(), pool_size=1)
        work_before = await server_work(db)
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

            async def post(item: tuple[str, Json]) -> None:
                group, body = item
                await checked(http.post(f"/groups/{group}/snapshots", json=body), "posting", 202)

            sampler.start()
            load_before = load()
            start = time.perf_counter()
            await gather_limited(args.concurrency, post, posts)
            deadline = time.monotonic() + args.timeout
            while True:
                progress: Json = await checked(http.get("/progress"), "reading progress", 200)
                left = sum(progress.get(s, 0) for s in ("stored", "sending", "sent"))
                if not left or time.monotonic() > deadline:
                    break
                await asyncio.sleep(1)
            elapsed = time.perf_counter() - start
            await sampler.stop()
            progress = await checked(http.get("/progress?latency"), "reading progress", 200)
        requests = (await sandbox_stats(sandbox))["requests"] - requests_before
        work = (await server_work(db)).since(work_before)
        await db.dispose()
    await guarantee_floor.finish_runs(client, run_id, {group for group, _ in posts})
    failed = progress.get("failed", 0)
    done = progress.get("confirmed", 0) + progress.get("differs", 0) + failed
    measured = guarantee_floor.Measured(settled=done, cpu_used=dict(sampler.cpu_used))
    print(
        f"guarantee floor: {len(posts)} snapshots, {done} transactions stored, sent and "
        f"confirmed at the carrier in {elapsed:.2f} s ({done / elapsed:.1f}/s; "
        f"{failed} refused, {left} left open, {progress.get('differs', 0)} differing); "
        f"{load_before} at the start, {load()} at the end"
    )
    spent = "  ".join(
        f"{name} {per_unit_ms(measured.cpu_used.get(name, 0.0), done):.2f}"
        for name in sorted(measured.cpu_used)
    )
    print(
        f"  CPU-ms per transaction: {spent}; carrier requests per transaction "
        f"{requests / max(done, 1):.2f}; turns {progress.get('turns', 0)}, wakes "
        f"{progress.get('signals', 0)}; {database_work(work, max(done, 1))}"
    )
    if progress.get("latency"):
        p50, p90, p99 = progress["latency"]
        print(
            f"  stored -> accepted by the carrier: p50 {p50:.3f} s  p90 {p90:.3f} s  "
            f"p99 {p99:.3f} s"
        )
    return measured


# --- main ----------------------------------------------------------------------------------------


async def fresh_organization_token(prefix: str = "bench") -> str:
    """A token of a new organization, so runs never meet each other's groups, members or
    connections."""
    return await issue_token(with_database(get_settings()), f"{prefix}-{uuid.uuid4().hex[:8]}")


async def run(args: argparse.Namespace) -> None:
    token = args.token or await fresh_organization_token()
    limits = httpx.Limits(max_connections=args.concurrency)
    async with (
        httpx.AsyncClient(
            base_url=args.api,
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
            limits=limits,
        ) as api,
        httpx.AsyncClient(base_url=args.sandbox, timeout=120, limits=limits) as sandbox,
    ):
        for client, what in ((api, "API"), (sandbox, "sandbox")):
            try:
                await client.get("/ping" if client is api else "/_sandbox/stats")
            except httpx.HTTPError as exc:
                raise BenchError(
                    f"the {what} at {client.base_url} does not answer ({exc}); "
                    "start the stack with `make run`"
                ) from None
        t = time.perf_counter()
        groups = await gather_limited(20, partial(connect_group, api), range(args.groups))
        employees = roster(groups, args.employees, args.changes)
        changes = [e for e in employees if e.change]
        print(
            f"setup: {len(groups)} groups connected to Principal and Unum in "
            f"{time.perf_counter() - t:.1f} s"
        )
        if not args.keep_audits:
            paused = await pause_audits(args, groups)
            print(f"setup: paused {paused} audit schedules of these groups (--keep-audits: not)")
        if changes:
            t = time.perf_counter()
            await hire_in_setup(api, changes, args.concurrency, args.timeout)
            print(f"setup: {len(changes)} members hired in {time.perf_counter() - t:.1f} s")
        db = Database(database_url(), pool_size=1)
        try:
            work_before = await server_work(db)
            events_before = await history_events(args, groups)
            measured = await measure(api, sandbox, employees, args)
            work = (await server_work(db)).since(work_before)
            events_after = await history_events(args, groups)
        finally:
            await db.dispose()
        work_per_transaction(
            measured.delivered,
            work=work,
            events=events_after - events_before,
            carrier_requests=measured.carrier_requests,
        )
        if not measured.transactions:
            print("floor: skipped (no transaction reached the carrier)")
            return
        base = await floor(args.sandbox, measured.transactions, args.concurrency)
        ratio = measured.tx_per_s / base.writes_per_s if base.writes_per_s else 0.0
        print(
            f"engine / floor throughput: {measured.tx_per_s:.1f} / {base.writes_per_s:.1f} = "
            f"{ratio:.2f} (target >= {FLOOR_TARGET:.2f}): {verdict(ratio >= FLOOR_TARGET)}"
        )
        engine = measured.engine_cpu_ms
        parts = " + ".join(
            f"{name} {per_unit_ms(measured.cpu_used.get(name, 0.0), measured.delivered):.2f}"
            for name in ENGINE
        )
        cpu_ratio = engine / base.cpu_ms if base.cpu_ms else float("inf")
        print(
            f"HEADLINE engine CPU-ms per transaction {engine:.2f} ({parts}) / floor CPU-ms per "
            f"write {base.cpu_ms:.2f} = {cpu_ratio:.2f} (target <= {CPU_RATIO_TARGET:.0f}): "
            f"{verdict(cpu_ratio <= CPU_RATIO_TARGET)}; {load()}"
        )
        if args.no_guarantee_floor:
            return
        kept = await guarantee_floor_phase(args, sandbox, measured.transactions)
        print(
            f"guarantee floor CPU-ms per transaction {kept.cpu_ms:.2f} / floor CPU-ms per write "
            f"{base.cpu_ms:.2f} = {kept.cpu_ms / base.cpu_ms:.2f} (what keeping the "
            f"guarantees cost here); engine / guarantee floor = {engine / kept.cpu_ms:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--sandbox", default="http://127.0.0.1:8100")
    parser.add_argument(
        "--token", help="an API token; by default a fresh organization is made for the run"
    )
    parser.add_argument("--temporal", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--namespace", default="default")
    parser.add_argument(
        "--keep-audits",
        action="store_true",
        help="leave the audit schedules of the run's groups running (every 2 min under make run)",
    )
    parser.add_argument(
        "--snapshots",
        type=int,
        help="measured snapshots in all (sets --groups to this over --employees); the "
        "documented run is 5000, 1000 is a quick one",
    )
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--employees", type=int, default=50, help="per group")
    parser.add_argument(
        "--concurrency", type=int, default=100, help="POSTs (and floor writes) in flight at most"
    )
    parser.add_argument(
        "--changes",
        type=float,
        default=0.2,
        help="share of employees hired in setup whose measured snapshot is a change",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds to wait for every acceptance"
    )
    parser.add_argument(
        "--stall", type=float, default=120, help="give up after this long with no acceptance"
    )
    parser.add_argument(
        "--no-guarantee-floor",
        action="store_true",
        help="skip the last phase, the same snapshots through bench.guarantee_floor",
    )
    args = parser.parse_args()
    if args.snapshots is not None:
        args.groups = max(1, -(-args.snapshots // args.employees))
    try:
        asyncio.run(run(args))
    except (BenchError, httpx.HTTPError, RPCError) as exc:
        kind = "" if isinstance(exc, BenchError) else f"{type(exc).__name__}: "
        print(f"bench.snapshots: {kind}{exc}", file=sys.stderr)
        sys.stdout.flush()
        os._exit(1)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)
