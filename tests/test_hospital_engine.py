"""The hospital's SimPy engine (:mod:`sim.services.hospital.engine`) processes events in the
same order as SimPy's own ``Environment.run`` with processes, timeouts and ``succeed``.

The reference is SimPy itself, not the module: one random cascade of events (many at the same
minute, so ties are broken by priority and insertion order) is run twice, once with SimPy's
own events and run loop, once with the module's callbacks and run loop, and the two logs of
(minute, event) must be equal. A deliberately broken engine (ties taken last-in first-out)
must fail the same comparison, so the check can fail.
"""

from __future__ import annotations

import math
import random
from heapq import heappop, heappush

import pytest
import simpy
from simpy.events import NORMAL, URGENT

from sim.services.hospital.engine import HospitalEnvironment, call_after, call_first, call_now

UNTIL = 40


#: What the log shows for a link of the chain (the chain's callback gets no event).
LINK = -3


def _cascade(env, after, now_, first, chain, seed: int = 7) -> list[tuple[float, int]]:
    """Events that make more events: delays of whole minutes (ties are frequent), wake-ups
    at the current minute and starts at urgent priority; each event logged when it fires.
    Beside them one chain of waits, one link at a time (as the hospital's arrivals feed
    makes them), each link making events too and the next link."""
    rng = random.Random(seed)
    log: list[tuple[float, int]] = []
    label = iter(range(10**9))

    def spawn() -> None:
        for _ in range(rng.choice((0, 1, 1, 2))):
            kind = rng.random()
            if kind < 0.7:
                after(rng.choice((0, 1, 1, 2, 3)), fire, next(label))
            elif kind < 0.9:
                now_(fire, next(label))
            else:
                first(fire, next(label))

    def fire(event) -> None:
        log.append((env.now, event.value if event is not None else -1))
        spawn()

    def link(_event) -> None:
        log.append((env.now, LINK))
        spawn()
        chain(rng.choice((0, 1, 1, 2)), link)

    for _ in range(5):
        after(rng.choice((0, 1, 2)), fire, next(label))
        first(fire, next(label))
    first(lambda _event: chain(1, link), next(label))  # started by a callback, as the feed is
    env.run(until=UNTIL)
    log.append((env.now, -2))  # the clock when the run stops
    return log


def _simpy_log() -> list[tuple[float, int]]:
    """The cascade with SimPy's own timeouts, ``Event.succeed`` and processes."""
    env = simpy.Environment()

    def after(delay, callback, value):
        env.timeout(delay, value).callbacks.append(callback)

    def now_(callback, value):
        event = env.event()
        event.callbacks.append(callback)
        event.succeed(value)

    def first(callback, value):
        def process():
            event = env.event()
            event._value = value
            callback(event)
            yield from ()

        env.process(process())

    def chain(delay, callback):
        env.timeout(delay).callbacks.append(callback)

    return _cascade(env, after, now_, first, chain)


class _Logged:
    """What the log reads of an event: its value."""

    def __init__(self, value):
        self.value = value


def _engine_log(env: simpy.Environment) -> list[tuple[float, int]]:
    """The cascade with the module's callbacks."""

    def after(delay, callback, value):
        call_after(env, delay, callback, value)

    def now_(callback, value):
        if isinstance(env, HospitalEnvironment):  # in the line due now: no event
            env.call_soon(lambda _event: callback(_Logged(value)))
        else:
            call_now(env, callback)._value = value

    def first(callback, value):
        call_first(env, callback)._value = value

    def chain(delay, callback):
        if isinstance(env, HospitalEnvironment):
            env.chain_after(delay, callback)
        else:  # a plain SimPy environment: the chain's links are timeouts
            call_after(env, delay, callback)

    return _cascade(env, after, now_, first, chain)


class _EventsOnly(HospitalEnvironment):
    """The chain's links and the line due now made as SimPy events, for the broken run loops
    below, which know only SimPy's queue and the long waits."""

    def chain_after(self, delay, callback):  # the chain's links as timeouts
        call_after(self, delay, callback)

    def call_soon(self, callback):  # the line due now as events
        call_now(self, callback)


class _LastInFirstOut(_EventsOnly):
    """Broken on purpose: events at the same minute and priority run newest first."""

    def run(self, until=None):
        queue = self._queue
        while queue and queue[0][0] < until:
            tied = [heappop(queue)]
            while queue and queue[0][:2] == tied[0][:2]:
                tied.append(heappop(queue))
            self._now, _, _, event = tied.pop()
            for entry in tied:
                heappush(queue, entry)
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
        self._now = until


