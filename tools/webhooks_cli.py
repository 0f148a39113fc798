"""`carrierlink-admin webhooks ...`: list, create and test webhook subscriptions from a shell."""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

from runtime import temporal
from runtime.settings import Settings
from services.webhooks import Webhooks
from store import webhooks as store
from store.db import Database
from store.tenancy import ensure_organization


def add_commands(commands: Any) -> None:
    """The `webhooks` subcommand group of the admin CLI."""
    group = commands.add_parser("webhooks", help="list, create and test webhook subscriptions")
    actions = group.add_subparsers(dest="webhooks_command", required=True)
    listing = actions.add_parser("list", help="every subscription (of one organization)")
    listing.add_argument("--organization", help="organization name")
    create = actions.add_parser("create", help="subscribe a URL; prints the secret once")
    create.add_argument("organization", help="organization name (created if new)")
    create.add_argument("url")
    create.add_argument(
        "--event-type", action="append", dest="event_types", help="repeat; default: every type"
    )
    create.add_argument("--description")
    test = actions.add_parser("test", help="send test.hello_world to a subscription")
    test.add_argument("subscription_id", type=uuid.UUID)


async def run(settings: Settings, args: argparse.Namespace) -> str:
    """Carry out `args.webhooks_command`; what to print."""
    db = Database(settings.require_database_url(), pool_size=1)
    try:
        if args.webhooks_command == "list":
            return await _list(db, args.organization)
        use_cases = Webhooks(db, await temporal.connect(settings), settings)
        if args.webhooks_command == "create":
            async with db.transaction() as session:
                organization, _ = await ensure_organization(session, args.organization)
            created = await use_cases.subscribe(
                organization.id,
                url=args.url,
                event_types=args.event_types,
                description=args.description,
            )
            return json.dumps(created, indent=2)
        async with db.transaction() as session:
            owner = await store.owner_of(session, args.subscription_id)
        if owner is None:
            raise SystemExit(f"no webhook subscription {args.subscription_id}")
        return json.dumps(await use_cases.test(owner, args.subscription_id), indent=2)
    finally:
        await db.dispose()


async def _list(db: Database, organization: str | None) -> str:
    async with db.transaction() as session:
        if organization is None:
            rows = await store.all_subscriptions(session)
        else:
            organization_id = await store.organization_named(session, organization)
            if organization_id is None:
                raise SystemExit(f"no organization {organization!r}")
            rows, _ = await store.subscriptions(session, organization_id, offset=0, limit=10_000)
    lines = [
        f"{row.id}  {row.status:9}  {'paused' if row.paused else 'active':6}  {row.url}  "
        f"{','.join(row.event_types) if row.event_types else 'all events'}"
        for row in rows
    ]
    return "\n".join(lines) or "no webhook subscriptions"
