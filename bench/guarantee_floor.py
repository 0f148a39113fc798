"""The guarantee floor (issue 23): the least a pipeline can spend per carrier transaction while
keeping the engine's guarantees, measured on the same stack as the engine.

`bench.snapshots` runs it after its floor, with the transactions its measured phase sent, unless
`--no-guarantee-floor`. The floor (a plain asyncio loop writing to the carrier) keeps none of
the guarantees; this pipeline keeps each of them and does nothing else:

- **Nothing accepted is lost:** a snapshot's transactions are POSTed over HTTP (uvicorn, as the
  API is served) and stored in PostgreSQL, with a status-history row each, in one statement
  before the answer.
- **Durable orchestration in Temporal:** one workflow per group (`GuaranteeFloorGroup`), woken
  by intake with signal-with-start only when its wake flag was clear, as the engine's wakes are.
  Each turn is one local activity, the cheapest step Temporal records.
- **Keys stored before sending:** a turn claims its group's stored transactions, giving each an
  idempotency key, and commits that before it sends; a turn after a crash sends what is claimed
  and unsent again with the same key.
- **Stored transactions with status history:** every status change writes the transaction and
  a history row in the same statement.
- **Round-trip confirmation:** each sent transaction is asked about at the carrier until it is
  finished, then the member is read back and compared (`domain.confirmation.compare_member`).
- **PII out of history:** workflow inputs and results are the group's key and counts.

What it leaves out is everything else the engine does: authentication, validating a snapshot
against the carrier's rules, diffing it against the member's last one, expected differences,
webhooks, metrics and logs. Statements are hand-written SQL run by asyncpg, batched per turn.

It serves from its own process (`python -m bench.guarantee_floor serve ...`, started and stopped
by the phase), so its CPU is its own; its tables live in their own schema, dropped when it stops.
Its figure: the CPU of that process, Temporal and PostgreSQL per transaction confirmed, against
the floor's CPU per write.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import datetime as dt
import json
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import psutil
import uvicorn
import uvloop
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from bench.guarantee_floor_workflow import QUEUE, TURN, GuaranteeFloorGroup, Turn
from carriers import CARRIERS, CarrierRejected, CarrierUnavailable, carrier_adapters
from domain.confirmation import compare_member
from domain.members import CarrierMember, CarrierTransactionState
from runtime.serving import KEEP_ALIVE_SECONDS
from store.db import asyncpg_dsn
from tests.harness import free_port
from tools.processes import ManagedProcess, http_ok

Json = dict[str, Any]
SCHEMA = "bench_guarantee_floor"
# A sent transaction is first asked about this long after it was sent, then this often.
ASK_AFTER = dt.timedelta(seconds=2)

_TABLES = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.tx (
    id uuid PRIMARY KEY,
    grp text NOT NULL,
    carrier uuid NOT NULL,
    carrier_group text NOT NULL,
    kind text NOT NULL,
    member jsonb NOT NULL,
    status text NOT NULL,
    idempotency_key text,
    carrier_tx text,
    due timestamptz
);
CREATE INDEX ON {SCHEMA}.tx (grp, status);
CREATE TABLE {SCHEMA}.history (
    tx uuid NOT NULL REFERENCES {SCHEMA}.tx,
    status text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {SCHEMA}.wake (grp text PRIMARY KEY, signalled boolean NOT NULL);
"""

# Intake: the transactions and their first history rows, and the wake flag set; the one row
# back says whether this request set it (then it signals the group's workflow).
_INTAKE = f"""
WITH stored AS (
    INSERT INTO {SCHEMA}.tx (id, grp, carrier, carrier_group, kind, member, status)
    SELECT id, $1, carrier, carrier_group, kind, member::jsonb, 'stored'
    FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[])
        AS t(id, carrier, carrier_group, kind, member)
    RETURNING id
), logged AS (
    INSERT INTO {SCHEMA}.history (tx, status) SELECT id, 'stored' FROM stored
), woken AS (
    INSERT INTO {SCHEMA}.wake (grp, signalled) VALUES ($1, true)
    ON CONFLICT (grp) DO UPDATE SET signalled = true WHERE NOT {SCHEMA}.wake.signalled
    RETURNING grp
)
SELECT count(*) FROM woken
"""

