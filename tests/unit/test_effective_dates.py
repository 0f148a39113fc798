"""The effective date of coverage from waiting periods: the seeds' examples, then properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.effective_dates import (
    EnrollmentEvent,
    add_units,
    boundary_days,
    coverage_effective_date,
    next_boundary,
    waiting_period_effective_date,
)
from domain.plans import (
    FixedCoincidingRule,
    FixedCoincidingWaitingPeriod,
    FixedRule,
    FixedWaitingPeriod,
    VariableCoincidingRule,
    VariableCoincidingWaitingPeriod,
    VariableRule,
    VariableWaitingPeriod,
    WaitingPeriod,
    WaitingPeriodEnrollmentType,
    WaitingPeriodUnit,
)

E = EnrollmentEvent
T = WaitingPeriodEnrollmentType
U = WaitingPeriodUnit
FC = FixedCoincidingRule
VC = VariableCoincidingRule

NEW, CURRENT, REHIRE = T.NEW_MEMBER, T.CURRENT_MEMBER, T.REHIRE

# Deterministic, and small enough that the file runs in a few seconds.
PROPERTY = settings(max_examples=200, derandomize=True, deadline=None)


def fixed(kind: T = NEW) -> FixedWaitingPeriod:
    return FixedWaitingPeriod(
        waiting_period_enrollment_type=kind, waiting_period_rule=FixedRule.HIRE_DATE
    )


def fixed_coinciding(
    rule: FixedCoincidingRule, coinciding: bool, kind: T = NEW
) -> FixedCoincidingWaitingPeriod:
    return FixedCoincidingWaitingPeriod(
        waiting_period_enrollment_type=kind,
        waiting_period_rule=rule,
        waiting_period_coinciding=coinciding,
    )


def variable(amount: int, unit: U, kind: T = NEW) -> VariableWaitingPeriod:
    return VariableWaitingPeriod(
        waiting_period_enrollment_type=kind,
        waiting_period_rule=VariableRule.AFTER_WAITING_PERIOD,
        waiting_period_amount=amount,
        waiting_period_unit=unit,
    )


def variable_coinciding(
    rule: VariableCoincidingRule, amount: int, unit: U, coinciding: bool, kind: T = NEW
) -> VariableCoincidingWaitingPeriod:
    return VariableCoincidingWaitingPeriod(
        waiting_period_enrollment_type=kind,
        waiting_period_rule=rule,
        waiting_period_amount=amount,
        waiting_period_unit=unit,
        waiting_period_coinciding=coinciding,
    )


def hire(periods: list[WaitingPeriod], hired: date, event_date: date | None = None) -> date:
    return coverage_effective_date(
        periods, E.NEW_HIRE, event_date=event_date or hired, hire_date=hired
    )


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- the seeds' examples -------------------------------------------------------------------------


@pytest.mark.parametrize(("coinciding", "expected"), [(True, "2024-01-01"), (False, "2024-02-01")])
def test_seed_002_first_of_month_after_hire_date_on_january_first(
    coinciding: bool, expected: str
) -> None:
    period = fixed_coinciding(FC.FIRST_OF_MONTH_AFTER_HIRE_DATE, coinciding)
    assert hire([period], d("2024-01-01")) == d(expected)


@pytest.mark.parametrize("coinciding", [True, False])
@pytest.mark.parametrize("event_date", ["2024-03-15", "2024-05-01", "2024-05-20", "2024-06-03"])
def test_seed_003_new_hire_30_days_first_of_coinciding_or_following_month(
    coinciding: bool, event_date: str
) -> None:
    # March 15 + 30 days = April 14, off the 1st, so May 1 whether coinciding or not; the
    # eligibility date does not move with a later event (timeliness is the carrier's business).
    period = variable_coinciding(VC.FIRST_OF_MONTH_AFTER_WAITING_PERIOD, 30, U.DAY, coinciding)
    assert hire([period], d("2024-03-15"), d(event_date)) == d("2024-05-01")


@pytest.mark.parametrize(
    "periods",
    [
        [],
        [fixed(CURRENT)],
        [variable(30, U.DAY, NEW)],
        [fixed_coinciding(FC.FIRST_OF_MONTH_AFTER_HIRE_DATE, False)],
    ],
)
def test_seed_003_qle_is_effective_on_the_qle_date(periods: list[WaitingPeriod]) -> None:
    got = coverage_effective_date(
        periods, E.QLE, event_date=d("2024-06-12"), hire_date=d("2019-02-03")
    )
    assert got == d("2024-06-12")


def test_seed_003_open_enrollment_is_effective_on_the_renewal_date() -> None:
    periods: list[WaitingPeriod] = [variable(90, U.DAY), fixed(CURRENT)]
    got = coverage_effective_date(
        periods,
        E.OPEN_ENROLLMENT,
        event_date=d("2023-09-05"),
        hire_date=d("2023-08-01"),
        renewal_date=d("2023-10-01"),
    )
    assert got == d("2023-10-01")


# --- every rule ----------------------------------------------------------------------------------

# Short names for the table below.
F1_HIRE, F1_EVENT = FC.FIRST_OF_MONTH_AFTER_HIRE_DATE, FC.FIRST_OF_MONTH_AFTER_EVENT
F15_HIRE, F15_EVENT = FC.FIFTEENTH_OF_MONTH_AFTER_HIRE_DATE, FC.FIFTEENTH_OF_MONTH_AFTER_EVENT
F1OR15_HIRE = FC.FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_HIRE_DATE
F1OR15_EVENT = FC.FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_EVENT
W1, W15 = VC.FIRST_OF_MONTH_AFTER_WAITING_PERIOD, VC.FIFTEENTH_OF_MONTH_AFTER_WAITING_PERIOD
W1OR15 = VC.FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_WAITING_PERIOD
fc, v, vc = fixed_coinciding, variable, variable_coinciding

RULE_EXAMPLES: list[tuple[WaitingPeriod, str, str | None, str]] = [
    # (period, hire date, event date when not the hire date, effective date)
    (fixed(), "2024-03-15", "2024-03-20", "2024-03-15"),
    (fc(F1_HIRE, True), "2024-03-15", None, "2024-04-01"),
    (fc(F1_HIRE, False), "2024-12-01", None, "2025-01-01"),
    (fc(F1_EVENT, True), "2024-03-01", "2024-03-10", "2024-04-01"),
    (fc(F1_EVENT, True), "2024-02-20", "2024-03-01", "2024-03-01"),
    (fc(F15_HIRE, True), "2024-03-15", None, "2024-03-15"),
    (fc(F15_HIRE, False), "2024-03-15", None, "2024-04-15"),
    (fc(F15_HIRE, False), "2024-03-01", None, "2024-03-15"),
    (fc(F15_HIRE, True), "2024-12-16", None, "2025-01-15"),
    (fc(F15_EVENT, False), "2024-03-01", "2024-03-14", "2024-03-15"),
    (fc(F1OR15_HIRE, True), "2024-03-02", None, "2024-03-15"),
    (fc(F1OR15_HIRE, True), "2024-03-15", None, "2024-03-15"),
    (fc(F1OR15_HIRE, False), "2024-03-15", None, "2024-04-01"),
    (fc(F1OR15_HIRE, False), "2024-03-01", None, "2024-03-15"),
    (fc(F1OR15_EVENT, True), "2024-12-01", "2024-12-20", "2025-01-01"),
    (v(30, U.DAY), "2024-03-15", None, "2024-04-14"),
    (v(0, U.DAY), "2024-03-15", None, "2024-03-15"),
    (v(2, U.WEEK), "2024-03-15", None, "2024-03-29"),
    (v(1, U.MONTH), "2024-01-31", None, "2024-02-29"),
    (v(1, U.MONTH), "2023-01-31", None, "2023-02-28"),
    (v(3, U.MONTH), "2024-11-30", None, "2025-02-28"),
    (v(1, U.YEAR), "2024-02-29", None, "2025-02-28"),
    (v(5, U.BUSINESS_DAY), "2024-03-11", None, "2024-03-18"),  # Monday to Monday
    (v(1, U.BUSINESS_DAY), "2024-03-15", None, "2024-03-18"),  # Friday to Monday
    (v(1, U.BUSINESS_DAY), "2024-03-16", None, "2024-03-18"),  # Saturday to Monday
    (v(0, U.BUSINESS_DAY), "2024-03-17", None, "2024-03-18"),  # Sunday to Monday
    (v(0, U.BUSINESS_DAY), "2024-03-13", None, "2024-03-13"),  # a Wednesday stays
    (v(7, U.BUSINESS_DAY), "2024-03-14", None, "2024-03-25"),  # Thursday to Monday week
    (vc(W1, 1, U.MONTH, True), "2024-03-01", None, "2024-04-01"),
    (vc(W1, 1, U.MONTH, False), "2024-03-01", None, "2024-05-01"),
    (vc(W1, 30, U.DAY, False), "2024-03-02", None, "2024-05-01"),
    (vc(W1, 30, U.DAY, True), "2024-03-02", None, "2024-04-01"),
    (vc(W15, 60, U.DAY, True), "2024-01-15", None, "2024-03-15"),
    (vc(W15, 60, U.DAY, False), "2024-01-15", None, "2024-04-15"),
    (vc(W1OR15, 2, U.WEEK, True), "2024-03-01", None, "2024-03-15"),
    (vc(W1OR15, 2, U.WEEK, False), "2024-03-01", None, "2024-04-01"),
    (vc(W1OR15, 1, U.YEAR, False), "2024-02-16", None, "2025-03-01"),
    (vc(W1OR15, 3, U.BUSINESS_DAY, True), "2024-03-12", None, "2024-03-15"),
]


@pytest.mark.parametrize(("period", "hired", "event_date", "expected"), RULE_EXAMPLES)
def test_each_rule(
    period: WaitingPeriod, hired: str, event_date: str | None, expected: str
) -> None:
    assert hire([period], d(hired), d(event_date or hired)) == d(expected)


def test_rule_examples_cover_every_rule_and_unit() -> None:
    rules = {period.waiting_period_rule for period, *_ in RULE_EXAMPLES}
    assert rules == {*FixedRule, *FixedCoincidingRule, *VariableRule, *VariableCoincidingRule}
    units = {
        period.waiting_period_unit
        for period, *_ in RULE_EXAMPLES
        if isinstance(period, VariableWaitingPeriod | VariableCoincidingWaitingPeriod)
    }
    assert units == set(WaitingPeriodUnit)


def _days_named(rule: str) -> set[int]:
    """The days of the month a rule's name promises, read from the name itself."""
    if rule.startswith("first_or_fifteenth_"):
        return {1, 15}
    if rule.startswith("first_"):
        return {1}
    assert rule.startswith("fifteenth_")
    return {15}


