"""`/admin/...`: API clients of any organization, for whoever holds the admin token.

The admin is identified by `Authorization: Bearer <CARRIERLINK_ADMIN_TOKEN>` (a setting; unset,
these answer 403). Same operations as `carrierlink-admin clients create|list|revoke`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict

from api import responses
from api.auth import forget_client, require_admin
from api.deps import DB, AppSettings
from api.openapi import ERROR_RESPONSES
from domain.bounds import Name, NonEmptyIdentifier, NonEmptyName
from store import clients

# Not under /api/v1 (the admin token, not a client's), so its own errors, in the same bodies.
router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={
        400: {"model": responses.ErrorBody, "description": "A body that is not valid JSON"},
        401: {"model": responses.ErrorBody, "description": "Missing or wrong admin token"},
        403: {
            "model": responses.ErrorBody,
            "description": "The admin API is off (`CARRIERLINK_ADMIN_TOKEN` unset)",
        },
        422: ERROR_RESPONSES[422],
    },
)


async def admin_dep(
    settings: AppSettings, authorization: Annotated[str | None, Header()] = None
) -> None:
    require_admin(settings, authorization)


Admin = Depends(admin_dep)


class NewClient(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"label": "my integration"}]})

    label: Name = ""


@router.post(
    "/organizations/{organization}/clients",
    status_code=201,
    dependencies=[Admin],
    response_model=responses.NewApiClient,
)
async def create_client(
    organization: NonEmptyName, db: DB, body: NewClient | None = None
) -> dict[str, Any]:
    """A new client of the organization (created if new); its `client_secret` is shown only
    here, once."""
    async with db.transaction() as session:
        client, secret = await clients.create_client(
            session, organization, label=body.label if body else ""
        )
    return {**client.as_dict(), "client_secret": secret}


@router.get(
    "/organizations/{organization}/clients",
    dependencies=[Admin],
    response_model=list[responses.ApiClient],
)
async def list_clients(organization: NonEmptyName, db: DB) -> list[dict[str, Any]]:
    """The organization's clients (revoked ones too), newest first; never their secrets."""
    async with db.transaction() as session:
        return [client.as_dict() for client in await clients.list_clients(session, organization)]


@router.post(
    "/clients/{client_id}/revoke",
    dependencies=[Admin],
    response_model=responses.ApiClient,
    responses={404: {"model": responses.ErrorBody, "description": "No such client"}},
)
async def revoke_client(client_id: NonEmptyIdentifier, db: DB) -> dict[str, Any]:
    """Revoke the client: no new tokens, and its tokens stop working."""
    async with db.transaction() as session:
        client = await clients.revoke_client(session, client_id)
    forget_client(client_id)
    return client.as_dict()
