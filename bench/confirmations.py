"""Round-trip confirmation benchmark: every transaction verified by the group loops, time skipped.

    python -m bench.confirmations [--transactions 10000 --groups 100 --days 90]
    python -m bench.confirmations --smoke        # 200 transactions in 4 groups

Self-contained (no `make run` needed): it starts an embedded PostgreSQL in a temporary
directory, the sandbox carriers as a child process (`python -m sandbox` on a free loopback
port), a time-skipping Temporal test server, and the real worker (`worker.build_worker`: the
real GroupConfirmations workflow and ConfirmationActivities) in this process. Everything is
stopped, by PID, when the run ends.

Setup (not timed; in a child process, so the worker's RSS starts without its leftovers):
`--groups` groups, each with a completed connection to Principal and to Unum and its plans
stored from the carrier's account (`store_account_structure`, as a connection's pull does).
`--transactions` new hires are spread over the groups, each enrolled at one carrier (Principal
and Unum in turn): the snapshot is projected onto the carrier as intake does (`parse_snapshot`,
the carrier's member rules, `carrier_member`, `plan_transaction`), sent to the sandbox through
the real carrier adapter with an idempotency key, left until the sandbox completed it (its
counts say so), and stored as the snapshot workflow leaves it: a completed MemberTransaction due
for its acceptance check now. Each coverage starts on an effective date drawn uniformly from
today to `--days` - 1 days ahead (`--seed`). Principal dates a new hire's coverage by its own
rules, so about half the transactions end verified with a difference (a discrepancy).

Measured: every group's loop is woken as a completed transaction wakes it
(`Wakes.confirmations`, signal-with-start); the test server then skips time while the
loops work: an acceptance check now, a durable timer to each effective date, a final check
there. Done when every loop has ended (nothing pending). Printed: the wall time; the Temporal
history events of every group-confirmations run (continued-as-new runs included) per
transaction; carrier reads per transaction; the worker's CPU; retried turns and workflow tasks
that timed out; the worker's RSS (this process) sampled every 0.25 s, at the start, once every
loop took its first turn (all confirmations still to make wait in sleeping loops), half-way, and
at the end, with the pending count at each point. Targets: every transaction verified (or with
a difference); <= 10 history events per transaction; RSS flat (<= 10% growth) once every loop
holds its pending checks.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from bench.snapshots import BenchError, gather_limited, verdict
from carriers import (
    CARRIERS,
    CarrierAdapter,
    CarrierUnavailable,
    carrier_adapters,
    principal,
    rules_for,
    unum,
)
from domain.differences import ConfirmationStage
from domain.member_changes import (
    ChosenCoverage,
    FulfillmentStatus,
    PlannedTransaction,
    SnapshotStatus,
    StatusDetail,
    TransactionStatus,
    carrier_member,
    plan_transaction,
)
from domain.members import CoverageChoice, GroupSetup
from domain.snapshots import parse_snapshot
from runtime.settings import Settings
from services.wakes import Wakes
from store.account import store_account_structure
from store.db import Database
from store.members import group_setup
from store.models import (
    Difference,
    Group,
    GroupConnection,
    Member,
    MemberSnapshot,
    MemberTransaction,
    unix_now,
)
from store.tenancy import ensure_organization
from store.versioning import save_version
from tests.harness import free_port, start_embedded_postgres
from tests.workflows.fakes import start_time_skipping
from tools.admin import prepare_database
from tools.sample_snapshots import PlanChoice, carrier_config, new_hire, person, pick
from worker import build_worker
from workflows import confirmation as wf
from workflows.connection import workflow_id as connection_workflow_id

Json = dict[str, Any]
T = TypeVar("T")
PRINCIPAL = principal.INFO.id
UNUM = unum.INFO.id
CARRIER_TURNS = (PRINCIPAL, UNUM)  # by a transaction's index in its group
EVENTS_TARGET = 10.0
# Flat: once every loop holds its pending confirmations (after its first turn), working them
# off may not grow the worker's RSS by more than this share.
MEMORY_GROWTH_TARGET = 0.10
SAMPLE_INTERVAL = 0.25
PENDING_INTERVAL = 1.0
SANDBOX_READY_TIMEOUT = 30.0
SMOKE = {"transactions": 200, "groups": 4}
ROOT = Path(__file__).resolve().parent.parent


def mb(rss: int) -> float:
    return rss / 2**20


# --- the stack -----------------------------------------------------------------------------------


@dataclass
class Stack:
    settings: Settings
    database: Database
    env: WorkflowEnvironment
    sandbox: httpx.AsyncClient


def spawn_sandbox(
    port: int, delay: float, latency_ms: int, error_rate: float, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CARRIERLINK_SANDBOX_HOST": "127.0.0.1",
        "CARRIERLINK_SANDBOX_PORT": str(port),
        "CARRIERLINK_SANDBOX_SFTP_PORT": "0",  # no file carrier here: no SFTP port to collide
        "CARRIERLINK_SANDBOX_PROCESSING_DELAY_SECONDS": str(delay),
        "CARRIERLINK_SANDBOX_LATENCY_MS": str(latency_ms),
        "CARRIERLINK_SANDBOX_ERROR_RATE": str(error_rate),
        "CARRIERLINK_SANDBOX_TIMEOUT_RATE": "0",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "sandbox"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


@asynccontextmanager
async def sandbox_process(
    port: int, delay: float, latency_ms: int, error_rate: float, log: Path
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """`python -m sandbox` on 127.0.0.1:`port`, stopped by its PID however the run ends."""
    proc = await asyncio.to_thread(spawn_sandbox, port, delay, latency_ms, error_rate, log)
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            deadline = time.monotonic() + SANDBOX_READY_TIMEOUT
            while True:
                if proc.poll() is not None:
                    said = await asyncio.to_thread(log.read_text)
                    raise BenchError(f"the sandbox exited ({proc.returncode}): {said}")
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/_sandbox/stats")).is_success:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise BenchError(f"the sandbox did not answer within {SANDBOX_READY_TIMEOUT} s")
                await asyncio.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                await asyncio.to_thread(proc.wait, 10)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)


@asynccontextmanager
async def stack(args: argparse.Namespace) -> AsyncIterator[Stack]:
    """PostgreSQL (migrated), the sandbox, a time-skipping Temporal server; all stopped after."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-confirmations-"))
    server, url = await asyncio.to_thread(start_embedded_postgres, workdir / "pg")
    try:
        port = free_port()
        async with sandbox_process(
            port, args.processing_delay, args.latency_ms, args.error_rate, workdir / "sandbox.log"
        ):
            env = await start_time_skipping()
            try:
                settings = Settings(
                    database_url=url,
                    temporal_address=env.client.service_client.config.target_host,
                    task_queue=f"bench-confirmations-{uuid.uuid4().hex[:8]}",
                    sandbox_port=port,
                    _env_file=None,
                )
                await prepare_database(settings)
                database = Database(url, pool_size=10)
                try:
                    async with httpx.AsyncClient(base_url=sandbox_url(port), timeout=60) as sb:
                        yield Stack(settings, database, env, sb)
                finally:
                    await database.dispose()
            finally:
                await env.shutdown()
    finally:
        await asyncio.to_thread(server.cleanup)
        shutil.rmtree(workdir, ignore_errors=True)


