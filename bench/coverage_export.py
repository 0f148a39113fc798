"""Coverage export benchmark: a census as of a date of a group of thousands of members.

    python -m bench.coverage_export [--employees 5000]
    python -m bench.coverage_export --smoke        # 200 employees

Self-contained: an embedded PostgreSQL in a temporary directory, migrated. Setup (not timed):
one group of `--employees` employees, each with a spouse, enrolled in dental (both) and vision
(the employee), stored as fulfillment leaves them: a member snapshot and a completed transaction
at Principal and at Unum. Written in bulk inserts, so seeding stays cheap.

Measured: `services.coverage_exports.build_export`, the body of the `build_coverage_export`
activity (what the workflow adds is one activity task), as of today; then the download as JSON
and as CSV. Printed: employees, records, build seconds, records per second, download seconds
and bytes of each format. Nothing printed names a person.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from carriers import principal, unum
from domain.coverage_exports import ExportFormat
from runtime.settings import Settings
from services import coverage_exports as service
from store import coverage_exports as store
from store.db import Database
from store.models import Group, Member, MemberSnapshot, MemberTransaction
from store.tenancy import ensure_organization
from tests.harness import start_embedded_postgres
from tools.admin import prepare_database

CARRIERS = (principal.INFO.id, unum.INFO.id)
DENTAL = uuid.uuid4()
VISION = uuid.uuid4()
BATCH = 1_000


def member_body(employee_id: uuid.UUID, spouse_id: uuid.UUID, n: int) -> dict[str, Any]:
    def enrolled(individual_id: uuid.UUID, kind: str) -> dict[str, Any]:
        return {
            "individual_id": str(individual_id),
            "individual_type": kind,
            "effective_start_date": "2026-01-01",
            "effective_end_date": "9999-12-31",
            "volume": None,
        }

    return {
        "employee": {
            "id": str(employee_id),
            "person": {"first_name": f"E{n}", "last_name": "Bench", "date_of_birth": "1980-01-01"},
            "employment": {"employment_status": "full-time"},
        },
        "dependents": [
            {
                "id": str(spouse_id),
                "person": {"first_name": f"S{n}", "last_name": "Bench"},
                "relationship": "spouse",
            }
        ],
        "coverages": [
            {
                "line_of_coverage": "dental",
                "plan_id": str(DENTAL),
                "carrier_plan_id": "DEN",
                "enrolled_members": [
                    enrolled(employee_id, "employee"),
                    enrolled(spouse_id, "dependent"),
                ],
            },
            {
                "line_of_coverage": "vision",
                "plan_id": str(VISION),
                "carrier_plan_id": "VIS",
                "enrolled_members": [enrolled(employee_id, "employee")],
            },
        ],
    }


async def seed(database: Database, employees: int) -> uuid.UUID:
    """One group of `employees`, each held at both carriers; returns the group's id."""
    now = int(time.time())
    async with database.transaction() as session:
        organization, _ = await ensure_organization(session, f"bench-{uuid.uuid4().hex[:8]}")
        group = Group(id=uuid.uuid4(), organization_id=organization.id, name="Bench Co")
        session.add(group)
        await session.flush()
        organization_id, group_id = organization.id, group.id
    for start in range(0, employees, BATCH):
        members, snapshots, transactions = [], [], []
        for n in range(start, min(start + BATCH, employees)):
            employee_id, spouse_id, snapshot_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            members.append(
                {
                    "id": employee_id,
                    "organization_id": organization_id,
                    "group_id": group_id,
                    "employee_id": employee_id,
                    "individual_type": "employee",
                    "custom_individual_id": f"e{n}",
                }
            )
            body = member_body(employee_id, spouse_id, n)
            snapshots.append(
                {
                    "id": snapshot_id,
                    "version": uuid.uuid4(),
                    "organization_id": organization_id,
                    "group_id": group_id,
                    "employee_id": employee_id,
                    "status": "completed",
                    "inbound_snapshot": "{}",
                    "member_snapshot": {},
                    "carrier_members": {},
                    "created_members": [],
                    "warnings": [],
                    "fulfillment_summary": [],
                    "workflow_id": f"bench-{snapshot_id}",
                    "created": now,
                    "modified": now,
                }
            )
            for carrier_id in CARRIERS:
                transactions.append(
                    {
                        "id": uuid.uuid4(),
                        "version": uuid.uuid4(),
                        "organization_id": organization_id,
                        "group_id": group_id,
                        "employee_id": employee_id,
                        "member_snapshot_id": snapshot_id,
                        "carrier_id": carrier_id,
                        "lines_of_coverage": ["dental", "vision"],
                        "transaction_type": "carrier_new_hire",
                        "status": "completed",
                        "body": {"member": body, "changes": []},
                        "result": {},
                        "status_details": [
                            {"status_detail": "carrier_completed", "event_created": now - 60}
                        ],
                        "created": now - 120,
                        "modified": now - 60,
                    }
                )
        async with database.transaction() as session:
            await session.execute(insert(Member), members)
            await session.execute(insert(MemberSnapshot), snapshots)
            await session.execute(insert(MemberTransaction), transactions)
    return group_id


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    server, url = await asyncio.to_thread(start_embedded_postgres, workdir / "pg")
    try:
        settings = Settings(database_url=url, _env_file=None)
        await prepare_database(settings)
        database = Database(url, pool_size=4)
        try:
            started = time.perf_counter()
            group_id = await seed(database, args.employees)
            print(f"seeded {args.employees} employees in {time.perf_counter() - started:.1f} s")
            today = datetime.now(UTC).date()
            async with database.transaction() as session:
                group = await session.get(Group, group_id)
                assert group is not None
                organization_id = group.organization_id
                export = await store.create(
                    session,
                    organization_id=organization_id,
                    group_id=group_id,
                    as_of=today,
                    carrier_ids=list(CARRIERS),
                    now=int(time.time()),
                    expires=int(time.time()) + 3600,
                )
                export_id = export.id
            started = time.perf_counter()
            built = await service.build_export(database, export_id)
            build_seconds = time.perf_counter() - started
            print(
                f"export built: {built.employees} employees, {built.records} records in "
                f"{build_seconds:.2f} s ({built.records / build_seconds:,.0f} records/s)"
            )
            for format in (ExportFormat.JSON, ExportFormat.CSV):
                started = time.perf_counter()
                _, body = await service.download(
                    database, organization_id=organization_id, export_id=export_id, format=format
                )
                print(
                    f"download {format}: {time.perf_counter() - started:.2f} s, "
                    f"{len(body.encode()) / 1e6:.1f} MB"
                )
        finally:
            await database.dispose()
    finally:
        await asyncio.to_thread(server.cleanup)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=5_000)
    parser.add_argument("--smoke", action="store_true", help="200 employees")
    args = parser.parse_args()
    if args.smoke:
        args.employees = 200
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
