"""Who calls: an organization from its bearer token (a static token or a client's JWT), or the
admin (the `admin_token` setting).

Shared by the auth dependency (`api.deps`) and the idempotency middleware, which must know the
organization before any route runs.
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any

from cachetools import TTLCache

from api import tokens
from api.errors import ApiError
from runtime.settings import Settings
from runtime.signing import token_signing_key
from store.clients import ClientStanding, client_standing
from store.db import Database
from store.tenancy import organization_for_token

# Static tokens found lately, so a busy caller's requests do not each read `api_tokens`. Only
# found ones are kept (a wrong token is read each time), for a minute.
_known_tokens: TTLCache[str, uuid.UUID] = TTLCache(maxsize=10_000, ttl=60)

# Each client's standing, read at most every CLIENT_CHECK_SECONDS per API process: a client
# revoked elsewhere (the CLI, another process) stops working within that time; one revoked
# through this process's admin API at once (`forget_client`).
CLIENT_CHECK_SECONDS = 10
_client_standing: TTLCache[str, ClientStanding | None] = TTLCache(
    maxsize=10_000, ttl=CLIENT_CHECK_SECONDS
)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise ApiError(401, "Missing credentials")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Malformed credentials: expected 'Authorization: Bearer <token>'")
    return token.strip()


def signing_key(state: Any) -> str:
    """The app's token signing key, resolved on first use (`runtime.signing`)."""
    key: str | None = getattr(state, "token_signing_key", None)
    if key is None:
        key = token_signing_key(state.settings)
        state.token_signing_key = key
    return key


async def authenticate(db: Database, state: Any, authorization: str | None) -> uuid.UUID:
    """The caller's organization, or `ApiError` 401."""
    token = bearer_token(authorization)
    if tokens.looks_like_jwt(token):
        return await _organization_of_jwt(db, state, token)
    organization_id = _known_tokens.get(token)
    if organization_id is None:
        async with db.transaction() as session:
            organization_id = await organization_for_token(session, token)
        if organization_id is None:
            raise ApiError(401, "Invalid token")
        _known_tokens[token] = organization_id
    return organization_id


async def _organization_of_jwt(db: Database, state: Any, token: str) -> uuid.UUID:
    try:
        access = tokens.read(token, key=signing_key(state))
    except tokens.TokenRefused as refused:
        raise ApiError(401, refused.message) from None
    if access.client_id in _client_standing:
        standing = _client_standing[access.client_id]
    else:
        async with db.transaction() as session:
            standing = await client_standing(session, access.client_id)
        _client_standing[access.client_id] = standing
    if standing is None or not standing.active:
        raise ApiError(401, "Revoked token")
    if standing.organization_id != access.organization_id:
        raise ApiError(401, "Invalid token")
    return access.organization_id


def forget_client(client_id: str) -> None:
    """Drop the client's cached standing (it was just revoked here)."""
    _client_standing.pop(client_id, None)


def require_admin(settings: Settings, authorization: str | None) -> None:
    """Pass only the admin token; 403 when no admin token is configured."""
    if settings.admin_token is None:
        raise ApiError(403, "The admin API is off: set CARRIERLINK_ADMIN_TOKEN to turn it on")
    token = bearer_token(authorization)
    expected = settings.admin_token.get_secret_value()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "Invalid admin token")
