"""The sandbox keeps its carriers' groups in a state file: restarted on it, nothing is forgotten."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from sandbox.app import SandboxConfig, create_app
from tests.unit.test_sandbox_app import change, register


def sandbox_on(state_file: Path) -> httpx.AsyncClient:
    app = create_app(SandboxConfig(), state_file=state_file)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


async def test_a_group_finished_at_the_carrier_stays_found_after_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox" / "state.json"
    waiting = "1767123"
    async with sandbox_on(state_file) as first:
        assert (await first.get(f"/principal/groups/{waiting}")).json()["status"] == "not_installed"
        await change(first, "principal", waiting, {"kind": "set_status", "status": "found"})
        await change(first, "principal", waiting, {"kind": "rename", "name": "Renamed Corp"})
        assert (
            await register(first, "key-1", path=f"/principal/groups/{waiting}/data_exchange")
        ).status_code == 201
    assert json.loads(state_file.read_text())["version"] == 1

    async with sandbox_on(state_file) as restarted:
        assert (await restarted.get(f"/principal/groups/{waiting}")).json()["status"] == "found"
        account = (await restarted.get(f"/principal/groups/{waiting}/account")).json()
        assert "Renamed Corp" in json.dumps(account)
        # The registration is remembered too: registering it again is the client's double.
        await register(restarted, "key-2", path=f"/principal/groups/{waiting}/data_exchange")
        stats = (await restarted.get("/_sandbox/stats")).json()
        assert stats["writes"]["doubled"] == 1

    async with sandbox_on(tmp_path / "other.json") as fresh:
        assert (await fresh.get(f"/principal/groups/{waiting}")).json()["status"] == "not_installed"
