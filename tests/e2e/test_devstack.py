"""End to end: `carrierlink-dev` (what `make run` starts) comes up, serves, stops without leaving
a process behind, and resumes on the same data dir.

It runs the real console script as a subprocess on a temporary data dir and free loopback ports,
so it can run beside `make run` or another test run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]
UP_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
BANNER = "carrierlink is up"


def free_ports(count: int) -> list[int]:
    """Distinct ports free on 127.0.0.1 right now (all sockets held until every one is picked)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like a server would: ignore TIME_WAIT leftovers, fail on a live listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def alive(proc: psutil.Process) -> bool:
    """Zombies count as dead: PID 1 in a container may never reap the orphans it inherits."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class DevStackRun:
    """One `carrierlink-dev` subprocess, with everything needed to check and clean up after it."""

    def __init__(self, data_dir: Path, ports: dict[str, int], output: Path) -> None:
        self.data_dir = data_dir
        self.ports = ports
        self.output = output
        env = {
            k: v
            for k, v in os.environ.items()
            # The embedded PostgreSQL and Temporal, whatever the calling shell points at.
            if k
            not in (
                "DATABASE_URL",
                "TEMPORAL_ADDRESS",
                "CARRIERLINK_DATABASE_URL",
                "CARRIERLINK_TEMPORAL_ADDRESS",
            )
        }
        env.update(
            CARRIERLINK_DATA_DIR=str(data_dir),
            CARRIERLINK_TEMPORAL_PORT=str(ports["temporal"]),
            CARRIERLINK_TEMPORAL_UI_PORT=str(ports["ui"]),
            CARRIERLINK_API_HOST="127.0.0.1",
            CARRIERLINK_API_PORT=str(ports["api"]),
            CARRIERLINK_SANDBOX_HOST="127.0.0.1",
            CARRIERLINK_SANDBOX_PORT=str(ports["sandbox"]),
            CARRIERLINK_SANDBOX_SFTP_PORT=str(ports.get("sftp", 0)),
            CARRIERLINK_WORKER_PROBE_PORT=str(ports["worker_probe"]),
            CARRIERLINK_WORKER_METRICS_PORT=str(ports["worker_metrics"]),
            CARRIERLINK_WEBHOOK_WORKER_PROBE_PORT=str(ports["webhook_worker_probe"]),
            CARRIERLINK_WEBHOOK_WORKER_METRICS_PORT=str(ports["webhook_worker_metrics"]),
        )
        with output.open("wb") as out:
            # Output to a file, not a pipe: nobody has to keep draining it.
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "carrierlink-dev")],
                cwd=REPO_ROOT,  # worker.py is run from the repository root
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # Every descendant ever seen, so cleanup finds those reparented after a crash.
        self.seen: dict[int, psutil.Process] = {}
        self.postmaster: psutil.Process | None = None

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def snapshot(self) -> None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen.setdefault(child.pid, child)
        pid_file = self.data_dir / "postgres" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
            self.postmaster = psutil.Process(int(pid_file.read_text().splitlines()[0]))

    def wait_up(self) -> None:
        deadline = time.monotonic() + UP_TIMEOUT
        while BANNER not in self.text():
            self.snapshot()
            if self.proc.poll() is not None:
                pytest.fail(
                    f"carrierlink-dev exited with {self.proc.returncode} before it was up:\n"
                    + self.tail()
                )
            if time.monotonic() > deadline:
                pytest.fail(f"carrierlink-dev not up within {UP_TIMEOUT:.0f} s:\n{self.tail()}")
            time.sleep(0.25)
        self.snapshot()
        assert self.seen, "carrierlink-dev runs no child process"
        assert self.postmaster is not None, "no postmaster.pid"
        assert alive(self.postmaster), "the postmaster is not running"

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        self.snapshot()
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"carrierlink-dev still running {STOP_TIMEOUT:.0f} s after SIGTERM")
        elapsed = time.monotonic() - started
        print(f"carrierlink-dev stopped in {elapsed:.1f} s")
        return code

    def stragglers(self) -> list[psutil.Process]:
        """Live processes from this run: descendants seen, the postmaster, anything whose
        command line names the data dir or one of the ports."""
        found = {p.pid: p for p in self.seen.values() if alive(p)}
        if self.postmaster is not None and alive(self.postmaster):
            found[self.postmaster.pid] = self.postmaster
        data_dir = str(self.data_dir)
        ports = {str(p) for p in self.ports.values()}
        for proc in psutil.process_iter(["cmdline"]):
            args: list[str] = proc.info["cmdline"] or []
            mentions = any(data_dir in arg or arg in ports for arg in args)
            if mentions and proc.pid != os.getpid() and alive(proc):
                found.setdefault(proc.pid, proc)
        return list(found.values())

    def assert_clean_exit(self) -> None:
        code = self.stop()
        assert code == 0, f"exit code {code}:\n{self.tail()}"
        # The dev stack checks its descendants before exiting; give zombies' parents a moment.
        deadline = time.monotonic() + 2.0
        while self.stragglers() and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [(p.pid, " ".join(p.cmdline())[:150]) for p in self.stragglers()]
        assert not left, f"processes left running: {left}"
        assert not (self.data_dir / "postgres" / "postmaster.pid").exists(), "postmaster.pid left"
        busy = [name for name, port in self.ports.items() if not port_free(port)]
        assert not busy, f"ports still in use after stop: {busy}"

    def kill_everything(self) -> None:
        """Failure path: leave nothing behind, whatever state the run is in."""
        self.snapshot()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        stragglers = self.stragglers()
        for proc in stragglers:
            with contextlib.suppress(psutil.Error):
                # SIGINT is PostgreSQL's fast shutdown; everything else gets SIGKILL.
                proc.send_signal(signal.SIGINT if proc == self.postmaster else signal.SIGKILL)
        psutil.wait_procs(stragglers, timeout=10)
        for proc in stragglers:
            if alive(proc):
                with contextlib.suppress(psutil.Error):
                    proc.kill()


@contextlib.contextmanager
def devstack(data_dir: Path, ports: dict[str, int], output: Path) -> Iterator[DevStackRun]:
    run = DevStackRun(data_dir, ports, output)
    try:
        yield run
    finally:
        run.kill_everything()


def carriers_in(body: Any) -> list[Any]:
    """The carrier list of a list response, enveloped (``{"response": [...]}``) or not."""
    if isinstance(body, list):
        return body
    assert isinstance(body, dict), body
    for key in ("response", "items", "data", "carriers", "results"):
        if isinstance(body.get(key), list):
            return list(body[key])
    raise AssertionError(f"no carrier list in {body!r}")


def check_serving(ports: dict[str, int]) -> None:
    api = f"http://127.0.0.1:{ports['api']}"
    with httpx.Client(timeout=10, trust_env=False) as http:
        assert http.get(f"{api}/ping").status_code == 200
        response = http.get(f"{api}/api/v1/carriers", headers={"Authorization": "Bearer dev-token"})
        assert response.status_code == 200, response.text
        assert len(carriers_in(response.json())) == 3, (
            response.text
        )  # Principal, Unum, Larkspur (sandbox)
        assert http.get(f"http://127.0.0.1:{ports['ui']}/").status_code == 200
        # Each worker's probe answers once it polls (it may still be starting at the banner):
        # the engine's and the webhook deliveries', two processes.
        for probe_port in ("worker_probe", "webhook_worker_probe"):
            deadline = time.monotonic() + 30
            while True:
                try:
                    probe = http.get(f"http://127.0.0.1:{ports[probe_port]}/readyz")
                    if probe.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"{probe_port}: /readyz never answered 200"
                time.sleep(0.2)


def check_processes(run: DevStackRun) -> None:
    """The banner and the run record name both workers; the webhook worker polls only the
    deliveries' queue."""
    assert "Webhooks" in run.text()
    record = json.loads((run.data_dir / "devstack.json").read_text())
    names = [entry["name"] for entry in record["children"]]
    assert {"worker", "webhook-worker"} <= set(names), names
    log = run.data_dir / "logs" / "webhook-worker.log"
    deadline = time.monotonic() + 10
    while "-webhooks (role webhooks)" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
        time.sleep(0.2)


def test_devstack_starts_serves_stops_and_resumes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    names = (
        "temporal",
        "ui",
        "api",
        "sandbox",
        "worker_probe",
        "worker_metrics",
        "webhook_worker_probe",
        "webhook_worker_metrics",
        "sftp",
    )
    ports = dict(zip(names, free_ports(len(names)), strict=True))

    with devstack(data_dir, ports, tmp_path / "run1.log") as run:
        run.wait_up()
        check_serving(ports)
        check_processes(run)
        run.assert_clean_exit()

    assert (data_dir / "temporal.db").is_file()
    assert (data_dir / "postgres" / "PG_VERSION").is_file()
    # The server wrote its history in write-ahead-log mode (`TEMPORAL_SQLITE_PRAGMAS`); the mode
    # is kept in the file, so reading it back shows the pragma reached SQLite.
    with contextlib.closing(sqlite3.connect(data_dir / "temporal.db")) as temporal_db:
        assert temporal_db.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    # Same data dir again: PostgreSQL and Temporal resume from what the first run left.
    with devstack(data_dir, ports, tmp_path / "run2.log") as run:
        run.wait_up()
        check_serving(ports)
        run.assert_clean_exit()
