"""File carrier feeds end to end: snapshots for a Larkspur (sandbox) group become 834 files built
from PostgreSQL, delivered over SFTP to the sandbox file carrier, acknowledged by its 999, and
each transaction moved to carrier_accepted or carrier_failed."""

from __future__ import annotations

import asyncio
import copy
import random
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from carriers.larkspur import INFO as LARKSPUR_INFO
from domain.feeds import feed_schedule_id
from runtime.settings import Settings
from sandbox.file_carrier import FileCarrierServer
from store.db import Database
from tests.harness import AppServer, eventually
from tests.integration.test_connections import new_connection, reaches
from tests.integration.test_worker_crash import WorkerProcess, api_on
from tools.sample_snapshots import new_hire, person, pick, plan_choices, unique_id
from workflows.feed_run import REVIEW_SIGNAL

pytestmark = pytest.mark.integration

LARKSPUR = str(LARKSPUR_INFO.id)


def larkspur_id() -> str:
    # Clear of the sandbox's scripted prefixes (LM1767, LM1323, LM1999).
    return f"LM{random.randint(500_000, 999_999)}"


async def feed_of_group(
    api: httpx.AsyncClient, *, error_threshold: float | None = 0.9
) -> tuple[str, dict[str, Any], list[Any], str]:
    """A group connected to Larkspur (in `action_required`: census and test file to come), the
    feed its connection made, its Larkspur plan choices, and the connection's id."""
    response = await api.post(
        "/api/v1/group_connections", json=new_connection(LARKSPUR, larkspur_id())
    )
    assert response.status_code == 201, response.text
    connection = response.json()
    group_id = str(connection["group_id"])
    await reaches(api, connection["id"], "action_required", within=30)
    listed = (await api.get("/api/v1/feeds", params={"group_id": group_id})).json()
    (feed,) = listed["response"]
    assert feed["carrier_id"] == LARKSPUR
    if error_threshold is not None:
        response = await api.put(
            f"/api/v1/feeds/{feed['id']}/{feed['version']}",
            json={"error_threshold": error_threshold},
        )
        assert response.status_code == 200, response.text
        feed = response.json()
    choices = pick(await plan_choices(api, group_id), LARKSPUR, "dental", "vision", "life")
    assert choices
    return group_id, feed, choices, str(connection["id"])


async def hire(
    api: httpx.AsyncClient, group_id: str, choices: list[Any], *, ssn: str | None
) -> str:
    custom_id = unique_id()
    employee = person("Ottoline", "Larkworthy", born="1979-05-17", sex="F", ssn=ssn)
    body = new_hire(
        custom_id,
        choices,
        employee=employee,
        dependents=[
            {
                "custom_individual_id": f"{custom_id}-child",
                "relationship": "child",
                "person": copy.deepcopy(person("Perpetua", "Larkworthy", born="2014-08-02")),
            }
        ],
    )
    response = await api.post(f"/api/v1/groups/{group_id}/member_snapshots", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["employee_id"])


