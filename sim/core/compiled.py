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

import functools
import hashlib
import re
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


#: ``from sim.x import a, b`` (the names perhaps in parentheses over several lines) and
#: ``import sim.x``, found by regular expressions rather than by parsing: every process reads
#: these files when the first compiled function is declared, and parsing them took 0.1 s of
#: CPU of its start-up. ``tests/test_compiled.py`` holds the result to Python's parser.
_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+(sim(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|.*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+(.*)", re.M)
_COMMENT = re.compile(r"#.*")


def _imported_modules(text: str) -> set[str]:
    """Dotted names a file imports from ``sim`` (a module, or a name inside one)."""
    names = set()
    for module, imported in _FROM_IMPORT.findall(text):
        names.add(module)
        for part in _COMMENT.sub("", imported).strip("()").split(","):
            if part.split():
                names.add(f"{module}.{part.split()[0]}")
    for imported in _IMPORT.findall(text):
        for part in _COMMENT.sub("", imported).split(","):
            if part.split() and part.split()[0].startswith("sim"):
                names.add(part.split()[0])
    return names


def _imported_files(path: Path) -> set[Path]:
    """Files of ``sim`` that ``path`` imports (anywhere in it)."""
    found = set()
    for name in _imported_modules(path.read_text(encoding="utf-8")):
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


def compiled_within(func):
    """:func:`compiled_rule` for a function only compiled code calls (the rules that take the
    whole state of the pass): numba otherwise also compiles, for every function, the code that
    converts each argument from a Python object, which for the state is several hundred values
    and took a third of the first compile."""
    return njit(cache=True, _nrt=False, no_cpython_wrapper=True)(func)


def compiled_step(func):
    """:func:`compiled_within`, inlined into each of its (few) callers when they are compiled:
    for a rule on every episode's path. A call between compiled functions passes the whole
    state, several hundred values, which costs more than a short rule does."""
    return njit(cache=True, _nrt=False, no_cpython_wrapper=True, inline="always")(func)


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