@pytest.mark.parametrize("rule", [*FixedCoincidingRule, *VariableCoincidingRule])
def test_boundary_days_follow_the_rule_name(
    rule: FixedCoincidingRule | VariableCoincidingRule,
) -> None:
    assert set(boundary_days(rule)) == _days_named(rule)


# --- which waiting period applies ----------------------------------------------------------------

HIRED = d("2024-03-15")


def test_rehire_prefers_rehire_periods() -> None:
    periods: list[WaitingPeriod] = [variable(30, U.DAY, NEW), variable(10, U.DAY, REHIRE)]
    got = coverage_effective_date(periods, E.REHIRE, event_date=HIRED, hire_date=HIRED)
    assert got == d("2024-03-25")


def test_rehire_falls_back_on_new_member_periods() -> None:
    periods: list[WaitingPeriod] = [variable(30, U.DAY, NEW), variable(10, U.DAY, CURRENT)]
    got = coverage_effective_date(periods, E.REHIRE, event_date=HIRED, hire_date=HIRED)
    assert got == d("2024-04-14")


def test_new_hire_takes_only_new_member_periods() -> None:
    periods: list[WaitingPeriod] = [variable(10, U.DAY, REHIRE), variable(20, U.DAY, CURRENT)]
    assert hire(periods, HIRED) == HIRED
    assert hire([*periods, variable(30, U.DAY, NEW)], HIRED) == d("2024-04-14")


