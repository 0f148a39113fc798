"""The one way an activity refuses for good: a non-retryable failure its workflow can tell apart."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError


def refused(reason: Exception | str, type_: str = "CarrierRejected") -> ApplicationError:
    """A failure Temporal does not retry; `type_` is what workflows and retry policies match."""
    return ApplicationError(str(reason), type=type_, non_retryable=True)