def test_engine_orders_events_as_simpy_does():
    reference = _simpy_log()
    assert len(reference) > 100  # a cascade long enough to have many ties
    minutes = [t for t, _ in reference[:-1]]
    assert len(minutes) > len(set(minutes))  # events share minutes
    links = [t for t, what in reference if what == LINK]
    assert len(links) > 10 and len(set(links) & set(minutes)) > 5  # links tie with events
    assert _engine_log(HospitalEnvironment()) == reference


class _LinkAfterTies(HospitalEnvironment):
    """Broken on purpose: a link of the chain after every event due at its minute."""

    def chain_after(self, delay, callback):
        super().chain_after(delay, callback)
        self._link = (self._link[0], NORMAL + 1, self._link[2])


class _LinkBeforeTies(HospitalEnvironment):
    """Broken on purpose: a link of the chain before every normal event due at its minute."""

    def chain_after(self, delay, callback):
        super().chain_after(delay, callback)
        self._link = (self._link[0], NORMAL, -self._link[2])


class _SoonFirst(HospitalEnvironment):
    """Broken on purpose: the line due now before every event due now."""

    def call_soon(self, callback):
        self._soon.append((self._now, URGENT, -next(self._eid), callback))


class _SoonAfterTies(HospitalEnvironment):
    """Broken on purpose: the line due now after every event and link due now."""

    def call_soon(self, callback):
        self._soon.append((self._now, NORMAL, next(self._eid) + 10**6, callback))


@pytest.mark.parametrize("broken", [_LinkAfterTies, _LinkBeforeTies, _SoonFirst, _SoonAfterTies])
def test_a_broken_place_of_the_chain_is_caught(broken):
    assert _engine_log(broken()) != _simpy_log()


def test_engine_orders_the_line_due_now_as_simpy_does():
    # the cascade's wake-ups at the current minute go through the line due now: many of them,
    # some tied with heap events and chain links at the same minute
    env = HospitalEnvironment()
    made = []
    env.call_soon = lambda callback, soon=env.call_soon: (made.append(env.now), soon(callback))
    assert _engine_log(env) == _simpy_log()
    assert len(made) > 20


def test_one_link_at_a_time():
    env = HospitalEnvironment()
    env.chain_after(5, lambda _event: None)
    with pytest.raises(RuntimeError, match="link waiting"):
        env.chain_after(6, lambda _event: None)
    with pytest.raises(ValueError, match="Negative delay"):
        HospitalEnvironment().chain_after(-1, lambda _event: None)


@pytest.mark.parametrize("park_after", [0, 1, 2])
def test_long_waits_kept_apart_keep_simpy_order(park_after):
    # Timeouts of more than park_after minutes wait in the second heap (here most of them,
    # ties included); the order must still be SimPy's own.
    env = HospitalEnvironment(park_after=park_after)
    assert _engine_log(env) == _simpy_log()
    assert not env._far or env._far[0][0] >= UNTIL  # what is left is due after the end


class _LongWaitsLast(_EventsOnly):
    """Broken on purpose: the long waits only when nothing else is due before the end."""

    def run(self, until=None):
        for queue in (self._queue, self._far):
            while queue and queue[0][0] < until:
                self._now, _, _, event = heappop(queue)
                callbacks, event.callbacks = event.callbacks, None
                for callback in callbacks:
                    callback(event)
        self._now = until


def test_a_broken_merge_of_the_two_heaps_is_caught():
    assert _engine_log(_LongWaitsLast(park_after=1)) != _simpy_log()


def test_step_and_peek_see_the_long_waits():
    env = HospitalEnvironment(park_after=10)
    fired = []
    call_after(env, 30, lambda e: fired.append((env.now, "long")))
    call_after(env, 5, lambda e: fired.append((env.now, "short")))
    env.chain_after(3, lambda e: fired.append((env.now, "link")))
    assert env.peek() == 3  # the chain's link, seen too
    env.step()
    env.call_soon(lambda e: fired.append((env.now, "soon")))
    assert env.peek() == 3  # the line due now, seen too
    env.step()
    assert env.peek() == 5
    env.step()
    assert env.peek() == 30  # waiting in the second heap, seen all the same
    env.run()  # SimPy's own loop (step by step) to the end of the schedule
    assert fired == [(3, "link"), (3, "soon"), (5, "short"), (30, "long")]


def test_engine_stops_like_simpy_at_the_end():
    log = _engine_log(HospitalEnvironment())
    assert log[-1] == (UNTIL, -2)
    assert all(t < UNTIL for t, _ in log[:-1])  # events at the end itself are not processed


def test_callbacks_on_plain_simpy_match_too():
    # The callbacks alone (SimPy's own environment and run loop, nothing kept apart) give the
    # same order as well.
    env = simpy.Environment()
    env.park_after = math.inf
    assert _engine_log(env) == _simpy_log()


def test_a_broken_tie_order_is_caught():
    assert _engine_log(_LastInFirstOut()) != _simpy_log()
