"""What an activity's failure may tell: database and validation errors leave without their values.

A failed activity's exception goes into the workflow's history (ActivityTaskFailed: message,
stack, causes) and into the worker's log. A database error's text quotes the statement's values
(the driver's "invalid input for query argument $1: '...'", the server's "Key (ssn)=(...)"), and
pydantic's quotes the input it refused: a person's name, SSN or date of birth would be kept in
both for good. `ScrubbedFailures`, a worker interceptor, re-raises those as an ApplicationError
that names the error (class, SQLSTATE, constraint) and nothing it was given, with the same type
name and retryability, and the original stack frames (code, not values).
"""

from __future__ import annotations

from typing import Any

import pydantic
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from store.db import describe_database_error


class ScrubbedFailures(Interceptor):
    """Registered on the worker (`worker.INTERCEPTORS`): wraps every activity."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ScrubbedActivity(next)


class _ScrubbedActivity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except Exception as error:
            scrubbed = scrub(error)
            if scrubbed is None:
                raise
            # The original is neither the failure's cause nor in the logged traceback (only
            # the scrubbed cause, if any, is); its frames are kept.
            raise scrubbed.with_traceback(error.__traceback__) from scrubbed.__cause__


def describe(error: BaseException) -> str | None:
    """A telling of `error` without what it was given; None when its own text may be kept."""
    database = describe_database_error(error)
    if database is not None:
        return database
    if isinstance(error, pydantic.ValidationError):
        kinds = ", ".join(sorted({problem["type"] for problem in error.errors()}))
        return f"ValidationError: {error.error_count()} problem(s) in {error.title} ({kinds})"
    return None


def _chain(error: BaseException) -> list[BaseException]:
    """`error`, then its causes and contexts as a traceback would print them."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return chain


def scrub(error: Exception) -> ApplicationError | None:
    """The failure to raise instead of `error`, or None when nothing in it needs hiding.

    Retryability stays: a plain exception is retried unless its class name is among the retry
    policy's non-retryable types, and the replacement carries that name as its type and is
    retryable; an ApplicationError keeps its own type and non_retryable.
    """
    if isinstance(error, FailureError) and not isinstance(error, ApplicationError):
        return None  # Temporal's own (cancelled, timed out): no values, handled by the SDK.
    told = [(link, describe(link)) for link in _chain(error)]
    hidden = [(link, text) for link, text in told if text is not None]
    if not hidden:
        return None
    own = told[0][1]
    if own is not None:
        return ApplicationError(own, type=type(error).__name__, non_retryable=False)
    # The error itself may be told (ours, wrapping a database error): keep it, hide the cause.
    cause_text = hidden[0][1]
    assert cause_text is not None
    cause = ApplicationError(cause_text, type=type(hidden[0][0]).__name__)
    if isinstance(error, ApplicationError):
        replaced = ApplicationError(
            error.message,
            *error.details,
            type=error.type,
            non_retryable=error.non_retryable,
            next_retry_delay=error.next_retry_delay,
            category=error.category,
        )
    else:
        replaced = ApplicationError(str(error), type=type(error).__name__, non_retryable=False)
    replaced.__cause__ = cause
    return replaced
