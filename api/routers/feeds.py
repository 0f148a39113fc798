"""`/api/v1/feeds` and `/api/v1/feed_runs`: file carriers' feeds, their runs, and run files."""

from __future__ import annotations

import calendar
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api import responses
from api.deps import DB, AppSettings, OrganizationId, TemporalClient
from api.openapi import ERROR_RESPONSES
from api.params import Page, Paging, csv_choices, day_param
from api.schemas import FeedEdit
from domain.feeds import FeedRunStatus
from services import feeds
from services.feed_files import FILE_LINK_PREFIX, FeedFileStore, FileLinks
from store import feeds as reads

router = APIRouter(prefix="/api/v1/feeds", tags=["feeds"], responses=ERROR_RESPONSES)
runs_router = APIRouter(prefix="/api/v1/feed_runs", tags=["feeds"], responses=ERROR_RESPONSES)
files_router = APIRouter(prefix=FILE_LINK_PREFIX)


@router.get("", response_model=Page[responses.Feed])
async def list_feeds(
    organization_id: OrganizationId, db: DB, page: Paging, group_id: uuid.UUID | None = None
) -> Page[Any]:
    """The organization's feeds to file carriers (one per group and carrier)."""
    async with db.transaction() as session:
        rows, total = await reads.list_feeds(
            session,
            organization_id,
            group_id=group_id,
            offset=page.offset,
            limit=page.page_size,
        )
        return Page.of([row.as_contract() for row in rows], page, total)


@router.get("/{feed_id}", response_model=responses.Feed)
async def get_feed(feed_id: uuid.UUID, organization_id: OrganizationId, db: DB) -> dict[str, Any]:
    """One feed: its schedule (RRULE at a local time), whether it is paused or in testing."""
    return await feeds.feed_contract(db, organization_id=organization_id, feed_id=feed_id)


@router.put("/{feed_id}/{version}", response_model=responses.Feed)
async def edit_feed(
    feed_id: uuid.UUID,
    version: uuid.UUID,
    body: FeedEdit,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Pause or resume the feed, or change when it runs (409 if `version` is not current)."""
    return await feeds.edit_feed(
        db,
        temporal,
        settings,
        organization_id=organization_id,
        feed_id=feed_id,
        version=version,
        changes=body.model_dump(exclude_unset=True, exclude_none=True),
    )


@router.post("/{feed_id}/runs", status_code=201, response_model=responses.FeedRun)
async def run_feed(
    feed_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Run the feed now: its pending changes (or everyone, in full mode) in a new file."""
    return await feeds.start_run(
        db, temporal, settings, organization_id=organization_id, feed_id=feed_id
    )


@runs_router.get("", response_model=Page[responses.FeedRun])
async def list_feed_runs(
    organization_id: OrganizationId,
    db: DB,
    page: Paging,
    feed_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    status: Annotated[str | None, Query(description="CSV of run statuses")] = None,
    created_min_date: str | None = None,
    created_max_date: str | None = None,
) -> Page[Any]:
    """The organization's feed runs, newest first; filters by feed, group, status and dates."""
    statuses = csv_choices(status, "status", [s.value for s in FeedRunStatus])
    low = day_param(created_min_date, "created_min_date")
    high = day_param(created_max_date, "created_max_date")
    async with db.transaction() as session:
        rows, total = await reads.list_runs(
            session,
            organization_id,
            feed_id=feed_id,
            group_id=group_id,
            statuses=statuses,
            created_min=_unix(low) if low else None,
            created_max=_unix(high) + 86_399 if high else None,
            offset=page.offset,
            limit=page.page_size,
        )
        return Page.of([row.as_contract() for row in rows], page, total)


@runs_router.get("/{run_id}", response_model=responses.FeedRun)
async def get_feed_run(
    run_id: uuid.UUID, organization_id: OrganizationId, db: DB
) -> dict[str, Any]:
    """One run: its file's counts and control numbers, when it was sent, the 999."""
    return await feeds.run_contract(db, organization_id=organization_id, run_id=run_id)


@runs_router.post("/{run_id}/resend", response_model=responses.FeedRun)
async def resend_feed_run(
    run_id: uuid.UUID,
    organization_id: OrganizationId,
    db: DB,
    temporal: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    """Send the run's file again: the same file under the same control numbers."""
    return await feeds.resend_run(
        db, temporal, settings, organization_id=organization_id, run_id=run_id
    )


@runs_router.get("/{run_id}/file", response_model=responses.FeedRunFileLink)
async def feed_run_file(
    run_id: uuid.UUID,
    request: Request,
    organization_id: OrganizationId,
    db: DB,
    settings: AppSettings,
) -> dict[str, Any]:
    """A signed link to the run's file, valid for 300 s (the file holds PII)."""
    path, expires = await feeds.file_link(
        db,
        FileLinks.from_settings(settings),
        FeedFileStore.from_settings(settings),
        organization_id=organization_id,
        run_id=run_id,
    )
    return {"url": str(request.base_url).rstrip("/") + path, "expires": expires}


# The link's target: not an API operation (no token, no JSON), so not in the OpenAPI document.
@files_router.get("/{run_id}", response_class=Response, include_in_schema=False)
async def feed_run_file_content(
    run_id: uuid.UUID, expires: int, signature: str, settings: AppSettings
) -> Response:
    """The file behind a signed link (no token: the link is the credential); 404 once expired."""
    content = feeds.file_content(
        FileLinks.from_settings(settings),
        FeedFileStore.from_settings(settings),
        run_id=run_id,
        expires=expires,
        signature=signature,
    )
    return Response(content, media_type="application/edi-x12")


def _unix(day: date) -> int:
    return calendar.timegm(day.timetuple())
