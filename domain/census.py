"""The carrier's census of a group (the members it already holds), and linking snapshots to it.

A census page is read from the carrier at connection and by audits (`CensusPage`); each member
becomes the carrier's view of an engine member (`to_carrier_member`), stored and compared with
what the platform sent. A first snapshot for an employee the engine knows only from a census is
linked to that member (`match_employee`, `match_dependents`), never made a new one.

Everything here holds PII: it is stored in PostgreSQL and never put in workflow history or logs;
activities pass counts and cursors only (`CensusPageRequest`, `CensusPageResult`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.audits import PullRequest
from domain.enums import LineOfCoverage
from domain.errors import FieldProblem, ValidationFailed
from domain.members import (
    CarrierCoverage,
    CarrierDependent,
    CarrierEmployee,
    CarrierMember,
    EnrolledIndividual,
)
from domain.snapshots import IndividualType

Json = dict[str, Any]

# Members per census page: one activity reads and stores one page (about 0.1 s at the sandbox).
CENSUS_PAGE_SIZE = 500


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CensusEnrollment(_Wire):
    individual_id: str  # the carrier's id of the employee or dependent
    individual_type: IndividualType
    effective_start_date: dt.date  # as the carrier calculated it
    effective_end_date: dt.date
    volume: int | None = None


class CensusCoverage(_Wire):
    line_of_coverage: LineOfCoverage
    carrier_plan_id: str
    carrier_config: Json = {}
    enrolled_members: tuple[CensusEnrollment, ...] = ()


class CensusPerson(_Wire):
    id: str  # the carrier's id
    person: Json = Field(repr=False)


class CensusEmployee(CensusPerson):
    employment: Json = Field(default_factory=dict, repr=False)


class CensusDependent(CensusPerson):
    relationship: str


class CensusMember(_Wire):
    """One employee as the carrier holds them, in the carrier's ids."""

    custom_individual_id: str | None = None  # the platform id a platform sent the carrier before
    employee: CensusEmployee
    dependents: tuple[CensusDependent, ...] = ()
    coverages: tuple[CensusCoverage, ...] = ()
    terminated: bool = False


class CensusPage(_Wire):
    members: tuple[CensusMember, ...]
    total: int
    next_cursor: str | None = None


# --- what the workflow passes (no people) --------------------------------------------------------


class CensusPageRequest(BaseModel):
    """Pull one page of the group's census at its carrier; `source` names the difference source
    of the comparison (`connection`), None for a refresh without one (audits)."""

    model_config = ConfigDict(frozen=True)

    pull: PullRequest
    cursor: str | None = None
    source: str | None = None


class CensusPageResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    members: int  # employees stored from this page
    total: int  # employees in the whole census
    differences: int  # opened by this page's comparison
    next_cursor: str | None = None


# --- the carrier's view in the engine's ids ------------------------------------------------------


def to_carrier_member(
    census: CensusMember,
    *,
    engine_ids: Mapping[str, UUID],
    plan_ids: Mapping[str, UUID],
) -> CarrierMember:
    """The census member as the engine compares members: engine ids for each person
    (`engine_ids`, by carrier id) and plan (`plan_ids`, by carrier plan id). A coverage of a
    plan the engine does not know is left out (it would be compared against nothing)."""
    coverages = []
    for coverage in census.coverages:
        plan_id = plan_ids.get(coverage.carrier_plan_id)
        if plan_id is None:
            continue
        coverages.append(
            CarrierCoverage(
                line_of_coverage=coverage.line_of_coverage,
                plan_id=plan_id,
                carrier_plan_id=coverage.carrier_plan_id,
                carrier_config=coverage.carrier_config,
                enrolled_members=tuple(
                    EnrolledIndividual(
                        individual_id=engine_ids[enrolled.individual_id],
                        individual_type=enrolled.individual_type,
                        effective_start_date=enrolled.effective_start_date,
                        effective_end_date=enrolled.effective_end_date,
                        volume=enrolled.volume,
                    )
                    for enrolled in coverage.enrolled_members
                    if enrolled.individual_id in engine_ids
                ),
            )
        )
    return CarrierMember(
        employee=CarrierEmployee(
            id=engine_ids[census.employee.id],
            person=census.employee.person,
            employment=census.employee.employment,
        ),
        dependents=tuple(
            CarrierDependent(
                id=engine_ids[dependent.id],
                person=dependent.person,
                relationship=dependent.relationship,
            )
            for dependent in census.dependents
        ),
        coverages=tuple(coverages),
    )


# --- linking a snapshot to the census ------------------------------------------------------------


def match_key(person: Mapping[str, Any]) -> str | None:
    """What an employee is matched by (SSN and date of birth), hashed so the column and its
    index hold no SSN; None without both."""
    ssn = str(person.get("ssn") or "").replace("-", "")
    born = str(person.get("date_of_birth") or "")
    if not ssn or not born:
        return None
    return hashlib.sha256(f"{ssn}|{born}".encode()).hexdigest()


@dataclass(frozen=True)
class CensusCandidate:
    """An individual the engine knows only from a census: its engine id and person."""

    id: UUID
    person: Json


def match_employee(
    snapshot_person: Mapping[str, Any], candidates: Iterable[CensusCandidate]
) -> UUID | None:
    """The census employee with the snapshot employee's SSN and date of birth; None when none
    has them (or the snapshot lacks either). Two or more: refused, a person must say which."""
    key = match_key(snapshot_person)
    if key is None:
        return None
    found = {c.id for c in candidates if match_key(c.person) == key}
    if len(found) > 1:
        raise ValidationFailed.one(
            "employee",
            f"matches {len(found)} employees the carrier already holds (same SSN and date of "
            "birth): send the employee's id to say which",
        )
    return next(iter(found), None)


def _name_key(person: Mapping[str, Any]) -> tuple[str, str, str] | None:
    first = str(person.get("first_name") or "").strip().casefold()
    last = str(person.get("last_name") or "").strip().casefold()
    born = str(person.get("date_of_birth") or "")
    if not first or not last or not born:
        return None
    return first, last, born


def match_dependents(
    snapshot_persons: Iterable[Mapping[str, Any] | None], candidates: Iterable[CensusCandidate]
) -> list[UUID | None]:
    """For each snapshot dependent (None: already known, skip), the census dependent of the
    linked employee with the same first name, last name and date of birth, or None.

    Refused (naming `dependents.{index}`) when two census dependents match one snapshot
    dependent, or two snapshot dependents match one census dependent.
    """
    pool = list(candidates)
    matches: list[UUID | None] = []
    problems: list[FieldProblem] = []
    taken: dict[UUID, int] = {}
    for index, person in enumerate(snapshot_persons):
        key = _name_key(person) if person is not None else None
        found = [c.id for c in pool if key is not None and _name_key(c.person) == key]
        if len(found) > 1:
            problems.append(
                FieldProblem(
                    f"dependents.{index}",
                    f"matches {len(found)} dependents the carrier already holds (same name and "
                    "date of birth): send the dependent's id to say which",
                )
            )
            matches.append(None)
            continue
        match = found[0] if found else None
        if match is not None and match in taken:
            problems.append(
                FieldProblem(
                    f"dependents.{index}",
                    f"matches the same dependent the carrier holds as dependents.{taken[match]}",
                )
            )
        if match is not None:
            taken.setdefault(match, index)
        matches.append(match)
    if problems:
        raise ValidationFailed(problems)
    return matches
