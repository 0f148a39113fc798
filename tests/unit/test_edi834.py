"""The 834 builder (domain.edi834, domain.edi834_members): every file it makes validates against
the 005010X220A1 implementation guide with pyx12 with zero errors, and a broken one does not."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest

from carriers.larkspur import FILE_RULES
from carriers.x12 import AckCode, read_999, validate
from domain.edi834 import Envelope, FileAction, Party, build_834
from domain.edi834_members import MemberAction, member_action, member_levels
from domain.members import CarrierMember
from tools.sample_members import ended, group, member

SPONSOR = Party("Acme Widgets LLC", "12-3456789")
PAYER = Party("Larkspur Mutual (sandbox)", "98-7654321")


def _envelope(number: int = 1) -> Envelope:
    return Envelope(
        sender_qualifier="ZZ",
        sender_id="CARRIERLINK",
        receiver_qualifier="ZZ",
        receiver_id="LARKSPURSBX",
        application_sender="CARRIERLINK",
        application_receiver="LARKSPURSBX",
        interchange_control_number=number,
        group_control_number=number,
        created=dt.datetime(2026, 2, 1, 9, 30),
    )


def _file(
    members: list[CarrierMember],
    action: str | None,
    changes: list[dict[str, str]] | None = None,
) -> str:
    levels = [
        level
        for carrier_member in members
        for level in member_levels(
            carrier_member,
            rules=FILE_RULES,
            action=action,
            changes=changes or [],
            as_of=dt.date(2026, 2, 1),
        )
    ]
    built = build_834(
        _envelope(),
        sponsor=SPONSOR,
        payer=PAYER,
        action=FileAction.FULL if action is None else FileAction.CHANGES,
        members=levels,
        reference="RUN-1",
    )
    return built.text


def _assert_valid(text: str) -> None:
    report = validate(text)
    assert report.errors == (), [str(e) for e in report.errors]
    assert report.valid
    assert read_999(report.acknowledgement).code is AckCode.ACCEPTED


def test_new_hire_with_dependents() -> None:
    hire = member(random.Random(1), spouse=True, children=2)
    text = _file([hire], member_action("carrier_new_hire"))
    _assert_valid(text)
    assert "INS*Y*18*021*28*A***FT~" in text
    assert text.count("INS*N*") == 3
    assert "HD*021**DEN*LM-DEN-PPO*FAM~" in text


def test_change_adds_a_dependent() -> None:
    before = member(random.Random(2), spouse=False, children=1, event="newborn")
    newborn = before.dependents[0]
    text = _file(
        [before],
        member_action("carrier_qualifying_life_event_adding"),
        changes=[{"kind": "dependent_added", "individual_id": str(newborn.id)}],
    )
    _assert_valid(text)
    assert "INS*Y*18*001*02*A***FT~" in text  # the subscriber changes, for a birth
    assert "INS*N*19*021*02*A~" in text  # the newborn is added


def test_termination() -> None:
    leaving = ended(member(random.Random(3)), on=dt.date(2026, 3, 31))
    text = _file([leaving], member_action("carrier_termination"))
    _assert_valid(text)
    assert "INS*Y*18*024*08*A***TE~" in text
    assert "DTP*349*D8*20260331~" in text
    assert "HD*021" not in text


def test_cobra_election() -> None:
    elected = member(random.Random(4), cobra=True, event="cobra_enrollment")
    text = _file([elected], member_action("carrier_cobra_enrollment"))
    _assert_valid(text)
    assert "INS*Y*18*021*09*C**1*FT~" in text
    assert "LM-LIFE" not in text  # COBRA continues dental and vision


def test_full_file_of_a_group() -> None:
    text = _file(group(40), None)
    _assert_valid(text)
    assert text.count("INS*Y*18*030*XN*A") == 40


def test_a_full_file_leaves_out_who_is_no_longer_covered() -> None:
    leaving = ended(member(random.Random(8)), on=dt.date(2026, 1, 15))
    assert member_levels(leaving, rules=FILE_RULES, action=None, as_of=dt.date(2026, 2, 1)) == []
    staying = member(random.Random(9))
    assert member_levels(staying, rules=FILE_RULES, action=None, as_of=dt.date(2026, 2, 1))


def test_counts_and_trailers() -> None:
    members = group(5)
    levels = [
        lv for m in members for lv in member_levels(m, rules=FILE_RULES, action=MemberAction.ADD)
    ]
    built = build_834(
        _envelope(42),
        sponsor=SPONSOR,
        payer=PAYER,
        action=FileAction.CHANGES,
        members=levels,
        reference="RUN-42",
    )
    assert built.counts.primaries == 5
    assert built.counts.members == len(levels)
    assert f"SE*{built.segments}*0001~" in built.text
    assert built.text.endswith("IEA*1*000000042~")


@pytest.mark.parametrize(
    ("broken", "segment"),
    [
        (lambda t: t.replace("INS*N*19*", "INS*N*99*", 1), "INS"),  # no such relationship
        (lambda t: t.replace("DMG*D8*1980", "DMG*D8*1980X", 1), "DMG"),  # not a date
        (lambda t: t.replace("~SE*", "~SE*9", 1), "ST"),  # wrong segment count
    ],
)
def test_a_broken_file_fails_the_same_validation(broken: object, segment: str) -> None:
    text = _file([member(random.Random(5), spouse=True, children=1)], MemberAction.ADD)
    _assert_valid(text)
    report = validate(broken(text))  # type: ignore[operator]
    assert not report.valid
    assert any(error.segment == segment for error in report.errors), report.errors
    assert read_999(report.acknowledgement).code is AckCode.REJECTED


def test_the_subscriber_id_is_not_the_ssn() -> None:
    hire = member(random.Random(6))
    text = _file([hire], MemberAction.ADD)
    assert f"REF*0F*{hire.employee.id.hex.upper()}~" in text
    assert uuid.UUID(hire.employee.id.hex)