def sandbox_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


# --- setup ---------------------------------------------------------------------------------------


@dataclass
class Setup:
    """What setup writes with: the database, the carrier adapters, the sandbox's control API."""

    database: Database
    adapters: dict[uuid.UUID, CarrierAdapter]
    sandbox: httpx.AsyncClient


@asynccontextmanager
async def setup_clients(url: str, port: int, sends: int) -> AsyncIterator[Setup]:
    database = Database(url, pool_size=10)
    try:
        async with (
            carrier_adapters(
                {info.slug: f"{sandbox_url(port)}/{info.slug}" for info in CARRIERS.values()},
                timeout_seconds=60,
                connections=sends,
            ) as adapters,
            httpx.AsyncClient(base_url=sandbox_url(port), timeout=60) as sandbox,
        ):
            yield Setup(database, adapters, sandbox)
    finally:
        await database.dispose()


def coverages(setup: GroupSetup) -> list[PlanChoice]:
    """A dental-or-vision plan, plus Principal life; at Unum one of the lines it offers."""
    carrier = str(setup.carrier_id)
    choices = [
        PlanChoice(
            carrier_id=carrier,
            line_of_coverage=plan.line_of_coverage.value,
            plan_id=str(plan.id),
            carrier_config=carrier_config(
                carrier,
                {
                    "id": str(plan.id),
                    "line_of_coverage": plan.line_of_coverage.value,
                    "plan_configuration": plan.plan_configuration,
                },
                setup.configuration,
            ),
        )
        for plan in sorted(setup.plans, key=lambda p: p.carrier_plan_id)
    ]
    if setup.carrier_id == PRINCIPAL:
        chosen = pick(choices, carrier, "dental", "vision")[:1] + pick(choices, carrier, "life")
    else:
        chosen = pick(choices, carrier, "dental", "vision", "std", "ltd", "add")[:1]
    if not chosen:
        raise BenchError(f"the sandbox group offers no plan to enroll in at {carrier}")
    return chosen


