"""X12 files checked against their implementation guide (pyx12's maps), and 999s read back.

`validate` runs pyx12's `x12n_document` (the guide's map, its code lists, loop counts and
envelope counts) and answers every error it found with the segment and element it names, and
the 999 pyx12 writes for the file. `read_999` reads a 999 (ours or a carrier's) into what the
engine needs: the acknowledgement code and the errors per transaction set.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyx12.params
import pyx12.x12n_document


class AckCode(StrEnum):
    """IK5 / AK9 acknowledgement codes (005010X231A1)."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    PARTIALLY_ACCEPTED = "P"  # AK9 only: some transaction sets accepted
    REJECTED = "R"


@dataclass(frozen=True)
class X12Error:
    """One error pyx12 found: where (segment id, its position, element) and what."""

    code: str
    message: str
    segment: str | None = None
    segment_position: int | None = None  # ordinal in the file (pyx12's seg_count)
    element: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.segment:
            where = f"{self.segment}"
            if self.element:
                where += f"/{self.element}"
            if self.segment_position is not None:
                where += f" (segment {self.segment_position})"
            where += ": "
        return f"{where}{self.message} [{self.code}]"


@dataclass(frozen=True)
class X12Report:
    valid: bool
    errors: tuple[X12Error, ...] = ()
    acknowledgement: str = field(default="", repr=False)  # the 999 pyx12 wrote


def validate(text: str) -> X12Report:
    """Check a file against the implementation guide named in its GS08."""
    params = pyx12.params.ParamsBase()
    ack = io.StringIO()
    errors_json = io.StringIO()
    # pyx12 logs every error it finds, with the values (PII) it found: keep them out of logs.
    logger = logging.getLogger("pyx12")
    level, logger.level = logger.level, logging.CRITICAL + 1
    try:
        valid = pyx12.x12n_document.x12n_document(
            params, io.StringIO(text), ack, None, None, errors_json
        )
    except Exception as exc:  # pyx12 raises on files it cannot walk at all
        return X12Report(valid=False, errors=(X12Error(code="engine", message=str(exc)),))
    finally:
        logger.setLevel(level)
    errors = tuple(_errors(json.loads(errors_json.getvalue() or '{"interchanges": []}')))
    if not valid and not errors:
        # pyx12 refused the file without naming an element (its envelope checks, e.g. an ISA
        # id of the wrong length): still a failure, said as such.
        errors = (X12Error(code="envelope", message="refused by pyx12 without detail"),)
    return X12Report(valid=valid and not errors, errors=errors, acknowledgement=ack.getvalue())


def _errors(doc: dict[str, Any]) -> list[X12Error]:
    found: list[X12Error] = []

    def plain(node: dict[str, Any], segment: str) -> None:
        for error in node.get("errors", []):
            found.append(X12Error(code=error["err_cde"], message=error["err_str"], segment=segment))

    for isa in doc.get("interchanges", []):
        plain(isa, "ISA")
        for gs in isa.get("groups", []):
            plain(gs, "GS")
            for st in gs.get("transactions", []):
                plain(st, "ST")
                for seg in st.get("segments", []):
                    for error in seg.get("errors", []):
                        found.append(
                            X12Error(
                                code=error["err_cde"],
                                message=error["err_str"],
                                segment=seg["seg_id"],
                                segment_position=seg.get("seg_count"),
                            )
                        )
                    for ele in seg.get("elements", []):
                        for error in ele.get("errors", []):
                            found.append(
                                X12Error(
                                    code=error["err_cde"],
                                    message=error["err_str"],
                                    segment=seg["seg_id"],
                                    segment_position=seg.get("seg_count"),
                                    element=f"{seg['seg_id']}{int(ele['ele_pos']):02d}",
                                )
                            )
    return found


@dataclass(frozen=True)
class SegmentNote:
    """An IK3 (segment in error) with its IK4s (elements in error) from a 999."""

    segment: str
    position: int
    code: str
    elements: tuple[tuple[int, str], ...] = ()  # (position, error code)


@dataclass(frozen=True)
class TransactionAck:
    control_number: str
    code: AckCode
    notes: tuple[SegmentNote, ...] = ()


@dataclass(frozen=True)
class Acknowledgement:
    """A 999 as the engine reads it."""

    group_control_number: str
    code: AckCode  # AK9
    transactions: tuple[TransactionAck, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.code in (AckCode.ACCEPTED, AckCode.ACCEPTED_WITH_ERRORS)


def read_999(text: str) -> Acknowledgement:
    """The AK1 group, each AK2 / IK3 / IK4 / IK5, and the AK9 of a 999."""
    segments = [s.strip() for s in text.replace("\n", "").split("~") if s.strip()]
    component = segments[0][104] if segments and segments[0].startswith("ISA") else ":"
    group = ""
    code = AckCode.REJECTED
    transactions: list[TransactionAck] = []
    control: str | None = None
    notes: list[SegmentNote] = []
    for segment in segments:
        elements = segment.split("*")
        tag = elements[0]
        if tag == "AK1":
            group = elements[2]
        elif tag == "AK2":
            control, notes = elements[2], []
        elif tag == "IK3":
            notes.append(
                SegmentNote(
                    segment=elements[1],
                    position=int(elements[2] or 0),
                    code=elements[4] if len(elements) > 4 else "",
                )
            )
        elif tag == "IK4" and notes:
            position = int(elements[1].split(component)[0] or 0)
            last = notes[-1]
            notes[-1] = SegmentNote(
                last.segment,
                last.position,
                last.code,
                (*last.elements, (position, elements[3] if len(elements) > 3 else "")),
            )
        elif tag == "IK5" and control is not None:
            transactions.append(TransactionAck(control, AckCode(elements[1]), tuple(notes)))
            control = None
        elif tag == "AK9":
            code = AckCode(elements[1])
    return Acknowledgement(group_control_number=group, code=code, transactions=tuple(transactions))
