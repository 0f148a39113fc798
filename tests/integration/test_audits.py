"""Carrier audits end to end: schedules, audit requests, changes found at the sandbox carrier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import func, select, update
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleIntervalSpec

from domain.audits import AuditTrigger, PullRequest
from runtime.settings import Settings
from services.audits import pause_audit_schedule, schedule_id, start_audit
from store.db import Database
from store.models import GroupAudit, GroupConnection, RecordVersion
from store.tenancy import ensure_organization
from tests.harness import eventually
from tests.integration.test_connections import (
    PRINCIPAL,
    UNUM,
    new_connection,
    principal_id,
    reaches,
    unum_id,
)
from tools.admin import ensure_audit_schedules

pytestmark = pytest.mark.integration

DAY_MICROS = 24 * 3600 * 1_000_000


async def connected(api: httpx.AsyncClient, carrier_id: str, carrier_group_id: str) -> str:
    """Connect a group and wait for completion; returns the group's id."""
    response = await api.post(
        "/api/v1/group_connections", json=new_connection(carrier_id, carrier_group_id)
    )
    assert response.status_code == 201, response.text
    await reaches(api, response.json()["id"], "completed")
    return str(response.json()["group_id"])


async def audited(api: httpx.AsyncClient, group_id: str, carrier_id: str) -> dict[str, Any]:
    """Request an audit and wait until it has finished; returns the finished audit."""
    response = await api.post(
        f"/api/v1/groups/{group_id}/audit_requests", json={"carrier_id": carrier_id}
    )
    assert response.status_code == 201, response.text
    requested = response.json()
    assert requested["status"] == "processing"
    assert requested["completed_at"] is None
    url = f"/api/v1/groups/{group_id}/audit_requests/{requested['id']}"

    async def finished() -> bool:
        return (await api.get(url)).json()["status"] != "processing"

    await eventually(finished, within=15)
    audit = (await api.get(url)).json()
    assert audit["status"] == "completed", audit
    return dict(audit)


async def test_an_audit_stores_carrier_changes_as_new_versions_and_keeps_the_old_ones(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, database: Database
) -> None:
    carrier_group_id = principal_id()
    group_id = await connected(api, PRINCIPAL, carrier_group_id)
    account = (await sandbox.get(f"/principal/groups/{carrier_group_id}/account")).json()
    carrier_plan = account["plans"][0]
    carrier_location = account["locations"][0]
    plans = (await api.get(f"/api/v1/groups/{group_id}/plans", params={"page_size": 100})).json()
    before = next(p for p in plans["response"] if p["name"] == carrier_plan["name"])
    assert before["status"] == "active"
    locations = (await api.get(f"/api/v1/groups/{group_id}/locations")).json()["response"]
    location = next(
        loc for loc in locations if loc["display_name"] == carrier_location["display_name"]
    )
    new_address = {
        "street_one": "1 Audit Way",
        "city": "Des Moines",
        "state": "IA",
        "zip_code": "50309",
        "county": "Polk",
    }

    # The carrier changes the group on its side.
    for change in (
        {"kind": "discontinue_plan", "carrier_plan_id": carrier_plan["carrier_plan_id"]},
        {
            "kind": "change_location",
            "carrier_location_id": carrier_location["carrier_location_id"],
            "address": new_address,
        },
        {"kind": "add_plan", "line_of_coverage": "dental"},
        {"kind": "rename", "name": "Renamed At Carrier LLC"},
    ):
        response = await sandbox.post(
            f"/_sandbox/principal/groups/{carrier_group_id}/changes", json=change
        )
        assert response.status_code == 200, response.text

    audit = await audited(api, group_id, PRINCIPAL)

    assert audit["carrier_ids"] == [PRINCIPAL]
    assert audit["trigger"] == "request"
    assert audit["changes"]["changed"] == {"plans": 1, "locations": 1}
    assert audit["changes"]["created"]["plans"] == 1
    # Which records changed, and how: the plan's status and the location's address, from -> to.
    records = audit["changes"]["records"]
    (plan_change,) = [
        r for r in records if r["record_type"] == "plans" and r["change"] == "changed"
    ]
    assert plan_change["id"] == before["id"]
    assert plan_change["carrier_plan_id"] == carrier_plan["carrier_plan_id"]
    assert {"field": "status", "from": "active", "to": "discontinued"} in plan_change["fields"]
    (location_change,) = [r for r in records if r["record_type"] == "locations"]
    assert location_change["id"] == location["id"]
    assert location_change["change"] == "changed"
    assert {
        "field": "address.street_one",
        "from": carrier_location["address"]["street_one"],
        "to": "1 Audit Way",
    } in location_change["fields"]
    (added,) = [r for r in records if r["record_type"] == "plans" and r["change"] == "created"]
    assert set(added) == {"record_type", "id", "carrier_plan_id", "change"}
    # The platform owns the group's name: the carrier's rename is reported, not applied.
    assert {
        "field": "name",
        "platform_value": "Acme Corp",
        "carrier_value": "Renamed At Carrier LLC",
    } in audit["changes"]["group_differences"]
    assert (await api.get(f"/api/v1/groups/{group_id}")).json()["name"] == "Acme Corp"

    after = (await api.get(f"/api/v1/plans/{before['id']}")).json()["plan"]
    assert after["status"] == "discontinued"
    assert after["version"] != before["version"]
    moved = (await api.get(f"/api/v1/groups/{group_id}/locations/{location['id']}")).json()
    assert moved["address"]["street_one"] == "1 Audit Way"
    listed = (await api.get(f"/api/v1/groups/{group_id}/plans", params={"page_size": 100})).json()
    assert listed["meta"]["total_records"] == plans["meta"]["total_records"] + 1

    latest = (
        await api.get(
            f"/api/v1/groups/{group_id}/audit_requests/latest", params={"carrier_id": PRINCIPAL}
        )
    ).json()
    assert latest == {
        "group_id": group_id,
        "completed_at": audit["completed_at"],
        "carrier_ids": [PRINCIPAL],
    }

    # The connection's pull happened "two days ago": its versions read back by effective_date.
    async with database.transaction() as session:
        await session.execute(
            update(RecordVersion)
            .where(RecordVersion.version == UUID(before["version"]))
            .values(valid_from=RecordVersion.valid_from - 2 * DAY_MICROS)
        )
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    then = await api.get(f"/api/v1/plans/{before['id']}", params={"effective_date": yesterday})
    assert then.status_code == 200, then.text
    assert then.json()["plan"]["status"] == "active"
    assert then.json()["plan"]["version"] == before["version"]
    discontinued = await api.get(
        f"/api/v1/groups/{group_id}/plans",
        params={"effective_date": yesterday, "status": "discontinued"},
    )
    assert discontinued.json()["meta"]["total_records"] == 0


