"""Member transactions at the sandbox carriers: timing, idempotency, managed and failed changes,
the members they hold, and the engine's HTTP client for them."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from carriers import CARRIERS, CarrierAdapter, CarrierRejected, carrier_adapters
from carriers.principal import PrincipalAdapter
from carriers.unum import UnumAdapter
from domain.enums import LineOfCoverage
from domain.members import (
    CarrierCoverage,
    CarrierDependent,
    CarrierEmployee,
    CarrierMember,
    CarrierMemberRecord,
    CarrierTransactionState,
    EnrolledIndividual,
    MemberEvent,
)
from domain.snapshots import IndividualType
from sandbox.app import SandboxConfig, create_app
from tests.harness import AppServer

Json = dict[str, Any]

PRINCIPAL_ID = "2345678"
UNUM_ID = "12345678"
PRINCIPAL = f"/principal/groups/{PRINCIPAL_ID}"
UNUM = f"/unum/groups/{UNUM_ID}"

EMPLOYEE_ID = uuid.UUID("11111111-1111-4111-8111-111111111111")
SPOUSE_ID = uuid.UUID("22222222-2222-4222-8222-222222222222")
DENTAL_PLAN = uuid.UUID("33333333-3333-4333-8333-333333333333")
LIFE_PLAN = uuid.UUID("44444444-4444-4444-8444-444444444444")
START = dt.date(2024, 1, 1)
OPEN_END = dt.date(9999, 12, 31)
T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def sandbox_client(clock: Clock, config: SandboxConfig | None = None) -> httpx.AsyncClient:
    app = create_app(config or SandboxConfig(), clock=clock)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


@pytest.fixture
async def client(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox_client(clock) as http:
        yield http


def address(street: str) -> Json:
    return {"street_one": street, "city": "Des Moines", "state": "IA", "zip_code": "50309"}


def base_member() -> CarrierMember:
    """An employee and spouse in dental, the employee in life: the engine's own model."""
    config = {"member_group": 1122334, "bill_group": 10001}
    return CarrierMember(
        employee=CarrierEmployee(
            id=EMPLOYEE_ID,
            person={
                "first_name": "Ada",
                "last_name": "Lovelace",
                "date_of_birth": "1985-12-10",
                "sex": "F",
                "home_address": address("1 Main St"),
                "mailing_address": address("1 Main St"),
            },
            employment={
                "employment_status": "full-time",
                "hours_worked": 40,
                "employment_dates": {"hire_date": "2023-11-15"},
            },
        ),
        dependents=(
            CarrierDependent(
                id=SPOUSE_ID,
                relationship="spouse",
                person={
                    "first_name": "Charles",
                    "last_name": "Lovelace",
                    "date_of_birth": "1984-03-01",
                    "sex": "M",
                    "home_address": address("1 Main St"),
                    "mailing_address": address("1 Main St"),
                },
            ),
        ),
        coverages=(
            CarrierCoverage(
                line_of_coverage=LineOfCoverage.DENTAL,
                plan_id=DENTAL_PLAN,
                carrier_plan_id="D-100",
                carrier_config=config,
                enrolled_members=(
                    EnrolledIndividual(
                        individual_id=EMPLOYEE_ID,
                        individual_type=IndividualType.EMPLOYEE,
                        effective_start_date=START,
                        effective_end_date=OPEN_END,
                    ),
                    EnrolledIndividual(
                        individual_id=SPOUSE_ID,
                        individual_type=IndividualType.DEPENDENT,
                        effective_start_date=START,
                        effective_end_date=OPEN_END,
                    ),
                ),
            ),
            CarrierCoverage(
                line_of_coverage=LineOfCoverage.LIFE,
                plan_id=LIFE_PLAN,
                carrier_plan_id="L-200",
                carrier_config=config,
                enrolled_members=(
                    EnrolledIndividual(
                        individual_id=EMPLOYEE_ID,
                        individual_type=IndividualType.EMPLOYEE,
                        effective_start_date=START,
                        effective_end_date=OPEN_END,
                        volume=50000,
                    ),
                ),
            ),
        ),
        event=MemberEvent(type="coverage", reason="new_hire", date=START),
    )


def base() -> Json:
    return base_member().model_dump(mode="json")


