"""Renewal decisions' pure rules: the date rules, the body checks, the comparison, the gate."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain.errors import ValidationFailed
from domain.renewals import (
    OPEN_END,
    CarrierPlans,
    CarrierRenewalEnrollment,
    CarrierRenewalPlan,
    DecisionBody,
    DecisionForElections,
    IssueLevel,
    RenewalStatus,
    add_months,
    body_problems,
    check_renewal_date,
    compare_carrier,
    election_refusal,
    is_done,
    shown_issues,
    status_of,
    watched_until,
)

CARRIER = uuid.UUID("d0003042-eaae-4491-b219-4825456a3d16")
OTHER = uuid.UUID("23054cd9-0a41-43e3-bd43-2d2138006536")
RENEWAL = date(2027, 1, 1)
TODAY = date(2026, 11, 15)
DENTAL_PLAN = uuid.uuid4()


def body(lines: dict[str, Any] | None = None, carrier_id: uuid.UUID = CARRIER) -> DecisionBody:
    return DecisionBody.model_validate(
        {"carriers": [{"carrier_id": str(carrier_id), "lines_of_coverage": lines or {}}]}
    )


def dental(*plans: dict[str, Any], start: str = "2026-12-01", end: str = "2026-12-31") -> Any:
    return {
        "dental": {
            "open_enrollment_start_date": start,
            "open_enrollment_end_date": end,
            "plans": list(plans) or [{"plan_id": str(DENTAL_PLAN)}],
        }
    }


def held(*plans: tuple[str, str, str], oe_end: date = date(2026, 12, 31)) -> CarrierPlans:
    """The carrier's next plan year: (carrier plan id, line, name) each, active from renewal."""
    return CarrierPlans(
        as_of=RENEWAL,
        group_enrollments=[
            CarrierRenewalEnrollment(
                line_of_coverage=line,
                open_enrollment_start_date=date(2026, 12, 1),
                open_enrollment_end_date=oe_end,
                open_enrollment_renewal_date=RENEWAL,
            )
            for line in sorted({line for _, line, _ in plans})
        ],
        plans=[
            CarrierRenewalPlan(
                carrier_plan_id=plan_id,
                line_of_coverage=line,
                name=name,
                status="active",
                effective_start_date=RENEWAL,
            )
            for plan_id, line, name in plans
        ],
    )


def compare(decision: DecisionBody, carrier: CarrierPlans) -> list[Any]:
    return compare_carrier(
        decision.carriers[0], carrier, carrier_plan_ids={DENTAL_PLAN: "carrier-dental-1"}
    )


# --- dates ---------------------------------------------------------------------------------------


def test_renewal_date_within_30_days_past_and_6_months_ahead() -> None:
    check_renewal_date(TODAY - timedelta(days=30), today=TODAY)
    check_renewal_date(date(2027, 5, 15), today=TODAY)
    for refused in (TODAY - timedelta(days=31), date(2027, 5, 16)):
        with pytest.raises(ValidationFailed) as caught:
            check_renewal_date(refused, today=TODAY)
        assert caught.value.problems[0].field == "renewal_date"


def test_six_months_from_the_end_of_a_month_is_the_shorter_months_last_day() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_done_once_the_renewal_and_the_late_window_after_oe_are_over() -> None:
    decision = body(dental(end="2027-01-15"))
    assert watched_until(RENEWAL, decision) == date(2027, 2, 15)
    assert not is_done(RENEWAL, decision, today=date(2027, 2, 15))
    assert is_done(RENEWAL, decision, today=date(2027, 2, 16))


def test_an_open_oe_end_bounds_nothing_the_renewal_date_does() -> None:
    assert watched_until(RENEWAL, body(dental(end=OPEN_END.isoformat()))) == date(2027, 2, 1)
    assert watched_until(RENEWAL, body()) == date(2027, 2, 1)


# --- the body ------------------------------------------------------------------------------------


def problems(decision: DecisionBody, **facts: Any) -> list[str]:
    known = {
        "connected": {CARRIER},
        "carrier_lines": {CARRIER: {"dental", "vision"}},
        "group_plan_ids": {CARRIER: {DENTAL_PLAN}},
    } | facts
    return [p.field for p in body_problems(decision, **known)]


def test_a_good_body_has_no_problems() -> None:
    assert problems(body(dental())) == []
    assert problems(body(dental({"name": "Dental PPO 2027"}))) == []
    assert problems(body()) == []


def test_each_refused_field_is_named() -> None:
    at = "body.carriers.0"
    assert problems(body(dental(), carrier_id=OTHER)) == [f"{at}.carrier_id"]
    assert problems(body({"medical": dental()["dental"]})) == [f"{at}.lines_of_coverage.medical"]
    assert problems(body(dental({"plan_id": str(uuid.uuid4())}))) == [
        f"{at}.lines_of_coverage.dental.plans.0.plan_id"
    ]
    assert problems(body(dental(start="2026-12-31", end="2026-12-01"))) == [
        f"{at}.lines_of_coverage.dental.open_enrollment_end_date"
    ]
    twice = DecisionBody.model_validate(
        {"carriers": [{"carrier_id": str(CARRIER)}, {"carrier_id": str(CARRIER)}]}
    )
    assert problems(twice) == ["body.carriers.1.carrier_id"]


