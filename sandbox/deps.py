"""Request-scoped access to the app's sandbox state and the carrier named in the path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sandbox.carriers import CARRIERS, CarrierRules
from sandbox.errors import UnknownCarrier
from sandbox.state import SandboxState


def sandbox_state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def carrier_rules(carrier: str) -> CarrierRules:
    rules = CARRIERS.get(carrier)
    if rules is None:
        raise UnknownCarrier(f"no sandbox carrier {carrier!r} (known: {', '.join(CARRIERS)})")
    return rules


State = Annotated[SandboxState, Depends(sandbox_state)]
Carrier = Annotated[CarrierRules, Depends(carrier_rules)]
