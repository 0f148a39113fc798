"""The one way to reach PostgreSQL: an engine and a session factory built from settings."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from sqlalchemy import ARRAY, BindParameter, ClauseElement, Text, bindparam, event, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.compiler import SQLCompiler

from store.webhooks import OutboxSession

# How a row taken to change is locked (`session.get(..., with_for_update=NO_KEY_UPDATE)`, or
# `.with_for_update(key_share=True)` on a select): FOR NO KEY UPDATE. No code here changes a
# key, and FOR UPDATE would also block every insert of a row referencing the locked one (the
# foreign key's KEY SHARE lock): sending held a snapshot FOR UPDATE while confirmation inserted
# a difference naming it, a lock-order inversion that deadlocked under carrier faults.
NO_KEY_UPDATE: dict[str, Any] = {"key_share": True}

# Prepared statements kept per connection (the asyncpg dialect's LRU; its default is 100). The
# engine runs a few hundred statement shapes (each IN list length is its own), so 100 made a
# busy connection re-prepare most statements: a parse and plan in PostgreSQL and a round trip,
# about 3% of the worker's CPU under the snapshots bench. The URL's own setting wins.
STATEMENT_CACHE_SIZE = 1000


def json_dumps(value: Any) -> str:
    """A JSON/JSONB value as the driver sends it, by orjson (several times the stdlib's speed).
    Non-string keys are written as strings, as `json.dumps` does; what orjson refuses (an
    integer beyond 64 bits) goes through the stdlib, so nothing stored before is refused now."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


# orjson reads an integer beyond 64 bits as a float; the stdlib keeps it exact. A run of 19
# digits (a string's too) sends the value to the stdlib: rare, and never wrong.
_LONG_NUMBER = re.compile(r"[0-9]{19}")


def json_loads(text: str) -> Any:
    """A JSON/JSONB value as read, by orjson; by the stdlib where orjson could round an integer.
    Decoding JSONB rows with the stdlib was 6% of the worker's CPU in bench.snapshots."""
    if _LONG_NUMBER.search(text):
        return json.loads(text)
    return orjson.loads(text)


class Database:
    """Owns the engine; `transaction()` is the unit of work every caller uses."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        """At most twice `pool_size` connections, each kept open once opened."""
        # hide_parameters: a failed statement's message (logged, raised, shown in a traceback)
        # would otherwise carry its bound values: snapshots, names, SSNs.
        cache = (
            {}
            if "prepared_statement_cache_size" in url
            else {"prepared_statement_cache_size": STATEMENT_CACHE_SIZE}
        )
        self.engine: AsyncEngine = create_async_engine(
            url,
            connect_args=cache,
            # `pool_size` connections, as many again under load, and every one opened is kept:
            # as overflow, the extra connections were closed on return whenever `pool_size`
            # sat idle, so each burst opened them anew, each a new server process, the
            # driver's type introspection and every statement prepared again (49 connections
            # in 25 s of the snapshots bench, issue 23).
            pool_size=2 * pool_size,
            max_overflow=0,
            pool_pre_ping=True,
            hide_parameters=True,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
        )
        # The dialect's ping is three round trips (BEGIN, a query, ROLLBACK: made for
        # pgbouncer's transaction mode, which is not used here) on every checkout. asyncpg
        # reads every idle connection, so one the server closed or a restart dropped is
        # already marked closed: checking that costs nothing, and a stale pool is still
        # replaced on checkout.
        self.engine.sync_engine.dialect.do_ping = _still_open  # type: ignore[method-assign]
        event.listen(self.engine.sync_engine, "do_connect", _connect)
        # A batch of new rows (a build's transactions and pending differences, a census page)
        # is one INSERT with many VALUES rows, not asyncpg's executemany of a statement per
        # row, each its own execution at the server (issue 23's pg_stat_statements). The
        # dialect already does so when the rows come back (RETURNING); within its
        # parameter limit it pages the batch.
        self.engine.sync_engine.dialect.use_insertmanyvalues_wo_returning = True
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


class DatabaseUnreachable(ConnectionError):
    """Opening a connection to PostgreSQL failed at the socket (refused, no socket file, timed
    out): the driver's OSError, named as the database's so that callers can tell it from any
    other OSError (a webhook's address lookup, a file)."""


def _connect(
    dialect: Dialect, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    # The pool's "do_connect" hook: opens the connection as it would, naming a socket failure.
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as error:
        raise DatabaseUnreachable(f"cannot connect to the database: {error}") from error


# What reaching PostgreSQL can raise: SQLAlchemy's wrapped driver errors, and what the driver
# raises unwrapped while a pool connection is being opened ("the database system is starting
# up"; the socket's own failures arrive as DatabaseUnreachable).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeout,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    DatabaseUnreachable,
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


def describe_database_error(error: BaseException) -> str | None:
    """What may be told of a database error (one of DATABASE_ERRORS, or any of SQLAlchemy's):
    its class, the driver's class, SQLSTATE, constraint and table; never the statement's values
    or the server's message and detail, which quote them ("Key (ssn)=(...)", "invalid input
    for query argument $1: '...'"). None for an error that is not the database's."""
    if not isinstance(error, (*DATABASE_ERRORS, SQLAlchemyError)):
        return None
    driver: BaseException | None = error
    if isinstance(error, DBAPIError):
        # SQLAlchemy's adapter error, then the driver's own as its cause.
        driver = error.orig.__cause__ if error.orig is not None else None
        driver = driver or error.orig
    parts = [type(error).__name__]
    if driver is not None and driver is not error:
        parts.append(type(driver).__name__)
    facts = [
        f"{label} {value}"
        for label, value in (
            ("SQLSTATE", getattr(driver, "sqlstate", None)),
            ("constraint", getattr(driver, "constraint_name", None)),
            ("table", getattr(driver, "table_name", None)),
        )
        if isinstance(value, str) and value
    ]
    if database_unreachable(error):
        facts.append("database unreachable")
    described = ": ".join(parts)
    return f"{described} ({', '.join(facts)})" if facts else described


def asyncpg_dsn(database_url: str) -> str:
    """The settings' SQLAlchemy URL (`postgresql+asyncpg://…`) as asyncpg itself takes it, for
    code that holds a plain asyncpg connection or pool."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


def _still_open(dbapi_connection: Any) -> bool:
    return not dbapi_connection.driver_connection.is_closed()


class Statement:
    """A hot statement, written with SQLAlchemy's Core against the models, compiled once for
    asyncpg and run on the session's own connection (`driver`): the one way to run a read or a
    lock on the snapshot paths without the ORM.

    Each statement through the ORM cost the API or the worker about 0.5 ms of CPU more than the
    same statement sent by asyncpg (building it, its cache key, compiling, the ORM's result),
    and intake alone ran a dozen lookups and locks per POST. Every write of an entity stays
    with the ORM, whose flush records its webhook events (`store.webhooks.OutboxSession`).

    Parameters are `bindparam`s (`id_param`, `ids_param`) named in the call; a list is passed
    as one array parameter (`column == func.any(ids_param(...))`), not an IN list, so that the
    text and its prepared statement are the same whatever the list's length. Rows come back as
    asyncpg's records: their UUIDs are `uuid.UUID` instances, JSONB is decoded by the codec
    SQLAlchemy set on the connection.
    """

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_ASYNCPG)
        assert isinstance(compiled, SQLCompiler)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("an IN list in a Statement: compare with `func.any` of an array")
        self.sql = compiled.string
        self._names = tuple(compiled.positiontup or ())
        self._defaults = dict(compiled.params)
        self._required = {name for name in self._names if compiled.binds[name].required}

    def _args(self, values: dict[str, Any]) -> list[Any]:
        if missing := self._required - values.keys():
            raise TypeError(f"no value for {', '.join(sorted(missing))}")
        return [values[name] if name in values else self._defaults[name] for name in self._names]

    async def fetch(self, session: AsyncSession, **values: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await (await driver(session)).fetch(
            self.sql, *self._args(values)
        )
        return rows

    async def fetchval(self, session: AsyncSession, **values: Any) -> Any:
        return await (await driver(session)).fetchval(self.sql, *self._args(values))


_ASYNCPG = AsyncpgDialect()


def id_param(name: str) -> BindParameter[uuid.UUID]:
    """A `Statement`'s parameter holding one id."""
    return bindparam(name, type_=UUID(as_uuid=True))


def ids_param(name: str) -> BindParameter[Any]:
    """A `Statement`'s parameter holding a list of ids, as one array: compare with
    `column == func.any(ids_param(...))`."""
    return bindparam(name, type_=ARRAY(UUID(as_uuid=True)))


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection, inside the session's transaction (see `Statement`).

    Pending ORM changes are flushed first, as the ORM's own queries would (autoflush). The
    transaction is begun if no statement has begun it yet, through SQLAlchemy's adapter, which
    begins lazily on its first statement: so the adapter commits or rolls it back.
    """
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection = await session.connection()
    adapted = (await connection.get_raw_connection()).dbapi_connection
    # SQLAlchemy 2.1's asyncpg adapter (pinned): `_transaction` is None until a statement
    # begins one. tests/integration/test_statement.py pins this behaviour.
    if adapted._transaction is None:  # type: ignore[union-attr]
        async with adapted._execute_mutex:  # type: ignore[union-attr]
            if adapted._transaction is None:  # type: ignore[union-attr]
                await adapted._start_transaction()  # type: ignore[union-attr]
    return adapted.driver_connection  # type: ignore[union-attr]


async def hold_lock(session: AsyncSession, key: str) -> None:
    """Wait for, then hold until the transaction ends, the advisory lock named `key`: how
    writers of one thing (an employee's intake, their transactions at a carrier) take turns."""
    await hold_locks(session, [key])


def _lock_id(key: Any) -> Any:
    """The advisory lock's number for a key: one formula for the exclusive and shared locks,
    which must name the same lock for the same key."""
    return func.hashtextextended(key, 0)


_LOCK_KEY = func.unnest(bindparam("keys", type_=ARRAY(Text))).column_valued("key")
_LOCKS = Statement(select(func.pg_advisory_xact_lock(_lock_id(_LOCK_KEY))))
_SHARED_LOCK = Statement(
    select(func.pg_advisory_xact_lock_shared(_lock_id(bindparam("key", type_=Text))))
)


async def hold_locks(session: AsyncSession, keys: Iterable[str]) -> None:
    """`hold_lock` for each key, in one round trip. Taken in sorted order, so two holders of
    overlapping sets cannot deadlock."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    await _LOCKS.fetch(session, keys=ordered)


async def hold_shared_lock(session: AsyncSession, key: str) -> None:
    """`hold_lock`, shared: holders of the shared lock run together, and wait for (and hold
    off) the one holding it alone under the same key."""
    await _SHARED_LOCK.fetch(session, key=key)
