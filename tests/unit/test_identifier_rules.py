"""Carrier identifier rules: Principal policy numbers and broker FEIN, Unum IDs and padding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carriers import principal, unum
from domain.errors import ValidationFailed


@pytest.mark.parametrize("value", ["1234567", "0000001", " 7654321 "])
def test_principal_accepts_seven_digit_policy_numbers(value: str) -> None:
    assert principal.normalize_carrier_group_id(value) == value.strip()


@pytest.mark.parametrize(
    "value", ["123456", "12345678", "12a4567", "", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17"]
)
def test_principal_refuses_anything_else(value: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        principal.normalize_carrier_group_id(value)
    assert err.value.problems[0].field == "group_data.carrier_group_id"
    assert "7-digit" in err.value.problems[0].reason


def test_principal_requires_a_nine_digit_broker_fein() -> None:
    principal.validate_group_data(
        {"carrier_group_id": "1234567", "broker_federal_ein": "123456789"}
    )
    for fein in (None, "", "12345678", "12-3456789"):
        with pytest.raises(ValidationFailed) as err:
            principal.validate_group_data(
                {"carrier_group_id": "1234567", "broker_federal_ein": fein}
            )
        assert [p.field for p in err.value.problems] == ["group_data.broker_federal_ein"]


def test_principal_reports_every_bad_field_at_once() -> None:
    with pytest.raises(ValidationFailed) as err:
        principal.validate_group_data({"carrier_group_id": "12"})
    assert {p.field for p in err.value.problems} == {
        "group_data.carrier_group_id",
        "group_data.broker_federal_ein",
    }


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("123456", "00123456"), ("1", "00000001"), ("12345678", "12345678"), ("00123456", "00123456")],
)
def test_unum_policy_ids_are_left_padded_to_eight_digits(raw: str, stored: str) -> None:
    assert unum.normalize_carrier_group_id(raw) == stored


@pytest.mark.parametrize("raw", ["H562343085C02814123", "h562343085c0281412345", "A" * 20])
def test_unum_master_agreement_numbers_are_accepted(raw: str) -> None:
    assert unum.normalize_carrier_group_id(raw) == raw.upper()


@pytest.mark.parametrize(
    "raw", ["123456789", "A" * 18, "A" * 22, "H5623-43085C0281412", "", "12 34"]
)
def test_unum_refuses_long_policy_ids_and_malformed_agreements(raw: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        unum.normalize_carrier_group_id(raw)
    assert err.value.problems[0].field == "group_data.carrier_group_id"


@given(st.text(alphabet="0123456789", min_size=1, max_size=8))
def test_unum_padding_keeps_the_number_and_makes_eight_digits(raw: str) -> None:
    stored = unum.normalize_carrier_group_id(raw)
    assert len(stored) == 8
    assert int(stored) == int(raw)
    assert unum.is_policy_id(stored)
