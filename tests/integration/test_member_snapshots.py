"""Member snapshots end to end: intake through the API, transactions at the sandbox carriers."""

from __future__ import annotations

import base64
import copy
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from activities.fulfillment import FulfillmentActivities
from carriers import CARRIERS, carrier_adapters
from domain.fulfillment import KeyedTransaction, SendRequest, Sent, transaction_key
from domain.member_changes import NOT_CONNECTED_NOTE
from runtime.settings import Settings
from sandbox.generator import generate_account
from services.fulfillment import settle_snapshots
from store.db import Database
from store.members import cancel_unsent
from store.models import GroupConnection, Member, MemberTransaction
from store.models import MemberSnapshot as MemberSnapshotRow
from tests.harness import eventually, statements_sent
from tests.integration.test_audits import connected
from tests.integration.test_connections import (
    PRINCIPAL,
    UNUM,
    principal_id,
    reaches,
    unum_id,
)
from tools.sample_snapshots import (
    PlanChoice,
    new_hire,
    person,
    pick,
    plan_choices,
    unique_id,
)
from workflows.fulfillment import workflow_id

pytestmark = pytest.mark.integration

T = TypeVar("T")

# Made-up people whose every identifying value is unusual enough to grep for.
SSN = "271828182"
EMPLOYEE = person("Zebulon", "Quillfeather", born="1971-03-09", sex="M", ssn=SSN)
SPOUSE = person("Xanthippa", "Quillfeather", born="1973-11-27", sex="F")
PII = ["Zebulon", "Quillfeather", "Xanthippa", SSN, "1971-03-09", "1973-11-27"]


async def both_carriers(
    api: httpx.AsyncClient, principal_group_id: str | None = None, unum_group_id: str | None = None
) -> tuple[str, list[PlanChoice]]:
    """A group connected to Principal and Unum, and a valid choice per plan.

    The carrier group IDs are fresh ones unless given (the sandbox generates a group's plans
    from its ID, so a test needing particular plans names an ID that has them)."""
    group_id = await connected(api, PRINCIPAL, principal_group_id or principal_id())
    response = await api.post(
        f"/api/v1/groups/{group_id}/group_connections",
        json={
            "carrier_id": UNUM,
            "group_data": {"carrier_group_id": unum_group_id or unum_id()},
        },
    )
    assert response.status_code == 201, response.text
    await reaches(api, response.json()["id"], "completed")
    return group_id, await plan_choices(api, group_id)


def coverages(choices: list[PlanChoice]) -> list[PlanChoice]:
    """A dental-or-vision plan at each carrier, plus Principal life (volume rules apply)."""
    principal = pick(choices, PRINCIPAL, "dental", "vision")[:1] + pick(choices, PRINCIPAL, "life")
    unum = pick(choices, UNUM, "dental", "vision", "std", "ltd", "add")[:1]
    assert principal, "the sandbox group offers no Principal plan on the lines this test uses"
    assert unum, "the sandbox group offers no Unum plan on the lines this test uses"
    return principal + unum


def with_spouse(custom_id: str, choices: list[PlanChoice]) -> dict[str, Any]:
    return new_hire(
        custom_id,
        coverages(choices),
        employee=copy.deepcopy(EMPLOYEE),
        dependents=[
            {
                "custom_individual_id": f"{custom_id}-spouse",
                "relationship": "spouse",
                "person": copy.deepcopy(SPOUSE),
            }
        ],
    )


