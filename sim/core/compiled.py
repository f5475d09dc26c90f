"""How the model's compiled parts are compiled and cached (numba).

The booking pass and the keyed random numbers are compiled to machine code with numba, which
keeps the code it compiled on disk (``cache=True``) so later runs start at once. Numba decides
whether a cached function is still valid from the one source file that defines it; but a
function of the booking pass calls functions of other files, and its cached machine code
holds their old versions after an edit there. So every compiled file shares one **cache
stamp**, a SHA-256 over all of them (:func:`compiled_sources`): editing any of them makes
every cached function stale, and numba compiles afresh. The stamp also covers the files
they import (codes, terminal states, flow nodes): compiled code freezes those constants.

Compiled functions are declared with :func:`compiled` (the entry points, which may allocate)
or :func:`compiled_rule` (everything they call, compiled without reference counting: with it,
every read of an array out of the grouped arguments cost an atomic increment and decrement).

Constants are passed between compiled functions as numpy ``int64`` values (see
:func:`int_code`), never as Python ints: numba types a Python int constant by its *value*, so
each distinct constant passed would compile its own copy of the callee.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

import numpy as np
from numba import njit
from numba.core import caching

_SIM = Path(__file__).resolve().parent.parent
#: The files that hold compiled functions, relative to ``sim/``.
COMPILED_MODULES: tuple[str, ...] = (
    "core/streams.py",
    "booking/books.py",
    "booking/state.py",
    "booking/rules.py",
    "booking/engine.py",
)


def _imported_files(path: Path) -> set[Path]:
    """Files of ``sim`` that ``path`` imports (anywhere in it)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] != "sim":
                continue
            base = _SIM.joinpath(*parts[1:])
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    found.add(candidate)
    return found


@functools.lru_cache(maxsize=1)
def compiled_sources() -> tuple[Path, ...]:
    """The compiled files and every file of ``sim`` they import, directly or not: compiled
    code freezes the constants it reads from them (codes, states, nodes)."""
    todo = [_SIM / rel for rel in COMPILED_MODULES]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(_imported_files(path) - seen)
    return tuple(sorted(seen))


@functools.lru_cache(maxsize=1)
def source_stamp() -> bytes:
    """SHA-256 over :func:`compiled_sources`, in a fixed order: the cache stamp of them all."""
    h = hashlib.sha256()
    for path in compiled_sources():
        h.update(path.relative_to(_SIM).as_posix().encode())
        h.update(path.read_bytes())
    return h.digest()


class _SharedStampMixin:
    """A numba cache locator whose stamp covers every compiled source, not one file."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve() not in compiled_sources():
            return None  # not ours: numba's own locators decide
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return source_stamp()


class InTreeSharedStampLocator(_SharedStampMixin, caching.InTreeCacheLocator):
    """Cache next to the sources (``__pycache__``), as numba does by default."""


class UserWideSharedStampLocator(_SharedStampMixin, caching.UserWideCacheLocator):
    """Cache in the user's cache folder when the sources' folder is not writable."""


# Ours first, so they are asked before numba's own; asked once per compiled function, when it
# is declared.
for _locator in (UserWideSharedStampLocator, InTreeSharedStampLocator):
    if _locator not in caching.CacheImpl._locator_classes:
        caching.CacheImpl._locator_classes.insert(0, _locator)


def compiled(func):
    """Compile ``func`` with numba, cached on disk (an entry point: may allocate)."""
    return njit(cache=True)(func)


def compiled_rule(func):
    """Compile ``func`` with numba, cached, without reference counting (never allocates or
    keeps a reference: called with arrays its caller owns)."""
    return njit(cache=True, _nrt=False)(func)


def int_code(names: tuple[str, ...], name: str) -> np.int64:
    """The code of ``name`` in ``names`` (its position), as a numpy int64 constant."""
    return np.int64(names.index(name))


def cache_is_fresh(dispatcher) -> bool:
    """True when numba holds machine code for ``dispatcher`` on disk, written for the present
    sources (same numba version and the same :func:`source_stamp`)."""
    cache = getattr(dispatcher, "_cache", None)
    index_file = getattr(cache, "_cache_file", None)
    if index_file is None:
        return False
    # The index holds the stamp it was written for: an empty answer means none, or stale.
    try:
        return bool(index_file._load_index())
    except Exception:  # an unreadable index is as good as none
        return False
