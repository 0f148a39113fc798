"""The effective date a sandbox carrier gives an enrollment it adds, and when it waits for EOI.

Seed 003 ("Effective dates and enrollment timelines", "Retroactive changes", "EOI") says
Principal computes its own effective dates "using the event type and date of the enrollment
plus the group's waiting period rules", and how the timeliness of the enrollment changes them.
`principal_effective_date` is that rule, one branch per seed sentence. Seed 004 says only that
Unum may require EOI for voluntary life; `unum_eoi_pending` borrows Principal's timeliness for it.

The waiting-period arithmetic itself is `domain.effective_dates.coverage_effective_date`; this
module adds the carrier's timeliness on top. Everything here is pure: dates in, a date out.

Vocabulary. The *event date* is the date of the coverage's event (the hire, the QLE); the
*submitted* date is the day the carrier received the transaction. (Seed 003 says "event date"
for both in its new-hire example; "the event date is between the eligibility date and the
30-day grace period" can only mean the date the election was made, so that is how it is read.)

Decisions taken where the seeds are silent:

- Event reasons: `new_hire` and `rehire` are hires; `open_enrollment` and
  `dependent_open_enrollment` are open enrollment; every other reason is a QLE.
- The new-hire grace period is the 30 days after the eligibility date (seed: eligibility
  May 1st, grace "May 2nd to May 31st"); the QLE window is 31 days after the event date, the
  31st day still timely ("Members have 31 days to elect coverage from the event date"; the
  seed's "31+ days ... is late" is read as "more than 31").
- A timely QLE is effective on the QLE date itself: the seed says so outright, so the plan's
  `current_member` waiting periods are not applied on top.
- "Policy provisions" for voluntary coverage elected in the grace period: the first of the
  month strictly after the submitted date (the seed's "first of following month" choice).
- Late voluntary coverage: pending EOI for the lines seed 003's EOI sentence names for
  voluntary coverage (life, AD&D, STD, LTD, critical illness); every other voluntary line
  (dental, vision, accident, hospital indemnity, ...) starts on the next open-enrollment
  renewal date, as "Late changes to contributory/voluntary benefits will go into effect as of
  the next OE period". Employer-paid coverage is never late (new hires: the eligibility date;
  QLEs: the QLE date, as the seed's "go into effect as of the initial eligibility date").
- The next renewal date is the group's renewal date rolled forward a year at a time until it
  is after the submitted date.
- Open enrollment: the group's OE window and renewal recur yearly, so the window an election
  belongs to is the latest one opened on or before the submitted date. Submitted more than 31
  days after that window closed: the next year's renewal date (seed's example: received
  2024-01-01 for an October 1st, 2023 renewal: October 1st, 2024); otherwise that renewal date.
  An open-ended window (Unum keeps OE open, end 9999-12-31) is never closed.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from domain.effective_dates import (
    FIRST_OF_MONTH,
    EnrollmentEvent,
    coverage_effective_date,
    next_boundary,
)
from domain.plans import WaitingPeriod

__all__ = [
    "ELECTION_WINDOW",
    "EOI_LINES",
    "GRACE_PERIOD",
    "OpenEnrollment",
    "Timeliness",
    "eligibility_date",
    "enrollment_event",
    "next_renewal_date",
    "open_enrollment_effective_date",
    "principal_effective_date",
    "timeliness",
    "unum_eoi_pending",
]

GRACE_PERIOD = timedelta(days=30)  # new hires, after the eligibility date
ELECTION_WINDOW = timedelta(days=31)  # QLEs after the event; open enrollment after the window

# Lines whose late voluntary enrollment waits for evidence of insurability (seed 003: "EOI may
# be required for ... Voluntary Life/ADD, and Voluntary Critical Illness"; "For retroactive
# voluntary life or voluntary STD/LTD enrollments, Principal will likely request an EOI").
EOI_LINES = frozenset({"life", "add", "std", "ltd", "critical_illness"})

_HIRES = {"new_hire": EnrollmentEvent.NEW_HIRE, "rehire": EnrollmentEvent.REHIRE}
_OPEN_ENROLLMENT = frozenset({"open_enrollment", "dependent_open_enrollment"})
_OPEN_END_YEAR = 9999


class Timeliness(StrEnum):
    TIMELY = "timely"
    GRACE = "grace"  # a new hire elected after the eligibility date, within the grace period
    LATE = "late"


@dataclass(frozen=True)
class OpenEnrollment:
    """The group enrollment's open-enrollment window and renewal (one year of the cycle)."""

    start_date: date
    end_date: date
    renewal_date: date


def enrollment_event(reason: str) -> EnrollmentEvent:
    """The kind of event an event reason is: a hire, open enrollment, or otherwise a QLE."""
    if reason in _HIRES:
        return _HIRES[reason]
    if reason in _OPEN_ENROLLMENT:
        return EnrollmentEvent.OPEN_ENROLLMENT
    return EnrollmentEvent.QLE


def eligibility_date(
    waiting_periods: Sequence[WaitingPeriod],
    event: EnrollmentEvent,
    *,
    event_date: date,
    hire_date: date | None,
) -> date:
    """The date the timeliness of a hire or a QLE is measured from.

    Hires: the end of the plan's waiting period (seed 003: "30-day waiting period and a first
    of coinciding/following month rule ... hired on March 15th ... the eligibility date of May
    1st"), from the hire date (the event date when there is none). QLEs: the event date ("coverage
    will be effective on the QLE date"). Not for open enrollment.
    """
    if event in (EnrollmentEvent.NEW_HIRE, EnrollmentEvent.REHIRE):
        return coverage_effective_date(
            waiting_periods, event, event_date=event_date, hire_date=hire_date or event_date
        )
    if event == EnrollmentEvent.QLE:
        return event_date
    raise ValueError("open enrollment has no eligibility date; see open_enrollment_effective_date")


