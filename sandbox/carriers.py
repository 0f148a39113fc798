"""Each sandbox carrier's identifier formats, lookup rules and lines of coverage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class LookupStatus(StrEnum):
    FOUND = "found"
    IN_REVIEW = "in_review"
    NOT_INSTALLED = "not_installed"
    ACTION_REQUIRED = "action_required"
    NOT_FOUND = "not_found"
    NOT_AUTHORIZED = "not_authorized"


@dataclass(frozen=True)
class Lookup:
    status: LookupStatus
    message: str | None = None


@dataclass(frozen=True)
class CarrierRules:
    slug: str
    name: str
    lines: tuple[str, ...]
    # IDs whose leading digits select a scripted status, as on the carriers' sandbox pages.
    scripted_ids: re.Pattern[str]
    scripted: dict[str, Lookup]
    # Scripted IDs with this prefix are found, but the carrier reports the group as ended.
    ended_prefix: str
    # COBRA support and exposed volume rules, as each carrier's page states them.
    cobra: bool
    exposes_volume_rules: bool
    # Only Principal offers several hospital indemnity "choice" plans per member type.
    hospital_choices: bool
    # Further IDs the carrier accepts that are always found (Unum master agreement numbers).
    plain_ids: re.Pattern[str] | None = None

    def lookup(self, carrier_group_id: str) -> Lookup | None:
        """The generated status of a group, or None when the ID is malformed for this carrier."""
        if self.scripted_ids.fullmatch(carrier_group_id):
            for prefix, scripted in self.scripted.items():
                if carrier_group_id.startswith(prefix):
                    return scripted
            return Lookup(LookupStatus.FOUND)
        if self.plain_ids is not None and self.plain_ids.fullmatch(carrier_group_id):
            return Lookup(LookupStatus.FOUND)
        return None

    def is_scripted_id(self, carrier_group_id: str) -> bool:
        return bool(self.scripted_ids.fullmatch(carrier_group_id))

    def ended_by_carrier(self, carrier_group_id: str) -> bool:
        return self.is_scripted_id(carrier_group_id) and carrier_group_id.startswith(
            self.ended_prefix
        )


_IN_REVIEW = Lookup(LookupStatus.IN_REVIEW, "the group's data needs internal review at the carrier")
_NOT_INSTALLED = Lookup(
    LookupStatus.NOT_INSTALLED, "the group is not installed in the carrier's system yet"
)
_NOT_FOUND = Lookup(LookupStatus.NOT_FOUND, "the carrier has no group with this ID")

PRINCIPAL = CarrierRules(
    slug="principal",
    name="Principal",
    lines=(
        "accident",
        "add",
        "critical_illness",
        "dental",
        "hospital_indemnity",
        "life",
        "ltd",
        "std",
        "vision",
    ),
    scripted_ids=re.compile(r"[0-9]{7}"),
    scripted={
        "1989": _IN_REVIEW,
        "1767": _NOT_INSTALLED,
        "1545": Lookup(
            LookupStatus.ACTION_REQUIRED,
            "broker of record mismatch: the broker FEIN does not match the BOR on file",
        ),
        "1323": _NOT_FOUND,
    },
    ended_prefix="1999",
    cobra=True,
    exposes_volume_rules=True,
    hospital_choices=True,
)

UNUM = CarrierRules(
    slug="unum",
    name="Unum",
    lines=(
        "add",
        "critical_illness",
        "dental",
        "hospital_indemnity",
        "life",
        "ltd",
        "std",
        "vision",
    ),
    scripted_ids=re.compile(r"[0-9]{8}"),
    scripted={
        "989": _IN_REVIEW,
        "767": _NOT_INSTALLED,
        "545": Lookup(
            LookupStatus.ACTION_REQUIRED,
            "broker authorization missing: the carrier needs a signed release from the broker",
        ),
        "323": _NOT_FOUND,
        "212": Lookup(
            LookupStatus.NOT_AUTHORIZED, "the carrier has not authorized access to this group"
        ),
    },
    ended_prefix="999",
    cobra=False,
    exposes_volume_rules=False,
    hospital_choices=False,
    plain_ids=re.compile(r"[A-Za-z0-9]{19,21}"),
)

# The fictional file carrier (sandbox/file_carrier.py takes its 834s): its implementation
# portal answers lookups and account structure like the API carriers' systems.
LARKSPUR = CarrierRules(
    slug="larkspur",
    name="Larkspur Mutual (sandbox)",
    lines=("dental", "life", "ltd", "std", "vision"),
    scripted_ids=re.compile(r"LM[0-9]{6}"),
    scripted={"LM1767": _NOT_INSTALLED, "LM1323": _NOT_FOUND},
    ended_prefix="LM1999",
    cobra=True,
    exposes_volume_rules=False,
    hospital_choices=False,
)

CARRIERS: dict[str, CarrierRules] = {rules.slug: rules for rules in (PRINCIPAL, UNUM, LARKSPUR)}
