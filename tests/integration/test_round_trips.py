"""Round trips through the sandbox carriers, one per scenario of seed 003 (issue 7).

Each snapshot goes in through the API, reaches the sandbox carriers, and is read back by the
group's confirmation loop; each test ends with the transactions verified and the differences
the seed calls for, or none where the carrier's behaviour is documented (age reduction,
critical-illness children, coverage pending EOI).

A scenario needs particular plans (a voluntary dental plan with the seed's waiting period, two
hospital indemnity choices, ...). The sandbox generates a group's whole account from its ID
alone (`sandbox.generator`), so each test searches fresh policy numbers for one whose account
has what it needs, connects that group, and finds the same plans again through the API.
"""

from __future__ import annotations

import calendar
import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from domain.effective_dates import EnrollmentEvent, coverage_effective_date
from domain.plans import WaitingPeriod, is_voluntary
from sandbox.generator import generate_account
from tests.integration.test_audits import connected
from tests.integration.test_connections import PRINCIPAL, UNUM, principal_id, unum_id
from tests.integration.test_member_snapshots import (
    both_carriers,
    differences_of,
    settled,
    submitted,
    verified_transactions,
)
from tools.sample_snapshots import PlanChoice, new_hire, person, plan_choices, unique_id

pytestmark = pytest.mark.integration

Json = dict[str, Any]
# Picks the plans a scenario needs from one carrier's active plans, in the order the test uses
# them; None when the group lacks them.
Picker = Callable[[list[Json]], list[Json] | None]

SLUGS = {PRINCIPAL: "principal", UNUM: "unum"}
# Generous: the rarest need (a voluntary plan with the seed's own waiting period) is about one
# group in 600, and a group is generated in well under a millisecond.
SEARCH_LIMIT = 30_000
_WAITING_PERIODS: TypeAdapter[list[WaitingPeriod]] = TypeAdapter(list[WaitingPeriod])


# --- groups with the plans a scenario needs ------------------------------------------------------


def sandbox_group(carrier_id: str, pick: Picker) -> str:
    """A fresh carrier group ID whose generated account has the plans `pick` looks for."""
    fresh = principal_id if carrier_id == PRINCIPAL else unum_id
    for _ in range(SEARCH_LIMIT):
        candidate = fresh()
        plans = generate_account(SLUGS[carrier_id], candidate)["plans"]
        if pick([plan for plan in plans if plan["status"] == "active"]) is not None:
            return candidate
    raise AssertionError(f"no {SLUGS[carrier_id]} sandbox group of {SEARCH_LIMIT} has the plans")


@dataclass(frozen=True)
class Scenario:
    group_id: str
    carrier_group_ids: dict[str, str]  # by carrier id
    choices: dict[str, list[PlanChoice]]  # the picked plans' choices, by carrier id
    plans: dict[str, list[Json]]  # the picked plans as the API shows them, by carrier id


async def scenario(
    api: httpx.AsyncClient, principal: Picker, unum: Picker | None = None
) -> Scenario:
    """A group connected to Principal (and Unum when `unum` is given) with the plans picked."""
    ids = {PRINCIPAL: sandbox_group(PRINCIPAL, principal)}
    pickers = {PRINCIPAL: principal}
    if unum is None:
        group_id = await connected(api, PRINCIPAL, ids[PRINCIPAL])
        choices = await plan_choices(api, group_id)
    else:
        ids[UNUM] = sandbox_group(UNUM, unum)
        pickers[UNUM] = unum
        group_id, choices = await both_carriers(api, ids[PRINCIPAL], ids[UNUM])
    listed = await api.get(f"/api/v1/groups/{group_id}/plans", params={"page_size": 1000})
    assert listed.status_code == 200, listed.text
    by_id = {choice.plan_id: choice for choice in choices}
    picked: dict[str, list[Json]] = {}
    for carrier_id, pick in pickers.items():
        active = [
            plan
            for plan in listed.json()["response"]
            if plan["carrier_id"] == carrier_id and plan["status"] == "active"
        ]
        found = pick(active)
        assert found is not None, (
            f"the connected group lacks the plans its generated account has: carrier "
            f"{carrier_id} (group {ids[carrier_id]}) lists active "
            f"{sorted((p['line_of_coverage'], is_voluntary(p)) for p in active)}"
        )
        picked[carrier_id] = found
    return Scenario(
        group_id=group_id,
        carrier_group_ids=ids,
        choices={c: [by_id[plan["id"]] for plan in plans] for c, plans in picked.items()},
        plans=picked,
    )