def timeliness(event: EnrollmentEvent, *, eligible: date, submitted: date) -> Timeliness:
    """Whether a hire or QLE election submitted on `submitted` is timely, in grace, or late.

    Hires (seed 003 "New hires"): on or before the eligibility date, timely; within the 30-day
    grace period after it, grace ("still considered timely, but effective dates could be
    different for each coverage"); later, late. QLEs (seed 003 "QLEs"): within 31 days of the
    QLE date, timely (an election made ahead of the QLE too); later, late.
    """
    if event == EnrollmentEvent.QLE:
        return Timeliness.TIMELY if submitted <= eligible + ELECTION_WINDOW else Timeliness.LATE
    if submitted <= eligible:
        return Timeliness.TIMELY
    if submitted <= eligible + GRACE_PERIOD:
        return Timeliness.GRACE
    return Timeliness.LATE


def next_renewal_date(renewal_date: date, submitted: date) -> date:
    """The group's renewal date rolled forward a year at a time until it is after `submitted`.

    Seed 003: late voluntary coverage "will be effective on the next open enrollment date".
    A renewal date already after `submitted` is the next one.
    """
    years = 0
    while _years_later(renewal_date, years) <= submitted:
        years += 1
    return _years_later(renewal_date, years)


def open_enrollment_effective_date(open_enrollment: OpenEnrollment, submitted: date) -> date:
    """The effective date of an open-enrollment election submitted on `submitted`.

    Seed 003 "Open enrollment": "Open enrollment changes that are submitted more than 31 days
    after the OE window closes will be applied with the next year's OE date as the effective
    date"; otherwise the renewal date. The window (and its renewal) is the latest yearly
    recurrence of the group's that opened on or before `submitted`; an open-ended window
    (9999-12-31) never closes.
    """
    years = submitted.year - open_enrollment.start_date.year
    if _years_later(open_enrollment.start_date, years) > submitted:
        years -= 1
    renewal = _years_later(open_enrollment.renewal_date, years)
    if open_enrollment.end_date.year >= _OPEN_END_YEAR:
        return renewal
    closed = _years_later(open_enrollment.end_date, years)
    if submitted - closed > ELECTION_WINDOW:
        return _years_later(open_enrollment.renewal_date, years + 1)
    return renewal


def principal_effective_date(
    *,
    line_of_coverage: str,
    voluntary: bool,
    waiting_periods: Sequence[WaitingPeriod],
    reason: str,
    event_date: date,
    submitted: date,
    hire_date: date | None,
    open_enrollment: OpenEnrollment,
) -> date | None:
    """The effective date Principal gives an added enrollment; None: pending EOI, not held.

    - Open enrollment: `open_enrollment_effective_date` (seed: more than 31 days after the OE
      window closes, "the next year's OE date"; otherwise the renewal date).
    - Timely (hire on or before the eligibility date; QLE within 31 days): seed "all coverage
      will be effective May 1st" (the eligibility date) for hires; "coverage will be effective
      on the QLE date" for QLEs.
    - Employer-paid (not `voluntary`), whatever the timeliness: seed "Employer-paid coverages
      are never considered late and will always go back to the original eligibility date" (the
      QLE date for a QLE, as "Late changes to non-contributory benefits ... will go into effect
      as of the initial eligibility date").
    - Voluntary in the grace period: seed "voluntary (contributory) coverages will be effective
      on the event date plus any policy provisions"; the provision chosen is "first of following
      month": the first of the month strictly after the submitted date.
    - Voluntary and late: seed "effective on the next open enrollment date for dental and vision
      or pending for EOI for voluntary life and disability". Pending EOI (None) for `EOI_LINES`;
      the next renewal date for every other line ("Late changes to contributory/voluntary
      benefits will go into effect as of the next OE period").
    """
    event = enrollment_event(reason)
    if event == EnrollmentEvent.OPEN_ENROLLMENT:
        return open_enrollment_effective_date(open_enrollment, submitted)
    eligible = eligibility_date(waiting_periods, event, event_date=event_date, hire_date=hire_date)
    when = timeliness(event, eligible=eligible, submitted=submitted)
    if when is Timeliness.TIMELY or not voluntary:
        return eligible
    if when is Timeliness.GRACE:
        return next_boundary(submitted, FIRST_OF_MONTH, coinciding=False)
    if line_of_coverage in EOI_LINES:
        return None
    return next_renewal_date(open_enrollment.renewal_date, submitted)


def unum_eoi_pending(
    *,
    line_of_coverage: str,
    voluntary: bool,
    waiting_periods: Sequence[WaitingPeriod],
    reason: str,
    event_date: date,
    submitted: date,
    hire_date: date | None,
) -> bool:
    """Whether Unum holds an added enrollment back for EOI (it keeps every sent date).

    Seed 004: "Evidence of insurability (EOI) may be required for Voluntary Life coverages";
    it names no deadline, so Principal's timeliness (`timeliness`) decides when voluntary life
    is late: a hire after the grace period, a QLE after 31 days. Open enrollment is never late:
    Unum keeps OE open all year (seed 004: "open_enrollment_end_dates to 9999-12-31").
    """
    if line_of_coverage != "life" or not voluntary:
        return False
    event = enrollment_event(reason)
    if event == EnrollmentEvent.OPEN_ENROLLMENT:
        return False
    eligible = eligibility_date(waiting_periods, event, event_date=event_date, hire_date=hire_date)
    return timeliness(event, eligible=eligible, submitted=submitted) is Timeliness.LATE


def _years_later(day: date, years: int) -> date:
    """`day` `years` later (or earlier), February 29 clamped to February 28."""
    year = day.year + years
    return date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))
