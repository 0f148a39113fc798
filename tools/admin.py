"""`carrierlink-admin`: prepare a database, issue API tokens, ensure audit schedules, webhooks."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy import select
from temporalio.client import Client

from carriers import CARRIERS
from domain.audits import PullRequest
from domain.connections import ConnectionStatus
from runtime import temporal
from runtime.settings import Settings, get_settings
from services.audits import ensure_audit_schedule
from store import migrate
from store.db import Database
from store.models import Carrier, Group, GroupConnection
from store.tenancy import ensure_organization, sync_carriers
from tools import webhooks_cli


async def prepare_database(settings: Settings) -> None:
    """Migrate to the latest revision, sync the carrier registry, ensure the dev organization."""
    url = settings.require_database_url()
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as session:
            await sync_carriers(
                session,
                [
                    Carrier(
                        id=c.id,
                        slug=c.slug,
                        name=c.name,
                        lines_of_coverage=[str(line) for line in c.lines_of_coverage],
                        network=c.network,
                    )
                    for c in CARRIERS.values()
                ],
            )
            await ensure_organization(session, settings.dev_organization, token=settings.dev_token)
    finally:
        await db.dispose()


async def issue_token(settings: Settings, organization: str) -> str:
    """A new token for `organization` (created if new)."""
    db = Database(settings.require_database_url(), pool_size=1)
    try:
        async with db.transaction() as session:
            _, token = await ensure_organization(session, organization)
    finally:
        await db.dispose()
    assert token is not None
    return token


async def ensure_audit_schedules(settings: Settings, client: Client) -> int:
    """An audit schedule for every live completed connection (e.g. ones completed before audits
    existed); existing schedules are brought up to date. Returns how many were ensured."""
    db = Database(settings.require_database_url(), pool_size=1)
    try:
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(GroupConnection, Group.name)
                    .join(Group, Group.id == GroupConnection.group_id)
                    .where(
                        GroupConnection.disconnected.is_(None),
                        GroupConnection.status == ConnectionStatus.COMPLETED.value,
                    )
                )
            ).all()
    finally:
        await db.dispose()
    for connection, group_name in rows:
        request = PullRequest(
            connection_id=connection.id,
            organization_id=connection.organization_id,
            group_id=connection.group_id,
            carrier_id=connection.carrier_id,
            carrier_group_id=connection.carrier_group_id,
        )
        await ensure_audit_schedule(client, settings, request, group_name=group_name)
    return len(rows)


async def _ensure_audit_schedules(settings: Settings) -> int:
    return await ensure_audit_schedules(settings, await temporal.connect(settings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carrierlink-admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="migrate, sync carriers, ensure the dev organization")
    issue = commands.add_parser("issue-token", help="create an organization (if new) and a token")
    issue.add_argument("organization")
    commands.add_parser(
        "audit-schedules", help="ensure an audit schedule for every live completed connection"
    )
    webhooks_cli.add_commands(commands)
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "migrate":
        asyncio.run(prepare_database(settings))
        print("database ready")
    elif args.command == "webhooks":
        print(asyncio.run(webhooks_cli.run(settings, args)))
    elif args.command == "audit-schedules":
        print(f"{asyncio.run(_ensure_audit_schedules(settings))} audit schedule(s) ensured")
    else:
        print(asyncio.run(issue_token(settings, args.organization)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
