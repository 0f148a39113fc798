"""API clients of an organization: created with a secret shown once, listed, revoked, checked."""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from store.models import ApiClient, Organization
from store.tenancy import ensure_organization_named, hash_token


@dataclass(frozen=True)
class ClientView:
    """A client as listed: never its secret."""

    client_id: str
    organization: str
    label: str
    created: int
    revoked: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "organization": self.organization,
            "label": self.label,
            "created": self.created,
            "revoked": self.revoked,
        }


@dataclass(frozen=True)
class ClientStanding:
    """What a token's check needs: whose the client is and whether it still stands."""

    organization_id: uuid.UUID
    active: bool


async def create_client(
    session: AsyncSession, organization: str, *, label: str = ""
) -> tuple[ClientView, str]:
    """A new client of `organization` (created if new) and its secret (shown this once)."""
    org = await ensure_organization_named(session, organization)
    secret = f"cls_{secrets.token_urlsafe(32)}"
    row = ApiClient(
        organization_id=org.id,
        client_id=f"clc_{secrets.token_hex(12)}",
        secret_sha256=hash_token(secret),
        label=label,
    )
    session.add(row)
    await session.flush()
    return _view(row, org.name), secret


async def list_clients(session: AsyncSession, organization: str) -> list[ClientView]:
    """The organization's clients, revoked ones included, newest first (`NotFound` if no such
    organization)."""
    org = await session.scalar(select(Organization).where(Organization.name == organization))
    if org is None:
        raise NotFound.of("organization")
    rows = await session.scalars(
        select(ApiClient)
        .where(ApiClient.organization_id == org.id)
        .order_by(ApiClient.created.desc(), ApiClient.client_id)
    )
    return [_view(row, org.name) for row in rows]


async def revoke_client(session: AsyncSession, client_id: str) -> ClientView:
    """Revoke the client (again is harmless: the first revocation's time stays)."""
    await session.execute(
        update(ApiClient)
        .where(ApiClient.client_id == client_id, ApiClient.revoked.is_(None))
        .values(revoked=int(time.time()))
    )
    found = (
        await session.execute(
            select(ApiClient, Organization.name)
            .join(Organization, Organization.id == ApiClient.organization_id)
            .where(ApiClient.client_id == client_id)
        )
    ).first()
    if found is None:
        raise NotFound.of("client")
    return _view(found[0], found[1])


async def verify_secret(session: AsyncSession, client_id: str, secret: str) -> uuid.UUID | None:
    """The organization of the active client `client_id` whose secret is `secret`, else None."""
    row = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    # Compared in constant time, and a hash is computed even for an unknown client.
    expected = row.secret_sha256 if row is not None else "0" * 64
    matches = hmac.compare_digest(expected, hash_token(secret))
    if row is None or not matches or row.revoked is not None:
        return None
    return row.organization_id


async def client_standing(session: AsyncSession, client_id: str) -> ClientStanding | None:
    row = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if row is None:
        return None
    return ClientStanding(organization_id=row.organization_id, active=row.revoked is None)


def _view(row: ApiClient, organization: str) -> ClientView:
    return ClientView(
        client_id=row.client_id,
        organization=organization,
        label=row.label,
        created=row.created,
        revoked=row.revoked,
    )