# A turn's claim: every stored transaction given its key, and whatever an earlier attempt
# claimed and did not record as sent (the CTEs all see the statement's snapshot: `unsent` holds
# only what was claimed before).
_CLAIM = f"""
WITH claimed AS (
    UPDATE {SCHEMA}.tx SET status = 'sending', idempotency_key = gen_random_uuid()::text
    WHERE grp = $1 AND status = 'stored'
    RETURNING id, carrier, carrier_group, kind, member, idempotency_key
), logged AS (
    INSERT INTO {SCHEMA}.history (tx, status) SELECT id, 'sending' FROM claimed
), unsent AS (
    SELECT id, carrier, carrier_group, kind, member, idempotency_key
    FROM {SCHEMA}.tx WHERE grp = $1 AND status = 'sending'
)
SELECT id, carrier, carrier_group, kind, member::text, idempotency_key FROM claimed
UNION ALL
SELECT id, carrier, carrier_group, kind, member::text, idempotency_key FROM unsent
"""

# Status changes, each with its history row: ids, statuses, carrier ids, when next to ask.
_RECORD = f"""
WITH changed AS (
    UPDATE {SCHEMA}.tx SET status = v.status, carrier_tx = coalesce(v.carrier_tx, tx.carrier_tx),
        due = v.due
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
        AS v(id, status, carrier_tx, due)
    WHERE tx.id = v.id AND tx.status IS DISTINCT FROM v.status
    RETURNING tx.id, tx.status
)
INSERT INTO {SCHEMA}.history (tx, status) SELECT id, status FROM changed
"""

_DUE = f"""
SELECT id, carrier, carrier_group, carrier_tx, member::text FROM {SCHEMA}.tx
WHERE grp = $1 AND status = 'sent' AND due <= now()
"""

# A turn's end, in one transaction: the wake flag locked first, so an intake that sets it
# either committed before (its transactions are counted here) or waits and sees what this sets.
_LOCK_WAKE = f"SELECT 1 FROM {SCHEMA}.wake WHERE grp = $1 FOR UPDATE"
_LEFT = f"""
SELECT count(*), count(*) FILTER (WHERE status <> 'sent'),
    greatest(extract(epoch FROM min(due) - now()), 0)::float8
FROM {SCHEMA}.tx WHERE grp = $1 AND status IN ('stored', 'sending', 'sent')
"""
_SET_WAKE = f"UPDATE {SCHEMA}.wake SET signalled = $2 WHERE grp = $1"

_PROGRESS = f"SELECT status, count(*) FROM {SCHEMA}.tx GROUP BY status"

# Seconds from stored to sent (the carrier's answer to the write), percentiles 50, 90, 99.
_LATENCY = f"""
SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99])
    WITHIN GROUP (ORDER BY extract(epoch FROM s.at - t.at))
FROM {SCHEMA}.history t JOIN {SCHEMA}.history s ON s.tx = t.tx AND s.status = 'sent'
WHERE t.status = 'stored'
"""


@dataclass
class _Change:
    id: UUID
    status: str
    carrier_tx: str | None = None
    due: dt.datetime | None = None


