"""The sandbox carriers apply their own behaviours when a member transaction completes.

Principal (seed 003): age reduction of basic life at 65, critical-illness children not held,
its own effective dates for added enrollments (new hires timely / grace / late, QLEs, open
enrollment) and EOI pending for late voluntary life and disability. Unum (seed 004): holds what
was sent, save late voluntary life pending EOI. The store is driven with an explicit clock and a
hand-made account, so every date is the seed's own example.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.effective_dates import EnrollmentEvent, coverage_effective_date
from domain.members import CarrierMember
from domain.plans import VariableCoincidingWaitingPeriod, WaitingPeriod
from sandbox.app import SandboxConfig, create_app
from sandbox.effective_dates import (
    OpenEnrollment,
    open_enrollment_effective_date,
    principal_effective_date,
    unum_eoi_pending,
)
from sandbox.generator import generate_account
from sandbox.members import (
    Member,
    MemberStore,
    MemberTransactionRequest,
    ProcessingSettings,
    UnknownRecord,
    age_reduced,
)

Json = dict[str, Any]

GROUP = "2345678"
EMPLOYEE = uuid.UUID("11111111-1111-4111-8111-111111111111")
SPOUSE = uuid.UUID("22222222-2222-4222-8222-222222222222")
CHILD = uuid.UUID("33333333-3333-4333-8333-333333333333")
STEP_CHILD = uuid.UUID("44444444-4444-4444-8444-444444444444")
OPEN_END = "9999-12-31"
DELAY = timedelta(seconds=2)

# Seed 003's example group: a 30-day waiting period and a "first of coinciding/following
# month" rule; hired March 15th, the eligibility date is May 1st.
SEED_WAIT: list[Json] = [
    {
        "waiting_period_enrollment_type": "new_member",
        "waiting_period_rule": "first_of_month_after_waiting_period",
        "waiting_period_amount": 30,
        "waiting_period_unit": "day",
        "waiting_period_coinciding": True,
    },
    # A QLE is effective on the QLE date: current-member periods are not applied on top.
    {
        "waiting_period_enrollment_type": "current_member",
        "waiting_period_rule": "first_of_month_after_event",
        "waiting_period_coinciding": False,
    },
]
HIRED = date(2024, 3, 15)
ELIGIBLE = date(2024, 5, 1)
# The seed's open-enrollment example: an October 1st, 2023 renewal group.
OE_START, OE_END, RENEWAL = date(2023, 8, 1), date(2023, 8, 31), date(2023, 10, 1)
OE = OpenEnrollment(start_date=OE_START, end_date=OE_END, renewal_date=RENEWAL)

# carrier plan id: (line, voluntary flag or plan type)
PLANS: dict[str, tuple[str, Json]] = {
    "DEN-ER": ("dental", {"voluntary": False}),
    "DEN-VOL": ("dental", {"voluntary": True}),
    "LIFE-BASIC": ("life", {"plan_type": "basic"}),
    "LIFE-VOL": ("life", {"plan_type": "voluntary"}),
    "STD-VOL": ("std", {"plan_type": "voluntary"}),
    "CI-VOL": ("critical_illness", {"plan_type": "voluntary"}),
}
PLAN_IDS = {name: uuid.uuid5(uuid.NAMESPACE_URL, name) for name in PLANS}


def account() -> Json:
    lines = sorted({line for line, _ in PLANS.values()})
    return {
        "group_enrollments": [
            {
                "carrier_enrollment_id": f"E-{line}",
                "line_of_coverage": line,
                "open_enrollment_start_date": OE_START.isoformat(),
                "open_enrollment_end_date": OE_END.isoformat(),
                "open_enrollment_renewal_date": RENEWAL.isoformat(),
            }
            for line in lines
        ],
        "plans": [
            {
                "carrier_plan_id": name,
                "carrier_enrollment_id": f"E-{line}",
                "line_of_coverage": line,
                "waiting_periods": SEED_WAIT,
                **kind,
            }
            for name, (line, kind) in PLANS.items()
        ],
    }


def person(dob: str) -> Json:
    return {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": dob, "sex": "F"}


def enrolled(who: uuid.UUID, start: date, volume: int | None = None) -> Json:
    return {
        "individual_id": str(who),
        "individual_type": "employee" if who == EMPLOYEE else "dependent",
        "effective_start_date": start.isoformat(),
        "effective_end_date": OPEN_END,
        "volume": volume,
    }


def coverage(plan: str, members: list[Json], *, event: tuple[str, date] | None = None) -> Json:
    body: Json = {
        "line_of_coverage": PLANS[plan][0],
        "plan_id": str(PLAN_IDS[plan]),
        "carrier_plan_id": plan,
        "carrier_config": {"member_group": 1122334, "bill_group": 10001},
        "enrolled_members": members,
    }
    if event is not None:
        body["event"] = {"type": "coverage", "reason": event[0], "date": event[1].isoformat()}
    return body


def member(
    coverages: list[Json],
    *,
    dob: str = "1985-12-10",
    hired: date = HIRED,
    dependents: tuple[tuple[uuid.UUID, str], ...] = (),
) -> Json:
    body: Json = {
        "employee": {
            "id": str(EMPLOYEE),
            "person": person(dob),
            "employment": {
                "employment_status": "full-time",
                "employment_dates": {"hire_date": hired.isoformat()},
            },
        },
        "dependents": [
            {"id": str(who), "relationship": relationship, "person": person("2015-01-01")}
            for who, relationship in dependents
        ],
        "coverages": coverages,
    }
    CarrierMember.model_validate(body)  # still the engine's own shape
    return body


class Carrier:
    """One carrier group of a member store, its clock moved by hand."""

    def __init__(self, carrier: str = "principal") -> None:
        self.carrier = carrier
        self.store = MemberStore(
            ProcessingSettings(delay_seconds=2, managed_factor=5),
            accounts=lambda slug, group, today: account(),
        )
        self.now = datetime(2024, 1, 1, 12, tzinfo=UTC)

    def send(self, body: Json, *, on: date | datetime | None = None) -> str:
        if isinstance(on, datetime):
            self.now = on
        elif on is not None:
            self.now = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
        request = MemberTransactionRequest(
            transaction_id=str(uuid.uuid4()),
            transaction_type="carrier_new_hire",
            member=Member.model_validate(body),
        )
        return self.store.receive(self.carrier, GROUP, request, self.now).id

    def settle(self, seconds: float = 12) -> None:
        self.now += timedelta(seconds=seconds)

    def status(self, carrier_id: str) -> Json:
        return self.store.transaction(self.carrier, GROUP, carrier_id, self.now)

    def held(self) -> Json:
        return self.store.member(self.carrier, GROUP, EMPLOYEE, self.now)

    def apply(self, body: Json, *, on: date | datetime | None = None) -> Json:
        """Send `body`, let it finish; the transaction's final view."""
        carrier_id = self.send(body, on=on)
        self.settle()
        view = self.status(carrier_id)
        assert view["status"] == "completed", view
        return view


