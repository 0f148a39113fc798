"""Webhooks end to end: state changes -> outbox -> WebhookDelivery -> a real signed POST.

The receiver is an HTTP server in the test on a free loopback port; it verifies every signature
(the contract's scheme, in constant time, timestamps fresh) and counts whatever fails to verify.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import delete, select
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client

from domain import webhooks as rules
from domain.webhooks import delivery_queue
from runtime.settings import Settings
from store.db import Database
from store.models import Difference, Group
from store.tenancy import ensure_organization
from store.webhooks import WebhookDelivery, WebhookEvent, WebhookSubscription
from tests.harness import AppServer, eventually, free_port
from tests.integration.test_connections import PRINCIPAL, new_connection, principal_id, reaches
from tests.integration.test_member_snapshots import both_carriers, coverages, settled, submitted
from tests.integration.test_worker_crash import WorkerProcess, api_on
from tools import webhooks_cli
from tools.sample_snapshots import new_hire, unique_id
from worker import build_worker
from workflows.webhooks import workflow_id as delivery_loop_id

pytestmark = pytest.mark.integration

API = "/api/v1/webhook_subscriptions"
ID_KEYS = {"id", "group_id", "carrier_id", "employee_id", "member_snapshot_id"}
STATUS_KEYS = {"status", "old_status", "new_status"}


class Receiver:
    """A platform's webhook endpoint: verifies, then keeps each event (or answers `answer`)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secrets: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.signature_headers: list[str] = []
        self.unverified = 0
        self.answer = 200
        # Seconds each answer takes, and how many requests came in (verified or not).
        self.delay = 0.0
        self.requests = 0
        self._server: AppServer | None = None
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.requests += 1
            raw = await request.body()
            if self.delay:
                await asyncio.sleep(self.delay)
            signature = request.headers.get(rules.SIGNATURE_HEADER, "")
            timestamp = request.headers.get(rules.TIMESTAMP_HEADER, "")
            now = datetime.now(UTC)
            if not any(
                rules.verify(secret, signature, timestamp, raw, now=now) for secret in self.secrets
            ):
                self.unverified += 1
                return Response(status_code=401)
            if self.answer != 200:
                return Response(status_code=self.answer)
            self.signature_headers.append(signature)
            self.events.append(json.loads(raw))
            return Response(status_code=200)

        self.app = app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self._server = AppServer(self.app, port=self.port)
        await self._server.__aenter__()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.__aexit__(None, None, None)
            self._server = None

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"]["type"] == event_type]

    async def receives(self, event_type: str, within: float = 30, **data: Any) -> dict[str, Any]:
        """The first event of `event_type` whose data has every given value."""

        async def found() -> dict[str, Any] | None:
            for event in self.of_type(event_type):
                if all(event["data"].get(k) == v for k, v in data.items()):
                    return event
            return None

        return dict(await eventually(found, within=within))


@pytest.fixture
async def receiver(database: Database) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
        # Its subscriptions go too, so their loops end instead of polling for the session.
        async with database.transaction() as session:
            await session.execute(
                delete(WebhookSubscription).where(WebhookSubscription.url == receiver.url)
            )
        assert receiver.unverified == 0, "a delivery failed signature verification"


async def subscribe(api: httpx.AsyncClient, receiver: Receiver, **body: Any) -> dict[str, Any]:
    response = await api.post(API, json={"url": receiver.url, **body})
    assert response.status_code == 201, response.text
    created = dict(response.json())
    assert created["secret"].startswith("whsec_")
    receiver.secrets.append(created["secret"])
    return created


