"""Stuck work: how long a record may stay in a waiting status before operators call it overdue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.connections import ConnectionStatus
from domain.disconnections import DisconnectionStatus


class OverdueKind(StrEnum):
    """What waits: the `kind` label of the overdue gauge."""

    CONNECTION = "connection"
    DISCONNECTION = "disconnection"


class StatusLimits(BaseModel):
    """Each limited status's time-in-status limit; a status not named is never overdue."""

    model_config = ConfigDict(frozen=True)

    limits: dict[str, timedelta] = {}

    def overdue_at(self, status: str, entered: int) -> int | None:
        """When (Unix seconds) a record that entered `status` at `entered` becomes overdue;
        None when the status has no limit."""
        limit = self.limits.get(status)
        if limit is None:
            return None
        return entered + int(limit.total_seconds())

    def is_overdue(self, status: str, entered: int, *, now: int) -> bool:
        """Whether the record has been in `status` for its whole limit (and more)."""
        due = self.overdue_at(status, entered)
        return due is not None and now >= due

    def cutoffs(self, *, now: int) -> dict[str, int]:
        """Per limited status, the latest entry time (Unix seconds) that is overdue at `now`:
        what a query compares `status_changed` against."""
        return {status: now - int(limit.total_seconds()) for status, limit in self.limits.items()}


class OverdueLimits(BaseModel):
    """The limits of every kind of waiting record (from settings)."""

    model_config = ConfigDict(frozen=True)

    connections: StatusLimits
    disconnections: StatusLimits

    @classmethod
    def of(
        cls,
        *,
        connections: dict[ConnectionStatus, timedelta],
        disconnections: dict[DisconnectionStatus, timedelta],
    ) -> OverdueLimits:
        return cls(
            connections=StatusLimits(limits={s.value: v for s, v in connections.items()}),
            disconnections=StatusLimits(limits={s.value: v for s, v in disconnections.items()}),
        )

    def of_kind(self, kind: OverdueKind) -> StatusLimits:
        return self.connections if kind == OverdueKind.CONNECTION else self.disconnections


@dataclass(frozen=True)
class OverdueFilter:
    """A list's `overdue=true|false`: the records past (or within) their status's limit, given
    the cutoffs of the moment the list was asked for."""

    overdue: bool
    cutoffs: dict[str, int] = field(default_factory=dict)