def held_enrollments(body: Json) -> dict[tuple[str, uuid.UUID], Json]:
    return {
        (c["carrier_plan_id"], uuid.UUID(e["individual_id"])): e
        for c in body["coverages"]
        for e in c["enrolled_members"]
    }


def start_of(body: Json, plan: str, who: uuid.UUID = EMPLOYEE) -> date | None:
    found = held_enrollments(body).get((plan, who))
    return None if found is None else date.fromisoformat(found["effective_start_date"])


# --- the pure rule: seed 003's examples ----------------------------------------------------------

WAIT: list[WaitingPeriod] = [VariableCoincidingWaitingPeriod.model_validate(SEED_WAIT[0])]


def test_the_seed_waiting_period_makes_a_march_15_hire_eligible_on_may_1() -> None:
    eligible = coverage_effective_date(
        WAIT, EnrollmentEvent.NEW_HIRE, event_date=HIRED, hire_date=HIRED
    )
    assert eligible == ELIGIBLE


def principal(
    line: str, voluntary: bool, submitted: date, *, reason: str = "new_hire", event: date = HIRED
) -> date | None:
    return principal_effective_date(
        line_of_coverage=line,
        voluntary=voluntary,
        waiting_periods=WAIT,
        reason=reason,
        event_date=event,
        submitted=submitted,
        hire_date=HIRED,
        open_enrollment=OE,
    )


