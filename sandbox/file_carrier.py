"""The sandbox file carrier (Larkspur Mutual (sandbox)): an SFTP server on loopback that reads
every 834 put in `inbound/`, answers a 999 in `outbound/`, and applies accepted members.

What it checks, as a carrier's translator would:
- the implementation guide (pyx12 with the 005010X220A1 map): any error rejects the file (999
  `R`, with the segment and element in error, as pyx12 writes it);
- its companion guide: a subscriber's NM1 must carry the SSN (NM108 `34`, NM109). A member
  breaking it is refused alone: the 999 says `E` (accepted with errors) and names the member's
  NM1 segment and element; the rest of the file is applied.
A file sent again under the same name and control numbers is recognised and not applied twice;
its 999 is written again if it was taken away. Test files (ISA15 `T`) are applied like
production ones: every feed here is a sandbox feed, and its state then shows what a production
run would have done. State (applied members, files seen) is kept in `state.json` under the root.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# asyncssh registers DSA keys on import, which cryptography warns about; nothing here uses DSA.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    import asyncssh
import pyx12.params
import pyx12.x12n_document

log = logging.getLogger("carrierlink.sandbox.files")

INBOUND = "inbound"
OUTBOUND = "outbound"
ACK_SUFFIX = ".999"
PART_SUFFIX = ".part"


@dataclass
class _Loop:
    """One loop 2000 as the carrier reads it: where it starts, whose it is, and its NM1."""

    position: int  # of its INS in the transaction set (ST = 1)
    subscriber: bool
    subscriber_id: str
    maintenance: str
    policy: str | None = None
    nm1_position: int | None = None
    has_ssn: bool = False
    coverages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Received:
    """What the carrier made of one file."""

    name: str
    code: str  # A, E or R
    applied: int
    refused: tuple[str, ...]  # subscriber ids refused by the companion guide
    duplicate: bool = False


class _Auth(asyncssh.SSHServer):
    def __init__(self, user: str, password: str) -> None:
        self._user = user
        self._password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._user and password == self._password


class FileCarrierServer:
    """An SFTP server rooted at `root` (chrooted), and the loop that processes what arrives."""

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = "carrierlink",
        password: str = "sandbox",
        poll_seconds: float = 0.2,
        sender_id: str = "LARKSPURSBX",
    ) -> None:
        self.root = root
        self.host = host
        self.port = port
        self._user = user
        self._password = password
        self._poll = poll_seconds
        self._sender_id = sender_id
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._task: asyncio.Task[None] | None = None
        self._state_file = root / "state.json"
        self.state: dict[str, Any] = {"files": {}, "interchanges": {}, "members": {}}
        self._ack_number = 0

    async def start(self) -> None:
        (self.root / INBOUND).mkdir(parents=True, exist_ok=True)
        (self.root / OUTBOUND).mkdir(parents=True, exist_ok=True)
        if self._state_file.exists():
            self.state = json.loads(self._state_file.read_text())
        self._ack_number = len(self.state["files"])
        root = str(self.root).encode()
        self._acceptor = await asyncssh.listen(
            self.host,
            self.port,
            server_factory=lambda: _Auth(self._user, self._password),
            server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
            sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=root),
            allow_scp=False,
        )
        self.port = self._acceptor.sockets[0].getsockname()[1]
        self._task = asyncio.create_task(self._watch())
        log.info("sandbox file carrier: SFTP on %s:%d, root %s", self.host, self.port, self.root)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()

    async def _watch(self) -> None:
        while True:
            try:
                # pyx12 takes seconds on a big file: off the event loop, so SFTP is served.
                await asyncio.to_thread(self.process_inbound)
            except Exception:  # one bad file must not stop the carrier
                log.exception("sandbox file carrier: processing failed")
            await asyncio.sleep(self._poll)

    def process_inbound(self) -> list[Received]:
        """Process every whole file in `inbound/` not processed yet (or whose 999 is gone)."""
        done = []
        for path in sorted((self.root / INBOUND).iterdir()):
            if path.name.endswith(PART_SUFFIX) or not path.is_file():
                continue
            ack = self.root / OUTBOUND / (path.name + ACK_SUFFIX)
            seen = self.state["files"].get(path.name)
            content = path.read_bytes()
            digest = hashlib.sha256(content).hexdigest()
            if seen is not None and seen["sha256"] == digest and ack.exists():
                continue
            done.append(self._receive(path.name, content.decode("ascii", errors="replace"), ack))
        return done

    def _receive(self, name: str, text: str, ack: Path) -> Received:
        digest = hashlib.sha256(text.encode()).hexdigest()
        segments = _segments(text)
        isa = segments[0] if segments else []
        gs = next((s for s in segments if s[0] == "GS"), [])
        key = f"{_at(isa, 6).strip()}/{_at(isa, 13)}/{_at(gs, 6)}"
        earlier = self.state["interchanges"].get(key)
        if earlier is not None and earlier["sha256"] == digest:
            # The same interchange again (a retried upload): the same answer, nothing applied.
            _write_whole(ack, earlier["ack"])
            self.state["files"][name] = {"sha256": digest, "code": earlier["code"]}
            self._save()
            return Received(name, earlier["code"], 0, tuple(earlier["refused"]), duplicate=True)
        syntax_ok, pyx12_ack = _check(text)
        loops = _loops(segments)
        refused: list[_Loop] = []
        applied = 0
        if not syntax_ok:
            code, answer = "R", pyx12_ack
        else:
            refused = [loop for loop in loops if loop.subscriber and not loop.has_ssn]
            code = "E" if refused else "A"
            answer = self._ack(isa, gs, segments, refused, code) if refused else pyx12_ack
            applied = self._apply(loops, refused)
        refused_ids = tuple(loop.subscriber_id for loop in refused)
        _write_whole(ack, answer)
        self.state["files"][name] = {"sha256": digest, "code": code}
        self.state["interchanges"][key] = {
            "sha256": digest,
            "ack": answer,
            "code": code,
            "refused": list(refused_ids),
        }
        self._save()
        log.info("sandbox file carrier: %s answered %s (%d applied)", name, code, applied)
        return Received(name, code, applied, refused_ids)

    def _apply(self, loops: list[_Loop], refused: list[_Loop]) -> int:
        skipped = {loop.subscriber_id for loop in refused}
        members: dict[str, Any] = self.state["members"]
        applied = 0
        for loop in loops:
            if not loop.subscriber or loop.subscriber_id in skipped:
                continue
            group = members.setdefault(loop.policy or "", {})
            if loop.maintenance == "024":
                group[loop.subscriber_id] = {"status": "terminated", "coverages": []}
            else:
                group[loop.subscriber_id] = {"status": "active", "coverages": loop.coverages}
            applied += 1
        return applied

    def _ack(
        self,
        isa: list[str],
        gs: list[str],
        segments: list[list[str]],
        refused: list[_Loop],
        code: str,
    ) -> str:
        """A 999 that names each refused member's NM1 (segment) and NM109 (element)."""
        st = next((s for s in segments if s[0] == "ST"), ["ST", "834", "0001"])
        self._ack_number += 1
        now = dt.datetime.now(dt.UTC)
        number = f"{self._ack_number:09d}"
        body = [
            ["ST", "999", "0001", "005010X231A1"],
            ["AK1", "BE", _at(gs, 6), "005010X220A1"],
            ["AK2", "834", _at(st, 2), "005010X220A1"],
        ]
        for loop in refused:
            body.append(["IK3", "NM1", str(loop.nm1_position or loop.position), "2100A", "8"])
            body.append(["IK4", "9", "67", "I9"])
        body.append(["IK5", code])
        body.append(["AK9", code, "1", "1", "1"])
        body.append(["SE", str(len(body) + 1), "0001"])
        head = [
            "ISA", "00", " " * 10, "00", " " * 10,
            _at(isa, 7) or "ZZ", self._sender_id.ljust(15),
            _at(isa, 5) or "ZZ", (_at(isa, 6) or "").ljust(15),
            now.strftime("%y%m%d"), now.strftime("%H%M"), "^", "00501", number, "0",
            _at(isa, 15) or "T", ":",
        ]  # fmt: skip
        group = [
            "GS", "FA", _at(gs, 3), _at(gs, 2), now.strftime("%Y%m%d"), now.strftime("%H%M"),
            str(self._ack_number), "X", "005010X231A1",
        ]  # fmt: skip
        tail = [["GE", "1", str(self._ack_number)], ["IEA", "1", number]]
        return "".join("*".join(s) + "~" for s in [head, group, *body, *tail])

    def _save(self) -> None:
        _write_whole(self._state_file, json.dumps(self.state))