def project(
    setup: GroupSetup, choices: list[PlanChoice], custom_id: str, today: date, start: date
) -> tuple[Json, PlannedTransaction]:
    """A new hire's snapshot and its transaction to the carrier, as intake and the snapshot
    workflow build them (`services.member_snapshots.check_snapshot`, `build_transactions`)."""
    payload = new_hire(
        custom_id,
        choices,
        employee=person("Sample", f"Member{custom_id}", born="1980-01-01", sex="M"),
        hire_date=today,
        start=start,
    )
    snapshot = parse_snapshot(payload)
    plans = {str(plan.id): plan for plan in setup.plans}
    picked = [
        CoverageChoice(
            index=index,
            plan=plans[choice.plan_id],
            carrier_config=snapshot.coverages[index].carrier_config,
            active=True,
            changed=True,
            volumes=tuple(m.volume for m in snapshot.coverages[index].enrolled_members),
        )
        for index, choice in enumerate(choices)
    ]
    outcome = rules_for(setup.carrier_id).check_member_snapshot(snapshot, picked, setup)
    member = carrier_member(
        snapshot,
        employee_id=uuid.uuid4(),
        dependent_ids=[],
        coverages={
            c.index: ChosenCoverage(c.plan, outcome.carrier_configs[c.index]) for c in picked
        },
    )
    planned = plan_transaction(None, member)
    assert planned is not None, "a new member is always a change"
    return payload, planned


@dataclass
class Hire:
    """One new hire at one carrier: what setup sends and stores."""

    carrier: uuid.UUID
    carrier_group_id: str
    custom_id: str
    payload: Json
    planned: PlannedTransaction
    transaction_id: uuid.UUID = field(default_factory=uuid.uuid4)
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    receipt: str | None = None  # the carrier's transaction id
    sent_at: int = 0


@dataclass
class Seeded:
    organization_id: uuid.UUID
    group_id: uuid.UUID
    hires: list[Hire]
    due_dates: set[date]
    today: date

    @property
    def transactions(self) -> int:
        return len(self.hires)


