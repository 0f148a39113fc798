"""What round-trip confirmation finds: the carrier's copy of a member against what was sent.

A difference is one object (the employee, a dependent, or one person's enrollment in one
coverage) that the carrier shows otherwise than the platform sent it. It stays open until the
carrier matches, and becomes a discrepancy if it still differs after the effective-date check.

Its lifecycle is decided here, the store only writes what these rules return:

- A snapshot's build expects each carrier to come to hold what it is sent: `expected` opens a
  *pending* difference for each thing the carrier does not hold yet as far as the engine knows
  (no transaction has seen it at the carrier: `member_transaction_id` empty, "unavailable" in
  the lists). Those of the member's older snapshots at that carrier are `replaced`.
- A check (`Check`) of a transaction at its carrier: `opened` for a finding no open difference
  has, `found_again` for one it has (a pending one becomes available, its transaction the
  check's; at the effective-date check it becomes a discrepancy), `resolved_by` for an open one
  it no longer finds (the carrier matches; the store drops a pending one instead, as it never
  was a difference at the carrier). A suppressed finding never opens a difference nor becomes a
  discrepancy: still found at the effective date, it is settled the same way (the carrier did
  what it is documented to do).
- A team: `assigned`, `dismissed`, `reopened`.

Each returns the columns to change, or None when the difference is already so (nothing to
write, no new version).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID, uuid4


class ObjectType(StrEnum):
    EMPLOYEE = "employee"
    DEPENDENT = "dependent"
    INDIVIDUAL_ENROLLMENT = "individual_enrollment"


class DifferenceClassification(StrEnum):
    MISSING_FROM_CARRIER = "missing_from_carrier"
    FIELD_MISMATCH = "field_mismatch"
    MISSING_FROM_PLATFORM = "missing_from_platform"


class DifferenceType(StrEnum):
    MISSING_EMPLOYEE = "missing_employee"
    MISSING_DEPENDENT = "missing_dependent"
    MISSING_IE = "missing_ie"  # an individual enrollment
    EXTRA_DEPENDENT = "extra_dependent"
    EXTRA_IE = "extra_ie"
    PERSON_MISMATCH = "person_mismatch"
    EMPLOYMENT_MISMATCH = "employment_mismatch"
    ENROLLMENT_MISMATCH = "enrollment_mismatch"
    # The carrier set its own effective date (Principal computes them): to resolve with the
    # carrier, as the seed says, not a failure of the transaction.
    CARRIER_EFFECTIVE_DATE = "carrier_effective_date"


COVERAGE = "coverage"
DEMOGRAPHIC = "demographic"
IMPACT_TYPES = (COVERAGE, DEMOGRAPHIC)

# The engine's own scale (the contract names `impact_score` and `impact_type` but defines
# neither): 3 when coverage is missing or wrong, 2 for a carrier-set date or a person's
# details, 1 for employment details.
IMPACT: dict[DifferenceType, tuple[int, str]] = {
    DifferenceType.MISSING_EMPLOYEE: (3, COVERAGE),
    DifferenceType.MISSING_DEPENDENT: (3, COVERAGE),
    DifferenceType.MISSING_IE: (3, COVERAGE),
    DifferenceType.EXTRA_DEPENDENT: (3, COVERAGE),
    DifferenceType.EXTRA_IE: (3, COVERAGE),
    DifferenceType.ENROLLMENT_MISMATCH: (3, COVERAGE),
    DifferenceType.CARRIER_EFFECTIVE_DATE: (2, COVERAGE),
    DifferenceType.PERSON_MISMATCH: (2, DEMOGRAPHIC),
    DifferenceType.EMPLOYMENT_MISMATCH: (1, DEMOGRAPHIC),
}


def impact_of(difference_type: DifferenceType) -> tuple[int, str | None]:
    """A difference's impact score and type (1 and none for a type the scale does not list)."""
    return IMPACT.get(difference_type, (1, None))


class ConfirmationStage(StrEnum):
    """When the carrier was read: soon after it took the change, or on its effective date."""

    ACCEPTANCE = "acceptance"
    EFFECTIVE_DATE = "effective_date"


