"""Feeds to file carriers and their runs: statuses, the run's messages, schedules, thresholds."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel


class FeedStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class FeedRunStatus(StrEnum):
    """Where a run is: built, held, sent, then what the carrier's 999 said."""

    BUILDING = "building"
    EMPTY = "empty"  # nothing pending: no file
    HELD = "held"  # would be refused too much: waits for an operator's review
    DISCARDED = "discarded"  # a held run the operator dropped; its transactions go next run
    FAILED = "failed"  # the file did not pass the implementation guide: never sent
    BUILT = "built"
    SENT = "sent"  # waits for the 999
    ACCEPTED = "accepted"
    ACCEPTED_WITH_ERRORS = "accepted_with_errors"  # some members refused (carrier_failed)
    REJECTED = "rejected"  # the whole file refused
    UNACKNOWLEDGED = "unacknowledged"  # no 999 within the wait limit

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = {
    FeedRunStatus.EMPTY,
    FeedRunStatus.DISCARDED,
    FeedRunStatus.FAILED,
    FeedRunStatus.ACCEPTED,
    FeedRunStatus.ACCEPTED_WITH_ERRORS,
    FeedRunStatus.REJECTED,
    FeedRunStatus.UNACKNOWLEDGED,
}
# A run in one of these holds its transactions: the next run does not take them again.
HOLDS_TRANSACTIONS = frozenset(
    {
        FeedRunStatus.BUILDING,
        FeedRunStatus.HELD,
        FeedRunStatus.BUILT,
        FeedRunStatus.SENT,
        FeedRunStatus.ACCEPTED,
        FeedRunStatus.ACCEPTED_WITH_ERRORS,
    }
)


class FeedRunTrigger(StrEnum):
    SCHEDULED = "scheduled"
    ON_DEMAND = "on_demand"
    RESEND = "resend"


# --- the run workflow's messages: ids and counts only ------------------------------------------


class FeedRunInput(BaseModel):
    feed_id: uuid.UUID
    run_id: uuid.UUID | None = None  # None: a scheduled run, opened by the workflow
    trigger: FeedRunTrigger = FeedRunTrigger.SCHEDULED
    resend: bool = False
    ack_poll: timedelta = timedelta(seconds=30)
    ack_wait_limit: timedelta = timedelta(days=3)


class OpenRunRequest(BaseModel):
    feed_id: uuid.UUID
    run_id: uuid.UUID | None
    run_key: str
    trigger: FeedRunTrigger


class RunOpened(BaseModel):
    run_id: uuid.UUID | None  # None: the feed is paused or retired, no run
    status: FeedRunStatus | None = None


class RunRequest(BaseModel):
    run_id: uuid.UUID


class RunBuilt(BaseModel):
    status: FeedRunStatus
    members: int = 0
    would_refuse: int = 0


class RunAcknowledged(BaseModel):
    found: bool
    status: FeedRunStatus | None = None
    accepted: int = 0
    failed: int = 0


class RunReview(BaseModel):
    """An operator's word on a held run: `send` it as it is, or `discard` it."""

    decision: str
    note: str | None = None


class RunReviewed(BaseModel):
    run_id: uuid.UUID
    decision: str


def feed_run_workflow_id(feed_id: uuid.UUID, run_key: str) -> str:
    return f"feed-run/{feed_id}/{run_key}"


def feed_schedule_id(feed_id: uuid.UUID) -> str:
    return f"feed/{feed_id}"


# --- rules ---------------------------------------------------------------------------------------


def exceeds_threshold(would_refuse: int, members: int, threshold: float) -> bool:
    """A run is held when more than `threshold` (a fraction) of its subscribers would be
    refused by the carrier's companion-guide rules."""
    return members > 0 and would_refuse / members > threshold


def file_name(carrier_slug: str, carrier_group_id: str, control_number: int, *, test: bool) -> str:
    """The file's name at the carrier: the same for every delivery of the run (retries and
    resends), so the carrier recognises a file it already has."""
    suffix = "_TEST" if test else ""
    return f"{carrier_slug.upper()}_{carrier_group_id}_{control_number:09d}{suffix}.834"


_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


@dataclass(frozen=True)
class Calendar:
    """When a schedule fires: these weekdays (0 = Monday; all when empty), at hour:minute."""

    weekdays: tuple[int, ...]
    hour: int
    minute: int


def parse_schedule(rrule: str, time_of_day: str) -> Calendar:
    """The RRULE subset a feed takes (FREQ=DAILY, or FREQ=WEEKLY with BYDAY; INTERVAL=1) at a
    local time; ValueError naming what is wrong otherwise."""
    match = _TIME.fullmatch(time_of_day)
    if match is None:
        raise ValueError("time_of_day must be HH:MM (24-hour)")
    parts: dict[str, str] = {}
    for part in rrule.removeprefix("RRULE:").split(";"):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"rrule part {part!r} is not KEY=VALUE")
        parts[key.upper()] = value.upper()
    frequency = parts.pop("FREQ", None)
    if parts.pop("INTERVAL", "1") != "1":
        raise ValueError("rrule INTERVAL other than 1 is not supported")
    days = [d for d in parts.pop("BYDAY", "").split(",") if d]
    if parts:
        raise ValueError(f"rrule parts not supported: {', '.join(sorted(parts))}")
    if frequency not in ("DAILY", "WEEKLY"):
        raise ValueError("rrule FREQ must be DAILY or WEEKLY")
    if frequency == "WEEKLY" and not days:
        raise ValueError("a WEEKLY rrule needs BYDAY")
    unknown = [d for d in days if d not in _DAYS]
    if unknown:
        raise ValueError(f"rrule BYDAY has unknown days: {', '.join(unknown)}")
    return Calendar(
        weekdays=tuple(sorted(_DAYS.index(d) for d in days)),
        hour=int(match.group(1)),
        minute=int(match.group(2)),
    )


class FeedReadiness(BaseModel):
    """Where a connection to a carrier stands on its way to `completed`: a file carrier needs
    a census (member snapshots built into transactions) and a test file it approved."""

    sends_files: bool
    feed_id: uuid.UUID | None = None
    census: bool = False
    test_file_approved: bool = False

    @property
    def ready(self) -> bool:
        return not self.sends_files or (self.census and self.test_file_approved)

    def waiting_for(self) -> str:
        missing = []
        if not self.census:
            missing.append("an initial census (member snapshots)")
        if not self.test_file_approved:
            missing.append("the carrier's approval of a test file (a positive 999)")
        return "waiting for " + " and ".join(missing)
