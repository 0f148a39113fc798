"""What round-trip confirmation finds: the carrier's copy of a member against what was sent.

A difference is one object (the employee, a dependent, or one person's enrollment in one
coverage) that the carrier shows otherwise than the platform sent it. It stays open until the
carrier matches, and becomes a discrepancy if it still differs after the effective-date check.
"""

from __future__ import annotations

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
