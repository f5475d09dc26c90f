"""Named random streams for common random numbers.

Each stream is a :class:`numpy.random.Generator` derived from the run's
:class:`numpy.random.SeedSequence`, the replication number and the stream's *name*. Keying by
name rather than by call order means adding a service, or drawing more numbers from one
stream, never shifts the numbers another stream gives: two scenarios see the same patients.
"""

from __future__ import annotations

import hashlib

import numpy as np


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
# creation, and the uniform for attribute ``a`` is a fixed hash of (key, a): still drawn once,
# still identical across scenarios (common random numbers), computed only when needed.

_M64 = (1 << 64) - 1


def _attribute_salt(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"attribute:{name}".encode()).digest()[:8], "little")


def keyed_uniform(key: int, name: str) -> float:
    """U(0,1) for episode ``key`` and attribute ``name`` (splitmix64 finaliser)."""
    return KeyedUniform(name)(key)


class KeyedUniform:
    """Callable ``u(key)`` for one attribute; the salt is computed once."""

    __slots__ = ("salt",)

    def __init__(self, name: str):
        self.salt = _attribute_salt(name)

    def __call__(self, key: int) -> float:
        # splitmix64's finaliser, written out: this runs for many episodes in the booking pass
        z = ((key ^ self.salt) + 0x9E3779B97F4A7C15) & _M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return ((z ^ (z >> 31)) >> 11) * (1.0 / (1 << 53))


def keyed_uniforms(keys: np.ndarray, name: str) -> np.ndarray:
    """Vectorised :func:`keyed_uniform` over an array of uint64 keys."""
    z = np.asarray(keys, dtype=np.uint64) ^ np.uint64(_attribute_salt(name))
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