def changed(member: Json, edit: Callable[[Json], None]) -> Json:
    """A copy of `member` with `edit` applied; still a valid engine CarrierMember."""
    result = copy.deepcopy(member)
    edit(result)
    CarrierMember.model_validate(result)
    return result


def employee(m: Json) -> Json:
    return m["employee"]["person"]


def spouse(m: Json) -> Json:
    return m["dependents"][0]["person"]


def enrollments(m: Json) -> list[Json]:
    return [e for c in m["coverages"] for e in c["enrolled_members"]]


def terminate(m: Json, *, end: str = "2024-12-31") -> None:
    m["employee"]["employment"]["employment_status"] = "terminated"
    for enrolled in enrollments(m):
        enrolled["effective_end_date"] = end


def terminated_member() -> Json:
    return changed(base(), terminate)


async def send(
    http: httpx.AsyncClient,
    group: str,
    member: Json,
    *,
    key: str | None = None,
    transaction_id: str | None = None,
    transaction_type: str = "carrier_new_hire",
) -> httpx.Response:
    key = key or str(uuid.uuid4())
    body = {
        "transaction_id": transaction_id or str(uuid.uuid4()),
        "transaction_type": transaction_type,
        "member": member,
    }
    return await http.post(
        f"{group}/member_transactions", json=body, headers={"Idempotency-Key": key}
    )


async def sent(http: httpx.AsyncClient, group: str, member: Json) -> str:
    response = await send(http, group, member)
    assert response.status_code == 201, response.text
    carrier_id: str = response.json()["id"]
    return carrier_id


async def status_of(http: httpx.AsyncClient, group: str, carrier_id: str) -> Json:
    response = await http.get(f"{group}/member_transactions/{carrier_id}")
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def held(http: httpx.AsyncClient, group: str) -> Json:
    response = await http.get(f"{group}/members/{EMPLOYEE_ID}")
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def stats(http: httpx.AsyncClient) -> Json:
    body: Json = (await http.get("/_sandbox/stats")).json()
    return body


def statuses(body: Json) -> list[str]:
    return [step["status"] for step in body["history"]]


def at(offset_seconds: float) -> datetime:
    return T0 + timedelta(seconds=offset_seconds)


def steps(body: Json) -> list[tuple[str, datetime]]:
    return [(step["status"], datetime.fromisoformat(step["at"])) for step in body["history"]]


async def established(http: httpx.AsyncClient, clock: Clock, group: str, member: Json) -> None:
    """The carrier holds `member`; the clock is past its processing."""
    carrier_id = await sent(http, group, member)
    clock.advance(2)
    assert (await status_of(http, group, carrier_id))["status"] == "completed"


# --- timing -----------------------------------------------------------------------------------


