"""The fault suite's short form: a small burst per scenario on a stack of its own, and nothing
lost, doubled or stuck (`python -m bench.faults` runs every scenario at full size)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults import run_suite, table

pytestmark = pytest.mark.integration

# Every part killed mid-burst once: the database, the API with POSTs in flight, the worker, the
# Temporal server, and one of two workers. Small, so the file stays within a few minutes of the
# suite; the carrier faults and the frozen worker run in the full suite only (their faults last
# seconds longer than the others' and they add nothing a short burst would find).
SHORT_SCENARIOS = [
    "postgres_killed",
    "api_killed",
    "worker_killed",
    "temporal_killed",
    "two_workers_one_killed",
]
SNAPSHOTS = 12


async def test_killing_parts_mid_burst_loses_doubles_and_sticks_nothing(tmp_path: Path) -> None:
    outcomes = await run_suite(
        tmp_path / "stack",
        SHORT_SCENARIOS,
        snapshots=SNAPSHOTS,
        concurrency=6,
        retry_window=60.0,
        settle_timeout=90.0,
        # The burst spans about 3 s, so the fault (once 4 are acknowledged) lands mid-burst.
        spacing=0.25,
    )
    print(table(outcomes))
    assert [o.scenario for o in outcomes] == SHORT_SCENARIOS
    for outcome in outcomes:
        assert outcome.acknowledged == SNAPSHOTS, outcome.problems
        assert outcome.at_fault < SNAPSHOTS, "the fault must land mid-burst"
        assert outcome.lost == 0, outcome.problems
        assert outcome.doubled == 0, outcome.problems
        assert outcome.stuck == 0, outcome.problems
