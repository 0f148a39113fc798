"""Coverage exports: a census of a group as of a date, asked for, polled, then downloaded.

`POST /groups/{group_id}/coverage_exports` answers 202 with the export `processing` at 0%;
`GET /coverage_exports/{id}` follows `percentage_complete`; once `completed`,
`GET /coverage_exports/{id}/download?format=csv|json` gives every member and coverage each
carrier held that day (409 before). An export expires after a while (a setting): then, as for
another organization's or an unknown id, 404.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Response

from api import responses, schemas
from api.deps import DB, AppSettings, OrganizationId, TemporalClient
from api.openapi import ERROR_RESPONSES
from domain.coverage_exports import ExportFormat
from services import coverage_exports as service

router = APIRouter(prefix="/api/v1", tags=["coverage exports"], responses=ERROR_RESPONSES)


@router.post(
    "/groups/{group_id}/coverage_exports",
    status_code=202,
    response_model=responses.CoverageExport,
)
async def create_coverage_export(
    group_id: uuid.UUID,
    body: schemas.NewCoverageExport,
    organization_id: OrganizationId,
    db: DB,
    client: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Ask for a census of the group as of `as_of`; built in the background."""
    return await service.request_export(
        db,
        client,
        settings,
        organization_id=organization_id,
        group_id=group_id,
        as_of=body.as_of,
        carrier_ids=body.carrier_ids,
        today=dt.datetime.now(dt.UTC).date(),
    )


@router.get("/coverage_exports/{export_id}", response_model=responses.CoverageExport)
async def get_coverage_export(
    export_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """The export: how far it is (`percentage_complete`), and when it expires."""
    return await service.export_of(db, organization_id=organization_id, export_id=export_id)


@router.get(
    "/coverage_exports/{export_id}/download",
    response_model=responses.CoverageExportDownload,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def download_coverage_export(
    export_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    format: ExportFormat = ExportFormat.JSON,
) -> Response:
    """The completed export's records, as JSON (default) or CSV (`format=csv`)."""
    media_type, body = await service.download(
        db, organization_id=organization_id, export_id=export_id, format=format
    )
    return Response(
        content=body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="coverage-export-{export_id}.{format}"'
        },
    )
