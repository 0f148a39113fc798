"""The connection transition table: every legal move, and the refusal of every other one."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from domain.connections import (
    OUTCOME_STATUS,
    TRANSITIONS,
    WAITING,
    ConnectionStatus,
    IllegalTransition,
    RecheckPolicy,
    can_retry,
    check_transition,
    next_recheck_delay,
)
from domain.enums import LookupOutcome

LEGAL = {
    (ConnectionStatus.CREATED, ConnectionStatus.PROCESSING),
    *(
        (ConnectionStatus.PROCESSING, new)
        for new in WAITING | {ConnectionStatus.UNABLE_TO_CONNECT, ConnectionStatus.COMPLETED}
    ),
    *(
        (waiting, new)
        for waiting in WAITING
        for new in (WAITING - {waiting})
        | {ConnectionStatus.PROCESSING, ConnectionStatus.UNABLE_TO_CONNECT}
    ),
    (ConnectionStatus.UNABLE_TO_CONNECT, ConnectionStatus.PROCESSING),
}


def test_the_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(ConnectionStatus)


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_every_legal_transition_is_accepted(
    current: ConnectionStatus, new: ConnectionStatus
) -> None:
    check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [pair for pair in itertools.product(ConnectionStatus, ConnectionStatus) if pair not in LEGAL],
)
def test_every_other_transition_is_refused(
    current: ConnectionStatus, new: ConnectionStatus
) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current} to {new}"):
        check_transition(current, new)


def test_completed_is_final_and_refuses_retries() -> None:
    assert TRANSITIONS[ConnectionStatus.COMPLETED] == frozenset()
    assert not can_retry(ConnectionStatus.COMPLETED)
    assert all(
        can_retry(status) for status in ConnectionStatus if status is not ConnectionStatus.COMPLETED
    )


def test_waiting_statuses_never_complete_without_processing() -> None:
    assert all(ConnectionStatus.COMPLETED not in TRANSITIONS[waiting] for waiting in WAITING)


def test_every_carrier_answer_but_found_has_a_status() -> None:
    assert set(OUTCOME_STATUS) == set(LookupOutcome) - {LookupOutcome.FOUND}
    assert OUTCOME_STATUS[LookupOutcome.NOT_AUTHORIZED] is ConnectionStatus.CARRIER_AUTHORIZATION


def test_recheck_backoff_grows_and_caps() -> None:
    policy = RecheckPolicy(
        initial_interval=timedelta(seconds=5),
        backoff=2,
        maximum_interval=timedelta(days=1),
        wait_limit=timedelta(days=30),
    )
    delays = [policy.initial_interval]
    for _ in range(20):
        delays.append(next_recheck_delay(delays[-1], policy))
    assert delays[:4] == [timedelta(seconds=s) for s in (5, 10, 20, 40)]
    assert max(delays) == timedelta(days=1)
    assert delays == sorted(delays)
