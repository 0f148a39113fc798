"""CoverageExport: builds one census as of a date in the background, then ends.

The history holds the export's id and the counts only: the activity reads the members and
writes the records itself, so no person enters it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows import activity_refs
from workflows.common import BATCH_HEARTBEAT, STORE_RETRY

with workflow.unsafe.imports_passed_through():
    from domain.coverage_exports import ExportBuilt, ExportRun

WORKFLOW_NAME = "CoverageExport"
# Generous: a group of thousands is read in pages of hundreds, each a few queries; the
# heartbeat notices a dead worker long before.
BUILD_TIMEOUT = timedelta(minutes=30)


def workflow_id(export_id: object) -> str:
    return f"coverage-export/{export_id}"


@workflow.defn(name=WORKFLOW_NAME)
class CoverageExportWorkflow:
    @workflow.run
    async def run(self, input: ExportRun) -> ExportBuilt:
        built = await workflow.execute_activity_method(
            activity_refs.CoverageExportActivities.build_export,
            input,
            start_to_close_timeout=BUILD_TIMEOUT,
            heartbeat_timeout=BATCH_HEARTBEAT,
            retry_policy=STORE_RETRY,
        )
        workflow.set_current_details(f"{built.employees} employee(s), {built.records} record(s)")
        return built
