"""The Temporal UI as an operator sees it: a disconnection waiting for review names its group.

Opens the dev server's Web UI in headless Chromium (Debian's `chromium`; `.ci/run` installs it),
driven over the DevTools protocol (`tests.browser`).
With `CARRIERLINK_SCREENSHOTS=docs/img` set, it also takes the README's screenshots.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from temporalio.client import Client

from tests.browser import CHROMIUM, browser_page
from tests.harness import eventually
from tests.integration.test_connections import PRINCIPAL, new_connection, principal_id, reaches
from tests.integration.test_disconnections_api import API

pytestmark = pytest.mark.integration

# Resolved at import: where the screenshots go (relative to where pytest runs), if anywhere.
SHOTS = os.environ.get("CARRIERLINK_SCREENSHOTS")
SHOTS_DIR = Path(SHOTS).resolve() if SHOTS else None


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs Debian's)")
async def test_a_disconnection_in_needs_review_names_its_group_in_the_temporal_ui(
    api: httpx.AsyncClient, client: Client, temporal_ui_port: int
) -> None:
    group_name = f"Quokka Logistics {uuid.uuid4().hex[:6]}"
    created = await api.post(
        "/api/v1/group_connections",
        json=new_connection(PRINCIPAL, principal_id("1999"), group_name=group_name),
    )
    assert created.status_code == 201, created.text
    await reaches(api, created.json()["id"], "completed")
    group_id = created.json()["group_id"]

    async def raised() -> dict[str, str] | None:
        listed = (await api.get(API, params={"group_id": group_id})).json()["response"]
        return listed[0] if listed and listed[0]["status"] == "needs_review" else None

    request = await eventually(raised, within=15)
    workflow_id = f"group-disconnection/{request['id']}"
    handle = client.get_workflow_handle(workflow_id)
    described = await handle.describe()
    summary = await described.static_summary()
    assert summary is not None
    assert group_name in summary
    assert "Principal" in summary

    async def details_shown() -> str | None:
        # What the UI reads for "Current details": the SDK's built-in metadata query.
        metadata = await handle.query("__temporal_workflow_metadata")
        details = str(getattr(metadata, "current_details", ""))
        return details if "Waits for a person's decision" in details else None

    assert "needs_review" in await eventually(details_shown, within=10)

    ui = f"http://127.0.0.1:{temporal_ui_port}/namespaces/default"
    run_page = f"{ui}/workflows/{quote(workflow_id, safe='')}/{described.run_id}"
    async with browser_page(height=1400) as page:
        # The run's page: its summary, shown with the start of its history.
        await page.open(f"{run_page}/history")
        await page.wait_for_text(group_name)
        if SHOTS_DIR is not None:
            await asyncio.to_thread(SHOTS_DIR.mkdir, parents=True, exist_ok=True)
            # Summary and current details are rendered as Markdown in frames: give them time.
            await page.open(f"{run_page}/user-metadata")
            await page.wait_for_text("Current Details")
            await asyncio.sleep(3)
            await page.screenshot(SHOTS_DIR / "disconnection-user-metadata.png")
            query = quote("DisconnectionStatus='needs_review'", safe="")
            await page.open(f"{ui}/workflows?query={query}")
            await page.wait_for_text(workflow_id)
            await page.screenshot(SHOTS_DIR / "workflows-needs-review.png")
