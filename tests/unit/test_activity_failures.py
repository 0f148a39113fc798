"""An activity's failure tells the error, never the values a database or pydantic error quotes,
and is retried exactly as the original would have been."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pydantic
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from temporalio.exceptions import ApplicationError, CancelledError

from activities.failures import scrub
from store.db import DatabaseUnreachable, describe_database_error

PERSON = "Zelda Quarrington 078-05-1120 1961-04-02"


def driver_error(error_type: type[asyncpg.PostgresError], **fields: str) -> asyncpg.PostgresError:
    error = error_type(f"duplicate key value; Key (ssn)=({PERSON}) already exists")
    for name, value in fields.items():
        setattr(error, name, value)
    return error


def wrapped(cause: BaseException, kind: type[DBAPIError] = IntegrityError) -> DBAPIError:
    """As SQLAlchemy's asyncpg adapter raises it: the adapter error, the driver's as its cause."""
    orig = Exception(str(cause))
    orig.__cause__ = cause
    return kind(f"INSERT INTO members VALUES ('{PERSON}')", {"name": PERSON}, orig)


def test_a_database_error_leaves_with_its_class_sqlstate_and_constraint_only() -> None:
    error = wrapped(
        driver_error(
            asyncpg.exceptions.UniqueViolationError,
            sqlstate="23505",
            constraint_name="uq_members_ssn",
            table_name="members",
        )
    )
    assert PERSON in str(error)
    scrubbed = scrub(error)
    assert scrubbed is not None
    assert scrubbed.message == (
        "IntegrityError: UniqueViolationError "
        "(SQLSTATE 23505, constraint uq_members_ssn, table members)"
    )
    assert scrubbed.type == "IntegrityError"
    assert not scrubbed.non_retryable
    assert scrubbed.__cause__ is None


def test_a_driver_error_raised_unwrapped_is_scrubbed_too() -> None:
    # asyncpg's client-side encoding error quotes the parameter itself.
    error = asyncpg.exceptions.DataError(f"invalid input for query argument $1: '{PERSON}'")
    scrubbed = scrub(error)
    assert scrubbed is not None
    assert PERSON not in str(scrubbed)
    assert scrubbed.type == "DataError"


def test_a_validation_error_leaves_without_its_input() -> None:
    class Member(pydantic.BaseModel):
        age: int

    with pytest.raises(pydantic.ValidationError) as raised:
        Member.model_validate({"age": PERSON})
    assert PERSON in str(raised.value)
    scrubbed = scrub(raised.value)
    assert scrubbed is not None
    assert PERSON not in scrubbed.message
    assert "int_parsing" in scrubbed.message


def test_an_error_of_ours_wrapping_a_database_error_keeps_its_text_and_retryability() -> None:
    cause = wrapped(driver_error(asyncpg.exceptions.CheckViolationError, sqlstate="23514"))
    try:
        try:
            raise cause
        except DBAPIError as error:
            raise ApplicationError(
                "could not record", "detail", type="Recording", non_retryable=True
            ) from error
    except ApplicationError as error:
        ours = error
    scrubbed = scrub(ours)
    assert scrubbed is not None
    assert (scrubbed.message, scrubbed.type, scrubbed.non_retryable) == (
        "could not record",
        "Recording",
        True,
    )
    assert scrubbed.details == ("detail",)
    assert isinstance(scrubbed.__cause__, ApplicationError)
    assert PERSON not in str(scrubbed.__cause__)
    assert "SQLSTATE 23514" in str(scrubbed.__cause__)


def test_a_plain_error_raised_while_handling_a_database_error_is_scrubbed_by_context() -> None:
    try:
        try:
            raise wrapped(driver_error(asyncpg.exceptions.UniqueViolationError))
        except DBAPIError:
            raise RuntimeError("gave up") from None
    except RuntimeError as error:
        suppressed = error
    # `from None`: the database error would not be printed, nothing to hide.
    assert scrub(suppressed) is None
    try:
        try:
            raise wrapped(driver_error(asyncpg.exceptions.UniqueViolationError))
        except DBAPIError:
            raise RuntimeError("gave up")  # noqa: B904 - the implicit context is the point
    except RuntimeError as chained:
        scrubbed = scrub(chained)
    assert scrubbed is not None
    assert (scrubbed.message, scrubbed.type, scrubbed.non_retryable) == (
        "gave up",
        "RuntimeError",
        False,
    )
    assert PERSON not in str(scrubbed.__cause__)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        ApplicationError("carrier said no", type="CarrierRejected", non_retryable=True),
        CancelledError("cancelled"),
        ApplicationError(
            "later", type="Busy", next_retry_delay=timedelta(seconds=3), non_retryable=False
        ),
    ],
    ids=repr,
)
def test_other_failures_pass_unchanged(error: Exception) -> None:
    assert scrub(error) is None


def test_an_unreachable_database_is_named_so() -> None:
    error = DatabaseUnreachable("cannot connect to the database: Connect call failed")
    assert describe_database_error(error) == "DatabaseUnreachable (database unreachable)"
    assert describe_database_error(OSError("a file")) is None
