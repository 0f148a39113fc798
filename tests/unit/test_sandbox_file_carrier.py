"""The sandbox file carrier (sandbox.file_carrier) through the engine's own SFTP client
(carriers.sftp): a file delivered once, its 999 read, members refused alone, a re-upload
recognised."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from pathlib import Path

import pytest

from carriers.larkspur import FILE_RULES
from carriers.protocol import CarrierUnavailable, SftpSettings
from carriers.sftp import download, upload
from carriers.x12 import AckCode, read_999
from domain.edi834 import Envelope, FileAction, Party, build_834
from domain.edi834_members import FileRules, MemberAction, member_levels
from domain.members import CarrierMember
from sandbox.file_carrier import FileCarrierServer
from tools.sample_members import member

RULES = FileRules(insurance_lines=FILE_RULES.insurance_lines, policy_number="LM104233")


def _file(members: list[CarrierMember], number: int = 1) -> str:
    levels = [lv for m in members for lv in member_levels(m, rules=RULES, action=MemberAction.ADD)]
    return build_834(
        Envelope("ZZ", "CARRIERLINK", "ZZ", "LARKSPURSBX", "CARRIERLINK", "LARKSPURSBX",
                 number, number, dt.datetime(2026, 2, 1, 9, 30)),
        sponsor=Party("Acme Widgets LLC", "12-3456789"),
        payer=Party("Larkspur Mutual (sandbox)", "00-0000000"),
        action=FileAction.CHANGES,
        members=levels,
        reference=f"RUN-{number}",
    ).text  # fmt: skip


async def _ack(settings: SftpSettings, name: str) -> str:
    for _ in range(100):
        data = await download(settings, name + ".999")
        if data is not None:
            return data.decode()
        await asyncio.sleep(0.1)
    raise AssertionError("no 999")


async def test_delivery_999_and_a_refused_member(tmp_path: Path) -> None:
    server = FileCarrierServer(tmp_path, poll_seconds=0.05)
    await server.start()
    try:
        settings = SftpSettings(host="127.0.0.1", port=server.port, user="carrierlink",
                                password="sandbox")  # fmt: skip
        rng = random.Random(1)
        good = member(rng)
        no_ssn = member(rng)
        no_ssn = no_ssn.model_copy(
            update={
                "employee": no_ssn.employee.model_copy(
                    update={"person": {**no_ssn.employee.person, "ssn": None}}
                )
            }
        )
        text = _file([good, no_ssn])
        assert await upload(settings, "f1.834", text.encode())
        ack = read_999(await _ack(settings, "f1.834"))
        assert ack.code is AckCode.ACCEPTED_WITH_ERRORS
        (transaction,) = ack.transactions
        (note,) = transaction.notes
        assert note.segment == "NM1"
        assert note.elements == ((9, "I9"),)
        group = server.state["members"]["LM104233"]
        assert good.employee.id.hex.upper() in group
        assert no_ssn.employee.id.hex.upper() not in group

        # The same file again (a retried upload): recognised by the client, and by the carrier.
        assert not await upload(settings, "f1.834", text.encode())
        (tmp_path / "inbound" / "f1.834").unlink()
        assert await upload(settings, "f1.834", text.encode())
        await asyncio.sleep(0.3)
        assert server.state["files"]["f1.834"]["code"] == "E"

        # A crash mid-upload leaves half a file under the temporary name: never read by the
        # carrier, and replaced by the retry, which delivers the file once.
        third = _file([good], number=3)
        (tmp_path / "inbound" / "f3.834.part").write_bytes(third.encode()[:100])
        await asyncio.sleep(0.2)
        assert "f3.834.part" not in server.state["files"]
        assert await upload(settings, "f3.834", third.encode())
        assert read_999(await _ack(settings, "f3.834")).code is AckCode.ACCEPTED
        assert not (tmp_path / "inbound" / "f3.834.part").exists()

        # A broken file is rejected, naming the segment in error.
        broken = _file([good], number=2).replace("INS*Y*18*", "INS*Y*99*")
        await upload(settings, "f2.834", broken.encode())
        rejected = read_999(await _ack(settings, "f2.834"))
        assert rejected.code is AckCode.REJECTED
        assert rejected.transactions[0].notes[0].segment == "INS"
    finally:
        await server.stop()


async def test_a_server_that_is_down_is_unavailable(tmp_path: Path) -> None:
    server = FileCarrierServer(tmp_path)
    await server.start()
    port = server.port
    await server.stop()
    settings = SftpSettings(host="127.0.0.1", port=port, user="carrierlink", password="sandbox")
    with pytest.raises(CarrierUnavailable):
        await upload(settings, "late.834", b"ISA")
