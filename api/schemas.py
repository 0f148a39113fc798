"""Request bodies of the REST contract (responses are the records' contract shapes).

Every text, date and number takes its bounds from `domain.bounds`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from domain.bounds import (
    MAX_BATCH_IDS,
    MAX_CHOICES,
    EmailText,
    Name,
    NonEmptyIdentifier,
    NonEmptyName,
    PlausibleDate,
    PlausibleEndDate,
    ShortText,
    Text,
)
from domain.disconnections import DisconnectionReason, RejectionReason

NonEmpty = NonEmptyName
NineDigits = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExistingGroupData(_Body):
    carrier_group_id: NonEmptyIdentifier
    broker_federal_ein: ShortText | None = None
    broker_tin: ShortText | None = None
    employer_email_address: EmailText | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )


class NewGroupData(ExistingGroupData):
    group_name: NonEmptyName


class NewGroupConnection(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier_id": "d0003042-eaae-4491-b219-4825456a3d16",
                    "group_data": {
                        "carrier_group_id": "2345678",
                        "group_name": "Acme Corp",
                        "broker_federal_ein": "123456789",
                    },
                    "federal_ein": "987654321",
                }
            ]
        }
    )

    carrier_id: uuid.UUID
    group_data: NewGroupData
    federal_ein: NineDigits | None = None


class ExistingGroupConnection(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier_id": "23054cd9-0a41-43e3-bd43-2d2138006536",
                    "group_data": {"carrier_group_id": "123456"},
                }
            ]
        }
    )

    carrier_id: uuid.UUID
    group_data: ExistingGroupData


class ConnectionRetry(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"carrier_group_id": "2345679"}]})

    carrier_group_id: NonEmptyIdentifier | None = None
    broker_federal_ein: ShortText | None = None
    broker_tin: ShortText | None = None
    employer_email_address: EmailText | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    federal_ein: NineDigits | None = None


class ConnectionReview(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"decision": "approve", "note": "EIN checked with the employer"}]
        }
    )

    decision: Literal["approve", "reject"]
    note: Text | None = None


# Groups and group data (`/api/v1/groups/...`).

FourDigits = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
EmailAddress = Annotated[EmailText, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{1,14}$")]
ContactType = Literal["company", "billing", "executive", "online", "carrier"]


def _not_null(value: Any) -> Any:
    """For edit fields that may be left out but, being required on the record, not sent as null."""
    if value is None:
        raise ValueError("may be left out but not null")
    return value


class NewGroup(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme Corp",
                    "dba_name": "Acme",
                    "federal_ein": "987654321",
                    "sic_code": "7372",
                }
            ]
        }
    )

    name: NonEmpty
    dba_name: Name | None = None
    federal_ein: NineDigits | None = None
    sic_code: FourDigits | None = None
    organization_id: uuid.UUID | None = None


class GroupEdit(_Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"dba_name": "Acme Holdings", "sic_code": "7371"}]}
    )

    name: NonEmpty | None = None
    dba_name: Name | None = None
    federal_ein: NineDigits | None = None
    sic_code: FourDigits | None = None

    _name_not_null = field_validator("name")(_not_null)


class NewContact(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "first_name": "Ann",
                    "last_name": "Lee",
                    "email": "ann.lee@example.com",
                    "types": ["billing", "executive"],
                    "phone_number": "+15155550100",
                    "title": "Benefits manager",
                    "primary_contact": True,
                }
            ]
        }
    )

    first_name: NonEmpty
    last_name: NonEmpty
    email: EmailAddress
    types: list[ContactType] = Field(min_length=1, max_length=MAX_CHOICES)
    phone_number: E164 | None = None
    title: Name | None = None
    primary_contact: bool = False
    carrier_id: uuid.UUID | None = None


class ContactEdit(_Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "HR director", "primary_contact": False}]}
    )

    first_name: NonEmpty | None = None
    last_name: NonEmpty | None = None
    email: EmailAddress | None = None
    types: list[ContactType] | None = Field(default=None, min_length=1, max_length=MAX_CHOICES)
    phone_number: E164 | None = None
    title: Name | None = None
    primary_contact: bool | None = None
    carrier_id: uuid.UUID | None = None

    _required_not_null = field_validator(
        "first_name", "last_name", "email", "types", "primary_contact"
    )(_not_null)


class AuditRequestBody(_Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"carrier_id": "d0003042-eaae-4491-b219-4825456a3d16"}]}
    )

    carrier_id: uuid.UUID


# Group disconnection requests (`/api/v1/group_disconnection_requests`).


class NewDisconnectionRequest(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier_id": "d0003042-eaae-4491-b219-4825456a3d16",
                    "group_id": "8a6e0804-2bd0-4672-b79d-d97027f9071a",
                    "effective_end_date": "2026-12-31",
                    "reason": "lost_group",
                    "context": "moved to another platform",
                }
            ]
        }
    )

    carrier_id: uuid.UUID
    group_id: uuid.UUID
    # The last day coverage is managed through carrierlink.
    effective_end_date: PlausibleEndDate
    reason: DisconnectionReason | None = None
    context: Text | None = None


class DisconnectionConfirm(_Body):
    """Optional body of `PUT .../{id}/confirm`; the end date is needed only if none is set yet."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"effective_end_date": "2026-12-31"}]}
    )

    effective_end_date: PlausibleEndDate | None = None


