"""Sample member snapshots for a connected group, built from its plans and configuration.

Used by the benchmark and the tests, and handy for trying the API by hand: the people are
made up, and the carrier configuration is the first valid choice for each plan.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from carriers.principal import INFO as PRINCIPAL
from carriers.unum import INFO as UNUM

Json = dict[str, Any]
OPEN_END = "9999-12-31"
# Lines that need a volume at Principal (and take one anywhere).
VOLUME_LINES = {"life", "add", "critical_illness"}


@dataclass(frozen=True)
class PlanChoice:
    carrier_id: str
    line_of_coverage: str
    plan_id: str
    carrier_config: Json


async def plan_choices(api: httpx.AsyncClient, group_id: str) -> list[PlanChoice]:
    """One valid choice per active plan of the group, read through the REST API."""
    plans = (
        (await api.get(f"/api/v1/groups/{group_id}/plans", params={"page_size": 1000}))
        .raise_for_status()
        .json()["response"]
    )
    configurations = {
        c["carrier_id"]: c["configuration"]
        for c in (await api.get(f"/api/v1/groups/{group_id}/carrier_configurations"))
        .raise_for_status()
        .json()
    }
    return [
        PlanChoice(
            carrier_id=plan["carrier_id"],
            line_of_coverage=plan["line_of_coverage"],
            plan_id=plan["id"],
            carrier_config=carrier_config(
                plan["carrier_id"], plan, configurations.get(plan["carrier_id"], {})
            ),
        )
        for plan in plans
        if plan["status"] == "active"
    ]


def carrier_config(carrier_id: str, plan: Json, configuration: Json) -> Json:
    """The first member configuration the carrier's rules accept for this plan."""
    plan_configuration = plan.get("plan_configuration") or {}
    if carrier_id == str(PRINCIPAL.id):
        open_groups = [
            g["member_group_key"]
            for g in configuration.get("member_groups", [])
            if g.get("member_group_status") == "open"
        ]
        keys = plan_configuration.get("member_group_keys") or open_groups
        config: Json = {
            "member_group": next(k for k in keys if k in open_groups),
            "bill_group": next(
                b["bill_group_number"]
                for b in configuration.get("bill_groups", [])
                if b.get("bill_group_status") == "open"
            ),
        }
        sort_classes = configuration.get("bill_group_sort_classes") or []
        if sort_classes:
            config["sort_class"] = sort_classes[0]["sort_class_key"]
        return config
    if carrier_id == str(UNUM.id):

        def first(group_values: list[str], plan_values: list[str] | None) -> str:
            return next(v for v in group_values if not plan_values or v in plan_values)

        return {
            "division_id": first(
                configuration["division_ids"], plan_configuration.get("division_ids")
            ),
            "eligibility_class_code": first(
                [c["eligibility_class_code"] for c in configuration["eligibility_classes"]],
                plan_configuration.get("eligibility_class_codes"),
            ),
            "policy_ids": {
                plan["line_of_coverage"]: {
                    plan["id"]: first(
                        configuration["policy_ids"], plan_configuration.get("policy_ids")
                    )
                }
            },
        }
    return {}


def pick(choices: list[PlanChoice], carrier_id: str, *lines: str) -> list[PlanChoice]:
    """The first plan of each line asked for at the carrier (lines it lacks are skipped)."""
    picked = []
    for line in lines:
        found = [c for c in choices if c.carrier_id == carrier_id and c.line_of_coverage == line]
        if found:
            picked.append(found[0])
    return picked


def person(first: str, last: str, *, born: str, sex: str = "F", ssn: str | None = None) -> Json:
    address = {"street_one": "1 Main St", "city": "Springfield", "state": "IL", "zip_code": "62701"}
    out: Json = {
        "first_name": first,
        "last_name": last,
        "date_of_birth": born,
        "sex": sex,
        "home_address": address,
        "mailing_address": copy.deepcopy(address),
    }
    if ssn is not None:
        out["ssn"] = ssn
    return out


def new_hire(
    custom_id: str,
    coverages: list[PlanChoice],
    *,
    employee: Json | None = None,
    dependents: list[Json] | None = None,
    hire_date: date = date(2026, 1, 5),
    start: date = date(2026, 2, 1),
    salary: float | None = 65000.0,
    event_reason: str = "new_hire",
    event_date: date | None = None,
) -> Json:
    """A new member's snapshot enrolling the employee and every dependent in each coverage,
    for the event given (a new hire on the hire date unless said otherwise).

    `dependents` are `{"custom_individual_id", "relationship", "person"}` objects.
    """
    dependents = dependents or []
    employment: Json = {
        "employment_status": "full-time",
        "hours_worked": 40,
        "employment_dates": {"hire_date": hire_date.isoformat()},
    }
    if salary is not None:
        employment["salary"] = {"amount": salary, "type": "salary", "unit": "annual"}
    return {
        "snapshot_mode": "current_open",
        "employee": {
            "custom_individual_id": custom_id,
            "event_id": "hire",
            "employment": employment,
            "person": employee
            or person("Sample", f"Member{custom_id}", born="1980-01-01", sex="M"),
        },
        "dependents": dependents,
        "coverages": [
            coverage(choice, custom_id, [d["custom_individual_id"] for d in dependents], start)
            for choice in coverages
        ],
        "events": [
            {
                "id": "hire",
                "date": (event_date or hire_date).isoformat(),
                "type": "coverage",
                "reason": event_reason,
            }
        ],
    }


def coverage(choice: PlanChoice, employee: str, dependents: list[str], start: date) -> Json:
    def enrolled(custom_id: str, kind: str) -> Json:
        member: Json = {
            "individual_type": kind,
            "custom_individual_id": custom_id,
            "effective_start_date": start.isoformat(),
            "effective_end_date": OPEN_END,
        }
        if choice.line_of_coverage in VOLUME_LINES:
            member["volume"] = 50000 if kind == "employee" else 10000
        return member

    return {
        "carrier_id": choice.carrier_id,
        "line_of_coverage": choice.line_of_coverage,
        "plan_id": choice.plan_id,
        "carrier_config": copy.deepcopy(choice.carrier_config),
        "enrolled_members": [enrolled(employee, "employee")]
        + [enrolled(d, "dependent") for d in dependents],
    }


def unique_id(prefix: str = "emp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def main() -> None:
    """`python -m tools.sample_snapshots <group_id>`: print a new hire's snapshot for the
    group (a plan of each line at each carrier), ready to POST."""
    import argparse
    import asyncio
    import json

    from tools.disconnections_cli import default_api_url, default_token

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("group_id")
    parser.add_argument("--custom-id", default=None, help="the platform's id for the employee")
    args = parser.parse_args()

    async def build() -> Json:
        async with httpx.AsyncClient(
            base_url=default_api_url(), headers={"Authorization": f"Bearer {default_token()}"}
        ) as api:
            choices = await plan_choices(api, args.group_id)
        lines: dict[tuple[str, str], PlanChoice] = {}
        for choice in choices:
            lines.setdefault((choice.carrier_id, choice.line_of_coverage), choice)
        return new_hire(args.custom_id or unique_id(), list(lines.values()))

    print(json.dumps(asyncio.run(build()), indent=2))


if __name__ == "__main__":
    main()
