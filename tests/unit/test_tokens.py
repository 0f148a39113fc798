"""Client-credentials tokens: JWT issue/read, Basic credentials, the signing key, the admin."""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from api import tokens
from api.auth import require_admin
from api.errors import ApiError
from runtime.settings import Settings
from runtime.signing import token_signing_key
from tools.admin import dev_database_url, with_database

KEY = "k" * 48
ORG = uuid.UUID("6f9619ff-8b86-d011-b42d-00cf4fc964ff")


def settings(**fields: object) -> Settings:
    return Settings(_env_file=None, **fields)  # type: ignore[arg-type]


def test_a_token_names_its_client_and_organization() -> None:
    token = tokens.issue("clc_1", ORG, key=KEY, lifetime_seconds=600, now=1_000)
    assert tokens.looks_like_jwt(token)
    assert tokens.read(token, key=KEY, now=1_599) == tokens.AccessToken("clc_1", ORG)


def test_a_token_expires_after_its_lifetime_in_seconds() -> None:
    token = tokens.issue("clc_1", ORG, key=KEY, lifetime_seconds=600, now=1_000)
    with pytest.raises(tokens.TokenRefused, match="Expired token"):
        tokens.read(token, key=KEY, now=1_600)
    with pytest.raises(tokens.TokenRefused, match="Expired token"):
        tokens.read(tokens.issue("clc_1", ORG, key=KEY, lifetime_seconds=1, now=1_000), key=KEY)


def test_a_token_signed_with_another_key_or_altered_is_refused() -> None:
    token = tokens.issue("clc_1", ORG, key=KEY, lifetime_seconds=600)
    with pytest.raises(tokens.TokenRefused, match="Invalid token"):
        tokens.read(token, key="x" * 48)
    header, payload, signature = token.split(".")
    with pytest.raises(tokens.TokenRefused):
        tokens.read(f"{header}.{payload}x.{signature}", key=KEY)
    with pytest.raises(tokens.TokenRefused, match="Malformed JWT"):
        tokens.read("eyJ.not.ajwt", key=KEY)


def test_static_tokens_are_not_taken_for_jwts() -> None:
    assert not tokens.looks_like_jwt("dev-token")
    assert not tokens.looks_like_jwt("cl_abc.def")


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_basic_credentials_are_parsed_or_refused() -> None:
    assert tokens.basic_credentials(basic("clc_1:se:cret")) == ("clc_1", "se:cret")
    for header in (None, "", "Bearer x", "Basic", "Basic !!!", basic("no-colon"), basic(":s")):
        with pytest.raises(tokens.TokenRefused):
            tokens.basic_credentials(header)


def test_the_signing_key_is_the_setting_or_one_generated_once(tmp_path: Path) -> None:
    assert token_signing_key(settings(token_signing_key=SecretStr(KEY))) == KEY
    generated = token_signing_key(settings(data_dir=tmp_path))
    assert len(generated) >= 32
    assert token_signing_key(settings(data_dir=tmp_path)) == generated
    assert (tmp_path / "token-signing.key").stat().st_mode & 0o777 == 0o600
    assert token_signing_key(settings(data_dir=tmp_path / "other")) != generated


def test_the_admin_api_needs_the_admin_token() -> None:
    with pytest.raises(ApiError) as off:
        require_admin(settings(), "Bearer anything")
    assert off.value.status == 403
    on = settings(admin_token=SecretStr("admin-secret"))
    require_admin(on, "Bearer admin-secret")
    for header in (None, "Bearer wrong", "Basic admin-secret"):
        with pytest.raises(ApiError) as refused:
            require_admin(on, header)
        assert refused.value.status == 401


def test_the_admin_cli_finds_a_running_dev_database(tmp_path: Path) -> None:
    assert dev_database_url(tmp_path) is None
    pgdata = tmp_path / "postgres"
    pgdata.mkdir()
    lines = [str(os.getpid()), str(pgdata), "1796535083", "5432", "/tmp/sock dir", "", ""]
    (pgdata / "postmaster.pid").write_text("\n".join(lines))
    url = dev_database_url(tmp_path)
    assert url == "postgresql+asyncpg://postgres@/postgres?host=/tmp/sock%20dir"
    assert with_database(settings(data_dir=tmp_path)).database_url == url
    given = settings(data_dir=tmp_path, database_url="postgresql+asyncpg://h/db")
    assert with_database(given).database_url == "postgresql+asyncpg://h/db"


def test_the_admin_cli_without_a_database_stops_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        with_database(settings(data_dir=tmp_path))
    message = str(stopped.value.code)
    assert "DATABASE_URL is not set" in message
    assert "\n" not in message