class DisconnectionReject(_Body):
    """Optional body of `PUT .../{id}/reject`."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "connection_restored", "context": "renewed"}]}
    )

    reason: RejectionReason | None = None
    context: Text | None = None


class DisconnectionEdit(_Body):
    """`PUT .../{id}/{version}`: the general way to confirm (processing) or reject (rejected).

    `reason` is a rejection reason for `rejected` and a disconnection reason for `processing`
    (checked by the router, which names the field).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "processing", "effective_end_date": "2027-01-31"}]
        }
    )

    status: Literal["processing", "rejected"]
    effective_end_date: PlausibleEndDate | None = None
    reason: ShortText | None = None
    context: Text | None = None


# Working the differences (`/api/v1/differences/...`, contract 4d writes).

_ASSIGNEE = "5b0e6f2a-0000-4000-8000-00000000a551"
_DIFFERENCE = "5b0e6f2a-0000-4000-8000-00000000d1ff"


class DifferenceAssign(_Body):
    """`PUT /differences/{id}/assign`: who on the platform's team works the difference."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"assignee_id": _ASSIGNEE}]}
    )

    assignee_id: uuid.UUID


class DifferenceIds(_Body):
    """`PUT /differences/{dismiss|reopen}`: the differences to change (at least one)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"ids": [_DIFFERENCE]}]}
    )

    ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BATCH_IDS)


class DifferenceBatchAssign(DifferenceIds):
    """`PUT /differences/assign`: the differences and who works them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"ids": [_DIFFERENCE], "assignee_id": _ASSIGNEE}]},
    )

    assignee_id: uuid.UUID


# Coverage exports (`POST /api/v1/groups/{group_id}/coverage_exports`).


class NewCoverageExport(_Body):
    """A census of the group as each carrier held it at the end of `as_of` (today or earlier);
    `carrier_ids` default to every carrier."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"as_of": "2026-01-31", "carrier_ids": ["0a8c1a34-7d4e-4c1b-9b0e-5b0f6b9d1c01"]}
            ]
        },
    )

    as_of: PlausibleDate
    carrier_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=MAX_CHOICES)


# Feeds to file carriers (`/api/v1/feeds/...`).


class FeedEdit(_Body):
    """What a platform may change of a feed: pause or resume it, and when it runs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "paused": False,
                    "rrule": "FREQ=WEEKLY;BYDAY=MO,TH",
                    "time_of_day": "06:30",
                    "zone_info": "America/Chicago",
                }
            ]
        },
    )

    paused: bool | None = None
    rrule: ShortText | None = None
    time_of_day: (
        Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] | None
    ) = None
    zone_info: ShortText | None = None
    error_threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
