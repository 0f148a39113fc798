"""Pure, deterministic generation of a carrier group's account structure from its ID."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import TypeVar

from sandbox.carriers import CARRIERS, CarrierRules
from sandbox.ids import stable_id
from sandbox.plans import HOSPITAL_CHOICES, OPEN_ENDED, Json, make_plan, plan_tiers

_NAME_FIRST = (
    "Summit",
    "Harbor",
    "Prairie",
    "Granite",
    "Bluebird",
    "Cascade",
    "Ironwood",
    "Meridian",
    "Northstar",
    "Willow",
)
_NAME_SECOND = (
    "Logistics",
    "Dental Group",
    "Engineering",
    "Foods",
    "Health Partners",
    "Builders",
    "Analytics",
    "Outfitters",
)
_SUFFIXES = ("LLC", "Inc.", "Co.", "Corp.")
_SIC_CODES = ("0742", "1521", "2051", "3571", "4213", "5812", "6411", "7372", "8011", "8711")
_CITIES = (
    ("Des Moines", "IA", "50309", "Polk"),
    ("Portland", "ME", "04101", "Cumberland"),
    ("Chattanooga", "TN", "37402", "Hamilton"),
    ("Boise", "ID", "83702", "Ada"),
    ("Madison", "WI", "53703", "Dane"),
    ("Tucson", "AZ", "85701", "Pima"),
    ("Raleigh", "NC", "27601", "Wake"),
    ("Spokane", "WA", "99201", "Spokane"),
    ("Columbus", "OH", "43215", "Franklin"),
    ("Albuquerque", "NM", "87102", "Bernalillo"),
)
_STREETS = ("Main St", "Oak Ave", "Market St", "Elm St", "Grand Ave", "Cedar Rd", "Lakeview Dr")
_FIRST_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jonah")
_LAST_NAMES = ("Alvarez", "Brooks", "Chen", "Dubois", "Eze", "Fischer", "Gupta", "Haddad")
_TITLES = ("HR Director", "Benefits Manager", "CFO", "Office Manager", "Payroll Specialist")
_CONTACT_TYPES = ("company", "billing", "executive", "online", "carrier")
_MEMBER_GROUP_NAMES = (
    "ALL MEMBERS",
    "MBRS ELECTING HIGH DN PLAN",
    "MBRS ELECTING LOW DN PLAN",
    "SALARIED EMPLOYEES",
    "HOURLY EMPLOYEES",
)
_BILL_GROUP_DESCRIPTIONS = ("All Members", "COBRA Members", "Retirees", "Hourly Members")
_CLASS_DESCRIPTIONS = (
    "All Salaried Employees",
    "All Hourly Employees",
    "Executives",
    "Union Employees",
)
_REQUIRED_LINES = ("dental", "life", "vision")
_MASTER_AGREEMENT_ALPHABET = string.ascii_uppercase + string.digits

T = TypeVar("T")


class NoMoreChoices(ValueError):
    """Every hospital indemnity choice description is already taken."""


def generate_account(carrier_slug: str, carrier_group_id: str) -> Json:
    """The group's account as the carrier reports it; the same ID always yields the same data."""
    carrier = CARRIERS[carrier_slug]
    rng = random.Random(f"{carrier.slug}:{carrier_group_id}")
    brand = f"{rng.choice(_NAME_FIRST)} {rng.choice(_NAME_SECOND)}"
    group = {
        "name": f"{brand} {rng.choice(_SUFFIXES)}",
        "dba_name": brand,
        "federal_ein": f"{rng.randint(10, 99)}{rng.randint(0, 9_999_999):07d}",
        "sic_code": rng.choice(_SIC_CODES),
    }
    email_domain = "".join(ch for ch in brand.lower() if ch.isalnum()) + ".example"
    ids = _IdMaker(carrier.slug, carrier_group_id)
    locations = _locations(rng, ids)
    contacts = _contacts(rng, ids, email_domain)
    configuration = _GROUP_CONFIGURATIONS[carrier.slug](rng, carrier, carrier_group_id)
    year = rng.randint(2021, 2025)
    enrollments = [_enrollment(ids, line, year, carrier) for line in _lines(rng, carrier)]
    plans: list[Json] = []
    for enrollment in enrollments:
        line = enrollment["line_of_coverage"]
        count = _plan_count(rng, carrier, line)
        tiers = plan_tiers(rng, count)
        plan_configurations = _PLAN_CONFIGURATIONS[carrier.slug](rng, configuration, count)
        for index, (tier, plan_configuration) in enumerate(
            zip(tiers, plan_configurations, strict=True)
        ):
            if line == "hospital_indemnity" and carrier.hospital_choices:
                plan_configuration["choice_plan_description"] = HOSPITAL_CHOICES[index]
            plans.append(
                make_plan(
                    rng,
                    carrier,
                    carrier_plan_id=ids("plan", line, str(index)),
                    enrollment=enrollment,
                    tier=tier,
                    plan_configuration=plan_configuration,
                )
            )
    return {
        "carrier_group_id": carrier_group_id,
        "group": group,
        "locations": locations,
        "contacts": contacts,
        "configuration": configuration,
        "group_enrollments": enrollments,
        "plans": plans,
        "coverage_end_date": None,
    }


