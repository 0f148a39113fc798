"""`/api/v1/carriers`: the carrier registry."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from api import responses
from api.deps import OrganizationId
from api.openapi import ERROR_RESPONSES
from api.params import Page, Paging
from domain.errors import NotFound
from services.carriers import CarrierInfo, carrier, carriers

router = APIRouter(prefix="/api/v1/carriers", tags=["carriers"], responses=ERROR_RESPONSES)


def _carrier(info: CarrierInfo) -> dict[str, Any]:
    return {
        "id": str(info.id),
        "name": info.name,
        "lines_of_coverage": [str(line) for line in info.lines_of_coverage],
        "network": info.network,
        "cobra": info.cobra,
        "connection_time": info.connection_time,
        "api_kinds": list(info.api_kinds),
        "carrier_group_id_format": info.carrier_group_id_format,
    }


@router.get("", response_model=Page[responses.Carrier])
async def list_carriers(_: OrganizationId, page: Paging) -> Page[Any]:
    """The carriers carrierlink can connect groups to, with their lines of coverage."""
    every = carriers()
    window = every[page.offset : page.offset + page.page_size]
    return Page.of([_carrier(c) for c in window], page, len(every))


@router.get("/{carrier_id}", response_model=responses.Carrier)
async def get_carrier(carrier_id: uuid.UUID, _: OrganizationId) -> dict[str, Any]:
    """One carrier of the registry (404 for an unknown id)."""
    info = carrier(carrier_id)
    if info is None:
        raise NotFound.of("carrier")
    return _carrier(info)
