"""Principal Financial: 7-digit policy numbers, and the broker's FEIN on every connection."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from carriers.base import CarrierInfo, HttpCarrierAdapter
from domain.enums import LineOfCoverage as L
from domain.errors import FieldProblem, ValidationFailed

INFO = CarrierInfo(
    id=UUID("d0003042-eaae-4491-b219-4825456a3d16"),
    slug="principal",
    name="Principal",
    lines_of_coverage=(
        L.ACCIDENT,
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
    cobra="dental and vision in all states; life in Minnesota and Montana (group billing only)",
    connection_time="5-10 days",
    api_kinds=("requests", "snapshot"),
    carrier_group_id_format="the group's 7-digit policy number",
)

_POLICY_NUMBER = re.compile(r"^[0-9]{7}$")
_FEIN = re.compile(r"^[0-9]{9}$")


def normalize_carrier_group_id(raw: str) -> str:
    value = raw.strip()
    if not _POLICY_NUMBER.fullmatch(value):
        raise ValidationFailed.one(
            "group_data.carrier_group_id", "Principal expects the group's 7-digit policy number"
        )
    return value


def validate_group_data(group_data: dict[str, Any]) -> None:
    problems: list[FieldProblem] = []
    try:
        normalize_carrier_group_id(str(group_data.get("carrier_group_id") or ""))
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    fein = group_data.get("broker_federal_ein")
    if not fein:
        problems.append(
            FieldProblem(
                "group_data.broker_federal_ein",
                "Principal requires the broker's FEIN (it must match the broker of record)",
            )
        )
    elif not _FEIN.fullmatch(str(fein)):
        problems.append(FieldProblem("group_data.broker_federal_ein", "must be 9 digits"))
    if problems:
        raise ValidationFailed(problems)


class PrincipalAdapter(HttpCarrierAdapter):
    info = INFO

    normalize_carrier_group_id = staticmethod(normalize_carrier_group_id)
    validate_group_data = staticmethod(validate_group_data)