@pytest.mark.parametrize(
    ("submitted", "employer_paid", "voluntary_dental", "voluntary_life"),
    [
        pytest.param(date(2024, 3, 20), ELIGIBLE, ELIGIBLE, ELIGIBLE, id="early"),
        pytest.param(date(2024, 5, 1), ELIGIBLE, ELIGIBLE, ELIGIBLE, id="on the eligibility date"),
        pytest.param(date(2024, 5, 2), ELIGIBLE, date(2024, 6, 1), date(2024, 6, 1), id="grace"),
        pytest.param(date(2024, 5, 20), ELIGIBLE, date(2024, 6, 1), date(2024, 6, 1), id="May 20"),
        pytest.param(
            date(2024, 5, 31), ELIGIBLE, date(2024, 6, 1), date(2024, 6, 1), id="grace ends"
        ),
        pytest.param(date(2024, 6, 1), ELIGIBLE, date(2024, 10, 1), None, id="late"),
        pytest.param(date(2024, 6, 5), ELIGIBLE, date(2024, 10, 1), None, id="June 5"),
        pytest.param(date(2024, 11, 5), ELIGIBLE, date(2025, 10, 1), None, id="after renewal"),
    ],
)
def test_new_hire_effective_dates_follow_the_seed_example(
    submitted: date,
    employer_paid: date,
    voluntary_dental: date,
    voluntary_life: date | None,
) -> None:
    assert principal("dental", False, submitted) == employer_paid
    assert principal("life", False, submitted) == employer_paid
    assert principal("dental", True, submitted) == voluntary_dental
    assert principal("vision", True, submitted) == voluntary_dental
    assert principal("life", True, submitted) == voluntary_life


@pytest.mark.parametrize("line", ["life", "add", "std", "ltd", "critical_illness"])
def test_late_voluntary_life_and_disability_wait_for_eoi(line: str) -> None:
    assert principal(line, True, date(2024, 6, 5)) is None
    assert principal(line, False, date(2024, 6, 5)) == ELIGIBLE


def test_late_voluntary_lines_without_eoi_start_at_the_next_renewal() -> None:
    assert principal("accident", True, date(2024, 6, 5)) == date(2024, 10, 1)
    assert principal("hospital_indemnity", True, date(2024, 6, 5)) == date(2024, 10, 1)


def test_a_rehire_is_dated_like_a_new_hire() -> None:
    assert principal("dental", True, date(2024, 5, 20), reason="rehire") == date(2024, 6, 1)


QLE = date(2024, 6, 10)


@pytest.mark.parametrize(
    ("submitted", "employer_paid", "voluntary_dental", "voluntary_life"),
    [
        pytest.param(date(2024, 6, 1), QLE, QLE, QLE, id="ahead of the QLE"),
        pytest.param(QLE, QLE, QLE, QLE, id="on the QLE date"),
        pytest.param(date(2024, 7, 11), QLE, QLE, QLE, id="31st day"),
        pytest.param(date(2024, 7, 12), QLE, date(2024, 10, 1), None, id="32nd day: late"),
        pytest.param(date(2024, 12, 1), QLE, date(2025, 10, 1), None, id="after renewal"),
    ],
)
def test_qle_effective_dates_inside_and_outside_31_days(
    submitted: date, employer_paid: date, voluntary_dental: date, voluntary_life: date | None
) -> None:
    for reason in ("marriage", "newborn", "lost_coverage"):
        assert principal("dental", False, submitted, reason=reason, event=QLE) == employer_paid
        assert principal("dental", True, submitted, reason=reason, event=QLE) == voluntary_dental
        assert principal("life", True, submitted, reason=reason, event=QLE) == voluntary_life


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        pytest.param(date(2023, 8, 15), RENEWAL, id="in the window"),
        pytest.param(date(2023, 10, 1), RENEWAL, id="31 days after it closed"),
        pytest.param(date(2023, 10, 2), date(2024, 10, 1), id="32 days after it closed"),
        pytest.param(date(2024, 1, 1), date(2024, 10, 1), id="seed example"),
        pytest.param(date(2024, 8, 20), date(2024, 10, 1), id="next year's window"),
        pytest.param(date(2024, 7, 30), date(2024, 10, 1), id="before next year's window"),
    ],
)
def test_open_enrollment_late_by_more_than_31_days_takes_next_years_renewal(
    submitted: date, expected: date
) -> None:
    for voluntary in (False, True):
        for reason in ("open_enrollment", "dependent_open_enrollment"):
            assert principal("dental", voluntary, submitted, reason=reason) == expected
    assert open_enrollment_effective_date(OE, submitted) == expected