async def test_a_completed_connection_gets_a_running_schedule_named_for_its_group_and_carrier(
    api: httpx.AsyncClient, client: Client, settings: Settings, database: Database
) -> None:
    carrier_group_id = unum_id()
    group_id = await connected(api, UNUM, carrier_group_id)
    handle = client.get_schedule_handle(schedule_id(UUID(UNUM), carrier_group_id, UUID(group_id)))
    assert handle.id == f"group-audit/unum/{carrier_group_id}/{group_id}"

    described = await handle.describe()

    assert described.schedule.state.paused is False
    assert "Acme Corp" in (described.schedule.state.note or "")
    assert "Unum" in (described.schedule.state.note or "")
    (interval,) = described.schedule.spec.intervals
    assert isinstance(interval, ScheduleIntervalSpec)
    assert interval.every == settings.audit_interval
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "GroupAudit"
    assert action.task_queue == settings.task_queue

    # What the schedule starts is a real audit: trigger it now rather than wait for the interval.
    await handle.trigger()

    async def scheduled_audits() -> int:
        async with database.transaction() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(GroupAudit)
                .where(
                    GroupAudit.group_id == UUID(group_id),
                    GroupAudit.trigger == "schedule",
                    GroupAudit.completed_at.is_not(None),
                )
            )
        return int(count or 0)

    async def one_scheduled_audit() -> bool:
        return await scheduled_audits() == 1

    await eventually(one_scheduled_audit, within=15)

    # A disconnected group's schedule is paused, not deleted.
    assert await pause_audit_schedule(
        client,
        carrier_id=UUID(UNUM),
        carrier_group_id=carrier_group_id,
        group_id=UUID(group_id),
        note="disconnected",
    )
    paused = await handle.describe()
    assert paused.schedule.state.paused is True
    assert paused.schedule.state.note == "disconnected"
    assert not await pause_audit_schedule(
        client,
        carrier_id=UUID(UNUM),
        carrier_group_id="00000000",
        group_id=UUID(group_id),
        note="disconnected",
    )


