"""Every input bound (domain/bounds.py, api/limits.py): a real value fits, a hostile one not."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from api.limits import RequestRefused, check_body, check_query, json_depth
from api.schemas import (
    ConnectionRetry,
    ContactEdit,
    DisconnectionConfirm,
    DisconnectionEdit,
    DisconnectionReject,
    GroupEdit,
    NewContact,
    NewDisconnectionRequest,
    NewGroup,
    NewGroupConnection,
)
from domain import bounds
from domain.bounds import (
    MAX_EMAIL,
    MAX_FREE_FORM_DEPTH,
    MAX_FREE_FORM_NODES,
    MAX_HOURS_WORKED,
    MAX_IDENTIFIER,
    MAX_MONEY,
    MAX_NAME,
    MAX_SHORT_TEXT,
    MAX_TEXT,
    MAX_VOLUME,
    OPEN_END,
)
from domain.disconnections import disconnects_at, end_date_problem, platform_request_problem
from domain.snapshots import parse_snapshot
from tests.unit.test_snapshot_schema import full_snapshot, put, refusals

NUL = "a\x00b"
LONE_SURROGATE = "a\ud800b"
TODAY = dt.datetime.now(dt.UTC).date()


def _refused(annotation: Any, value: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(annotation).validate_python(value)
    return str(caught.value.errors()[0]["msg"])


# --- texts -------------------------------------------------------------------------------------

TEXTS = [
    (bounds.Text, MAX_TEXT),
    (bounds.Name, MAX_NAME),
    (bounds.ShortText, MAX_SHORT_TEXT),
    (bounds.Identifier, MAX_IDENTIFIER),
    (bounds.EmailText, MAX_EMAIL),
    (bounds.NonEmptyName, MAX_NAME),
    (bounds.NonEmptyIdentifier, MAX_IDENTIFIER),
    (bounds.RequiredName, MAX_NAME),
    (bounds.RequiredIdentifier, MAX_IDENTIFIER),
]


@pytest.mark.parametrize(("annotation", "limit"), TEXTS)
def test_a_text_up_to_its_limit_is_taken_one_more_character_is_not(
    annotation: Any, limit: int
) -> None:
    adapter = TypeAdapter(annotation)
    assert adapter.validate_python("é" * limit) == "é" * limit
    assert "at most" in _refused(annotation, "é" * (limit + 1))


@pytest.mark.parametrize(("annotation", "limit"), TEXTS)
def test_no_text_takes_a_nul_or_an_unpaired_surrogate(annotation: Any, limit: int) -> None:
    assert "NUL" in _refused(annotation, NUL)
    assert _refused(annotation, LONE_SURROGATE)
    assert _refused(annotation, "\udfff")


def test_paired_surrogates_as_decoded_from_json_are_an_ordinary_character() -> None:
    emoji = json.loads('"\\ud83d\\ude00"')
    assert TypeAdapter(bounds.Name).validate_python(emoji) == "\U0001f600"


def test_the_surrogate_check_names_no_value() -> None:
    with pytest.raises(PydanticCustomError, match="unpaired surrogates") as caught:
        bounds.clean_text(LONE_SURROGATE)
    assert "\ud800" not in str(caught.value)


def test_required_texts_refuse_empty_and_non_empty_ones_refuse_blank() -> None:
    assert _refused(bounds.RequiredName, "")
    assert _refused(bounds.NonEmptyName, "   ")
    assert TypeAdapter(bounds.NonEmptyName).validate_python("  Acme  ") == "Acme"


def test_an_identifier_fits_a_btree_index_row() -> None:
    # PostgreSQL's btree row limit is 2704 bytes; a character takes at most 4 bytes in UTF-8.
    assert MAX_IDENTIFIER * 4 < 2704


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1900-01-01", "2026-06-30", "2200-12-31"])
def test_plausible_dates_are_taken(value: str) -> None:
    assert TypeAdapter(bounds.PlausibleDate).validate_python(value) == dt.date.fromisoformat(value)


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "2201-01-01", "9999-12-31"])
def test_implausible_dates_are_refused(value: str) -> None:
    assert "between 1900-01-01 and 2200-12-31" in _refused(bounds.PlausibleDate, value)


def test_an_end_date_may_be_the_open_end_but_nothing_else_beyond_the_range() -> None:
    adapter = TypeAdapter(bounds.PlausibleEndDate)
    assert adapter.validate_python("9999-12-31") == OPEN_END
    assert adapter.validate_python("2200-12-31") == dt.date(2200, 12, 31)
    for value in ["9999-12-30", "2201-01-01", "0001-01-01", "1899-12-31"]:
        assert "9999-12-31 for an open end" in _refused(bounds.PlausibleEndDate, value)


def test_a_birth_date_lies_between_1900_and_today() -> None:
    adapter = TypeAdapter(bounds.BirthDate)
    assert adapter.validate_python("1900-01-01") == dt.date(1900, 1, 1)
    assert adapter.validate_python(TODAY) == TODAY
    for value in [TODAY + dt.timedelta(days=3), dt.date(1, 1, 1), dt.date(1899, 12, 31)]:
        assert "future" in _refused(bounds.BirthDate, value)


# --- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "top", "beyond"),
    [
        (bounds.HoursWorked, MAX_HOURS_WORKED, 10**30),
        (bounds.Volume, MAX_VOLUME, 10**20),
        (bounds.Money, MAX_MONEY, 1e308),
    ],
)
def test_numbers_lie_between_zero_and_their_ceiling(annotation: Any, top: Any, beyond: Any) -> None:
    adapter = TypeAdapter(annotation)
    assert adapter.validate_python(0) == 0
    assert adapter.validate_python(top) == top
    assert _refused(annotation, top + 1)
    assert _refused(annotation, beyond)
    assert _refused(annotation, -1)


def test_hours_worked_are_at_most_a_week() -> None:
    assert MAX_HOURS_WORKED == 168


def test_money_refuses_infinity_and_nan() -> None:
    assert _refused(bounds.Money, float("inf"))
    assert _refused(bounds.Money, float("nan"))


# --- free-form objects -------------------------------------------------------------------------


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"level": value}
    return value


def test_a_free_form_object_takes_ordinary_carrier_configuration() -> None:
    config = {"bill_group": "B1", "member_group": {"id": "M-2", "classes": [1, 2.5, True, None]}}
    assert TypeAdapter(bounds.FreeFormObject).validate_python(config) == config


def test_a_free_form_object_nests_up_to_its_depth() -> None:
    adapter = TypeAdapter(bounds.FreeFormObject)
    assert adapter.validate_python(_nested(MAX_FREE_FORM_DEPTH))
    assert "levels deep" in _refused(bounds.FreeFormObject, _nested(MAX_FREE_FORM_DEPTH + 1))
    assert "levels deep" in _refused(bounds.FreeFormObject, _nested(5000))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"key": NUL}, "NUL"),
        ({NUL: "value"}, "NUL"),
        ({"key": [LONE_SURROGATE]}, "surrogates"),
        ({"key": "x" * (MAX_TEXT + 1)}, "characters"),
        ({"k" * (MAX_TEXT + 1): 1}, "characters"),
        ({"key": 1e308}, "finite"),
        ({"key": float("nan")}, "finite"),
        ({"key": list(range(MAX_FREE_FORM_NODES))}, "at most"),
    ],
)
def test_a_free_form_object_refuses_what_no_store_or_carrier_takes(
    value: dict[str, Any], reason: str
) -> None:
    assert reason in _refused(bounds.FreeFormObject, value)


def test_labels_are_short_clean_texts() -> None:
    adapter = TypeAdapter(bounds.Labels)
    assert adapter.validate_python({"division": "west"}) == {"division": "west"}
    assert _refused(bounds.Labels, {"division": NUL})
    assert _refused(bounds.Labels, {"d" * (MAX_IDENTIFIER + 1): "west"})
    assert _refused(bounds.Labels, {str(n): "x" for n in range(101)})


# --- the request models use them --------------------------------------------------------------

DISCONNECTION = {
    "carrier_id": "5b1d2b8e-0000-4000-8000-000000000000",
    "group_id": "5b1d2b8e-0000-4000-8000-000000000001",
    "effective_end_date": "2027-01-31",
}
CONTACT = {
    "first_name": "Ann",
    "last_name": "Lee",
    "email": "ann@example.com",
    "types": ["billing"],
}
CONNECTION = {
    "carrier_id": "5b1d2b8e-0000-4000-8000-000000000000",
    "group_data": {"carrier_group_id": "123", "group_name": "Acme"},
}


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    node = copy
    for part in parents:
        node = node[part]
    node[last] = value
    return copy


@pytest.mark.parametrize(
    ("model", "body", "field", "limit"),
    [
        (NewGroup, {"name": "Acme"}, "name", MAX_NAME),
        (NewGroup, {"name": "Acme"}, "dba_name", MAX_NAME),
        (GroupEdit, {}, "name", MAX_NAME),
        (GroupEdit, {}, "dba_name", MAX_NAME),
        (NewContact, CONTACT, "first_name", MAX_NAME),
        (NewContact, CONTACT, "last_name", MAX_NAME),
        (NewContact, CONTACT, "title", MAX_NAME),
        (ContactEdit, {}, "first_name", MAX_NAME),
        (ContactEdit, {}, "title", MAX_NAME),
        (NewGroupConnection, CONNECTION, "group_data.group_name", MAX_NAME),
        (NewGroupConnection, CONNECTION, "group_data.carrier_group_id", MAX_IDENTIFIER),
        (NewGroupConnection, CONNECTION, "group_data.broker_tin", MAX_SHORT_TEXT),
        (NewGroupConnection, CONNECTION, "group_data.broker_federal_ein", MAX_SHORT_TEXT),
        (ConnectionRetry, {}, "carrier_group_id", MAX_IDENTIFIER),
        (ConnectionRetry, {}, "broker_tin", MAX_SHORT_TEXT),
        (NewDisconnectionRequest, DISCONNECTION, "context", MAX_TEXT),
        (DisconnectionReject, {}, "context", MAX_TEXT),
        (DisconnectionEdit, {"status": "rejected"}, "context", MAX_TEXT),
        (DisconnectionEdit, {"status": "rejected"}, "reason", MAX_SHORT_TEXT),
    ],
)
def test_every_request_text_is_bounded_and_clean(
    model: type[BaseModel], body: dict[str, Any], field: str, limit: int
) -> None:
    model.model_validate(_with(body, field, "x" * limit))
    for bad in ["x" * (limit + 1), NUL, LONE_SURROGATE]:
        with pytest.raises(ValidationError) as caught:
            model.model_validate(_with(body, field, bad))
        assert ".".join(str(p) for p in caught.value.errors()[0]["loc"]) == field


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (NewContact, CONTACT, "email"),
        (ContactEdit, {}, "email"),
        (NewGroupConnection, CONNECTION, "group_data.employer_email_address"),
        (ConnectionRetry, {}, "employer_email_address"),
    ],
)
def test_email_addresses_are_bounded_and_clean(
    model: type[BaseModel], body: dict[str, Any], field: str
) -> None:
    model.model_validate(_with(body, field, "a" * (MAX_EMAIL - 12) + "@example.com"))
    for bad in ["a" * MAX_EMAIL + "@example.com", "a\x00@example.com", "a\ud800@example.com"]:
        with pytest.raises(ValidationError):
            model.model_validate(_with(body, field, bad))


@pytest.mark.parametrize("model", [NewDisconnectionRequest, DisconnectionConfirm])
def test_disconnection_end_dates_are_plausible_or_open(model: type[BaseModel]) -> None:
    body = DISCONNECTION if model is NewDisconnectionRequest else {}
    assert model.model_validate(_with(body, "effective_end_date", "9999-12-31"))
    for bad in ["0001-01-01", "1899-12-31", "2201-01-01", "9999-12-30"]:
        with pytest.raises(ValidationError) as caught:
            model.model_validate(_with(body, "effective_end_date", bad))
        assert caught.value.errors()[0]["loc"] == ("effective_end_date",)


def test_an_edit_end_date_is_plausible_or_open() -> None:
    edit = {"status": "processing"}
    assert DisconnectionEdit.model_validate(_with(edit, "effective_end_date", "9999-12-31"))
    with pytest.raises(ValidationError):
        DisconnectionEdit.model_validate(_with(edit, "effective_end_date", "0001-01-01"))


# --- the member snapshot uses them -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("employee.person.first_name", NUL),
        ("employee.person.last_name", LONE_SURROGATE),
        ("employee.person.first_name", "x" * (MAX_NAME + 1)),
        ("employee.person.middle_name", "x" * (MAX_NAME + 1)),
        ("employee.person.suffix", "x" * (MAX_SHORT_TEXT + 1)),
        ("employee.person.home_address.street_one", NUL),
        ("employee.person.home_address.city", "x" * (MAX_NAME + 1)),
        ("employee.person.contact.email_address", "x" * (MAX_EMAIL + 1)),
        ("employee.person.contact.preferred_language", NUL),
        ("employee.custom_individual_id", "x" * (MAX_IDENTIFIER + 1)),
        ("employee.group_individual_id", NUL),
        ("employee.employment.occupation", LONE_SURROGATE),
        ("employee.person.date_of_birth", "0001-01-01"),
        ("employee.person.date_of_birth", (TODAY + dt.timedelta(days=30)).isoformat()),
        ("employee.employment.hours_worked", 10**30),
        ("employee.employment.hours_worked", 169),
        ("employee.employment.salary.amount", 1e308),
        ("employee.employment.employment_dates.hire_date", "0001-01-01"),
        ("employee.employment.salary.effective_date", "3000-01-01"),
        ("coverages.0.enrolled_members.0.effective_start_date", "0001-01-01"),
        ("coverages.0.enrolled_members.0.volume", 10**20),
        ("coverages.0.carrier_config", {"bill_group": NUL}),
        ("coverages.0.carrier_config", _nested(MAX_FREE_FORM_DEPTH + 1)),
        ("coverages.0.plan_name", "x" * (MAX_NAME + 1)),
        ("events.0.date", "0001-01-01"),
    ],
)
def test_the_snapshot_names_each_field_out_of_bounds(path: str, value: Any) -> None:
    found = refusals(put(full_snapshot(), path, value))
    assert path in found, found


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("dependents", bounds.MAX_DEPENDENTS),
        ("coverages", bounds.MAX_COVERAGES),
        ("events", bounds.MAX_EVENTS),
        ("coverages.0.enrolled_members", bounds.MAX_ENROLLED),
        ("employee.person.details.tobacco.types", bounds.MAX_CHOICES),
    ],
)
def test_snapshot_lists_are_bounded(path: str, limit: int) -> None:
    payload = full_snapshot()
    parent: Any = payload
    for part in path.split("."):
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    found = refusals(put(payload, path, [parent[0]] * (limit + 1)))
    assert "List should have at most" in found[path]


def test_contact_types_are_bounded() -> None:
    with pytest.raises(ValidationError):
        NewContact.model_validate({**CONTACT, "types": ["billing"] * (bounds.MAX_CHOICES + 1)})


def test_the_snapshot_takes_the_open_end_and_plausible_dates() -> None:
    payload = put(
        full_snapshot(), "coverages.0.enrolled_members.0.effective_end_date", "9999-12-31"
    )
    payload = put(payload, "employee.employment.hours_worked", MAX_HOURS_WORKED)
    payload = put(payload, "employee.person.date_of_birth", "1900-01-01")
    assert parse_snapshot(payload).employee.employment.hours_worked == MAX_HOURS_WORKED


# --- request limits ----------------------------------------------------------------------------


def test_json_depth_counts_objects_and_arrays() -> None:
    assert json_depth(1) == 0
    assert json_depth({}) == 1
    assert json_depth({"a": [1, {"b": []}]}) == 4


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"name": "\xff"}', "UTF-8"),
        (b'{"name": "\xed\xa0\x80"}', "UTF-8"),  # a surrogate encoded as UTF-8 is not UTF-8
        (b'{"name": ', "not valid JSON"),
        (b'{"amount": NaN}', "not valid JSON"),
        (b'{"amount": Infinity}', "not valid JSON"),
        (b"[" * 33 + b"]" * 33, "32 levels"),
        (b"[" * 100_000, "32 levels"),
    ],
)
def test_bodies_that_are_not_utf8_json_within_the_depth_are_refused_400(
    body: bytes, reason: str
) -> None:
    with pytest.raises(RequestRefused) as caught:
        check_body(body, max_depth=32)
    assert caught.value.status == 400
    assert reason in caught.value.message


@pytest.mark.parametrize("body", [b"", b"  ", b"{}", b"[" * 32 + b"]" * 32, b'{"a": "\\u00e9"}'])
def test_empty_and_ordinary_bodies_pass(body: bytes) -> None:
    check_body(body, max_depth=32)


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        (b"company=a%00b", 422, "company"),
        (b"page_size=10&search=%00", 422, "search"),
        (b"company=%ff", 400, None),
        (b"company=a%ED%A0%80", 400, None),  # a surrogate encoded as UTF-8
    ],
)
def test_query_parameters_hold_no_nul_and_are_utf8(
    query: bytes, status: int, field: str | None
) -> None:
    with pytest.raises(RequestRefused) as caught:
        check_query(query)
    assert caught.value.status == status
    assert caught.value.field == field
    if field is not None:
        assert caught.value.body()["errors"] == [
            {"field": field, "message": "must not contain NUL characters"}
        ]


@pytest.mark.parametrize("query", [b"", b"company=caf%C3%A9&page_size=5", b"flag"])
def test_ordinary_query_strings_pass(query: bytes) -> None:
    check_query(query)


# --- disconnection end dates -------------------------------------------------------------------


def test_the_open_end_never_disconnects() -> None:
    assert disconnects_at(OPEN_END) is None
    assert disconnects_at(dt.date(2200, 12, 31)) == dt.datetime(2201, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("end", "coverage_start", "found"),
    [
        (dt.date(1, 1, 1), None, "days in the past"),
        (TODAY - dt.timedelta(days=31), None, "days in the past"),
        (dt.date(2020, 1, 1), dt.date(2021, 1, 1), "before the connection's coverage start"),
    ],
)
def test_the_end_date_rule_is_one_for_requests_and_decisions(
    end: dt.date, coverage_start: dt.date | None, found: str
) -> None:
    decided = end_date_problem(
        effective_end_date=end, coverage_start=coverage_start, today=TODAY, max_days_past=30
    )
    requested = platform_request_problem(
        connected=True,
        effective_end_date=end,
        coverage_start=coverage_start,
        today=TODAY,
        max_days_past=30,
    )
    assert decided == requested
    assert decided is not None
    assert found in decided


def test_the_end_date_rule_takes_recent_future_and_open_ends() -> None:
    for end in [TODAY - dt.timedelta(days=30), TODAY, OPEN_END]:
        assert (
            end_date_problem(
                effective_end_date=end, coverage_start=None, today=TODAY, max_days_past=30
            )
            is None
        )
