"""The FastAPI application: wiring of settings, database and Temporal client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import docs, openapi
from api.access import AccessLog
from api.errors import install_error_handlers
from api.idempotency import Idempotency
from api.limits import RequestLimits
from api.metrics import ApiMetrics, RequestMetrics
from api.responses import Pong
from api.routers import (
    admin,
    audits,
    auth,
    carriers,
    connections,
    coverage_exports,
    differences,
    disconnections,
    employees,
    feeds,
    group_data,
    groups,
    health,
    member_snapshots,
    member_transactions,
    members,
    renewal_decisions,
    snapshot_intake,
    webhooks,
)
from runtime import temporal
from runtime.settings import Settings, get_settings
from services.wakes import Wakes
from store.db import Database


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    temporal_client: Client | None = None,
) -> FastAPI:
    """Build the app; tests hand in their own database and client, production builds them."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        app.state.database = database or Database(
            settings.require_database_url(), pool_size=settings.database_pool_size
        )
        # Lazy: the API answers reads while Temporal restarts; calls that need it fail then.
        app.state.temporal = temporal_client or await temporal.connect(settings, lazy=True)
        app.state.wakes = Wakes(app.state.temporal, settings)
        try:
            yield
        finally:
            if owned:
                await app.state.database.dispose()

    app = FastAPI(
        title="carrierlink",
        version="0.1.0",
        summary="Connect employer groups to insurance carriers.",
        lifespan=lifespan,
        # Served from installed files by api/docs.py, not FastAPI's CDN pages.
        docs_url=None,
        redoc_url=None,
        # Operation ids are the handlers' names (`get_connection`), what a generated client calls.
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Added first, so it runs inside RequestLimits: only bodies that passed the limits are keyed.
    app.add_middleware(Idempotency)
    app.add_middleware(RequestLimits, **RequestLimits.options(settings))
    app.state.metrics = ApiMetrics()
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(AccessLog)  # outermost of ours: refusals of RequestLimits are logged too

    @app.get("/ping", tags=["health"], response_model=Pong)
    async def ping() -> dict[str, str]:
        """Liveness: answers while the process serves, without touching the database."""
        return {"status": "ok"}

    app.include_router(health.router)
    app.include_router(carriers.router)
    app.include_router(connections.router)
    app.include_router(groups.router)
    app.include_router(group_data.router)
    app.include_router(audits.router)
    app.include_router(disconnections.router)
    app.include_router(snapshot_intake.router)
    app.include_router(member_snapshots.router)
    app.include_router(member_transactions.router)
    app.include_router(employees.router)
    app.include_router(members.router)
    app.include_router(differences.router)
    app.include_router(coverage_exports.router)
    app.include_router(renewal_decisions.router)
    app.include_router(webhooks.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(feeds.router)
    app.include_router(feeds.runs_router)
    app.include_router(feeds.files_router)
    docs.install(app)
    openapi.install(app)
    return app
