"""API clients and their tokens, Idempotency-Key on POSTs, and sorting of the lists made sortable.

Its own API server (no Temporal worker needed): tokens live two seconds here, and the admin API
is on.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update

from api.app import create_app
from api.idempotency import request_fingerprint
from runtime.settings import Settings
from store import idempotency
from store.db import Database
from store.models import Group
from store.tenancy import ensure_organization, organization_for_token
from tests.harness import AppServer, eventually
from tools.admin import create_client as cli_create_client
from tools.admin import revoke_client as cli_revoke_client

pytestmark = pytest.mark.integration

ADMIN_TOKEN = "admin-secret-for-tests"
LIFETIME_SECONDS = 2


@pytest.fixture(scope="module")
async def clients_server(settings: Settings, database: Database) -> AsyncIterator[AppServer]:
    app_settings = settings.model_copy(
        update={
            "token_lifetime_seconds": LIFETIME_SECONDS,
            "token_signing_key": SecretStr(uuid.uuid4().hex * 2),
            "admin_token": SecretStr(ADMIN_TOKEN),
        }
    )
    async with AppServer(create_app(app_settings, database=database)) as server:
        yield server


@pytest.fixture
async def http(clients_server: AppServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=clients_server.url, timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


ADMIN = bearer(ADMIN_TOKEN)
GRANT = {"grant_type": "client_credentials"}


async def new_client(http: httpx.AsyncClient, organization: str) -> dict[str, Any]:
    response = await http.post(
        f"/admin/organizations/{organization}/clients", json={"label": "ci"}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return response.json()


async def token_for(http: httpx.AsyncClient, client: dict[str, Any]) -> str:
    response = await http.post(
        "/auth/public/token",
        json=GRANT,
        headers=basic(client["client_id"], client["client_secret"]),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == LIFETIME_SECONDS
    return str(body["access_token"])


def organization() -> str:
    return f"org-{uuid.uuid4().hex[:10]}"


async def test_a_client_token_is_issued_used_and_expires(http: httpx.AsyncClient) -> None:
    client = await new_client(http, organization())
    assert client["client_id"].startswith("clc_")
    assert client["client_secret"].startswith("cls_")
    token = await token_for(http, client)
    created = await http.post("/api/v1/groups", json={"name": "Acme"}, headers=bearer(token))
    assert created.status_code == 201, created.text
    group_url = f"/api/v1/groups/{created.json()['id']}"
    assert (await http.get(group_url, headers=bearer(token))).status_code == 200
    await asyncio.sleep(LIFETIME_SECONDS + 0.5)
    expired = await http.get(group_url, headers=bearer(token))
    assert expired.status_code == 401
    assert expired.json() == {
        "message": "Expired token",
        "status": 401,
        "request_id": expired.headers["X-Request-ID"],
    }
    # A new token works again.
    fresh = await token_for(http, client)
    assert (await http.get(group_url, headers=bearer(fresh))).status_code == 200


async def test_wrong_or_missing_credentials_answer_401(http: httpx.AsyncClient) -> None:
    client = await new_client(http, organization())
    for headers in (
        basic(client["client_id"], client["client_secret"] + "x"),
        basic("clc_unknown", client["client_secret"]),
        {},
        bearer("not-basic"),
    ):
        refused = await http.post("/auth/public/token", json=GRANT, headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.json()["status"] == 401
    wrong_grant = await http.post(
        "/auth/public/token",
        json={"grant_type": "password"},
        headers=basic(client["client_id"], client["client_secret"]),
    )
    assert wrong_grant.status_code == 422
    assert wrong_grant.json()["errors"][0]["field"] == "grant_type"
    assert (await http.get("/api/v1/groups", headers=bearer("eyJa.b.c"))).status_code == 401


async def test_another_organizations_token_finds_nothing_of_this_one(
    http: httpx.AsyncClient,
) -> None:
    mine = await token_for(http, await new_client(http, organization()))
    theirs = await token_for(http, await new_client(http, organization()))
    created = await http.post("/api/v1/groups", json={"name": "Mine"}, headers=bearer(mine))
    group_url = f"/api/v1/groups/{created.json()['id']}"
    hidden = await http.get(group_url, headers=bearer(theirs))
    assert hidden.status_code == 404
    listed = await http.get("/api/v1/groups", headers=bearer(theirs))
    assert listed.json()["meta"]["total_records"] == 0


async def test_revoking_a_client_ends_its_tokens(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    name = organization()
    client = await new_client(http, name)
    token = await token_for(http, client)
    assert (await http.get("/api/v1/groups", headers=bearer(token))).status_code == 200
    revoked = await http.post(f"/admin/clients/{client['client_id']}/revoke", headers=ADMIN)
    assert revoked.status_code == 200
    assert revoked.json()["revoked"] is not None
    refused = await http.get("/api/v1/groups", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["message"] == "Revoked token"
    again = await http.post(
        "/auth/public/token",
        json=GRANT,
        headers=basic(client["client_id"], client["client_secret"]),
    )
    assert again.status_code == 401
    listed = await http.get(f"/admin/organizations/{name}/clients", headers=ADMIN)
    assert [(c["client_id"], c["revoked"] is not None) for c in listed.json()] == [
        (client["client_id"], True)
    ]
    assert "client_secret" not in listed.json()[0]

    # The CLI's way (another process): the API notices within its check interval.
    printed = await cli_create_client(settings, name, "cli")
    client_id, secret = (line.split()[1] for line in printed.splitlines()[:2])
    cli_token = await token_for(http, {"client_id": client_id, "client_secret": secret})
    assert (await http.get("/api/v1/groups", headers=bearer(cli_token))).status_code == 200
    await cli_revoke_client(settings, client_id)

    async def refused_now() -> bool:
        response = await http.get("/api/v1/groups", headers=bearer(cli_token))
        return response.status_code == 401

    await eventually(refused_now, within=15, interval=0.5)


async def test_the_admin_api_needs_the_admin_token(http: httpx.AsyncClient) -> None:
    url = f"/admin/organizations/{organization()}/clients"
    assert (await http.post(url, json={})).status_code == 401
    assert (await http.post(url, json={}, headers=bearer("dev-token"))).status_code == 401
    assert (await http.get("/admin/organizations/nobody-here/clients", headers=ADMIN)).json()[
        "status"
    ] == 404


async def test_static_tokens_keep_working(http: httpx.AsyncClient, org_token: str) -> None:
    assert (await http.get("/api/v1/groups", headers=bearer(org_token))).status_code == 200


# Idempotency-Key.


async def test_a_repeated_post_answers_the_first_answer_and_acts_once(
    http: httpx.AsyncClient, org_token: str
) -> None:
    headers = {**bearer(org_token), "Idempotency-Key": "create-acme-1"}
    first = await http.post("/api/v1/groups", json={"name": "Acme"}, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    repeat = await http.post("/api/v1/groups", json={"name": "Acme"}, headers=headers)
    assert (repeat.status_code, repeat.json()) == (201, first.json())
    assert repeat.headers["idempotent-replayed"] == "true"
    listed = await http.get("/api/v1/groups", headers=bearer(org_token))
    assert listed.json()["meta"]["total_records"] == 1

    other = await http.post("/api/v1/groups", json={"name": "Other"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    # Without the header, or with another key, each POST acts.
    await http.post("/api/v1/groups", json={"name": "Acme"}, headers=bearer(org_token))
    await http.post(
        "/api/v1/groups",
        json={"name": "Acme"},
        headers={**bearer(org_token), "Idempotency-Key": "create-acme-2"},
    )
    listed = await http.get("/api/v1/groups", headers=bearer(org_token))
    assert listed.json()["meta"]["total_records"] == 3


async def test_keys_are_per_organization_and_failures_free_the_key(
    http: httpx.AsyncClient, org_token: str, database: Database
) -> None:
    async with database.transaction() as session:
        _, other_token = await ensure_organization(session, organization())
    assert other_token
    key = {"Idempotency-Key": "shared-key"}
    mine = await http.post(
        "/api/v1/groups", json={"name": "A"}, headers={**bearer(org_token), **key}
    )
    theirs = await http.post(
        "/api/v1/groups", json={"name": "A"}, headers={**bearer(other_token), **key}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]

    retry = {**bearer(org_token), "Idempotency-Key": "fails-first"}
    invalid = await http.post("/api/v1/groups", json={"name": ""}, headers=retry)
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "name"
    fixed = await http.post("/api/v1/groups", json={"name": "Fixed"}, headers=retry)
    assert fixed.status_code == 201, fixed.text


async def test_a_repeat_while_the_first_is_in_flight_answers_409(
    http: httpx.AsyncClient, org_token: str, database: Database, settings: Settings
) -> None:
    body = b'{"name":"Slow"}'
    async with database.transaction() as session:
        organization_id = await organization_for_token(session, org_token)
        assert organization_id is not None
        # The first request has claimed the key and not answered yet.
        fingerprint = request_fingerprint("POST", "/api/v1/groups", b"", body)
        claimed = await idempotency.claim(
            session, organization_id, "in-flight", fingerprint, ttl=settings.idempotency_key_ttl
        )
        assert claimed is None
    repeat = await http.post(
        "/api/v1/groups",
        content=body,
        headers={
            **bearer(org_token),
            "Idempotency-Key": "in-flight",
            "Content-Type": "application/json",
        },
    )
    assert repeat.status_code == 409
    assert "in flight" in repeat.json()["message"]


async def test_an_idempotent_post_with_a_client_token(http: httpx.AsyncClient) -> None:
    token = await token_for(http, await new_client(http, organization()))
    headers = {**bearer(token), "Idempotency-Key": "jwt-key"}
    first = await http.post("/api/v1/groups", json={"name": "J"}, headers=headers)
    repeat = await http.post("/api/v1/groups", json={"name": "J"}, headers=headers)
    assert first.status_code == repeat.status_code == 201
    assert repeat.json()["id"] == first.json()["id"]


# Sorting on the lists that lacked it.


async def test_groups_and_group_data_lists_are_newest_first_and_sortable(
    http: httpx.AsyncClient, org_token: str, database: Database
) -> None:
    auth = bearer(org_token)
    ids = []
    for name in ("first", "second", "third"):
        response = await http.post("/api/v1/groups", json={"name": name}, headers=auth)
        ids.append(response.json()["id"])
    async with database.transaction() as session:
        for age, group_id in enumerate(reversed(ids)):
            await session.execute(
                update(Group).where(Group.id == uuid.UUID(group_id)).values(created=1_000 - age)
            )

    async def names(**params: str) -> list[str]:
        response = await http.get("/api/v1/groups", params=params, headers=auth)
        assert response.status_code == 200, response.text
        return [group["name"] for group in response.json()["response"]]

    assert await names() == ["third", "second", "first"]
    assert await names(sort_direction="asc") == ["first", "second", "third"]
    assert await names(sort_by="created", sort_direction="desc", page_size="1") == ["third"]
    bad = await http.get("/api/v1/groups", params={"sort_by": "name"}, headers=auth)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "sort_by"

    group = ids[0]
    for path in ("contacts", "locations", "group_enrollments", "plans", "carrier_configurations"):
        url = f"/api/v1/groups/{group}/{path}"
        sorted_ok = await http.get(
            url, params={"sort_by": "modified", "sort_direction": "asc"}, headers=auth
        )
        assert sorted_ok.status_code == 200, (path, sorted_ok.text)
        refused = await http.get(url, params={"sort_direction": "up"}, headers=auth)
        assert refused.status_code == 422, path


async def test_contacts_come_newest_first(http: httpx.AsyncClient, org_token: str) -> None:
    auth = bearer(org_token)
    group = (await http.post("/api/v1/groups", json={"name": "G"}, headers=auth)).json()["id"]
    url = f"/api/v1/groups/{group}/contacts"
    contact_ids = []
    for index in range(2):
        contact = {
            "first_name": "Ana",
            "last_name": f"Chen{index}",
            "email": f"ana{index}@acme.example",
            "types": ["company"],
        }
        response = await http.post(url, json=contact, headers=auth)
        assert response.status_code == 201, response.text
        contact_ids.append(response.json()["id"])
        await asyncio.sleep(1.1)  # `created` is in whole seconds
    newest_first = await http.get(url, headers=auth)
    assert [c["id"] for c in newest_first.json()["response"]] == contact_ids[::-1]
    oldest_first = await http.get(url, params={"sort_direction": "asc"}, headers=auth)
    assert [c["id"] for c in oldest_first.json()["response"]] == contact_ids


async def test_member_transactions_take_sort_by_and_sort_direction(
    http: httpx.AsyncClient, org_token: str
) -> None:
    auth = bearer(org_token)
    url = "/api/v1/member_transactions"
    response = await http.get(
        url, params={"sort_by": "modified", "sort_direction": "asc"}, headers=auth
    )
    assert response.status_code == 200, response.text
    refused = await http.get(url, params={"sort_by": "status"}, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "sort_by"
