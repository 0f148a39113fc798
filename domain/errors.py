"""Validation failures that name the field and the reason, shared by every layer."""

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