def of_lines(plans: list[Json], *lines: str) -> list[Json]:
    return [plan for plan in plans if plan["line_of_coverage"] in lines]


def new_member_periods(plan: Json) -> list[Json]:
    return [
        period
        for period in plan.get("waiting_periods", [])
        if period["waiting_period_enrollment_type"] == "new_member"
    ]


def eligibility(plan: Json, hired: date) -> date:
    """When a new hire becomes eligible under the plan's waiting periods (seed 002 arithmetic)."""
    periods = _WAITING_PERIODS.validate_python(plan.get("waiting_periods", []))
    return coverage_effective_date(
        periods, EnrollmentEvent.NEW_HIRE, event_date=hired, hire_date=hired
    )


def first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def years_later(day: date, years: int) -> date:
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


async def enrollment_of(api: httpx.AsyncClient, plan: Json) -> Json:
    response = await api.get(f"/api/v1/group_enrollments/{plan['group_enrollment_id']}")
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- what the carrier holds, and what the engine found ------------------------------------------


async def held_at(
    sandbox: httpx.AsyncClient, found: Scenario, carrier_id: str, employee_id: str
) -> Json:
    """The member as the sandbox carrier holds it now (what round-trip confirmation reads)."""
    slug, carrier_group_id = SLUGS[carrier_id], found.carrier_group_ids[carrier_id]
    response = await sandbox.get(f"/{slug}/groups/{carrier_group_id}/members/{employee_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def enrollments(held: Json) -> dict[tuple[str, str], Json]:
    """The carrier's individual enrollments by (engine plan id, individual id)."""
    return {
        (coverage["plan_id"], enrolled["individual_id"]): enrolled
        for coverage in held["coverages"]
        for enrolled in coverage["enrolled_members"]
    }


def start_of(held: Json, plan: Json, individual_id: str) -> date | None:
    enrolled = enrollments(held).get((plan["id"], individual_id))
    return None if enrolled is None else date.fromisoformat(enrolled["effective_start_date"])


def summary(found: list[Json]) -> list[tuple[Any, ...]]:
    """The differences in a readable form for assertion messages."""
    return [
        (
            d["difference_type"],
            d["object_type"],
            d["coverage_key"],
            d["fields"],
            d["is_discrepancy"],
        )
        for d in found
    ]


async def verified_by_carrier(api: httpx.AsyncClient, employee_id: str) -> dict[str, Json]:
    """The employee's transactions, one per carrier, once all are verified round trip."""
    found = await verified_transactions(api, employee_id)
    by_carrier = {t["carrier_id"]: t for t in found}
    assert len(by_carrier) == len(found), "one transaction per carrier was expected"
    for transaction in found:
        assert transaction["status"] == "completed"
    return by_carrier


def today() -> date:
    return datetime.now(UTC).date()


def starting(body: Json, index: int, start: date) -> Json:
    """`body` with every enrollment of its `index`th coverage starting on `start`."""
    for enrolled in body["coverages"][index]["enrolled_members"]:
        enrolled["effective_start_date"] = start.isoformat()
    return body


# --- 1. a new hire in the grace period ------------------------------------------------------------


def seed_waiting_period(now: date) -> tuple[Json, date]:
    """Seed 003's example waiting period, and the eligibility date that puts `now` in its grace.

    The seed: a 30-day waiting period and a "first of coinciding/following month" rule, hired
    March 15th, eligible May 1st, the grace period May 2nd to May 31st. The latest first of a
    month before `now` is the eligibility date, unless it is 31 days back (the 1st after a
    31-day month): then the same rule on the 15th.
    """
    first = (now - timedelta(days=1)).replace(day=1)
    rule, eligible = "first_of_month_after_waiting_period", first
    if (now - first).days > 30:  # only ever on the 1st: the 15th before is 17 days back
        rule, eligible = "fifteenth_of_month_after_waiting_period", first.replace(day=15)
    period = {
        "waiting_period_enrollment_type": "new_member",
        "waiting_period_rule": rule,
        "waiting_period_amount": 30,
        "waiting_period_unit": "day",
        "waiting_period_coinciding": True,
    }
    return period, eligible


async def test_a_new_hire_in_the_grace_period_gets_principals_voluntary_date(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    now = today()
    period, eligible = seed_waiting_period(now)
    # Thirty days after the hire falls mid-month, so the rule moves it to the eligibility date.
    hired = eligible - timedelta(days=47)
    assert now - timedelta(days=30) <= eligible < now

    def pick(plans: list[Json]) -> list[Json] | None:
        seeded = [
            p
            for p in of_lines(plans, "dental", "vision")
            if is_voluntary(p) and new_member_periods(p) == [period]
        ]
        if not seeded:
            return None
        paid = [
            p
            for p in plans
            if not is_voluntary(p)
            and p["line_of_coverage"] not in (seeded[0]["line_of_coverage"], "hospital_indemnity")
            and eligibility(p, hired) <= now  # verified now, not on a later effective date
        ]
        return [seeded[0], paid[0]] if paid else None

    found = await scenario(api, pick)
    voluntary, employer_paid = found.plans[PRINCIPAL]
    assert eligibility(voluntary, hired) == eligible
    # The platform sends each coverage from the eligibility date its plan's waiting period gives.
    body = new_hire(unique_id(), found.choices[PRINCIPAL], hire_date=hired, start=eligible)
    paid_from = eligibility(employer_paid, hired)
    snapshot = await submitted(api, found.group_id, starting(body, 1, paid_from))
    await settled(api, snapshot["id"])

    transaction = (await verified_by_carrier(api, snapshot["employee_id"]))[PRINCIPAL]
    # Elected after the eligibility date, within the 30-day grace period: still timely, but
    # voluntary coverage starts on the first of the month after the election, and employer-paid
    # coverage on its eligibility date, as sent.
    voluntary_from = first_of_next_month(now)
    employee = snapshot["employee_id"]
    held = await held_at(sandbox, found, PRINCIPAL, employee)
    assert start_of(held, voluntary, employee) == voluntary_from
    assert start_of(held, employer_paid, employee) == paid_from
    differences = await differences_of(api, transaction["id"])
    assert summary(differences) == [
        (
            "carrier_effective_date",
            "individual_enrollment",
            [voluntary["line_of_coverage"]],
            [
                {
                    "key": "effective_start_date",
                    "platform_value": eligible.isoformat(),
                    "carrier_value": voluntary_from.isoformat(),
                }
            ],
            True,  # the sent start has passed: the one check is the last, to resolve with Principal
        )
    ]


# --- 2. late voluntary coverage, pending evidence of insurability ---------------------------------


def voluntary_life(plans: list[Json]) -> list[Json] | None:
    found = [p for p in of_lines(plans, "life") if is_voluntary(p)]
    return found[:1] or None


async def test_late_voluntary_life_completes_and_shows_once_the_evidence_arrives(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    found = await scenario(api, voluntary_life, voluntary_life)
    now = today()
    # Hired long enough ago that every waiting period and its 30-day grace are long over.
    hired = now - timedelta(days=500)
    plans = found.plans[PRINCIPAL] + found.plans[UNUM]
    assert all(eligibility(plan, hired) + timedelta(days=30) < now for plan in plans)
    custom_id = unique_id()
    body = new_hire(custom_id, found.choices[PRINCIPAL] + found.choices[UNUM], hire_date=hired)
    for index, plan in enumerate(plans):  # each from the date its plan made the hire eligible
        starting(body, index, eligibility(plan, hired))
    snapshot = await submitted(api, found.group_id, body)
    assert (await settled(api, snapshot["id"]))["status"] == "completed"

    # Both carriers take the transaction and hold the member, but not the coverage: voluntary
    # life elected late waits for evidence of insurability. That is no difference, at the
    # acceptance check nor at the effective date's (the date sent has passed: both at once).
    employee = snapshot["employee_id"]
    by_carrier = await verified_by_carrier(api, employee)
    for carrier_id, transaction in by_carrier.items():
        (plan,) = found.plans[carrier_id]
        at_carrier = await sandbox.get(
            "/_sandbox/member_transactions", params={"transaction_id": transaction["id"]}
        )
        assert [t["notes"] for t in at_carrier.json()] == [["eoi_pending"]]
        held = await held_at(sandbox, found, carrier_id, employee)
        assert held["employee"]["id"] == employee
        assert start_of(held, plan, employee) is None
        differences = await differences_of(api, transaction["id"])
        assert differences == [], summary(differences)

    # The evidence arrives: the carriers show the coverage, as it was sent.
    for carrier_id, carrier_group_id in found.carrier_group_ids.items():
        (plan,) = found.plans[carrier_id]
        response = await sandbox.post(
            f"/_sandbox/{SLUGS[carrier_id]}/groups/{carrier_group_id}/members/{employee}/eoi"
        )
        assert response.status_code == 200, response.text
        assert start_of(response.json(), plan, employee) == eligibility(plan, hired)

    # The next check reads it back (here a change of address, checked at once) and finds the
    # coverage matching what was sent: still nothing to report.
    moved = copy.deepcopy(body)
    moved["employee"]["id"] = employee
    moved["employee"]["person"]["home_address"]["street_one"] = "7 Quarry Ln"
    moved["events"].append(
        {"id": "moved", "date": now.isoformat(), "type": "demographic", "reason": "moved"}
    )
    moved["employee"]["event_id"] = "moved"
    later = await submitted(api, found.group_id, moved)
    await settled(api, later["id"])
    rechecked = [
        t
        for t in await verified_transactions(api, employee)
        if t["member_snapshot_id"] == later["id"]
    ]
    assert {t["carrier_id"] for t in rechecked} == {PRINCIPAL, UNUM}
    for transaction in rechecked:
        assert transaction["transaction_type"] == "carrier_demographic"
        differences = await differences_of(api, transaction["id"])
        assert differences == [], summary(differences)
    everything = await api.get(f"/api/v1/employees/{employee}/differences")
    assert everything.status_code == 200, everything.text
    assert everything.json()["response"] == []


# --- 3. QLEs inside and outside the 31-day window -------------------------------------------------


def voluntary_and_employer_paid(plans: list[Json]) -> list[Json] | None:
    """A voluntary dental or vision plan, and an employer-paid plan of another line."""
    voluntary = [p for p in of_lines(plans, "dental", "vision") if is_voluntary(p)]
    if not voluntary:
        return None
    line = voluntary[0]["line_of_coverage"]
    paid = [
        p
        for p in plans
        if not is_voluntary(p) and p["line_of_coverage"] not in (line, "hospital_indemnity")
    ]
    return [voluntary[0], paid[0]] if paid else None


def unum_dental_or_vision(plans: list[Json]) -> list[Json] | None:
    return of_lines(plans, "dental", "vision")[:1] or None


async def qle_round_trip(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, days_ago: int
) -> tuple[Scenario, str, date, dict[str, Json]]:
    """A marriage `days_ago` days ago, elected now: every coverage sent from the QLE date."""
    found = await scenario(api, voluntary_and_employer_paid, unum_dental_or_vision)
    married = today() - timedelta(days=days_ago)
    body = new_hire(
        unique_id(),
        found.choices[PRINCIPAL] + found.choices[UNUM],
        event_reason="marriage",
        event_date=married,
        start=married,
    )
    snapshot = await submitted(api, found.group_id, body)
    await settled(api, snapshot["id"])
    return (
        found,
        snapshot["employee_id"],
        married,
        await verified_by_carrier(api, snapshot["employee_id"]),
    )


async def test_a_qle_elected_within_31_days_starts_on_the_qle_date_everywhere(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    found, employee, married, by_carrier = await qle_round_trip(api, sandbox, days_ago=30)

    for carrier_id, transaction in by_carrier.items():
        assert transaction["transaction_type"] == "carrier_qualifying_life_event_adding"
        held = await held_at(sandbox, found, carrier_id, employee)
        for plan in found.plans[carrier_id]:
            assert start_of(held, plan, employee) == married
        differences = await differences_of(api, transaction["id"])
        assert differences == [], summary(differences)


async def test_a_qle_elected_after_31_days_moves_voluntary_coverage_to_the_next_renewal(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    found, employee, married, by_carrier = await qle_round_trip(api, sandbox, days_ago=40)

    # Late: Principal starts voluntary coverage on the next open-enrollment (renewal) date;
    # employer-paid coverage is never late and keeps the QLE date. Unum keeps the dates sent.
    voluntary, employer_paid = found.plans[PRINCIPAL]
    renewal = date.fromisoformat(
        (await enrollment_of(api, voluntary))["open_enrollment_renewal_date"]
    )
    next_renewal = next(
        years_later(renewal, n) for n in range(100) if years_later(renewal, n) > today()
    )
    held = await held_at(sandbox, found, PRINCIPAL, employee)
    assert start_of(held, voluntary, employee) == next_renewal
    assert start_of(held, employer_paid, employee) == married
    principal = await differences_of(api, by_carrier[PRINCIPAL]["id"])
    assert summary(principal) == [
        (
            "carrier_effective_date",
            "individual_enrollment",
            [voluntary["line_of_coverage"]],
            [
                {
                    "key": "effective_start_date",
                    "platform_value": married.isoformat(),
                    "carrier_value": next_renewal.isoformat(),
                }
            ],
            True,
        )
    ]
    (unum_plan,) = found.plans[UNUM]
    assert start_of(await held_at(sandbox, found, UNUM, employee), unum_plan, employee) == married
    unum = await differences_of(api, by_carrier[UNUM]["id"])
    assert unum == [], summary(unum)


# --- 4. Principal's age reduction -----------------------------------------------------------------


def basic_life(plans: list[Json]) -> list[Json] | None:
    found = [p for p in of_lines(plans, "life") if not is_voluntary(p)]
    return found[:1] or None


async def test_basic_life_of_an_employee_over_65_is_confirmed_at_the_reduced_amount(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    found = await scenario(api, basic_life)
    married = today() - timedelta(days=5)
    body = new_hire(
        unique_id(),
        found.choices[PRINCIPAL],
        employee=person("Ottoline", "Ashgrove", born="1958-04-12", sex="F"),
        event_reason="marriage",
        event_date=married,
        start=married,
    )
    assert body["coverages"][0]["enrolled_members"][0]["volume"] == 50_000  # the full amount
    snapshot = await submitted(api, found.group_id, body)
    await settled(api, snapshot["id"])

    transaction = (await verified_by_carrier(api, snapshot["employee_id"]))[PRINCIPAL]
    employee = snapshot["employee_id"]
    held = await held_at(sandbox, found, PRINCIPAL, employee)
    (life,) = found.plans[PRINCIPAL]
    # Principal's 35% reduction at 65: 50,000 sent, 32,500 confirmed, and that is no difference.
    assert enrollments(held)[(life["id"], employee)]["volume"] == 32_500
    differences = await differences_of(api, transaction["id"])
    assert differences == [], summary(differences)


# --- 5. Principal's critical illness children -----------------------------------------------------


def critical_illness(plans: list[Json]) -> list[Json] | None:
    return of_lines(plans, "critical_illness")[:1] or None


async def test_children_in_critical_illness_are_covered_without_an_enrollment_of_their_own(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    found = await scenario(api, critical_illness)
    born = today() - timedelta(days=5)
    custom_id = unique_id()
    body = new_hire(
        custom_id,
        found.choices[PRINCIPAL],
        dependents=[
            {
                "custom_individual_id": f"{custom_id}-child",
                "relationship": "child",
                "person": person("Wren", f"Member{custom_id}", born=born.isoformat()),
            }
        ],
        event_reason="newborn",
        event_date=born,
        start=born,
    )
    snapshot = await submitted(api, found.group_id, body)
    await settled(api, snapshot["id"])

    transaction = (await verified_by_carrier(api, snapshot["employee_id"]))[PRINCIPAL]
    employee = snapshot["employee_id"]
    (child,) = [m["id"] for m in snapshot["created_members"] if m["type"] == "dependent"]
    held = await held_at(sandbox, found, PRINCIPAL, employee)
    (plan,) = found.plans[PRINCIPAL]
    # Covered at 25% of the employee's amount, with no individual enrollment of the child's own.
    assert start_of(held, plan, employee) == born
    assert (plan["id"], child) not in enrollments(held)
    assert [d["id"] for d in held["dependents"]] == [child]
    differences = await differences_of(api, transaction["id"])
    assert differences == [], summary(differences)


# --- 6. hospital indemnity choices ----------------------------------------------------------------


def hospital_choices(plans: list[Json]) -> list[Json] | None:
    found = of_lines(plans, "hospital_indemnity")
    return found if len(found) >= 2 else None


async def test_hospital_indemnity_plans_are_told_apart_by_their_choice(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    found = await scenario(api, hospital_choices)
    plans = found.plans[PRINCIPAL]
    choices = [plan["plan_configuration"]["choice_plan_description"] for plan in plans]
    assert len(set(choices)) == len(choices) >= 2
    married = today() - timedelta(days=5)
    body = new_hire(
        unique_id(),
        found.choices[PRINCIPAL],
        event_reason="marriage",
        event_date=married,
        start=married,
    )
    snapshot = await submitted(api, found.group_id, body)
    await settled(api, snapshot["id"])

    transaction = (await verified_by_carrier(api, snapshot["employee_id"]))[PRINCIPAL]
    assert transaction["lines_of_coverage"] == ["hospital_indemnity"]
    employee = snapshot["employee_id"]
    held = await held_at(sandbox, found, PRINCIPAL, employee)
    for plan in plans:  # one enrollment per choice, none folded into another
        assert start_of(held, plan, employee) == married
    differences = await differences_of(api, transaction["id"])
    assert differences == [], summary(differences)

    # Each choice is a coverage of its own: leaving one out is leaving out an active coverage,
    # and ending one ends that choice alone.
    later = copy.deepcopy(body)
    later["employee"]["id"] = employee
    later["coverages"].pop()
    refused = await api.post(f"/api/v1/groups/{found.group_id}/member_snapshots", json=later)
    assert refused.status_code == 422, refused.text
    assert "hospital_indemnity" in refused.text
    yesterday = today() - timedelta(days=1)
    later = copy.deepcopy(body)
    later["employee"]["id"] = employee
    later["events"][0].update(reason="eligibility_change", date=yesterday.isoformat())
    later["coverages"][-1]["enrolled_members"][0]["effective_end_date"] = yesterday.isoformat()
    ended = await submitted(api, found.group_id, later)
    await settled(api, ended["id"])

    (removal,) = [
        t
        for t in await verified_transactions(api, employee)
        if t["member_snapshot_id"] == ended["id"]
    ]
    assert removal["transaction_type"] == "carrier_qualifying_life_event_removing"
    held = await held_at(sandbox, found, PRINCIPAL, employee)
    ends = {plan["id"]: enrollments(held)[(plan["id"], employee)] for plan in plans}
    assert [ends[plan["id"]]["effective_end_date"] for plan in plans] == [
        *["9999-12-31"] * (len(plans) - 1),
        yesterday.isoformat(),
    ]
    differences = await differences_of(api, removal["id"])
    assert differences == [], summary(differences)


# --- 7. a plan switch -----------------------------------------------------------------------------


def two_plans_of_a_line(plans: list[Json]) -> list[Json] | None:
    for line in ("dental", "vision"):
        found = of_lines(plans, line)
        if len(found) >= 2:
            return found[:2]
    return None


async def test_a_plan_switch_ends_the_old_plan_the_day_before_the_new_one_starts(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    found = await scenario(api, two_plans_of_a_line)
    old_plan, new_plan = found.choices[PRINCIPAL]
    married = today() - timedelta(days=20)
    custom_id = unique_id()
    first = await submitted(
        api,
        found.group_id,
        new_hire(custom_id, [old_plan], event_reason="marriage", event_date=married, start=married),
    )
    await settled(api, first["id"])
    await verified_by_carrier(api, first["employee_id"])

    # Moved out of the old plan's network: the new plan from the move, the old one ended the
    # day before, as Principal requires of a plan switch.
    moved = today() - timedelta(days=3)
    switch = new_hire(
        custom_id, [old_plan, new_plan], event_reason="moved", event_date=moved, start=married
    )
    switch["employee"]["id"] = first["employee_id"]
    switch["coverages"][0]["enrolled_members"][0]["effective_end_date"] = (
        moved - timedelta(days=1)
    ).isoformat()
    second = await submitted(api, found.group_id, starting(switch, 1, moved))
    await settled(api, second["id"])

    employee = first["employee_id"]
    transactions = await verified_transactions(api, employee)
    assert len(transactions) == 2
    (switched,) = [t for t in transactions if t["member_snapshot_id"] == second["id"]]
    assert switched["status"] == "completed"
    held = enrollments(await held_at(sandbox, found, PRINCIPAL, employee))
    old, new = found.plans[PRINCIPAL]
    assert held[(old["id"], employee)]["effective_start_date"] == married.isoformat()
    assert (
        held[(old["id"], employee)]["effective_end_date"] == (moved - timedelta(days=1)).isoformat()
    )
    assert held[(new["id"], employee)]["effective_start_date"] == moved.isoformat()
    assert held[(new["id"], employee)]["effective_end_date"] == "9999-12-31"
    for transaction in transactions:
        differences = await differences_of(api, transaction["id"])
        assert differences == [], summary(differences)


# --- 8. open enrollment sent late ---------------------------------------------------------------


def principal_dental_or_vision_and_life(plans: list[Json]) -> list[Json] | None:
    found = of_lines(plans, "dental", "vision")[:1] + of_lines(plans, "life")[:1]
    return found if len(found) == 2 else None


def last_late_renewal(enrollment: Json, now: date) -> tuple[date, date]:
    """(the window's last day, the renewal) of the latest yearly open enrollment whose window
    closed more than 31 days before `now`: an election for it sent now is late."""
    end = date.fromisoformat(enrollment["open_enrollment_end_date"])
    renewal = date.fromisoformat(enrollment["open_enrollment_renewal_date"])
    years = max(n for n in range(-100, 100) if (now - years_later(end, n)).days > 31)
    return years_later(end, years), years_later(renewal, years)


async def test_open_enrollment_sent_long_after_the_window_starts_at_next_years_renewal(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    found = await scenario(api, principal_dental_or_vision_and_life, unum_dental_or_vision)
    now = today()
    closed, renewal = last_late_renewal(await enrollment_of(api, found.plans[PRINCIPAL][0]), now)
    body = new_hire(
        unique_id(),
        found.choices[PRINCIPAL] + found.choices[UNUM],
        event_reason="open_enrollment",
        event_date=closed,  # elected on the window's last day, sent only now
        start=renewal,
    )
    snapshot = await submitted(api, found.group_id, body)
    await settled(api, snapshot["id"])

    by_carrier = await verified_by_carrier(api, snapshot["employee_id"])
    employee = snapshot["employee_id"]
    for transaction in by_carrier.values():
        assert transaction["transaction_type"] == "carrier_open_enrollment_adding"
    # Seed 003: more than 31 days after the window closed, "the next year's OE date".
    next_year = years_later(renewal, 1)
    held = await held_at(sandbox, found, PRINCIPAL, employee)
    principal = await differences_of(api, by_carrier[PRINCIPAL]["id"])
    expected = []
    for plan in found.plans[PRINCIPAL]:
        # Every line of the group renews on the same cycle.
        assert last_late_renewal(await enrollment_of(api, plan), now) == (closed, renewal)
        assert start_of(held, plan, employee) == next_year
        expected.append(
            (
                "carrier_effective_date",
                "individual_enrollment",
                [plan["line_of_coverage"]],
                [
                    {
                        "key": "effective_start_date",
                        "platform_value": renewal.isoformat(),
                        "carrier_value": next_year.isoformat(),
                    }
                ],
                True,
            )
        )
    assert sorted(summary(principal), key=repr) == sorted(expected, key=repr)
    (unum_plan,) = found.plans[UNUM]
    assert start_of(await held_at(sandbox, found, UNUM, employee), unum_plan, employee) == renewal
    unum = await differences_of(api, by_carrier[UNUM]["id"])
    assert unum == [], summary(unum)
