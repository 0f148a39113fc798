"""Working the differences through the API (contract 4d writes): assign, dismiss, reopen, one
by id and in batches; `assignee_id` and `is_dismissed` served and filterable; another
organization's differences are 404 to write as to read."""

from __future__ import annotations

import uuid

import httpx
import pytest

from store.db import Database
from tests.integration.reads.conftest import assert_422, listed
from tests.integration.reads.test_differences_api import Seed

pytestmark = pytest.mark.integration

DIFFERENCES = "/api/v1/differences"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def seeded(database: Database, api: httpx.AsyncClient) -> tuple[Seed, list[str]]:
    """Three open differences of one employee."""
    seed = await Seed.of(database, api)
    group = await seed.group()
    _, transaction = await seed.employee_with_transaction(group)
    ids = [await seed.difference(transaction) for _ in range(3)]
    return seed, ids


async def test_assign_dismiss_and_reopen_one_difference(
    api: httpx.AsyncClient, seeded: tuple[Seed, list[str]]
) -> None:
    _, [difference, *_] = seeded
    before = (await api.get(f"{DIFFERENCES}/{difference}")).json()
    assert (before["assignee_id"], before["is_dismissed"], before["is_open"]) == (None, False, True)
    assignee = str(uuid.uuid4())

    assigned = await api.put(f"{DIFFERENCES}/{difference}/assign", json={"assignee_id": assignee})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee_id"] == assignee
    assert assigned.json()["version"] != before["version"]

    # The same again changes nothing: no new version.
    again = await api.put(f"{DIFFERENCES}/{difference}/assign", json={"assignee_id": assignee})
    assert again.json()["version"] == assigned.json()["version"]

    dismissed = await api.put(f"{DIFFERENCES}/{difference}/dismiss")
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["is_dismissed"], dismissed.json()["is_open"]) == (True, False)
    assert dismissed.json()["version"] != assigned.json()["version"]
    assert dismissed.json()["assignee_id"] == assignee

    reopened = await api.put(f"{DIFFERENCES}/{difference}/reopen")
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["is_dismissed"], reopened.json()["is_open"]) == (False, True)
    stored = (await api.get(f"{DIFFERENCES}/{difference}")).json()
    assert stored["version"] == reopened.json()["version"]


async def test_batches_answer_only_the_differences_they_changed(
    api: httpx.AsyncClient, seeded: tuple[Seed, list[str]]
) -> None:
    _, [first, second, third] = seeded
    await api.put(f"{DIFFERENCES}/{first}/dismiss")

    dismissed = await api.put(f"{DIFFERENCES}/dismiss", json={"ids": [first, second, second]})
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json() == {"ids": [second]}

    reopened = await api.put(f"{DIFFERENCES}/reopen", json={"ids": [third, second, first]})
    assert reopened.json() == {"ids": [second, first]}

    assignee = str(uuid.uuid4())
    await api.put(f"{DIFFERENCES}/{third}/assign", json={"assignee_id": assignee})
    assigned = await api.put(
        f"{DIFFERENCES}/assign", json={"ids": [first, second, third], "assignee_id": assignee}
    )
    assert assigned.json() == {"ids": [first, second]}


async def test_assignee_and_dismissal_filter_the_lists(
    api: httpx.AsyncClient, seeded: tuple[Seed, list[str]]
) -> None:
    _, [first, second, third] = seeded
    ana, bo = str(uuid.uuid4()), str(uuid.uuid4())
    await api.put(f"{DIFFERENCES}/assign", json={"ids": [first, second], "assignee_id": ana})
    await api.put(f"{DIFFERENCES}/{third}/assign", json={"assignee_id": bo})
    await api.put(f"{DIFFERENCES}/dismiss", json={"ids": [second]})

    assert set(await listed(api, DIFFERENCES, assignee_id=ana)) == {first, second}
    assert set(await listed(api, DIFFERENCES, assignee_id=f"{ana},{bo}")) == {first, second, third}
    assert await listed(api, DIFFERENCES, assignee_id=ana, is_dismissed="true") == [second]
    assert set(await listed(api, DIFFERENCES, is_dismissed="false")) == {first, third}
    assert set(await listed(api, DIFFERENCES, is_open="true")) == {first, third}
    page = (await api.get(DIFFERENCES, params={"assignee_id": bo})).json()["response"]
    assert [(d["id"], d["assignee_id"]) for d in page] == [(third, bo)]
    assert_422(await api.get(DIFFERENCES, params={"assignee_id": "nope"}), "assignee_id")


async def test_bodies_are_checked(api: httpx.AsyncClient, seeded: tuple[Seed, list[str]]) -> None:
    _, [first, *_] = seeded
    assert (await api.put(f"{DIFFERENCES}/dismiss", json={"ids": []})).status_code == 422
    too_many = [str(uuid.uuid4()) for _ in range(501)]
    assert (await api.put(f"{DIFFERENCES}/dismiss", json={"ids": too_many})).status_code == 422
    assert (await api.put(f"{DIFFERENCES}/assign", json={"ids": [first]})).status_code == 422
    assert (await api.put(f"{DIFFERENCES}/{first}/assign", json={})).status_code == 422
    bad = await api.put(f"{DIFFERENCES}/{first}/assign", json={"assignee_id": "x"})
    assert bad.status_code == 422


async def test_another_organization_gets_404_and_changes_nothing(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, seeded: tuple[Seed, list[str]]
) -> None:
    _, [first, second, _] = seeded
    before = (await api.get(f"{DIFFERENCES}/{first}")).json()
    assignee = {"assignee_id": str(uuid.uuid4())}

    for action, body in (("assign", assignee), ("dismiss", None), ("reopen", None)):
        response = await other_api.put(f"{DIFFERENCES}/{first}/{action}", json=body)
        assert response.status_code == 404, response.text
        assert response.json()["message"] == "difference not found"
        batch_body = {"ids": [first], **(body or {})}
        batch = await other_api.put(f"{DIFFERENCES}/{action}", json=batch_body)
        assert batch.status_code == 404, batch.text

    # A batch naming one id the caller does not own changes none of the others.
    mixed = await api.put(f"{DIFFERENCES}/dismiss", json={"ids": [second, UNKNOWN]})
    assert mixed.status_code == 404, mixed.text
    assert (await api.get(f"{DIFFERENCES}/{second}")).json()["is_dismissed"] is False
    assert (await api.put(f"{DIFFERENCES}/{UNKNOWN}/dismiss")).status_code == 404
    assert (await api.get(f"{DIFFERENCES}/{first}")).json() == before