def test_an_open_ended_window_never_closes() -> None:
    open_ended = OpenEnrollment(
        start_date=date(2020, 1, 1), end_date=date(9999, 12, 31), renewal_date=date(2020, 1, 1)
    )
    assert open_enrollment_effective_date(open_ended, date(2024, 6, 1)) == date(2024, 1, 1)


def test_unum_holds_back_only_late_voluntary_life() -> None:
    def pending(line: str, voluntary: bool, submitted: date, reason: str = "new_hire") -> bool:
        return unum_eoi_pending(
            line_of_coverage=line,
            voluntary=voluntary,
            waiting_periods=WAIT,
            reason=reason,
            event_date=HIRED,
            submitted=submitted,
            hire_date=HIRED,
        )

    assert pending("life", True, date(2024, 6, 5))
    assert not pending("life", True, date(2024, 5, 20)), "within the grace period"
    assert not pending("life", False, date(2024, 6, 5)), "basic life"
    assert not pending("dental", True, date(2024, 6, 5))
    assert not pending("std", True, date(2024, 6, 5)), "seed 004 names voluntary life only"
    assert not pending("life", True, date(2025, 6, 5), reason="open_enrollment")
    assert pending("life", True, date(2024, 7, 20), reason="marriage")


def test_age_reduction_rounds_to_whole_dollars() -> None:
    assert age_reduced(50_000) == 32_500
    assert age_reduced(12_345) == 8_024  # 8,024.25
    assert age_reduced(10_001) == 6_501  # 6,500.65
    assert age_reduced(1) == 1  # 0.65, half up


# --- the store: behaviours applied when a transaction completes ----------------------------------


def life_member(dob: str, *, basic: int = 50_000, voluntary: int = 100_000) -> Json:
    return member(
        [
            coverage("LIFE-BASIC", [enrolled(EMPLOYEE, date(2020, 1, 1), basic)]),
            coverage("LIFE-VOL", [enrolled(EMPLOYEE, date(2020, 1, 1), voluntary)]),
        ],
        dob=dob,
    )


def volumes(body: Json) -> dict[str, int]:
    return {plan: e["volume"] for (plan, _), e in held_enrollments(body).items() if e.get("volume")}


def test_basic_life_is_reduced_once_the_employee_is_65_on_the_completion_date() -> None:
    carrier = Carrier()
    sent = life_member("1959-06-01")
    # Received the day before the 65th birthday, completed on it.
    carrier_id = carrier.send(sent, on=datetime(2024, 5, 31, 23, 59, 59, tzinfo=UTC))
    carrier.now += DELAY
    view = carrier.status(carrier_id)
    assert view["status"] == "completed"
    assert view["notes"] == ["age_reduction"]
    assert volumes(carrier.held()) == {"LIFE-BASIC": 32_500, "LIFE-VOL": 100_000}

    # Resending the full amount is no volume change: the carrier compares what it was sent.
    view = carrier.apply(sent)
    assert (view["managed"], view["notes"]) == (False, ["age_reduction"])
    assert volumes(carrier.held()) == {"LIFE-BASIC": 32_500, "LIFE-VOL": 100_000}

    # Sending the reduced amount is a (managed) volume change, and is reduced again.
    view = carrier.apply(life_member("1959-06-01", basic=32_500))
    assert view["managed"] is True
    assert volumes(carrier.held())["LIFE-BASIC"] == 21_125


def test_basic_life_is_held_as_sent_before_65() -> None:
    carrier = Carrier()
    view = carrier.apply(
        life_member("1959-06-02"), on=datetime(2024, 5, 31, 23, 59, 59, tzinfo=UTC)
    )
    assert view["notes"] == []
    assert volumes(carrier.held()) == {"LIFE-BASIC": 50_000, "LIFE-VOL": 100_000}


