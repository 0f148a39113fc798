"""The date a member's coverage begins, from a plan's waiting periods and the enrolling event.

Seed 002 describes a plan's waiting periods (four kinds: fixed, fixed coinciding, variable and
variable coinciding, each for one enrollment type); seed 003 shows how they give the effective
date of coverage for new hires, QLEs and open enrollment. This module is the generic
computation only: it knows nothing of a carrier's timeliness rules (late elections, grace
periods, EOI), which decide whether this date is the one a carrier confirms.

Everything here is pure: dates in, a date out, no clock, no I/O.

Decisions taken where the seeds are silent (each is repeated where it applies):

- Which waiting periods apply: a new hire uses the `new_member` periods; a rehire uses the
  `rehire` periods, or the `new_member` ones if the plan has no `rehire` period; a QLE uses the
  `current_member` periods; open enrollment uses none (coverage starts on the renewal date).
- No applicable period means no wait: coverage starts on the hire date for a hire and on the
  event date for a QLE (seed 003: a timely QLE is "effective on the QLE date").
- Several applicable periods: every one must be served, so the latest of their dates wins.
- What a rule counts from: for a hire, `*_hire_date` rules and the waiting period of the
  variable rules count from the hire date, `*_event` rules from the event date; an event dated
  before the hire (a pre-hire election) counts from the hire date, as nobody is covered before
  they are employed. For a QLE every rule counts from the event date: the member's hire and its
  waiting period are long past, and a change made for a QLE cannot start before the QLE.
- A waiting period of N units is served on `start + N units` (see `add_units`): hired March 15
  with a 30-day wait, the member may be covered from April 14, the 31st day of employment
  counting the hire day as the first. An amount of 0 therefore gives the start itself, so a
  variable coinciding rule with no wait is the same as the fixed coinciding rule.
- The `waiting_period_coinciding` flag applies to that date: if it falls on one of the rule's
  days of the month it stays there when coinciding and moves to the next such day when not
  (seed 002's example: hired January 1 under "1st of month after hire date" is covered from
  January 1 when coinciding and February 1 when not). A date off those days always moves to
  the next one, whatever the flag.
- Months and years are calendar months and years, clamped to the month's last day (January 31
  plus one month is February 28 or 29; February 29 plus one year is February 28).
- Business days are Monday to Friday; holidays are not modelled. `N` business days after a
  date is the Nth weekday strictly after it, so the result is always a weekday; 0 business days
  after a weekend is the Monday that follows.
- Open enrollment gives the renewal date whatever the dates and waiting periods; it is not
  checked against the event date.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta
from enum import StrEnum
from typing import assert_never

from domain.plans import (
    FixedCoincidingRule,
    FixedCoincidingWaitingPeriod,
    FixedWaitingPeriod,
    VariableCoincidingRule,
    VariableCoincidingWaitingPeriod,
    VariableWaitingPeriod,
    WaitingPeriod,
    WaitingPeriodEnrollmentType,
    WaitingPeriodUnit,
)

__all__ = [
    "FIFTEENTH_OF_MONTH",
    "FIRST_OF_MONTH",
    "FIRST_OR_FIFTEENTH_OF_MONTH",
    "EnrollmentEvent",
    "add_units",
    "applicable_waiting_periods",
    "boundary_days",
    "coverage_effective_date",
    "next_boundary",
    "waiting_period_effective_date",
]


class EnrollmentEvent(StrEnum):
    """Why the member is enrolling, which decides the waiting periods and dates that apply."""

    NEW_HIRE = "new_hire"
    REHIRE = "rehire"
    QLE = "qle"
    OPEN_ENROLLMENT = "open_enrollment"


# The days of the month a coinciding rule may start coverage on.
FIRST_OF_MONTH: tuple[int, ...] = (1,)
FIFTEENTH_OF_MONTH: tuple[int, ...] = (15,)
FIRST_OR_FIFTEENTH_OF_MONTH: tuple[int, ...] = (1, 15)

_FIXED_COINCIDING: dict[FixedCoincidingRule, tuple[tuple[int, ...], bool]] = {
    # rule: (days of the month, counts from the hire date rather than the event date)
    FixedCoincidingRule.FIRST_OF_MONTH_AFTER_EVENT: (FIRST_OF_MONTH, False),
    FixedCoincidingRule.FIRST_OF_MONTH_AFTER_HIRE_DATE: (FIRST_OF_MONTH, True),
    FixedCoincidingRule.FIFTEENTH_OF_MONTH_AFTER_EVENT: (FIFTEENTH_OF_MONTH, False),
    FixedCoincidingRule.FIFTEENTH_OF_MONTH_AFTER_HIRE_DATE: (FIFTEENTH_OF_MONTH, True),
    FixedCoincidingRule.FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_EVENT: (
        FIRST_OR_FIFTEENTH_OF_MONTH,
        False,
    ),
    FixedCoincidingRule.FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_HIRE_DATE: (
        FIRST_OR_FIFTEENTH_OF_MONTH,
        True,
    ),
}

_VARIABLE_COINCIDING: dict[VariableCoincidingRule, tuple[int, ...]] = {
    VariableCoincidingRule.FIRST_OF_MONTH_AFTER_WAITING_PERIOD: FIRST_OF_MONTH,
    VariableCoincidingRule.FIFTEENTH_OF_MONTH_AFTER_WAITING_PERIOD: FIFTEENTH_OF_MONTH,
    VariableCoincidingRule.FIRST_OR_FIFTEENTH_OF_MONTH_AFTER_WAITING_PERIOD: (
        FIRST_OR_FIFTEENTH_OF_MONTH
    ),
}

# Which enrollment types each event uses, best first; the first type the plan has wins.
_ENROLLMENT_TYPES: dict[EnrollmentEvent, tuple[WaitingPeriodEnrollmentType, ...]] = {
    EnrollmentEvent.NEW_HIRE: (WaitingPeriodEnrollmentType.NEW_MEMBER,),
    EnrollmentEvent.REHIRE: (
        WaitingPeriodEnrollmentType.REHIRE,
        WaitingPeriodEnrollmentType.NEW_MEMBER,
    ),
    EnrollmentEvent.QLE: (WaitingPeriodEnrollmentType.CURRENT_MEMBER,),
    EnrollmentEvent.OPEN_ENROLLMENT: (),
}

_HIRES = frozenset({EnrollmentEvent.NEW_HIRE, EnrollmentEvent.REHIRE})


# --- date arithmetic -----------------------------------------------------------------------------


def add_units(start: date, amount: int, unit: WaitingPeriodUnit) -> date:
    """The day a waiting period of `amount` `unit`s beginning on `start` has been served.

    Days and weeks are plain calendar days. Months and years are calendar months and years,
    the day clamped to the end of a shorter month (January 31 + 1 month = February 28/29,
    February 29 + 1 year = February 28). Business days are Monday to Friday, holidays not
    modelled: the result is the `amount`th weekday strictly after `start`, and for 0 the start
    itself, moved on to Monday if it is a Saturday or Sunday. ValueError for a negative amount.
    """
    if amount < 0:
        raise ValueError(f"a waiting period cannot be negative, got {amount}")
    match unit:
        case WaitingPeriodUnit.DAY:
            return start + timedelta(days=amount)
        case WaitingPeriodUnit.WEEK:
            return start + timedelta(weeks=amount)
        case WaitingPeriodUnit.MONTH:
            return _add_months(start, amount)
        case WaitingPeriodUnit.YEAR:
            return _add_months(start, 12 * amount)
        case WaitingPeriodUnit.BUSINESS_DAY:
            return _add_business_days(start, amount)
        case _:
            assert_never(unit)


def _add_months(start: date, months: int) -> date:
    year, month_index = divmod(start.year * 12 + start.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _add_business_days(start: date, amount: int) -> date:
    weekday = start.weekday()  # Monday is 0, Saturday 5, Sunday 6
    if amount == 0:
        return start if weekday < 5 else start + timedelta(days=7 - weekday)
    if weekday >= 5:  # the weekdays after a weekend day are those after the Friday before it
        start -= timedelta(days=weekday - 4)
        weekday = 4
    weeks, rest = divmod(amount, 5)
    days = 7 * weeks + rest + (2 if weekday + rest > 4 else 0)
    return start + timedelta(days=days)


def boundary_days(
    rule: FixedCoincidingRule | VariableCoincidingRule,
) -> tuple[int, ...]:
    """The days of the month a coinciding rule starts coverage on (1st, 15th, or both)."""
    if isinstance(rule, FixedCoincidingRule):
        return _FIXED_COINCIDING[rule][0]
    return _VARIABLE_COINCIDING[rule]


def next_boundary(day: date, days_of_month: Sequence[int], *, coinciding: bool) -> date:
    """The first date on one of `days_of_month` on or after `day` (coinciding) or after it.

    With `coinciding`, a `day` already on one of those days of the month is kept; without, it
    moves on to the next one. A `day` off them moves to the next one either way.
    """
    if not days_of_month or not all(1 <= dom <= 28 for dom in days_of_month):
        raise ValueError(f"days of the month must be in 1..28, got {list(days_of_month)}")
    if coinciding and day.day in days_of_month:
        return day
    later = [dom for dom in days_of_month if dom > day.day]
    if later:
        return day.replace(day=min(later))
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(days_of_month))


# --- waiting periods -----------------------------------------------------------------------------


def applicable_waiting_periods(
    waiting_periods: Sequence[WaitingPeriod], event: EnrollmentEvent
) -> list[WaitingPeriod]:
    """The plan's waiting periods that govern `event`, possibly none.

    A new hire takes the `new_member` periods; a rehire the `rehire` periods, falling back on
    the `new_member` ones when the plan has no `rehire` period (seed 002 names `rehire` for
    "previously active members re-enrolling as a rehire", and a rehire is otherwise a new
    member); a QLE takes the `current_member` periods, never the new-member ones, whose wait a
    current member has served; open enrollment takes none.
    """
    for enrollment_type in _ENROLLMENT_TYPES[event]:
        chosen = [
            period
            for period in waiting_periods
            if period.waiting_period_enrollment_type == enrollment_type
        ]
        if chosen:
            return chosen
    return []


def waiting_period_effective_date(
    period: WaitingPeriod, *, hire_date: date, event_date: date
) -> date:
    """The first day of coverage under one waiting period.

    `hire_date` is what `*_hire_date` rules, the fixed `hire_date` rule and the variable rules'
    waiting period count from; `event_date` is what `*_event` rules count from.
    `coverage_effective_date` decides both for each kind of event.

    - fixed `hire_date`: the hire date.
    - fixed coinciding `{first,fifteenth,first_or_fifteenth}_of_month_after_{event,hire_date}`:
      the next 1st / 15th / 1st-or-15th after the event or hire date, or that date itself when
      it is one and the rule is coinciding.
    - variable `after_waiting_period`: the hire date plus the waiting period (`add_units`).
    - variable coinciding `{first,fifteenth,first_or_fifteenth}_of_month_after_waiting_period`:
      the hire date plus the waiting period, moved to the next 1st / 15th / 1st-or-15th as for
      the fixed coinciding rules.
    """
    if isinstance(period, FixedWaitingPeriod):
        return hire_date
    if isinstance(period, FixedCoincidingWaitingPeriod):
        days_of_month, from_hire = _FIXED_COINCIDING[period.waiting_period_rule]
        start = hire_date if from_hire else event_date
        return next_boundary(start, days_of_month, coinciding=period.waiting_period_coinciding)
    if isinstance(period, VariableWaitingPeriod):
        return add_units(hire_date, period.waiting_period_amount, period.waiting_period_unit)
    if isinstance(period, VariableCoincidingWaitingPeriod):
        served = add_units(hire_date, period.waiting_period_amount, period.waiting_period_unit)
        return next_boundary(
            served,
            _VARIABLE_COINCIDING[period.waiting_period_rule],
            coinciding=period.waiting_period_coinciding,
        )
    assert_never(period)


def coverage_effective_date(
    waiting_periods: Sequence[WaitingPeriod],
    event: EnrollmentEvent,
    *,
    event_date: date,
    hire_date: date | None = None,
    renewal_date: date | None = None,
) -> date:
    """The date coverage begins for a member enrolling for `event` under a plan's waiting periods.

    - new hire / rehire: `hire_date` is the (re)hire date, `event_date` when not given. The
      applicable periods (see `applicable_waiting_periods`) count from the hire date, `*_event`
      rules from `event_date` but never from before the hire date. With no applicable period
      coverage starts on the hire date. The result is never before the hire date; it may be
      before `event_date` (a late election keeps its eligibility date: whether a carrier
      accepts that is a timeliness rule, not modelled here).
    - QLE: the `current_member` periods, every one counting from `event_date` (`hire_date` is
      ignored); with none, coverage starts on the QLE date. Never before `event_date`.
    - open enrollment: `renewal_date` (required), whatever the waiting periods.

    Several applicable periods: the latest of their dates, as each must be served.
    ValueError when open enrollment has no `renewal_date`.
    """
    if event == EnrollmentEvent.OPEN_ENROLLMENT:
        if renewal_date is None:
            raise ValueError("open enrollment needs the group's renewal date")
        return renewal_date
    if event in _HIRES:
        start = event_date if hire_date is None else hire_date
        counted_event = max(event_date, start)
    else:
        start = counted_event = event_date
    return max(
        (
            waiting_period_effective_date(period, hire_date=start, event_date=counted_event)
            for period in applicable_waiting_periods(waiting_periods, event)
        ),
        default=start,
    )
