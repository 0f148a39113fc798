"""The disconnection rules of `domain/`: transitions, decisions, checks, enrollment refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from domain.disconnections import (
    OPEN,
    TRANSITIONS,
    CarrierLink,
    Decision,
    DisconnectionState,
    DisconnectionStatus,
    EnrollmentRefused,
    IllegalDecision,
    IllegalTransition,
    VersionConflict,
    apply_decision,
    check_decision,
    check_enrollment_change,
    check_transition,
    disconnects_at,
    parse_signalled_decision,
    platform_request_problem,
)
from domain.errors import ValidationFailed

END = date(2027, 3, 31)


def state(status: DisconnectionStatus, **values: object) -> DisconnectionState:
    return DisconnectionState(
        request_id=uuid.uuid4(),
        status=status,
        version=uuid.uuid4(),
        effective_end_date=values.pop("effective_end_date", END),
        **values,
    )


def test_the_table_covers_every_status_and_completed_is_final() -> None:
    assert set(TRANSITIONS) == set(DisconnectionStatus)
    assert TRANSITIONS[DisconnectionStatus.COMPLETED] == frozenset()
    assert {DisconnectionStatus.NEEDS_REVIEW, DisconnectionStatus.PROCESSING} == OPEN
    check_transition(
        DisconnectionStatus.REJECTED, DisconnectionStatus.PROCESSING
    )  # an edit resubmits a rejected request
    with pytest.raises(IllegalTransition):
        check_transition(
            DisconnectionStatus.NEEDS_REVIEW, DisconnectionStatus.COMPLETED
        )  # a review is never skipped


@pytest.mark.parametrize(
    ("status", "decision", "allowed"),
    [
        (DisconnectionStatus.NEEDS_REVIEW, Decision.confirm(), True),
        (DisconnectionStatus.NEEDS_REVIEW, Decision.reject(), True),
        (DisconnectionStatus.PROCESSING, Decision.confirm(), False),
        (DisconnectionStatus.PROCESSING, Decision.reject(), True),
        (DisconnectionStatus.REJECTED, Decision.confirm(), True),
        (DisconnectionStatus.REJECTED, Decision.reject(), False),
        (DisconnectionStatus.COMPLETED, Decision.confirm(), False),
        (DisconnectionStatus.COMPLETED, Decision.reject(), False),
        (DisconnectionStatus.COMPLETED, Decision(kind="edit", status="rejected"), False),
    ],
)
def test_which_decisions_each_status_takes(
    status: DisconnectionStatus, decision: Decision, allowed: bool
) -> None:
    if allowed:
        check_decision(state(status), decision)
    else:
        with pytest.raises(IllegalDecision) as refused:
            check_decision(state(status), decision)
        assert refused.value.status is status


def test_nothing_is_decided_once_the_group_is_being_disconnected() -> None:
    with pytest.raises(IllegalDecision, match="being disconnected"):
        check_decision(state(DisconnectionStatus.PROCESSING, disconnecting=True), Decision.reject())


def test_an_edit_of_an_old_version_is_a_conflict_naming_the_current_one() -> None:
    current = state(DisconnectionStatus.PROCESSING)
    stale = Decision(kind="edit", status="rejected", expected_version=uuid.uuid4())

    with pytest.raises(VersionConflict) as conflict:
        check_decision(current, stale)

    assert conflict.value.current == current.version
    check_decision(current, stale.model_copy(update={"expected_version": current.version}))


def test_processing_needs_an_end_date_from_somewhere() -> None:
    with pytest.raises(ValidationFailed) as missing:
        check_decision(
            state(DisconnectionStatus.NEEDS_REVIEW, effective_end_date=None), Decision.confirm()
        )
    assert missing.value.problems[0].field == "effective_end_date"
    check_decision(
        state(DisconnectionStatus.NEEDS_REVIEW, effective_end_date=None), Decision.confirm(END)
    )
    check_decision(
        state(DisconnectionStatus.NEEDS_REVIEW, effective_end_date=None), Decision.reject()
    )


def test_a_decision_keeps_what_it_does_not_change_and_clears_the_check_reason() -> None:
    before = state(
        DisconnectionStatus.REJECTED, reason="lost_group", context="moved", status_reason="bad date"
    )

    after = apply_decision(before, Decision(kind="edit", status="processing"))

    assert (after.status, after.effective_end_date, after.reason, after.context) == (
        DisconnectionStatus.PROCESSING,
        END,
        "lost_group",
        "moved",
    )
    assert after.status_reason is None


def test_the_group_disconnects_at_the_end_of_its_end_date_in_utc() -> None:
    assert disconnects_at(date(2026, 12, 31)) == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("connected", "end", "problem"),
    [
        (True, date(2026, 11, 1), None),
        (False, date(2026, 11, 1), "no completed connection"),
        (True, date(2020, 12, 31), "before the connection's coverage start 2021-01-01"),
        (True, date(2026, 10, 21), None),  # exactly 31 days back is allowed with 31
        (True, date(2026, 10, 20), "more than 31 days in the past"),
        (True, date(2030, 1, 1), None),
    ],
)
def test_a_platform_request_is_checked_against_the_connection(
    connected: bool, end: date, problem: str | None
) -> None:
    found = platform_request_problem(
        connected=connected,
        coverage_start=date(2021, 1, 1),
        effective_end_date=end,
        today=date(2026, 11, 21),
        max_days_past=31,
    )
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_enrollment_changes_are_refused_once_disconnected_or_never_connected() -> None:
    check_enrollment_change(CarrierLink(connected=True))
    with pytest.raises(EnrollmentRefused, match="disconnected from this carrier on 2026-11-30"):
        check_enrollment_change(CarrierLink(connected=False, disconnected_on=date(2026, 11, 30)))
    with pytest.raises(EnrollmentRefused, match="no completed connection"):
        check_enrollment_change(CarrierLink(connected=False))


def test_coverage_after_a_confirmed_end_date_is_refused_before_it() -> None:
    link = CarrierLink(connected=True, ends_on=date(2026, 12, 31))

    check_enrollment_change(link, coverage_date=date(2026, 12, 31))
    check_enrollment_change(link)
    with pytest.raises(EnrollmentRefused, match="after the group's disconnection"):
        check_enrollment_change(link, coverage_date=date(2027, 1, 1))


def test_a_signalled_decision_meets_the_apis_bounds() -> None:
    # What the Temporal UI or CLI sends reaches the run without the API: same bounds there.
    assert parse_signalled_decision("confirm", None) == Decision.confirm()
    assert parse_signalled_decision("confirm", {"effective_end_date": "9999-12-31"}) == (
        Decision.confirm(date(9999, 12, 31))
    )
    assert parse_signalled_decision("reject", {"reason": "other", "context": "restored"}) == (
        Decision.reject("other", "restored")
    )
    for kind, body, field in [
        ("confirm", {"effective_end_date": "0001-01-01"}, "effective_end_date"),
        ("confirm", {"effective_end_date": "soon"}, "effective_end_date"),
        ("confirm", {"end_date": "2026-01-01"}, "body"),
        ("confirm", ["2026-01-01"], "body"),
        ("reject", {"reason": "disconnected"}, "reason"),  # not a rejection reason
        ("reject", {"context": "x" * 4_001}, "context"),
        ("reject", {"context": "a\x00b"}, "context"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            parse_signalled_decision(kind, body)  # type: ignore[arg-type]
        assert [problem.field for problem in refused.value.problems] == [field]
