"""`Idempotency-Key` on a POST under /api/v1 (as Stripe does): a repeat answers the first answer.

The same key (per organization) with the same request (method, path, query and body, hashed)
answers the first response's status and body without acting again, marked `Idempotent-Replayed:
true`; with another request 422 naming the header; while the first is still in flight 409. Only
a success (2xx) is kept: after any other answer nothing was done, so the key is free again. Keys
expire after `idempotency_key_ttl` (a day by default). Without the header nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import authenticate
from api.errors import ApiError
from runtime.settings import Settings
from store import idempotency
from store.db import Database

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
PREFIX = "/api/v1/"


class KeyRefused(Exception):
    """The header's request cannot go ahead: status and reason (422s name the header)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        if self.status != 422:
            return {"message": self.message, "status": self.status}
        return {
            "message": f"{HEADER}: {self.message}",
            "status": 422,
            "errors": [{"field": HEADER, "message": self.message}],
        }


def checked_key(raw: bytes) -> str:
    """The header's key: 1 to 255 printable ASCII characters, else `KeyRefused` 422."""
    try:
        key = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise KeyRefused(422, "must be printable ASCII") from None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise KeyRefused(422, f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return key


def request_fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """The SHA-256 of what makes two requests the same one."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def earlier_answer(use: idempotency.KeyUse, fingerprint: str) -> tuple[int, str | None, bytes]:
    """What a repeat answers, from the key's earlier use: its response, or a refusal."""
    if use.request_sha256 != fingerprint:
        raise KeyRefused(422, "was used with another request; use a new key for a new request")
    if use.status_code is None or use.response_body is None:
        raise KeyRefused(409, "a request with this Idempotency-Key is still in flight")
    return use.status_code, use.content_type, use.response_body


class Idempotency:
    """ASGI middleware; needs the app's `state.database` and `state.settings`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = _header(scope, b"idempotency-key")
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(PREFIX)
            or raw_key is None
        ):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        db: Database = state.database
        settings: Settings = state.settings
        try:
            organization_id = await authenticate(
                db, state, (_header(scope, b"authorization") or b"").decode("latin-1") or None
            )
        except ApiError:
            # Not authenticated: the route answers the 401 itself.
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            key = checked_key(raw_key)
            fingerprint = request_fingerprint(
                scope["method"], scope["path"], scope.get("query_string", b""), body
            )
            async with db.transaction() as session:
                use = await idempotency.claim(
                    session, organization_id, key, fingerprint, ttl=settings.idempotency_key_ttl
                )
            if use is not None:
                status, content_type, answer = earlier_answer(use, fingerprint)
                await _send(send, status, content_type, answer, replayed=True)
                return
        except KeyRefused as refused:
            await _send(
                send, refused.status, "application/json", json.dumps(refused.body()).encode()
            )
            return
        await self._first(scope, body, receive, send, db, organization_id, key)

    async def _first(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        db: Database,
        organization_id: uuid.UUID,
        key: str,
    ) -> None:
        """Run the request that claimed the key, keep its answer if it succeeded."""
        status = 0
        content_type: str | None = None
        chunks: list[bytes] = []
        delivered = False
        kept = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def keep() -> None:
            nonlocal kept
            async with db.transaction() as session:
                await idempotency.keep_answer(
                    session,
                    organization_id,
                    key,
                    status_code=status,
                    content_type=content_type,
                    body=b"".join(chunks),
                )
            kept = True

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and 200 <= status < 300:
                    # Kept before the answer's last byte leaves: a caller that repeats the
                    # request as soon as it has the answer finds it kept, not still in flight
                    # (a 409 under load).
                    await keep()
            await send(message)

        try:
            await self.app(scope, replay, capture)
        finally:
            if not kept:
                if 200 <= status < 300:
                    await keep()
                else:
                    async with db.transaction() as session:
                        await idempotency.release(session, organization_id, key)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for header, value in scope.get("headers", []):
        if header == name:
            return bytes(value)
    return None


async def _read_body(receive: Receive) -> bytes:
    # RequestLimits (outside this middleware) has read and checked the body already and hands
    # it on whole; reading it here again is a copy, not a wait.
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(
    send: Send, status: int, content_type: str | None, body: bytes, *, replayed: bool = False
) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode("latin-1")))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
