"""The carrier systems' own endpoints, under /{carrier}: lookups, accounts, writes and members."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from sandbox.carriers import LookupStatus
from sandbox.census import DEFAULT_PAGE, MAX_PAGE
from sandbox.deps import Carrier, State
from sandbox.errors import MissingIdempotencyKey
from sandbox.idempotency import fingerprint
from sandbox.members import CarrierProcessingStatus, MemberTransactionRequest
from sandbox.plans import Json

router = APIRouter(prefix="/{carrier}/groups/{carrier_group_id}")


class GroupLookupBody(BaseModel):
    carrier_group_id: str
    status: LookupStatus
    message: str | None


class DataExchangeRequest(BaseModel):
    platform_reference: str = Field(min_length=1)


class DataExchangeRegistration(BaseModel):
    registration_id: str
    carrier_group_id: str
    platform_reference: str
    registered_at: datetime


class MemberTransactionReceipt(BaseModel):
    id: str
    transaction_id: str
    status: CarrierProcessingStatus
    received_at: datetime


class MemberTransactionStep(BaseModel):
    status: CarrierProcessingStatus
    at: datetime


class MemberTransactionBody(BaseModel):
    id: str
    transaction_id: str
    transaction_type: str
    employee_id: UUID
    status: CarrierProcessingStatus
    reason: str | None
    managed: bool
    history: list[MemberTransactionStep]
    # What the carrier did of its own accord on completion (names only): age_reduction,
    # child_critical_illness, effective_date, eoi_pending.
    notes: list[str] = []


@router.get("")
async def lookup_group(carrier: Carrier, carrier_group_id: str, state: State) -> GroupLookupBody:
    lookup = state.lookup(carrier, carrier_group_id)
    return GroupLookupBody(
        carrier_group_id=carrier_group_id, status=lookup.status, message=lookup.message
    )


@router.get("/account")
async def get_account(carrier: Carrier, carrier_group_id: str, state: State) -> Json:
    return state.account(carrier, carrier_group_id, datetime.now(UTC).date())


@router.get("/plans")
async def get_plans(carrier: Carrier, carrier_group_id: str, as_of: date, state: State) -> Json:
    """The plans and enrollments the carrier holds for the plan year starting on `as_of` (any
    date is taken as a renewal date; `sandbox.renewals` scripts what is installed)."""
    return state.renewal(carrier, carrier_group_id, as_of)


@router.post("/data_exchange", status_code=201, response_model=DataExchangeRegistration)
async def register_data_exchange(
    carrier: Carrier,
    carrier_group_id: str,
    payload: DataExchangeRequest,
    request: Request,
    response: Response,
    state: State,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Json:
    if not idempotency_key:
        raise MissingIdempotencyKey("the Idempotency-Key header is required on carrier writes")
    replayed, body = state.register_data_exchange(
        carrier,
        carrier_group_id,
        payload.platform_reference,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint("POST", request.url.path, payload.model_dump()),
        now=datetime.now(UTC),
    )
    if replayed:
        response.status_code = 200
    return body


@router.post("/member_transactions", status_code=201, response_model=MemberTransactionReceipt)
async def send_member_transaction(
    carrier: Carrier,
    carrier_group_id: str,
    payload: MemberTransactionRequest,
    request: Request,
    response: Response,
    state: State,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Json:
    if not idempotency_key:
        raise MissingIdempotencyKey("the Idempotency-Key header is required on carrier writes")
    replayed, body = state.send_member_transaction(
        carrier,
        carrier_group_id,
        payload,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint("POST", request.url.path, payload.model_dump(mode="json")),
    )
    if replayed:
        response.status_code = 200
    return body


@router.get("/member_transactions/{carrier_transaction_id}", response_model=MemberTransactionBody)
async def get_member_transaction(
    carrier: Carrier, carrier_group_id: str, carrier_transaction_id: str, state: State
) -> Json:
    """One member transaction by the id this carrier gave it."""
    return state.member_transaction(carrier, carrier_group_id, carrier_transaction_id)


@router.get("/members/{employee_id}")
async def get_member(
    carrier: Carrier, carrier_group_id: str, employee_id: UUID, state: State
) -> Json:
    """The member as last completed (the engine's CarrierMember JSON) and `terminated`."""
    return state.member(carrier, carrier_group_id, employee_id)


@router.get("/census")
async def get_census(
    carrier: Carrier,
    carrier_group_id: str,
    state: State,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> Json:
    """A page of the members the carrier holds for the group (`sandbox.census`): `{members,
    total, next_cursor}`; pass `next_cursor` back as `cursor` for the next page."""
    return state.census(carrier, carrier_group_id, cursor=cursor, limit=limit)
