"""File carrier feeds: what a big 834 costs to build, validate, deliver and acknowledge.

    .venv/bin/python -m bench.feeds [--full 5000 --changes 1000]

Two files, each through the steps a feed run takes (services/feeds.py), in this process:
- a full file (`--full` employees of mixed families, every one an audit record), and
- a change file of `--changes` transactions (new hires, changes, terminations, COBRA),
each: build (domain.edi834 from fictional members, tools/sample_members.py), validate (pyx12
against 005010X220A1, carriers/x12.py), deliver (SFTP upload to the sandbox file carrier on
loopback, carriers/sftp.py), and 999 (until the carrier's acknowledgement is read back: it
validates the file itself, applies it and writes the 999). Each step's wall time is measured
in one pass, and its peak Python memory (tracemalloc, which slows what it watches) in a
second pass of the same step. Needs no running stack.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from carriers.larkspur import FILE_RULES
from carriers.protocol import SftpSettings
from carriers.sftp import download, upload
from carriers.x12 import read_999, validate
from domain.edi834 import Envelope, FileAction, MemberLevel, Party, build_834
from domain.edi834_members import FileRules, MemberAction, member_levels
from domain.members import CarrierMember
from sandbox.file_carrier import FileCarrierServer
from tools.sample_members import ended, group, member

RULES = FileRules(
    insurance_lines=FILE_RULES.insurance_lines,
    policy_number="LM104233",
    requires_subscriber_ssn=True,
)


def _envelope(number: int) -> Envelope:
    return Envelope(
        "ZZ", "CARRIERLINK", "ZZ", "LARKSPURSBX", "CARRIERLINK", "LARKSPURSBX",
        number, number, dt.datetime(2026, 2, 1, 9, 30),
    )  # fmt: skip


def _changes(count: int) -> list[tuple[CarrierMember, str]]:
    """`count` transactions: 40% new hires, 30% changes, 20% terminations, 10% COBRA."""
    rng = random.Random(11)
    out: list[tuple[CarrierMember, str]] = []
    for index in range(count):
        kind = index % 10
        if kind < 4:
            out.append((member(rng, children=rng.choice((0, 1, 2))), MemberAction.ADD))
        elif kind < 7:
            out.append((member(rng, event="moved"), MemberAction.CHANGE))
        elif kind < 9:
            leaving = ended(member(rng), on=dt.date(2026, 3, 31))
            out.append((leaving, MemberAction.TERMINATE))
        else:
            out.append(
                (member(rng, cobra=True, event="cobra_enrollment"), MemberAction.COBRA_ELECT)
            )
    return out


def _build(levels: list[MemberLevel], action: FileAction, number: int) -> str:
    return build_834(
        _envelope(number),
        sponsor=Party("Acme Widgets LLC", "12-3456789"),
        payer=Party("Larkspur Mutual (sandbox)", "00-0000000"),
        action=action,
        members=levels,
        reference=f"BENCH-{number}",
    ).text


async def _measure(
    name: str, step: Callable[[], Awaitable[Any]], *, memory: bool
) -> tuple[Any, float, float | None]:
    started = time.perf_counter()
    result = await step()
    wall = time.perf_counter() - started
    peak: float | None = None
    if memory:
        tracemalloc.start()
        await step()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, wall, peak


async def _one_file(
    label: str,
    levels: Callable[[], list[MemberLevel]],
    action: FileAction,
    number: int,
    server: FileCarrierServer,
    settings: SftpSettings,
    *,
    memory: bool,
) -> list[tuple[str, str, float, float | None]]:
    rows: list[tuple[str, str, float, float | None]] = []

    async def build() -> str:
        return _build(levels(), action, number)

    text, wall, peak = await _measure("build", build, memory=memory)
    rows.append((label, "build", wall, peak))
    size = len(text.encode())

    async def check() -> Any:
        return await asyncio.to_thread(validate, text)

    report, wall, peak = await _measure("validate", check, memory=memory)
    if not report.valid:
        raise SystemExit(f"{label}: the file does not validate: {report.errors[:3]}")
    rows.append((label, "validate", wall, peak))

    name = f"BENCH_{number:09d}.834"
    attempt = 0

    async def deliver() -> bool:
        nonlocal attempt
        attempt += 1
        # The memory pass uploads under another name, so the carrier processes a new file.
        return await upload(settings, name if attempt == 1 else f"m{attempt}_{name}", text.encode())

    _, wall, peak = await _measure("deliver", deliver, memory=memory)
    rows.append((label, "deliver", wall, peak))

    async def acknowledged() -> str:
        target = name if attempt == 1 else f"m{attempt}_{name}"
        while True:
            data = await download(settings, target + ".999")
            if data is not None:
                return data.decode()
            await asyncio.sleep(0.05)

    ack, wall, _ = await _measure("999", acknowledged, memory=False)
    rows.append((label, f"999 ({read_999(ack).code.value})", wall, None))
    if memory:
        await acknowledged_memory(server, settings, f"m{attempt}_{name}")
    print(f"{label}: {size / 2**20:.1f} MiB, {text.count('~INS*')} loop 2000s", file=sys.stderr)
    return rows


async def acknowledged_memory(server: FileCarrierServer, settings: SftpSettings, name: str) -> None:
    """Wait for the memory pass's 999 too, so the carrier is idle before the next file."""
    for _ in range(100_000):
        if await download(settings, name + ".999") is not None:
            return
        await asyncio.sleep(0.05)


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as root:
        server = FileCarrierServer(Path(root), poll_seconds=0.05)
        await server.start()
        settings = SftpSettings("127.0.0.1", server.port, "carrierlink", password="sandbox")
        try:
            population = group(args.full)
            changes = _changes(args.changes)
            rows = await _one_file(
                f"full file, {args.full} employees",
                lambda: [
                    level
                    for m in population
                    for level in member_levels(
                        m, rules=RULES, action=None, as_of=dt.date(2026, 2, 1)
                    )
                ],
                FileAction.FULL,
                1,
                server,
                settings,
                memory=not args.no_memory,
            )
            rows += await _one_file(
                f"change file, {args.changes} transactions",
                lambda: [
                    level
                    for m, action in changes
                    for level in member_levels(m, rules=RULES, action=action)
                ],
                FileAction.CHANGES,
                2,
                server,
                settings,
                memory=not args.no_memory,
            )
        finally:
            await server.stop()
    print(f"{'file':<32} {'step':<12} {'wall s':>8} {'peak MiB':>9}")
    for label, step, wall, peak in rows:
        shown = "-" if peak is None else f"{peak:.1f}"
        print(f"{label:<32} {step:<12} {wall:>8.2f} {shown:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc passes")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
