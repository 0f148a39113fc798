"""The one way to reach PostgreSQL: an engine and a session factory built from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, Text, cast, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.webhooks import OutboxSession

# How a row taken to change is locked (`session.get(..., with_for_update=NO_KEY_UPDATE)`, or
# `.with_for_update(key_share=True)` on a select): FOR NO KEY UPDATE. No code here changes a
# key, and FOR UPDATE would also block every insert of a row referencing the locked one (the
# foreign key's KEY SHARE lock): sending held a snapshot FOR UPDATE while confirmation inserted
# a difference naming it, a lock-order inversion that deadlocked under carrier faults.
NO_KEY_UPDATE: dict[str, Any] = {"key_share": True}


class Database:
    """Owns the engine; `transaction()` is the unit of work every caller uses."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        # hide_parameters: a failed statement's message (logged, raised, shown in a traceback)
        # would otherwise carry its bound values: snapshots, names, SSNs.
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            hide_parameters=True,
        )
        # The dialect's ping is three round trips (BEGIN, a query, ROLLBACK: made for
        # pgbouncer's transaction mode, which is not used here) on every checkout. asyncpg
        # reads every idle connection, so one the server closed or a restart dropped is
        # already marked closed: checking that costs nothing, and a stale pool is still
        # replaced on checkout.
        self.engine.sync_engine.dialect.do_ping = _still_open  # type: ignore[method-assign]
        # OutboxSession: every flush records the webhook events of the changes it writes.
        self._sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=OutboxSession
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


# What reaching PostgreSQL can raise: SQLAlchemy's wrapped driver errors, and what the driver or
# the socket raise unwrapped while a pool connection is being opened (refused, no socket file,
# "the database system is starting up").
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeout,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)
# SQLSTATE classes of an unreachable server: 08 connection exception, 57P operator
# intervention (admin or crash shutdown, cannot connect now).
_UNREACHABLE_SQLSTATES = ("08", "57P")


def database_unreachable(error: BaseException) -> bool:
    """True when `error` (one of DATABASE_ERRORS) says PostgreSQL could not be reached or
    dropped the connection (down, restarting, shutting down), not that a statement failed:
    worth trying again later. So is a pool with no connection free in time: under a burst the
    answer is "busy, come back" (503), not a failure of the request."""
    if isinstance(error, PoolTimeout):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        # The driver's own error, as SQLAlchemy's adapter kept it.
        cause = error.orig.__cause__ if error.orig is not None else None
        return cause is not None and database_unreachable(cause)
    if isinstance(error, OSError | asyncpg.InterfaceError):
        # Refused, reset, timed out, no socket; asyncpg's "connection was closed".
        return True
    sqlstate = getattr(error, "sqlstate", None) or ""
    return sqlstate.startswith(_UNREACHABLE_SQLSTATES)


def _still_open(dbapi_connection: Any) -> bool:
    return not dbapi_connection.driver_connection.is_closed()


async def hold_lock(session: AsyncSession, key: str) -> None:
    """Wait for, then hold until the transaction ends, the advisory lock named `key`: how
    writers of one thing (an employee's intake, their transactions at a carrier) take turns."""
    await hold_locks(session, [key])


async def hold_locks(session: AsyncSession, keys: Iterable[str]) -> None:
    """`hold_lock` for each key, in one round trip. Taken in sorted order, so two holders of
    overlapping sets cannot deadlock."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    key = func.unnest(cast(ordered, ARRAY(Text))).column_valued("key")
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
