"""Reviews of `noyo_review` by API and CLI, through the run's update: refusals are loud."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.harness import AppServer, eventually
from tests.integration.test_connections import (
    PRINCIPAL,
    new_connection,
    principal_id,
    reaches,
)
from tests.integration.test_reviews_cli import Cli as DisconnectionsCli
from tools.connections_cli import main
from workflows.connection import workflow_id

pytestmark = pytest.mark.integration

API = "/api/v1/group_connections"


class Cli(DisconnectionsCli):
    """`carrierlink-connections` run as an operator would, in a thread."""

    async def __call__(self, *args: str, token: str | None = None) -> tuple[int, str, str]:
        argv = self._global + (["--token", token] if token else []) + list(args)
        code = await asyncio.to_thread(main, argv)
        out, err = self._capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(api_server: AppServer, org_token: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(api_server.url, org_token, capsys)


async def in_review(api: httpx.AsyncClient) -> dict[str, Any]:
    created = (await api.post(API, json=new_connection(PRINCIPAL, principal_id("1989")))).json()
    await reaches(api, created["id"], "noyo_review")
    return dict(created)


async def test_an_approval_by_api_pulls_the_account_and_keeps_the_note(
    api: httpx.AsyncClient,
) -> None:
    created = await in_review(api)
    response = await api.put(
        f"{API}/{created['id']}/review", json={"decision": "approve", "note": "EIN checked"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] != "noyo_review"
    await reaches(api, created["id"], "completed")
    record = (await api.get(f"{API}/{created['id']}")).json()
    assert record["setup_result"]["review"] == {"decision": "approve", "note": "EIN checked"}
    assert "audit_id" in record["setup_result"]


async def test_a_rejection_by_api_ends_unable_to_connect_with_the_note(
    api: httpx.AsyncClient,
) -> None:
    created = await in_review(api)
    response = await api.put(
        f"{API}/{created['id']}/review", json={"decision": "reject", "note": "wrong employer"}
    )
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["status"] == "unable_to_connect"
    assert record["setup_result"]["reason"] == "wrong employer"
    assert record["setup_result"]["review"]["decision"] == "reject"


async def test_a_bad_decision_is_422_and_a_wrong_status_409(api: httpx.AsyncClient) -> None:
    created = await in_review(api)
    path = f"{API}/{created['id']}/review"
    for body in (
        {"decision": "approved"},
        {"note": "no decision"},
        {"decision": "approve", "x": 1},
    ):
        response = await api.put(path, json=body)
        assert response.status_code == 422, response.text
    assert (
        await api.put(path, json={"decision": "approve", "note": "x" * 4001})
    ).status_code == 422
    # Nothing was decided: still waiting for a word.
    assert (await api.get(f"{API}/{created['id']}")).json()["status"] == "noyo_review"

    assert (await api.put(path, json={"decision": "reject"})).status_code == 200
    again = await api.put(path, json={"decision": "approve"})
    assert again.status_code == 409, again.text
    assert again.json()["current_status"] == "unable_to_connect"
    assert "noyo_review" in again.json()["message"]

    missing = await api.put(f"{API}/00000000-0000-4000-8000-000000000000/review", json=body)
    assert missing.status_code in (404, 422)


async def test_an_invalid_ui_signal_is_visible_on_the_run(
    api: httpx.AsyncClient, client: Any
) -> None:
    created = await in_review(api)
    handle = client.get_workflow_handle(
        workflow_id(
            UUID(created["organization_id"]),
            UUID(PRINCIPAL),
            created["group_data"]["carrier_group_id"],
        )
    )
    # What the Temporal UI sends for a typo: accepted by the server, refused by the run.
    await handle.signal("resolve_review", {"decision": "approved"})

    async def refused() -> Any:
        live = (await api.get(f"{API}/{created['id']}/live")).json()
        return live if live.get("refused_review") else None

    live = await eventually(refused)
    assert "decision" in live["refused_review"]
    assert live["status"] == "noyo_review"
    # A valid decision still works after it, and clears the refusal.
    await handle.signal("resolve_review", {"decision": "approve"})
    await reaches(api, created["id"], "completed")


async def test_an_operator_reviews_from_the_cli(api: httpx.AsyncClient, cli: Cli) -> None:
    approved = await in_review(api)
    rejected = await in_review(api)

    code, out, err = await cli("list", "--status", "noyo_review")
    assert (code, err) == (0, "")
    assert approved["id"] in out
    assert rejected["id"] in out
    assert "Principal" in out

    code, out, err = await cli("review", approved["id"], "approve", "--note", "checked")
    assert (code, err) == (0, "")
    assert out.startswith(f"approved: {approved['id']} is ")
    await reaches(api, approved["id"], "completed")

    code, out, err = await cli("review", rejected["id"], "reject", "--note", "wrong employer")
    assert (code, err) == (0, "")
    assert f"rejected: {rejected['id']} is unable_to_connect" in out
    assert '"note": "wrong employer"' in out

    # Refusals are loud: a decided connection answers 409 (exit 1), a typo is a usage error.
    code, out, err = await cli("review", rejected["id"], "approve")
    assert code == 1
    assert out == ""
    assert "409" in err
    assert "current_status: unable_to_connect" in err
    with pytest.raises(SystemExit) as usage:
        main(["--api-url", "http://127.0.0.1:9", "review", approved["id"], "approved"])
    assert usage.value.code == 2

    code, out, _ = await cli("show", approved["id"])
    assert code == 0
    assert "completed" in out