def test_unum_holds_whatever_volume_was_sent() -> None:
    carrier = Carrier("unum")
    view = carrier.apply(life_member("1940-01-01"), on=date(2024, 6, 1))
    assert view["notes"] == []
    assert volumes(carrier.held()) == {"LIFE-BASIC": 50_000, "LIFE-VOL": 100_000}


def family(ci_members: list[uuid.UUID]) -> Json:
    start = date(2020, 1, 1)
    return member(
        [
            coverage("CI-VOL", [enrolled(who, start, 10_000) for who in ci_members]),
            coverage("DEN-ER", [enrolled(who, start) for who in (EMPLOYEE, SPOUSE, CHILD)]),
        ],
        dependents=((SPOUSE, "spouse"), (CHILD, "child"), (STEP_CHILD, "step-child")),
    )


def test_principal_does_not_hold_children_in_critical_illness() -> None:
    carrier = Carrier()
    view = carrier.apply(family([EMPLOYEE, SPOUSE, CHILD, STEP_CHILD]))
    assert view["notes"] == ["child_critical_illness"]
    held = held_enrollments(carrier.held())
    assert {who for plan, who in held if plan == "CI-VOL"} == {EMPLOYEE, SPOUSE}
    assert {who for plan, who in held if plan == "DEN-ER"} == {EMPLOYEE, SPOUSE, CHILD}
    assert len(carrier.held()["dependents"]) == 3, "the children are still dependents"


def test_unum_holds_children_in_critical_illness() -> None:
    carrier = Carrier("unum")
    view = carrier.apply(family([EMPLOYEE, CHILD]))
    assert view["notes"] == []
    held = held_enrollments(carrier.held())
    assert {who for plan, who in held if plan == "CI-VOL"} == {EMPLOYEE, CHILD}


SENT_START = date(2024, 3, 15)  # what the platform sent: the hire date


def new_hire(*plans: str) -> Json:
    return member(
        [
            coverage(plan, [enrolled(EMPLOYEE, SENT_START, 20_000)], event=("new_hire", HIRED))
            for plan in plans
        ]
    )


NEW_HIRE_PLANS = ("DEN-ER", "DEN-VOL", "LIFE-BASIC", "LIFE-VOL", "STD-VOL")


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        pytest.param(
            date(2024, 4, 20), dict.fromkeys(NEW_HIRE_PLANS, ELIGIBLE), id="timely: by May 1"
        ),
        pytest.param(
            date(2024, 5, 20),
            {
                "DEN-ER": ELIGIBLE,
                "DEN-VOL": date(2024, 6, 1),
                "LIFE-BASIC": ELIGIBLE,
                "LIFE-VOL": date(2024, 6, 1),
                "STD-VOL": date(2024, 6, 1),
            },
            id="grace: May 20",
        ),
        pytest.param(
            date(2024, 6, 5),
            {
                "DEN-ER": ELIGIBLE,
                "DEN-VOL": date(2024, 10, 1),
                "LIFE-BASIC": ELIGIBLE,
                "LIFE-VOL": None,
                "STD-VOL": None,
            },
            id="late: June 5",
        ),
    ],
)
def test_principal_dates_a_new_hires_added_enrollments(
    submitted: date, expected: dict[str, date | None]
) -> None:
    carrier = Carrier()
    view = carrier.apply(new_hire(*NEW_HIRE_PLANS), on=submitted)
    held = carrier.held()
    assert {plan: start_of(held, plan) for plan in NEW_HIRE_PLANS} == expected
    notes = ["effective_date"] + (["eoi_pending"] if None in expected.values() else [])
    assert view["notes"] == notes
    # A plan the EOI holds back is not held at all; the others keep what was sent otherwise.
    assert {c["carrier_plan_id"] for c in held["coverages"]} == {
        plan for plan, start in expected.items() if start is not None
    }
    assert all(e["volume"] == 20_000 for e in held_enrollments(held).values())


