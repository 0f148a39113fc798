"""Probes and metrics, unauthenticated: `/healthz` (alive), `/readyz` (dependencies), `/metrics`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api import responses
from api.deps import DB, AppSettings, TemporalClient
from services import operations

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=responses.Health)
async def alive() -> dict[str, Any]:
    """The process answers; nothing else is checked (a liveness probe must not restart the API
    because PostgreSQL is down)."""
    return {"status": "ok", "checks": {}}


@router.get(
    "/readyz",
    response_model=responses.Health,
    responses={503: {"model": responses.Health, "description": "A dependency is not ready"}},
)
async def ready(db: DB, temporal: TemporalClient) -> JSONResponse:
    """PostgreSQL and Temporal reachable and the schema at the code's head; 503 otherwise."""
    checks = await operations.readiness(db, temporal)
    ok = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )


# Prometheus text exposition, not JSON, for a scraper: an operational endpoint a client generator
# should not see, so it stays out of the document (whose every operation answers a JSON model).
@router.get("/metrics", include_in_schema=False, response_class=PlainTextResponse)
async def metrics(request: Request, db: DB, settings: AppSettings) -> Response:
    figures = await operations.business_figures(db, limits=settings.overdue_limits())
    api_metrics = request.app.state.metrics
    return Response(api_metrics.render(figures), media_type=api_metrics.content_type)
