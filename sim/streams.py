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
