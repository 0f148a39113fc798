"""The pure parts of Idempotency-Key: the key's form, the request's hash, what a repeat gets."""

from __future__ import annotations

import pytest

from api.idempotency import KeyRefused, checked_key, earlier_answer, request_fingerprint
from store.idempotency import KeyUse


def test_a_key_is_printable_ascii_up_to_255_characters() -> None:
    assert checked_key(b" order-42 ") == "order-42"
    assert checked_key(b"k" * 255) == "k" * 255
    for raw in (b"", b"   ", b"k" * 256, "é".encode(), b"a\x01b"):
        with pytest.raises(KeyRefused) as refused:
            checked_key(raw)
        assert refused.value.status == 422
        assert refused.value.body()["errors"][0]["field"] == "Idempotency-Key"


def test_the_fingerprint_covers_method_path_query_and_body() -> None:
    base = request_fingerprint("POST", "/api/v1/groups", b"", b'{"name":"a"}')
    assert base == request_fingerprint("POST", "/api/v1/groups", b"", b'{"name":"a"}')
    others = {
        request_fingerprint("POST", "/api/v1/groups", b"", b'{"name":"b"}'),
        request_fingerprint("POST", "/api/v1/groupsx", b"", b'{"name":"a"}'),
        request_fingerprint("POST", "/api/v1/groups", b"x=1", b'{"name":"a"}'),
        # Parts are length-prefixed: moving bytes between them changes the hash.
        request_fingerprint("POST", "/api/v1/groups{", b"", b'"name":"a"}'),
    }
    assert base not in others
    assert len(others) == 4


def test_a_repeat_gets_the_first_answer_or_a_refusal() -> None:
    done = KeyUse("abc", 201, "application/json", b'{"id": 1}')
    assert earlier_answer(done, "abc") == (201, "application/json", b'{"id": 1}')
    with pytest.raises(KeyRefused) as other_body:
        earlier_answer(done, "def")
    assert other_body.value.status == 422
    assert "Idempotency-Key" in other_body.value.body()["message"]
    with pytest.raises(KeyRefused) as in_flight:
        earlier_answer(KeyUse("abc", None, None, None), "abc")
    assert in_flight.value.status == 409
    assert in_flight.value.body() == {"message": in_flight.value.message, "status": 409}
