"""Coverage exports: build one (a census as of a date) page by page; PII stays in PostgreSQL."""

from __future__ import annotations

from temporalio import activity

from activities.heartbeat import heartbeats
from domain.coverage_exports import ExportBuilt, ExportRun
from services import coverage_exports as service
from store.db import Database


class CoverageExportActivities:
    def __init__(self, database: Database) -> None:
        self._db = database

    @activity.defn(name="build_coverage_export")
    @heartbeats
    async def build_export(self, run: ExportRun) -> ExportBuilt:
        return await service.build_export(self._db, run.export_id)
