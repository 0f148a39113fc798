"""The pure rules the fulfillment and confirmation loops apply: a check's findings split against
the open differences, a carrier's report turned into status details and a status, a snapshot's
carrier entry settled from its transactions, and when a check is a transaction's last."""

from __future__ import annotations

import datetime as dt
import uuid

from domain.confirmation import is_last_check
from domain.differences import (
    IMPACT,
    ConfirmationStage,
    DifferenceClassification,
    DifferenceType,
    FoundDifference,
    ObjectType,
    impact_of,
    split_check,
)
from domain.member_changes import (
    MANAGED_NOTE,
    FulfillmentStatus,
    StatusDetail,
    TransactionOutcome,
    TransactionStatus,
    TransactionType,
    carrier_progress,
    is_final,
    settled_entry,
    snapshot_completed,
    status_after,
)
from domain.members import CarrierTransactionState, CarrierTransactionStatus, CarrierTransactionStep

PERSON = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
TODAY = dt.date(2026, 3, 1)


def missing(line: str) -> FoundDifference:
    return FoundDifference(
        object_type=ObjectType.INDIVIDUAL_ENROLLMENT,
        object_id=PERSON,
        classification=DifferenceClassification.MISSING_FROM_CARRIER,
        difference_type=DifferenceType.MISSING_IE,
        coverage_key=(line,),
    )


def test_a_check_splits_into_opened_still_open_and_resolved_by_key() -> None:
    dental, vision, life = missing("dental"), missing("vision"), missing("life")

    split = split_check([dental.key, vision.key, dental.key], [life, dental])

    assert split.opened == [life]
    assert split.still_open == [dental]
    assert split.resolved == [vision.key]
    assert dental.key == f"individual_enrollment|{PERSON}|dental|missing_ie"


def test_every_difference_type_has_an_impact() -> None:
    assert set(IMPACT) == set(DifferenceType)
    assert impact_of(DifferenceType.MISSING_IE) == (3, "coverage")
    assert impact_of(DifferenceType.EMPLOYMENT_MISMATCH) == (1, "demographic")


def report(
    state: CarrierTransactionState, *steps: CarrierTransactionState, reason: str | None = None
) -> CarrierTransactionStatus:
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    return CarrierTransactionStatus(
        id="T-1",
        status=state,
        reason=reason,
        history=tuple(CarrierTransactionStep(status=step, at=at) for step in steps),
    )


def test_only_what_is_not_recorded_yet_is_added_in_the_carriers_order() -> None:
    recorded = [{"status_detail": StatusDetail.CARRIER_ACCEPTED.value}]
    managed = report(
        CarrierTransactionState.MANAGED,
        CarrierTransactionState.ACCEPTED,
        CarrierTransactionState.PROCESSING,
        CarrierTransactionState.MANAGED,
    )

    assert carrier_progress(recorded, managed) == [
        (StatusDetail.CARRIER_PROCESSING, None),
        (StatusDetail.CARRIER_PROCESSING, MANAGED_NOTE),
    ]


def test_a_failure_carries_the_carriers_reason() -> None:
    failed = report(
        CarrierTransactionState.FAILED, CarrierTransactionState.FAILED, reason="ssn is invalid"
    )
    assert carrier_progress([], failed) == [(StatusDetail.CARRIER_FAILED, "ssn is invalid")]


def test_only_a_finished_carrier_state_changes_the_status() -> None:
    assert status_after(CarrierTransactionState.COMPLETED) is TransactionStatus.COMPLETED
    assert status_after(CarrierTransactionState.FAILED) is TransactionStatus.FAILED
    assert status_after(CarrierTransactionState.MANAGED) is None
    assert [is_final(status.value) for status in TransactionStatus] == [False, True, True, True]


def test_a_snapshots_carrier_entry_is_invalid_sent_or_as_it_was() -> None:
    entry = {"carrier_id": "c", "status": FulfillmentStatus.PROCESSING.value, "errors": []}
    sent = TransactionOutcome(status=TransactionStatus.PROCESSING.value, sent=True)
    waiting = TransactionOutcome(status=TransactionStatus.PROCESSING.value, sent=False)
    failed = TransactionOutcome(status=TransactionStatus.FAILED.value, sent=False)

    assert settled_entry(entry, [sent, failed]) == {
        **entry,
        "status": FulfillmentStatus.INVALID.value,
        "errors": ["refused by the carrier"],
    }
    assert settled_entry(entry, [sent])["status"] == FulfillmentStatus.SENT.value
    assert settled_entry(entry, [sent, waiting]) == entry
    assert settled_entry(entry, []) == entry
    assert snapshot_completed("processing", [failed])
    assert not snapshot_completed("processing", [sent])
    assert not snapshot_completed("replaced", [failed])


def test_the_last_check_is_the_effective_date_one_or_one_needing_no_other() -> None:
    later = TODAY + dt.timedelta(days=30)
    new_hire = TransactionType.NEW_HIRE.value

    def last(stage: ConfirmationStage, kind: str, takes_effect: dt.date) -> bool:
        return is_last_check(stage, transaction_type=kind, takes_effect=takes_effect, today=TODAY)

    assert not last(ConfirmationStage.ACCEPTANCE, new_hire, later)
    assert last(ConfirmationStage.ACCEPTANCE, new_hire, TODAY)
    assert last(ConfirmationStage.ACCEPTANCE, TransactionType.DEMOGRAPHIC.value, later)
    assert last(ConfirmationStage.EFFECTIVE_DATE, new_hire, later)
