"""`POST /auth/public/token`: an API client's credentials (HTTP Basic) for a short-lived JWT."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from api import tokens
from api.auth import signing_key
from api.deps import DB, AppSettings
from api.errors import ApiError
from store.clients import verify_secret

router = APIRouter(tags=["auth"])


class TokenRequest(BaseModel):
    grant_type: Literal["client_credentials"]


class TokenResponse(BaseModel):
    access_token: str
    # Seconds (the contract leaves the unit open; see README).
    expires_in: int
    token_type: Literal["Bearer"] = "Bearer"


@router.post("/auth/public/token")
async def issue_token(
    body: TokenRequest,
    request: Request,
    db: DB,
    settings: AppSettings,
    authorization: Annotated[str | None, Header()] = None,
) -> TokenResponse:
    """Client credentials: `Authorization: Basic base64(client_id:secret)`; the token is sent as
    `Authorization: Bearer <access_token>` until it expires (`expires_in` seconds)."""
    try:
        client_id, secret = tokens.basic_credentials(authorization)
    except tokens.TokenRefused as refused:
        raise ApiError(401, refused.message) from None
    async with db.transaction() as session:
        organization_id = await verify_secret(session, client_id, secret)
    if organization_id is None:
        raise ApiError(401, "Invalid client credentials")
    access_token = tokens.issue(
        client_id,
        organization_id,
        key=signing_key(request.app.state),
        lifetime_seconds=settings.token_lifetime_seconds,
    )
    return TokenResponse(access_token=access_token, expires_in=settings.token_lifetime_seconds)
