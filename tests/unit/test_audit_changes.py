"""An audit names what changed: each field from what to what, nested ones by dotted path."""

from __future__ import annotations

import uuid
from datetime import date

from domain.audits import MAX_FIELDS_PER_RECORD, failure_reason, field_changes


def test_changed_fields_name_their_path_and_both_values() -> None:
    before = {"status": "active", "details": {"premium": 10, "tiers": ["ee"]}, "name": "Gold"}
    after = {"status": "discontinued", "details": {"premium": 12, "tiers": ["ee"]}, "name": "Gold"}
    assert field_changes(before, after) == [
        {"field": "status", "from": "active", "to": "discontinued"},
        {"field": "details.premium", "from": 10, "to": 12},
    ]


def test_added_and_removed_keys_lists_whole_and_json_values() -> None:
    enrollment = uuid.uuid4()
    before = {"address": {"city": "Ames"}, "tiers": ["ee"], "start": date(2027, 1, 1)}
    after = {
        "address": {"city": "Ames", "county": "Story"},
        "tiers": ["ee", "es"],
        "start": date(2027, 2, 1),
        "group_enrollment_id": enrollment,
    }
    assert field_changes(before, after) == [
        {"field": "address.county", "from": None, "to": "Story"},
        {"field": "tiers", "from": ["ee"], "to": ["ee", "es"]},
        {"field": "start", "from": "2027-01-01", "to": "2027-02-01"},
        {"field": "group_enrollment_id", "from": None, "to": str(enrollment)},
    ]


def test_a_record_names_at_most_its_bound_of_fields() -> None:
    before = {f"f{i}": 0 for i in range(MAX_FIELDS_PER_RECORD + 5)}
    after = {name: 1 for name in before}
    assert len(field_changes(before, after)) == MAX_FIELDS_PER_RECORD


def test_a_failure_reason_is_the_innermost_cause() -> None:
    class Refusal(Exception):
        type = "CarrierRejected"
        message = "GET /account: HTTP 404"

    class Timeout(Exception):
        type = 3  # an enum of timeout kinds, not a name

    outer = RuntimeError("activity error")
    outer.__cause__ = Refusal()
    assert failure_reason(outer) == "CarrierRejected: GET /account: HTTP 404"
    assert failure_reason(Timeout("activity timeout")) == "Timeout: activity timeout"
    assert len(failure_reason(ValueError("x" * 5000))) == 2000
