"""The sandbox carriers over HTTP: lookups, accounts, idempotent writes, faults and changes."""

from __future__ import annotations

import asyncio
import calendar
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from sandbox.app import SandboxConfig, create_app
from sandbox.generator import generate_account

Json = dict[str, Any]

PRINCIPAL_ID = "2345678"
UNUM_POLICY_ID = "12345678"
UNUM_MASTER_AGREEMENT = "H562343085C02814123"


def sandbox_client(config: SandboxConfig | None = None) -> httpx.AsyncClient:
    app = create_app(config or SandboxConfig())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox_client() as http:
        yield http


async def stats(http: httpx.AsyncClient) -> Json:
    response = await http.get("/_sandbox/stats")
    assert response.status_code == 200
    body: Json = response.json()
    return body


async def register(
    http: httpx.AsyncClient,
    key: str | None,
    *,
    reference: str = "platform-ref-1",
    path: str = f"/principal/groups/{PRINCIPAL_ID}/data_exchange",
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return await http.post(path, json={"platform_reference": reference}, headers=headers)


async def change(http: httpx.AsyncClient, carrier: str, group_id: str, body: Json) -> Json:
    response = await http.post(f"/_sandbox/{carrier}/groups/{group_id}/changes", json=body)
    assert response.status_code == 200, response.text
    account: Json = response.json()
    return account


async def account_of(http: httpx.AsyncClient, carrier: str, group_id: str) -> Json:
    response = await http.get(f"/{carrier}/groups/{group_id}/account")
    assert response.status_code == 200, response.text
    account: Json = response.json()
    return account


def end_of_month(day: date) -> str:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1]).isoformat()


