"""The access log and request ids: every request gets an id, logged once with its outcome.

The id is the caller's `X-Request-ID` when it is a sane token, else a new one; it is echoed in
the `X-Request-ID` response header, set on every log line written while the request is served
(`runtime.logs.request_id`), and put in every error body (`api.errors`). The access line names
the route template (`/api/v1/groups/{group_id}`), never the query string: query values may hold
names (`?company=...`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime import logs

access_log = logging.getLogger("carrierlink.access")

_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else None
    return None


def _route(scope: Scope) -> str:
    """The matched route's template, or the bare path (no query string) when none matched."""
    route: Any = scope.get("route")
    template = getattr(route, "path", None)
    return str(template) if template else str(scope.get("path", ""))


class AccessLog:
    """Pure ASGI middleware (no task of its own), so the request id is seen by the handlers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %s",
                scope["method"],
                _route(scope),
                status,
                extra={
                    "method": scope["method"],
                    "route": _route(scope),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            logs.request_id.reset(token)
