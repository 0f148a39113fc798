"""Fault injection for carrier routes: added latency, injected 503s and stalled answers."""

from __future__ import annotations

import random
import threading
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Fault(Enum):
    NONE = "none"
    ERROR = "error"
    TIMEOUT = "timeout"


class FaultSettings(BaseModel):
    """The live fault knobs; `PUT /_sandbox/faults` replaces them whole."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)


class FaultInjector:
    """Draws one fault per carrier request from a seeded RNG, so a run's faults replay."""

    def __init__(self, settings: FaultSettings, *, timeout_seconds: float, seed: int) -> None:
        self.timeout_seconds = timeout_seconds
        self._settings = settings
        self._rng = random.Random(seed)
        self._injected = 0
        self._lock = threading.Lock()

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    @property
    def injected(self) -> int:
        return self._injected

    def replace(self, settings: FaultSettings) -> None:
        with self._lock:
            self._settings = settings

    def draw(self) -> Fault:
        """One roll decides both faults; when the rates sum past 1, errors take precedence."""
        with self._lock:
            roll = self._rng.random()
            if roll < self._settings.error_rate:
                fault = Fault.ERROR
            elif roll < self._settings.error_rate + self._settings.timeout_rate:
                fault = Fault.TIMEOUT
            else:
                return Fault.NONE
            self._injected += 1
            return fault
