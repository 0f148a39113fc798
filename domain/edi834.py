"""The 834 benefit enrollment file (ASC X12 005010X220A1): envelopes, header loops, member loops.

Pure: the caller hands in the control numbers (allocated in PostgreSQL, so they never repeat for
a trading partner), the sponsor and payer, and one `MemberLevel` per person; `build_834` answers
the file's text and its counts. Nothing here reads a clock, a database or a carrier.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

IMPLEMENTATION_GUIDE = "005010X220A1"
# Delimiters: `~` ends a segment, `*` an element, `:` a component, `^` repeats (ISA11).
SEGMENT_END = "~"
ELEMENT = "*"
COMPONENT = ":"
REPETITION = "^"
# Characters a value may not hold: the delimiters above (the guide's basic and extended sets
# allow the rest of printable ASCII).
_NOT_ALLOWED = re.compile(r"[~*:^\r\n]|[^\x20-\x7e]")


class FileAction(StrEnum):
    """BGN08: what the file does to the carrier's enrollment."""

    CHANGES = "2"  # change (update): only the members in the file change
    FULL = "RX"  # replace: the file is the whole enrolled population
    VERIFY = "4"  # verify: an audit file, nothing is applied


class MaintenanceType(StrEnum):
    """INS03 / HD01: what the loop does to the member or the coverage."""

    CHANGE = "001"
    ADDITION = "021"
    TERMINATION = "024"  # cancellation or termination
    REINSTATEMENT = "025"
    AUDIT = "030"  # audit or compare (full files)


class MaintenanceReason(StrEnum):
    """INS04: why (the codes the engine uses)."""

    DIVORCE = "01"
    BIRTH = "02"
    DEATH = "03"
    RETIREMENT = "04"
    ADOPTION = "05"
    TERMINATION_OF_BENEFITS = "07"
    TERMINATION_OF_EMPLOYMENT = "08"
    COBRA = "09"
    ACTIVE = "20"
    PLAN_CHANGE = "22"
    IDENTIFYING_DATA = "25"
    INITIAL_ENROLLMENT = "28"
    BENEFIT_SELECTION = "29"
    MARRIAGE = "32"
    PERSONNEL_DATA = "33"
    CHANGE_OF_LOCATION = "43"
    NO_REASON = "AI"
    NOTIFICATION_ONLY = "XN"


class BenefitStatus(StrEnum):
    """INS05."""

    ACTIVE = "A"
    COBRA = "C"


@dataclass(frozen=True)
class Party:
    """A sponsor (N1*P5) or a payer (N1*IN): a name and a federal tax id (N103 `FI`)."""

    name: str
    federal_ein: str


@dataclass(frozen=True)
class Envelope:
    """The interchange and group headers: who sends to whom, under which control numbers."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    application_sender: str
    application_receiver: str
    interchange_control_number: int  # ISA13 / IEA02, 1..999999999
    group_control_number: int  # GS06 / GE02
    created: dt.datetime
    production: bool = False  # ISA15: P, or T for a test file
    transaction_set_control_number: str = "0001"


@dataclass(frozen=True)
class Address:
    line_one: str
    city: str
    state: str
    postal_code: str
    line_two: str | None = None


@dataclass(frozen=True)
class Coverage:
    """Loop 2300: one coverage of the member (HD, DTP 348 / 349, REF 1L)."""

    maintenance: MaintenanceType
    insurance_line: str  # HD03, per the carrier's companion guide
    plan_description: str  # HD04: the carrier's plan id
    coverage_level: str | None  # HD05: EMP, ESP, ECH, FAM (subscriber's loop only)
    start: dt.date
    end: dt.date | None = None
    policy_number: str | None = None


@dataclass(frozen=True)
class MemberLevel:
    """Loop 2000 (and its 2100A, 2300s) for one person: the subscriber or a dependent."""

    subscriber: bool
    relationship: str  # INS02: 18 self, 01 spouse, 19 child, ...
    maintenance: MaintenanceType
    reason: MaintenanceReason | None
    benefit_status: BenefitStatus
    subscriber_id: str  # REF*0F: the same for the subscriber and every dependent
    last_name: str
    first_name: str
    birth_date: dt.date
    gender: str  # DMG03: F, M or U
    middle_name: str | None = None
    ssn: str | None = None
    address: Address | None = None
    employment_status: str | None = None  # INS08, the subscriber's: FT, PT, TE, RT, ...
    cobra_event: str | None = None  # INS07, when the benefit status is COBRA
    student: str | None = None  # INS09 for dependents: F, P or N
    policy_number: str | None = None  # REF*1L
    member_dates: tuple[tuple[str, dt.date], ...] = ()  # DTP: (qualifier, date), e.g. 336 hire
    coverages: tuple[Coverage, ...] = ()


@dataclass(frozen=True)
class Counts:
    """What a file holds, for the run's audit."""

    members: int = 0
    primaries: int = 0
    dependents: int = 0
    enrollments: int = 0
    terminations: int = 0


@dataclass(frozen=True)
class Built834:
    text: str
    counts: Counts
    segments: int  # in the transaction set, ST through SE (SE01)
    reference: str = ""  # BGN02
    # Each subscriber's loop 2000: where it starts in the transaction set (ST = 1) and its
    # REF*0F; a 999's IK3 positions fall in one of them.
    subscriber_loops: tuple[tuple[int, str], ...] = field(default=(), repr=False)


