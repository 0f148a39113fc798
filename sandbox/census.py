"""The members a sandbox carrier already holds for a group before any platform sends one.

Deterministic from the group ID, like the account: IDs `188` followed by digits (`1880012` at
Principal, `18805000` at Unum) hold as many employees as those digits say (12, 5000); every
other group holds none, the seed's "no employees are enrolled yet" case. Each member is made
from its own seed (group, index), so a page costs its size, not the census's.

A census member has the carrier's own IDs (stable UUIDs named by the group and index) for the
employee and each dependent, the platform ID a former platform sent for about half of them
(`custom_individual_id`), and coverages named by the carrier's plan IDs with the effective
dates the carrier calculated. Nothing here logs: members hold PII.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sandbox.carriers import CarrierRules
from sandbox.ids import stable_id
from sandbox.plans import OPEN_ENDED

Json = dict[str, Any]

CENSUS_PREFIX = "188"
DEFAULT_PAGE = 500
MAX_PAGE = 1000

_FIRST = ("Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan", "Kai", "Logan")
_LAST = ("Nguyen", "Okafor", "Patel", "Quinn", "Rivera", "Sato", "Tanaka", "Usman", "Vega", "Wolfe")
_LINES = ("dental", "vision", "life")


def census_size(carrier: CarrierRules, carrier_group_id: str) -> int:
    """How many employees the carrier holds for the group before the platform sends any."""
    if carrier.is_scripted_id(carrier_group_id) and carrier_group_id.startswith(CENSUS_PREFIX):
        return int(carrier_group_id[len(CENSUS_PREFIX) :])
    return 0


def employee_id(carrier: CarrierRules, carrier_group_id: str, index: int) -> str:
    return stable_id(carrier.slug, carrier_group_id, "census", str(index))


def census_member(carrier: CarrierRules, carrier_group_id: str, index: int, account: Json) -> Json:
    """The `index`th employee of the group's census, with dependents and coverages."""
    rng = random.Random(f"{carrier.slug}:{carrier_group_id}:census:{index}")
    employee = employee_id(carrier, carrier_group_id, index)
    last_name = rng.choice(_LAST)
    hire_date = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3000))
    person = _person(rng, rng.choice(_FIRST), last_name, age=rng.randint(22, 64))
    dependents: list[Json] = []
    if rng.random() < 0.5:
        dependents.append(
            {
                "id": stable_id(employee, "dependent", "0"),
                "person": _person(rng, rng.choice(_FIRST), last_name, age=rng.randint(22, 64)),
                "relationship": "spouse",
            }
        )
    for child in range(rng.randint(0, 2)):
        dependents.append(
            {
                "id": stable_id(employee, "dependent", str(child + 1)),
                "person": _person(rng, rng.choice(_FIRST), last_name, age=rng.randint(0, 20)),
                "relationship": "child",
            }
        )
    # The carrier's calculated effective date: the first of the month after the hire date.
    start = (hire_date.replace(day=1) + timedelta(days=32)).replace(day=1)
    coverages = []
    for line in _LINES:
        plans = [
            plan
            for plan in account["plans"]
            if plan["line_of_coverage"] == line and plan["status"] == "active"
        ]
        if not plans or rng.random() < 0.2:
            continue
        plan = rng.choice(plans)
        covered = [(employee, "employee")]
        if line != "life":
            covered += [(dependent["id"], "dependent") for dependent in dependents]
        coverages.append(
            {
                "line_of_coverage": line,
                "carrier_plan_id": plan["carrier_plan_id"],
                "carrier_config": {},
                "enrolled_members": [
                    {
                        "individual_id": individual,
                        "individual_type": kind,
                        "effective_start_date": max(
                            start, date.fromisoformat(plan["effective_start_date"])
                        ).isoformat(),
                        "effective_end_date": OPEN_ENDED,
                        **({"volume": 50_000} if line == "life" else {}),
                    }
                    for individual, kind in covered
                ],
            }
        )
    return {
        "custom_individual_id": f"census-{index:05d}" if rng.random() < 0.5 else None,
        "employee": {
            "id": employee,
            "person": person,
            "employment": {
                "employment_status": "full-time",
                "hours_worked": 40,
                "employment_dates": {"hire_date": hire_date.isoformat()},
            },
        },
        "dependents": dependents,
        "coverages": coverages,
        "terminated": False,
    }


def _person(rng: random.Random, first_name: str, last_name: str, *, age: int) -> Json:
    born = date(2026, 1, 1) - timedelta(days=age * 365 + rng.randint(0, 364))
    return {
        "first_name": first_name,
        "last_name": last_name,
        "date_of_birth": born.isoformat(),
        "sex": rng.choice(("F", "M")),
        # Area numbers 900-999 are never issued: no real SSN is ever generated.
        "ssn": f"9{rng.randint(0, 99):02d}{rng.randint(10, 99)}{rng.randint(1000, 9999)}",
    }


def as_census_member(held: Json) -> Json:
    """A member the carrier holds from the platform's transactions, in the census shape: the
    carrier names plans by its own IDs only."""
    coverages = [
        {key: value for key, value in coverage.items() if key not in ("plan_id", "event", "cobra")}
        for coverage in held.get("coverages", [])
    ]
    return {
        "custom_individual_id": None,
        "employee": held["employee"],
        "dependents": held.get("dependents", []),
        "coverages": coverages,
        "terminated": held["terminated"],
    }
