"""The guarantee floor's one workflow (`bench.guarantee_floor`): a group's turns, woken by intake.

Kept apart from `bench.guarantee_floor` so the workflow sandbox re-imports this small module for
every run it starts, not the server around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

QUEUE = "bench-guarantee-floor"
TURN = "guarantee_floor_turn"
# A group's run ends after this long with nothing open and no wake; intake starts a new one.
IDLE_SECONDS = 30.0
# Turns of a group start at most this often: what arrives meanwhile waits for the next one, so
# a burst is taken in a few turns, not one per POST.
TURN_SPACING = timedelta(seconds=2)
TURNS_PER_RUN = 500


@dataclass(frozen=True)
class Turn:
    """What a turn left open in its group (stored, sending, or sent and not yet confirmed), and
    in how many seconds the next turn is wanted: now when something is unsent, else when the
    earliest sent one is due to be asked about."""

    open: int
    next_in: float


@workflow.defn(name="GuaranteeFloorGroup")
class GuaranteeFloorGroup:
    """Takes turns while its group has open transactions: each turn is one local activity that
    claims, sends, records and confirms (`bench.guarantee_floor.Turns.turn`). The history holds
    the group's key and counts only, no member.

    While it has open transactions its wake flag stays set (the turn says so), so intake sends
    no signal: the next turn, at most `TURN_SPACING` or one ask away, takes what arrived. Only a
    run about to idle clears the flag, and then the next arrival signals it."""

    def __init__(self) -> None:
        self._woken = False

    @workflow.signal
    def wake(self) -> None:
        self._woken = True

    @workflow.run
    async def run(self, group: str) -> None:
        for _ in range(TURNS_PER_RUN):
            self._woken = False
            started = workflow.now()
            turn: Turn = await workflow.execute_local_activity(
                TURN,
                group,
                result_type=Turn,
                start_to_close_timeout=timedelta(seconds=120),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5)),
            )
            if turn.open:
                spacing = (started + TURN_SPACING - workflow.now()).total_seconds()
                await workflow.sleep(max(spacing, turn.next_in, 0.05))
                continue
            if not self._woken:
                try:
                    await workflow.wait_condition(lambda: self._woken, timeout=IDLE_SECONDS)
                except TimeoutError:
                    return
        workflow.continue_as_new(group)
