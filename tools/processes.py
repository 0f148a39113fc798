"""Child processes that are started, awaited and stopped for sure.

`ManagedProcess` runs one command in its own process group (so a stop reaches everything the
command spawned, and a Ctrl-C in the terminal reaches only the supervisor, which then stops the
children in order). Its output goes to a log file, and optionally also to the terminal with a
``name |`` prefix. `wait_ready` polls a `ReadyCheck` against a deadline; `stop` sends SIGTERM to
the group, waits, then SIGKILLs whatever is left, including descendants that left the group.

The dev stack (`tools.devstack`) uses it for every server it starts; a test harness can
reuse it the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import psutil

__all__ = [
    "ManagedProcess",
    "ReadyCheck",
    "ServiceError",
    "alive",
    "console",
    "http_ok",
    "kill_processes",
    "port_in_use",
    "port_owner",
    "process_group_members",
    "tcp_port_open",
]

# One lock for everything written to the terminal, so prefixed child lines and the supervisor's
# own messages never interleave mid-line.
_console_lock = threading.Lock()


def console(message: str, *, err: bool = False) -> None:
    """Write one message line to the terminal without interleaving with child output.

    Never raises: once the terminal is gone (SIGHUP, closed pipe) a shutdown must still complete
    and child output must still be drained into the log files.
    """
    stream = sys.stderr if err else sys.stdout
    with _console_lock, contextlib.suppress(OSError, ValueError):
        stream.write(message.rstrip("\n") + "\n")
        stream.flush()


class ServiceError(RuntimeError):
    """A managed process failed to start, to become ready, or exited when it should not have."""

    def __init__(self, name: str, message: str, log_path: Path | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.log_path = log_path


@dataclass(frozen=True)
class ReadyCheck:
    """A readiness probe: `probe()` returns True once the service answers."""

    description: str
    probe: Callable[[], bool]


def tcp_port_open(host: str, port: int, *, timeout: float = 0.5) -> ReadyCheck:
    """Ready when a TCP connection to host:port is accepted."""

    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            return False

    return ReadyCheck(f"TCP {host}:{port} accepts connections", probe)


def http_ok(url: str, *, timeout: float = 2.0) -> ReadyCheck:
    """Ready when GET url answers 200 (after redirects)."""

    def probe() -> bool:
        # httpx, the project's client outside carrier calls (aiohttp serves those); no
        # `trust_env`: loopback probes must never go through a proxy taken from the environment.
        try:
            response = httpx.get(url, timeout=timeout, follow_redirects=True, trust_env=False)
        except (httpx.HTTPError, httpx.InvalidURL, OSError):
            return False
        return response.status_code == 200

    return ReadyCheck(f"GET {url} answers 200", probe)


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port.

    Binds with SO_REUSEADDR like the servers themselves do, so sockets of a previous run left in
    TIME_WAIT do not count as "in use", but a live listener (also one on 0.0.0.0) does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def port_owner(port: int) -> str | None:
    """Best effort: 'pid N (cmdline)' of the process listening on a TCP port, if visible."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return None
            try:
                cmdline = " ".join(" ".join(psutil.Process(conn.pid).cmdline()).split())
            except psutil.Error:
                cmdline = "?"
            return f"pid {conn.pid} ({cmdline[:120]})"
    return None