def test_qle_takes_current_member_periods_from_the_event_date() -> None:
    periods: list[WaitingPeriod] = [
        variable(90, U.DAY, NEW),
        fixed_coinciding(FC.FIRST_OF_MONTH_AFTER_HIRE_DATE, True, CURRENT),
    ]
    got = coverage_effective_date(
        periods, E.QLE, event_date=d("2024-06-12"), hire_date=d("2019-02-01")
    )
    assert got == d("2024-07-01")


def test_several_applicable_periods_take_the_latest() -> None:
    periods: list[WaitingPeriod] = [
        variable(30, U.DAY),
        fixed_coinciding(FC.FIRST_OF_MONTH_AFTER_HIRE_DATE, True),
        variable(60, U.DAY),
    ]
    assert hire(periods, HIRED) == d("2024-05-14")


def test_hire_date_defaults_to_the_event_date() -> None:
    got = coverage_effective_date([variable(30, U.DAY)], E.NEW_HIRE, event_date=HIRED)
    assert got == d("2024-04-14")


def test_a_pre_hire_event_counts_from_the_hire_date() -> None:
    period = fixed_coinciding(FC.FIRST_OF_MONTH_AFTER_EVENT, True)
    assert hire([period], HIRED, d("2024-02-01")) == d("2024-04-01")


