"""Which database errors are an outage (503, try again) and which a failed statement (500)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from store.db import database_unreachable


def wrapped(cause: BaseException, *, invalidated: bool = False) -> DBAPIError:
    """A driver error as SQLAlchemy's asyncpg adapter raises it (the driver's as its cause)."""
    orig = Exception(str(cause))
    orig.__cause__ = cause
    return DBAPIError("SELECT 1", None, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        FileNotFoundError(2, "No such file or directory"),  # no socket: server down
        TimeoutError(),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")),
        wrapped(ConnectionResetError(104, "Connection reset by peer")),
        wrapped(Exception("anything"), invalidated=True),
        # Every pool connection busy for the whole pool timeout: a burst, answered 503.
        PoolTimeout("QueuePool limit of size 10 overflow 10 reached, connection timed out"),
    ],
    ids=repr,
)
def test_an_unreachable_database_is_an_outage(error: BaseException) -> None:
    assert database_unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key value"),
        asyncpg.exceptions.RaiseError("injected"),
        wrapped(asyncpg.exceptions.CheckViolationError("violates check constraint")),
        IntegrityError("INSERT", None, Exception("violates check constraint")),
    ],
    ids=repr,
)
def test_a_failed_statement_is_not_an_outage(error: BaseException) -> None:
    assert not database_unreachable(error)
