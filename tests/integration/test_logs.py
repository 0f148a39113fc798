"""Logs an operator can follow: a request id links an error body to its log line, every request
has an access line (route template, no query string), lines are JSON, and no person is in them."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from runtime.logs import JsonFormatter
from runtime.settings import Settings
from store.db import Database
from tests.integration.test_member_snapshots import (
    PII,
    both_carriers,
    settled,
    submitted,
    with_spouse,
)
from tools.sample_snapshots import unique_id

pytestmark = pytest.mark.integration


def json_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The captured records as the processes write them off a terminal."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records]


async def test_an_unexpected_error_answers_json_with_the_request_id_of_its_log_line(
    settings: Settings, database: Database, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(settings, database=database, temporal_client=client)

    @app.get("/test-only/boom")
    async def boom() -> None:
        raise RuntimeError("a bug, not a refusal")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/test-only/boom")
        echoed = await http.get("/test-only/boom", headers={"X-Request-ID": "support-case-42"})
        insane = await http.get("/test-only/boom", headers={"X-Request-ID": "a b\tc"})

    assert response.status_code == 500
    body = response.json()
    assert body["status"] == 500
    assert body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    lines = json_lines(caplog)
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert any(
        line["request_id"] == body["request_id"] and "RuntimeError" in line["exception"]
        for line in errors
    ), errors
    access = [line for line in lines if line["logger"] == "carrierlink.access"]
    assert any(
        line["request_id"] == body["request_id"] and line["status"] == 500 for line in access
    )
    # A caller's own id is kept when it is a plain token, replaced when it is not.
    assert echoed.json()["request_id"] == "support-case-42"
    assert insane.json()["request_id"] != "a b\tc"


async def test_access_lines_name_the_route_and_refusals_carry_the_request_id(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    missing = "00000000-0000-0000-0000-000000000000"
    refused = await api.get(f"/api/v1/groups/{missing}", params={"company": "Zebulon"})
    assert refused.status_code == 404
    request_id = refused.json()["request_id"]
    assert request_id == refused.headers["X-Request-ID"]

    lines = [line for line in json_lines(caplog) if line.get("request_id") == request_id]
    access = [line for line in lines if line["logger"] == "carrierlink.access"]
    assert len(access) == 1, lines
    assert access[0]["method"] == "GET"
    assert access[0]["route"] == "/api/v1/groups/{group_id}"
    assert access[0]["status"] == 404
    assert access[0]["duration_ms"] >= 0
    assert "Zebulon" not in json.dumps(lines)


async def test_no_person_in_the_json_logs_of_a_snapshot(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    group_id, choices = await both_carriers(api)
    snapshot = await submitted(api, group_id, with_spouse(unique_id(), choices))
    await settled(api, snapshot["id"])

    lines = json_lines(caplog)
    posted = [
        line
        for line in lines
        if line.get("route") == "/api/v1/groups/{group_id}/member_snapshots"
        and line.get("method") == "POST"
    ]
    assert [line["status"] for line in posted] == [201]
    text = "\n".join(json.dumps(line) for line in lines)
    assert [value for value in PII if value in text] == []
