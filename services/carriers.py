"""The carriers the engine serves, as the API shows them: the registry and its identifier rules."""

from __future__ import annotations

import uuid

from carriers import CARRIERS, CarrierInfo, rules_for

__all__ = ["CarrierInfo", "carrier", "carriers", "normalized_carrier_group_id"]


def carriers() -> list[CarrierInfo]:
    """Every carrier, by name."""
    return sorted(CARRIERS.values(), key=lambda info: info.name)


def carrier(carrier_id: uuid.UUID) -> CarrierInfo | None:
    return CARRIERS.get(carrier_id)


def normalized_carrier_group_id(carrier_id: uuid.UUID, raw: str) -> str:
    """`raw` as the carrier stores its group IDs (e.g. Unum's left-padded policy IDs).

    Raises `ValidationFailed` naming `carrier_id` for a carrier the engine does not serve, and
    the carrier's own refusal of an ID it could not have issued."""
    return rules_for(carrier_id).normalize_carrier_group_id(raw)