def build_834(
    envelope: Envelope,
    *,
    sponsor: Party,
    payer: Party,
    action: FileAction,
    members: list[MemberLevel],
    reference: str,
    master_policy: str | None = None,
) -> Built834:
    """The whole interchange: ISA, GS, one ST..SE with a loop 2000 per member, GE, IEA."""
    created = envelope.created
    transaction: list[list[str]] = [
        ["ST", "834", envelope.transaction_set_control_number, IMPLEMENTATION_GUIDE],
        [
            "BGN",
            "00",
            reference,
            _date(created.date()),
            created.strftime("%H%M"),
            "",
            "",
            "",
            action,
        ],
    ]
    if master_policy:
        transaction.append(["REF", "38", master_policy])
    transaction.append(["N1", "P5", sponsor.name, "FI", _digits(sponsor.federal_ein)])
    transaction.append(["N1", "IN", payer.name, "FI", _digits(payer.federal_ein)])
    counts = Counts()
    loops: list[tuple[int, str]] = []
    for member in members:
        if member.subscriber:
            loops.append((len(transaction) + 1, member.subscriber_id))
        transaction += _member_segments(member)
        counts = _count(counts, member)
    transaction.append(["SE", str(len(transaction) + 1), envelope.transaction_set_control_number])
    segments = [
        _isa(envelope),
        [
            "GS",
            "BE",
            envelope.application_sender,
            envelope.application_receiver,
            _date(created.date()),
            created.strftime("%H%M"),
            str(envelope.group_control_number),
            "X",
            IMPLEMENTATION_GUIDE,
        ],
        *transaction,
        ["GE", "1", str(envelope.group_control_number)],
        ["IEA", "1", f"{envelope.interchange_control_number:09d}"],
    ]
    return Built834(
        text="".join(_segment(elements) for elements in segments),
        counts=counts,
        segments=len(transaction),
        reference=reference,
        subscriber_loops=tuple(loops),
    )


def _isa(envelope: Envelope) -> list[str]:
    """ISA: fixed-width elements, as the standard requires."""
    created = envelope.created
    return [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        envelope.sender_qualifier,
        envelope.sender_id.ljust(15)[:15],
        envelope.receiver_qualifier,
        envelope.receiver_id.ljust(15)[:15],
        created.strftime("%y%m%d"),
        created.strftime("%H%M"),
        REPETITION,
        "00501",
        f"{envelope.interchange_control_number:09d}",
        "0",
        "P" if envelope.production else "T",
        COMPONENT,
    ]


def _member_segments(member: MemberLevel) -> list[list[str]]:
    subscriber = member.subscriber
    ins = [
        "INS",
        "Y" if subscriber else "N",
        member.relationship,
        member.maintenance,
        member.reason or "",
        member.benefit_status,
        "",
        (member.cobra_event or "") if member.benefit_status is BenefitStatus.COBRA else "",
        (member.employment_status or "") if subscriber else "",
        "" if subscriber else (member.student or ""),
    ]
    segments = [ins, ["REF", "0F", member.subscriber_id]]
    if member.policy_number:
        segments.append(["REF", "1L", member.policy_number])
    segments += [["DTP", qualifier, "D8", _date(day)] for qualifier, day in member.member_dates]
    name = ["NM1", "IL", "1", member.last_name, member.first_name, member.middle_name or ""]
    if member.ssn:
        name += ["", "", "34", _digits(member.ssn)]
    segments.append(name)
    if member.address is not None:
        address = member.address
        segments.append(["N3", address.line_one, address.line_two or ""])
        segments.append(["N4", address.city, address.state, _digits(address.postal_code)])
    segments.append(["DMG", "D8", _date(member.birth_date), member.gender])
    for coverage in member.coverages:
        segments.append(
            [
                "HD",
                coverage.maintenance,
                "",
                coverage.insurance_line,
                coverage.plan_description,
                coverage.coverage_level or "",
            ]
        )
        segments.append(["DTP", "348", "D8", _date(coverage.start)])
        if coverage.end is not None:
            segments.append(["DTP", "349", "D8", _date(coverage.end)])
        if coverage.policy_number:
            segments.append(["REF", "1L", coverage.policy_number])
    return segments


def _count(counts: Counts, member: MemberLevel) -> Counts:
    ended = sum(1 for c in member.coverages if c.maintenance is MaintenanceType.TERMINATION)
    return Counts(
        members=counts.members + 1,
        primaries=counts.primaries + (1 if member.subscriber else 0),
        dependents=counts.dependents + (0 if member.subscriber else 1),
        enrollments=counts.enrollments + len(member.coverages) - ended,
        terminations=counts.terminations + ended,
    )


def _segment(elements: list[str]) -> str:
    """One segment: values cleaned of delimiters, trailing empty elements dropped (the
    guide forbids them), the ISA kept whole (fixed width)."""
    if elements[0] != "ISA":
        elements = [_clean(value) for value in elements]
        while elements and elements[-1] == "":
            elements.pop()
    return ELEMENT.join(elements) + SEGMENT_END


def _clean(value: str) -> str:
    return _NOT_ALLOWED.sub(" ", value).strip().upper()


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")