async def submitted(api: httpx.AsyncClient, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(f"/api/v1/groups/{group_id}/member_snapshots", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def settled(api: httpx.AsyncClient, snapshot_id: str, within: float = 60) -> dict[str, Any]:
    """The snapshot once it is no longer submitted or processing (a bound on liveness, not a
    speed check: a snapshot takes about 3 s here, and once took over 30 s on a 2-core box
    running two suites at once)."""

    async def done() -> dict[str, Any] | None:
        body = (await api.get(f"/api/v1/member_snapshots/{snapshot_id}")).json()
        return None if body["status"] in ("submitted", "processing") else body

    return dict(await eventually(done, within=within))


async def transactions_of(api: httpx.AsyncClient, employee_id: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/member_transactions", params={"page_size": 100})
    assert response.status_code == 200, response.text
    return [t for t in response.json()["response"] if t["employee_id"] == employee_id]


def refusal(response: httpx.Response, status: int = 422) -> dict[str, str]:
    assert response.status_code == status, response.text
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


async def test_a_new_hire_reaches_both_carriers_and_completes(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient
) -> None:
    group_id, choices = await both_carriers(api)
    custom_id = unique_id()

    snapshot = await submitted(api, group_id, with_spouse(custom_id, choices))

    assert snapshot["status"] == "submitted"
    assert {m["type"] for m in snapshot["created_members"]} == {"employee", "dependent"}
    assert {f["carrier_id"] for f in snapshot["fulfillment_summary"]} == {PRINCIPAL, UNUM}
    done = await settled(api, snapshot["id"])
    assert done["status"] == "completed"
    assert {f["status"] for f in done["fulfillment_summary"]} == {"sent"}
    transactions = await transactions_of(api, snapshot["employee_id"])
    assert {t["carrier_id"] for t in transactions} == {PRINCIPAL, UNUM}
    for transaction in transactions:
        assert transaction["transaction_type"] == "carrier_new_hire"
        assert transaction["status"] == "completed"
        assert [d["status_detail"] for d in transaction["status_details"]][:2] == [
            "noyo_accepted",
            "carrier_accepted",
        ]
        assert "carrier_completed" in [d["status_detail"] for d in transaction["status_details"]]
    status = (await api.get(f"/api/v1/employees/{snapshot['employee_id']}/status")).json()
    assert {s["status"] for s in status["carrier_statuses"]} == {"stable"}


async def test_settling_a_snapshot_names_its_organization_without_reading_it_again(
    api: httpx.AsyncClient, database: Database
) -> None:
    group_id, choices = await both_carriers(api)
    snapshot = await settled(
        api, (await submitted(api, group_id, with_spouse(unique_id(), choices)))["id"]
    )
    snapshot_id = UUID(snapshot["id"])
    async with database.transaction() as session:
        await session.execute(
            update(MemberSnapshotRow)
            .where(MemberSnapshotRow.id == snapshot_id)
            .values(
                fulfillment_summary=[
                    {**entry, "status": "processing"} for entry in snapshot["fulfillment_summary"]
                ]
            )
        )

    async with database.transaction() as session:
        with statements_sent(database) as sent:
            await settle_snapshots(session, {snapshot_id})

    # Each entry changed back to sent: a webhook event each, for the subscriptions of the
    # organization the settling read had already loaded.
    assert [
        s
        for s, _ in sent
        if s.startswith("SELECT member_snapshots.id, member_snapshots.organization_id")
    ] == []
    assert any(s.startswith("SELECT webhook_subscriptions.") for s, _ in sent)
    again = (await api.get(f"/api/v1/member_snapshots/{snapshot_id}")).json()
    assert {f["status"] for f in again["fulfillment_summary"]} == {"sent"}


async def test_the_calculated_snapshot_is_the_current_one_and_submits_as_no_change(
    api: httpx.AsyncClient,
) -> None:
    group_id, choices = await both_carriers(api)
    snapshot = await submitted(api, group_id, with_spouse(unique_id(), choices))
    assert (await settled(api, snapshot["id"]))["status"] == "completed"

    response = await api.get(f"/api/v1/employees/{snapshot['employee_id']}/member_snapshot")

    assert response.status_code == 200, response.text
    current = response.json()
    assert current == snapshot["member_snapshot"]
    again = await submitted(api, group_id, current)
    assert again["created_members"] == []
    done = await settled(api, again["id"])
    assert {f["status"] for f in done["fulfillment_summary"]} == {"no_changes"}


async def test_the_dry_run_checks_everything_and_keeps_nothing(
    api: httpx.AsyncClient, database: Database
) -> None:
    group_id, choices = await both_carriers(api)
    custom_id = unique_id()

    response = await api.post(
        f"/api/v1/groups/{group_id}/member_snapshots/test", json=with_spouse(custom_id, choices)
    )

    assert response.status_code == 200, response.text
    assert response.json()["id"] is None
    async with database.transaction() as session:
        kept = await session.scalar(select(Member).where(Member.custom_individual_id == custom_id))
    assert kept is None
    listed = await api.get(f"/api/v1/groups/{group_id}/member_snapshots")
    assert listed.json()["response"] == []
    bad = with_spouse(custom_id, choices)
    bad["employee"]["person"]["sex"] = "X"
    fields = refusal(await api.post(f"/api/v1/groups/{group_id}/member_snapshots/test", json=bad))
    assert "employee.person.sex" in fields


async def test_a_snapshot_finds_its_people_by_either_id_within_the_group_only(
    api: httpx.AsyncClient,
) -> None:
    group_id, choices = await both_carriers(api)
    other_group_id = await connected(api, PRINCIPAL, principal_id())
    custom_id = unique_id()
    first = await submitted(api, group_id, with_spouse(custom_id, choices))
    employee_id = first["employee_id"]
    spouse_id = next(m["id"] for m in first["created_members"] if m["type"] == "dependent")

    async def dry_run(group: str, body: dict[str, Any]) -> httpx.Response:
        return await api.post(f"/api/v1/groups/{group}/member_snapshots/test", json=body)

    by_custom = await dry_run(group_id, with_spouse(custom_id, choices))
    # Engine ids are looked up before platform ids: these platform ids name nobody.
    by_engine = json.loads(json.dumps(with_spouse(custom_id, choices)).replace(custom_id, "x"))
    by_engine["employee"]["id"] = employee_id
    by_engine["dependents"][0]["id"] = spouse_id
    by_engine_ids = await dry_run(group_id, by_engine)

    for found in (by_custom, by_engine_ids):
        assert found.status_code == 200, found.text
        assert found.json()["employee_id"] == employee_id
        assert found.json()["created_members"] == []
        assert found.json()["member_snapshot"]["dependents"][0]["id"] == spouse_id
    # Another group's employee and another employee's dependent are unknown, not found.
    elsewhere = copy.deepcopy(by_engine)
    elsewhere["coverages"] = []
    assert (await dry_run(other_group_id, elsewhere)).status_code == 404
    stranger = copy.deepcopy(by_engine)
    stranger["dependents"][0]["id"] = str(uuid4())
    assert (await dry_run(group_id, stranger)).status_code == 404
    # The same platform id in another group is a new employee there.
    new_there = with_spouse(custom_id, choices)
    new_there["coverages"] = []
    answered = await dry_run(other_group_id, new_there)
    assert answered.status_code == 200, answered.text
    assert answered.json()["employee_id"] is None
    assert len(answered.json()["created_members"]) == 2


async def test_refusals_name_the_field_and_never_echo_the_person(
    api: httpx.AsyncClient,
) -> None:
    group_id, choices = await both_carriers(api)
    url = f"/api/v1/groups/{group_id}/member_snapshots"
    body = with_spouse(unique_id(), choices)

    schema = copy.deepcopy(body)
    schema["employee"]["employment"]["employment_status"] = "moonlighting"
    assert "employee.employment.employment_status" in refusal(await api.post(url, json=schema))

    duplicate = copy.deepcopy(body)
    twin = copy.deepcopy(duplicate["dependents"][0])
    twin["custom_individual_id"] = "twin"
    duplicate["dependents"].append(twin)
    response = await api.post(url, json=duplicate)
    assert response.status_code == 400, response.text

    unknown = copy.deepcopy(body)
    unknown["employee"]["id"] = "00000000-0000-4000-8000-000000000000"
    assert (await api.post(url, json=unknown)).status_code == 404

    no_events = copy.deepcopy(body)
    no_events["events"] = []
    no_events["employee"].pop("event_id")
    assert "events" in refusal(await api.post(url, json=no_events))

    wrong_group = copy.deepcopy(body)
    principal_index = next(
        i for i, c in enumerate(wrong_group["coverages"]) if c["carrier_id"] == PRINCIPAL
    )
    wrong_group["coverages"][principal_index]["carrier_config"]["member_group"] = 1
    fields = refusal(await api.post(url, json=wrong_group))
    assert f"coverages.{principal_index}.carrier_config.member_group" in fields

    for problem in (schema, no_events, wrong_group):
        text = (await api.post(url, json=problem)).text
        assert not [value for value in PII if value in text]


async def test_a_carrier_the_group_is_not_connected_to_is_refused(api: httpx.AsyncClient) -> None:
    group_id = await connected(api, PRINCIPAL, principal_id())
    _, choices = await both_carriers(api)
    unum = pick(choices, UNUM, "dental", "vision", "std", "ltd", "add")[:1]
    body = new_hire(unique_id(), unum)

    fields = refusal(await api.post(f"/api/v1/groups/{group_id}/member_snapshots", json=body))

    assert "no completed connection" in fields["coverages.0.carrier_id"]


async def test_a_snapshot_that_leaves_out_an_active_coverage_is_refused_by_default(
    api: httpx.AsyncClient,
) -> None:
    group_id, choices = await both_carriers(api)
    custom_id = unique_id()
    first = await submitted(api, group_id, with_spouse(custom_id, choices))
    await settled(api, first["id"])
    second = with_spouse(custom_id, choices)
    second["employee"]["id"] = first["employee_id"]
    dropped = second["coverages"].pop()

    fields = refusal(await api.post(f"/api/v1/groups/{group_id}/member_snapshots", json=second))

    assert dropped["line_of_coverage"] in fields["coverages"]
    second["omitted_coverage_handling"] = {"policy": "continue"}
    kept = await submitted(api, group_id, second)
    assert any(
        c["line_of_coverage"] == dropped["line_of_coverage"]
        and c["carrier_id"] == dropped["carrier_id"]
        for c in kept["member_snapshot"]["coverages"]
    )


async def test_a_newer_snapshot_replaces_one_still_in_progress(api: httpx.AsyncClient) -> None:
    group_id, choices = await both_carriers(api)
    custom_id = unique_id()
    first = await submitted(api, group_id, with_spouse(custom_id, choices))
    newer = with_spouse(custom_id, choices)
    newer["employee"]["person"]["home_address"]["street_one"] = "2 Elm St"

    second = await submitted(api, group_id, newer)

    replaced = (await api.get(f"/api/v1/member_snapshots/{first['id']}")).json()
    assert replaced["status"] == "replaced"
    assert replaced["replaced_by"] == second["id"]
    assert (await settled(api, second["id"]))["status"] == "completed"
    # Only the newest is pursued: whatever the first got out stays, the rest was canceled,
    # and the carrier ends up with the newer address either way.
    transactions = await transactions_of(api, first["employee_id"])
    assert {t["status"] for t in transactions} <= {"completed", "canceled"}


async def test_principal_managed_and_failed_changes_while_unum_proceeds(
    api: httpx.AsyncClient,
) -> None:
    group_id, choices = await both_carriers(api)
    custom_id = unique_id()
    first = await submitted(api, group_id, with_spouse(custom_id, choices))
    await settled(api, first["id"])

    gender = with_spouse(custom_id, choices)
    gender["employee"]["id"] = first["employee_id"]
    gender["employee"]["person"]["sex"] = "F"
    gender["events"].append(
        {"id": "demo", "date": "2026-03-01", "type": "demographic", "reason": "demographic_change"}
    )
    gender["employee"]["event_id"] = "demo"
    managed = await settled(api, (await submitted(api, group_id, gender))["id"], within=60)
    assert managed["status"] == "completed"
    principal = [
        t
        for t in await transactions_of(api, first["employee_id"])
        if t["carrier_id"] == PRINCIPAL and t["member_snapshot_id"] == managed["id"]
    ]
    (transaction,) = principal
    assert transaction["status"] == "completed"
    assert any("managed" in d.get("message", "") for d in transaction["status_details"])

    moved = copy.deepcopy(gender)
    moved["dependents"][0]["person"]["home_address"]["street_one"] = "9 Oak Ave"
    failed = await settled(api, (await submitted(api, group_id, moved))["id"], within=60)
    by_carrier = {f["carrier_id"]: f for f in failed["fulfillment_summary"]}
    assert by_carrier[PRINCIPAL]["status"] == "invalid"
    assert by_carrier[PRINCIPAL]["errors"]
    assert by_carrier[UNUM]["status"] == "sent"
    latest = {
        t["carrier_id"]: t
        for t in await transactions_of(api, first["employee_id"])
        if t["member_snapshot_id"] == failed["id"]
    }
    assert latest[PRINCIPAL]["status"] == "failed"
    assert latest[UNUM]["status"] == "completed"


async def at_principal(session: AsyncSession, snapshot_id: str) -> MemberTransaction:
    """The snapshot's transaction at Principal."""
    found = await session.scalar(
        select(MemberTransaction).where(
            MemberTransaction.member_snapshot_id == snapshot_id,
            MemberTransaction.carrier_id == PRINCIPAL,
        )
    )
    assert found is not None
    return found


async def sent_to_principal(
    api: httpx.AsyncClient, database: Database, **rewound: Any
) -> tuple[str, MemberTransaction]:
    """A new group, and its new hire's transaction at Principal once settled, its row then
    set back to `rewound` (as an interrupted attempt would have left it): as it was."""
    group_id, choices = await both_carriers(api)
    snapshot = await submitted(api, group_id, with_spouse(unique_id(), choices))
    await settled(api, snapshot["id"])
    async with database.transaction() as session:
        transaction = await at_principal(session, snapshot["id"])
        await session.execute(
            update(MemberTransaction)
            .where(MemberTransaction.id == transaction.id)
            .values(rewound)
            .execution_options(synchronize_session=False)  # `transaction` stays as it was
        )
    return group_id, transaction


async def send_one(
    stack: tuple[Database, Settings, Client], group_id: str, transaction_id: UUID, *, key: str
) -> Sent:
    """The send activity, run here on one transaction with the key a workflow would pass."""
    database, settings, client = stack
    async with carrier_adapters(
        {info.slug: settings.carrier_base_url(info.slug) for info in CARRIERS.values()},
        timeout_seconds=settings.carrier_timeout_seconds,
    ) as adapters:
        return await FulfillmentActivities(database, adapters, client, settings).send_transactions(
            SendRequest(
                group_id=UUID(group_id),
                transactions=[KeyedTransaction(transaction_id=transaction_id, idempotency_key=key)],
            )
        )


async def test_a_resend_after_a_lost_answer_is_absorbed_by_the_carrier(
    api: httpx.AsyncClient,
    sandbox: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    client: Client,
) -> None:
    # As if the worker died after the carrier took the write but before it was recorded.
    group_id, transaction = await sent_to_principal(
        api, database, carrier_transaction_id=None, status="processing"
    )
    first_receipt = transaction.carrier_transaction_id
    key = transaction.idempotency_key
    before = (await sandbox.get("/_sandbox/stats")).json()["writes"]
    # A later attempt brings a key of its own; the one stored with the first send wins.
    outcome = await send_one(
        (database, settings, client), group_id, transaction.id, key=unique_id()
    )

    assert outcome.sent == 1
    assert outcome.retry == []
    after = (await sandbox.get("/_sandbox/stats")).json()["writes"]
    assert after["duplicates_absorbed"] == before["duplicates_absorbed"] + 1
    assert after["applied"] == before["applied"]
    assert after["doubled"] == 0
    async with database.transaction() as session:
        again = await session.get(MemberTransaction, transaction.id)
        assert again is not None
        assert again.carrier_transaction_id == first_receipt
        assert again.idempotency_key == key


async def test_a_transaction_claimed_after_its_carrier_was_disconnected_fails_unsent(
    api: httpx.AsyncClient,
    sandbox: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    client: Client,
) -> None:
    # As if it were built, then the group was disconnected from Principal before the send.
    group_id, transaction = await sent_to_principal(
        api, database, idempotency_key=None, carrier_transaction_id=None, status="processing"
    )
    async with database.transaction() as session:
        await session.execute(
            update(GroupConnection)
            .where(
                GroupConnection.group_id == UUID(group_id),
                GroupConnection.carrier_id == UUID(PRINCIPAL),
            )
            .values(disconnected=1)
        )
    before = (await sandbox.get("/_sandbox/stats")).json()["writes"]

    outcome = await send_one((database, settings, client), group_id, transaction.id, key="k")

    assert (outcome.sent, outcome.retry) == (0, [])
    assert (await sandbox.get("/_sandbox/stats")).json()["writes"] == before
    async with database.transaction() as session:
        failed = await session.get(MemberTransaction, transaction.id)
        assert failed is not None
        assert failed.status == "failed"
        assert failed.idempotency_key is None
        assert failed.result["reason"] == NOT_CONNECTED_NOTE


async def test_a_key_another_transaction_was_sent_under_is_never_given_to_a_second_one(
    api: httpx.AsyncClient,
    sandbox: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    client: Client,
) -> None:
    # A local build and send whose workflow task timed out ran again on a later build's answer;
    # keys drawn in the workflow by position then gave one transaction's key to another, and
    # the carrier refused the second as a different request under a used key.
    group_id, choices = await both_carriers(api)
    first = await submitted(api, group_id, with_spouse(unique_id(), choices))
    second = await submitted(api, group_id, with_spouse(unique_id(), choices))
    await settled(api, first["id"])
    await settled(api, second["id"])

    async with database.transaction() as session:
        sent = await at_principal(session, first["id"])
        used_key = sent.idempotency_key
        assert used_key == transaction_key(sent.id)
        again = await at_principal(session, second["id"])
        # As if it were built but not yet claimed when the workflow task ran again.
        await session.execute(
            update(MemberTransaction)
            .where(MemberTransaction.id == again.id)
            .values(idempotency_key=None, carrier_transaction_id=None, status="processing")
        )
    before = (await sandbox.get("/_sandbox/stats")).json()["writes"]
    outcome = await send_one((database, settings, client), group_id, again.id, key=used_key)

    assert outcome.sent == 1, "the carrier refused it: it was sent under another's key"
    after = (await sandbox.get("/_sandbox/stats")).json()["writes"]
    # Its own key, which its first send used: absorbed, not applied twice.
    assert after["duplicates_absorbed"] == before["duplicates_absorbed"] + 1
    assert after["applied"] == before["applied"]
    async with database.transaction() as session:
        stored = await session.get(MemberTransaction, again.id)
        assert stored is not None
        assert stored.status != "failed"
        assert stored.idempotency_key == transaction_key(again.id) != used_key


class _Undo(Exception):
    """Raised to roll a test's own rows back."""


async def rolled_back(database: Database, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work`'s answer, its writes rolled back."""
    answers: list[T] = []
    try:
        async with database.transaction() as session:
            answers.append(await work(session))
            raise _Undo
    except _Undo:
        return answers[0]


async def test_a_newer_build_cancels_only_what_is_not_yet_claimed_for_sending(
    api: httpx.AsyncClient, database: Database
) -> None:
    group_id, choices = await both_carriers(api)
    snapshot = await submitted(api, group_id, with_spouse(unique_id(), choices))
    await settled(api, snapshot["id"])

    async def claims(session: AsyncSession) -> tuple[list[UUID], UUID]:
        sent = await session.scalar(
            select(MemberTransaction).where(
                MemberTransaction.member_snapshot_id == snapshot["id"],
                MemberTransaction.carrier_id == PRINCIPAL,
            )
        )
        assert sent is not None
        replaced = MemberSnapshotRow(
            id=uuid4(),
            organization_id=sent.organization_id,
            group_id=sent.group_id,
            employee_id=sent.employee_id,
            status="replaced",
            inbound_snapshot="{}",
            member_snapshot={},
            carrier_members={},
            created_members=[],
            warnings=[],
            fulfillment_summary=[],
            workflow_id=workflow_id(UUID(group_id)),
        )
        session.add(replaced)
        await session.flush()

        def unsent(key: str | None) -> MemberTransaction:
            return MemberTransaction(
                id=uuid4(),
                organization_id=sent.organization_id,
                group_id=sent.group_id,
                employee_id=sent.employee_id,
                member_snapshot_id=replaced.id,
                carrier_id=sent.carrier_id,
                lines_of_coverage=sent.lines_of_coverage,
                transaction_type=sent.transaction_type,
                status="processing",
                body=sent.body,
                result={},
                status_details=[],
                idempotency_key=key,
            )

        # Both of a replaced snapshot, neither answered by the carrier yet; one is claimed (its
        # key stored: a send is under way), one is not.
        claimed, unclaimed = unsent(unique_id()), unsent(None)
        session.add_all([claimed, unclaimed])
        await session.flush()
        stale = await cancel_unsent(session, {(sent.employee_id, sent.carrier_id)})
        return [transaction.id for transaction in stale], unclaimed.id

    stale, unclaimed = await rolled_back(database, claims)

    assert stale == [unclaimed]


async def test_no_pii_in_workflow_histories_or_logs(
    api: httpx.AsyncClient, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    group_id, choices = await both_carriers(api)
    snapshot = await submitted(api, group_id, with_spouse(unique_id(), choices))
    await settled(api, snapshot["id"])

    history = await client.get_workflow_handle(workflow_id(UUID(group_id))).fetch_history()
    # Payloads are base64 in the export: grep them decoded, as the UI shows them.
    exported = history.to_json() + "\n".join(decoded_payloads(json.loads(history.to_json())))
    assert snapshot["id"] in exported
    assert [value for value in PII if value in exported] == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert [value for value in PII if value in logged] == []
    assert json.dumps(snapshot)  # the API itself does return the person to its caller


def decoded_payloads(node: Any) -> list[str]:
    """The data of every payload in an exported history, decoded."""
    if isinstance(node, list):
        return [text for item in node for text in decoded_payloads(item)]
    if not isinstance(node, dict):
        return []
    if "metadata" in node and isinstance(node.get("data"), str):
        return [base64.b64decode(node["data"]).decode("utf-8", "replace")]
    return [text for value in node.values() for text in decoded_payloads(value)]


async def verified_transactions(api: httpx.AsyncClient, employee_id: str) -> list[dict[str, Any]]:
    """The employee's transactions once every one is confirmed round-trip."""

    async def verified() -> list[dict[str, Any]] | None:
        found = await transactions_of(api, employee_id)
        return found if found and all(t["verified"] for t in found) else None

    found: list[dict[str, Any]] = await eventually(verified, within=30)
    for transaction in found:
        assert [d["status_detail"] for d in transaction["status_details"]][-2:] == [
            "carrier_completed",
            "noyo_verified",
        ]
    return found


async def differences_of(api: httpx.AsyncClient, transaction_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/member_transactions/{transaction_id}/differences")
    assert response.status_code == 200, response.text
    return list(response.json()["response"])


async def test_a_timely_change_is_verified_round_trip_without_differences(
    api: httpx.AsyncClient,
) -> None:
    group_id, choices = await both_carriers(api)
    # A marriage five days ago, sent now: inside the 31-day window, so Principal starts the
    # coverage on the event date, as sent; Unum keeps what it is sent.
    married = datetime.now(UTC).date() - timedelta(days=5)
    body = new_hire(
        unique_id(), coverages(choices), event_reason="marriage", event_date=married, start=married
    )
    snapshot = await submitted(api, group_id, body)
    await settled(api, snapshot["id"])

    for transaction in await verified_transactions(api, snapshot["employee_id"]):
        found = await differences_of(api, transaction["id"])
        assert found == [], [
            (d["difference_type"], d["object_type"], d["coverage_key"], d["fields"]) for d in found
        ]


async def test_carrier_calculated_dates_of_a_late_enrollment_become_discrepancies(
    api: httpx.AsyncClient,
) -> None:
    group_id, choices = await both_carriers(api)
    # Hired in January and sent in the autumn: late. Principal dates the coverage by its own
    # rules (never the 8th of January), Unum takes the dates as sent.
    body = new_hire(
        unique_id(),
        coverages(choices),
        hire_date=date(2026, 1, 5),
        start=date(2026, 1, 8),
    )
    snapshot = await submitted(api, group_id, body)
    await settled(api, snapshot["id"])

    by_carrier = {
        t["carrier_id"]: t for t in await verified_transactions(api, snapshot["employee_id"])
    }
    assert await differences_of(api, by_carrier[UNUM]["id"]) == []
    principal = await differences_of(api, by_carrier[PRINCIPAL]["id"])
    assert principal, "Principal kept every date as sent"
    for difference in principal:
        # The effective date has passed, so the one check there is also the last: still
        # differing makes it a discrepancy, to resolve with the carrier.
        assert difference["is_discrepancy"] is True
        assert difference["carrier_id"] == PRINCIPAL
        assert difference["difference_type"] in {"carrier_effective_date", "missing_ie"}
    assert "carrier_effective_date" in {d["difference_type"] for d in principal}
    keys = {f["key"] for d in principal for f in d["fields"]}
    assert keys <= {"effective_start_date"}


async def test_coverage_starting_later_waits_for_its_effective_date(
    api: httpx.AsyncClient, client: Client, database: Database
) -> None:
    group_id, choices = await both_carriers(api)
    later = datetime.now(UTC).date() + timedelta(days=60)
    body = new_hire(unique_id(), coverages(choices), start=later)
    snapshot = await submitted(api, group_id, body)
    await settled(api, snapshot["id"])

    async def checked_once() -> list[MemberTransaction] | None:
        async with database.transaction() as session:
            rows = (
                await session.scalars(
                    select(MemberTransaction).where(
                        MemberTransaction.member_snapshot_id == UUID(snapshot["id"])
                    )
                )
            ).all()
        return (
            list(rows) if rows and all(r.confirm_stage == "effective_date" for r in rows) else None
        )

    rows = await eventually(checked_once, within=30)
    # The acceptance check is done; the next one is a durable timer to the effective date.
    assert {r.confirm_due for r in rows} == {
        int(datetime.combine(later, time.min, tzinfo=UTC).timestamp())
    }
    assert all(r.verified is None for r in rows)
    loop = await client.get_workflow_handle(f"group-confirmations/{group_id}").describe()
    assert loop.status is not None
    assert loop.status.name == "RUNNING"


def principal_id_with_cobra_dental() -> str:
    """A fresh Principal group ID whose sandbox account has an active COBRA-eligible dental plan
    (the sandbox generates plans from the ID; most, not all, dental plans are eligible)."""
    while True:
        carrier_group_id = principal_id()
        plans = generate_account("principal", carrier_group_id)["plans"]
        if any(
            p["line_of_coverage"] == "dental"
            and p["status"] == "active"
            and p["cobra_rules"]["eligible"]
            for p in plans
        ):
            return carrier_group_id


async def principal_cobra_dental(api: httpx.AsyncClient) -> tuple[str, PlanChoice]:
    """A group connected to Principal, and a choice of one of its COBRA-eligible dental plans."""
    group_id = await connected(api, PRINCIPAL, principal_id_with_cobra_dental())
    plans = (await api.get(f"/api/v1/groups/{group_id}/plans", params={"page_size": 1000})).json()[
        "response"
    ]
    eligible = {
        p["id"] for p in plans if p["line_of_coverage"] == "dental" and p["cobra_rules"]["eligible"]
    }
    return group_id, next(c for c in await plan_choices(api, group_id) if c.plan_id in eligible)


async def hired_on_cobra_dental(
    api: httpx.AsyncClient,
) -> tuple[str, PlanChoice, str, dict[str, Any]]:
    """`principal_cobra_dental`, and an employee hired on that plan, their snapshot completed:
    the group, the plan choice, the employee's custom id and their hire's snapshot."""
    group_id, dental = await principal_cobra_dental(api)
    custom_id = unique_id()
    hired = await submitted(api, group_id, new_hire(custom_id, [dental]))
    assert (await settled(api, hired["id"]))["status"] == "completed"
    return group_id, dental, custom_id, hired


def cobra_election(
    employee_id: str, custom_id: str, dental: PlanChoice, reason: str
) -> dict[str, Any]:
    """The employee's dental continued under COBRA from April, after `reason` on March 31."""
    body = new_hire(custom_id, [dental])
    body["employee"]["id"] = employee_id
    body["employee"]["event_id"] = "cobra"
    body["events"].append(
        {"id": "cobra", "date": "2026-03-31", "type": "coverage", "reason": "cobra_enrollment"}
    )
    body["coverages"][0]["cobra_details"] = {
        "cobra_enrolled": True,
        "eligibility_start_date": "2026-04-01",
        "eligibility_end_date": "2027-09-30",
        "qualifying_event_date": "2026-03-31",
        "qualifying_event_reason": reason,
    }
    return body


async def test_a_principal_dental_cobra_enrollment_reaches_the_carrier_and_completes(
    api: httpx.AsyncClient,
) -> None:
    group_id, dental, custom_id, hired = await hired_on_cobra_dental(api)

    body = cobra_election(hired["employee_id"], custom_id, dental, "reduction_of_work_hours")
    cobra = await settled(api, (await submitted(api, group_id, body))["id"])

    assert cobra["status"] == "completed"
    (transaction,) = [
        t
        for t in await transactions_of(api, hired["employee_id"])
        if t["member_snapshot_id"] == cobra["id"]
    ]
    assert transaction["transaction_type"] == "carrier_cobra_enrollment"
    assert transaction["status"] == "completed"
    assert transaction["lines_of_coverage"] == ["dental"]
    (told,) = transaction["body"]["member"]["coverages"]
    assert told["cobra"]["eligibility_end_date"] == "2027-09-30"


async def test_a_former_employee_on_cobra_at_principal_takes_a_demographic_change(
    api: httpx.AsyncClient,
) -> None:
    # Principal fails demographic changes of terminated members; one continuing coverage under
    # COBRA is still an active covered member there, so the change completes.
    group_id, dental, custom_id, hired = await hired_on_cobra_dental(api)

    body = cobra_election(hired["employee_id"], custom_id, dental, "termination_of_employment")
    body["employee"]["employment"]["employment_status"] = "terminated"
    body["employee"]["employment"]["employment_dates"]["terminated"] = "2026-03-31"
    cobra = await settled(api, (await submitted(api, group_id, body))["id"])
    assert cobra["status"] == "completed"

    moved = copy.deepcopy(body)
    moved["employee"]["person"]["home_address"]["street_one"] = "9 Oak Ave"
    moved["employee"]["event_id"] = "moved"
    moved["events"].append(
        {"id": "moved", "date": "2026-05-04", "type": "demographic", "reason": "moved"}
    )
    change = await settled(api, (await submitted(api, group_id, moved))["id"])

    assert change["status"] == "completed"
    (summary,) = change["fulfillment_summary"]
    assert (summary["status"], summary["errors"]) == ("sent", [])
    by_snapshot = {
        t["member_snapshot_id"]: t for t in await transactions_of(api, hired["employee_id"])
    }
    assert by_snapshot[cobra["id"]]["transaction_type"] == "carrier_cobra_enrollment"
    assert by_snapshot[cobra["id"]]["status"] == "completed"
    assert by_snapshot[change["id"]]["transaction_type"] == "carrier_demographic"
    assert by_snapshot[change["id"]]["status"] == "completed"
