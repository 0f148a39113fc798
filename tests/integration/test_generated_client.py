"""A client generated from openapi.json drives the running stack: the document is enough.

`openapi-python-client` writes a client package from the committed document into a temporary
directory; the test imports it and, through it alone, connects a group, reads its plans,
submits a member snapshot (dry run first) and follows it to completed. Every answer must parse
into the generated models (an answer outside its schema fails the parse or comes back untyped).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.harness import VENV_BIN, AppServer, eventually
from tests.integration.test_connections import PRINCIPAL, new_connection, principal_id
from tools.openapi import DOCUMENT
from tools.sample_snapshots import PlanChoice, carrier_config, new_hire, pick, unique_id

pytestmark = pytest.mark.integration

PACKAGE = "carrierlink_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated client package, importable for the module's tests."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code is only imported
    result = subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(DOCUMENT),
            "--output-path",
            str(root / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator warns (and leaves parts out) when it cannot read part of the document.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def part(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


async def test_a_generated_client_connects_a_group_and_follows_a_snapshot_to_completed(
    generated: ModuleType, api_server: AppServer, org_token: str
) -> None:
    models = part(generated, "models")

    def operation(tag: str, name: str) -> Any:
        return part(generated, f"api.{tag}.{name}")

    client = part(generated, "client").AuthenticatedClient(
        base_url=api_server.url, token=org_token, raise_on_unexpected_status=True
    )

    async with client:
        # Connect a new group (a plain Principal id completes in the sandbox).
        body = models.NewGroupConnection.from_dict(new_connection(PRINCIPAL, principal_id()))
        created = await operation("group_connections", "create_connection_with_new_group").asyncio(
            client=client, body=body
        )
        assert isinstance(created, models.GroupConnection), created

        async def completed() -> Any:
            connection = await operation("group_connections", "get_connection").asyncio(
                created.id, client=client
            )
            assert isinstance(connection, models.GroupConnection), connection
            return connection if connection.status == "completed" else None

        connection = await eventually(completed, within=20)
        group_id = connection.group_id
        assert isinstance(connection.group_data, models.GroupConnectionGroupData)
        listed = await operation("group_connections", "list_connections").asyncio(
            client=client, id=str(created.id)
        )
        assert isinstance(listed, models.PageGroupConnection), listed
        assert [c.id for c in listed.response] == [created.id]

        # Its plans and configuration, as a snapshot needs them.
        plans = await operation("group_data", "list_plans").asyncio(
            group_id, client=client, page_size=1000
        )
        assert isinstance(plans, models.PagePlan), plans
        configurations = await operation("group_data", "list_carrier_configurations").asyncio(
            group_id, client=client
        )
        assert isinstance(configurations, list), configurations
        assert all(isinstance(c, models.CarrierConfiguration) for c in configurations)
        by_carrier = {str(c.carrier_id): c.configuration.to_dict() for c in configurations}
        choices = [
            PlanChoice(
                carrier_id=str(plan.carrier_id),
                line_of_coverage=plan.line_of_coverage,
                plan_id=str(plan.id),
                carrier_config=carrier_config(
                    str(plan.carrier_id), plan.to_dict(), by_carrier.get(str(plan.carrier_id), {})
                ),
            )
            for plan in plans.response
            if plan.status == "active"
        ]
        coverages = pick(choices, PRINCIPAL, "dental", "vision")[:1]
        assert coverages, "the sandbox group offers no Principal dental or vision plan"
        snapshot = models.NewMemberSnapshot.from_dict(new_hire(unique_id(), coverages))

        # The dry run, then the submission, followed to completed.
        dry_run = await operation("member_snapshots", "test_member_snapshot").asyncio(
            group_id, client=client, body=snapshot
        )
        assert isinstance(dry_run, models.SnapshotDryRun), dry_run
        assert dry_run.status == "valid"
        submitted = await operation("member_snapshots", "create_member_snapshot").asyncio(
            group_id, client=client, body=snapshot
        )
        assert isinstance(submitted, models.MemberSnapshot), submitted
        assert submitted.status == "submitted"

        async def settled() -> Any:
            current = await operation("member_snapshots", "get_member_snapshot").asyncio(
                submitted.id, client=client
            )
            assert isinstance(current, models.MemberSnapshot), current
            return None if current.status in ("submitted", "processing") else current

        done = await eventually(settled, within=90)
        assert done.status == "completed"
        assert {str(f.carrier_id) for f in done.fulfillment_summary} == {PRINCIPAL}

        page = await operation("member_snapshots", "list_group_member_snapshots").asyncio(
            group_id, client=client
        )
        assert isinstance(page, models.PageMemberSnapshotSummary), page
        assert [s.id for s in page.response] == [submitted.id]
        sent = await operation("member_transactions", "list_member_transactions").asyncio(
            client=client, page_size=100
        )
        assert isinstance(sent, models.PageMemberTransaction), sent
        mine = [t for t in sent.response if t.member_snapshot_id == submitted.id]
        assert mine
        assert all(t.status == "completed" for t in mine)
        one = await operation("member_transactions", "get_member_transaction").asyncio(
            mine[0].id, client=client
        )
        assert isinstance(one, models.MemberTransaction), one

        # The error bodies parse too.
        missing = await operation("group_connections", "get_connection").asyncio(
            submitted.id, client=client
        )
        assert isinstance(missing, models.ErrorBody), missing
        assert missing.status == 404