def test_the_grace_period_ends_30_days_after_eligibility() -> None:
    carrier = Carrier()
    carrier.apply(new_hire("DEN-VOL", "LIFE-VOL"), on=date(2024, 5, 31))
    assert start_of(carrier.held(), "LIFE-VOL") == date(2024, 6, 1)
    carrier = Carrier()
    carrier.apply(new_hire("DEN-VOL", "LIFE-VOL"), on=date(2024, 6, 1))
    assert start_of(carrier.held(), "DEN-VOL") == date(2024, 10, 1)
    assert start_of(carrier.held(), "LIFE-VOL") is None


def test_a_date_the_carrier_agrees_with_is_no_note() -> None:
    carrier = Carrier()
    body = member([coverage("DEN-ER", [enrolled(EMPLOYEE, ELIGIBLE)], event=("new_hire", HIRED))])
    view = carrier.apply(body, on=date(2024, 4, 1))
    assert view["notes"] == []
    assert carrier.held() == {**body, "terminated": False}


HIRED_LONG_AGO = date(2019, 3, 15)


def established(carrier: Carrier) -> Json:
    """An employee hired long ago, in employer-paid dental since; no spouse yet."""
    body = member(
        [
            coverage(
                "DEN-ER",
                [enrolled(EMPLOYEE, date(2019, 5, 1))],
                event=("new_hire", HIRED_LONG_AGO),
            )
        ],
        hired=HIRED_LONG_AGO,
    )
    carrier.apply(body, on=date(2019, 4, 1))
    return body


def married(sent_start: date) -> Json:
    """The marriage adds the spouse to both dentals and to voluntary life."""
    event = ("marriage", QLE)
    employee_dental = enrolled(EMPLOYEE, date(2019, 5, 1))
    return member(
        [
            coverage("DEN-ER", [employee_dental, enrolled(SPOUSE, sent_start)], event=event),
            coverage("DEN-VOL", [enrolled(SPOUSE, sent_start)], event=event),
            coverage("LIFE-VOL", [enrolled(SPOUSE, sent_start, 10_000)], event=event),
        ],
        hired=HIRED_LONG_AGO,
        dependents=((SPOUSE, "spouse"),),
    )


@pytest.mark.parametrize(
    ("submitted", "employer_paid", "voluntary_dental", "voluntary_life"),
    [
        pytest.param(date(2024, 7, 1), QLE, QLE, QLE, id="within 31 days"),
        pytest.param(date(2024, 8, 1), QLE, date(2024, 10, 1), None, id="after 31 days"),
    ],
)
def test_principal_dates_a_qles_added_enrollments(
    submitted: date, employer_paid: date, voluntary_dental: date, voluntary_life: date | None
) -> None:
    carrier = Carrier()
    established(carrier)
    view = carrier.apply(married(date(2024, 7, 1)), on=submitted)
    held = carrier.held()
    assert start_of(held, "DEN-ER", SPOUSE) == employer_paid
    assert start_of(held, "DEN-VOL", SPOUSE) == voluntary_dental
    assert start_of(held, "LIFE-VOL", SPOUSE) == voluntary_life
    # The employee's enrollment is not added: the carrier keeps its date as sent.
    assert start_of(held, "DEN-ER") == date(2019, 5, 1)
    assert ("eoi_pending" in view["notes"]) is (voluntary_life is None)


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        pytest.param(date(2023, 9, 15), RENEWAL, id="timely"),
        pytest.param(date(2024, 1, 1), date(2024, 10, 1), id="seed: Jan 1 2024, Oct 1 renewal"),
    ],
)
def test_principal_dates_open_enrollment_adds(submitted: date, expected: date) -> None:
    carrier = Carrier()
    established(carrier)
    body = member(
        [
            coverage("DEN-ER", [enrolled(EMPLOYEE, date(2019, 5, 1))]),
            coverage(
                "DEN-VOL",
                [enrolled(EMPLOYEE, RENEWAL)],
                event=("open_enrollment", date(2023, 8, 15)),
            ),
        ],
        hired=HIRED_LONG_AGO,
    )
    carrier.apply(body, on=submitted)
    assert start_of(carrier.held(), "DEN-VOL") == expected


