"""`store.db.Statement` compiles once and refuses what would change its text per call."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from store.db import Statement, id_param, ids_param
from store.models import Plan


def test_parameters_are_bound_by_name_in_the_text_s_order_with_constants_kept() -> None:
    statement = Statement(
        select(Plan.id).where(
            Plan.status == "active",
            Plan.carrier_id == func.any(ids_param("carrier_ids")),
            Plan.group_id == id_param("group_id"),
        )
    )
    group_id, carrier_id = uuid.uuid4(), uuid.uuid4()

    args = statement._args({"group_id": group_id, "carrier_ids": [carrier_id]})

    assert "= any($2::UUID[])" in statement.sql
    assert args == ["active", [carrier_id], group_id]


def test_a_missing_parameter_is_refused_not_sent_as_null() -> None:
    statement = Statement(select(Plan.id).where(Plan.group_id == id_param("group_id")))

    with pytest.raises(TypeError, match="no value for group_id"):
        statement._args({})


def test_an_in_list_is_refused_for_an_array() -> None:
    with pytest.raises(ValueError, match=r"func\.any"):
        Statement(select(Plan.id).where(Plan.status.in_(["active", "inactive"])))