@pytest.fixture
async def other_org(api_server: AppServer, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with database.transaction() as session:
        _, token = await ensure_organization(session, f"other-{uuid.uuid4().hex[:10]}")
    async with httpx.AsyncClient(
        base_url=api_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        yield http


def only_ids_and_statuses(event: dict[str, Any]) -> None:
    assert set(event) == {"data", "event"}
    assert set(event["event"]) == {"id", "created", "type"}
    for key, value in event["data"].items():
        assert key in ID_KEYS | STATUS_KEYS, key
        if key in ID_KEYS and value is not None:
            uuid.UUID(value)


async def test_group_connection_and_disconnection_events_arrive_signed_after_the_change(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    subscription = await subscribe(api, receiver, description="everything")
    assert subscription["event_types"] is None
    assert subscription["status"] == "healthy"

    response = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id())
    )
    assert response.status_code == 201, response.text
    connection = response.json()
    group_id = connection["group_id"]

    await receiver.receives("group.created", id=group_id)
    created = await receiver.receives("group_connection_request.created", id=connection["id"])
    assert created["data"]["group_id"] == group_id
    assert created["data"]["carrier_id"] == PRINCIPAL
    completed = await receiver.receives(
        "group_connection_request.status_change", id=connection["id"], new_status="completed"
    )
    # The event is committed with the change: by the time it arrives the change is readable.
    current = (await api.get(f"/api/v1/group_connections/{connection['id']}")).json()
    assert current["status"] == "completed"
    changes = [
        (e["data"]["old_status"], e["data"]["new_status"])
        for e in receiver.of_type("group_connection_request.status_change")
        if e["data"]["id"] == connection["id"]
    ]
    # Ordering is not guaranteed (deliveries go out concurrently): the changes, in any order,
    # chain from `created` to `completed`.
    following = dict(changes)
    assert len(following) == len(changes), changes
    status, path = "created", ["created"]
    while status in following:
        status = following[status]
        path.append(status)
    assert path[-1] == "completed", changes
    assert len(path) == len(changes) + 1, changes
    assert completed["data"]["old_status"] is not None

    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    response = await api.post(
        "/api/v1/group_disconnection_requests",
        json={"carrier_id": PRINCIPAL, "group_id": group_id, "effective_end_date": yesterday},
    )
    assert response.status_code == 201, response.text
    request_id = response.json()["id"]
    opened = await receiver.receives("group_disconnection_request.created", id=request_id)
    assert opened["data"]["status"] == "processing"
    await receiver.receives(
        "group_disconnection_request.status_change",
        id=request_id,
        old_status="processing",
        new_status="completed",
    )
    current = (await api.get(f"/api/v1/group_disconnection_requests/{request_id}")).json()
    assert current["status"] == "completed"

    for event in receiver.events:
        only_ids_and_statuses(event)
    assert len({e["event"]["id"] for e in receiver.events}) == len(receiver.events)


async def test_snapshot_fulfillment_and_difference_events(
    api: httpx.AsyncClient, receiver: Receiver, database: Database
) -> None:
    await subscribe(api, receiver)
    group_id, choices = await both_carriers(api)
    # Hired in January, sent in the autumn: Principal dates the coverage its own way, and the
    # effective date having passed, each difference found is at once a discrepancy.
    body = new_hire(
        unique_id(),
        coverages(choices),
        hire_date=datetime(2026, 1, 5).date(),
        start=datetime(2026, 1, 8).date(),
    )
    snapshot = await submitted(api, group_id, body)
    done = await settled(api, snapshot["id"])
    assert done["status"] == "completed"

    await receiver.receives(
        "member_snapshot.status_change", id=snapshot["id"], new_status="processing"
    )
    await receiver.receives(
        "member_snapshot.status_change", id=snapshot["id"], new_status="completed"
    )
    sent = await receiver.receives(
        "member_snapshot_carrier_fulfillment_status.status_change",
        id=snapshot["id"],
        carrier_id=PRINCIPAL,
        new_status="sent",
    )
    assert sent["data"]["member_snapshot_id"] == snapshot["id"]
    difference = await receiver.receives("difference.created", carrier_id=PRINCIPAL, within=60)
    await receiver.receives("difference.discrepancy", id=difference["data"]["id"])

    # Resolved and replaced: written here as the store writes them, one transaction each.
    async with database.transaction() as session:
        rows = list(
            await session.scalars(
                select(Difference).where(Difference.group_id == uuid.UUID(group_id))
            )
        )
        rows[0].resolved = int(datetime.now(UTC).timestamp())
    await receiver.receives("difference.resolved", id=str(rows[0].id))
    async with database.transaction() as session:
        row = await session.get(Difference, rows[0].id)
        assert row is not None
        row.replaced_by = uuid.uuid4()
    await receiver.receives("difference.replaced", id=str(rows[0].id))

    for event in receiver.events:
        only_ids_and_statuses(event)


async def test_renewal_decision_events_arrive_as_the_decision_becomes_ready(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    from tests.integration.test_renewal_decisions import (
        connected,
        decided,
        group_plans,
        renewal_on,
        submit,
    )

    await subscribe(
        api,
        receiver,
        event_types=["renewal_decision.created", "renewal_decision.status_change"],
    )
    group_id = await connected(api, PRINCIPAL, principal_id())
    dental = [
        p for p in await group_plans(api, group_id, PRINCIPAL) if p["line_of_coverage"] == "dental"
    ]
    renewal = renewal_on(1)
    decision = await submit(api, group_id, renewal, decided(PRINCIPAL, dental[0], renewal))
    created = await receiver.receives("renewal_decision.created", id=decision["id"])
    assert created["data"] == {"id": decision["id"], "group_id": group_id, "status": "submitted"}
    ready = await receiver.receives(
        "renewal_decision.status_change", id=decision["id"], new_status="ready"
    )
    assert ready["data"]["old_status"] == "submitted"
    for event in receiver.events:
        only_ids_and_statuses(event)
    assert {e["event"]["type"] for e in receiver.events} <= {
        "renewal_decision.created",
        "renewal_decision.status_change",
    }


async def test_feed_run_events_follow_a_run_from_building_to_the_carriers_999(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    from tests.integration.test_feeds import built, feed_of_group, hire

    await subscribe(api, receiver, event_types=["feed_run.created", "feed_run.status_change"])
    group_id, feed, choices, _ = await feed_of_group(api)
    employee = await hire(api, group_id, choices, ssn="318530718")
    await built(api, employee)
    response = await api.post(f"/api/v1/feeds/{feed['id']}/runs")
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]

    created = await receiver.receives("feed_run.created", id=run_id)
    assert created["data"] == {"id": run_id, "group_id": group_id, "status": "building"}
    accepted = await receiver.receives(
        "feed_run.status_change", id=run_id, new_status="accepted", within=60
    )
    assert accepted["data"]["old_status"] == "sent"
    changes = [
        (e["data"]["old_status"], e["data"]["new_status"])
        for e in receiver.of_type("feed_run.status_change")
        if e["data"]["id"] == run_id
    ]
    assert set(changes) == {("building", "built"), ("built", "sent"), ("sent", "accepted")}
    for event in receiver.events:
        only_ids_and_statuses(event)


async def test_an_event_is_recorded_with_its_change_and_rolled_back_with_it(
    api: httpx.AsyncClient, receiver: Receiver, database: Database
) -> None:
    subscription = await subscribe(api, receiver)
    kept = (await api.post("/api/v1/groups", json={"name": "Kept Co"})).json()
    await receiver.receives("group.created", id=kept["id"])

    class Abandon(Exception):
        pass

    never = uuid.uuid4()

    async def add_then_abandon() -> None:
        async with database.transaction() as session:
            owner = await session.get(Group, uuid.UUID(kept["id"]))
            assert owner is not None
            session.add(Group(id=never, organization_id=owner.organization_id, name="Never Co"))
            await session.flush()
            # The flush wrote the event, in this transaction.
            assert await _event_ids(session, never)
            raise Abandon

    with pytest.raises(Abandon):
        await add_then_abandon()
    async with database.transaction() as session:
        assert await _event_ids(session, never) == []
    # Nothing for it ever arrives: the next event through is the test event.
    before = len(receiver.events)
    assert (await api.post(f"{API}/{subscription['id']}/test")).status_code == 202
    await receiver.receives("test.hello_world")
    assert [e["event"]["type"] for e in receiver.events[before:]] == ["test.hello_world"]


async def _event_ids(session: Any, resource_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        await session.scalars(
            select(WebhookEvent.id).where(WebhookEvent.data["id"].astext == str(resource_id))
        )
    )


async def test_event_type_filters_hold(api: httpx.AsyncClient, receiver: Receiver) -> None:
    subscription = await subscribe(api, receiver, event_types=["group.created"])
    assert subscription["event_types"] == ["group.created"]
    response = await api.post(
        "/api/v1/group_connections", json=new_connection(PRINCIPAL, principal_id())
    )
    assert response.status_code == 201, response.text
    await reaches(api, response.json()["id"], "completed")
    await receiver.receives("group.created", id=response.json()["group_id"])
    # The test event reaches a subscription whatever its filter.
    assert (await api.post(f"{API}/{subscription['id']}/test")).status_code == 202
    await receiver.receives("test.hello_world", id=subscription["id"])
    assert {e["event"]["type"] for e in receiver.events} == {"group.created", "test.hello_world"}

    refused = await api.post(API, json={"url": receiver.url, "event_types": ["group.deleted"]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "event_types"


async def test_a_receiver_down_for_a_while_then_up_receives_everything(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    subscription = await subscribe(api, receiver, event_types=["group.created"])
    await receiver.stop()
    groups = []
    for n in range(5):
        response = await api.post("/api/v1/groups", json={"name": f"Outage {n}"})
        assert response.status_code == 201, response.text
        groups.append(response.json()["id"])

    async def failed_attempts() -> list[dict[str, Any]]:
        page = (
            await api.get(f"{API}/{subscription['id']}/deliveries", params={"status": "pending"})
        ).json()
        return [a for d in page["response"] for a in d["attempts"]]

    try:
        attempts = await eventually(failed_attempts, within=30)
    except AssertionError:
        log = (await api.get(f"{API}/{subscription['id']}/deliveries")).json()
        raise AssertionError(f"no failed attempt; got {receiver.events}; log {log}") from None
    assert attempts[0]["response_code"] is None
    assert attempts[0]["error"] == "connection refused"
    assert attempts[0]["next_attempt"] >= attempts[0]["attempted"]

    # Failing answers are retried too.
    receiver.answer = 503

    async def answered_503() -> bool:
        return any(a["response_code"] == 503 for a in await failed_attempts())

    await receiver.start()
    await eventually(answered_503, within=40)
    receiver.answer = 200
    for group_id in groups:
        await receiver.receives("group.created", id=group_id, within=60)

    async def all_delivered() -> list[dict[str, Any]] | None:
        page = (await api.get(f"{API}/{subscription['id']}/deliveries")).json()
        done = all(d["status"] == "delivered" for d in page["response"])
        return page["response"] if done and page["meta"]["total_records"] == 5 else None

    for delivery in await eventually(all_delivered, within=10):
        assert delivery["next_attempt"] is None
        assert len(delivery["attempts"]) >= 2
        assert delivery["attempts"][-1]["response_code"] == 200
        assert delivery["attempts"][-1]["next_attempt"] is None
    current = (await api.get(f"{API}/{subscription['id']}")).json()
    assert current["status"] == "healthy"


async def test_redeliver_and_test_and_the_delivery_log(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    subscription = await subscribe(api, receiver)
    response = await api.post(f"{API}/{subscription['id']}/test")
    assert response.status_code == 202, response.text
    delivery = response.json()
    assert delivery["event_type"] == "test.hello_world"
    assert delivery["status"] == "pending"
    hello = await receiver.receives("test.hello_world", id=subscription["id"])

    async def delivered() -> dict[str, Any] | None:
        page = (
            await api.get(
                f"{API}/{subscription['id']}/deliveries",
                params={"event_type": "test.hello_world", "status": "delivered"},
            )
        ).json()
        return page["response"][0] if page["response"] else None

    logged = await eventually(delivered, within=10)
    assert logged["id"] == delivery["id"]
    assert logged["attempts"][0]["response_code"] == 200
    assert logged["attempts"][0]["latency_ms"] >= 0

    again = await api.post(f"{API}/{subscription['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202, again.text
    assert again.json()["id"] != delivery["id"]
    assert again.json()["event_id"] == delivery["event_id"]

    async def twice() -> bool:
        return len(receiver.of_type("test.hello_world")) == 2

    await eventually(twice, within=10)
    # Same event, so a receiver deduplicating on event.id sees it once.
    assert {e["event"]["id"] for e in receiver.of_type("test.hello_world")} == {
        hello["event"]["id"]
    }

    today = datetime.now(UTC).date().isoformat()
    for params, expected in [
        ({"event_type": "group.created"}, 0),
        ({"created_from": today, "created_to": today}, 2),
        ({"status": "failed"}, 0),
    ]:
        page = (await api.get(f"{API}/{subscription['id']}/deliveries", params=params)).json()
        assert page["meta"]["total_records"] == expected, params
    bad = await api.get(f"{API}/{subscription['id']}/deliveries", params={"status": "lost"})
    assert bad.status_code == 422
    missing = await api.post(f"{API}/{subscription['id']}/deliveries/{uuid.uuid4()}/redeliver")
    assert missing.status_code == 404


async def test_edit_pause_and_delete(
    api: httpx.AsyncClient, receiver: Receiver, database: Database
) -> None:
    subscription = await subscribe(api, receiver, event_types=["group.created"])
    path = f"{API}/{subscription['id']}"
    stale = await api.put(f"{path}/{uuid.uuid4()}", json={"paused": True})
    assert stale.status_code == 409, stale.text
    nulls = await api.put(f"{path}/{subscription['version']}", json={"url": None, "paused": None})
    assert nulls.status_code == 422, nulls.text
    # Named field by field, as every 422 (the document's ValidationErrorBody).
    assert [error["field"] for error in nulls.json()["errors"]] == ["url", "paused"]
    paused = await api.put(f"{path}/{subscription['version']}", json={"paused": True})
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True
    group = (await api.post("/api/v1/groups", json={"name": "While paused"})).json()

    async def recorded() -> bool:
        page = (await api.get(f"{path}/deliveries", params={"status": "pending"})).json()
        return page["meta"]["total_records"] == 1

    # Still recorded while paused, not sent.
    await eventually(recorded, within=5)
    assert receiver.of_type("group.created") == []

    resumed = await api.put(
        f"{path}/{paused.json()['version']}",
        json={
            "paused": False,
            "event_types": ["group.created", "group_connection_request.created"],
        },
    )
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["event_types"] == ["group.created", "group_connection_request.created"]
    await receiver.receives("group.created", id=group["id"])

    assert (await api.delete(path)).status_code == 204
    assert (await api.get(path)).status_code == 404
    async with database.transaction() as session:
        left = await session.scalar(
            select(WebhookDelivery.id).where(
                WebhookDelivery.subscription_id == uuid.UUID(subscription["id"])
            )
        )
    assert left is None


async def test_rotate_secret_signs_with_both_during_the_grace_period(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    subscription = await subscribe(api, receiver)
    old = subscription["secret"]
    rotated = await api.post(f"{API}/{subscription['id']}/rotate_secret")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert rotated.json()["previous_secret_expires"] > datetime.now(UTC).timestamp()
    assert "secret" not in (await api.get(f"{API}/{subscription['id']}")).json()
    # A receiver that knows only the new secret verifies.
    receiver.secrets = [new]
    await api.post(f"{API}/{subscription['id']}/test")
    await receiver.receives("test.hello_world")
    assert len(receiver.signature_headers[-1].split(",")) == 2
    # And one that still knows only the old one does too, during the grace period.
    receiver.secrets = [old]
    await api.post(f"{API}/{subscription['id']}/test")

    async def twice() -> bool:
        return len(receiver.of_type("test.hello_world")) == 2

    await eventually(twice, within=10)


async def test_urls_are_checked(api: httpx.AsyncClient) -> None:
    for url, reason in [
        ("ftp://example.com/hook", "http or https"),
        ("http://10.1.2.3/hook", "private"),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://192.168.1.20:8080/hook", "private"),
    ]:
        response = await api.post(API, json={"url": url})
        assert response.status_code == 422, (url, response.text)
        assert response.json()["errors"][0]["field"] == "url"
        assert reason in response.json()["errors"][0]["message"]


async def test_another_organization_cannot_see_or_touch_a_subscription(
    api: httpx.AsyncClient, other_org: httpx.AsyncClient, receiver: Receiver
) -> None:
    subscription = await subscribe(api, receiver)
    delivery = (await api.post(f"{API}/{subscription['id']}/test")).json()
    path = f"{API}/{subscription['id']}"
    assert (await other_org.get(API)).json()["meta"]["total_records"] == 0
    for method, url in [
        ("GET", path),
        ("PUT", f"{path}/{subscription['version']}"),
        ("DELETE", path),
        ("POST", f"{path}/rotate_secret"),
        ("GET", f"{path}/deliveries"),
        ("POST", f"{path}/deliveries/{delivery['id']}/redeliver"),
        ("POST", f"{path}/test"),
    ]:
        response = await other_org.request(
            method, url, json={"paused": True} if method == "PUT" else None
        )
        assert response.status_code == 404, (method, url, response.text)
    # Nor do its events reach this subscription.
    await other_org.post("/api/v1/groups", json={"name": "Other Co"})
    await receiver.receives("test.hello_world")
    assert (await api.get(path)).json()["version"] == subscription["version"]
    listed = (await api.get(API)).json()
    assert [s["id"] for s in listed["response"]] == [subscription["id"]]
    assert all(e["event"]["type"] == "test.hello_world" for e in receiver.events)


async def test_the_admin_cli_creates_lists_and_tests_subscriptions(
    settings: Settings, receiver: Receiver, worker: None
) -> None:
    organization = f"cli-{uuid.uuid4().hex[:8]}"
    commands = argparse.ArgumentParser()
    webhooks_cli.add_commands(commands.add_subparsers(dest="command"))

    def parse(*argv: str) -> argparse.Namespace:
        return commands.parse_args(["webhooks", *argv])

    created = json.loads(
        await webhooks_cli.run(
            settings, parse("create", organization, receiver.url, "--event-type", "group.created")
        )
    )
    receiver.secrets.append(created["secret"])
    assert created["event_types"] == ["group.created"]
    listed = await webhooks_cli.run(settings, parse("list", "--organization", organization))
    assert created["id"] in listed
    assert "group.created" in listed
    sent = json.loads(await webhooks_cli.run(settings, parse("test", created["id"])))
    assert sent["event_type"] == "test.hello_world"
    await receiver.receives("test.hello_world", id=created["id"])


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.kill()


async def test_a_worker_killed_mid_delivery_loses_nothing(
    settings: Settings,
    database: Database,
    client: Client,
    org_token: str,
    receiver: Receiver,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """The kill lands while POSTs are in flight (the receiver answers slowly): the worker never
    records them, their lease runs out, and the next worker sends them again."""
    isolated = settings.model_copy(update={"task_queue": f"crash-{uuid.uuid4().hex[:8]}"})
    workers.append(WorkerProcess(isolated, tmp_path / "worker-1.log"))
    await workers[0].polling()
    async with api_on(isolated, database, client, org_token) as api:
        await subscribe(api, receiver, event_types=["group.created"])
        receiver.delay = 3.0
        groups = [
            (await api.post("/api/v1/groups", json={"name": f"Crash {n}"})).json()["id"]
            for n in range(10)
        ]

        async def in_flight() -> bool:
            return receiver.requests > 0

        await eventually(in_flight, within=30, interval=0.05)
        workers[0].kill()
        receiver.delay = 0.0
        workers.append(WorkerProcess(isolated, tmp_path / "worker-2.log"))
        await workers[1].polling()
        for group_id in groups:
            await receiver.receives("group.created", id=group_id, within=90)
    # At least once: a repeat only for what was in flight at the kill.
    assert len(receiver.events) <= len(groups) + receiver.requests


async def test_an_engine_worker_alone_does_not_deliver_and_a_webhooks_worker_does(
    settings: Settings,
    database: Database,
    client: Client,
    org_token: str,
    receiver: Receiver,
) -> None:
    """The roles split the queues: the `engine` worker runs the delivery loop, whose turn waits
    on `<queue>-webhooks` until a `webhooks` worker polls it."""
    isolated = settings.model_copy(
        update={
            "task_queue": f"split-{uuid.uuid4().hex[:8]}",
            # The turn in flight at the end is cancelled, not waited for (it lasts minutes).
            "worker_graceful_shutdown": timedelta(seconds=1),
        }
    )
    async with (
        build_worker(isolated, client, database=database, role="engine") as engine,
        engine,
        api_on(isolated, database, client, org_token) as api,
    ):
        assert engine.task_queues == [isolated.task_queue]
        subscription = await subscribe(api, receiver, event_types=["group.created"])
        created = await api.post("/api/v1/groups", json={"name": "Split roles"})
        assert created.status_code == 201, created.text
        loop = client.get_workflow_handle(delivery_loop_id(uuid.UUID(subscription["id"])))

        async def turn_waiting() -> bool:
            pending = (await loop.describe()).raw_description.pending_activities
            return any(
                activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
                for activity in pending
            )

        await eventually(turn_waiting, within=30)
        await asyncio.sleep(2)  # four of a turn's polls: it would have sent by now
        assert receiver.requests == 0

        async with build_worker(isolated, client, database=database, role="webhooks") as hooks:
            assert hooks.task_queues == [delivery_queue(isolated.task_queue)]
            async with hooks:
                await receiver.receives("group.created", id=created.json()["id"])
