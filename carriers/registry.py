"""The carrier registry: adding a carrier means one module and one entry here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from uuid import UUID

from carriers import larkspur, principal, unum
from carriers.files import FileCarrier
from carriers.http import HttpCarrier, carrier_session
from carriers.protocol import CarrierAdapter, CarrierInfo, SftpSettings
from domain.errors import ValidationFailed

_ADAPTER_CLASSES: dict[UUID, type[HttpCarrier]] = {
    principal.INFO.id: principal.PrincipalAdapter,
    unum.INFO.id: unum.UnumAdapter,
    larkspur.INFO.id: larkspur.LarkspurAdapter,
}

CARRIERS: dict[UUID, CarrierInfo] = {cls.info.id: cls.info for cls in _ADAPTER_CLASSES.values()}


def carrier_info(carrier_id: UUID, *, field: str = "carrier_id") -> CarrierInfo:
    """The registry entry, or a 422-shaped refusal naming the field."""
    try:
        return CARRIERS[carrier_id]
    except KeyError:
        raise ValidationFailed.one(field, f"unknown carrier {carrier_id}") from None


@asynccontextmanager
async def carrier_adapters(
    base_urls: dict[str, str],
    *,
    timeout_seconds: float,
    connections: int = 100,
    sftp: Mapping[str, SftpSettings] | None = None,
) -> AsyncIterator[dict[UUID, CarrierAdapter]]:
    """Adapters for every registered carrier, sharing one pool of at most `connections`
    kept-alive connections, closed on exit. A call gives up after `timeout_seconds` waiting
    for a connection, or for a byte (see `carriers.http.carrier_session`). A file carrier
    delivers to `sftp[slug]` when given, else to its registry entry's server.
    """
    sftp = sftp or {}
    async with carrier_session(timeout_seconds=timeout_seconds, connections=connections) as http:
        adapters: dict[UUID, CarrierAdapter] = {}
        for carrier_id, cls in _ADAPTER_CLASSES.items():
            base_url = base_urls.get(cls.info.slug) or ""
            if issubclass(cls, FileCarrier):
                adapters[carrier_id] = cls(http, base_url, sftp=sftp.get(cls.info.slug))
            else:
                adapters[carrier_id] = cls(http, base_url)
        yield adapters


def file_carrier_ids() -> frozenset[UUID]:
    """The carriers that take enrollment as files (their transactions go in feed runs)."""
    return frozenset(info.id for info in CARRIERS.values() if info.sends_files)


def rules_for(carrier_id: UUID) -> type[HttpCarrier]:
    """The carrier's pure rules (ID normalisation, request checks), no HTTP needed."""
    return _ADAPTER_CLASSES[carrier_info(carrier_id).id]