def test_open_enrollment_needs_a_renewal_date() -> None:
    with pytest.raises(ValueError, match="renewal date"):
        coverage_effective_date([], E.OPEN_ENROLLMENT, event_date=HIRED)


def test_negative_amounts_and_bad_boundaries_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_units(HIRED, -1, U.DAY)
    with pytest.raises(ValueError, match=r"1\.\.28"):
        next_boundary(HIRED, (31,), coinciding=True)
    with pytest.raises(ValueError, match=r"1\.\.28"):
        next_boundary(HIRED, (), coinciding=True)


# --- properties ----------------------------------------------------------------------------------

DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
KINDS = st.sampled_from(WaitingPeriodEnrollmentType)
UNITS = st.sampled_from(WaitingPeriodUnit)
AMOUNTS = st.integers(min_value=0, max_value=400)
HIRES = st.sampled_from([E.NEW_HIRE, E.REHIRE])

FIXED_COINCIDING = st.builds(
    fixed_coinciding, st.sampled_from(FixedCoincidingRule), st.booleans(), KINDS
)
VARIABLE_COINCIDING = st.builds(
    variable_coinciding,
    st.sampled_from(VariableCoincidingRule),
    AMOUNTS,
    UNITS,
    st.booleans(),
    KINDS,
)
COINCIDING: st.SearchStrategy[FixedCoincidingWaitingPeriod | VariableCoincidingWaitingPeriod] = (
    st.one_of(FIXED_COINCIDING, VARIABLE_COINCIDING)
)
PERIODS: st.SearchStrategy[WaitingPeriod] = st.one_of(
    st.builds(fixed, KINDS),
    FIXED_COINCIDING,
    st.builds(variable, AMOUNTS, UNITS, KINDS),
    VARIABLE_COINCIDING,
)
PERIOD_LISTS = st.lists(PERIODS, max_size=4)
OFFSETS = st.integers(min_value=-60, max_value=400)


def _counted_weekdays(start: date, amount: int) -> date:
    """`amount` business days after `start`, counted one day at a time."""
    day, left = start, amount
    if left == 0:
        while day.weekday() >= 5:
            day += timedelta(days=1)
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


@PROPERTY
@given(periods=PERIOD_LISTS, event=HIRES, hired=DATES, offset=OFFSETS)
def test_hires_are_never_covered_before_the_hire_date(
    periods: list[WaitingPeriod], event: EnrollmentEvent, hired: date, offset: int
) -> None:
    got = coverage_effective_date(
        periods, event, event_date=hired + timedelta(days=offset), hire_date=hired
    )
    assert got >= hired


@PROPERTY
@given(periods=PERIOD_LISTS, event_date=DATES, hired=DATES)
def test_qles_are_never_covered_before_the_event_date(
    periods: list[WaitingPeriod], event_date: date, hired: date
) -> None:
    got = coverage_effective_date(periods, E.QLE, event_date=event_date, hire_date=hired)
    assert got >= event_date


@PROPERTY
@given(period=COINCIDING, hired=DATES, offset=OFFSETS)
def test_coinciding_rules_land_on_their_days(
    period: FixedCoincidingWaitingPeriod | VariableCoincidingWaitingPeriod,
    hired: date,
    offset: int,
) -> None:
    got = waiting_period_effective_date(
        period, hire_date=hired, event_date=hired + timedelta(days=offset)
    )
    assert got.day in _days_named(period.waiting_period_rule)


def _before_boundary(
    period: FixedCoincidingWaitingPeriod | VariableCoincidingWaitingPeriod,
    hired: date,
    event_date: date,
) -> date:
    """The date a coinciding rule moves to a boundary: the hire or event date, or wait served."""
    if isinstance(period, VariableCoincidingWaitingPeriod):
        return add_units(hired, period.waiting_period_amount, period.waiting_period_unit)
    return event_date if period.waiting_period_rule.endswith("_event") else hired


