"""What round-trip confirmation finds: the carrier's copy of a member against what was sent.

A difference is one object (the employee, a dependent, or one person's enrollment in one
coverage) that the carrier shows otherwise than the platform sent it. It stays open until the
carrier matches, and becomes a discrepancy if it still differs after the effective-date check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID


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
    before it. One finding per identity: the last one wins. `opened` and `still_open` keep the
    order of `found`; `resolved` keeps the order of `open_keys`."""
    findings = {finding.key: finding for finding in found}
    open_before = list(dict.fromkeys(open_keys))
    known = set(open_before)
    return CheckSplit(
        opened=[finding for key, finding in findings.items() if key not in known],
        still_open=[finding for key, finding in findings.items() if key in known],
        resolved=[key for key in open_before if key not in findings],
    )
