"""Named random streams for common random numbers.

Each stream is a :class:`numpy.random.Generator` derived from the run's
:class:`numpy.random.SeedSequence`, the replication number and the stream's *name*. Keying by
name rather than by call order means adding a service, or drawing more numbers from one
stream, never shifts the numbers another stream gives: two scenarios see the same patients.
"""

from __future__ import annotations

import hashlib

import numpy as np

from sim.core.compiled import compiled, compiled_rule


def _name_key(name: str) -> tuple[int, ...]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class Streams:
    """Factory of independent, reproducible generators keyed by name.

    Parameters
    ----------
    seed
        The run's top-level seed (``seed=`` on the command line).
    replication
        Replication number, 0-based. ``SeedSequence(seed)`` has one child per replication.
    """

    def __init__(self, seed: int, replication: int):
        self.seed = int(seed)
        self.replication = int(replication)
        self._root = np.random.SeedSequence(self.seed)

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        # Equivalent to root.spawn(...)[replication] then a child keyed by the name's hash.
        key = self._root.spawn_key + (self.replication,) + _name_key(name)
        return np.random.SeedSequence(self._root.entropy, spawn_key=key)

    def generator(self, name: str) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name)))


# --------------------------------------------------------------------------------------------
# Per-episode keyed uniforms
# --------------------------------------------------------------------------------------------
# Most episodes never reach a hub, NHS 111 or A&E, so storing a column of uniforms for every
# such decision would cost memory for nothing. Instead each episode draws one 64-bit key at
# creation, and the uniform for decision ``name`` is a fixed hash of (key, name): still drawn
# once, still identical across scenarios (common random numbers), computed only when needed.

# splitmix64's constants, as uint64 (numba turns mixed int64/uint64 arithmetic into float64)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SHIFT30, _SHIFT27, _SHIFT31, _SHIFT11 = (np.uint64(k) for k in (30, 27, 31, 11))
_TWO_TO_MINUS_53 = 1.0 / (1 << 53)


def salt(name: str) -> np.uint64:
    """The salt of keyed decision ``name``: 64 bits of SHA-256 of it."""
    digest = hashlib.sha256(f"attribute:{name}".encode()).digest()
    return np.uint64(int.from_bytes(digest[:8], "little"))


@compiled_rule
def keyed_uniform(key, salt):
    """U(0,1) for episode ``key`` (uint64) and a decision's ``salt`` (:func:`salt`): the
    splitmix64 finaliser of ``key ^ salt``, its top 53 bits as a fraction. The one definition,
    called by the compiled booking pass and, through :func:`keyed_uniforms`, by numpy code."""
    z = (key ^ salt) + _GAMMA
    z = (z ^ (z >> _SHIFT30)) * _MIX1
    z = (z ^ (z >> _SHIFT27)) * _MIX2
    return np.float64((z ^ (z >> _SHIFT31)) >> _SHIFT11) * _TWO_TO_MINUS_53


@compiled
def _keyed_uniform_array(keys, salt):
    out = np.empty(len(keys), dtype=np.float64)
    for k in range(len(keys)):
        out[k] = keyed_uniform(keys[k], salt)
    return out


def keyed_uniforms(keys: np.ndarray, name: str) -> np.ndarray:
    """:func:`keyed_uniform` of decision ``name`` for every key of ``keys``."""
    return _keyed_uniform_array(np.asarray(keys, dtype=np.uint64), salt(name))
