"""Request dependencies: the caller's organization (from its token), database, Temporal client.

Paging, sorting and query parsing live in `api.params`; reads in `store/`.

The dependencies are `async def` although none of them waits: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per dependency per request (about 4% of the API's CPU
under a burst of snapshot POSTs).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.auth import authenticate
from runtime.settings import Settings
from services.wakes import Wakes
from store.db import Database


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
    request: Request,
    db: DB,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> uuid.UUID:
    """The caller's organization (`api.auth`: a static token or an API client's JWT).

    The bearer scheme is declared for the OpenAPI document; the header itself is read here, so
    a 401 says whether it was missing or malformed.
    """
    return await authenticate(db, request.app.state, request.headers.get("authorization"))


OrganizationId = Annotated[uuid.UUID, Depends(organization_dep)]
TemporalClient = Annotated[Client, Depends(get_temporal)]
Signals = Annotated[Wakes, Depends(get_wakes)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