def alive(proc: psutil.Process) -> bool:
    """True when the process runs. Zombies count as dead: PID 1 in a container may never reap
    the orphans it inherits, and a zombie holds no port, file or memory."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_processes(procs: Iterable[psutil.Process], *, timeout: float = 5.0) -> list[int]:
    """SIGTERM these processes, SIGKILL those still alive after `timeout`; returns pids killed."""
    targets = [p for p in procs if alive(p)]
    for proc in targets:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in targets) and time.monotonic() < deadline:
        time.sleep(0.05)
    for proc in targets:
        if alive(proc):
            with contextlib.suppress(psutil.Error):
                proc.kill()
    return [p.pid for p in targets]


def process_group_members(pgid: int) -> list[psutil.Process]:
    """Live processes in process group `pgid` (found by scanning: the leader may be gone)."""
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and alive(proc):
                members.append(proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return members


class ManagedProcess:
    """One command run as the leader of its own process group.

    Lifecycle: `start()` -> `wait_ready(check, timeout)` (servers) or `wait_exit(timeout)`
    (one-shot commands) -> `poll()` while supervising -> `stop()`. `stop()` is idempotent and
    safe to call at any point, also when `start()` was never called or failed.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
        echo: bool = False,
        stop_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.log_path = log_path
        self.echo = echo
        self.stop_timeout = stop_timeout
        self._popen: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None
        self._stopped = False
        self._returncode: int | None = None
        self.killed = False  # set when stop() had to SIGKILL
        # Every descendant ever seen, so one that left the group (setsid, daemonizing) is still
        # stopped. Refreshed on each poll/stop.
        self._seen: dict[int, psutil.Process] = {}

    # -- state -------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def started(self) -> bool:
        return self._popen is not None

    def poll(self) -> int | None:
        """The exit code once the process has exited, else None."""
        if self._popen is None:
            return self._returncode
        rc = self._popen.poll()
        if rc is None:
            self._remember_descendants()
        return rc

    def descendants(self) -> list[psutil.Process]:
        """Live processes started by this one (children, grandchildren, ...)."""
        self._remember_descendants()
        return [p for p in self._seen.values() if alive(p)]

    def _remember_descendants(self) -> None:
        # Only while the leader is unreaped: after that its pid may belong to someone else.
        if self._popen is None or self._popen.poll() is not None:
            return
        try:
            for child in psutil.Process(self._popen.pid).children(recursive=True):
                self._seen.setdefault(child.pid, child)
        except psutil.Error:
            pass

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the log file, for error messages."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    def describe_failure(self, what: str) -> str:
        """A message naming the service, what went wrong, its log file and the log's tail."""
        if self._popen is not None and self._popen.poll() is not None:
            self._join_pump()  # its last words may still be in the pipe
        message = f"{self.name} {what}"
        if self.log_path is not None:
            message += f" (log: {self.log_path})"
        tail = self.log_tail()
        if tail:
            indented = "\n".join(f"    {line}" for line in tail.splitlines())
            message += f"\n  last lines of the log:\n{indented}"
        return message

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn the command in a new session (hence a new process group)."""
        if self._popen is not None or self._stopped:
            raise RuntimeError(f"{self.name}: start() called twice")
        log: IO[bytes] | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            # One log per run: the tail in an error message then belongs to this run.
            log = self.log_path.open("wb")
        try:
            if self.echo:
                stdout: int | IO[bytes] = subprocess.PIPE
            elif log is not None:
                stdout = log
            else:
                stdout = subprocess.DEVNULL
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    env=self.env,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=stdout,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServiceError(
                    self.name, f"{self.name} could not start: {exc}", self.log_path
                ) from exc
        except BaseException:
            if log is not None:
                log.close()
            raise
        if self.echo:
            assert self._popen.stdout is not None
            self._pump = threading.Thread(
                target=self._pump_output,
                args=(self._popen.stdout, log),
                name=f"{self.name}-output",
                daemon=True,
            )
            self._pump.start()
        elif log is not None:
            # The child holds its own copy of the descriptor.
            log.close()

    def _pump_output(self, pipe: IO[bytes], log: IO[bytes] | None) -> None:
        """Copy child output to the log file and to the terminal with a name prefix."""
        prefix = f"{self.name:<8}| "
        try:
            for raw in iter(pipe.readline, b""):
                if log is not None:
                    log.write(raw)
                    log.flush()
                console(prefix + raw.decode(errors="replace").rstrip("\r\n"))
        except (OSError, ValueError):
            pass  # the pipe or the log file failed: nothing left to copy to
        finally:
            with contextlib.suppress(OSError):
                pipe.close()
            if log is not None:
                with contextlib.suppress(OSError):
                    log.close()

    def wait_ready(
        self,
        check: ReadyCheck,
        timeout: float,
        *,
        abort_check: Callable[[], None] | None = None,
        interval: float = 0.1,
    ) -> float:
        """Poll `check` until it passes; returns the seconds waited.

        Raises `ServiceError` when the process exits first or the deadline passes.
        `abort_check` is called on every poll and may raise to abandon the wait (a stop request,
        another service dying).
        """
        if self._popen is None:
            raise RuntimeError(f"{self.name}: wait_ready() before start()")
        started = time.monotonic()
        deadline = started + timeout
        while True:
            if abort_check is not None:
                abort_check()
            rc = self.poll()
            if rc is not None:
                raise ServiceError(
                    self.name,
                    self.describe_failure(f"exited with code {rc} before it was ready"),
                    self.log_path,
                )
            if check.probe():
                return time.monotonic() - started
            if time.monotonic() >= deadline:
                raise ServiceError(
                    self.name,
                    self.describe_failure(
                        f"was not ready after {timeout:.0f} s (waiting for: {check.description})"
                    ),
                    self.log_path,
                )
            time.sleep(interval)

    def wait_exit(
        self,
        timeout: float,
        *,
        abort_check: Callable[[], None] | None = None,
        interval: float = 0.1,
    ) -> int:
        """Wait for a one-shot command to finish; returns its exit code.

        Raises `ServiceError` on the deadline (the process is left running: call `stop()`).
        """
        if self._popen is None:
            raise RuntimeError(f"{self.name}: wait_exit() before start()")
        deadline = time.monotonic() + timeout
        while True:
            if abort_check is not None:
                abort_check()
            rc = self.poll()
            if rc is not None:
                self._join_pump()
                return rc
            if time.monotonic() >= deadline:
                raise ServiceError(
                    self.name,
                    self.describe_failure(f"did not finish within {timeout:.0f} s"),
                    self.log_path,
                )
            time.sleep(interval)

    def stop(self, timeout: float | None = None) -> int | None:
        """Stop the process group for sure; returns the exit code (None if never started).

        SIGTERM to the group (and to any descendant that left it), wait up to `timeout`
        (default `stop_timeout`) for all of them, then SIGKILL the rest. Calling it again
        returns the same result without signalling anything.
        """
        if self._stopped:
            return self._returncode
        self._stopped = True
        popen = self._popen
        if popen is None:
            return None
        timeout = self.stop_timeout if timeout is None else timeout
        pgid = popen.pid  # start_new_session: the leader's pid is the group id
        self._remember_descendants()

        def survivors() -> list[psutil.Process]:
            found = {p.pid: p for p in process_group_members(pgid)}
            for proc in self._seen.values():
                if alive(proc):
                    found.setdefault(proc.pid, proc)
            return list(found.values())

        self._signal_all(pgid, signal.SIGTERM, survivors())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            popen.poll()  # reap the leader as soon as it exits
            if popen.returncode is not None and not survivors():
                break
            time.sleep(0.1)
        else:
            self.killed = True
            self._signal_all(pgid, signal.SIGKILL, survivors())
            kill_deadline = time.monotonic() + 5.0
            while survivors() and time.monotonic() < kill_deadline:
                time.sleep(0.05)
        try:
            self._returncode = popen.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self._returncode = None
        self._join_pump()
        return self._returncode

    @staticmethod
    def _signal_all(pgid: int, sig: signal.Signals, procs: Iterable[psutil.Process]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        # Only signal individually those outside the group: a second SIGTERM makes some servers
        # (uvicorn, for one) skip their graceful shutdown.
        for proc in procs:
            with contextlib.suppress(psutil.Error, OSError):
                if os.getpgid(proc.pid) != pgid:
                    proc.send_signal(sig)

    def _join_pump(self) -> None:
        if self._pump is not None:
            # EOF comes once every holder of the pipe has exited; don't hang if one escaped.
            self._pump.join(timeout=2.0)
