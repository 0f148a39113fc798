"""`carrierlink-disconnections` against the real API: list, show, confirm and reject."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.harness import AppServer
from tests.integration.test_connections import PRINCIPAL, UNUM
from tests.integration.test_disconnections_api import carrier_raised_request
from tools.disconnections_cli import main

pytestmark = pytest.mark.integration

API = "/api/v1/group_disconnection_requests"


class Cli:
    """Runs `main` as an operator would, in a thread (the API serves on this event loop)."""

    def __init__(self, url: str, token: str, capsys: pytest.CaptureFixture[str]) -> None:
        self._global = ["--api-url", url, "--token", token]
        self._capsys = capsys

    async def __call__(self, *args: str, token: str | None = None) -> tuple[int, str, str]:
        argv = self._global + (["--token", token] if token else []) + list(args)
        code = await asyncio.to_thread(main, argv)
        out, err = self._capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(api_server: AppServer, org_token: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(api_server.url, org_token, capsys)


async def test_an_operator_lists_shows_confirms_and_rejects_a_request(
    api: httpx.AsyncClient, cli: Cli
) -> None:
    request = await carrier_raised_request(api)
    request_id = request["id"]
    assert request["status"] == "needs_review"
    assert request["source_type"] == "carrier"

    code, out, err = await cli("list", "--status", "needs_review")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "GROUP", "CARRIER", "END", "DATE", "SOURCE"]
    row = next(line for line in lines if line.startswith(request_id))
    for cell in (
        "needs_review",
        "Acme Corp",
        "Principal",
        request["effective_end_date"],
        "carrier",
    ):
        assert cell in row
    assert "1 request(s)" in out
    code, out, _ = await cli("list", "--status", "completed")
    assert (code, out.strip()) == (0, "no disconnection requests")
    code, out, _ = await cli("list", "--carrier-id", UNUM)
    assert request_id not in out
    code, out, _ = await cli("list", "--group-id", request["group_id"], "--carrier-id", PRINCIPAL)
    assert request_id in out

    code, out, _ = await cli("show", request_id)
    assert code == 0
    shown = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    assert shown["id"] == request_id
    assert shown["status"] == "needs_review"
    assert shown["source_type"] == "carrier"
    assert shown["carrier_id"] == f"{PRINCIPAL} (Principal)"
    assert shown["status_reason"] == "-"

    code, out, err = await cli("confirm", request_id)
    assert (code, err) == (0, "")
    assert f"confirmed: {request_id} is processing" in out
    assert (await api.get(f"{API}/{request_id}")).json()["status"] == "processing"

    code, out, err = await cli(
        "reject", request_id, "--reason", "connection_restored", "--context", "renewed after all"
    )
    assert (code, err) == (0, "")
    assert f"rejected: {request_id} is rejected" in out
    record = (await api.get(f"{API}/{request_id}")).json()
    assert (record["status"], record["reason"], record["context"]) == (
        "rejected",
        "connection_restored",
        "renewed after all",
    )
    assert record["decided"] is not None

    # Refusals print the API's message and exit 1.
    code, out, err = await cli("reject", request_id, "--reason", "other")
    assert code == 1
    assert out == ""
    assert "409" in err
    assert "already rejected" in err
    assert "current_status: rejected" in err


async def test_errors_exit_1_and_usage_errors_exit_2(
    api: httpx.AsyncClient, cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await cli("show", "00000000-0000-4000-8000-000000000000")
    assert code == 1
    assert "404: group disconnection request not found" in err
    code, _, err = await cli("list", token="not-a-token")
    assert code == 1
    assert "401: Invalid token" in err
    code, _, err = await cli("confirm", "not-a-uuid")
    assert code == 1
    assert "422" in err
    code, _, err = await cli("list", "--status", "needs_review")  # empty, but fine
    assert code == 0

    for argv in (["reject", "some-id"], ["confirm", "x", "--effective-end-date", "31/12/2026"]):
        with pytest.raises(SystemExit) as usage:
            main(["--api-url", "http://127.0.0.1:9", *argv])
        assert usage.value.code == 2
    assert "--reason" in capsys.readouterr().err

    unreachable = main(["--api-url", "http://127.0.0.1:9", "--token", "t", "list"])
    assert unreachable == 1
    assert "cannot reach the API" in capsys.readouterr().err