async def test_an_audit_of_a_disconnected_group_is_refused_or_skipped(
    api: httpx.AsyncClient, database: Database, client: Client, settings: Settings
) -> None:
    carrier_group_id = principal_id()
    group_id = await connected(api, PRINCIPAL, carrier_group_id)
    async with database.transaction() as session:
        connection = await session.scalar(
            select(GroupConnection).where(GroupConnection.group_id == UUID(group_id))
        )
        assert connection is not None
        connection.disconnected = 1
        connection_id = connection.id
    # The API refuses a disconnected group outright ...
    refused = await api.post(
        f"/api/v1/groups/{group_id}/audit_requests", json={"carrier_id": PRINCIPAL}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "carrier_id"
    # ... and a run that was already on its way (a schedule firing) ends without auditing.
    handle = await start_audit(
        client,
        settings,
        PullRequest(
            connection_id=connection_id,
            organization_id=connection.organization_id,
            group_id=UUID(group_id),
            carrier_id=UUID(PRINCIPAL),
            carrier_group_id=carrier_group_id,
            trigger=AuditTrigger.SCHEDULE,
            audit_id=uuid4(),
        ),
    )
    assert await handle.result() is None
    async with database.transaction() as session:
        triggers = list(
            await session.scalars(
                select(GroupAudit.trigger).where(GroupAudit.group_id == UUID(group_id))
            )
        )
    assert triggers == ["connection"]


async def test_audit_reads_before_any_audit_and_the_refusals(api: httpx.AsyncClient) -> None:
    group = (await api.post("/api/v1/groups", json={"name": "Quiet Co"})).json()
    base = f"/api/v1/groups/{group['id']}/audit_requests"

    latest = await api.get(f"{base}/latest")
    assert latest.status_code == 200
    assert latest.json() == {
        "group_id": group["id"],
        "completed_at": group["created"],
        "carrier_ids": [],
    }
    assert (await api.get(f"{base}/list_latest")).json() == []

    not_connected = await api.post(base, json={"carrier_id": PRINCIPAL})
    assert not_connected.status_code == 422
    assert not_connected.json()["errors"][0]["field"] == "carrier_id"
    unknown = await api.post(base, json={"carrier_id": "00000000-0000-4000-8000-000000000000"})
    assert unknown.status_code == 422
    assert (await api.post(base, json={})).status_code == 422
    assert (await api.get(f"{base}/00000000-0000-4000-8000-000000000000")).status_code == 404
    assert (await api.get(f"{base}/list_latest?effective_date=yesterday")).status_code == 422


async def test_another_organizations_audits_are_not_found(
    api: httpx.AsyncClient, api_server: Any, database: Database
) -> None:
    group_id = await connected(api, PRINCIPAL, principal_id())
    audit = await audited(api, group_id, PRINCIPAL)
    async with database.transaction() as session:
        _, token = await ensure_organization(session, f"other-{group_id[:8]}")
    base = f"/api/v1/groups/{group_id}/audit_requests"
    async with httpx.AsyncClient(
        base_url=api_server.url, headers={"Authorization": f"Bearer {token}"}
    ) as other:
        for response in (
            await other.get(f"{base}/latest"),
            await other.get(f"{base}/list_latest"),
            await other.get(f"{base}/{audit['id']}"),
            await other.post(base, json={"carrier_id": PRINCIPAL}),
        ):
            assert response.status_code == 404, response.text


async def test_connections_completed_before_audits_existed_get_their_schedule_back(
    api: httpx.AsyncClient, client: Client, settings: Settings
) -> None:
    carrier_group_id = principal_id()
    group_id = await connected(api, PRINCIPAL, carrier_group_id)
    handle = client.get_schedule_handle(
        schedule_id(UUID(PRINCIPAL), carrier_group_id, UUID(group_id))
    )
    await handle.delete()  # as if the connection had completed before audits existed

    ensured = await ensure_audit_schedules(settings, client)

    assert ensured >= 1
    described = await handle.describe()
    assert described.schedule.state.paused is False
    assert "Acme Corp" in (described.schedule.state.note or "")


async def test_a_failed_audit_stores_and_serves_its_reason(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, database: Database
) -> None:
    carrier_group_id = principal_id()
    group_id = await connected(api, PRINCIPAL, carrier_group_id)
    # The carrier no longer knows the group: its account answers 404, which is not retried.
    response = await sandbox.post(
        f"/_sandbox/principal/groups/{carrier_group_id}/changes",
        json={"kind": "set_status", "status": "not_found", "message": "no such group"},
    )
    assert response.status_code == 200, response.text
    requested = await api.post(
        f"/api/v1/groups/{group_id}/audit_requests", json={"carrier_id": PRINCIPAL}
    )
    assert requested.status_code == 201, requested.text
    audit_id = requested.json()["id"]

    async def stored_reason() -> str | None:
        async with database.transaction() as session:
            audit = await session.get(GroupAudit, UUID(audit_id))
            return audit.failure_reason if audit else None

    # Recorded by the run itself on the audit's row, not only in the run's history.
    reason = await eventually(stored_reason, within=15)
    assert reason.startswith("CarrierRejected: GET ")
    assert "404" in reason
    served = (await api.get(f"/api/v1/groups/{group_id}/audit_requests/{audit_id}")).json()
    assert served["status"] == "failed"
    assert served["failure_reason"] == reason
    assert served["completed_at"] is None
