"""Request dependencies: the caller's organization, the database, the Temporal client, paging."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Header, Query, Request
from pydantic import BaseModel
from temporalio.client import Client

from api.errors import ApiError
from carrierlink.settings import Settings
from store.db import Database
from store.tenancy import organization_for_token


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def organization_dep(
    db: Annotated[Database, Depends(get_database)],
    authorization: Annotated[str | None, Header()] = None,
) -> uuid.UUID:
    if not authorization:
        raise ApiError(401, "Missing credentials")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Malformed credentials: expected 'Authorization: Bearer <token>'")
    async with db.transaction() as session:
        organization_id = await organization_for_token(session, token.strip())
    if organization_id is None:
        raise ApiError(401, "Invalid token")
    return organization_id


OrganizationId = Annotated[uuid.UUID, Depends(organization_dep)]
TemporalClient = Annotated[Client, Depends(get_temporal)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PageRequest:
    page_size: int
    offset: int


def page_dep(
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PageRequest:
    return PageRequest(page_size=page_size, offset=offset)


Paging = Annotated[PageRequest, Depends(page_dep)]

T = TypeVar("T")


class PageMeta(BaseModel):
    offset: int
    page_num: int
    page_size: int
    total_records: int


class Page(BaseModel, Generic[T]):
    """The contract's paging envelope."""

    meta: PageMeta
    response: list[T]

    @classmethod
    def of(cls, items: list[Any], page: PageRequest, total: int) -> Page[Any]:
        return Page[Any](
            meta=PageMeta(
                offset=page.offset,
                page_num=page.offset // page.page_size + 1,
                page_size=page.page_size,
                total_records=total,
            ),
            response=items,
        )


def csv_values(raw: str | None) -> list[str]:
    """A comma-separated filter as a list (empty items dropped)."""
    return [v.strip() for v in raw.split(",") if v.strip()] if raw else []