async def again(call: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
    """`call()`, again after a carrier fault (an injected 503, a kept-alive connection closed
    under the request)."""
    for attempt in range(attempts):
        try:
            return await call()
        except CarrierUnavailable:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def detail(status: StatusDetail, at: int) -> Json:
    return {"status_detail": status.value, "event_created": at}


async def connect_and_send(
    setup: Setup,
    organization_id: uuid.UUID,
    n: int,
    count: int,
    rng: random.Random,
    days: int,
    sends: asyncio.Semaphore,
) -> Seeded:
    """One group connected to both carriers, and `count` new hires sent to them."""
    group_id = uuid.uuid4()
    carrier_group_ids = {PRINCIPAL: f"2{n:06d}", UNUM: f"4{n:07d}"}
    accounts = {
        carrier: await again(partial(setup.adapters[carrier].fetch_account, carrier_group_id))
        for carrier, carrier_group_id in carrier_group_ids.items()
    }
    now = unix_now()
    async with setup.database.transaction() as session:
        await save_version(
            session,
            Group(id=group_id, organization_id=organization_id, name=f"Confirmation Bench {n}"),
            is_new=True,
        )
        setups: dict[uuid.UUID, GroupSetup] = {}
        for carrier, carrier_group_id in carrier_group_ids.items():
            await save_version(
                session,
                GroupConnection(
                    organization_id=organization_id,
                    group_id=group_id,
                    carrier_id=carrier,
                    carrier_group_id=carrier_group_id,
                    request_type="initial",
                    status="completed",
                    group_data={"carrier_group_id": carrier_group_id},
                    completed=now,
                    workflow_id=connection_workflow_id(organization_id, carrier, carrier_group_id),
                ),
                is_new=True,
            )
            await store_account_structure(
                session, group_id=group_id, carrier_id=carrier, account=accounts[carrier]
            )
            setups[carrier] = await group_setup(session, group_id, carrier)
    choices = {carrier: coverages(setup) for carrier, setup in setups.items()}

    today = datetime.now(UTC).date()
    seeded = Seeded(organization_id, group_id, [], set(), today)
    hires = seeded.hires
    for i in range(count):
        carrier = CARRIER_TURNS[i % len(CARRIER_TURNS)]
        start = today + timedelta(days=rng.randrange(days))
        seeded.due_dates.add(start)
        custom_id = f"bench-{n}-{i}"
        payload, planned = project(setups[carrier], choices[carrier], custom_id, today, start)
        hires.append(Hire(carrier, carrier_group_ids[carrier], custom_id, payload, planned))

    async def send(hire: Hire) -> None:
        # A resend carries the same key: the carrier answers it with the first receipt.
        async with sends:
            receipt = await again(
                partial(
                    setup.adapters[hire.carrier].send_member_transaction,
                    hire.carrier_group_id,
                    transaction_id=str(hire.transaction_id),
                    transaction_type=hire.planned.transaction_type.value,
                    member=hire.planned.member,
                    idempotency_key=hire.idempotency_key,
                )
            )
        hire.receipt = receipt.id
        hire.sent_at = unix_now()

    await asyncio.gather(*(send(hire) for hire in hires))
    return seeded


async def sandbox_completed(sandbox: httpx.AsyncClient, expected: int, within: float) -> None:
    """Wait until the sandbox completed every transaction it received (it refuses none here)."""
    deadline = time.monotonic() + within
    while True:
        counts = (await sandbox.get("/_sandbox/member_transactions/stats")).raise_for_status()
        found = counts.json()
        if found["failed"]:
            raise BenchError(f"the sandbox refused {found['failed']} setup transaction(s)")
        if found["received"] != expected:
            raise BenchError(f"the sandbox received {found['received']}, not {expected}")
        if found["completed"] == expected:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{expected - found['completed']} setup transactions not completed")
        await asyncio.sleep(0.1)


async def store(setup: Setup, seeded: Seeded) -> None:
    """The group's members, snapshots and transactions, as the snapshot workflow leaves a
    transaction the carrier completed: due for its acceptance check now."""
    organization_id, group_id, completed = seeded.organization_id, seeded.group_id, unix_now()
    async with setup.database.transaction() as session:
        snapshots: list[MemberSnapshot] = []
        transactions: list[MemberTransaction] = []
        members: list[Member] = []
        for hire in seeded.hires:
            member = hire.planned.member
            employee_id = member.employee.id
            snapshot_id = uuid.uuid4()
            members.append(
                Member(
                    id=employee_id,
                    organization_id=organization_id,
                    group_id=group_id,
                    employee_id=employee_id,
                    individual_type="employee",
                    custom_individual_id=hire.custom_id,
                )
            )
            employee = {**hire.payload["employee"], "id": str(employee_id)}
            snapshots.append(
                MemberSnapshot(
                    id=snapshot_id,
                    organization_id=organization_id,
                    group_id=group_id,
                    employee_id=employee_id,
                    status=SnapshotStatus.COMPLETED.value,
                    replaced_by=None,
                    inbound_snapshot=json.dumps(hire.payload),
                    member_snapshot={**hire.payload, "employee": employee},
                    carrier_members={str(hire.carrier): member.model_dump(mode="json")},
                    created_members=[
                        {
                            "id": str(employee_id),
                            "type": "employee",
                            "custom_individual_id": hire.custom_id,
                        }
                    ],
                    warnings=[],
                    fulfillment_summary=[
                        {
                            "carrier_id": str(hire.carrier),
                            "status": FulfillmentStatus.SENT.value,
                            "errors": [],
                        }
                    ],
                    workflow_id=f"bench-confirmations/{snapshot_id}",  # seeded: no run
                )
            )
            transactions.append(
                MemberTransaction(
                    id=hire.transaction_id,
                    organization_id=organization_id,
                    group_id=group_id,
                    employee_id=employee_id,
                    member_snapshot_id=snapshot_id,
                    carrier_id=hire.carrier,
                    lines_of_coverage=list(hire.planned.lines_of_coverage),
                    transaction_type=hire.planned.transaction_type.value,
                    status=TransactionStatus.COMPLETED.value,
                    body={
                        "member": member.model_dump(mode="json"),
                        "changes": [change.as_json() for change in hire.planned.changes],
                    },
                    result={
                        "carrier_transaction_id": hire.receipt,
                        "carrier_group_id": hire.carrier_group_id,
                    },
                    status_details=[
                        detail(StatusDetail.NOYO_ACCEPTED, hire.sent_at),
                        detail(StatusDetail.CARRIER_ACCEPTED, hire.sent_at),
                        detail(StatusDetail.CARRIER_PROCESSING, hire.sent_at),
                        detail(StatusDetail.CARRIER_COMPLETED, completed),
                    ],
                    verified=None,
                    idempotency_key=hire.idempotency_key,
                    carrier_transaction_id=hire.receipt,
                    # As `track_transaction` leaves a completed one: read back soon.
                    confirm_stage=ConfirmationStage.ACCEPTANCE.value,
                    confirm_due=completed,
                )
            )
        session.add_all(members)
        session.add_all(snapshots)
        await session.flush()
        session.add_all(transactions)


async def seed(setup: Setup, args: argparse.Namespace) -> list[Seeded]:
    async with setup.database.transaction() as session:
        organization, _ = await ensure_organization(session, f"bench-{uuid.uuid4().hex[:8]}")
    per_group = [
        args.transactions // args.groups + (1 if n < args.transactions % args.groups else 0)
        for n in range(args.groups)
    ]
    # One generator per group, so concurrency never changes which dates a group gets.
    rngs = [random.Random(args.seed * 1_000_003 + n) for n in range(args.groups)]
    sends = asyncio.Semaphore(args.sends)

    async def one(n: int) -> Seeded:
        return await connect_and_send(
            setup, organization.id, n, per_group[n], rngs[n], args.days, sends
        )

    seeded = await gather_limited(args.setup_groups, one, range(args.groups))
    await sandbox_completed(setup.sandbox, args.transactions, within=120)
    await gather_limited(args.setup_groups, partial(store, setup), seeded)
    return seeded


@dataclass(frozen=True)
class Loop:
    """A seeded group, as the measured phase knows it."""

    group_id: uuid.UUID
    transactions: int
    due_dates: frozenset[date]
    today: date


def seed_process(args: argparse.Namespace, url: str, port: int) -> list[Loop]:
    """Setup, run in a process of its own: the worker's RSS then starts without its leftovers."""

    async def seeded() -> list[Loop]:
        async with setup_clients(url, port, args.sends) as setup:
            groups = await seed(setup, args)
        return [Loop(g.group_id, g.transactions, frozenset(g.due_dates), g.today) for g in groups]

    return asyncio.run(seeded())


async def seed_elsewhere(stack: Stack, args: argparse.Namespace) -> list[Loop]:
    url, port = stack.settings.require_database_url(), stack.settings.sandbox_port
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, seed_process, args, url, port)


