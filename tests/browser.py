"""Headless Chromium driven over the DevTools protocol: read a page's text, take a screenshot.

A running workflow's page in the Temporal UI keeps polling, so `--dump-dom` with a virtual-time
budget never returns; here the test waits for the text it expects instead, and bounds the wait.
Uses Debian's `chromium` and aiohttp's WebSocket client (no browser download, no new package).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.harness import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One tab, spoken to by DevTools commands."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    async def command(self, method: str, **params: Any) -> dict[str, Any]:
        sent = next(self._ids)
        await self._socket.send_json({"id": sent, "method": method, "params": params})
        while True:
            message = await self._socket.receive_json(timeout=30)
            if message.get("id") == sent:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    async def open(self, url: str) -> None:
        await self.command("Page.navigate", url=url)

    async def text(self) -> str:
        result = await self.command(
            "Runtime.evaluate", expression="document.body ? document.body.innerText : ''"
        )
        return str(result.get("result", {}).get("value", ""))

    async def wait_for_text(self, wanted: str, *, within: float = 30) -> str:
        """The page's text once it contains `wanted`; AssertionError with the text otherwise."""
        deadline = time.monotonic() + within
        text = ""
        while time.monotonic() < deadline:
            text = await self.text()
            if wanted in text:
                return text
            await asyncio.sleep(0.5)
        raise AssertionError(f"{wanted!r} not on the page within {within}s; it shows:\n{text}")

    async def screenshot(self, path: Path) -> None:
        shot = await self.command("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


@contextlib.asynccontextmanager
async def browser_page(*, width: int = 1400, height: int = 1000) -> AsyncIterator[Page]:
    """A headless Chromium with one blank tab; stopped (by its own PID) on every path."""
    assert CHROMIUM is not None, "no chromium on PATH"
    port = free_port()
    # Chromium's helper processes may still write to the profile as the browser stops.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--remote-debugging-address=127.0.0.1",
            f"--remote-debugging-port={port}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            async with aiohttp.ClientSession() as http:
                tabs: list[dict[str, Any]] = []
                for _ in range(100):
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                            tabs = [t for t in await response.json() if t.get("type") == "page"]
                    if tabs:
                        break
                    await asyncio.sleep(0.1)
                assert tabs, "chromium did not open its DevTools port"
                async with http.ws_connect(tabs[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    page = Page(ws)
                    await page.command("Page.enable")
                    yield page
        finally:
            process.kill()
            await process.wait()
