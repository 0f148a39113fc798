"""`carrierlink-admin`: prepare a database (migrate, carriers, dev org) and issue API tokens."""

from __future__ import annotations

import argparse
import asyncio
import sys

from carrierlink.settings import Settings, get_settings
from carriers import CARRIERS
from store import migrate
from store.db import Database
from store.models import Carrier
from store.tenancy import ensure_organization, sync_carriers


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carrierlink-admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="migrate, sync carriers, ensure the dev organization")
    issue = commands.add_parser("issue-token", help="create an organization (if new) and a token")
    issue.add_argument("organization")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "migrate":
        asyncio.run(prepare_database(settings))
        print("database ready")
    else:
        print(asyncio.run(issue_token(settings, args.organization)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
