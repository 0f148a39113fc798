"""Census pull benchmark: connect a group whose carrier already holds thousands of members.

    .venv/bin/python -m bench.census [--members 5000] [--api URL --sandbox URL]

Against the running stack (`make run`). Connects a Principal group holding `--members` employees
(the sandbox's `188NNNN` IDs, `sandbox.census`) and, for comparison, a plain one holding none.
Prints for each the time from POST to `completed`, the connection workflow's history events (in
all, per member, and per census page beyond the first: the target is a constant number per page,
not per member), the worker's peak memory while it pulled, and checks that no member's SSN or
name from the census is in the history.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psutil
from temporalio.client import Client

from bench.snapshots import (
    BenchError,
    cpu_seconds,
    fresh_organization_token,
    principal_id,
    rss_mb,
    stack_processes,
)
from domain.census import CENSUS_PAGE_SIZE
from runtime.settings import get_settings
from workflows.connection import workflow_id

PRINCIPAL = "d0003042-eaae-4491-b219-4825456a3d16"
BROKER_FEIN = "123456789"


@dataclass
class Connected:
    carrier_group_id: str
    members: int
    seconds: float
    events: int
    peak_rss_mb: float
    # CPU the worker and PostgreSQL spent meanwhile: comparable on a busy machine, unlike time.
    worker_cpu_s: float
    postgres_cpu_s: float
    history: str


async def connect(
    api: httpx.AsyncClient, client: Client, carrier_group_id: str, *, within: float
) -> Connected:
    """Connect the group and wait for `completed`, sampling the worker's memory meanwhile."""
    processes = stack_processes()
    worker, postgres = processes.get("worker"), processes.get("postgres")
    peak = rss_mb(worker) if worker else 0.0
    cpu_before = [cpu_seconds(p) if p else 0.0 for p in (worker, postgres)]
    started = time.perf_counter()
    response = await api.post(
        "/api/v1/group_connections",
        json={
            "carrier_id": PRINCIPAL,
            "group_data": {
                "carrier_group_id": carrier_group_id,
                "group_name": "Census Bench Co",
                "broker_federal_ein": BROKER_FEIN,
            },
        },
    )
    if response.status_code != 201:
        raise BenchError(f"connection refused: {response.status_code} {response.text}")
    connection = response.json()
    url = f"/api/v1/group_connections/{connection['id']}"
    while True:
        status = (await api.get(url)).json()["status"]
        if worker:
            try:
                peak = max(peak, rss_mb(worker))
            except psutil.Error:
                worker = None
        if status == "completed":
            break
        if time.perf_counter() - started > within:
            raise BenchError(f"{carrier_group_id} still {status} after {within:.0f} s")
        await asyncio.sleep(0.2)
    seconds = time.perf_counter() - started
    worker_cpu, postgres_cpu = (
        (cpu_seconds(p) if p else 0.0) - before
        for p, before in zip((worker, postgres), cpu_before, strict=True)
    )
    handle = client.get_workflow_handle(
        workflow_id(
            uuid.UUID(connection["organization_id"]), uuid.UUID(PRINCIPAL), carrier_group_id
        )
    )
    history = await handle.fetch_history()
    employees = await api.get(
        f"/api/v1/groups/{connection['group_id']}/employees", params={"page_size": 1}
    )
    return Connected(
        carrier_group_id=carrier_group_id,
        members=employees.json()["meta"]["total_records"],
        seconds=seconds,
        events=len(history.events),
        peak_rss_mb=peak,
        worker_cpu_s=worker_cpu,
        postgres_cpu_s=postgres_cpu,
        history=decoded_history(history.to_json_dict()),
    )


def decoded_history(node: Any) -> str:
    """Every payload of the history, decoded (they are base64 in its JSON), one per line."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            data = value.get("data")
            if isinstance(data, str) and "metadata" in value:
                found.append(base64.b64decode(data).decode(errors="replace"))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    return "\n".join(found)


async def census_people(sandbox: httpx.AsyncClient, carrier_group_id: str) -> list[str]:
    """The first page's SSNs and last names: what must never be in history."""
    body = (await sandbox.get(f"/principal/groups/{carrier_group_id}/census")).json()
    found: list[str] = []
    for member in body["members"]:
        person: dict[str, Any] = member["employee"]["person"]
        found += [person["ssn"], f'"{person["last_name"]}"']
    return found


async def run(args: argparse.Namespace) -> None:
    if not 1 <= args.members < 10_000:
        raise BenchError("--members must be between 1 and 9999 (a 7-digit Principal ID)")
    token = args.token or await fresh_organization_token("bench-census")
    settings = get_settings()
    client = await Client.connect(settings.temporal_target, namespace=settings.temporal_namespace)
    async with (
        httpx.AsyncClient(
            base_url=args.api, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as api,
        httpx.AsyncClient(base_url=args.sandbox, timeout=120) as sandbox,
    ):
        try:
            await api.get("/ping")
            await sandbox.get("/_sandbox/stats")
        except httpx.HTTPError as exc:
            raise BenchError(
                f"the stack does not answer ({exc}); start it with `make run`"
            ) from None
        census_id = f"188{args.members:04d}"
        people = await census_people(sandbox, census_id)
        plain = await connect(api, client, principal_id(), within=args.timeout)
        census = await connect(api, client, census_id, within=args.timeout)
    pages = max(math.ceil(census.members / CENSUS_PAGE_SIZE), 1)
    for result in (plain, census):
        print(
            f"{result.carrier_group_id}: {result.members} members, completed in "
            f"{result.seconds:.1f} s, {result.events} history events, worker peak "
            f"{result.peak_rss_mb:.0f} MB, CPU worker {result.worker_cpu_s:.1f} s + "
            f"PostgreSQL {result.postgres_cpu_s:.1f} s"
        )
    extra = census.events - plain.events
    print(
        f"census of {census.members}: {pages} page(s) of {CENSUS_PAGE_SIZE}; "
        f"{census.events / max(census.members, 1):.3f} events per member; "
        f"{extra} events more than an empty census = {extra / pages:.1f} per page"
    )
    leaked = [value for value in people if value in census.history]
    print(f"people in history: {len(leaked)} of {len(people)} values checked")
    if leaked:
        raise BenchError("census people found in workflow history")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api", default=None, help="default: the settings' API port")
    parser.add_argument("--sandbox", default=None, help="default: the settings' sandbox port")
    parser.add_argument("--token", default=None, help="default: a fresh organization's")
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    settings = get_settings()
    args.api = args.api or f"http://127.0.0.1:{settings.api_port}"
    args.sandbox = args.sandbox or f"http://127.0.0.1:{settings.sandbox_port}"
    try:
        asyncio.run(run(args))
    except BenchError as exc:
        raise SystemExit(f"bench.census: {exc}") from None


if __name__ == "__main__":
    main()
