"""Request bodies of the REST contract (responses are the records' contract shapes).

Every text, date and number takes its bounds from `domain.bounds`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from domain.bounds import (
    MAX_CHOICES,
    EmailText,
    Name,
    NonEmptyIdentifier,
    NonEmptyName,
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
    carrier_id: uuid.UUID
    group_data: NewGroupData
    federal_ein: NineDigits | None = None


class ExistingGroupConnection(_Body):
    carrier_id: uuid.UUID
    group_data: ExistingGroupData


class ConnectionRetry(_Body):
    carrier_group_id: NonEmptyIdentifier | None = None
    broker_federal_ein: ShortText | None = None
    broker_tin: ShortText | None = None
    employer_email_address: EmailText | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    federal_ein: NineDigits | None = None


class ConnectionReview(_Body):
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
    name: NonEmpty
    dba_name: Name | None = None
    federal_ein: NineDigits | None = None
    sic_code: FourDigits | None = None
    organization_id: uuid.UUID | None = None


class GroupEdit(_Body):
    name: NonEmpty | None = None
    dba_name: Name | None = None
    federal_ein: NineDigits | None = None
    sic_code: FourDigits | None = None

    _name_not_null = field_validator("name")(_not_null)


class NewContact(_Body):
    first_name: NonEmpty
    last_name: NonEmpty
    email: EmailAddress
    types: list[ContactType] = Field(min_length=1, max_length=MAX_CHOICES)
    phone_number: E164 | None = None
    title: Name | None = None
    primary_contact: bool = False
    carrier_id: uuid.UUID | None = None


class ContactEdit(_Body):
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
    carrier_id: uuid.UUID


# Group disconnection requests (`/api/v1/group_disconnection_requests`).


class NewDisconnectionRequest(_Body):
    carrier_id: uuid.UUID
    group_id: uuid.UUID
    # The last day coverage is managed through carrierlink.
    effective_end_date: PlausibleEndDate
    reason: DisconnectionReason | None = None
    context: Text | None = None


class DisconnectionConfirm(_Body):
    """Optional body of `PUT .../{id}/confirm`; the end date is needed only if none is set yet."""

    effective_end_date: PlausibleEndDate | None = None


class DisconnectionReject(_Body):
    """Optional body of `PUT .../{id}/reject`."""

    reason: RejectionReason | None = None
    context: Text | None = None


class DisconnectionEdit(_Body):
    """`PUT .../{id}/{version}`: the general way to confirm (processing) or reject (rejected).

    `reason` is a rejection reason for `rejected` and a disconnection reason for `processing`
    (checked by the router, which names the field).
    """

    status: Literal["processing", "rejected"]
    effective_end_date: PlausibleEndDate | None = None
    reason: ShortText | None = None
    context: Text | None = None


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