def _write_whole(path: Path, text: str) -> None:
    """Write `path` under a temporary name, then rename it: a reader (the engine polling for a
    999 over SFTP, or a restart reading the state) sees no file or the whole file, never an
    empty or half-written one. A 999 read half-written parsed as "rejected"."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def _check(text: str) -> tuple[bool, str]:
    """pyx12 against the implementation guide: valid or not, and the 999 it writes."""
    ack = io.StringIO()
    logger = logging.getLogger("pyx12")
    level, logger.level = logger.level, logging.CRITICAL + 1  # its messages hold the values
    try:
        valid = pyx12.x12n_document.x12n_document(
            pyx12.params.ParamsBase(), io.StringIO(text), ack, None
        )
    except Exception:
        return False, ""
    finally:
        logger.setLevel(level)
    return bool(valid), ack.getvalue()


def _segments(text: str) -> list[list[str]]:
    return [s.strip().split("*") for s in text.replace("\n", "").split("~") if s.strip()]


def _loops(segments: list[list[str]]) -> list[_Loop]:
    """Each loop 2000 with its position in the transaction set (ST = 1)."""
    loops: list[_Loop] = []
    position = 0
    for segment in segments:
        tag = segment[0]
        if tag == "ST":
            position = 1
            continue
        if position:
            position += 1
        if tag == "INS":
            loops.append(
                _Loop(
                    position=position,
                    subscriber=_at(segment, 1) == "Y",
                    subscriber_id="",
                    maintenance=_at(segment, 3),
                )
            )
        elif not loops:
            continue
        elif tag == "REF" and _at(segment, 1) == "0F":
            loops[-1].subscriber_id = _at(segment, 2)
        elif tag == "REF" and _at(segment, 1) == "1L":
            loops[-1].policy = _at(segment, 2)
        elif tag == "NM1" and _at(segment, 1) == "IL":
            loops[-1].nm1_position = position
            loops[-1].has_ssn = _at(segment, 8) == "34" and bool(_at(segment, 9))
        elif tag == "HD":
            loops[-1].coverages.append(f"{_at(segment, 3)}:{_at(segment, 4)}")
        elif tag == "SE":
            position = 0
    return loops


def _at(segment: list[str], index: int) -> str:
    return segment[index] if len(segment) > index else ""
