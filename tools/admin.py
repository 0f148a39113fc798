"""`carrierlink-admin`: prepare a database, issue API tokens, manage API clients, ensure audits,
webhooks.

Without DATABASE_URL it uses the dev stack's embedded PostgreSQL under the data dir (`make run`)
when that server is running, and otherwise stops with a one-line error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select
from temporalio.client import Client

from carriers import CARRIERS
from domain.audits import PullRequest
from domain.connections import ConnectionStatus
from domain.errors import NotFound
from runtime import temporal
from runtime.settings import Settings, get_settings
from services.audits import ensure_audit_schedule
from store import clients, migrate
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


async def create_client(settings: Settings, organization: str, label: str) -> str:
    """A new API client of `organization` (created if new): its id and secret, shown once."""
    db = Database(settings.require_database_url(), pool_size=1)
    try:
        async with db.transaction() as session:
            client, secret = await clients.create_client(session, organization, label=label)
    finally:
        await db.dispose()
    return (
        f"client_id     {client.client_id}\n"
        f"client_secret {secret}\n"
        "(the secret is shown this once; only its hash is kept)"
    )


async def list_clients(settings: Settings, organization: str) -> str:
    db = Database(settings.require_database_url(), pool_size=1)
    try:
        async with db.transaction() as session:
            found = await clients.list_clients(session, organization)
    finally:
        await db.dispose()
    lines = [
        f"{c.client_id}  created {c.created}  "
        f"{'revoked ' + str(c.revoked) if c.revoked else 'active'}  {c.label}".rstrip()
        for c in found
    ]
    return "\n".join(lines) or f"{organization} has no API clients"


async def revoke_client(settings: Settings, client_id: str) -> str:
    db = Database(settings.require_database_url(), pool_size=1)
    try:
        async with db.transaction() as session:
            client = await clients.revoke_client(session, client_id)
    finally:
        await db.dispose()
    return f"{client.client_id} of {client.organization} revoked (its tokens stop within seconds)"


def dev_database_url(data_dir: Path) -> str | None:
    """The URL of the dev stack's embedded PostgreSQL under `data_dir`, if it is running.

    Read from the server's own `postmaster.pid` (pid, data dir, start time, port, socket dir),
    as `tools.devstack` reaches it: over its Unix socket.
    """
    try:
        lines = (data_dir / "postgres" / "postmaster.pid").read_text().splitlines()
        pid, socket_dir = int(lines[0]), lines[4].strip()
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, under the postgres system user
    if not socket_dir:
        return None
    return f"postgresql+asyncpg://postgres@/postgres?host={quote(socket_dir)}"


def with_database(settings: Settings) -> Settings:
    """`settings` with a database: DATABASE_URL, else the running dev stack's; else exit with
    a one-line error."""
    if settings.database_url:
        return settings
    url = dev_database_url(settings.data_dir)
    if url is None:
        raise SystemExit(
            "carrierlink-admin: DATABASE_URL is not set and no dev stack is running under "
            f"{settings.data_dir.resolve()} (start one with `make run`, or set DATABASE_URL)"
        )
    return settings.model_copy(update={"database_url": url})


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
    client_commands = commands.add_parser(
        "clients", help="API clients (client credentials for POST /auth/public/token)"
    ).add_subparsers(dest="clients_command", required=True)
    create = client_commands.add_parser("create", help="a new client; its secret is shown once")
    create.add_argument("organization")
    create.add_argument("--label", default="")
    listing = client_commands.add_parser("list", help="an organization's clients")
    listing.add_argument("organization")
    revoke = client_commands.add_parser("revoke", help="revoke a client and end its tokens")
    revoke.add_argument("client_id")
    args = parser.parse_args(argv)
    settings = with_database(get_settings())
    if args.command == "migrate":
        asyncio.run(prepare_database(settings))
        print("database ready")
    elif args.command == "webhooks":
        print(asyncio.run(webhooks_cli.run(settings, args)))
    elif args.command == "audit-schedules":
        print(f"{asyncio.run(_ensure_audit_schedules(settings))} audit schedule(s) ensured")
    elif args.command == "clients":
        try:
            print(asyncio.run(_clients(settings, args)))
        except NotFound as missing:
            raise SystemExit(f"carrierlink-admin: {missing.message}") from None
    else:
        print(asyncio.run(issue_token(settings, args.organization)))
    return 0


async def _clients(settings: Settings, args: argparse.Namespace) -> str:
    if args.clients_command == "create":
        return await create_client(settings, args.organization, args.label)
    if args.clients_command == "list":
        return await list_clients(settings, args.organization)
    return await revoke_client(settings, args.client_id)


if __name__ == "__main__":
    sys.exit(main())
