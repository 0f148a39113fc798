"""The difference lifecycle end to end: a snapshot's build opens pending differences for what it
expects each carrier to hold, the carrier matching resolves them, and they stay out of the lists
(and out of webhooks) unless `include_unavailable=true`, since no check ever saw them differ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.integration.test_member_snapshots import (
    both_carriers,
    coverages,
    differences_of,
    settled,
    submitted,
    verified_transactions,
)
from tools.sample_snapshots import new_hire, unique_id

pytestmark = pytest.mark.integration


async def test_a_timely_new_hire_resolves_every_pending_difference(
    api: httpx.AsyncClient,
) -> None:
    group_id, choices = await both_carriers(api)
    married = datetime.now(UTC).date() - timedelta(days=5)
    body = new_hire(
        unique_id(), coverages(choices), event_reason="marriage", event_date=married, start=married
    )
    snapshot = await submitted(api, group_id, body)
    await settled(api, snapshot["id"])
    transactions = await verified_transactions(api, snapshot["employee_id"])
    path = f"/api/v1/employees/{snapshot['employee_id']}/differences"

    response = await api.get(path, params={"include_unavailable": "true", "page_size": 100})
    assert response.status_code == 200, response.text
    pending = response.json()["response"]
    carriers = {t["carrier_id"] for t in transactions}
    assert {d["carrier_id"] for d in pending} == carriers
    for carrier_id in carriers:
        kinds = {d["difference_type"] for d in pending if d["carrier_id"] == carrier_id}
        assert {"missing_employee", "missing_ie"} <= kinds
    # The carrier matched: each resolved, none found, so none has an origin transaction.
    assert all(d["resolved"] is not None for d in pending)
    assert not any(d["is_discrepancy"] for d in pending)
    one = (await api.get(f"/api/v1/differences/{pending[0]['id']}")).json()
    assert one["member_snapshot_id"] == snapshot["id"]
    assert one["member_transaction_id"] is None
    assert one["sources"][0]["object_type"] == "member_snapshot"
    assert one["sources"][0]["stage"] == "expected"
    assert one["sources"][-1]["resolves_difference"] is True

    # By default the lists show what a carrier was seen to hold otherwise: nothing here.
    assert (await api.get(path)).json()["response"] == []
    for transaction in transactions:
        assert await differences_of(api, transaction["id"]) == []
    by_snapshot = await api.get(
        "/api/v1/differences",
        params={
            "member_snapshot_id": snapshot["id"],
            "include_unavailable": "true",
            "page_size": 100,
        },
    )
    assert {d["id"] for d in by_snapshot.json()["response"]} == {d["id"] for d in pending}