# --- the measured phase --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the wake
    rss: int  # bytes, this process: the worker
    pending: int  # transactions still to check (acceptance or effective date)
    acceptance: int  # of those, still waiting for their first (acceptance) check


async def pending_counts(database: Database) -> tuple[int, int]:
    async with database.transaction() as session:
        row = (
            await session.execute(
                select(
                    func.count(),
                    func.count().filter(
                        MemberTransaction.confirm_stage == ConfirmationStage.ACCEPTANCE.value
                    ),
                ).where(MemberTransaction.confirm_due.is_not(None))
            )
        ).one()
    return int(row[0]), int(row[1])


@dataclass
class Monitor:
    """The worker's RSS every 0.25 s, and the pending count beside it (read every second)."""

    database: Database
    started: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def sample(self) -> Sample:
        pending, acceptance = await pending_counts(self.database)
        taken = Sample(
            time.perf_counter() - self.started,
            psutil.Process().memory_info().rss,
            pending,
            acceptance,
        )
        self.samples.append(taken)
        return taken

    async def start(self) -> Sample:
        self.started = time.perf_counter()
        first = await self.sample()
        self._task = asyncio.create_task(self._run())
        return first

    async def _run(self) -> None:
        process = psutil.Process()
        last = self.samples[-1]
        while not self._stop.is_set():
            await asyncio.sleep(SAMPLE_INTERVAL)
            at = time.perf_counter() - self.started
            if at - last.at >= PENDING_INTERVAL:
                last = await self.sample()
            else:
                rss = process.memory_info().rss
                self.samples.append(Sample(at, rss, last.pending, last.acceptance))

    async def stop(self) -> Sample:
        self._stop.set()
        if self._task is not None:
            await self._task
        return await self.sample()

    def first(self, condition: Any) -> Sample | None:
        return next((s for s in self.samples if condition(s)), None)