async def larkspur_transactions(api: httpx.AsyncClient, employee_id: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/member_transactions", params={"page_size": 200})
    return [
        t
        for t in response.json()["response"]
        if t["employee_id"] == employee_id and t["carrier_id"] == LARKSPUR
    ]


async def built(api: httpx.AsyncClient, employee_id: str) -> dict[str, Any]:
    async def one() -> dict[str, Any] | None:
        found = await larkspur_transactions(api, employee_id)
        return found[0] if found else None

    return dict(await eventually(one, within=30))


async def run_reaches(
    api: httpx.AsyncClient, run_id: str, *statuses: str, within: float = 60
) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        run = (await api.get(f"/api/v1/feed_runs/{run_id}")).json()
        return run if run["status"] in statuses else None

    return dict(await eventually(done, within=within))


async def test_an_on_demand_run_is_delivered_and_its_999_moves_each_transaction(
    api: httpx.AsyncClient,
    database: Database,
    client: Client,
    settings: Settings,
    worker: None,
) -> None:
    group_id, feed, choices, connection_id = await feed_of_group(api)
    assert feed["testing"] is True
    connection = (await api.get(f"/api/v1/group_connections/{connection_id}")).json()
    assert "census" in connection["setup_result"]["reason"]
    accepted_employee = await hire(api, group_id, choices, ssn="318530718")
    refused_employee = await hire(api, group_id, choices, ssn=None)
    first = await built(api, accepted_employee)
    await built(api, refused_employee)
    assert first["status"] == "processing"  # waits for the feed, not sent by the loop

    response = await api.post(f"/api/v1/feeds/{feed['id']}/runs")
    assert response.status_code == 201, response.text
    run = await run_reaches(api, response.json()["id"], "accepted_with_errors")
    counts = run["details"]["file"]["audit"]["count"]
    assert counts["primaries"] == 2
    assert counts["dependents"] == 2
    assert counts["accepted"] == 1
    assert counts["failed"] == 1
    assert run["sent_timestamp"] is not None
    assert run["details"]["file"]["name"].endswith("_TEST.834")

    (accepted,) = await larkspur_transactions(api, accepted_employee)
    assert accepted["status"] == "completed"
    assert accepted["status_details"][-1]["status_detail"] == "carrier_accepted"
    (refused,) = await larkspur_transactions(api, refused_employee)
    assert refused["status"] == "failed"
    assert refused["status_details"][-1]["status_detail"] == "carrier_failed"
    assert "NM1" in refused["result"]["reason"]

    # The carrier's positive 999 on the test file approved it: the feed leaves testing.
    feed_now = (await api.get(f"/api/v1/feeds/{feed['id']}")).json()
    assert feed_now["testing"] is False
    assert feed_now["approved"] is not None
    # With the census in and the test file approved, the connection completes.
    await reaches(api, connection_id, "completed", within=30)

    # A resend delivers the same file under the same control numbers: the carrier knows it.
    resent = await api.post(f"/api/v1/feed_runs/{run['id']}/resend")
    assert resent.status_code == 200, resent.text
    assert resent.json()["resends"] == 1
    again = await run_reaches(api, run["id"], "accepted_with_errors")
    file = again["details"]["file"]
    assert (
        file["interchange_control_number"] == run["details"]["file"]["interchange_control_number"]
    )
    assert file["sha256"] == run["details"]["file"]["sha256"]

    # Nothing pending now: the next run has no file.
    response = await api.post(f"/api/v1/feeds/{feed['id']}/runs")
    await run_reaches(api, response.json()["id"], "empty")

    listed = (
        await api.get("/api/v1/feed_runs", params={"group_id": group_id, "status": "empty"})
    ).json()
    assert listed["meta"]["total_records"] == 1


async def test_a_run_the_carrier_would_refuse_too_much_is_held_for_review(
    api: httpx.AsyncClient,
    database: Database,
    client: Client,
    settings: Settings,
    worker: None,
) -> None:
    group_id, feed, choices, _ = await feed_of_group(api, error_threshold=None)
    employee = await hire(api, group_id, choices, ssn=None)  # 1 of 1 would be refused
    await built(api, employee)
    response = await api.post(f"/api/v1/feeds/{feed['id']}/runs")
    run = await run_reaches(api, response.json()["id"], "held")
    assert "held for review" in run["reason"]
    assert run["sent_timestamp"] is None
    handle = client.get_workflow_handle(f"feed-run/{feed['id']}/{run['id']}")
    await handle.signal(REVIEW_SIGNAL, {"decision": "discard"})
    await run_reaches(api, run["id"], "discarded")
    # Discarded: its transaction waits for the next run (held again, the rule has not changed).
    response = await api.post(f"/api/v1/feeds/{feed['id']}/runs")
    await run_reaches(api, response.json()["id"], "held")


async def test_a_scheduled_run_and_a_late_delivery_when_sftp_was_down(
    api: httpx.AsyncClient,
    database: Database,
    client: Client,
    settings: Settings,
    worker: None,
    sandbox_server: AppServer,
) -> None:
    group_id, feed, choices, _ = await feed_of_group(api)
    employee = await hire(api, group_id, choices, ssn="314159265")
    await built(api, employee)
    sftp: FileCarrierServer = sandbox_server.app.state.file_carrier
    await sftp.stop()
    try:
        # The schedule fires (triggered now rather than on its RRULE's next day).
        await client.get_schedule_handle(feed_schedule_id(uuid.UUID(feed["id"]))).trigger()

        async def opened() -> dict[str, Any] | None:
            runs = (await api.get("/api/v1/feed_runs", params={"feed_id": feed["id"]})).json()
            return runs["response"][0] if runs["response"] else None

        run = await eventually(opened, within=30)
        assert run["trigger"] == "scheduled"
        await run_reaches(api, run["id"], "built")
        await asyncio.sleep(2)  # delivery is being retried against the closed port
        assert (await api.get(f"/api/v1/feed_runs/{run['id']}")).json()["status"] == "built"
    finally:
        await sftp.start()
    done = await run_reaches(api, run["id"], "accepted", within=120)
    assert done["details"]["acknowledgement"]["code"] == "A"
    (transaction,) = await larkspur_transactions(api, employee)
    assert transaction["status_details"][-1]["status_detail"] == "carrier_accepted"


async def test_the_file_link_is_signed_and_expires(
    api: httpx.AsyncClient,
    database: Database,
    client: Client,
    settings: Settings,
    worker: None,
    api_server: AppServer,
) -> None:
    group_id, feed, choices, _ = await feed_of_group(api)
    employee = await hire(api, group_id, choices, ssn="141421356")
    await built(api, employee)
    response = await api.post(f"/api/v1/feeds/{feed['id']}/runs")
    run = await run_reaches(api, response.json()["id"], "accepted")
    link = (await api.get(f"/api/v1/feed_runs/{run['id']}/file")).json()
    assert abs(link["expires"] - 300 - time.time()) < 30
    async with httpx.AsyncClient() as anonymous:
        content = await anonymous.get(link["url"])
        assert content.status_code == 200
        assert content.text.startswith("ISA*")
        assert "141421356" in content.text  # the file holds the member: hence the short link
        forged = link["url"].replace("signature=", "signature=0")
        assert (await anonymous.get(forged)).status_code == 404
        expired = link["url"].replace(f"expires={link['expires']}", "expires=1000")
        assert (await anonymous.get(expired)).status_code == 404
    other = (await api.get(f"/api/v1/feed_runs/{uuid.uuid4()}/file")).status_code
    assert other == 404


async def test_a_worker_killed_during_delivery_delivers_the_file_once(
    settings: Settings,
    database: Database,
    client: Client,
    org_token: str,
    sandbox_server: AppServer,
    tmp_path: Path,
) -> None:
    """The worker dies while the run's upload is in flight (the SFTP server is down, so the
    delivery is mid-retry): the next worker delivers it, once, under the same name and control
    numbers."""
    isolated = settings.model_copy(update={"task_queue": f"crash-{uuid.uuid4().hex[:8]}"})
    first = WorkerProcess(isolated, tmp_path / "worker-1.log")
    workers = [first]
    sftp: FileCarrierServer = sandbox_server.app.state.file_carrier
    try:
        await first.polling()
        async with api_on(isolated, database, client, org_token) as api:
            group_id, feed, choices, _ = await feed_of_group(api)
            employee = await hire(api, group_id, choices, ssn="161803398")
            await built(api, employee)
            await sftp.stop()
            try:
                response = await api.post(f"/api/v1/feeds/{feed['id']}/runs")
                run = await run_reaches(api, response.json()["id"], "built")
                await asyncio.sleep(1.5)  # the upload is being tried and retried
                first.kill()
            finally:
                await sftp.start()
            second = WorkerProcess(isolated, tmp_path / "worker-2.log")
            workers.append(second)
            await second.polling()
            done = await run_reaches(api, run["id"], "accepted", within=120)
    finally:
        for worker in workers:
            worker.kill()
    name = done["details"]["file"]["name"]
    assert name in sftp.state["files"]
    assert not (sftp.root / "inbound" / (name + ".part")).exists()
    number = done["details"]["file"]["interchange_control_number"]
    delivered = [
        key for key in sftp.state["interchanges"] if key.endswith(f"/{number:09d}/{number}")
    ]
    assert len(delivered) == 1
