"""Webhook subscriptions, the use cases: subscribe, read, edit, delete, rotate, log, resend, test.

Shared by the API and the admin CLI. A subscription's delivery loop (`workflows.webhooks`) is
started in the transaction that creates the subscription (a failed start keeps nothing; a loop
whose subscription never committed ends once it has stayed missing for 30 s), and ensured
again by the calls that expect it to deliver (edit, redeliver, test), so a loop an operator
ended comes back.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from domain import webhooks as rules
from domain.errors import Conflict, NotFound
from domain.webhooks import EventType, SubscriptionStatus
from runtime.settings import Settings
from store import webhooks as store
from store.db import Database
from store.models import unix_now
from store.versioning import save_version
from workflows import webhooks as wf


@dataclass(frozen=True)
class Webhooks:
    """The use cases, with what they need: the database, the Temporal client, the settings."""

    db: Database
    temporal: Client
    settings: Settings

    async def subscribe(
        self,
        organization_id: uuid.UUID,
        *,
        url: str,
        event_types: list[str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """The new subscription, with its signing secret (the only time it is shown)."""
        await self.check_url(url)
        types = rules.check_event_types(event_types)
        secret = new_secret()
        subscription_id = uuid.uuid4()
        async with self.db.transaction() as session:
            row = store.WebhookSubscription(
                id=subscription_id,
                organization_id=organization_id,
                url=url,
                event_types=types,
                description=description,
                paused=False,
                status=SubscriptionStatus.HEALTHY.value,
                secret=secret,
                workflow_id=wf.workflow_id(subscription_id),
            )
            await save_version(session, row, is_new=True)
            await self._ensure_loop(subscription_id)
            return {**row.as_contract(), "secret": secret}

    async def list_subscriptions(
        self, organization_id: uuid.UUID, *, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        async with self.db.transaction() as session:
            rows, total = await store.subscriptions(
                session, organization_id, offset=offset, limit=limit
            )
            return [row.as_contract() for row in rows], total

    async def get(self, organization_id: uuid.UUID, subscription_id: uuid.UUID) -> dict[str, Any]:
        async with self.db.transaction() as session:
            return (await self._owned(session, organization_id, subscription_id)).as_contract()

    async def update(
        self,
        organization_id: uuid.UUID,
        subscription_id: uuid.UUID,
        version: uuid.UUID,
        changes: dict[str, Any],
    ) -> dict[str, Any]:
        """Edit url, event types, description or `paused`; unpausing makes it healthy again
        (its pending deliveries go out, and its failing clock restarts)."""
        if "url" in changes:
            await self.check_url(changes["url"])
        async with self.db.transaction() as session:
            row = await self._owned(session, organization_id, subscription_id, for_update=True)
            if row.version != version:
                raise Conflict(
                    f"version conflict: the current version is {row.version}",
                    current_version=str(row.version),
                )
            if "url" in changes:
                row.url = changes["url"]
            if "event_types" in changes:
                row.event_types = rules.check_event_types(changes["event_types"])
            if "description" in changes:
                row.description = changes["description"]
            if "paused" in changes:
                if row.paused and not changes["paused"]:
                    row.status = SubscriptionStatus.HEALTHY.value
                    row.failing_since = None
                row.paused = bool(changes["paused"])
            await save_version(session, row)
            await self._ensure_loop(subscription_id)
            return row.as_contract()

    async def delete(self, organization_id: uuid.UUID, subscription_id: uuid.UUID) -> None:
        """Gone with its deliveries; its loop notices at its next poll and ends."""
        async with self.db.transaction() as session:
            row = await self._owned(session, organization_id, subscription_id, for_update=True)
            await session.delete(row)

    async def rotate_secret(
        self, organization_id: uuid.UUID, subscription_id: uuid.UUID
    ) -> dict[str, Any]:
        """A new secret (shown this once); the old one signs alongside it for the grace period."""
        secret = new_secret()
        async with self.db.transaction() as session:
            row = await self._owned(session, organization_id, subscription_id, for_update=True)
            row.previous_secret = row.secret
            row.previous_secret_until = unix_now() + int(
                self.settings.webhook_secret_grace.total_seconds()
            )
            row.secret = secret
            await save_version(session, row)
            return {
                **row.as_contract(),
                "secret": secret,
                "previous_secret_expires": row.previous_secret_until,
            }

    async def deliveries(
        self,
        organization_id: uuid.UUID,
        subscription_id: uuid.UUID,
        where: store.DeliveryFilter,
        *,
        offset: int,
        limit: int,
    ) -> tuple[list[dict[str, Any]], int]:
        async with self.db.transaction() as session:
            await self._owned(session, organization_id, subscription_id)
            return await store.deliveries(
                session, subscription_id, where, offset=offset, limit=limit
            )

    async def redeliver(
        self, organization_id: uuid.UUID, subscription_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> dict[str, Any]:
        """The event sent again as a new delivery (same `event.id`), due now."""
        async with self.db.transaction() as session:
            await self._owned(session, organization_id, subscription_id)
            again = await store.redeliver(session, subscription_id, delivery_id)
            if again is None:
                raise NotFound.of("webhook delivery")
            await self._ensure_loop(subscription_id)
            return await store.delivery_view(session, again)

    async def test(self, organization_id: uuid.UUID, subscription_id: uuid.UUID) -> dict[str, Any]:
        """`test.hello_world` to this subscription alone, whatever its filter."""
        async with self.db.transaction() as session:
            row = await self._owned(session, organization_id, subscription_id)
            (delivery_id,) = await store.record_event(
                session,
                organization_id,
                EventType.TEST_HELLO_WORLD,
                rules.created(row.id),
                subscription_id=row.id,
            )
            await self._ensure_loop(subscription_id)
            delivery = await session.get(store.WebhookDelivery, delivery_id)
            assert delivery is not None
            return await store.delivery_view(session, delivery)

    async def check_url(self, url: str) -> None:
        """422 unless `url` is http(s) and its host resolves to addresses the settings allow."""
        host = rules.check_url_shape(url)
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError:
            found = []
        rules.check_addresses(
            [str(info[4][0]) for info in found],
            allow_loopback=self.settings.webhook_allow_loopback,
            allow_private=self.settings.webhook_allow_private,
        )

    async def _owned(
        self,
        session: Any,
        organization_id: uuid.UUID,
        subscription_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> store.WebhookSubscription:
        row = await store.subscription(
            session, subscription_id, organization_id, for_update=for_update
        )
        if row is None:
            raise NotFound.of("webhook subscription")
        return row

    async def _ensure_loop(self, subscription_id: uuid.UUID) -> None:
        await self.temporal.start_workflow(
            wf.WebhookDeliveryWorkflow.run,
            wf.WebhookDeliveryInput(subscription_id=subscription_id),
            id=wf.workflow_id(subscription_id),
            task_queue=self.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"webhook deliveries of subscription {subscription_id}",
        )


def new_secret() -> str:
    """A high-entropy signing secret (256 bits)."""
    return "whsec_" + secrets.token_urlsafe(32)
