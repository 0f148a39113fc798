"""The worker's probe server: `/healthz` (alive) and `/readyz` (polling its task queue) over a
minimal HTTP/1.1 responder, so compose and orchestrators can tell a stuck worker from a live one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


@asynccontextmanager
async def serve_probes(host: str, port: int, *, ready: Callable[[], bool]) -> AsyncIterator[None]:
    """Answer probes on host:port while the block runs; `ready()` decides `/readyz`."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            # Headers are read and ignored: a probe carries nothing we need.
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else ""
            if path == "/healthz":
                status, body = 200, {"status": "ok", "checks": {}}
            elif path == "/readyz":
                polling = ready()
                status = 200 if polling else 503
                body = {
                    "status": "ok" if polling else "unavailable",
                    "checks": {"worker": "polling" if polling else "not polling"},
                }
            else:
                status, body = 404, {"status": "not found", "checks": {}}
            payload = json.dumps(body).encode()
            reason = {200: "OK", 503: "Service Unavailable", 404: "Not Found"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()
