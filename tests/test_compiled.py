"""The compiled parts' cache: one stamp over every compiled file and the files whose constants
they freeze, so an edit anywhere among them makes the cached machine code stale, and
``needs_compiling`` says so (the "compiling" message then shows)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.booking import books, engine, rules
from sim.core import compiled

SIM = Path(__file__).resolve().parent.parent / "sim"


def test_the_stamp_covers_the_compiled_files_and_the_constants_they_freeze():
    files = {p.relative_to(SIM).as_posix() for p in compiled.compiled_sources()}
    # compiled code ...
    assert {"booking/books.py", "booking/rules.py", "booking/engine.py", "core/streams.py"} <= files
    # ... and the modules whose values it compiles in: codes, states, the configuration's tuples
    assert {"booking/codes.py", "core/ledger.py", "config/schema.py"} <= files
    # but not the rest of the model (an edit of the KPIs must not cost a recompile)
    assert not {"core/kpis.py", "core/replication.py", "report/build.py"} & files


@pytest.fixture
def copied_sim(tmp_path, monkeypatch):
    """compiled.py pointed at a copy of sim/, its caches cleared before and after."""
    copy = tmp_path / "sim"
    shutil.copytree(SIM, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(compiled, "_SIM", copy)
    compiled.compiled_sources.cache_clear()
    compiled.source_stamp.cache_clear()
    yield copy
    compiled.compiled_sources.cache_clear()
    compiled.source_stamp.cache_clear()


def _stamp_after_editing(copy: Path, rel: str) -> tuple[bytes, bytes]:
    before = compiled.source_stamp()
    with (copy / rel).open("a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    compiled.compiled_sources.cache_clear()
    compiled.source_stamp.cache_clear()
    after = compiled.source_stamp()
    assert len(before) == len(after) == 32
    return before, after


def test_editing_any_compiled_source_changes_the_stamp(copied_sim):
    before, after = _stamp_after_editing(copied_sim, "booking/codes.py")
    assert before != after
    before, after = _stamp_after_editing(copied_sim, "core/ledger.py")
    assert before != after


def test_editing_other_files_keeps_the_stamp(copied_sim):
    before, after = _stamp_after_editing(copied_sim, "core/kpis.py")
    assert before == after


def test_every_compiled_function_carries_the_shared_stamp():
    stamps = {
        f._cache._cache_file._source_stamp
        for f in (books.book_today, rules.ask_practice, engine.advance)
    }
    assert stamps == {compiled.source_stamp()}


def test_a_stale_cache_is_detected(monkeypatch, small_run):
    """After a pass has run, the cache on disk is fresh; had any compiled source changed since
    it was written (its stamp differs from the one the index was written for), it is stale and
    the next process must compile."""
    assert compiled.cache_is_fresh(engine.advance)
    assert not engine.needs_compiling()  # compiled in this process
    index = engine.advance._cache._cache_file
    monkeypatch.setattr(index, "_source_stamp", b"sources edited since")
    assert not compiled.cache_is_fresh(engine.advance)
    monkeypatch.setattr(type(engine.advance), "signatures", property(lambda self: []))
    assert engine.needs_compiling()


@pytest.fixture
def small_run():
    from sim.config.compose import compose_validated
    from sim.core.replication import run_replication

    _, run_cfg, _ = compose_validated([])
    run_replication(run_cfg.model, 0, 0, 0, 1)


def _parsed_imports(text: str) -> set[str]:
    """What Python's parser says a file imports from ``sim`` (as compiled.py once did)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] == "sim":
                names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] == "sim"}
    return names


def test_imports_found_without_parsing_are_those_the_parser_finds():
    """The cache stamp's files are found by regular expressions (parsing every file cost each
    process 0.1 s of start-up): for every file of sim/, they find every import the parser
    finds (a miss would leave a stale cache unnoticed), and the stamp's files are the same."""
    for path in SIM.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert _parsed_imports(text) <= compiled._imported_modules(text), path
    tricky = "from sim.booking import (  # why\n    codes,\n    rules as r,  # how\n)\n"
    assert compiled._imported_modules(tricky) == {
        "sim.booking",
        "sim.booking.codes",
        "sim.booking.rules",
    }


_COUNT_VERSIONS = """
import json, sys
from numba.core.registry import CPUDispatcher
from sim.config.compose import compose_validated
from sim.core.replication import run_replication
import sim.booking.books, sim.booking.engine, sim.booking.rules, sim.booking.state
import sim.core.streams, sim.core.window_counts
_, run_cfg, _ = compose_validated([])
run_replication(run_cfg.model, run_cfg.seed, 0, 0, 1)
versions = {
    f"{m.__name__}.{name}": len(f.signatures)
    for m in (sim.booking.books, sim.booking.engine, sim.booking.rules, sim.booking.state,
              sim.core.streams, sim.core.window_counts)
    for name, f in vars(m).items()
    if isinstance(f, CPUDispatcher) and f.__module__ == m.__name__
}
print(json.dumps(versions))
"""


@pytest.mark.slow
def test_each_compiled_function_is_compiled_once(tmp_path):
    """A constant passed between compiled functions as a Python literal (``True``, ``0``)
    compiles a version of the callee per value: first compiles of minutes, not seconds, came
    from that (issue 16). A fresh copy of sim/, compiled from nothing in a process of its
    own, must make one version of each function it compiles."""
    import json
    import os
    import subprocess
    import sys

    copy = tmp_path / "tree"
    for part in ("sim", "conf", "scenarios"):
        shutil.copytree(
            SIM.parent / part, copy / part, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(SIM.parent / "pyproject.toml", copy / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(copy), "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_VERSIONS],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    versions = json.loads(done.stdout.strip().splitlines()[-1])
    # compiled here, not loaded from a cache: the rules the pass calls have their version
    assert versions["sim.booking.rules.handle_111"] == 1
    assert versions["sim.core.window_counts._count_episodes"] == 1
    assert {name: n for name, n in versions.items() if n > 1} == {}
