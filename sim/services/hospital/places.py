"""A pool of places held for a known time, with waiting lists: IC+ and discharge-to-assess.

A place is a caseload slot (a bed in a community unit, or a package of care at home), held by
one person for their stay. Requests that find no place free wait in a list of their kind; when
a place frees it goes to the next request by the pool's priority rule:

* ``first_come_first_served``: the request that has waited longest, whatever its kind;
* a tuple of kinds (e.g. step-down first): the first kind with anyone waiting, first come
  first served within it.

A request may stop waiting (a step-up admitted instead after its maximum wait): the pool asks
``still_waiting(kind, id)`` when it reaches the request and skips it if not.

The number of places may change during the run (:meth:`PlacePool.set_places`, options phasing
in): new places go at once to those waiting, by the same rule; after a cut, everyone holding a
place keeps it until their stay ends, and places freed are closed (not given to the next
request) until the pool is down to its new size. [assumption: commissioners decommission
places by not refilling them, they do not end a stay early]

This is plain bookkeeping called from SimPy callbacks; the only event it schedules is the
end of each stay (:meth:`PlacePool.hold`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
import simpy

from sim.core.occupancy import RunningArea
from sim.services.hospital.engine import call_after


class Stays:
    """Every stay that started in a pool: start, end, kind and the id of who held it."""

    __slots__ = ("start", "end", "kind", "index")

    def __init__(self) -> None:
        self.start: list[float] = []
        self.end: list[float] = []
        self.kind: list[int] = []
        self.index: list[int] = []

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "start": np.asarray(self.start, dtype=float),
            "end": np.asarray(self.end, dtype=float),
            "kind": np.asarray(self.kind, dtype=np.int8),
            "index": np.asarray(self.index, dtype=np.int64),
        }


class PlacePool:
    """Places held for known durations, with one waiting list per kind of request.

    Parameters
    ----------
    env
        The hospital's SimPy environment.
    places
        Number of places (people at once).
    kinds
        Number of kinds of request (0 .. kinds - 1).
    priority
        ``None`` for first come first served across kinds, or the kinds in the order they
        are served.
    on_grant
        ``on_grant[kind](id, now)``: called when a request of that kind gets a place; it must
        call :meth:`hold` to say until when.
    still_waiting
        ``still_waiting(kind, id)``: whether a listed request still wants a place.
    """

    def __init__(
        self,
        env: simpy.Environment,
        places: int,
        kinds: int,
        priority: Sequence[int] | None,
        on_grant: Sequence[Callable[[int, float], None]],
        still_waiting: Callable[[int, int], bool] | None = None,
    ):
        self.env = env
        self.places = int(places)
        self.free = int(places)
        self.area = RunningArea()  # place-minutes in use, as places are taken and freed
        self.waiting: list[deque[tuple[float, int]]] = [deque() for _ in range(kinds)]
        self.priority = None if priority is None else tuple(priority)
        self.on_grant = list(on_grant)
        self.still_waiting = still_waiting or (lambda kind, i: True)
        self.stays = Stays()

    def request(self, kind: int, i: int, now: float) -> bool:
        """Ask for a place; ``True`` if granted at once (``on_grant`` already called)."""
        if self.free > 0:
            self.area.step(self.places - self.free, now)
            self.free -= 1
            self.on_grant[kind](i, now)
            return True
        self.waiting[kind].append((now, i))
        return False

    def hold(self, kind: int, i: int, start: float, end: float) -> None:
        """Record a stay and free its place at ``end`` (minutes, >= now)."""
        stays = self.stays
        stays.start.append(start)
        stays.end.append(end)
        stays.kind.append(kind)
        stays.index.append(i)
        call_after(self.env, end - self.env._now, self._release)

    def _head(self, kind: int) -> tuple[float, int] | None:
        """The first request of a kind still waiting (stale ones dropped)."""
        queue = self.waiting[kind]
        while queue:
            if self.still_waiting(kind, queue[0][1]):
                return queue[0]
            queue.popleft()
        return None

    def _next(self) -> tuple[int, int] | None:
        if self.priority is not None:
            for kind in self.priority:
                head = self._head(kind)
                if head is not None:
                    self.waiting[kind].popleft()
                    return kind, head[1]
            return None
        best = None
        for kind in range(len(self.waiting)):
            head = self._head(kind)
            if head is not None and (best is None or head[0] < best[0]):
                best = (head[0], kind)
        if best is None:
            return None
        _, i = self.waiting[best[1]].popleft()
        return best[1], i

    def set_places(self, places: int, now: float) -> None:
        """The pool has ``places`` from ``now``: new places go to those waiting; a cut closes
        places as they free (``free`` is negative meanwhile: places to close)."""
        change = int(places) - self.places
        self.places += change
        self.free += change
        while self.free > 0:
            nxt = self._next()
            if nxt is None:
                break
            self.area.step(self.places - self.free, now)
            self.free -= 1
            self.on_grant[nxt[0]](nxt[1], now)

    def _release(self, _event: simpy.Event) -> None:
        # After a cut (free < 0) the freed place closes instead of going to the next request.
        nxt = self._next() if self.free >= 0 else None
        if nxt is None:
            self.area.step(self.places - self.free, self.env._now)
            self.free += 1
        else:
            self.on_grant[nxt[0]](nxt[1], self.env._now)


__all__ = ["PlacePool", "Stays"]
