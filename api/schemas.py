"""Request bodies of the REST contract (responses are the records' contract shapes)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
NineDigits = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExistingGroupData(_Body):
    carrier_group_id: NonEmpty
    broker_federal_ein: str | None = None
    broker_tin: str | None = None
    employer_email_address: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class NewGroupData(ExistingGroupData):
    group_name: NonEmpty


class NewGroupConnection(_Body):
    carrier_id: uuid.UUID
    group_data: NewGroupData
    federal_ein: NineDigits | None = None


class ExistingGroupConnection(_Body):
    carrier_id: uuid.UUID
    group_data: ExistingGroupData


class ConnectionRetry(_Body):
    carrier_group_id: NonEmpty | None = None
    broker_federal_ein: str | None = None
    broker_tin: str | None = None
    employer_email_address: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    federal_ein: NineDigits | None = None
