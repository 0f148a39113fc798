"""Access tokens of API clients: signed JWTs (HS256) naming the client and its organization.

Pure: issue and read a token, and parse `Authorization: Basic`; no I/O. Whether the client still
stands (not revoked) is checked by `api.auth` on every use.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "carrierlink"


class TokenRefused(Exception):
    """A token or credentials that do not authenticate; the message is the 401's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AccessToken:
    """What a valid token says: the client and its organization."""

    client_id: str
    organization_id: uuid.UUID


def issue(
    client_id: str,
    organization_id: uuid.UUID,
    *,
    key: str,
    lifetime_seconds: int,
    now: float | None = None,
) -> str:
    """A token for the client, valid `lifetime_seconds` from `now`."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": ISSUER,
        "sub": client_id,
        "org": str(organization_id),
        "iat": issued,
        "exp": issued + lifetime_seconds,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts starting with a JSON header: a static token never does."""
    return token.startswith("eyJ") and token.count(".") == 2


def read(token: str, *, key: str, now: float | None = None) -> AccessToken:
    """The token's client and organization, or `TokenRefused` (expired, not ours, malformed)."""
    # A pinned clock (tests): the expiry is checked below against it, not PyJWT's real one.
    pinned = now is not None
    options: Any = {
        "require": ["exp", "iat", "sub", "iss"],
        "verify_exp": not pinned,
        "verify_iat": not pinned,
    }
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER, options=options)
    except jwt.ExpiredSignatureError:
        raise TokenRefused("Expired token") from None
    except jwt.InvalidSignatureError:
        raise TokenRefused("Invalid token") from None
    except jwt.InvalidTokenError:
        raise TokenRefused("Malformed JWT") from None
    if now is not None and claims["exp"] <= now:
        raise TokenRefused("Expired token")
    try:
        return AccessToken(client_id=str(claims["sub"]), organization_id=uuid.UUID(claims["org"]))
    except (KeyError, ValueError, TypeError):
        raise TokenRefused("Malformed JWT") from None


def basic_credentials(authorization: str | None) -> tuple[str, str]:
    """`(client_id, secret)` from `Authorization: Basic base64(client_id:secret)`."""
    if not authorization:
        raise TokenRefused("Missing credentials")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise TokenRefused(
            "Malformed credentials: expected 'Authorization: Basic base64(client_id:secret)'"
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TokenRefused("Malformed credentials: not base64(client_id:secret)") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        raise TokenRefused("Malformed credentials: not base64(client_id:secret)")
    return client_id, secret