@PROPERTY
@given(period=COINCIDING, hired=DATES, offset=st.integers(min_value=0, max_value=400))
def test_coinciding_flag_matters_only_on_a_boundary(
    period: FixedCoincidingWaitingPeriod | VariableCoincidingWaitingPeriod,
    hired: date,
    offset: int,
) -> None:
    event_date = hired + timedelta(days=offset)
    on = period.model_copy(update={"waiting_period_coinciding": True})
    off = period.model_copy(update={"waiting_period_coinciding": False})
    got_on = waiting_period_effective_date(on, hire_date=hired, event_date=event_date)
    got_off = waiting_period_effective_date(off, hire_date=hired, event_date=event_date)
    before = _before_boundary(period, hired, event_date)
    if before.day in _days_named(period.waiting_period_rule):
        assert got_on == before
        assert before < got_off <= before + timedelta(days=31)
        assert got_off.day in _days_named(period.waiting_period_rule)
    else:
        assert got_on == got_off
        assert before < got_on <= before + timedelta(days=31)
    # Every boundary between the date and the result was skipped only for not coinciding.
    assert all(
        (before + timedelta(days=n)).day not in _days_named(period.waiting_period_rule)
        for n in range(1, (got_off - before).days)
    )


@PROPERTY
@given(amount=AMOUNTS, kind=st.sampled_from([NEW, REHIRE]), hired=DATES)
def test_business_day_waits_end_on_a_weekday(amount: int, kind: T, hired: date) -> None:
    event = E.REHIRE if kind is REHIRE else E.NEW_HIRE
    got = coverage_effective_date(
        [variable(amount, U.BUSINESS_DAY, kind)], event, event_date=hired, hire_date=hired
    )
    assert got.weekday() < 5
    assert got == _counted_weekdays(hired, amount)


@PROPERTY
@given(start=DATES, amount=AMOUNTS, unit=UNITS, later=st.integers(min_value=0, max_value=60))
def test_add_units_is_monotonic_and_never_goes_back(
    start: date, amount: int, unit: U, later: int
) -> None:
    got = add_units(start, amount, unit)
    assert got >= start
    assert add_units(start + timedelta(days=later), amount, unit) >= got
    assert add_units(start, amount + later, unit) >= got
    if unit is U.YEAR:
        assert got == add_units(start, 12 * amount, U.MONTH)
    if unit is U.WEEK:
        assert got == add_units(start, 7 * amount, U.DAY)


@PROPERTY
@given(
    periods=PERIOD_LISTS,
    event=HIRES,
    hired=DATES,
    later=st.integers(min_value=0, max_value=400),
    offset=OFFSETS,
)
def test_a_later_hire_is_never_covered_earlier(
    periods: list[WaitingPeriod], event: EnrollmentEvent, hired: date, later: int, offset: int
) -> None:
    event_date = hired + timedelta(days=offset)
    first = coverage_effective_date(periods, event, event_date=event_date, hire_date=hired)
    second = coverage_effective_date(
        periods, event, event_date=event_date, hire_date=hired + timedelta(days=later)
    )
    assert second >= first


@PROPERTY
@given(periods=PERIOD_LISTS, event_date=DATES, later=st.integers(min_value=0, max_value=400))
def test_a_later_qle_is_never_covered_earlier(
    periods: list[WaitingPeriod], event_date: date, later: int
) -> None:
    first = coverage_effective_date(periods, E.QLE, event_date=event_date)
    second = coverage_effective_date(periods, E.QLE, event_date=event_date + timedelta(days=later))
    assert second >= first


@PROPERTY
@given(periods=PERIOD_LISTS, event_date=DATES, hired=DATES, renewal=DATES)
def test_open_enrollment_gives_the_renewal_date(
    periods: list[WaitingPeriod], event_date: date, hired: date, renewal: date
) -> None:
    got = coverage_effective_date(
        periods, E.OPEN_ENROLLMENT, event_date=event_date, hire_date=hired, renewal_date=renewal
    )
    assert got == renewal


@PROPERTY
@given(
    rule=st.sampled_from(VariableCoincidingRule),
    unit=UNITS,
    coinciding=st.booleans(),
    hired=DATES,
)
def test_no_wait_is_the_fixed_hire_date_rule(
    rule: VariableCoincidingRule, unit: U, coinciding: bool, hired: date
) -> None:
    # Business days aside (0 of them rolls a weekend on to Monday), a variable coinciding
    # rule with nothing to wait is the fixed coinciding rule on the same days after the hire.
    fixed_rule = FC(rule.value.replace("_waiting_period", "_hire_date"))
    got = hire([variable_coinciding(rule, 0, unit, coinciding)], hired)
    expected = hire([fixed_coinciding(fixed_rule, coinciding)], hired)
    if unit is U.BUSINESS_DAY and hired.weekday() >= 5:
        assert got >= expected
    else:
        assert got == expected