async def test_accepted_then_processing_then_completed_after_the_delay(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    response = await send(client, PRINCIPAL, base(), transaction_id="txn-1")
    assert response.status_code == 201
    receipt = response.json()
    assert receipt["status"] == "accepted"
    assert receipt["transaction_id"] == "txn-1"
    assert datetime.fromisoformat(receipt["received_at"]) == T0

    body = await status_of(client, PRINCIPAL, receipt["id"])
    assert body["status"] == "processing"
    assert steps(body) == [("accepted", at(0)), ("processing", at(0))]
    assert body["transaction_type"] == "carrier_new_hire"
    assert body["employee_id"] == str(EMPLOYEE_ID)
    assert body["managed"] is False
    assert body["reason"] is None

    clock.advance(1.9)
    assert (await status_of(client, PRINCIPAL, receipt["id"]))["status"] == "processing"
    clock.advance(0.1)
    body = await status_of(client, PRINCIPAL, receipt["id"])
    assert body["status"] == "completed"
    assert steps(body)[-1] == ("completed", at(2))
    assert (await stats(client))["member_transactions"] == {
        "received": 1,
        "completed": 1,
        "failed": 0,
        "managed": 0,
    }


async def test_a_members_transactions_are_taken_in_receipt_order(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    first = await sent(client, PRINCIPAL, base())
    clock.advance(0.5)
    renamed = changed(base(), lambda m: employee(m).update(last_name="Byron"))
    second = await sent(client, PRINCIPAL, renamed)
    clock.advance(1)
    body = await status_of(client, PRINCIPAL, second)
    assert body["status"] == "accepted", "queued behind the first"
    clock.advance(0.5)
    assert (await status_of(client, PRINCIPAL, first))["status"] == "completed"
    body = await status_of(client, PRINCIPAL, second)
    assert body["status"] == "processing"
    assert steps(body)[1] == ("processing", at(2))
    assert (await held(client, PRINCIPAL))["employee"]["person"]["last_name"] == "Lovelace"
    clock.advance(2)
    assert (await status_of(client, PRINCIPAL, second))["status"] == "completed"
    assert (await held(client, PRINCIPAL))["employee"]["person"]["last_name"] == "Byron"


async def test_a_transaction_is_classified_against_the_earlier_pending_ones(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await sent(client, PRINCIPAL, base())
    regendered = changed(base(), lambda m: employee(m).update(sex="M"))
    second = await sent(client, PRINCIPAL, regendered)  # the first is still processing
    clock.advance(4)
    assert (await status_of(client, PRINCIPAL, second))["status"] == "managed"


async def test_other_employees_are_not_queued_behind_each_other(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    other = changed(base(), lambda m: m["employee"].update(id=str(uuid.uuid4())))
    first = await sent(client, PRINCIPAL, base())
    second = await sent(client, PRINCIPAL, other)
    clock.advance(2)
    assert (await status_of(client, PRINCIPAL, first))["status"] == "completed"
    assert (await status_of(client, PRINCIPAL, second))["status"] == "completed"


# --- idempotency -------------------------------------------------------------------------------


async def test_same_key_replays_the_receipt_and_applies_once(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    first = await send(client, PRINCIPAL, base(), key="k-1", transaction_id="txn-1")
    clock.advance(1)
    second = await send(client, PRINCIPAL, base(), key="k-1", transaction_id="txn-1")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    current = await stats(client)
    assert current["writes"] == {"applied": 1, "duplicates_absorbed": 1, "doubled": 0}
    assert current["member_transactions"]["received"] == 1


async def test_a_new_key_for_the_same_transaction_is_doubled(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    first = await send(client, PRINCIPAL, base(), key="k-1", transaction_id="txn-1")
    second = await send(client, PRINCIPAL, base(), key="k-2", transaction_id="txn-1")
    other = await send(client, PRINCIPAL, base(), key="k-3", transaction_id="txn-2")
    assert first.status_code == second.status_code == other.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    current = await stats(client)
    assert current["writes"] == {"applied": 3, "duplicates_absorbed": 0, "doubled": 1}
    assert current["member_transactions"]["received"] == 3
    found = (await client.get("/_sandbox/member_transactions?transaction_id=txn-1")).json()
    assert [t["id"] for t in found] == [first.json()["id"], second.json()["id"]]
    assert {t["carrier"] for t in found} == {"principal"}
    assert {t["carrier_group_id"] for t in found} == {PRINCIPAL_ID}


async def test_reusing_a_key_for_another_member_is_refused(client: httpx.AsyncClient) -> None:
    await send(client, PRINCIPAL, base(), key="k-1", transaction_id="txn-1")
    renamed = changed(base(), lambda m: employee(m).update(last_name="Byron"))
    reused = await send(client, PRINCIPAL, renamed, key="k-1", transaction_id="txn-1")
    assert reused.status_code == 422
    assert (await stats(client))["writes"]["applied"] == 1


async def test_missing_idempotency_key_is_400(client: httpx.AsyncClient) -> None:
    body = {"transaction_id": "txn-1", "transaction_type": "carrier_new_hire", "member": base()}
    response = await client.post(f"{PRINCIPAL}/member_transactions", json=body)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["message"]
    assert (await client.get("/_sandbox/member_transactions/stats")).json() == {
        "received": 0,
        "completed": 0,
        "failed": 0,
        "managed": 0,
    }
    assert "member_transactions" not in await stats(client)


# --- Principal managed changes -----------------------------------------------------------------


def _end_spouse_dental(m: Json) -> None:
    m["coverages"][0]["enrolled_members"][1]["effective_end_date"] = "2024-06-30"


def _reopen(m: Json) -> None:
    m["employee"]["employment"]["employment_status"] = "full-time"
    for enrolled in enrollments(m):
        enrolled["effective_end_date"] = OPEN_END.isoformat()


MANAGED_KINDS: list[tuple[str, Callable[[], Json], Callable[[Json], None], str]] = [
    ("employee sex", base, lambda m: employee(m).update(sex="M"), "gender change"),
    ("dependent sex", base, lambda m: spouse(m).update(sex="F"), "gender change"),
    (
        "effective start date",
        base,
        lambda m: m["coverages"][0]["enrolled_members"][0].update(
            effective_start_date="2024-02-01"
        ),
        "effective date change",
    ),
    (
        "hire date",
        base,
        lambda m: m["employee"]["employment"]["employment_dates"].update(hire_date="2023-10-01"),
        "hire date change",
    ),
    (
        "member group",
        base,
        lambda m: m["coverages"][0]["carrier_config"].update(member_group=1122335),
        "member group change",
    ),
    (
        "bill group",
        base,
        lambda m: m["coverages"][1]["carrier_config"].update(bill_group=10002),
        "bill group change",
    ),
    ("reinstatement", terminated_member, _reopen, "reinstatement"),
    (
        "dependent reinstatement",
        lambda: changed(base(), _end_spouse_dental),
        lambda m: m["coverages"][0]["enrolled_members"][1].update(
            effective_end_date=OPEN_END.isoformat()
        ),
        "dependent reinstatement",
    ),
    (
        "life volume",
        base,
        lambda m: m["coverages"][1]["enrolled_members"][0].update(volume=60000),
        "volume change",
    ),
]


@pytest.mark.parametrize(
    ("before", "edit", "reason"),
    [pytest.param(b, e, r, id=name) for name, b, e, r in MANAGED_KINDS],
)
async def test_principal_managed_changes_take_the_slow_path(
    client: httpx.AsyncClient,
    clock: Clock,
    before: Callable[[], Json],
    edit: Callable[[Json], None],
    reason: str,
) -> None:
    original = before()
    await established(client, clock, PRINCIPAL, original)
    update = changed(original, edit)
    carrier_id = await sent(client, PRINCIPAL, update)

    clock.advance(1)
    body = await status_of(client, PRINCIPAL, carrier_id)
    assert (body["status"], body["managed"], body["reason"]) == ("processing", False, None)
    clock.advance(1)
    body = await status_of(client, PRINCIPAL, carrier_id)
    assert body["status"] == "managed"
    assert body["managed"] is True
    assert reason in body["reason"]
    assert (await held(client, PRINCIPAL))["employee"] == original["employee"]

    clock.advance(7.9)
    assert (await status_of(client, PRINCIPAL, carrier_id))["status"] == "managed"
    clock.advance(0.1)
    body = await status_of(client, PRINCIPAL, carrier_id)
    assert statuses(body) == ["accepted", "processing", "managed", "completed"]
    assert [when for _, when in steps(body)] == [at(2), at(2), at(4), at(12)]
    assert body["managed"] is True
    member = await held(client, PRINCIPAL)
    assert member == {**update, "terminated": False}
    assert (await stats(client))["member_transactions"] == {
        "received": 2,
        "completed": 2,
        "failed": 0,
        "managed": 1,
    }


async def test_managed_changes_at_unum_are_plain_at_principal_and_vice_versa(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await established(client, clock, PRINCIPAL, base())
    await established(client, clock, UNUM, base())
    regendered = changed(base(), lambda m: employee(m).update(sex="M"))
    principal = await sent(client, PRINCIPAL, regendered)
    unum = await sent(client, UNUM, regendered)
    clock.advance(2)
    assert (await status_of(client, PRINCIPAL, principal))["status"] == "managed"
    assert (await status_of(client, UNUM, unum))["status"] == "completed"


# --- Principal failed changes ------------------------------------------------------------------


FAILED_KINDS: list[tuple[str, Callable[[], Json], Callable[[Json], None], str]] = [
    (
        "demographics of a terminated member",
        terminated_member,
        lambda m: employee(m).update(last_name="Byron"),
        "demographic change for a terminated member",
    ),
    (
        "dependent home address",
        base,
        lambda m: spouse(m).update(home_address=address("2 Elm St")),
        "dependent address change",
    ),
    (
        "dependent mailing address",
        base,
        lambda m: spouse(m).update(mailing_address=address("PO Box 9")),
        "dependent address change",
    ),
    (
        "coverage removal for a terminated member",
        lambda: changed(base(), lambda m: terminate(m, end=OPEN_END.isoformat())),
        lambda m: terminate(m, end="2025-01-31"),
        "coverage removal for a terminated member",
    ),
]


@pytest.mark.parametrize(
    ("before", "edit", "reason"),
    [pytest.param(b, e, r, id=name) for name, b, e, r in FAILED_KINDS],
)
async def test_principal_failed_changes_leave_the_member_while_unum_applies_them(
    client: httpx.AsyncClient,
    clock: Clock,
    before: Callable[[], Json],
    edit: Callable[[Json], None],
    reason: str,
) -> None:
    original = before()
    await sent(client, PRINCIPAL, original)
    await sent(client, UNUM, original)
    clock.advance(2)
    principal_before = await held(client, PRINCIPAL)
    update = changed(original, edit)
    principal = await sent(client, PRINCIPAL, update)
    unum = await sent(client, UNUM, update)

    clock.advance(2)
    body = await status_of(client, PRINCIPAL, principal)
    assert body["status"] == "failed"
    assert reason in body["reason"]
    assert body["managed"] is False
    assert statuses(body) == ["accepted", "processing", "failed"]
    assert await held(client, PRINCIPAL) == principal_before
    assert principal_before == {**original, "terminated": principal_before["terminated"]}

    assert (await status_of(client, UNUM, unum))["status"] == "completed"
    unum_member = await held(client, UNUM)
    assert unum_member == {**update, "terminated": unum_member["terminated"]}
    assert (await stats(client))["member_transactions"] == {
        "received": 4,
        "completed": 3,
        "failed": 1,
        "managed": 0,
    }


async def test_a_failed_change_leaves_what_later_ones_compare_against(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await established(client, clock, PRINCIPAL, base())
    moved = changed(base(), lambda m: spouse(m).update(home_address=address("2 Elm St")))
    first = await sent(client, PRINCIPAL, moved)
    second = await sent(client, PRINCIPAL, moved)
    clock.advance(4)
    assert (await status_of(client, PRINCIPAL, first))["status"] == "failed"
    assert (await status_of(client, PRINCIPAL, second))["status"] == "failed"


async def test_a_terminated_member_is_held_as_terminated(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await established(client, clock, PRINCIPAL, base())
    await established(client, clock, PRINCIPAL, terminated_member())
    member = await held(client, PRINCIPAL)
    assert member["terminated"] is True
    assert member["employee"]["employment"]["employment_status"] == "terminated"


# --- Unum managed changes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        pytest.param(
            lambda m: spouse(m).update(first_name="Charlie"),
            "dependent first_name change",
            id="first_name",
        ),
        pytest.param(
            lambda m: spouse(m).update(date_of_birth="1984-03-02"),
            "dependent date_of_birth change",
            id="date_of_birth",
        ),
    ],
)
async def test_unum_dependent_name_and_birth_date_changes_are_managed(
    client: httpx.AsyncClient, clock: Clock, edit: Callable[[Json], None], reason: str
) -> None:
    await established(client, clock, UNUM, base())
    update = changed(base(), edit)
    carrier_id = await sent(client, UNUM, update)
    clock.advance(2)
    body = await status_of(client, UNUM, carrier_id)
    assert body["status"] == "managed"
    assert reason in body["reason"]
    clock.advance(8)
    body = await status_of(client, UNUM, carrier_id)
    assert statuses(body) == ["accepted", "processing", "managed", "completed"]
    assert (await held(client, UNUM))["dependents"] == update["dependents"]


async def test_unum_employee_name_changes_are_not_managed(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await established(client, clock, UNUM, base())
    update = changed(base(), lambda m: employee(m).update(first_name="Augusta"))
    carrier_id = await sent(client, UNUM, update)
    clock.advance(2)
    body = await status_of(client, UNUM, carrier_id)
    assert (body["status"], body["managed"]) == ("completed", False)


# --- members, 404s and processing settings ------------------------------------------------------


async def test_member_is_known_once_its_first_transaction_completes(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    member = base()
    await sent(client, PRINCIPAL, member)
    path = f"{PRINCIPAL}/members/{EMPLOYEE_ID}"
    assert (await client.get(path)).status_code == 404
    clock.advance(2)
    body = await held(client, PRINCIPAL)
    assert body == {**member, "terminated": False}
    record = CarrierMemberRecord.model_validate(body)
    assert record.as_member() == base_member()


@pytest.mark.parametrize(
    "path",
    [
        f"{PRINCIPAL}/member_transactions/nope",
        f"{PRINCIPAL}/members/22222222-2222-4222-8222-222222222222",
        f"{UNUM}/members/{EMPLOYEE_ID}",
        "/principal/groups/12/member_transactions/nope",
        "/aetna/groups/2345678/members/" + str(EMPLOYEE_ID),
    ],
)
async def test_unknown_transactions_and_members_are_404(
    client: httpx.AsyncClient, clock: Clock, path: str
) -> None:
    await established(client, clock, PRINCIPAL, base())
    assert (await client.get(path)).status_code == 404


async def test_a_transaction_is_only_found_at_its_own_group(client: httpx.AsyncClient) -> None:
    carrier_id = await sent(client, PRINCIPAL, base())
    response = await client.get(f"/principal/groups/2345679/member_transactions/{carrier_id}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("group", "status"),
    [("/principal/groups/1767000", "not_installed"), ("/unum/groups/32300000", "not_found")],
)
async def test_a_transaction_to_an_unavailable_group_is_404(
    client: httpx.AsyncClient, group: str, status: str
) -> None:
    response = await send(client, group, base())
    assert response.status_code == 404
    assert response.json()["status"] == status
    assert (await stats(client))["writes"]["applied"] == 0


async def test_a_malformed_member_is_422(client: httpx.AsyncClient) -> None:
    member = base()
    del member["employee"]["id"]
    assert (await send(client, PRINCIPAL, member)).status_code == 422


async def test_processing_speed_can_be_changed_live(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    assert (await client.get("/_sandbox/processing")).json() == {
        "delay_seconds": 2.0,
        "managed_factor": 5.0,
    }
    await established(client, clock, PRINCIPAL, base())
    regendered = changed(base(), lambda m: employee(m).update(sex="M"))
    carrier_id = await sent(client, PRINCIPAL, regendered)
    clock.advance(3)
    assert (await status_of(client, PRINCIPAL, carrier_id))["status"] == "managed"
    response = await client.put(
        "/_sandbox/processing", json={"delay_seconds": 1, "managed_factor": 2}
    )
    assert response.json() == {"delay_seconds": 1.0, "managed_factor": 2.0}
    body = await status_of(client, PRINCIPAL, carrier_id)
    assert body["status"] == "completed", "unfinished transactions follow the new speed"
    assert steps(body)[-1] == ("completed", at(4))
    for invalid in ({"delay_seconds": -1}, {"managed_factor": 0.5}, {"delay": 1}):
        assert (await client.put("/_sandbox/processing", json=invalid)).status_code == 422
    assert (await client.get("/_sandbox/processing")).json()["delay_seconds"] == 1.0


async def test_configured_speed_applies_from_the_start(clock: Clock) -> None:
    config = SandboxConfig(processing_delay_seconds=0, managed_factor=1)
    async with sandbox_client(clock, config) as http:
        carrier_id = await sent(http, PRINCIPAL, base())
        assert (await status_of(http, PRINCIPAL, carrier_id))["status"] == "completed"


# --- the engine's client -----------------------------------------------------------------------


@asynccontextmanager
async def served_adapters(clock: Clock) -> AsyncIterator[dict[uuid.UUID, CarrierAdapter]]:
    """The engine's carrier adapters, over HTTP, to a sandbox served on a free loopback port."""
    async with (
        AppServer(create_app(SandboxConfig(), clock=clock)) as server,
        carrier_adapters(
            {info.slug: f"{server.url}/{info.slug}" for info in CARRIERS.values()},
            timeout_seconds=10,
        ) as adapters,
    ):
        yield adapters


async def test_the_carrier_client_sends_tracks_and_reads_back(clock: Clock) -> None:
    async with served_adapters(clock) as adapters:
        adapter = adapters[PrincipalAdapter.info.id]
        member = base_member()
        receipt = await adapter.send_member_transaction(
            PRINCIPAL_ID,
            transaction_id="txn-1",
            transaction_type="carrier_new_hire",
            member=member,
            idempotency_key="k-1",
        )
        assert receipt.status is CarrierTransactionState.ACCEPTED
        assert receipt.transaction_id == "txn-1"
        assert receipt.received_at == T0
        replay = await adapter.send_member_transaction(
            PRINCIPAL_ID,
            transaction_id="txn-1",
            transaction_type="carrier_new_hire",
            member=member,
            idempotency_key="k-1",
        )
        assert replay == receipt

        status = await adapter.member_transaction_status(PRINCIPAL_ID, receipt.id)
        assert status.status is CarrierTransactionState.PROCESSING
        assert not status.status.finished
        assert await adapter.fetch_member(PRINCIPAL_ID, EMPLOYEE_ID) is None

        clock.advance(2)
        status = await adapter.member_transaction_status(PRINCIPAL_ID, receipt.id)
        assert status.status is CarrierTransactionState.COMPLETED
        assert status.status.finished
        assert [step.status for step in status.history] == [
            CarrierTransactionState.ACCEPTED,
            CarrierTransactionState.PROCESSING,
            CarrierTransactionState.COMPLETED,
        ]
        assert status.employee_id == EMPLOYEE_ID
        record = await adapter.fetch_member(PRINCIPAL_ID, EMPLOYEE_ID)
        assert record is not None
        assert record.terminated is False
        assert record.as_member() == member

        with pytest.raises(CarrierRejected):
            await adapter.member_transaction_status(PRINCIPAL_ID, "unknown")


# --- COBRA ---------------------------------------------------------------------------------------

COBRA = {
    "eligibility_start_date": "2025-01-01",
    "eligibility_end_date": "2026-06-30",
    "qualifying_event_date": "2024-12-31",
    "qualifying_event_reason": "termination_of_employment",
}


def on_cobra(m: Json) -> None:
    m["coverages"][0]["cobra"] = COBRA


async def test_principal_holds_cobra_coverage_and_answers_it_back(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    member = changed(base(), on_cobra)
    await established(client, clock, PRINCIPAL, base())
    carrier_id = await sent(client, PRINCIPAL, member)
    clock.advance(2)
    assert (await status_of(client, PRINCIPAL, carrier_id))["status"] == "completed"
    body = await held(client, PRINCIPAL)
    assert body["coverages"][0]["cobra"] == COBRA
    record = CarrierMemberRecord.model_validate(body)
    assert record.as_member() == CarrierMember.model_validate(member)


async def test_unum_refuses_cobra_coverage_and_applies_nothing(client: httpx.AsyncClient) -> None:
    response = await send(client, UNUM, changed(base(), on_cobra))
    assert response.status_code == 422
    assert response.json()["message"] == "Unum does not support COBRA (member.coverages.0.cobra)"
    assert (await stats(client))["writes"]["applied"] == 0
    # Coverage that is not COBRA (told as null) is taken.
    assert (await send(client, UNUM, base())).status_code == 201


async def test_the_carrier_client_reports_unums_cobra_refusal(clock: Clock) -> None:
    async with served_adapters(clock) as adapters:
        adapter = adapters[UnumAdapter.info.id]
        with pytest.raises(CarrierRejected, match="Unum does not support COBRA"):
            await adapter.send_member_transaction(
                UNUM_ID,
                transaction_id="txn-1",
                transaction_type="carrier_cobra_enrollment",
                member=CarrierMember.model_validate(changed(base(), on_cobra)),
                idempotency_key="k-1",
            )


def terminate_with_cobra(m: Json) -> None:
    """Employment and life end on 2024-12-31; dental continues under COBRA."""
    m["employee"]["employment"]["employment_status"] = "terminated"
    m["coverages"][1]["enrolled_members"][0]["effective_end_date"] = "2024-12-31"
    on_cobra(m)


def cobra_member() -> Json:
    return changed(base(), terminate_with_cobra)


def _end_dental(m: Json, end: str = "2025-01-31") -> None:
    for enrolled in m["coverages"][0]["enrolled_members"]:
        enrolled["effective_end_date"] = end


def _drop_dental(m: Json) -> None:
    del m["coverages"][0]


COBRA_MEMBER_CHANGES: list[tuple[str, Callable[[Json], None]]] = [
    ("employee address", lambda m: employee(m).update(home_address=address("2 Elm St"))),
    ("employee name", lambda m: employee(m).update(last_name="Byron")),
    ("end of the COBRA coverage", _end_dental),
    ("COBRA coverage no longer sent", _drop_dental),
]


@pytest.mark.parametrize("edit", [pytest.param(e, id=name) for name, e in COBRA_MEMBER_CHANGES])
async def test_principal_takes_changes_of_a_former_employee_on_cobra(
    client: httpx.AsyncClient, clock: Clock, edit: Callable[[Json], None]
) -> None:
    # Employment terminated, but still an active covered member at the carrier: not a
    # "terminated member" whose demographic changes or coverage removals fail (seed 003).
    await established(client, clock, PRINCIPAL, base())
    await established(client, clock, PRINCIPAL, cobra_member())
    update = changed(cobra_member(), edit)
    carrier_id = await sent(client, PRINCIPAL, update)
    clock.advance(2)
    body = await status_of(client, PRINCIPAL, carrier_id)
    assert (body["status"], body["reason"], body["managed"]) == ("completed", None, False)
    member = await held(client, PRINCIPAL)
    assert member == {**update, "terminated": member["terminated"]}


async def test_principal_takes_a_cobra_election_with_demographics_of_a_terminated_member(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    # Terminated with coverage to the end of the month, then electing COBRA to continue dental
    # (and moving): continuing coverage, the member is not one who stays terminated.
    terminated = changed(base(), lambda m: terminate(m, end="2025-01-31"))
    await established(client, clock, PRINCIPAL, terminated)

    def elect(m: Json) -> None:
        _end_dental(m, OPEN_END.isoformat())
        on_cobra(m)
        employee(m).update(home_address=address("2 Elm St"))

    election = changed(terminated, elect)
    carrier_id = await sent(client, PRINCIPAL, election)
    clock.advance(2)
    body = await status_of(client, PRINCIPAL, carrier_id)
    assert (body["status"], body["reason"]) == ("completed", None)
    assert (await held(client, PRINCIPAL))["employee"] == election["employee"]


def _cobra_ended_life_active(m: Json) -> None:
    _end_dental(m, "2024-12-31")
    m["coverages"][1]["enrolled_members"][0]["effective_end_date"] = OPEN_END.isoformat()


@pytest.mark.parametrize(
    ("before", "edit", "reason"),
    [
        pytest.param(
            lambda: changed(cobra_member(), lambda m: _end_dental(m, "2024-12-31")),
            lambda m: employee(m).update(last_name="Byron"),
            "demographic change for a terminated member",
            id="demographics after COBRA ended",
        ),
        pytest.param(
            lambda: changed(cobra_member(), _cobra_ended_life_active),
            lambda m: m["coverages"][1]["enrolled_members"][0].update(
                effective_end_date="2025-01-31"
            ),
            "coverage removal for a terminated member",
            id="removal of other coverage after COBRA ended",
        ),
    ],
)
async def test_principal_fails_changes_of_a_terminated_member_whose_cobra_has_ended(
    client: httpx.AsyncClient,
    clock: Clock,
    before: Callable[[], Json],
    edit: Callable[[Json], None],
    reason: str,
) -> None:
    # Only COBRA coverage still active keeps a former employee an active member; ended COBRA
    # coverage, or other coverage still active, does not.
    original = before()
    await established(client, clock, PRINCIPAL, base())
    await established(client, clock, PRINCIPAL, original)
    held_before = await held(client, PRINCIPAL)
    carrier_id = await sent(client, PRINCIPAL, changed(original, edit))
    clock.advance(2)
    body = await status_of(client, PRINCIPAL, carrier_id)
    assert body["status"] == "failed"
    assert reason in body["reason"]
    assert await held(client, PRINCIPAL) == held_before