@dataclass(frozen=True)
class FieldDifference:
    key: str  # dotted, e.g. "person.last_name", "volume", "effective_start_date"
    platform_value: Any
    carrier_value: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "platform_value": self.platform_value,
            "carrier_value": self.carrier_value,
        }


@dataclass(frozen=True)
class FoundDifference:
    """One object the carrier shows otherwise than it was sent."""

    object_type: ObjectType
    # The individual's id; for an enrollment, the individual's id too (see `coverage_key`).
    object_id: UUID
    classification: DifferenceClassification
    difference_type: DifferenceType
    fields: tuple[FieldDifference, ...] = ()
    # For an individual enrollment: which coverage (line, and plan for hospital indemnity).
    coverage_key: tuple[str, ...] = ()
    # What the carrier is documented to do (pending EOI, Principal's age reduction, ...): kept so
    # a platform sees it was considered, never a discrepancy. Not part of the identity.
    suppressed: bool = False

    @property
    def identity(self) -> tuple[str, ...]:
        """What makes two findings the same difference across checks."""
        return (
            self.object_type.value,
            str(self.object_id),
            *self.coverage_key,
            self.difference_type.value,
        )

    @property
    def key(self) -> str:
        """The identity as one string, as a stored difference is named by it."""
        return "|".join(self.identity)


@dataclass(frozen=True)
class CheckSplit:
    """A new check's findings against the differences open before it, matched by identity."""

    opened: list[FoundDifference]  # found, and no open difference has its identity
    still_open: list[FoundDifference]  # found again: the open difference's current values
    resolved: list[str]  # the keys of open differences the check no longer finds


def split_check(open_keys: Iterable[str], found: Iterable[FoundDifference]) -> CheckSplit:
    """Split a check's findings by the keys (`FoundDifference.key`) of the differences open
    before it. One finding per identity: the last one wins. Nothing is resolved by a check
    that found the employee missing. `opened` and `still_open` keep the
    order of `found`; `resolved` keeps the order of `open_keys`."""
    findings = {finding.key: finding for finding in found}
    open_before = list(dict.fromkeys(open_keys))
    known = set(open_before)
    # A carrier that holds no employee at all showed nothing to compare the rest with: what is
    # open about their dependents and enrollments stays open.
    holds_nobody = any(
        finding.difference_type is DifferenceType.MISSING_EMPLOYEE for finding in findings.values()
    )
    return CheckSplit(
        opened=[finding for key, finding in findings.items() if key not in known],
        still_open=[finding for key, finding in findings.items() if key in known],
        resolved=[] if holds_nobody else [key for key in open_before if key not in findings],
    )


@dataclass(frozen=True)
class CheckOutcome:
    """What one check did: differences opened, found again, resolved; and how many of those
    it found (opened or still open) are discrepancies now."""

    opened: int = 0
    still_open: int = 0
    resolved: int = 0
    discrepancies: int = 0

    @property
    def found(self) -> int:
        return self.opened + self.still_open


# --- the lifecycle -------------------------------------------------------------------------------

# What a source made by a check points at (contract 4d `sources[].object_type`).
SOURCE_OBJECT_TYPE = "member_transaction"
# A source that is a carrier's census read at connection or audit (a `carrier_holding`).
CENSUS_OBJECT_TYPE = "carrier_holding"

Changes = dict[str, Any]


class DifferenceState(Protocol):
    """What the lifecycle rules read of a stored difference."""

    @property
    def is_discrepancy(self) -> bool: ...

    @property
    def is_dismissed(self) -> bool: ...

    @property
    def is_suppressed(self) -> bool: ...

    @property
    def member_transaction_id(self) -> UUID | None: ...

    @property
    def assignee_id(self) -> UUID | None: ...

    @property
    def resolved(self) -> int | None: ...

    @property
    def replaced_by(self) -> UUID | None: ...

    @property
    def sources(self) -> list[dict[str, Any]]: ...


