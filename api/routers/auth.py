"""`POST /auth/public/token`: an API client's credentials (HTTP Basic) for a short-lived JWT."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict

from api import tokens
from api.auth import signing_key
from api.deps import DB, AppSettings
from api.errors import ApiError
from api.openapi import ERROR_RESPONSES
from api.responses import ErrorBody, TokenResponse
from store.clients import verify_secret

# Not under /api/v1 (no bearer token here), so its own errors, in the same bodies.
router = APIRouter(
    tags=["auth"],
    responses={
        400: {"model": ErrorBody, "description": "A body that is not valid JSON"},
        401: {"model": ErrorBody, "description": "Missing, malformed or wrong client credentials"},
        422: ERROR_RESPONSES[422],
    },
)


class TokenRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"grant_type": "client_credentials"}]}
    )

    grant_type: Literal["client_credentials"]


@router.post("/auth/public/token", response_model=TokenResponse)
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
