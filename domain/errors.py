"""Errors every layer raises: refused fields, not found, conflict, unavailable."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One refused field: a dotted path into the request body and a reason a person can act on."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class ValidationFailed(ValueError):
    """A request broke a business rule; the API answers 422 naming each field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @classmethod
    def one(cls, field: str, reason: str) -> ValidationFailed:
        return cls([FieldProblem(field, reason)])


class NotFound(LookupError):
    """The thing asked for does not exist for the caller (unknown and another organization's
    alike); the API answers 404."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    @classmethod
    def of(cls, what: str) -> NotFound:
        return cls(f"{what} not found")


class Conflict(Exception):
    """The request clashes with the current state (a duplicate, a stale version, an illegal
    move); the API answers 409, `extra` keys joining the body (e.g. `existing_id`)."""

    def __init__(self, message: str, **extra: object) -> None:
        self.message = message
        self.extra = extra
        super().__init__(message)


class Unavailable(Exception):
    """A service the request needs (the workflow service) did not answer; the API answers 503
    and the caller may try again shortly."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
