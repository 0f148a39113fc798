"""The sandbox carriers' FastAPI app: Principal, Unum and Larkspur side by side, with fault
injection, and the file carrier's SFTP server (`sftp_port`)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sandbox import carrier_api, control_api
from sandbox.carriers import CARRIERS
from sandbox.errors import SandboxError
from sandbox.faults import Fault, FaultInjector, FaultSettings
from sandbox.file_carrier import FileCarrierServer
from sandbox.members import ProcessingSettings
from sandbox.state import SandboxState


class SandboxConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    latency_ms: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_seconds: float = Field(default=30.0, ge=0.0)
    seed: int = 7
    # Member transactions finish this long after they start; managed ones take `managed_factor`
    # times as long.
    processing_delay_seconds: float = Field(default=2.0, ge=0.0)
    managed_factor: float = Field(default=5.0, ge=1.0)
    # The file carrier's SFTP server (sandbox/file_carrier.py): None = not served, 0 = any port.
    sftp_port: int | None = None
    sftp_root: Path | None = None
    sftp_host: str = "127.0.0.1"


def create_app(
    config: SandboxConfig,
    *,
    clock: Callable[[], datetime] | None = None,
    state_file: Path | None = None,
) -> FastAPI:
    """A fresh sandbox: all state lives on this app instance, so apps never share anything.

    `clock` (UTC-aware) times member transactions; tests pass one they can move. With a
    `state_file` the carriers' groups (changes, registrations) are kept there across restarts.
    """
    faults = FaultInjector(
        FaultSettings(
            latency_ms=config.latency_ms,
            error_rate=config.error_rate,
            timeout_rate=config.timeout_rate,
        ),
        timeout_seconds=config.timeout_seconds,
        seed=config.seed,
    )
    app = FastAPI(title="carrierlink sandbox carriers", lifespan=_serve_files)
    app.state.file_carrier = (
        FileCarrierServer(
            config.sftp_root or Path(tempfile.mkdtemp(prefix="sandbox-sftp-")),
            host=config.sftp_host,
            port=config.sftp_port,
        )
        if config.sftp_port is not None
        else None
    )
    app.state.sandbox = SandboxState(
        faults,
        processing=ProcessingSettings(
            delay_seconds=config.processing_delay_seconds, managed_factor=config.managed_factor
        ),
        clock=clock,
        state_file=state_file,
    )
    app.add_exception_handler(SandboxError, _render_error)
    app.middleware("http")(_carrier_faults)
    app.include_router(control_api.router)
    app.include_router(carrier_api.router)
    return app


@asynccontextmanager
async def _serve_files(app: FastAPI) -> AsyncIterator[None]:
    """The file carrier's SFTP server lives as long as the app is served."""
    server: FileCarrierServer | None = app.state.file_carrier
    if server is not None:
        await server.start()
    try:
        yield
    finally:
        if server is not None:
            await server.stop()


async def _render_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    return JSONResponse(exc.body(), status_code=exc.status_code)


async def _carrier_faults(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Count and disturb carrier requests; the fault is drawn before the handler runs, so an
    injected 503 never applies a write."""
    if request.url.path.split("/")[1] not in CARRIERS:
        return await call_next(request)
    state: SandboxState = request.app.state.sandbox
    state.count_request()
    fault = state.faults.draw()
    latency_ms = state.faults.settings.latency_ms
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)
    if fault is Fault.ERROR:
        return JSONResponse({"message": "carrier unavailable (injected)"}, status_code=503)
    response = await call_next(request)
    if fault is Fault.TIMEOUT:
        # The carrier did the work and only its answer is late, as when a real carrier stalls
        # past the client's timeout: a retry then meets an already-applied write.
        await asyncio.sleep(state.faults.timeout_seconds)
    return response
