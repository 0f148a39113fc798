"""Feed rules (domain.feeds) and the run file's store and links (services.feed_files): pure or
on a temporary folder, no servers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from domain.errors import NotFound
from domain.feeds import Calendar, exceeds_threshold, file_name, parse_schedule
from services.feed_files import FeedFileStore, FileLinks


def test_the_rrule_subset_a_feed_takes() -> None:
    assert parse_schedule("FREQ=WEEKLY;BYDAY=MO,WE,FR", "06:00") == Calendar((0, 2, 4), 6, 0)
    assert parse_schedule("RRULE:FREQ=DAILY", "23:59") == Calendar((), 23, 59)
    for rrule, time_of_day in [
        ("FREQ=MONTHLY", "06:00"),
        ("FREQ=WEEKLY", "06:00"),
        ("FREQ=DAILY;INTERVAL=2", "06:00"),
        ("FREQ=WEEKLY;BYDAY=XX", "06:00"),
        ("FREQ=DAILY;COUNT=3", "06:00"),
        ("FREQ=DAILY", "24:00"),
    ]:
        with pytest.raises(ValueError):  # noqa: PT011 (each case's message differs)
            parse_schedule(rrule, time_of_day)


def test_the_threshold_and_the_file_name() -> None:
    assert not exceeds_threshold(1, 10, 0.1)
    assert exceeds_threshold(2, 10, 0.1)
    assert not exceeds_threshold(0, 0, 0.0)
    assert (
        file_name("larkspur", "LM104233", 12, test=True) == "LARKSPUR_LM104233_000000012_TEST.834"
    )


def test_files_are_encrypted_and_expire(tmp_path: Path) -> None:
    store = FeedFileStore(tmp_path, "secret", retention=timedelta(days=1))
    run_id = uuid.uuid4()
    store.write(run_id, b"ISA*00*SSN 123456789~")
    assert b"123456789" not in next(tmp_path.iterdir()).read_bytes()
    assert store.read(run_id) == b"ISA*00*SSN 123456789~"
    assert store.purge_expired() == 0
    assert store.purge_expired(now=10**12) == 1
    with pytest.raises(NotFound):
        store.read(run_id)


def test_links_are_signed_and_expire() -> None:
    links = FileLinks("secret", lifetime_seconds=300)
    run_id = uuid.uuid4()
    expires, signature = links.sign(run_id, now=1_000)
    assert expires == 1_300
    assert links.check(run_id, expires, signature, now=1_299)
    assert not links.check(run_id, expires, signature, now=1_301)
    assert not links.check(uuid.uuid4(), expires, signature, now=1_000)
    assert not links.check(run_id, expires + 1, signature, now=1_000)
