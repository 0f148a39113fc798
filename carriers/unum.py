"""Unum: a master agreement number or an 8-digit policy ID, zero-padded when shorter."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from carriers.base import CarrierInfo, HttpCarrierAdapter
from domain.enums import LineOfCoverage as L
from domain.errors import ValidationFailed

INFO = CarrierInfo(
    id=UUID("23054cd9-0a41-43e3-bd43-2d2138006536"),
    slug="unum",
    name="Unum",
    lines_of_coverage=(
        L.ADD,
        L.CRITICAL_ILLNESS,
        L.DENTAL,
        L.HOSPITAL_INDEMNITY,
        L.LIFE,
        L.LTD,
        L.STD,
        L.VISION,
    ),
    network="sync",
    cobra="not supported",
    connection_time="5-10 days",
    api_kinds=("requests",),
    carrier_group_id_format=(
        "a master agreement number (19-21 alphanumerics) or an 8-digit policy ID "
        "(shorter numeric IDs are left-padded with zeros)"
    ),
)

_POLICY_ID_LENGTH = 8
_MASTER_AGREEMENT = re.compile(r"^[A-Za-z0-9]{19,21}$")


def normalize_carrier_group_id(raw: str) -> str:
    value = raw.strip()
    if value.isdigit() and value.isascii():
        if len(value) > _POLICY_ID_LENGTH:
            raise ValidationFailed.one(
                "group_data.carrier_group_id",
                "an Unum policy ID has at most 8 digits "
                "(a master agreement number has 19-21 alphanumerics)",
            )
        return value.zfill(_POLICY_ID_LENGTH)
    if _MASTER_AGREEMENT.fullmatch(value):
        return value.upper()
    raise ValidationFailed.one(
        "group_data.carrier_group_id",
        "Unum expects a master agreement number (19-21 alphanumerics) "
        "or a numeric policy ID of up to 8 digits",
    )


def validate_group_data(group_data: dict[str, Any]) -> None:
    normalize_carrier_group_id(str(group_data.get("carrier_group_id") or ""))


def is_policy_id(carrier_group_id: str) -> bool:
    return len(carrier_group_id) == _POLICY_ID_LENGTH and carrier_group_id.isdigit()


class UnumAdapter(HttpCarrierAdapter):
    info = INFO

    normalize_carrier_group_id = staticmethod(normalize_carrier_group_id)
    validate_group_data = staticmethod(validate_group_data)
