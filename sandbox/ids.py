"""Deterministic identifiers: the same name always yields the same UUID, in every process."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sandbox.carrierlink.invalid/")


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))