class Turns:
    """The one activity: a group's turn (claim, send, record, confirm what is due)."""

    def __init__(self, pool: asyncpg.Pool, adapters: Any) -> None:
        self._pool = pool
        self._adapters = adapters
        self.taken = 0

    @activity.defn(name=TURN)
    async def turn(self, group: str) -> Turn:
        self.taken += 1
        async with self._pool.acquire() as connection:
            claimed = await connection.fetch(_CLAIM, group)
            changes = await asyncio.gather(*(self._send(row) for row in claimed))
            due = await connection.fetch(_DUE, group)
            changes += await asyncio.gather(*(self._confirm(row) for row in due))
            await self._record(connection, [c for c in changes if c is not None])
            async with connection.transaction():
                await connection.execute(_LOCK_WAKE, group)
                left, unsent, next_due = await connection.fetchrow(_LEFT, group)
                # Set while anything is open: the loop turns again without a signal.
                await connection.execute(_SET_WAKE, group, left > 0)
        return Turn(open=left, next_in=0.0 if unsent else (next_due or 0.0))

    async def _send(self, row: asyncpg.Record) -> _Change | None:
        try:
            receipt = await self._adapters[row["carrier"]].send_member_transaction(
                row["carrier_group"],
                transaction_id=str(row["id"]),
                transaction_type=row["kind"],
                member=CarrierMember.model_validate_json(row["member"]),
                idempotency_key=row["idempotency_key"],
            )
        except CarrierRejected:
            return _Change(row["id"], "failed")
        except CarrierUnavailable:
            return None  # still claimed: the next turn sends it again with its key
        return _Change(row["id"], "sent", receipt.id, _now() + ASK_AFTER)

    async def _confirm(self, row: asyncpg.Record) -> _Change | None:
        carrier = self._adapters[row["carrier"]]
        try:
            status = await carrier.member_transaction_status(
                row["carrier_group"], row["carrier_tx"]
            )
            if not status.status.finished:
                return _Change(row["id"], "sent", due=_now() + ASK_AFTER)
            if status.status is CarrierTransactionState.FAILED:
                return _Change(row["id"], "failed")
            sent = CarrierMember.model_validate_json(row["member"])
            held = await carrier.fetch_member(row["carrier_group"], sent.employee.id)
        except CarrierUnavailable:
            return None
        found = compare_member(
            sent,
            held.as_member() if held is not None else None,
            carrier=CARRIERS[row["carrier"]].slug,
            today=dt.date.today(),
        )
        return _Change(row["id"], "differs" if found else "confirmed")

    async def _record(self, connection: asyncpg.Connection, changes: list[_Change]) -> None:
        if changes:
            await connection.execute(
                _RECORD,
                [c.id for c in changes],
                [c.status for c in changes],
                [c.carrier_tx for c in changes],
                [c.due for c in changes],
            )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the server (its own process) ----------------------------------------------------------------

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Intake:
    """A bare ASGI app: POST /groups/{key}/snapshots stores a snapshot's transactions and wakes
    the group; GET /progress counts transactions by status, turns and wakes; GET /ready answers
    once serving."""

    def __init__(self, pool: asyncpg.Pool, client: Client, run: str, turns: Turns) -> None:
        self._pool = pool
        self._client = client
        self._run = run
        self._turns = turns
        self.signals = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if method == "POST" and path.startswith("/groups/") and path.endswith("/snapshots"):
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            answer = await self._store(path.split("/")[2], json.loads(body))
            await _reply(send, 202, answer)
        elif method == "GET" and path == "/progress":
            rows = await self._pool.fetch(_PROGRESS)
            counts = {row["status"]: row["count"] for row in rows}
            counts.update(turns=self._turns.taken, signals=self.signals)
            if "latency" in scope["query_string"].decode():
                counts["latency"] = await self._pool.fetchval(_LATENCY)
            await _reply(send, 200, counts)
        elif method == "GET" and path == "/ready":
            await _reply(send, 200, {"ready": True})
        else:
            await _reply(send, 404, {"detail": "not found"})

    async def _store(self, group: str, snapshot: Json) -> Json:
        transactions = snapshot["transactions"]
        ids = [uuid.uuid4() for _ in transactions]
        woken = await self._pool.fetchval(
            _INTAKE,
            group,
            ids,
            [UUID(t["carrier_id"]) for t in transactions],
            [t["carrier_group_id"] for t in transactions],
            [t["transaction_type"] for t in transactions],
            [json.dumps(t["member"]) for t in transactions],
        )
        if woken:
            self.signals += 1
            await self._client.start_workflow(
                GuaranteeFloorGroup.run,
                group,
                id=f"{self._run}-{group}",
                task_queue=QUEUE,
                start_signal="wake",
            )
        return {"ids": [str(i) for i in ids]}


