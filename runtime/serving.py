"""Serving an ASGI app over HTTP: one way for the API and the sandbox carriers."""

from __future__ import annotations

from typing import Any

import uvicorn

from runtime.logs import configure_logging

# Longer than clients keep idle connections (httpx: 5 s, the same as uvicorn's default; aiohttp:
# 15 s): otherwise a request sent as the server closes the idle connection is cut off unanswered
# (one POST in 5,000 in bench.snapshots, and the bench's reads of the sandbox once).
KEEP_ALIVE_SECONDS = 65


def serve(app: Any, host: str, port: int) -> None:
    """Serve `app` until interrupted; uvicorn's own access log is off (the API writes its own,
    `api.access`), and every line goes through `runtime.logs` (JSON unless on a terminal)."""
    configure_logging()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