def test_the_schema_wants_a_carrier_and_a_plan_per_line_named_by_id_or_name() -> None:
    with pytest.raises(ValidationError):
        DecisionBody.model_validate({"carriers": []})
    with pytest.raises(ValidationError):
        body({"dental": {"plans": []}})
    with pytest.raises(ValidationError):
        body({"dental": {"plans": [{"plan_type": "ppo"}]}})
    kept = body(dental({"name": "Dental PPO", "plan_type": "ppo", "metal_tier": "gold"}))
    plan = kept.carriers[0].lines_of_coverage["dental"].plans[0]
    assert plan.model_dump()["plan_type"] == "ppo"


# --- the comparison ------------------------------------------------------------------------------


def test_ready_when_every_decided_plan_is_installed() -> None:
    issues = compare(body(dental()), held(("carrier-dental-1", "dental", "Dental PPO")))
    assert issues == []
    assert status_of(issues) is RenewalStatus.READY


def test_a_decided_plan_missing_at_the_carrier_is_an_error() -> None:
    issues = compare(body(dental()), held(("carrier-vision-1", "vision", "Vision")))
    assert [(i.level, i.line_of_coverage) for i in issues] == [(IssueLevel.ERROR, "dental")]
    assert issues[0].carrier_id == CARRIER
    assert status_of(issues) is RenewalStatus.NOT_READY


def test_plans_by_name_match_any_case_and_a_renamed_one_is_missing() -> None:
    carrier = held(("carrier-dental-1", "dental", "Dental PPO Core"))
    assert compare(body(dental({"name": "dental ppo core "})), carrier) == []
    renamed = held(("carrier-dental-1", "dental", "Dental PPO Core Renewed"))
    issues = compare(body(dental({"name": "Dental PPO Core"})), renamed)
    # The decided name is missing; the renamed plan is one the decision does not name.
    assert [i.level for i in issues] == [IssueLevel.ERROR, IssueLevel.WARNING]


def test_a_plan_not_active_on_the_renewal_date_does_not_count() -> None:
    carrier = held(("carrier-dental-1", "dental", "Dental PPO"))
    carrier.plans[0].status = "discontinued"
    assert status_of(compare(body(dental()), carrier)) is RenewalStatus.NOT_READY
    later = held(("carrier-dental-1", "dental", "Dental PPO"))
    later.plans[0].effective_start_date = RENEWAL + timedelta(days=1)
    assert status_of(compare(body(dental()), later)) is RenewalStatus.NOT_READY


def test_unnamed_carrier_plans_and_other_oe_dates_are_warnings() -> None:
    carrier = held(
        ("carrier-dental-1", "dental", "Dental PPO"),
        ("carrier-dental-2", "dental", "Dental HMO"),
    )
    issues = compare(body(dental(start="2026-11-15")), carrier)
    assert {i.level for i in issues} == {IssueLevel.WARNING}
    assert len(issues) == 2
    assert status_of(issues) is RenewalStatus.READY
    assert shown_issues(RenewalStatus.READY, issues) == []
    assert shown_issues(RenewalStatus.NOT_READY, issues) == issues


def test_an_open_oe_end_at_the_carrier_accepts_any_decided_end() -> None:
    carrier = held(("carrier-dental-1", "dental", "Dental PPO"), oe_end=OPEN_END)
    assert compare(body(dental()), carrier) == []


def test_no_lines_decided_is_ready_once_any_plan_exists() -> None:
    (issue,) = compare(body(), held())
    assert issue.level is IssueLevel.ERROR
    assert compare(body(), held(("carrier-vision-1", "vision", "Vision"))) == []


# --- the election gate ---------------------------------------------------------------------------


def decision(renewal: date, status: RenewalStatus) -> DecisionForElections:
    return DecisionForElections(decision_id=uuid.uuid4(), renewal_date=renewal, status=status)


def test_elections_wait_for_the_governing_decision_to_be_ready() -> None:
    waiting = decision(RENEWAL, RenewalStatus.NOT_READY)
    reason = election_refusal([waiting], takes_effect=RENEWAL)
    assert reason is not None
    assert str(waiting.decision_id) in reason
    assert election_refusal([waiting], takes_effect=RENEWAL - timedelta(days=1)) is None
    assert election_refusal([decision(RENEWAL, RenewalStatus.SUBMITTED)], takes_effect=RENEWAL)
    for status in (RenewalStatus.READY, RenewalStatus.DONE):
        assert election_refusal([decision(RENEWAL, status)], takes_effect=RENEWAL) is None


def test_no_decision_lets_elections_through_and_the_latest_one_governs() -> None:
    assert election_refusal([], takes_effect=RENEWAL) is None
    last_year = decision(date(2026, 1, 1), RenewalStatus.DONE)
    this_year = decision(RENEWAL, RenewalStatus.NOT_READY)
    assert election_refusal([last_year, this_year], takes_effect=date(2026, 6, 1)) is None
    assert election_refusal([last_year, this_year], takes_effect=date(2027, 6, 1)) is not None