def test_only_added_enrollments_with_an_event_and_a_known_plan_are_dated() -> None:
    carrier = Carrier()
    late = date(2024, 6, 5)
    body = member(
        [
            coverage("DEN-VOL", [enrolled(EMPLOYEE, SENT_START)]),  # no event
            coverage("LIFE-VOL", [enrolled(EMPLOYEE, SENT_START, 10_000)]),  # no event
        ]
    )
    unknown = {
        **coverage("DEN-ER", [enrolled(EMPLOYEE, SENT_START)], event=("new_hire", HIRED)),
        "carrier_plan_id": "NOT-IN-THE-ACCOUNT",
    }
    body["coverages"].append(unknown)
    view = carrier.apply(body, on=late)
    assert view["notes"] == []
    assert carrier.held() == {**body, "terminated": False}


def test_carrier_decisions_hold_while_the_enrollment_is_sent() -> None:
    carrier = Carrier()
    sent = new_hire("DEN-VOL", "LIFE-VOL")
    carrier.apply(sent, on=date(2024, 6, 5))
    first = carrier.held()
    assert start_of(first, "DEN-VOL") == date(2024, 10, 1)
    assert start_of(first, "LIFE-VOL") is None

    # A later change (a new last name) is no effective date change, and keeps both decisions.
    renamed = copy.deepcopy(sent)
    renamed["employee"]["person"]["last_name"] = "Byron"
    view = carrier.apply(renamed, on=date(2024, 7, 1))
    assert (view["managed"], view["notes"]) == (False, ["effective_date", "eoi_pending"])
    held = carrier.held()
    assert held["employee"]["person"]["last_name"] == "Byron"
    assert start_of(held, "DEN-VOL") == date(2024, 10, 1)
    assert start_of(held, "LIFE-VOL") is None

    # A new start is a managed effective date change: applied as sent; EOI stays pending.
    moved = copy.deepcopy(renamed)
    for c in moved["coverages"]:
        c["enrolled_members"][0]["effective_start_date"] = "2024-07-01"
    view = carrier.apply(moved, on=date(2024, 7, 2))
    assert view["managed"] is True
    assert "effective date change" in view["reason"]
    assert start_of(carrier.held(), "DEN-VOL") == date(2024, 7, 1)
    assert start_of(carrier.held(), "LIFE-VOL") is None


def test_coverage_pending_eoi_is_held_once_the_evidence_arrives() -> None:
    carrier = Carrier()
    carrier.apply(new_hire("DEN-VOL", "LIFE-VOL"), on=date(2024, 6, 5))
    assert start_of(carrier.held(), "LIFE-VOL") is None

    held = carrier.store.complete_eoi("principal", GROUP, EMPLOYEE, carrier.now)
    assert held == carrier.held()
    assert start_of(held, "LIFE-VOL") == SENT_START  # the start sent: the seed names no other
    assert start_of(held, "DEN-VOL") == date(2024, 10, 1)  # Principal's own date stands
    assert carrier.store.complete_eoi("principal", GROUP, EMPLOYEE, carrier.now) == held

    # Later transactions keep it held while the same start is sent.
    renamed = new_hire("DEN-VOL", "LIFE-VOL")
    renamed["employee"]["person"]["last_name"] = "Byron"
    view = carrier.apply(renamed, on=date(2024, 7, 1))
    assert view["notes"] == ["effective_date"]
    assert start_of(carrier.held(), "LIFE-VOL") == SENT_START
    with pytest.raises(UnknownRecord):
        carrier.store.complete_eoi("principal", GROUP, SPOUSE, carrier.now)


def test_notes_appear_once_the_transaction_completes() -> None:
    carrier = Carrier()
    carrier_id = carrier.send(new_hire("LIFE-VOL"), on=date(2024, 6, 5))
    assert carrier.status(carrier_id)["notes"] == []
    carrier.now += DELAY
    view = carrier.status(carrier_id)
    assert view["status"] == "completed"
    assert view["notes"] == ["eoi_pending"]
    # The carrier holds the member without the coverage, and says nothing of its values.
    assert carrier.held()["coverages"] == []
    assert all(isinstance(note, str) and note.isidentifier() for note in view["notes"])


