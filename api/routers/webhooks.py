"""`/api/v1/webhook_subscriptions`: subscribe, read, edit, delete, rotate the secret, the log,
redeliver and test (contract 6). The use cases are `services.webhooks`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api import responses
from api.deps import DB, AppSettings, OrganizationId, TemporalClient
from api.openapi import ERROR_RESPONSES
from api.params import Page, Paging, csv_choices, date_param
from domain.errors import FieldProblem, ValidationFailed
from domain.webhooks import DeliveryStatus, EventType
from services.webhooks import Webhooks
from store.webhooks import DeliveryFilter

router = APIRouter(prefix="/api/v1", tags=["webhook subscriptions"], responses=ERROR_RESPONSES)
PATH = "/webhook_subscriptions"


class NewSubscription(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://platform.example.com/noyo/hooks",
                    "event_types": ["group_connection_request.status_change"],
                    "description": "connection status changes",
                }
            ]
        },
    )

    url: str = Field(max_length=2000)
    # Omitted: every event type.
    event_types: list[str] | None = None
    description: str | None = Field(default=None, max_length=500)


class SubscriptionEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"paused": True}]})

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = None
    description: str | None = Field(default=None, max_length=500)
    paused: bool | None = None


async def webhooks_dep(db: DB, temporal: TemporalClient, settings: AppSettings) -> Webhooks:
    return Webhooks(db, temporal, settings)


UseCases = Annotated[Webhooks, Depends(webhooks_dep)]


@router.post(PATH, status_code=201, response_model=responses.NewWebhookSubscription)
async def subscribe(
    body: NewSubscription, organization_id: OrganizationId, webhooks: UseCases
) -> dict[str, Any]:
    """The subscription with its `secret`: shown this once, keep it to verify signatures."""
    return await webhooks.subscribe(
        organization_id, url=body.url, event_types=body.event_types, description=body.description
    )


@router.get(PATH, response_model=Page[responses.WebhookSubscription])
async def list_subscriptions(
    organization_id: OrganizationId, webhooks: UseCases, page: Paging
) -> Page[Any]:
    """The organization's subscriptions (never their secrets)."""
    rows, total = await webhooks.list_subscriptions(
        organization_id, offset=page.offset, limit=page.page_size
    )
    return Page.of(rows, page, total)


@router.get(PATH + "/{subscription_id}", response_model=responses.WebhookSubscription)
async def get_subscription(
    subscription_id: uuid.UUID, organization_id: OrganizationId, webhooks: UseCases
) -> dict[str, Any]:
    """The subscription: where, which events, paused or not, and its delivery health."""
    return await webhooks.get(organization_id, subscription_id)


@router.put(PATH + "/{subscription_id}/{version}", response_model=responses.WebhookSubscription)
async def edit_subscription(
    subscription_id: uuid.UUID,
    version: uuid.UUID,
    body: SubscriptionEdit,
    organization_id: OrganizationId,
    webhooks: UseCases,
) -> dict[str, Any]:
    """Change `url`, `event_types`, `description` or `paused`; 409 unless `version` is current."""
    changes = body.model_dump(exclude_unset=True)
    # A 422 names its fields, as every 422 does (the document's ValidationErrorBody).
    nulls = [name for name in ("url", "paused") if name in changes and changes[name] is None]
    if nulls:
        raise ValidationFailed([FieldProblem(name, "cannot be null") for name in nulls])
    return await webhooks.update(organization_id, subscription_id, version, changes)


@router.delete(PATH + "/{subscription_id}", status_code=204)
async def delete_subscription(
    subscription_id: uuid.UUID, organization_id: OrganizationId, webhooks: UseCases
) -> Response:
    """Gone with its delivery log; nothing more is sent to it. Answers 204, no body."""
    await webhooks.delete(organization_id, subscription_id)
    return Response(status_code=204)


@router.post(
    PATH + "/{subscription_id}/rotate_secret", response_model=responses.RotatedWebhookSubscription
)
async def rotate_secret(
    subscription_id: uuid.UUID, organization_id: OrganizationId, webhooks: UseCases
) -> dict[str, Any]:
    """A new `secret` (shown this once); the old one keeps signing until
    `previous_secret_expires`."""
    return await webhooks.rotate_secret(organization_id, subscription_id)


@router.get(PATH + "/{subscription_id}/deliveries", response_model=Page[responses.WebhookDelivery])
async def list_deliveries(
    subscription_id: uuid.UUID,
    organization_id: OrganizationId,
    webhooks: UseCases,
    page: Paging,
    event_type: Annotated[str | None, Query(description="comma-separated event types")] = None,
    status: Annotated[str | None, Query(description="pending, delivered, failed")] = None,
    created_from: Annotated[str | None, Query(description="YYYY-MM-DD (UTC)")] = None,
    created_to: Annotated[str | None, Query(description="YYYY-MM-DD (UTC), inclusive")] = None,
) -> Page[Any]:
    """Newest first; each delivery with every attempt (time, response code, latency, next)."""
    start, end = date_param(created_from, "created_from"), date_param(created_to, "created_to")
    where = DeliveryFilter(
        event_types=csv_choices(event_type, "event_type", [t.value for t in EventType]),
        statuses=csv_choices(status, "status", [s.value for s in DeliveryStatus]),
        created_from=_day_start(start) if start else None,
        created_to=_day_start(end) + 86_399 if end else None,
    )
    rows, total = await webhooks.deliveries(
        organization_id, subscription_id, where, offset=page.offset, limit=page.page_size
    )
    return Page.of(rows, page, total)


@router.post(
    PATH + "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=responses.WebhookDelivery,
)
async def redeliver(
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
    organization_id: OrganizationId,
    webhooks: UseCases,
) -> dict[str, Any]:
    """A new delivery of the same event (same `event.id`), sent as soon as the loop polls."""
    return await webhooks.redeliver(organization_id, subscription_id, delivery_id)


@router.post(
    PATH + "/{subscription_id}/test", status_code=202, response_model=responses.WebhookDelivery
)
async def send_test(
    subscription_id: uuid.UUID, organization_id: OrganizationId, webhooks: UseCases
) -> dict[str, Any]:
    """Sends `test.hello_world` to this subscription; answers with its delivery."""
    return await webhooks.test(organization_id, subscription_id)


def _day_start(day: date) -> int:
    return int(datetime.combine(day, time.min, tzinfo=UTC).timestamp())
