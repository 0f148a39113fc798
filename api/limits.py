"""Request-level limits, checked before any route runs: body size, UTF-8, JSON syntax and depth.

Every body the API takes is a JSON document. One that is too large answers 413; one that is not
UTF-8, not JSON, or nested deeper than any contract shape answers 400; both with the contract's
error body `{"message", "status"}`. Checked once here, so no route can decode, parse or store such
a body (the snapshot endpoints used to replace invalid UTF-8 silently). Query parameters get the
text rule of `domain.bounds`: not UTF-8 answers 400, a NUL character 422 naming the parameter.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime import logs
from runtime.settings import Settings

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Where `RequestLimits` leaves the parsed body in the request's state (`checked_body`).
_CHECKED_BODY = "carrierlink_checked_body"


class RequestRefused(Exception):
    """A request the API does not read: its HTTP status, the reason, the fields at fault."""

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        """The API's error body; a 422 lists the field, as every 422 does (api.errors)."""
        if self.field is None:
            return {"message": self.message, "status": self.status, **_request_id()}
        return {
            "message": f"{self.field}: {self.message}",
            "status": self.status,
            **_request_id(),
            "errors": [{"field": self.field, "message": self.message}],
        }


def _request_id() -> dict[str, str]:
    """The served request's id (api.access) as a body field, when there is one."""
    request_id = logs.request_id.get()
    return {"request_id": request_id} if request_id else {}


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (and PostgreSQL's jsonb refuses them).
    raise ValueError(f"{name} is not a JSON value")


def json_depth(document: Any) -> int:
    """Levels of objects and arrays in a parsed document (a scalar is 0), without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth) for child in children)
    return deepest


def check_body(body: bytes, *, max_depth: int) -> Any:
    """Refuse (RequestRefused, 400) a non-empty body that is not UTF-8 JSON within `max_depth`;
    the parsed document (None for an empty body)."""
    if not body.strip():
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestRefused(400, "the body is not valid UTF-8") from None
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise RequestRefused(
            400, f"the body nests objects and arrays more than {max_depth} levels deep"
        ) from None
    except ValueError:
        raise RequestRefused(400, "the body is not valid JSON") from None
    if json_depth(document) > max_depth:
        raise RequestRefused(
            400, f"the body nests objects and arrays more than {max_depth} levels deep"
        )
    return document


def checked_body(request: Request) -> Any:
    """The request's JSON body as `RequestLimits` parsed and checked it, for a route that reads
    its body itself (snapshot intake): parsed once per request, not again by the route."""
    return request.scope["state"][_CHECKED_BODY]


def check_query(query_string: bytes) -> None:
    """Refuse a query string that is not UTF-8 (400) or has a NUL character (422 naming it)."""
    if not query_string:
        return
    try:
        parameters = parse_qsl(
            query_string.decode("latin-1"), keep_blank_values=True, errors="strict"
        )
    except UnicodeDecodeError:
        raise RequestRefused(400, "the query string is not valid UTF-8") from None
    for name, value in parameters:
        if "\x00" in name or "\x00" in value:
            # PostgreSQL refuses NUL in any text; the parameter's name is shown without it.
            raise RequestRefused(
                422, "must not contain NUL characters", field=name.replace("\x00", "")
            )


class RequestLimits:
    """ASGI middleware: reads a request's body (up to the limit), checks it, then hands it on."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    @classmethod
    def options(cls, settings: Settings) -> dict[str, int]:
        return {
            "max_body_bytes": settings.max_body_bytes,
            "max_json_depth": settings.max_json_depth,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_query(scope.get("query_string", b""))
        except RequestRefused as refused:
            await _answer(send, refused)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
            scope.setdefault("state", {})[_CHECKED_BODY] = check_body(
                body, max_depth=self.max_json_depth
            )
        except RequestRefused as refused:
            await _answer(send, refused)
            return
        delivered = False

        async def replay() -> Message:
            # The body once, whole; then whatever the server says next (a disconnect).
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes:
        too_large = RequestRefused(
            413, f"the body is larger than the limit of {self.max_body_bytes} bytes"
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise RequestRefused(400, "the Content-Length header is not a number") from None
                if declared > self.max_body_bytes:
                    raise too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


async def _answer(send: Send, refused: RequestRefused) -> None:
    content = json.dumps(refused.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if refused.status == 413:
        # The rest of the body is not read: the connection cannot carry another request.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
