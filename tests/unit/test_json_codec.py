"""`store.db.json_dumps` / `json_loads`, the JSON(B) codec of every connection: orjson's speed,
the stdlib's answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from store.db import json_dumps, json_loads

VALUES: list[Any] = [
    {"member": {"first_name": "Zoë", "ssn": "123456789"}, "changes": [], "n": None},
    [1, -2, 1.5, 0.1, 1e300, True, False, None, "", "a\u2028b", "\U0001f600"],
    {"edge": [-(2**63), 2**64 - 1, 9_223_372_036_854_775_807]},
    "plain",
    42,
]


@pytest.mark.parametrize("value", VALUES)
def test_a_value_reads_back_as_the_stdlib_reads_it(value: Any) -> None:
    assert json_loads(json_dumps(value)) == json.loads(json.dumps(value))
    assert json_loads(json.dumps(value)) == json.loads(json.dumps(value))


def test_keys_that_are_not_strings_are_written_as_strings_as_the_stdlib_does() -> None:
    assert json.loads(json_dumps({1: "a", 2.5: "b", None: "c"})) == {
        "1": "a",
        "2.5": "b",
        "null": "c",
    }


@pytest.mark.parametrize("number", [2**64, 10**30, -(10**30), -(2**63) - 1])
def test_an_integer_beyond_64_bits_stays_exact_both_ways(number: int) -> None:
    # orjson refuses to write it and would read it as a float: the stdlib does both.
    written = json_dumps({"n": number, "list": [number]})
    assert json.loads(written) == {"n": number, "list": [number]}
    read = json_loads(written)
    assert read == {"n": number, "list": [number]}
    assert isinstance(read["n"], int)