def json_safe(value: Any) -> Any:
    """A carrier or platform value as JSON stores it (dates and the like as strings)."""
    return json.loads(json.dumps(value, default=str))


def stored_fields(finding: FoundDifference) -> list[dict[str, Any]]:
    """A finding's fields as a difference stores them."""
    return [json_safe(field.as_json()) for field in finding.fields]


@dataclass(frozen=True)
class Check:
    """One check of a transaction at its carrier, and the source it adds to each difference it
    opens, finds again or resolves."""

    transaction_id: UUID
    member_snapshot_id: UUID | None
    stage: ConfirmationStage
    fetched_at: int  # when the carrier was read (Unix seconds)
    now: int

    @property
    def at_effective_date(self) -> bool:
        return self.stage is ConfirmationStage.EFFECTIVE_DATE

    def source(self, *, is_discrepancy: bool = False, resolves: bool = False) -> dict[str, Any]:
        return {
            "id": str(uuid4()),
            "version": str(uuid4()),
            "created": self.now,
            "modified": self.now,
            "object_type": SOURCE_OBJECT_TYPE,
            "object_id": str(self.transaction_id),
            "member_snapshot_id": (
                str(self.member_snapshot_id) if self.member_snapshot_id else None
            ),
            "stage": self.stage.value,
            "is_discrepancy": is_discrepancy,
            "resolves_difference": resolves,
            "suppress_discrepancies": False,
            "last_seen": self.fetched_at,
            "carrier_fetch_time": self.fetched_at,
        }

    def already_in(self, sources: Iterable[dict[str, Any]]) -> bool:
        """This very check (transaction, stage, carrier read) is already one of the sources."""
        return any(
            s.get("object_id") == str(self.transaction_id)
            and s.get("stage") == self.stage.value
            and s.get("carrier_fetch_time") == self.fetched_at
            and not s.get("resolves_difference")
            for s in sources
        )


def opened(check: Check, finding: FoundDifference) -> Changes:
    """The columns of a difference a check opens; at the effective-date check, a discrepancy
    from the start."""
    score, impact_type = impact_of(finding.difference_type)
    return {
        "object_type": finding.object_type.value,
        "object_id": finding.object_id,
        "coverage_key": list(finding.coverage_key),
        "difference_classification": finding.classification.value,
        "difference_type": finding.difference_type.value,
        "fields": stored_fields(finding),
        "impact_score": score,
        "impact_type": impact_type,
        "is_dismissed": False,
        "is_suppressed": finding.suppressed,
        "is_discrepancy": check.at_effective_date and not finding.suppressed,
        "discrepancy_time": check.now if check.at_effective_date else None,
        "resolved": None,
        "replaced_by": None,
        "assignee_id": None,
        "identity": finding.key,
        "sources": [
            check.source(is_discrepancy=check.at_effective_date and not finding.suppressed)
        ],
    }


def found_again(check: Check, state: DifferenceState, finding: FoundDifference) -> Changes | None:
    """An open difference found again: its fields refreshed from the finding and the check added
    as a source; at the effective-date check it becomes a discrepancy. None when this very
    check is a source already (a retried activity)."""
    if check.already_in(state.sources):
        return None
    becomes_discrepancy = (
        check.at_effective_date and not state.is_discrepancy and not finding.suppressed
    )
    score, impact_type = impact_of(finding.difference_type)
    changes: Changes = {
        "fields": stored_fields(finding),
        "difference_classification": finding.classification.value,
        "impact_score": score,
        "impact_type": impact_type,
        "is_suppressed": finding.suppressed,
        "sources": [*state.sources, check.source(is_discrepancy=becomes_discrepancy)],
    }
    if becomes_discrepancy:
        changes |= {"is_discrepancy": True, "discrepancy_time": check.now}
    if state.member_transaction_id is None and not finding.suppressed:
        # A pending difference the carrier is now seen not to match: this check found it.
        changes["member_transaction_id"] = check.transaction_id
    return changes