@dataclass
class Histories:
    runs: int = 0
    events: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None  # the earliest event (virtual time)
    last: datetime | None = None
    retries: int = 0  # activity attempts after the first (failed attempts leave no event)

    @property
    def virtual_days(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first) / timedelta(days=1)


async def group_histories(client: Client, group_ids: list[uuid.UUID]) -> Histories:
    """Every run of each group's loop: the latest, and back along continue-as-new."""
    found = Histories()

    async def one(group_id: uuid.UUID) -> None:
        run_id: str | None = None
        while True:
            handle = client.get_workflow_handle(wf.workflow_id(group_id), run_id=run_id)
            history = await handle.fetch_history()
            found.runs += 1
            found.events += len(history.events)
            found.kinds.update(EventType.Name(e.event_type) for e in history.events)
            for event in history.events:
                if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    continue
                started_task = event.activity_task_started_event_attributes
                found.retries += max(started_task.attempt - 1, 0)
            times = [
                history.events[0].event_time.ToDatetime(),
                history.events[-1].event_time.ToDatetime(),
            ]
            found.first = min(times[0], found.first or times[0])
            found.last = max(times[1], found.last or times[1])
            started = history.events[0].workflow_execution_started_event_attributes
            if not started.continued_execution_run_id:
                return
            run_id = started.continued_execution_run_id

    await gather_limited(20, one, group_ids)
    return found


@dataclass
class Outcome:
    transactions: int
    verified: int
    with_differences: int  # transactions whose checks found a difference
    discrepancies: int  # differences still there at the effective-date check
    unaccounted: int  # neither verified nor with a difference
    wall: float
    loops_ended: bool
    events: int
    events_per_transaction: float
    memory_flat: bool

    @property
    def all_confirmed(self) -> bool:
        return self.loops_ended and self.unaccounted == 0


@dataclass
class Figures:
    total: int
    verified: int
    with_differences: int
    discrepancies: int
    unaccounted: int
    kinds: Counter[str]  # differences by carrier and type


async def confirmation_figures(database: Database) -> Figures:
    async with database.transaction() as session:

        async def count(query: Any) -> int:
            return int(await session.scalar(query) or 0)

        differing = select(Difference.member_transaction_id).where(
            Difference.member_transaction_id.is_not(None)
        )
        kinds: Counter[str] = Counter()
        for carrier_id, kind, n in await session.execute(
            select(Difference.carrier_id, Difference.difference_type, func.count()).group_by(
                Difference.carrier_id, Difference.difference_type
            )
        ):
            kinds[f"{CARRIERS[carrier_id].slug} {kind}"] = n
        return Figures(
            total=await count(select(func.count()).select_from(MemberTransaction)),
            verified=await count(
                select(func.count()).where(MemberTransaction.verified.is_not(None))
            ),
            with_differences=await count(
                select(func.count(func.distinct(Difference.member_transaction_id)))
            ),
            discrepancies=await count(
                select(func.count()).select_from(Difference).where(Difference.is_discrepancy)
            ),
            unaccounted=await count(
                select(func.count()).where(
                    MemberTransaction.verified.is_(None), MemberTransaction.id.not_in(differing)
                )
            ),
            kinds=kinds,
        )


async def sandbox_requests(sandbox: httpx.AsyncClient) -> int:
    return int((await sandbox.get("/_sandbox/stats")).raise_for_status().json()["requests"])


def at_point(label: str, sample: Sample | None, transactions: int) -> str:
    if sample is None:
        return f"{label}: not reached"
    return (
        f"{label} ({sample.at:.1f} s, {sample.pending}/{transactions} pending): "
        f"{mb(sample.rss):.0f} MB"
    )


