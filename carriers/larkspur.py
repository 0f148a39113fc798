"""Larkspur Mutual (sandbox): a fictional file carrier (834 over SFTP, 999 back) for dental,
vision, life, STD and LTD. No real carrier has this name; it exists to exercise file feeds."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from carriers.files import FileCarrier
from carriers.protocol import (
    CarrierInfo,
    FeedSchedule,
    FileMode,
    Network,
    SftpSettings,
    TradingPartner,
)
from domain.edi834_members import FileRules
from domain.enums import LineOfCoverage
from domain.errors import ValidationFailed
from domain.members import CoverageChoice, GroupSetup, MemberRulesOutcome
from domain.snapshots import MemberSnapshot

# The sandbox's SFTP server (tools/devstack.py starts it with the sandbox); a real carrier's
# host, user and key come from settings (`Settings.carrier_sftp`).
SANDBOX_SFTP = SftpSettings(host="127.0.0.1", port=8122, user="carrierlink", password="sandbox")

INFO = CarrierInfo(
    id=UUID("6c1d0f3e-9a51-4c55-8d1e-4c4b9a7f2e10"),
    slug="larkspur",
    name="Larkspur Mutual (sandbox)",
    lines_of_coverage=(
        LineOfCoverage.DENTAL,
        LineOfCoverage.LIFE,
        LineOfCoverage.LTD,
        LineOfCoverage.STD,
        LineOfCoverage.VISION,
    ),
    network=Network.SEND.value,
    cobra="dental and vision",
    connection_time="2-4 weeks (census, then an approved test file)",
    api_kinds=("834 files",),
    carrier_group_id_format="LM followed by 6 digits (e.g. LM104233)",
    trading_partner=TradingPartner(
        isa_qualifier="ZZ",
        isa_sender_id="CARRIERLINK",
        isa_receiver_qualifier="ZZ",
        isa_receiver_id="LARKSPURSBX",
        gs_sender="CARRIERLINK",
        gs_receiver="LARKSPURSBX",
        payer_name="Larkspur Mutual (sandbox)",
        payer_federal_ein="00-0000000",
        sftp=SANDBOX_SFTP,
        file_mode=FileMode.CHANGES,
        schedule=FeedSchedule(
            rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR", time_of_day="06:00", zone_info="America/Chicago"
        ),
    ),
)

# The implementation guide has no code for life insurance; Larkspur's (fictional) companion
# guide sends it as AG. The rest are the guide's own codes.
FILE_RULES = FileRules(
    insurance_lines={
        LineOfCoverage.DENTAL: "DEN",
        LineOfCoverage.VISION: "VIS",
        LineOfCoverage.LIFE: "AG",
        LineOfCoverage.STD: "STD",
        LineOfCoverage.LTD: "LTD",
    },
    # Its companion guide: every subscriber's NM1 carries the SSN (the sandbox refuses others).
    requires_subscriber_ssn=True,
)

_GROUP_ID = re.compile(r"^LM[0-9]{6}$")


def normalize_carrier_group_id(raw: str) -> str:
    value = raw.strip().upper()
    if not _GROUP_ID.fullmatch(value):
        raise ValidationFailed.one(
            "group_data.carrier_group_id", f"must be {INFO.carrier_group_id_format}"
        )
    return value


def validate_group_data(group_data: dict[str, Any]) -> None:
    """Larkspur needs nothing beyond the carrier group id."""


def check_member_snapshot(
    snapshot: MemberSnapshot, choices: list[CoverageChoice], setup: GroupSetup
) -> MemberRulesOutcome:
    """Larkspur places members by plan alone (HD04): no carrier configuration to resolve."""
    return MemberRulesOutcome(carrier_configs={choice.index: {} for choice in choices})


class LarkspurAdapter(FileCarrier):
    info = INFO
    FILE_RULES = FILE_RULES

    normalize_carrier_group_id = staticmethod(normalize_carrier_group_id)
    validate_group_data = staticmethod(validate_group_data)
    check_member_snapshot = staticmethod(check_member_snapshot)