def settled_at_check(check: Check, finding: FoundDifference) -> bool:
    """A suppressed finding at the effective-date check: what the carrier is documented to do
    was confirmed, so the difference it matches is resolved rather than found again."""
    return finding.suppressed and check.at_effective_date


# --- what a snapshot expects ---------------------------------------------------------------------

# What an expectation's source points at, and its stage (no carrier was read).
EXPECTED_OBJECT_TYPE = "member_snapshot"
EXPECTED_STAGE = "expected"


def expected(member_snapshot_id: UUID, finding: FoundDifference, *, now: int) -> Changes:
    """The columns of a pending difference: what a snapshot expects the carrier to come to hold
    and, as far as the engine knows, it does not yet. No carrier was read, so no transaction is
    its origin until a check finds it at the carrier."""
    score, impact_type = impact_of(finding.difference_type)
    return {
        "member_snapshot_id": member_snapshot_id,
        "member_transaction_id": None,
        "object_type": finding.object_type.value,
        "object_id": finding.object_id,
        "coverage_key": list(finding.coverage_key),
        "difference_classification": finding.classification.value,
        "difference_type": finding.difference_type.value,
        "fields": stored_fields(finding),
        "impact_score": score,
        "impact_type": impact_type,
        "is_dismissed": False,
        "is_suppressed": finding.suppressed,
        "is_discrepancy": False,
        "discrepancy_time": None,
        "resolved": None,
        "replaced_by": None,
        "assignee_id": None,
        "identity": finding.key,
        "sources": [
            {
                "id": str(uuid4()),
                "version": str(uuid4()),
                "created": now,
                "modified": now,
                "object_type": EXPECTED_OBJECT_TYPE,
                "object_id": str(member_snapshot_id),
                "member_snapshot_id": str(member_snapshot_id),
                "stage": EXPECTED_STAGE,
                "is_discrepancy": False,
                "resolves_difference": False,
                "suppress_discrepancies": finding.suppressed,
                "last_seen": None,
                "carrier_fetch_time": None,
            }
        ],
    }


def replaced(state: DifferenceState, newer_snapshot_id: UUID) -> Changes | None:
    """A newer snapshot of the member sets new expectations at the carrier: an open difference
    of an older one is replaced by it (None if no longer open to replace)."""
    if state.resolved is not None or state.replaced_by is not None:
        return None
    return {"replaced_by": newer_snapshot_id}


def resolved_by(check: Check, state: DifferenceState) -> Changes:
    """The check no longer finds the open difference: resolved, the check its last source."""
    return {"resolved": check.now, "sources": [*state.sources, check.source(resolves=True)]}


# --- working the differences (contract 4d writes) -------------------------------------------------


class DifferenceAction(StrEnum):
    """What a team does with differences (`PUT /differences/{id}/{action}` and its batch)."""

    ASSIGN = "assign"
    DISMISS = "dismiss"
    REOPEN = "reopen"


def assigned(state: DifferenceState, assignee_id: UUID) -> Changes | None:
    """Given to `assignee_id`; None when it is theirs already."""
    return None if state.assignee_id == assignee_id else {"assignee_id": assignee_id}


def dismissed(state: DifferenceState) -> Changes | None:
    """Set aside by the team: no longer open, whatever the carrier shows. None when already."""
    return None if state.is_dismissed else {"is_dismissed": True}


def reopened(state: DifferenceState) -> Changes | None:
    """A dismissed difference back in the open; None when it was not dismissed. Resolution and
    replacement are the carrier's and the platform's to undo (a new check, a new snapshot), so
    reopening undoes a dismissal only."""
    return {"is_dismissed": False} if state.is_dismissed else None


def worked(
    action: DifferenceAction, state: DifferenceState, *, assignee_id: UUID | None = None
) -> Changes | None:
    """The changes `action` makes to a difference (None: nothing to change)."""
    if action is DifferenceAction.ASSIGN:
        if assignee_id is None:
            raise ValueError("assign needs an assignee_id")
        return assigned(state, assignee_id)
    if action is DifferenceAction.DISMISS:
        return dismissed(state)
    return reopened(state)
