"""A group's account structure as a carrier reports it: what connections pull, audits compare."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.enums import LineOfCoverage, LookupOutcome


class Address(BaseModel):
    street_one: str
    street_two: str | None = None
    city: str
    state: str = Field(pattern=r"^[A-Z]{2}$")
    zip_code: str = Field(pattern=r"^\d{5}(-?\d{4})?$")
    county: str | None = None


class CarrierGroupProfile(BaseModel):
    name: str
    dba_name: str | None = None
    federal_ein: str | None = None
    sic_code: str | None = None


class CarrierLocation(BaseModel):
    carrier_location_id: str
    display_name: str
    address: Address


class CarrierContact(BaseModel):
    carrier_contact_id: str
    types: list[str] = Field(min_length=1)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    title: str | None = None
    primary_contact: bool = False


class CarrierGroupEnrollment(BaseModel):
    carrier_enrollment_id: str
    line_of_coverage: LineOfCoverage
    status: str
    effective_start_date: date | None = None
    effective_end_date: date | None = None
    open_enrollment_start_date: date | None = None
    open_enrollment_end_date: date | None = None
    open_enrollment_renewal_date: date | None = None


class CarrierPlan(BaseModel):
    """A plan as the carrier reports it; line-specific fields ride along untouched."""

    model_config = ConfigDict(extra="allow")

    carrier_plan_id: str
    carrier_enrollment_id: str
    line_of_coverage: LineOfCoverage
    name: str
    status: str

    def details(self) -> dict[str, Any]:
        """The plan's contract fields, without the carrier-side keys."""
        return self.model_dump(
            mode="json", exclude={"carrier_plan_id", "carrier_enrollment_id"}, exclude_none=True
        )


class AccountStructure(BaseModel):
    carrier_group_id: str
    group: CarrierGroupProfile
    locations: list[CarrierLocation] = []
    contacts: list[CarrierContact] = []
    configuration: dict[str, Any] = {}
    group_enrollments: list[CarrierGroupEnrollment] = []
    plans: list[CarrierPlan] = []
    coverage_end_date: date | None = None


class GroupLookup(BaseModel):
    """The carrier's answer to "do you have this group?"."""

    carrier_group_id: str
    outcome: LookupOutcome
    message: str | None = None


class DataExchangeRegistration(BaseModel):
    """The carrier's record of the platform's data-exchange link for a group."""

    registration_id: str
    carrier_group_id: str
    platform_reference: str
