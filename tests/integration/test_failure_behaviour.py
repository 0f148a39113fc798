"""When PostgreSQL fails: no person in any log, and an outage answers 503 and passes by itself."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from temporalio.client import Client

from api.app import create_app
from runtime.settings import Settings
from store.db import Database
from store.tenancy import ensure_organization
from tests.harness import (
    AppServer,
    eventually,
    restart_embedded_postgres,
    start_embedded_postgres,
    stop_embedded_postgres,
)
from tests.integration.test_audits import connected
from tests.integration.test_connections import PRINCIPAL, principal_id
from tools.admin import prepare_database
from tools.sample_snapshots import new_hire, person, pick, plan_choices, unique_id

pytestmark = pytest.mark.integration

# A made-up person whose every identifying value is unusual enough to grep for.
SSN = "314159265"
EMPLOYEE = person("Ottoline", "Brackenridge", born="1968-07-14", sex="F", ssn=SSN)
PII = ["Ottoline", "Brackenridge", SSN]


class _Everything(logging.Handler):
    """Every record, formatted with its traceback: where a failed statement's text would be."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def every_log() -> Iterator[_Everything]:
    """All log records of this process: the API's, the server's, the driver's, the worker's.
    uvicorn's loggers do not propagate to the root, so they are listened to by name."""
    handler = _Everything()
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(name) for name in ("uvicorn", "uvicorn.error"))]
    root_level = root.level
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        root.setLevel(root_level)


async def server_log(database: Database) -> str:
    """PostgreSQL's own log (embedded_postgres writes it to {data_directory}/log)."""
    async with database.transaction() as session:
        data_directory = (await session.execute(text("SHOW data_directory"))).scalar_one()
    return (Path(data_directory) / "log").read_text(errors="replace")


async def test_a_database_failure_during_intake_logs_no_person(
    api: httpx.AsyncClient,
    database: Database,
    every_log: _Everything,
    capfd: pytest.CaptureFixture[str],
) -> None:
    group_id = await connected(api, PRINCIPAL, principal_id())
    choices = pick(await plan_choices(api, group_id), PRINCIPAL, "dental", "vision")[:1]
    body = new_hire(unique_id(), choices, employee=EMPLOYEE)
    async with database.transaction() as session:
        settings = {
            name: (await session.execute(text(f"SHOW {name}"))).scalar_one()
            for name in ("log_min_error_statement", "log_error_verbosity")
        }
    assert settings == {"log_min_error_statement": "panic", "log_error_verbosity": "terse"}

    # Fail the snapshot's insert, for this group only, with the whole row in the error's
    # detail (as PostgreSQL's own "Failing row contains (...)" would have it).
    trigger = f"fail_intake_{uuid.uuid4().hex[:8]}"
    async with database.transaction() as session:
        await session.execute(
            text(
                f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.group_id = '{group_id}' THEN RAISE EXCEPTION 'injected by {trigger}' "
                "USING ERRCODE = 'XX000', DETAIL = 'row: ' || NEW::text; END IF; "
                "RETURN NEW; END $$"
            )
        )
        await session.execute(
            text(
                f"CREATE TRIGGER {trigger} BEFORE INSERT ON member_snapshots "
                f"FOR EACH ROW EXECUTE FUNCTION {trigger}()"
            )
        )
    try:
        response = await api.post(f"/api/v1/groups/{group_id}/member_snapshots", json=body)
    finally:
        async with database.transaction() as session:
            await session.execute(text(f"DROP TRIGGER {trigger} ON member_snapshots"))
            await session.execute(text(f"DROP FUNCTION {trigger}()"))

    assert response.status_code == 500, response.text
    assert response.json() == {
        "message": "internal error",
        "status": 500,
        "request_id": response.headers["X-Request-ID"],
    }
    logged = "\n".join(every_log.lines)
    assert "a database statement failed" in logged  # the API did log the failure
    postgres_log = await server_log(database)
    assert trigger in postgres_log  # and so did PostgreSQL
    captured = capfd.readouterr()
    everything = "\n".join([logged, postgres_log, captured.out, captured.err, response.text])
    assert [value for value in PII if value in everything] == []


# --- an outage -------------------------------------------------------------------------------


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """A PostgreSQL server of this test's own, to stop and start (the session's stays up)."""
    server, url = start_embedded_postgres(tmp_path / "data")
    try:
        yield server, url
    finally:
        server.cleanup()


@pytest.fixture
async def api_on_own_postgres(
    own_postgres: tuple[Any, str], settings: Settings, client: Client
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    server, url = own_postgres
    own_settings = settings.model_copy(update={"database_url": url})
    await prepare_database(own_settings)
    database = Database(url)
    try:
        async with database.transaction() as session:
            _, token = await ensure_organization(session, f"org-{uuid.uuid4().hex[:10]}")
        app = create_app(own_settings, database=database, temporal_client=client)
        async with (
            AppServer(app) as app_server,
            httpx.AsyncClient(
                base_url=app_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as http,
        ):
            yield server, http
    finally:
        await database.dispose()


def local_port(response: httpx.Response) -> int:
    """The client's end of the connection a response came over."""
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


async def test_a_database_outage_answers_503_on_a_kept_connection_and_passes(
    api_on_own_postgres: tuple[Any, httpx.AsyncClient],
) -> None:
    server, api = api_on_own_postgres
    before = await api.get("/api/v1/groups")
    assert before.status_code == 200, before.text

    stop_embedded_postgres(server)
    during = [await api.get("/api/v1/groups") for _ in range(2)]
    for response in during:
        assert response.status_code == 503, response.text
        assert response.json() == {
            "message": "the database is unavailable",
            "status": 503,
            "request_id": response.headers["X-Request-ID"],
        }
        assert int(response.headers["Retry-After"]) > 0
    # One keep-alive connection throughout: the API never closed it.
    assert {local_port(r) for r in [before, *during]} == {local_port(before)}

    restart_embedded_postgres(server)

    async def served() -> bool:
        return (await api.get("/api/v1/groups")).status_code == 200

    await eventually(served, within=15)
