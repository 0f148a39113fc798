"""Request dependencies: the caller's organization (from its token), database, Temporal client.

Paging, sorting and query parsing live in `api.params`; reads in `store/`.

The dependencies are `async def` although none of them waits: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per dependency per request (about 4% of the API's CPU
under a burst of snapshot POSTs).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from cachetools import TTLCache
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.errors import ApiError
from runtime.settings import Settings
from services.wakes import Wakes
from store.db import Database
from store.tenancy import organization_for_token


async def get_database(request: Request) -> Database:
    return request.app.state.database


DB = Annotated[Database, Depends(get_database)]


async def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


async def get_wakes(request: Request) -> Wakes:
    return request.app.state.wakes


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


# The OpenAPI document's bearer scheme (an Authorize button in /docs); the 401s are ours, below.
_bearer = HTTPBearer(auto_error=False, description="An organization's API token")


async def organization_dep(
    db: DB,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> uuid.UUID:
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        if not request.headers.get("authorization"):
            raise ApiError(401, "Missing credentials")
        raise ApiError(401, "Malformed credentials: expected 'Authorization: Bearer <token>'")
    organization_id = _known_tokens.get(token)
    if organization_id is None:
        async with db.transaction() as session:
            organization_id = await organization_for_token(session, token)
        if organization_id is None:
            raise ApiError(401, "Invalid token")
        _known_tokens[token] = organization_id
    return organization_id


# Tokens found lately, so a busy caller's requests do not each read `api_tokens`. Only found
# ones are kept (a wrong token is read each time), and for a minute: tokens are never revoked
# today; when they are, a revoked one stops working within that minute.
_known_tokens: TTLCache[str, uuid.UUID] = TTLCache(maxsize=10_000, ttl=60)


OrganizationId = Annotated[uuid.UUID, Depends(organization_dep)]
TemporalClient = Annotated[Client, Depends(get_temporal)]
Signals = Annotated[Wakes, Depends(get_wakes)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