def test_a_failed_transaction_has_no_notes_and_changes_nothing() -> None:
    carrier = Carrier()
    body = new_hire("DEN-VOL")
    body["dependents"] = [
        {"id": str(SPOUSE), "relationship": "spouse", "person": person("1980-01-01")}
    ]
    carrier.apply(body, on=date(2024, 6, 5))
    before = carrier.held()
    moved = copy.deepcopy(body)
    moved["dependents"][0]["person"]["home_address"] = {"city": "Ames"}
    carrier_id = carrier.send(moved)
    carrier.settle()
    view = carrier.status(carrier_id)
    assert (view["status"], view["notes"]) == ("failed", [])
    assert carrier.held() == before


def test_unum_holds_back_late_voluntary_life_and_keeps_the_dates_sent() -> None:
    carrier = Carrier("unum")
    view = carrier.apply(new_hire("DEN-VOL", "LIFE-BASIC", "LIFE-VOL"), on=date(2024, 6, 5))
    assert view["notes"] == ["eoi_pending"]
    held = carrier.held()
    assert start_of(held, "DEN-VOL") == SENT_START
    assert start_of(held, "LIFE-BASIC") == SENT_START
    assert start_of(held, "LIFE-VOL") is None

    timely = Carrier("unum")
    view = timely.apply(new_hire("LIFE-VOL"), on=date(2024, 5, 20))
    assert view["notes"] == []
    assert start_of(timely.held(), "LIFE-VOL") == SENT_START


# --- through the app: the store reads the generated account -------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def generated_plan(carrier: str, group: str, line: str, plan_type: str) -> Json:
    account = generate_account(carrier, group)
    return next(
        plan
        for plan in account["plans"]
        if plan["line_of_coverage"] == line and plan.get("plan_type") == plan_type
    )


def app_coverage(plan: Json, *, start: date, volume: int, event: tuple[str, date] | None) -> Json:
    body: Json = {
        "line_of_coverage": plan["line_of_coverage"],
        "plan_id": str(uuid.uuid5(uuid.NAMESPACE_URL, plan["carrier_plan_id"])),
        "carrier_plan_id": plan["carrier_plan_id"],
        "carrier_config": {},
        "enrolled_members": [enrolled(EMPLOYEE, start, volume)],
    }
    if event is not None:
        body["event"] = {"type": "coverage", "reason": event[0], "date": event[1].isoformat()}
    return body


@pytest.mark.parametrize(
    ("carrier", "group"),
    [("principal", "2345683"), ("unum", "12345678")],  # groups with basic and voluntary life
)
async def test_the_app_applies_the_behaviours_to_its_generated_groups(
    carrier: str, group: str
) -> None:
    clock = Clock(datetime(2025, 1, 6, 12, tzinfo=UTC))
    hired = date(2015, 3, 15)  # years before: every generated waiting period is long served
    basic = generated_plan(carrier, group, "life", "basic")
    voluntary = generated_plan(carrier, group, "life", "voluntary")
    body = member(
        [
            app_coverage(basic, start=hired, volume=50_000, event=None),
            app_coverage(voluntary, start=hired, volume=10_000, event=("new_hire", hired)),
        ],
        dob="1950-01-01",
        hired=hired,
    )
    app = create_app(SandboxConfig(), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        response = await http.post(
            f"/{carrier}/groups/{group}/member_transactions",
            json={
                "transaction_id": "txn-1",
                "transaction_type": "carrier_new_hire",
                "member": body,
            },
            headers={"Idempotency-Key": "k-1"},
        )
        assert response.status_code == 201, response.text
        clock.now += DELAY
        found = (await http.get("/_sandbox/member_transactions?transaction_id=txn-1")).json()
        held = (await http.get(f"/{carrier}/groups/{group}/members/{EMPLOYEE}")).json()

    assert [t["status"] for t in found] == ["completed"]
    held_plans = {c["carrier_plan_id"]: c for c in held["coverages"]}
    assert voluntary["carrier_plan_id"] not in held_plans, "late voluntary life: pending EOI"
    basic_volume = held_plans[basic["carrier_plan_id"]]["enrolled_members"][0]["volume"]
    if carrier == "principal":
        assert found[0]["notes"] == ["age_reduction", "eoi_pending"]
        assert basic_volume == 32_500
    else:
        assert found[0]["notes"] == ["eoi_pending"]
        assert basic_volume == 50_000
    # What the carrier holds is still a member the engine can read back.
    CarrierMember.model_validate({k: v for k, v in held.items() if k != "terminated"})