def added_plan(
    carrier_slug: str, carrier_group_id: str, account: Json, line: str, ordinal: int
) -> tuple[Json | None, Json]:
    """A plan the carrier adds to the group, with a new enrollment when the line has none.

    `ordinal` tells successive additions apart, so each one is as deterministic as the rest.
    """
    carrier = CARRIERS[carrier_slug]
    rng = random.Random(f"{carrier.slug}:{carrier_group_id}:added:{ordinal}")
    ids = _IdMaker(carrier.slug, carrier_group_id)
    enrollments = account["group_enrollments"]
    enrollment = next((e for e in enrollments if e["line_of_coverage"] == line), None)
    new_enrollment = None
    if enrollment is None:
        year = int(enrollments[0]["effective_start_date"][:4])
        enrollment = new_enrollment = _enrollment(ids, line, year, carrier)
    (plan_configuration,) = _PLAN_CONFIGURATIONS[carrier.slug](rng, account["configuration"], 1)
    if line == "hospital_indemnity" and carrier.hospital_choices:
        taken = sum(1 for plan in account["plans"] if plan["line_of_coverage"] == line)
        if taken >= len(HOSPITAL_CHOICES):
            raise NoMoreChoices(f"the group already has {taken} hospital indemnity plans")
        plan_configuration["choice_plan_description"] = HOSPITAL_CHOICES[taken]
    plan = make_plan(
        rng,
        carrier,
        carrier_plan_id=ids("added-plan", str(ordinal)),
        enrollment=enrollment,
        tier=plan_tiers(rng, 1)[0],
        plan_configuration=plan_configuration,
    )
    return new_enrollment, plan


class _IdMaker:
    """UUIDs named by the group, so a record keeps its ID across reads and processes."""

    def __init__(self, carrier_slug: str, carrier_group_id: str) -> None:
        self._prefix = (carrier_slug, carrier_group_id)

    def __call__(self, *parts: str) -> str:
        return stable_id(*self._prefix, *parts)


def _locations(rng: random.Random, ids: _IdMaker) -> list[Json]:
    cities = rng.sample(_CITIES, rng.randint(1, 3))
    return [
        {
            "carrier_location_id": ids("location", str(index)),
            "display_name": "Headquarters" if index == 0 else f"{city} Office",
            "address": {
                "street_one": f"{rng.randint(10, 9999)} {rng.choice(_STREETS)}",
                "street_two": f"Suite {rng.randint(100, 999)}" if rng.random() < 0.4 else None,
                "city": city,
                "state": state,
                "zip_code": zip_code,
                "county": county,
            },
        }
        for index, (city, state, zip_code, county) in enumerate(cities)
    ]


def _contacts(rng: random.Random, ids: _IdMaker, email_domain: str) -> list[Json]:
    contacts = []
    for index in range(rng.randint(1, 3)):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        types = rng.sample(_CONTACT_TYPES, rng.randint(1, 3))
        contacts.append(
            {
                "carrier_contact_id": ids("contact", str(index)),
                "types": [kind for kind in _CONTACT_TYPES if kind in types],
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}@{email_domain}".lower(),
                # 555-01xx numbers are reserved for fiction, so no real phone is ever generated.
                "phone_number": f"+1555555{rng.randint(100, 199):04d}",
                "title": rng.choice(_TITLES),
                "primary_contact": index == 0,
            }
        )
    return contacts


def _principal_configuration(rng: random.Random, carrier: CarrierRules, group_id: str) -> Json:
    # Single member/bill group setups are common and take a different path in member
    # requests (nothing to choose), so they get a generous share.
    single = rng.random() < 0.4
    member_count = 1 if single else rng.randint(1, 3)
    bill_count = 1 if single else rng.randint(1, 3)
    first_key = rng.randint(1_000_000, 9_999_000)
    first_bill = rng.randint(10_000, 99_000)
    configuration: Json = {
        "policy_number": group_id,
        "member_groups": [
            {
                "member_group_key": first_key + i,
                "member_group_status": "open",
                "member_group_name": n,
            }
            for i, n in enumerate(rng.sample(_MEMBER_GROUP_NAMES, member_count))
        ],
        "bill_groups": [
            {
                "bill_group_number": first_bill + i,
                "bill_group_description": d,
                "bill_group_status": "open",
            }
            for i, d in enumerate(rng.sample(_BILL_GROUP_DESCRIPTIONS, bill_count))
        ],
    }
    if rng.random() < 1 / 3:
        sort_count = rng.randint(1, 3)
        first_sort_key = rng.randint(1_000_000, 9_999_000)
        names = zip(
            rng.sample(_NAME_FIRST, sort_count), rng.sample(_NAME_SECOND, sort_count), strict=True
        )
        configuration["bill_group_sort_classes"] = [
            {"sort_class_key": first_sort_key + i, "sort_class_name": f"{first} {second} LLC"}
            for i, (first, second) in enumerate(names)
        ]
    return configuration


