"""Census as of a date (coverage exports): every member and coverage a carrier held on a day.

A export is asked for a group, a date and some carriers, built in the background page by page
(`percentage_complete`), then downloaded as CSV or JSON until it expires. Each record is one
individual's enrollment in one coverage in force that day at one carrier (an individual with
none in force is one record with the coverage columns empty). Records hold PII: they go to the
database and the download only, never to workflow history or logs.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from domain.members import CarrierMember

# Employees read and written per page of an export.
EXPORT_PAGE = 500


class ExportStatus(StrEnum):
    PROCESSING = "processing"
    COMPLETED = "completed"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


# A record's columns, in the CSV's order.
COLUMNS = (
    "carrier_id",
    "employee_id",
    "individual_id",
    "individual_type",
    "relationship",
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "line_of_coverage",
    "plan_id",
    "carrier_plan_id",
    "effective_start_date",
    "effective_end_date",
    "volume",
    "member_transaction_id",
    "held_since",
)


class HeldMember(BaseModel):
    """One employee as one carrier held them on the day: the member, and where that came from
    (the transaction that carried it and when the carrier completed it, Unix seconds)."""

    carrier_id: UUID
    member: CarrierMember
    member_transaction_id: UUID
    held_since: int


def in_force(start: dt.date, end: dt.date, day: dt.date) -> bool:
    """An enrollment covering `day` (the end date is the last day covered)."""
    return start <= day <= end


def census_records(held: HeldMember, as_of: dt.date) -> list[dict[str, Any]]:
    """The records of one held member: each individual's enrollments in force on `as_of`, or
    one record of the individual alone when none is."""
    member = held.member
    people: list[tuple[UUID, str, str | None, dict[str, Any]]] = [
        (member.employee.id, "employee", None, member.employee.person)
    ]
    people += [(d.id, "dependent", d.relationship, d.person) for d in member.dependents]
    records: list[dict[str, Any]] = []
    for individual_id, individual_type, relationship, person in people:
        base = {
            "carrier_id": str(held.carrier_id),
            "employee_id": str(member.employee.id),
            "individual_id": str(individual_id),
            "individual_type": individual_type,
            "relationship": relationship,
            "first_name": person.get("first_name"),
            "last_name": person.get("last_name"),
            "date_of_birth": _text(person.get("date_of_birth")),
            "sex": person.get("sex"),
            "member_transaction_id": str(held.member_transaction_id),
            "held_since": held.held_since,
        }
        enrollments = [
            {
                "line_of_coverage": coverage.line_of_coverage.value,
                "plan_id": str(coverage.plan_id),
                "carrier_plan_id": coverage.carrier_plan_id,
                "effective_start_date": enrolled.effective_start_date.isoformat(),
                "effective_end_date": enrolled.effective_end_date.isoformat(),
                "volume": enrolled.volume,
            }
            for coverage in member.coverages
            for enrolled in coverage.enrolled_members
            if enrolled.individual_id == individual_id
            and in_force(enrolled.effective_start_date, enrolled.effective_end_date, as_of)
        ]
        for enrollment in enrollments or [dict.fromkeys(_COVERAGE_COLUMNS)]:
            records.append({column: {**base, **enrollment}.get(column) for column in COLUMNS})
    return records


_COVERAGE_COLUMNS = (
    "line_of_coverage",
    "plan_id",
    "carrier_plan_id",
    "effective_start_date",
    "effective_end_date",
    "volume",
)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def percentage(done: int, total: int) -> int:
    """Whole percent of the employees read; 100 only once all are."""
    if total <= 0:
        return 100
    return min(100, done * 100 // total)


class ExportRun(BaseModel):
    """The workflow's input and the activity's: the export's id only."""

    export_id: UUID


class ExportBuilt(BaseModel):
    """What building an export did, in counts (history holds no person)."""

    employees: int
    records: int
