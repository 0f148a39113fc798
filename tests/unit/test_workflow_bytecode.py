"""`worker.cache_workflow_bytecode`: the sandbox imports the workflow modules again for every run
it starts, so their bytecode is written once before the workers run, even where Python writes
none itself."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

import workflows
from worker import cache_workflow_bytecode


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the workflow modules without bytecode: the suite's other workers import from
    the real tree meanwhile."""
    copy = tmp_path / "workflows"
    shutil.copytree(Path(workflows.__file__).parent, copy, ignore=shutil.ignore_patterns("*.pyc"))
    return copy


def test_every_workflow_module_gets_bytecode_python_will_read(tree: Path) -> None:
    sources = sorted(tree.glob("*.py"))
    assert sources

    assert cache_workflow_bytecode(tree) is True

    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.is_file(), source.name
        # What the import system checks before using it: the source's mtime and size.
        header = cached.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER
        stat = source.stat()
        assert int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
        assert int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF


def test_up_to_date_bytecode_is_left_as_it_is(tree: Path) -> None:
    assert cache_workflow_bytecode(tree)
    cached = Path(importlib.util.cache_from_source(str(tree / "connection.py")))
    written = cached.stat().st_mtime_ns

    assert cache_workflow_bytecode(tree)

    assert cached.stat().st_mtime_ns == written