def _unum_configuration(rng: random.Random, carrier: CarrierRules, group_id: str) -> Json:
    by_policy_id = carrier.is_scripted_id(group_id)
    master_agreement = (
        "".join(rng.choice(_MASTER_AGREEMENT_ALPHABET) for _ in range(19))
        if by_policy_id
        else group_id
    )
    policy_ids = [group_id] if by_policy_id else []
    policy_count = rng.randint(1, 2)
    while len(policy_ids) < policy_count:
        # Zero-padded like short Unum policy IDs, and clear of every scripted test prefix.
        candidate = f"{rng.randint(100_000, 8_999_999):08d}"
        if candidate not in policy_ids:
            policy_ids.append(candidate)
    descriptions = rng.sample(_CLASS_DESCRIPTIONS, rng.randint(1, 3))
    return {
        "master_agreement_number": master_agreement,
        "division_ids": [f"{i:04d}" for i in range(1, rng.randint(1, 3) + 1)],
        "eligibility_classes": [
            {"eligibility_class_code": f"{i:03d}", "eligibility_class_description": d}
            for i, d in enumerate(descriptions, start=1)
        ],
        "policy_ids": policy_ids,
    }


def _principal_plan_configurations(
    rng: random.Random, configuration: Json, count: int
) -> list[Json]:
    keys = [group["member_group_key"] for group in configuration["member_groups"]]
    return [{"member_group_keys": subset} for subset in _covering_subsets(rng, keys, count)]


def _unum_plan_configurations(rng: random.Random, configuration: Json, count: int) -> list[Json]:
    codes = [c["eligibility_class_code"] for c in configuration["eligibility_classes"]]
    classes = _covering_subsets(rng, codes, count)
    divisions = _covering_subsets(rng, configuration["division_ids"], count)
    policy_ids = configuration["policy_ids"]
    return [
        {
            "eligibility_class_codes": class_codes,
            "policy_ids": _subset(rng, policy_ids),
            "division_ids": division_ids,
        }
        for class_codes, division_ids in zip(classes, divisions, strict=True)
    ]


def _larkspur_configuration(rng: random.Random, carrier: CarrierRules, group_id: str) -> Json:
    """A file carrier places members by plan (HD04) under the group's policy number."""
    return {"policy_number": group_id}


def _larkspur_plan_configurations(
    rng: random.Random, configuration: Json, count: int
) -> list[Json]:
    return [{} for _ in range(count)]


_GROUP_CONFIGURATIONS: dict[str, Callable[[random.Random, CarrierRules, str], Json]] = {
    "principal": _principal_configuration,
    "unum": _unum_configuration,
    "larkspur": _larkspur_configuration,
}
_PLAN_CONFIGURATIONS: dict[str, Callable[[random.Random, Json, int], list[Json]]] = {
    "principal": _principal_plan_configurations,
    "unum": _unum_plan_configurations,
    "larkspur": _larkspur_plan_configurations,
}


def _covering_subsets(rng: random.Random, items: list[T], count: int) -> list[list[T]]:
    """`count` non-empty subsets that together hold every item: no population is left without
    a plan to enroll in."""
    subsets = [_subset(rng, items) for _ in range(count)]
    for item in items:
        if not any(item in subset for subset in subsets):
            rng.choice(subsets).append(item)
    return [[item for item in items if item in subset] for subset in subsets]


def _subset(rng: random.Random, items: list[T]) -> list[T]:
    chosen = rng.sample(items, rng.randint(1, len(items)))
    return [item for item in items if item in chosen]


def _lines(rng: random.Random, carrier: CarrierRules) -> list[str]:
    optional = [line for line in carrier.lines if line not in _REQUIRED_LINES]
    if rng.random() < 0.5 or len(optional) < 3:
        return list(carrier.lines)
    extra = rng.sample(optional, rng.randint(2, len(optional) - 1))
    return [line for line in carrier.lines if line in _REQUIRED_LINES or line in extra]


def _plan_count(rng: random.Random, carrier: CarrierRules, line: str) -> int:
    if line == "hospital_indemnity":
        return rng.randint(2, 3) if carrier.hospital_choices else 1
    return rng.randint(1, 2)


def _enrollment(ids: _IdMaker, line: str, year: int, carrier: CarrierRules) -> Json:
    # Unum takes open-enrollment elections at any time of the year, so its OE never closes
    # (seed 004: "Noyo sets open_enrollment_end_dates to 9999-12-31").
    oe_end = OPEN_ENDED if carrier.slug == "unum" else f"{year - 1}-12-31"
    return {
        "carrier_enrollment_id": ids("enrollment", line),
        "line_of_coverage": line,
        "status": "active",
        "effective_start_date": f"{year}-01-01",
        "effective_end_date": OPEN_ENDED,
        "open_enrollment_start_date": f"{year - 1}-12-01",
        "open_enrollment_end_date": oe_end,
        "open_enrollment_renewal_date": f"{year}-01-01",
    }
