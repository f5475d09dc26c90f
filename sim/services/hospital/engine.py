"""The hospital's SimPy environment: SimPy's own event queue and events, with callbacks in
place of processes that only wait, and a leaner loop to run them.

The coupled hospital processes about 350,000 events in a 65-week replication, most the end
of a wait (an arrival, a treatment, a stay). A SimPy process that only sleeps between such
waits costs a generator resume and the process's own bookkeeping on every wake-up; a callback
on the same event does the same work for less. Everything here keeps SimPy's order of
events exactly: every event is a SimPy event with SimPy's key (time, priority, insertion
id), made at the same point of the run as the process's event would have been, and events
are processed in the order of their keys, so results are identical to the process-based
model.

**Long waits wait apart.** Most of the events waiting at any moment (about 590 of 630) are
the ends of stays days ahead: beds, IC+ and social care places. Every push and pop on a
binary heap costs comparisons in proportion to the log of its size, and the lines that
push and pop were about 30% of the stage's CPU in a sampling profile. So :func:`call_after`
puts an event due more than ``park_after`` minutes ahead (a day) in a second heap of its
own, with its SimPy key; the run loop takes whichever head has the smaller key, so the
order is exactly SimPy's (``step`` and ``peek`` look at both heaps too). The events near the
clock (arrivals, clinicians, decisions) stay in SimPy's queue, now about 40 long. Measured:
6.6% fewer instructions for a replication of the stage (callgrind), identical results.

**One chain of waits beside the queue.** The arrivals feed (``model._Feeder``) waits for
one arrival minute after another, one wait at a time: about 100,000 timeouts a replication,
whose only use is to come out of the queue at the right point. :meth:`~HospitalEnvironment.
chain_after` keeps that one wait as its SimPy key alone (the minute ``now + delay``, normal
priority, an insertion id taken from SimPy's counter at the point ``call_after`` would
take it), with no event object and no push or pop; the run loop compares it with the heads
of the two heaps and calls it when its key is the smallest, the place SimPy would have
processed the timeout. ``tests/test_hospital_engine.py`` runs a chain among ties against
SimPy's own timeouts and catches a link put before or after its ties. Measured: 7.8% fewer
instructions for the stage (callgrind), 4-5% less CPU paired against the code before.

**A line for what is due now.** A clinician woken by a patient resumes after the events
already due now, as a process woken by ``Event.succeed`` does (about 45,000 times a
replication). Such an event's key is the clock's minute, normal priority and a new
insertion id, so these events come out in the order they were made, after everything
already due now: :meth:`~HospitalEnvironment.call_soon` keeps them, keys and callbacks, in
a first-in first-out line, and the run loop takes the line's first when its key is smaller
than the heads of both heaps and the chain's link. The test runs the cascade's wake-ups
through the line against SimPy's ``succeed`` and catches a line put before or after its
ties. Measured: 4.6% fewer instructions for the stage (callgrind, 5.88 -> 5.61 G).

* :func:`call_after` makes a :class:`Call`: a SimPy :class:`~simpy.events.Timeout` that calls
  ``callback(event)`` when it fires (``event.value`` carries a value), the same as
  ``env.timeout(delay, value)`` with the callback appended.
* :func:`call_now`: an event triggered now (``Event.succeed``: normal priority) that calls
  ``callback(event)`` when processed; how a process woken by ``succeed`` resumes.
* :func:`call_first`: the same at urgent priority, the way SimPy starts a process
  (``Initialize``): a callback chain started where ``env.process`` would start a process.
* :meth:`HospitalEnvironment.chain_after`: ``callback(None)`` where a timeout of ``delay``
  would have fired, for one chain of waits (one link at a time).
* :meth:`HospitalEnvironment.call_soon`: ``callback(None)`` where :func:`call_now`'s event
  would have been processed.
* :func:`unset_minutes`: a per-patient record of minutes (NaN until known) that numpy reads
  as it is at the end of the run.
* :class:`HospitalEnvironment`: ``run(until=minute)`` with SimPy's meaning (every event
  before ``minute`` processed, the clock then at ``minute``) as one loop instead of a method
  call per event, over SimPy's queue and the heap of long waits.

``call_after`` and the run loop use SimPy 4's own queue entries (time, priority, insertion id,
event), as ``Environment.schedule`` and ``Environment.step`` do; ``tests/test_hospital_engine.py``
checks the order against SimPy's own run loop, so a SimPy release that changed them would show.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.events import NORMAL, URGENT, Event, Timeout

from sim.core.calendar import MINUTES_PER_DAY

EventCallback = Callable[[Event], None]


class Call(Timeout):
    """A timeout that calls ``callback(event)`` when it fires; made by :func:`call_after`."""

    def __init__(self, *_args: Any, **_kwargs: Any):
        raise TypeError("make a Call with call_after(env, delay, callback, value)")


_new = object.__new__


def call_after(
    env: simpy.Environment, delay: float, callback: EventCallback, value: Any = None
) -> Call:
    """A :class:`Call` that fires ``delay`` after now and calls ``callback(event)``, the same
    as ``env.timeout(delay, value)`` with the callback appended. ``env`` is a
    :class:`HospitalEnvironment` (a plain SimPy environment needs ``park_after = inf``)."""
    if delay < 0:
        raise ValueError(f"Negative delay {delay}")
    # Timeout.__init__ and Environment.schedule inlined, with the callback in place; made
    # without calling a class (in CPython 3.11 a class call with an __init__ costs about a
    # sixth of an event's whole cost in SimPy's machinery)
    event = _new(Call)
    event.env = env
    event.callbacks = [callback]
    event._value = value
    event._delay = delay
    event._ok = True
    if delay > env.park_after:  # a long wait: in the second heap, with the same key
        heappush(env._far, (env._now + delay, NORMAL, next(env._eid), event))
    else:
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), event))
    return event


def call_now(env: simpy.Environment, callback: EventCallback) -> Event:
    """An event triggered now that calls ``callback(event)``: queued as ``Event.succeed``
    queues an event (normal priority, no delay), after the events already due now."""
    return call_after(env, 0, callback)


def call_first(env: simpy.Environment, callback: EventCallback) -> Event:
    """``callback(event)`` at the current minute before any normal event, in the order these
    were made: the moment SimPy would start a process made here."""
    event = Event(env)
    event.callbacks.append(callback)
    event._ok = True
    event._value = None
    env.schedule(event, URGENT)
    return event


def unset_minutes(n: int) -> array:
    """``n`` minutes not known yet (NaN), one per patient, written as the run finds them:
    kept as doubles, so the results read them with ``numpy.frombuffer`` (no conversion of
    each item, and no float object kept per patient)."""
    return array("d", [math.nan]) * n


class HospitalEnvironment(simpy.Environment):
    """A SimPy environment whose ``run(until=minute)`` is one loop over SimPy's queue, with
    events due more than ``park_after`` minutes ahead in a second heap, one chain of waits
    and a line of what is due now kept as keys alone (module docstring)."""

    def __init__(self, initial_time: float = 0, park_after: float = MINUTES_PER_DAY):
        super().__init__(initial_time)
        self.park_after = park_after
        self._far: list[tuple[float, int, int, Event]] = []
        # the chain's next link (chain_after): its SimPy key, and what it calls
        self._link: tuple[float, int, int] | None = None
        self._link_callback: Callable[[None], None] | None = None
        # the line due now (call_soon): keys (now, normal priority, insertion id, callback)
        self._soon: deque[tuple[float, int, int, Callable[[None], None]]] = deque()

    def chain_after(self, delay: float, callback: Callable[[None], None]) -> None:
        """``callback(None)`` ``delay`` after now, at the point of the run where
        ``call_after(self, delay, callback)`` would have fired: the next link of the
        environment's one chain of waits (module docstring). One link at a time."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        if self._link is not None:
            raise RuntimeError("the chain has a link waiting already")
        # the key call_after would give its timeout, the insertion id taken at the same point
        self._link = (self._now + delay, NORMAL, next(self._eid))
        self._link_callback = callback

    def call_soon(self, callback: Callable[[None], None]) -> None:
        """``callback(None)`` where an event triggered now (:func:`call_now`) would have been
        processed: after the events already due now, kept in a line of their own with their
        SimPy keys (module docstring)."""
        self._soon.append((self._now, NORMAL, next(self._eid), callback))

    def _side_first(self) -> tuple | None:
        """The key of the chain's link or of the first of the line due now, whichever is
        smaller, if it comes before every event of both heaps; else None."""
        side = None
        for key in (self._link, self._soon[0] if self._soon else None):
            if key is not None and (side is None or key < side):
                side = key
        for heap in (self._queue, self._far):
            if side is not None and heap and heap[0] < side:
                return None
        return side

    def _fire_side(self, key: tuple) -> None:
        if key is self._link:
            self._now, link = key[0], self._link_callback
            self._link = self._link_callback = None
            link(None)
        else:
            self._soon.popleft()[3](None)

    def _bring_forward(self) -> None:
        """Move the earliest long wait into SimPy's queue if it comes first."""
        far, queue = self._far, self._queue
        if far and (not queue or far[0] < queue[0]):
            heappush(queue, heappop(far))

    def step(self) -> None:
        """As :meth:`simpy.Environment.step`, the long waits, the chain and the line due now
        included."""
        key = self._side_first()
        if key is not None:
            self._fire_side(key)
            return
        self._bring_forward()
        super().step()

    def peek(self) -> float:
        """As :meth:`simpy.Environment.peek`, the long waits, the chain and the line due now
        included."""
        key = self._side_first()
        if key is not None:
            return key[0]
        self._bring_forward()
        return super().peek()

    def run(self, until: Any = None) -> Any:
        """As :meth:`simpy.Environment.run`. A number ``until`` runs one loop instead of a
        :meth:`step` call per event: like SimPy, it queues a stop at ``until`` with urgent
        priority (events at ``until`` itself are not processed) and stops when it comes
        out of the queue, the clock then at ``until``."""
        if until is None or isinstance(until, Event):
            return super().run(until)
        at = until if isinstance(until, int) else float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        stop = Event(self)
        self.schedule(stop, URGENT, at - self._now)
        queue, far, soon = self._queue, self._far, self._soon
        while True:
            # the smallest key of the two heads, the line due now and the chain's link (the
            # stop is in SimPy's queue till the end)
            heap = far if far and far[0] < queue[0] else queue
            link = self._link
            if soon:
                key = soon[0]  # due now: its minute is the clock's
                if key < heap[0] and (link is None or key < link):
                    soon.popleft()[3](None)
                    continue
            if link is not None and link < heap[0]:
                self._now, self._link = link[0], None  # _fire_side, inlined
                self._link_callback(None)
                continue
            self._now, _, _, event = heappop(heap)
            if event is stop:
                return None
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                # a failed event nobody handled: crash, as SimPy's step() does
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc


__all__ = ["Call", "HospitalEnvironment", "call_after", "call_first", "call_now", "unset_minutes"]
