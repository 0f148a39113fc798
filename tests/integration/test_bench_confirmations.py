"""bench.confirmations' main path at a tiny size: its own PostgreSQL, sandbox and test server."""

from __future__ import annotations

import pytest

from bench.confirmations import parse_args, run

pytestmark = pytest.mark.integration


async def test_the_benchmark_confirms_every_transaction_of_a_tiny_run() -> None:
    outcome = await run(parse_args(["--transactions", "12", "--groups", "2", "--days", "5"]))

    assert outcome.loops_ended
    assert outcome.transactions == 12
    # Verified, or at least carrying a difference; none left unchecked.
    assert outcome.unaccounted == 0
    assert outcome.verified == 12
    # A check now and one per distinct effective date: a few events per transaction.
    assert 0 < outcome.events_per_transaction < 30
