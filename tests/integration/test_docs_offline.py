"""/docs and /redoc work with no internet: assets come from the install, checked in a browser.

Debian's headless chromium loads each page with every host but 127.0.0.1 unresolvable and a
dead proxy, runs its JavaScript, and the rendered DOM must list the API's operations.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator

import pytest

from api.app import create_app
from runtime.settings import Settings
from tests.harness import AppServer

# Paths both pages must show once their JavaScript has rendered the document.
OPERATIONS = (
    "/api/v1/group_connections",
    "/api/v1/groups/{group_id}/member_snapshots",
    "/api/v1/member_transactions/{transaction_id}",
)
OFFLINE = (
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


async def rendered(url: str) -> str:
    """The page's DOM once its scripts ran, in a browser that can reach only 127.0.0.1."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.fail("Debian's chromium is needed (apt-get install chromium; .ci/run installs it)")
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *OFFLINE,
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    return out.decode()


@pytest.fixture
async def docs_server() -> AsyncIterator[AppServer]:
    # Only the pages and the document are read: no database or workflow service is reached.
    settings = Settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none",
        temporal_address="127.0.0.1:9",
        _env_file=None,
    )
    async with AppServer(create_app(settings)) as server:
        yield server


async def test_swagger_ui_lists_the_operations_offline(docs_server: AppServer) -> None:
    dom = await rendered(f"{docs_server.url}/docs")
    assert "swagger-ui" in dom
    for path in OPERATIONS:
        assert f'data-path="{path}"' in dom, path
    assert "authorize" in dom  # the bearer scheme's button


async def test_redoc_lists_the_operations_offline(docs_server: AppServer) -> None:
    dom = await rendered(f"{docs_server.url}/redoc")
    assert "Something went wrong" not in dom
    for path in OPERATIONS:
        assert path in dom, path
