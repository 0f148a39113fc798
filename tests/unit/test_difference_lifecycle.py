"""The difference lifecycle, pure: what a check opens, finds again and resolves, and what
assigning, dismissing and reopening change (None: nothing to write, no new version)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from domain.differences import (
    Check,
    ConfirmationStage,
    DifferenceAction,
    DifferenceClassification,
    DifferenceType,
    FieldDifference,
    FoundDifference,
    ObjectType,
    assigned,
    dismissed,
    found_again,
    opened,
    reopened,
    resolved_by,
    worked,
)

PERSON = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
TRANSACTION = uuid.UUID("bbbbbbbb-0000-4000-8000-000000000002")
SNAPSHOT = uuid.UUID("cccccccc-0000-4000-8000-000000000003")
ASSIGNEE = uuid.UUID("dddddddd-0000-4000-8000-000000000004")


@dataclass
class Stored:
    """A stored difference as the rules read it."""

    is_discrepancy: bool = False
    is_dismissed: bool = False
    is_suppressed: bool = False
    member_transaction_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    resolved: int | None = None
    replaced_by: uuid.UUID | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, changes: dict[str, Any] | None) -> Stored:
        if changes is None:
            return self
        known = {k: v for k, v in changes.items() if k in self.__dataclass_fields__}
        return replace(self, **known)


def check(
    stage: ConfirmationStage = ConfirmationStage.ACCEPTANCE, *, fetched_at: int = 100
) -> Check:
    return Check(
        transaction_id=TRANSACTION,
        member_snapshot_id=SNAPSHOT,
        stage=stage,
        fetched_at=fetched_at,
        now=fetched_at + 5,
    )


def last_name(carrier_value: str) -> FoundDifference:
    return FoundDifference(
        object_type=ObjectType.EMPLOYEE,
        object_id=PERSON,
        classification=DifferenceClassification.FIELD_MISMATCH,
        difference_type=DifferenceType.PERSON_MISMATCH,
        fields=(FieldDifference("person.last_name", "Smith", carrier_value),),
    )


def test_a_check_opens_a_difference_with_its_impact_and_one_source() -> None:
    values = opened(check(), last_name("Smyth"))

    assert values["identity"] == f"employee|{PERSON}|person_mismatch"
    assert (values["impact_score"], values["impact_type"]) == (2, "demographic")
    assert (values["is_discrepancy"], values["discrepancy_time"]) == (False, None)
    assert (values["is_dismissed"], values["is_suppressed"], values["assignee_id"]) == (
        False,
        False,
        None,
    )
    assert values["fields"] == [
        {"key": "person.last_name", "platform_value": "Smith", "carrier_value": "Smyth"}
    ]
    [source] = values["sources"]
    assert source["object_type"] == "member_transaction"
    assert source["object_id"] == str(TRANSACTION)
    assert source["member_snapshot_id"] == str(SNAPSHOT)
    assert (source["stage"], source["carrier_fetch_time"], source["last_seen"]) == (
        "acceptance",
        100,
        100,
    )
    assert not source["is_discrepancy"]
    assert not source["resolves_difference"]


def test_opened_at_the_effective_date_it_is_a_discrepancy_from_the_start() -> None:
    values = opened(check(ConfirmationStage.EFFECTIVE_DATE), last_name("Smyth"))

    assert (values["is_discrepancy"], values["discrepancy_time"]) == (True, 105)
    assert values["sources"][0]["is_discrepancy"] is True


def test_field_values_are_stored_as_json_would_hold_them() -> None:
    finding = replace(
        last_name("x"),
        fields=(FieldDifference("person.date_of_birth", dt.date(1980, 1, 2), None),),
    )

    assert opened(check(), finding)["fields"][0]["platform_value"] == "1980-01-02"


def test_found_again_refreshes_the_fields_and_adds_the_check_once() -> None:
    first = check(fetched_at=100)
    stored = Stored().apply(opened(first, last_name("Smyth")))

    assert found_again(first, stored, last_name("Smyth")) is None  # a retried activity

    later = check(fetched_at=200)
    changes = found_again(later, stored, last_name("Smithe"))
    assert changes is not None
    assert "is_discrepancy" not in changes
    assert changes["fields"][0]["carrier_value"] == "Smithe"
    assert [s["carrier_fetch_time"] for s in changes["sources"]] == [100, 200]


def test_found_again_at_the_effective_date_becomes_a_discrepancy_once() -> None:
    stored = Stored().apply(opened(check(), last_name("Smyth")))

    at_effective_date = check(ConfirmationStage.EFFECTIVE_DATE, fetched_at=300)
    changes = found_again(at_effective_date, stored, last_name("Smyth"))
    assert changes is not None
    assert (changes["is_discrepancy"], changes["discrepancy_time"]) == (True, 305)
    assert changes["sources"][-1]["is_discrepancy"] is True

    stored = stored.apply(changes)
    again = found_again(
        check(ConfirmationStage.EFFECTIVE_DATE, fetched_at=400), stored, last_name("Smyth")
    )
    assert again is not None
    assert "is_discrepancy" not in again  # discrepancy_time keeps the first
    assert again["sources"][-1]["is_discrepancy"] is False


def test_not_found_again_it_is_resolved_by_the_check() -> None:
    stored = Stored().apply(opened(check(), last_name("Smyth")))

    changes = resolved_by(check(fetched_at=200), stored)

    assert changes["resolved"] == 205
    assert changes["sources"][-1]["resolves_difference"] is True
    assert len(changes["sources"]) == 2


def test_assign_changes_only_a_different_assignee() -> None:
    assert assigned(Stored(), ASSIGNEE) == {"assignee_id": ASSIGNEE}
    assert assigned(Stored(assignee_id=ASSIGNEE), ASSIGNEE) is None
    other = uuid.uuid4()
    assert assigned(Stored(assignee_id=ASSIGNEE), other) == {"assignee_id": other}


def test_dismiss_and_reopen_flip_the_dismissal_only_when_it_changes() -> None:
    assert dismissed(Stored()) == {"is_dismissed": True}
    assert dismissed(Stored(is_dismissed=True)) is None
    assert reopened(Stored(is_dismissed=True)) == {"is_dismissed": False}
    assert reopened(Stored()) is None


def test_reopening_leaves_a_resolution_to_the_carrier() -> None:
    resolved = Stored(resolved=105, is_dismissed=True)

    assert reopened(resolved) == {"is_dismissed": False}  # `resolved` untouched
    assert reopened(Stored(resolved=105)) is None


def test_worked_dispatches_each_action() -> None:
    assert worked(DifferenceAction.ASSIGN, Stored(), assignee_id=ASSIGNEE) == {
        "assignee_id": ASSIGNEE
    }
    assert worked(DifferenceAction.DISMISS, Stored()) == {"is_dismissed": True}
    assert worked(DifferenceAction.REOPEN, Stored()) is None
    with pytest.raises(ValueError, match="assignee_id"):
        worked(DifferenceAction.ASSIGN, Stored())
