"""Idempotent carrier writes: the first answer to each (carrier, Idempotency-Key) is replayed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sandbox.errors import KeyReused

Json = dict[str, Any]


def fingerprint(method: str, path: str, payload: Json) -> str:
    """What a key was first used for, so reusing it for another request can be refused."""
    canonical = json.dumps([method, path, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class _Stored:
    fingerprint: str
    body: Json


class IdempotencyStore:
    """Responses of applied writes. Not locked itself: a caller must hold one lock from `replay`
    through `remember`, or two requests with one key could both apply."""

    def __init__(self) -> None:
        self._stored: dict[tuple[str, str], _Stored] = {}

    def replay(self, carrier: str, key: str, request_fingerprint: str) -> Json | None:
        """The stored answer for this key, or None when the key is new."""
        stored = self._stored.get((carrier, key))
        if stored is None:
            return None
        if stored.fingerprint != request_fingerprint:
            raise KeyReused(f"Idempotency-Key {key!r} was already used for a different request")
        return stored.body

    def remember(self, carrier: str, key: str, request_fingerprint: str, body: Json) -> None:
        self._stored[(carrier, key)] = _Stored(request_fingerprint, body)