# --- lookups -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("carrier", "group_id", "status"),
    [
        ("principal", "1989001", "in_review"),
        ("principal", "1767123", "not_installed"),
        ("principal", "1545999", "action_required"),
        ("principal", "1323000", "not_found"),
        ("principal", "1999000", "found"),
        ("principal", "1990000", "found"),
        ("principal", "2120000", "found"),
        ("principal", PRINCIPAL_ID, "found"),
        ("unum", "98900001", "in_review"),
        ("unum", "76712345", "not_installed"),
        ("unum", "54500000", "action_required"),
        ("unum", "32399999", "not_found"),
        ("unum", "21200007", "not_authorized"),
        ("unum", "99900001", "found"),
        ("unum", UNUM_POLICY_ID, "found"),
        ("unum", UNUM_MASTER_AGREEMENT, "found"),
        ("unum", "989ABCDEFGHIJKLMNOPQR", "found"),
        ("unum", "21200000000000000000", "found"),
    ],
)
async def test_lookup_answers_the_scripted_status(
    client: httpx.AsyncClient, carrier: str, group_id: str, status: str
) -> None:
    response = await client.get(f"/{carrier}/groups/{group_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["carrier_group_id"] == group_id
    assert body["status"] == status
    if status == "found":
        assert body["message"] is None
    else:
        assert body["message"]


async def test_principal_action_required_explains_the_broker_mismatch(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/principal/groups/1545000", params={"broker_federal_ein": "1"})
    assert "broker of record" in response.json()["message"]


@pytest.mark.parametrize(
    ("carrier", "group_id"),
    [
        ("principal", "123456"),
        ("principal", "12345678"),
        ("principal", "12345a7"),
        ("principal", "\u0661\u0662\u0663\u0664\u0665\u0666\u0667"),  # Arabic-Indic digits
        ("unum", "1234567"),
        ("unum", "123456789"),
        ("unum", "ABC123"),
        ("unum", "H562343085C02814123XYZ"),
        ("unum", "H562343085-C02814123"),
    ],
)
async def test_malformed_ids_are_404_everywhere(
    client: httpx.AsyncClient, carrier: str, group_id: str
) -> None:
    lookup = await client.get(f"/{carrier}/groups/{group_id}")
    assert lookup.status_code == 404
    assert lookup.json()["status"] == "not_found"
    assert lookup.json()["message"]
    assert (await client.get(f"/{carrier}/groups/{group_id}/account")).status_code == 404
    write = await register(client, "k", path=f"/{carrier}/groups/{group_id}/data_exchange")
    assert write.status_code == 404


async def test_unknown_carrier_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/aetna/groups/1234567")
    assert response.status_code == 404
    assert "aetna" in response.json()["message"]


@pytest.mark.parametrize(
    ("carrier", "group_id", "status"),
    [
        ("principal", "1323000", "not_found"),
        ("unum", "21200007", "not_authorized"),
        ("unum", "76712345", "not_installed"),
    ],
)
async def test_account_is_404_unless_found_or_in_review(
    client: httpx.AsyncClient, carrier: str, group_id: str, status: str
) -> None:
    response = await client.get(f"/{carrier}/groups/{group_id}/account")
    assert response.status_code == 404
    assert response.json()["status"] == status


@pytest.mark.parametrize(("carrier", "group_id"), [("principal", "1989001"), ("unum", "98900001")])
async def test_a_group_in_review_has_a_readable_account(
    client: httpx.AsyncClient, carrier: str, group_id: str
) -> None:
    response = await client.get(f"/{carrier}/groups/{group_id}/account")
    assert response.status_code == 200
    assert response.json()["carrier_group_id"] == group_id
    assert response.json()["plans"]


# --- accounts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("carrier", "group_id"),
    [("principal", PRINCIPAL_ID), ("unum", UNUM_POLICY_ID), ("unum", UNUM_MASTER_AGREEMENT)],
)
async def test_accounts_are_identical_across_fresh_apps(carrier: str, group_id: str) -> None:
    async with sandbox_client() as first, sandbox_client(SandboxConfig(seed=99)) as second:
        one = await account_of(first, carrier, group_id)
        other = await account_of(second, carrier, group_id)
    assert one == other
    assert one == generate_account(carrier, group_id)
    assert one["carrier_group_id"] == group_id


async def test_different_ids_give_different_accounts(client: httpx.AsyncClient) -> None:
    first = await account_of(client, "principal", PRINCIPAL_ID)
    second = await account_of(client, "principal", "2345679")
    assert {p["carrier_plan_id"] for p in first["plans"]}.isdisjoint(
        {p["carrier_plan_id"] for p in second["plans"]}
    )


async def test_account_has_the_documented_top_level_shape(client: httpx.AsyncClient) -> None:
    account = await account_of(client, "principal", PRINCIPAL_ID)
    assert set(account) == {
        "carrier_group_id",
        "group",
        "locations",
        "contacts",
        "configuration",
        "group_enrollments",
        "plans",
        "coverage_end_date",
    }
    assert account["coverage_end_date"] is None
    assert account["configuration"]["policy_number"] == PRINCIPAL_ID


@pytest.mark.parametrize(("carrier", "group_id"), [("principal", "1999123"), ("unum", "99912345")])
async def test_carrier_ended_groups_end_this_month(
    client: httpx.AsyncClient, carrier: str, group_id: str
) -> None:
    before = end_of_month(datetime.now(UTC).date())
    account = await account_of(client, carrier, group_id)
    after = end_of_month(datetime.now(UTC).date())
    assert account["coverage_end_date"] in {before, after}
    assert (await client.get(f"/{carrier}/groups/{group_id}")).json()["status"] == "found"


async def test_unum_master_agreement_ids_starting_999_are_not_carrier_ended(
    client: httpx.AsyncClient,
) -> None:
    account = await account_of(client, "unum", "999ABCDEFGHIJKLMNOPQ")
    assert account["coverage_end_date"] is None


# --- idempotent writes -------------------------------------------------------------------------


async def test_same_key_twice_applies_once_and_replays_the_same_body(
    client: httpx.AsyncClient,
) -> None:
    first = await register(client, "key-1")
    second = await register(client, "key-1")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    body = first.json()
    assert body["carrier_group_id"] == PRINCIPAL_ID
    assert body["platform_reference"] == "platform-ref-1"
    assert body["registration_id"]
    assert datetime.fromisoformat(body["registered_at"]).tzinfo is not None
    assert (await stats(client))["writes"] == {
        "applied": 1,
        "duplicates_absorbed": 1,
        "doubled": 0,
    }


async def test_a_new_key_for_the_same_reference_is_a_doubled_write(
    client: httpx.AsyncClient,
) -> None:
    first = await register(client, "key-1")
    second = await register(client, "key-2")
    other_reference = await register(client, "key-3", reference="platform-ref-2")
    assert first.status_code == second.status_code == other_reference.status_code == 201
    assert second.json()["registration_id"] != first.json()["registration_id"]
    assert (await stats(client))["writes"] == {
        "applied": 3,
        "duplicates_absorbed": 0,
        "doubled": 1,
    }


async def test_keys_are_scoped_per_carrier(client: httpx.AsyncClient) -> None:
    principal = await register(client, "shared-key")
    unum = await register(client, "shared-key", path=f"/unum/groups/{UNUM_POLICY_ID}/data_exchange")
    assert principal.status_code == unum.status_code == 201
    assert (await stats(client))["writes"]["applied"] == 2


async def test_reusing_a_key_for_another_request_is_refused(client: httpx.AsyncClient) -> None:
    await register(client, "key-1")
    reused = await register(client, "key-1", reference="platform-ref-2")
    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["message"]
    assert (await stats(client))["writes"]["applied"] == 1


@pytest.mark.parametrize("key", [None, ""])
async def test_missing_idempotency_key_is_400_and_applies_nothing(
    client: httpx.AsyncClient, key: str | None
) -> None:
    response = await register(client, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["message"]
    assert (await stats(client))["writes"]["applied"] == 0


async def test_write_to_a_group_that_is_not_found_is_404(client: httpx.AsyncClient) -> None:
    response = await register(client, "key-1", path="/principal/groups/1767000/data_exchange")
    assert response.status_code == 404
    assert response.json()["status"] == "not_installed"
    assert (await stats(client))["writes"]["applied"] == 0


async def test_concurrent_retries_with_one_key_apply_once(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(register(client, "key-1") for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["registration_id"] for r in responses}) == 1
    writes = (await stats(client))["writes"]
    assert writes == {"applied": 1, "duplicates_absorbed": 19, "doubled": 0}


# --- faults and stats --------------------------------------------------------------------------


async def test_injected_503_applies_no_write() -> None:
    async with sandbox_client(SandboxConfig(error_rate=1)) as http:
        failed = await register(http, "key-1")
        lookup = await http.get(f"/principal/groups/{PRINCIPAL_ID}")
        assert failed.status_code == lookup.status_code == 503
        assert failed.json() == {"message": "carrier unavailable (injected)"}
        assert await stats(http) == {
            "requests": 2,
            "writes": {"applied": 0, "duplicates_absorbed": 0, "doubled": 0},
            "faults_injected": 2,
        }
        await http.put("/_sandbox/faults", json={})
        retried = await register(http, "key-1")
        assert retried.status_code == 201, "the 503 must not have stored the key"


async def test_injected_timeout_applies_the_write_but_answers_late() -> None:
    async with sandbox_client(SandboxConfig(timeout_rate=1, timeout_seconds=0.2)) as http:
        started = time.monotonic()
        response = await register(http, "key-1")
        elapsed = time.monotonic() - started
        assert response.status_code == 201
        assert elapsed >= 0.2
        assert (await stats(http))["faults_injected"] == 1


async def test_latency_is_added_to_carrier_routes_only() -> None:
    # A full second keeps the two apart on a loaded CI box: an unloaded control read takes a
    # few milliseconds, and one once took 0.23 s there.
    async with sandbox_client(SandboxConfig(latency_ms=1000)) as http:
        started = time.monotonic()
        await http.get("/_sandbox/stats")
        control = time.monotonic() - started
        started = time.monotonic()
        await http.get(f"/principal/groups/{PRINCIPAL_ID}")
        carrier = time.monotonic() - started
        assert (await stats(http))["faults_injected"] == 0, "latency is not a fault"
    assert carrier >= 1.0
    assert control < 1.0


async def test_faults_can_be_read_and_replaced_live(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sandbox/faults")).json() == {
        "latency_ms": 0,
        "error_rate": 0.0,
        "timeout_rate": 0.0,
    }
    replaced = await client.put("/_sandbox/faults", json={"error_rate": 1})
    assert replaced.json() == {"latency_ms": 0, "error_rate": 1.0, "timeout_rate": 0.0}
    assert (await client.get("/_sandbox/faults")).json() == replaced.json()
    assert (await client.get(f"/unum/groups/{UNUM_POLICY_ID}")).status_code == 503
    await client.put("/_sandbox/faults", json={"latency_ms": 0})
    assert (await client.get(f"/unum/groups/{UNUM_POLICY_ID}")).status_code == 200


@pytest.mark.parametrize(
    "body", [{"error_rate": 1.5}, {"timeout_rate": -0.1}, {"latency_ms": -1}, {"error": 1}]
)
async def test_invalid_fault_settings_are_422(client: httpx.AsyncClient, body: Json) -> None:
    assert (await client.put("/_sandbox/faults", json=body)).status_code == 422
    assert (await client.get("/_sandbox/faults")).json()["error_rate"] == 0.0


async def test_partial_fault_rates_follow_the_seeded_rng() -> None:
    config = SandboxConfig(error_rate=0.5, seed=3)
    outcomes = []
    for _ in range(2):
        async with sandbox_client(config) as http:
            codes = [
                (await http.get(f"/unum/groups/{UNUM_POLICY_ID}")).status_code for _ in range(40)
            ]
            outcomes.append(codes)
    assert outcomes[0] == outcomes[1]
    assert 5 <= outcomes[0].count(503) <= 35


async def test_stats_count_carrier_requests_only(client: httpx.AsyncClient) -> None:
    await client.get(f"/principal/groups/{PRINCIPAL_ID}")
    await client.get(f"/unum/groups/{UNUM_POLICY_ID}/account")
    await client.get("/principal/groups/12")
    await client.get("/_sandbox/faults")
    assert (await stats(client))["requests"] == 3


# --- carrier-side changes ----------------------------------------------------------------------


async def test_rename_shows_in_the_next_account_read(client: httpx.AsyncClient) -> None:
    changed = await change(client, "principal", PRINCIPAL_ID, {"kind": "rename", "name": "Acme"})
    assert changed["group"]["name"] == "Acme"
    assert (await account_of(client, "principal", PRINCIPAL_ID))["group"]["name"] == "Acme"


async def test_add_plan_to_an_enrolled_line(client: httpx.AsyncClient) -> None:
    before = await account_of(client, "unum", UNUM_POLICY_ID)
    await change(client, "unum", UNUM_POLICY_ID, {"kind": "add_plan", "line_of_coverage": "dental"})
    after = await account_of(client, "unum", UNUM_POLICY_ID)
    added = [p for p in after["plans"] if p not in before["plans"]]
    assert len(added) == 1
    assert added[0]["line_of_coverage"] == "dental"
    dental = next(e for e in after["group_enrollments"] if e["line_of_coverage"] == "dental")
    assert added[0]["carrier_enrollment_id"] == dental["carrier_enrollment_id"]
    assert after["group_enrollments"] == before["group_enrollments"]


async def test_add_plan_to_a_new_line_adds_its_enrollment(client: httpx.AsyncClient) -> None:
    group_id, missing = next(
        (group_id, line)
        for group_id in (str(3_000_000 + i) for i in range(100))
        for line in ("accident", "std", "ltd", "add")
        if line
        not in {
            e["line_of_coverage"]
            for e in generate_account("principal", group_id)["group_enrollments"]
        }
    )
    await change(client, "principal", group_id, {"kind": "add_plan", "line_of_coverage": missing})
    account = await account_of(client, "principal", group_id)
    enrollment = next(e for e in account["group_enrollments"] if e["line_of_coverage"] == missing)
    plans = [p for p in account["plans"] if p["line_of_coverage"] == missing]
    assert len(plans) == 1
    assert plans[0]["carrier_enrollment_id"] == enrollment["carrier_enrollment_id"]
    member_keys = {g["member_group_key"] for g in account["configuration"]["member_groups"]}
    assert set(plans[0]["plan_configuration"]["member_group_keys"]) == member_keys


async def test_added_hospital_plan_takes_the_next_choice(client: httpx.AsyncClient) -> None:
    group_id = next(
        str(3_000_000 + i)
        for i in range(100)
        if len(
            [
                p
                for p in generate_account("principal", str(3_000_000 + i))["plans"]
                if p["line_of_coverage"] == "hospital_indemnity"
            ]
        )
        == 2
    )
    account = await change(
        client,
        "principal",
        group_id,
        {"kind": "add_plan", "line_of_coverage": "hospital_indemnity"},
    )
    choices = [
        p["plan_configuration"]["choice_plan_description"]
        for p in account["plans"]
        if p["line_of_coverage"] == "hospital_indemnity"
    ]
    assert choices == ["ONE", "TWO", "THREE"]


async def test_added_plans_are_deterministic_across_apps() -> None:
    body = {"kind": "add_plan", "line_of_coverage": "life"}
    accounts = []
    for _ in range(2):
        async with sandbox_client() as http:
            await change(http, "principal", PRINCIPAL_ID, body)
            accounts.append(await change(http, "principal", PRINCIPAL_ID, body))
    assert accounts[0] == accounts[1]
    life = [p for p in accounts[0]["plans"] if p["line_of_coverage"] == "life"]
    assert len({p["carrier_plan_id"] for p in life}) == len(life)


async def test_add_plan_for_a_line_the_carrier_does_not_offer_is_422(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        f"/_sandbox/unum/groups/{UNUM_POLICY_ID}/changes",
        json={"kind": "add_plan", "line_of_coverage": "accident"},
    )
    assert response.status_code == 422
    assert "accident" in response.json()["message"]
    assert await account_of(client, "unum", UNUM_POLICY_ID) == generate_account(
        "unum", UNUM_POLICY_ID
    )


async def test_discontinue_plan_shows_in_the_next_account_read(
    client: httpx.AsyncClient,
) -> None:
    plan_id = generate_account("principal", PRINCIPAL_ID)["plans"][0]["carrier_plan_id"]
    await change(
        client, "principal", PRINCIPAL_ID, {"kind": "discontinue_plan", "carrier_plan_id": plan_id}
    )
    statuses = {
        p["carrier_plan_id"]: p["status"]
        for p in (await account_of(client, "principal", PRINCIPAL_ID))["plans"]
    }
    assert statuses.pop(plan_id) == "discontinued"
    assert set(statuses.values()) == {"active"}


async def test_discontinuing_an_unknown_plan_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"/_sandbox/principal/groups/{PRINCIPAL_ID}/changes",
        json={"kind": "discontinue_plan", "carrier_plan_id": "nope"},
    )
    assert response.status_code == 422


async def test_change_location_shows_in_the_next_account_read(
    client: httpx.AsyncClient,
) -> None:
    location_id = generate_account("unum", UNUM_MASTER_AGREEMENT)["locations"][0][
        "carrier_location_id"
    ]
    address = {
        "street_one": "1 New Way",
        "street_two": None,
        "city": "Omaha",
        "state": "NE",
        "zip_code": "68102",
        "county": "Douglas",
    }
    await change(
        client,
        "unum",
        UNUM_MASTER_AGREEMENT,
        {"kind": "change_location", "carrier_location_id": location_id, "address": address},
    )
    account = await account_of(client, "unum", UNUM_MASTER_AGREEMENT)
    location = next(
        loc for loc in account["locations"] if loc["carrier_location_id"] == location_id
    )
    assert location["address"] == address


async def test_end_group_shows_in_the_next_account_read(client: httpx.AsyncClient) -> None:
    await change(
        client, "principal", PRINCIPAL_ID, {"kind": "end_group", "coverage_end_date": "2026-03-31"}
    )
    account = await account_of(client, "principal", PRINCIPAL_ID)
    assert account["coverage_end_date"] == "2026-03-31"


async def test_set_status_flips_the_lookup_both_ways(client: httpx.AsyncClient) -> None:
    waiting = "1767555"
    await change(client, "principal", waiting, {"kind": "set_status", "status": "found"})
    assert (await client.get(f"/principal/groups/{waiting}")).json()["status"] == "found"
    assert (await client.get(f"/principal/groups/{waiting}/account")).status_code == 200

    await change(
        client,
        "principal",
        PRINCIPAL_ID,
        {"kind": "set_status", "status": "not_authorized", "message": "access revoked"},
    )
    lookup = (await client.get(f"/principal/groups/{PRINCIPAL_ID}")).json()
    assert lookup == {
        "carrier_group_id": PRINCIPAL_ID,
        "status": "not_authorized",
        "message": "access revoked",
    }
    assert (await client.get(f"/principal/groups/{PRINCIPAL_ID}/account")).status_code == 404


async def test_changes_stay_on_their_app_instance(client: httpx.AsyncClient) -> None:
    await change(client, "principal", PRINCIPAL_ID, {"kind": "rename", "name": "Acme"})
    async with sandbox_client() as fresh:
        account = await account_of(fresh, "principal", PRINCIPAL_ID)
    assert account["group"]["name"] != "Acme"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "bogus"},
        {"name": "no kind"},
        {"kind": "rename"},
        {"kind": "rename", "name": ""},
        {"kind": "end_group", "coverage_end_date": "soon"},
        {"kind": "set_status", "status": "maybe"},
        {
            "kind": "change_location",
            "carrier_location_id": "x",
            "address": {"street_one": "1 A St", "city": "B", "state": "ne", "zip_code": "1"},
        },
        {"kind": "rename", "name": "Acme", "extra": True},
    ],
)
async def test_bad_change_bodies_are_422(client: httpx.AsyncClient, body: Json) -> None:
    response = await client.post(f"/_sandbox/principal/groups/{PRINCIPAL_ID}/changes", json=body)
    assert response.status_code == 422
    assert await account_of(client, "principal", PRINCIPAL_ID) == generate_account(
        "principal", PRINCIPAL_ID
    )


@pytest.mark.parametrize(
    "path", ["/_sandbox/principal/groups/12/changes", "/_sandbox/aetna/groups/1234567/changes"]
)
async def test_changes_to_unknown_groups_or_carriers_are_404(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(path, json={"kind": "rename", "name": "Acme"})
    assert response.status_code == 404
