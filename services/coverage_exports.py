"""Coverage exports' use cases: ask for a census as of a date, build it, read and download it.

The request stores the export (`processing`) and starts its `CoverageExport` workflow, whose
activity builds it here page by page: each page of employees is read as each carrier held
them that day (`store.coverage_exports.held_members`) and written as records in one
transaction with the new `percentage_complete`. Exports expire after
`settings.coverage_export_ttl`; an expired one is 404, as if it never was, and is deleted by
the next request. Records hold PII: logs and the workflow carry ids and counts only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import time
import uuid
from typing import Any

from temporalio.client import Client

from carriers.registry import CARRIERS
from domain.coverage_exports import (
    COLUMNS,
    EXPORT_PAGE,
    ExportBuilt,
    ExportFormat,
    ExportRun,
    ExportStatus,
    census_records,
    percentage,
)
from domain.errors import Conflict, ValidationFailed
from runtime.settings import Settings
from store import coverage_exports as store
from store.db import Database
from store.models import Group
from store.tenancy import owned
from workflows.coverage_export import CoverageExportWorkflow, workflow_id

log = logging.getLogger("carrierlink.coverage_exports")


async def request_export(
    db: Database,
    client: Client,
    settings: Settings,
    *,
    organization_id: uuid.UUID,
    group_id: uuid.UUID,
    as_of: dt.date,
    carrier_ids: list[uuid.UUID] | None,
    today: dt.date,
) -> dict[str, Any]:
    """Store the export and start building it; the export as it stands (`processing`, 0%).

    `carrier_ids` default to every registered carrier; an unknown one, or a date after
    `today`, is refused naming the field.
    """
    if as_of > today:
        raise ValidationFailed.one("as_of", "must be today or earlier: held, not planned")
    carriers = list(dict.fromkeys(carrier_ids)) if carrier_ids else sorted(CARRIERS, key=str)
    unknown = [c for c in carriers if c not in CARRIERS]
    if unknown:
        raise ValidationFailed.one("carrier_ids", f"unknown carrier {unknown[0]}")
    now = int(time.time())
    async with db.transaction() as session:
        await owned(session, Group, group_id, organization_id, what="group")
        await store.drop_expired(session, now=now)
        row = await store.create(
            session,
            organization_id=organization_id,
            group_id=group_id,
            as_of=as_of,
            carrier_ids=carriers,
            now=now,
            expires=now + int(settings.coverage_export_ttl.total_seconds()),
        )
        contract = row.as_contract()
    await client.start_workflow(
        CoverageExportWorkflow.run,
        ExportRun(export_id=row.id),
        id=workflow_id(row.id),
        task_queue=settings.task_queue,
    )
    return contract


async def build_export(db: Database, export_id: uuid.UUID) -> ExportBuilt:
    """Build the export from scratch (a retry starts over): a page of employees per
    transaction, the percentage after each, `completed` at the end."""
    async with db.transaction() as session:
        row = await store.export_for_build(session, export_id)
        if row is None:
            return ExportBuilt(employees=0, records=0)  # expired and deleted meanwhile
        row.record_count = 0
        row.employees = 0
        row.percentage_complete = 0
        total = await store.count_employees(session, row.group_id)
        group_id, carrier_ids, as_of = row.group_id, list(row.carrier_ids), row.as_of
    after: uuid.UUID | None = None
    done = 0
    while True:
        async with db.transaction() as session:
            row = await store.export_for_build_page(session, export_id)
            if row is None:
                return ExportBuilt(employees=done, records=0)
            employees = await store.employee_page(session, group_id, after=after, limit=EXPORT_PAGE)
            held = await store.held_members(
                session,
                group_id=group_id,
                carrier_ids=carrier_ids,
                employee_ids=employees,
                as_of=as_of,
            )
            await store.add_records(
                session, row, [r for member in held for r in census_records(member, as_of)]
            )
            done += len(employees)
            row.employees = done
            finished = len(employees) < EXPORT_PAGE
            row.percentage_complete = 100 if finished else min(99, percentage(done, total))
            row.modified = int(time.time())
            if finished:
                row.status = ExportStatus.COMPLETED.value
                row.completed = row.modified
            records = row.record_count
        if finished:
            log.info("coverage export %s: %d employee(s), %d record(s)", export_id, done, records)
            return ExportBuilt(employees=done, records=records)
        after = employees[-1]


async def export_of(
    db: Database, *, organization_id: uuid.UUID, export_id: uuid.UUID
) -> dict[str, Any]:
    async with db.transaction() as session:
        row = await store.owned_export(session, export_id, organization_id, now=int(time.time()))
        return row.as_contract()


async def download(
    db: Database, *, organization_id: uuid.UUID, export_id: uuid.UUID, format: ExportFormat
) -> tuple[str, str]:
    """The completed export as `format`: its media type and body. 409 while it is building."""
    async with db.transaction() as session:
        row = await store.owned_export(session, export_id, organization_id, now=int(time.time()))
        if row.status != ExportStatus.COMPLETED.value:
            raise Conflict(
                "coverage export not completed yet",
                percentage_complete=row.percentage_complete,
            )
        contract = row.as_contract()
        records = await store.records(session, export_id)
    if format is ExportFormat.JSON:
        body = {
            key: contract[key] for key in ("id", "group_id", "as_of", "carrier_ids", "completed")
        }
        return "application/json", json.dumps({**body, "records": records})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return "text/csv", out.getvalue()
