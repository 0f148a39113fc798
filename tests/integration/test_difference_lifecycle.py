"""The difference lifecycle end to end: a snapshot's build opens pending differences for what it
expects each carrier to hold (readable with `include_unavailable=true` while they wait), and the
carrier matching at its first look settles them: nothing is left once the snapshot is verified."""

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


async def test_a_timely_new_hire_settles_every_pending_difference(
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

    # Each carrier matched what the snapshot expected at its first look: every pending
    # difference was settled and dropped, none was ever a difference at a carrier.
    response = await api.get(path, params={"include_unavailable": "true", "page_size": 100})
    assert response.status_code == 200, response.text
    assert response.json()["response"] == []
    assert (await api.get(path)).json()["response"] == []
    for transaction in transactions:
        assert await differences_of(api, transaction["id"]) == []