async def _reply(send: Send, status: int, document: Json) -> None:
    body = json.dumps(document).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def serve(args: argparse.Namespace) -> None:
    pool = await asyncpg.create_pool(
        asyncpg_dsn(args.database_url), min_size=2, max_size=args.pool_size
    )
    assert pool is not None
    await pool.execute(_TABLES)
    client = await Client.connect(args.temporal, namespace=args.namespace)
    base_urls = {info.slug: f"{args.sandbox}/{info.slug}" for info in CARRIERS.values()}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with carrier_adapters(base_urls, timeout_seconds=120, connections=100) as adapters:
            turns = Turns(pool, adapters)
            config = uvicorn.Config(
                Intake(pool, client, args.run, turns),
                host="127.0.0.1",
                port=args.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_keep_alive=KEEP_ALIVE_SECONDS,
            )
            server = uvicorn.Server(config)
            async with Worker(
                client,
                task_queue=QUEUE,
                workflows=[GuaranteeFloorGroup],
                activities=[turns.turn],
                max_concurrent_activities=200,
            ):
                serving = asyncio.create_task(server.serve())
                await stop.wait()
                server.should_exit = True
                await serving
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await pool.close()


# --- the phase (run from bench.snapshots) --------------------------------------------------------


@dataclass
class Measured:
    settled: int  # transactions confirmed, found to differ, or refused by the carrier
    cpu_used: dict[str, float]  # CPU seconds: "server" (this floor's process), temporal, postgres

    @property
    def cpu_ms(self) -> float:
        """The server's, Temporal's and PostgreSQL's CPU-ms per transaction settled."""
        spent = sum(self.cpu_used.get(name, 0.0) for name in ("server", "temporal", "postgres"))
        return 1000 * spent / max(self.settled, 1)


def snapshots_of(transactions: list[Json]) -> list[tuple[str, Json]]:
    """The measured phase's transactions as the snapshots they came from, each for a fresh
    employee (so the carrier takes them as new): (group key, body)."""
    by_snapshot: dict[str, list[Json]] = {}
    for t in transactions:
        by_snapshot.setdefault(t["member_snapshot_id"], []).append(t)
    posts = []
    for members in by_snapshot.values():
        employee = str(uuid.uuid4())
        body = []
        for t in members:
            member = copy.deepcopy(t["body"]["member"])
            member["employee"]["id"] = employee
            body.append(
                {
                    "carrier_id": t["carrier_id"],
                    "carrier_group_id": t["result"]["carrier_group_id"],
                    "transaction_type": t["transaction_type"],
                    "member": member,
                }
            )
        posts.append((members[0]["group_id"], {"transactions": body}))
    return posts


@contextlib.asynccontextmanager
async def running_server(
    *, database_url: str, temporal: str, namespace: str, sandbox: str, run: str
) -> AsyncIterator[tuple[psutil.Process, str]]:
    """This floor's server in its own process (`tools.processes`), until the block ends."""
    port = free_port()
    server = ManagedProcess(
        "guarantee-floor",
        [
            sys.executable,
            "-m",
            "bench.guarantee_floor",
            "serve",
            f"--database-url={database_url}",
            f"--temporal={temporal}",
            f"--namespace={namespace}",
            f"--sandbox={sandbox}",
            f"--port={port}",
            f"--run={run}",
        ],
        # Its SDK warns of every turn longer than 5 s (TMPRL1104: a local activity keeps its
        # workflow task open): the log keeps that out of the bench's report.
        log_path=Path(tempfile.gettempdir()) / f"{run}.log",
        stop_timeout=30,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        server.start()
        print(f"guarantee floor: serving on {url}, log {server.log_path}")
        await asyncio.to_thread(server.wait_ready, http_ok(f"{url}/ready"), 60)
        assert server.pid is not None
        yield psutil.Process(server.pid), url
    finally:
        await asyncio.to_thread(server.stop)


async def finish_runs(client: Client, run: str, groups: set[str]) -> None:
    """Ends the runs this phase left waiting (their worker is gone with the server)."""
    for group in groups:
        with contextlib.suppress(RPCError):
            await client.get_workflow_handle(f"{run}-{group}").terminate("guarantee floor done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("serve", help="this floor's server (started by bench.snapshots)")
    server.add_argument("--database-url", required=True)
    server.add_argument("--temporal", required=True)
    server.add_argument("--namespace", default="default")
    server.add_argument("--sandbox", required=True)
    server.add_argument("--port", type=int, required=True)
    server.add_argument("--run", required=True, help="prefix of its workflow ids")
    server.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    uvloop.run(serve(args))  # as the worker runs, and as uvicorn serves the API


if __name__ == "__main__":
    main()
