"""A member as one carrier sees it, and what a carrier's member rules are given and answer.

`CarrierMember` is the engine's unit of comparison and of sending: one employee, the dependents
the carrier knows of, and the coverages held with that carrier, each with its carrier
configuration resolved. The engine remembers the last one it sent per employee and carrier,
diffs a new snapshot's projection against it, and sends the new one as the transaction body.

Person and employment are kept as the contract's JSON objects: they hold PII and are only ever
stored in PostgreSQL and sent to the carrier, never put in workflow history or logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.enums import LineOfCoverage
from domain.snapshots import IndividualType

OPEN_END = dt.date(9999, 12, 31)

Json = dict[str, Any]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemberEvent(_Frozen):
    """The event a change is made for (the snapshot's event of the employee or the coverage)."""

    type: str  # coverage | demographic
    reason: str  # the contract's event reason: new_hire, marriage, open_enrollment, ...
    date: dt.date


class CarrierPerson(_Frozen):
    id: UUID  # the engine's individual id (`created_members`)
    person: Json = Field(repr=False)  # the contract's person object, as JSON


class CarrierEmployee(CarrierPerson):
    employment: Json = Field(repr=False)


class CarrierDependent(CarrierPerson):
    relationship: str


class EnrolledIndividual(_Frozen):
    individual_id: UUID
    individual_type: IndividualType
    effective_start_date: dt.date
    effective_end_date: dt.date
    volume: int | None = None

    @property
    def active(self) -> bool:
        """Not being ended: the contract writes an active coverage's end as 9999-12-31."""
        return self.effective_end_date == OPEN_END


class CarrierCobra(_Frozen):
    """The coverage is COBRA continuation: when the member may keep it, and why (the snapshot's
    `cobra_details` of a coverage with `cobra_enrolled` true)."""

    eligibility_start_date: dt.date
    eligibility_end_date: dt.date
    qualifying_event_date: dt.date | None = None
    qualifying_event_reason: str | None = None  # the contract's COBRA qualifying event reason


class CarrierCoverage(_Frozen):
    line_of_coverage: LineOfCoverage
    plan_id: UUID  # the engine's plan id
    carrier_plan_id: str  # the carrier's own plan id
    carrier_config: Json = {}  # resolved by the carrier's member rules
    enrolled_members: tuple[EnrolledIndividual, ...]
    event: MemberEvent | None = None
    # Only on COBRA continuation coverage; bodies stored before COBRA was sent have none.
    cobra: CarrierCobra | None = None


class CarrierMember(_Frozen):
    """One employee as one carrier holds them: the body of every member transaction."""

    employee: CarrierEmployee
    dependents: tuple[CarrierDependent, ...] = ()
    coverages: tuple[CarrierCoverage, ...] = ()
    event: MemberEvent | None = None


# --- what a carrier's member rules are given, and answer ---------------------------------------


@dataclass(frozen=True)
class KnownMember:
    """A member the engine already has, as matching a snapshot's people to them needs it: its
    id and the platform's id for it (None for one known only from a carrier's census)."""

    id: UUID
    custom_individual_id: str | None


@dataclass(frozen=True)
class PlanOption:
    """One plan of the group at this carrier, as stored from the carrier's account."""

    id: UUID
    carrier_plan_id: str
    line_of_coverage: LineOfCoverage
    name: str
    voluntary: bool
    plan_configuration: Json
    # The plan's `cobra_rules.eligible`; None when the plan states no COBRA rules (only
    # dental, vision and medical plans carry them).
    cobra_eligible: bool | None = None


@dataclass(frozen=True)
class GroupSetup:
    """The group's account structure at one carrier: what member configurations resolve against."""

    carrier_id: UUID
    configuration: Json  # the group's carrier configuration (`configuration` of the record)
    plans: tuple[PlanOption, ...]


@dataclass(frozen=True)
class CoverageChoice:
    """One coverage of the snapshot for this carrier, with the plan it names already found."""

    index: int  # position in the snapshot's `coverages`, for field paths
    plan: PlanOption
    carrier_config: Json | None  # as the platform sent it
    active: bool  # some enrolled member's coverage is not ended
    changed: bool  # new, or different from what the carrier was last sent
    volumes: tuple[int | None, ...]  # each enrolled member's volume, in order


@dataclass
class MemberRulesOutcome:
    """Per coverage index, the carrier configuration to send; and warnings (not refusals)."""

    carrier_configs: dict[int, Json] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# --- member transactions at a carrier: what the carrier answers ----------------------------------


class CarrierTransactionState(StrEnum):
    """Where a member transaction stands at the carrier."""

    ACCEPTED = "accepted"  # received, queued
    PROCESSING = "processing"
    MANAGED = "managed"  # on the carrier's slower manual path; completes (or fails) later
    COMPLETED = "completed"
    FAILED = "failed"  # refused by the carrier's logic; `reason` says why

    @property
    def finished(self) -> bool:
        return self in (CarrierTransactionState.COMPLETED, CarrierTransactionState.FAILED)


class CarrierTransactionReceipt(BaseModel):
    """The carrier's answer to a sent member transaction."""

    model_config = ConfigDict(frozen=True)

    id: str  # the carrier's transaction id
    transaction_id: str  # the engine's, echoed
    status: CarrierTransactionState
    received_at: dt.datetime


class CarrierTransactionStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: CarrierTransactionState
    at: dt.datetime


class CarrierTransactionStatus(BaseModel):
    """A member transaction as the carrier reports it now."""

    model_config = ConfigDict(frozen=True)

    id: str
    transaction_id: str | None = None
    transaction_type: str | None = None
    employee_id: UUID | None = None
    status: CarrierTransactionState
    reason: str | None = None  # why it failed, or why it is managed; names fields, never values
    managed: bool = False
    history: tuple[CarrierTransactionStep, ...] = ()


class CarrierMemberRecord(CarrierMember):
    """A member as the carrier holds it now (read back for round-trip confirmation)."""

    terminated: bool

    def as_member(self) -> CarrierMember:
        """The record without `terminated`, comparable with what the engine sent."""
        return CarrierMember.model_validate(self.model_dump(exclude={"terminated"}))