class FailedAttempts(logging.Handler):
    """Why activity attempts failed, counted rather than logged with a traceback each."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reasons: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        reason = f"{type(error).__name__}: {error}" if error else record.getMessage()
        # One line per kind of fault, not per member or group.
        self.reasons[re.sub(r"[0-9a-f-]{36}|(?<=/)\d+(?=/)", "<id>", reason)[:160]] += 1


@contextmanager
def failed_attempts() -> Iterator[FailedAttempts]:
    logger = logging.getLogger("temporalio.activity")
    handler = FailedAttempts()
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


async def loops_end(client: Client, database: Database, seeded: list[Loop], within: float) -> bool:
    """Whether every group's loop ended (nothing pending) within `within` seconds."""
    deadline = time.perf_counter() + within
    running = [client.get_workflow_handle(wf.workflow_id(s.group_id)) for s in seeded]
    while running:
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.2)
        if (await pending_counts(database))[0]:
            continue  # a loop ends only once its group has nothing pending
        described = await gather_limited(20, lambda h: h.describe(), running)
        running = [
            h
            for h, d in zip(running, described, strict=True)
            if d.status is WorkflowExecutionStatus.RUNNING
        ]
    return True


async def measure(stack: Stack, seeded: list[Loop], args: argparse.Namespace) -> Outcome:
    client = stack.env.client
    n = sum(s.transactions for s in seeded)
    # A turn now (which also settles what takes effect today), then one per later date.
    turns_needed = sum(1 + len(s.due_dates - {s.today}) for s in seeded)
    monitor = Monitor(stack.database)
    with failed_attempts() as failures:
        async with build_worker(stack.settings, client) as worker, worker:
            gc.collect()
            requests_before = await sandbox_requests(stack.sandbox)
            cpu_before = sum(psutil.Process().cpu_times()[:2])
            start = await monitor.start()
            t0 = time.perf_counter()
            wakes = Wakes(client, stack.settings)
            await gather_limited(20, lambda s: wakes.confirmations(s.group_id), seeded)
            # What awaiting a started workflow's result does under the test server (the wake's
            # signal-with-start leaves no such handle): time skips whenever nothing is in flight.
            # Polled rather than awaited: the test server ends a long poll for the result after a
            # while with no event and no page token, which the SDK takes for a missing result.
            await client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
            try:
                loops_ended = await loops_end(client, stack.database, seeded, args.timeout)
            finally:
                await client.test_service.lock_time_skipping(LockTimeSkippingRequest())
            wall = time.perf_counter() - t0
            cpu = sum(psutil.Process().cpu_times()[:2]) - cpu_before
            end = await monitor.stop()
            requests = await sandbox_requests(stack.sandbox) - requests_before - 1
    histories = await group_histories(client, [s.group_id for s in seeded])
    figures = await confirmation_figures(stack.database)

    first_turns = monitor.first(lambda s: s.acceptance == 0)
    half = monitor.first(lambda s: s.pending <= n // 2)
    peak = max(monitor.samples, key=lambda s: s.rss)
    after_first = [s for s in monitor.samples if first_turns is not None and s.at >= first_turns.at]
    growth = (
        (max(s.rss for s in after_first) - first_turns.rss) / first_turns.rss
        if first_turns is not None and after_first
        else float("inf")
    )
    flat = loops_ended and growth <= MEMORY_GROWTH_TARGET
    per_transaction = histories.events / n if n else 0.0
    turns = histories.kinds["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"]
    task_timeouts = (
        histories.kinds["EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT"]
        + histories.kinds["EVENT_TYPE_WORKFLOW_TASK_FAILED"]
    )

    print(
        f"measured: {len(seeded)} group loops woken (signal-with-start), the test server "
        f"skipping time; "
        + ("every loop ended" if loops_ended else f"TIMED OUT after {args.timeout:.0f} s")
    )
    print(
        f"  wall time to verify all: {wall:.1f} s; virtual time advanced "
        f"{histories.virtual_days:.1f} days"
    )
    clean = figures.verified - figures.with_differences
    print(
        f"  transactions: {figures.total}; verified {figures.verified} ({clean} without a "
        f"difference); with a difference {figures.with_differences} ({figures.discrepancies} "
        f"discrepancies); neither {figures.unaccounted}"
    )
    if figures.kinds:
        print(
            "  differences: " + ", ".join(f"{kind} {n}" for kind, n in figures.kinds.most_common())
        )
    print(
        f"  turns (confirm activities): {turns}, {turns / len(seeded):.1f} per group "
        f"(distinct check times {turns_needed}); carrier reads "
        f"{requests} ({requests / n:.2f} per transaction)"
    )
    print(
        f"  worker CPU {cpu:.0f} s ({cpu / max(requests, 1) * 1000:.1f} ms per carrier read and "
        f"its check; {psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"  retried turns (attempts after a failure) {histories.retries}"
        + "".join(f"; {n} x {why}" for why, n in failures.reasons.most_common(3))
        + f"; workflow tasks timed out or failed {task_timeouts}"
    )
    print(
        f"  history: {histories.runs} runs of {len(seeded)} loops, {histories.events} events, "
        f"{per_transaction:.2f} per transaction, {histories.events / max(turns, 1):.1f} per turn"
    )
    print(
        "  worker RSS: "
        + "; ".join(
            [
                at_point("start", start, n),
                at_point("every loop past its first turn", first_turns, n),
                at_point("half verified", half, n),
                at_point("peak", peak, n),
                at_point("end", end, n),
            ]
        )
    )
    loaded = mb(first_turns.rss - start.rss) if first_turns else float("nan")
    print(
        f"  worker RSS growth while the loops hold their pending checks (first turns -> peak): "
        f"{growth * 100:+.1f}%; start -> first turns {loaded:+.0f} MB"
    )
    outcome = Outcome(
        transactions=figures.total,
        verified=figures.verified,
        with_differences=figures.with_differences,
        discrepancies=figures.discrepancies,
        unaccounted=figures.unaccounted,
        wall=wall,
        loops_ended=loops_ended,
        events=histories.events,
        events_per_transaction=per_transaction,
        memory_flat=flat,
    )
    print(
        f"  target: every transaction verified or with a difference: "
        f"{verdict(outcome.all_confirmed)}"
    )
    print(
        f"  target: <= {EVENTS_TARGET:.0f} history events per transaction: "
        f"{verdict(per_transaction <= EVENTS_TARGET)}"
    )
    print(
        f"  target: worker memory flat (<= {MEMORY_GROWTH_TARGET * 100:.0f}% growth once every "
        f"loop holds its pending checks): {verdict(flat)}"
    )
    return outcome


# --- main ----------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> Outcome:
    t = time.perf_counter()
    async with stack(args) as s:
        up = time.perf_counter() - t
        print(f"stack: PostgreSQL, sandbox, time-skipping Temporal up in {up:.1f} s")
        t = time.perf_counter()
        seeded = await seed_elsewhere(s, args)
        pairs = sum(len(g.due_dates) for g in seeded)
        print(
            f"setup: {len(seeded)} groups (Principal and Unum), {args.transactions} transactions "
            f"sent, completed at the sandbox and stored in {time.perf_counter() - t:.1f} s; "
            f"effective dates over {args.days} days, {pairs / len(seeded):.1f} distinct per group"
        )
        return await measure(s, seeded, args)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=None, help="default 10000")
    parser.add_argument("--groups", type=int, default=None, help="default 100")
    parser.add_argument("--days", type=int, default=90, help="effective dates 0..days-1 ahead")
    parser.add_argument(
        "--smoke", action="store_true", help="a quick look: 200 transactions in 4 groups"
    )
    parser.add_argument("--seed", type=int, default=7, help="draws the effective dates")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds to wait for every loop to end"
    )
    parser.add_argument(
        "--processing-delay",
        type=float,
        default=0.05,
        help="seconds the sandbox takes to complete a transaction (setup only)",
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="the sandbox's answer latency")
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="share of carrier requests the sandbox answers 503 (setup resends; turns retry)",
    )
    parser.add_argument("--setup-groups", type=int, default=8, help="groups set up at once")
    parser.add_argument("--sends", type=int, default=50, help="setup's carrier writes in flight")
    args = parser.parse_args(argv)
    defaults = SMOKE if args.smoke else {"transactions": 10000, "groups": 100}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.groups < 1 or args.transactions < args.groups or args.days < 1:
        parser.error("need --groups >= 1, --transactions >= --groups and --days >= 1")
    return args


def main() -> None:
    args = parse_args()
    try:
        asyncio.run(run(args))
    except (BenchError, httpx.HTTPError, RPCError) as exc:
        kind = "" if isinstance(exc, BenchError) else f"{type(exc).__name__}: "
        print(f"bench.confirmations: {kind}{exc}", file=sys.stderr)
        sys.stdout.flush()
        os._exit(1)


if __name__ == "__main__":
    main()
    # The SDK's environments can crash the interpreter at exit (STACK.md); skip its teardown.
    sys.stdout.flush()
    os._exit(0)
