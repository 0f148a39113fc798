"""`/admin/...`: API clients of any organization, for whoever holds the admin token.

The admin is identified by `Authorization: Bearer <CARRIERLINK_ADMIN_TOKEN>` (a setting; unset,
these answer 403). Same operations as `carrierlink-admin clients create|list|revoke`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel

from api.auth import forget_client, require_admin
from api.deps import DB, AppSettings
from domain.bounds import Name, NonEmptyIdentifier, NonEmptyName
from store import clients

router = APIRouter(prefix="/admin", tags=["admin"])


async def admin_dep(
    settings: AppSettings, authorization: Annotated[str | None, Header()] = None
) -> None:
    require_admin(settings, authorization)


Admin = Depends(admin_dep)


class NewClient(BaseModel):
    label: Name = ""


@router.post("/organizations/{organization}/clients", status_code=201, dependencies=[Admin])
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


@router.get("/organizations/{organization}/clients", dependencies=[Admin])
async def list_clients(organization: NonEmptyName, db: DB) -> list[dict[str, Any]]:
    """The organization's clients (revoked ones too), newest first; never their secrets."""
    async with db.transaction() as session:
        return [client.as_dict() for client in await clients.list_clients(session, organization)]


@router.post("/clients/{client_id}/revoke", dependencies=[Admin])
async def revoke_client(client_id: NonEmptyIdentifier, db: DB) -> dict[str, Any]:
    """Revoke the client: no new tokens, and its tokens stop working."""
    async with db.transaction() as session:
        client = await clients.revoke_client(session, client_id)
    forget_client(client_id)
    return client.as_dict()
