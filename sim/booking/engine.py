"""The event loop of the booking pass: every episode in the order it reaches its practice, with
the events it causes (call-backs at the next opening, clinic referrals at the time of the
appointment that made them) handled in time order between them.

The loop (:func:`advance`) is compiled; :func:`booking_pass` drives it from Python, growing the
logs whenever the compiled code stops for room (it never allocates). The rules themselves are
in :mod:`sim.booking.rules`.

Results are byte-identical to the interpreted pass this replaced: no fastmath, ``t // 1440`` on
floats, the keyed uniforms in uint64, and the event heap orders ties as Python tuples do.
"""

from __future__ import annotations

import numpy as np

from sim.booking import codes as c
from sim.booking.rules import (
    ask_practice,
    call_back,
    cancellation,
    handle_rac,
    out_of_hours,
    sample_access,
)
from sim.booking.state import (
    Pass,
    PassRows,
    event_due,
    has_room,
    new_logs,
    pop_event,
    trimmed,
    with_room,
)
from sim.core.compiled import cache_is_fresh, compiled_rule, compiled_within

MINUTES_PER_DAY = 1440


@compiled_within
def dispatch(s, t, kind, episode, arg):
    """Handle one event popped from the heap."""
    # Sampling is due once t reaches the first minute after the last sampled day.
    if t >= (s.clock[0] + 1) * MINUTES_PER_DAY:
        sample_access(s, t)
    if kind == c.EVENT_REQUEST:
        call_back(s, episode, t, arg)
    elif kind == c.EVENT_CANCELLATION:
        cancellation(s, episode, t, arg)
    else:
        handle_rac(s, episode, t, arg)


@compiled_within
def run_events_until(s, t):
    """Handle every pending event at or before ``t``, in order; False if it stopped early
    because a log ran short of room."""
    while event_due(s.logs, t):
        if not has_room(s.logs):
            return False
        when, kind, episode, arg = pop_event(s.logs)
        dispatch(s, when, kind, episode, arg)
    return True


@compiled_rule
def advance(s, i):
    """Handle episodes from ``i`` on, each with the events due before it, until they are all
    done (returns the number of episodes + 1) or a log runs short of room (returns the first
    episode not finished, to be started again: a need out of hours that was not settled left
    no trace, and events already handled are gone from the heap)."""
    ep = s.ep
    n = len(ep.request)
    # run_events_until is called only when an event is due (most episodes find none): a call
    # passes the whole state, which costs more than the rest of an ordinary episode.
    while i < n:
        if ep.out_of_hours_kind[i] != 0:
            t = ep.arising[i]
            if event_due(s.logs, t) and not run_events_until(s, t) or not has_room(s.logs):
                return i
            if out_of_hours(s, i):
                i += 1
                continue
        t = ep.request[i]
        if event_due(s.logs, t) and not run_events_until(s, t) or not has_room(s.logs):
            return i
        # The first request to the practice (written out here rather than called, for the
        # same reason)
        if t >= (s.clock[0] + 1) * MINUTES_PER_DAY:
            sample_access(s, t)
        if t >= s.settings.end_minute:
            s.out.attempts[i] = 1
            s.out.outcome[i] = c.WAITING_AT_END
        else:
            first_day, last_day = np.int64(ep.first_day[i]), np.int64(ep.last_day[i])
            day = np.int64(ep.request_day[i])
            minute = t - day * MINUTES_PER_DAY
            ask_practice(s, i, t, np.int64(0), day, minute, first_day, last_day)
        i += 1
    if not run_events_until(s, np.inf):
        return n
    return n + 1


def booking_pass(ep, settings, books, out) -> PassRows:
    """Run the pass over episode inputs ``ep`` (:class:`sim.booking.state.EpisodeInputs`) with
    ``settings`` on ``books`` (:class:`sim.booking.books.ArrayBooks`). Fills ``out``
    (:class:`sim.booking.state.Results`) and the books in place; returns the rows logged."""
    n = len(ep.request)
    s = Pass(ep, settings, books, out, new_logs(n), np.full(1, -1, dtype=np.int64))
    i = np.int64(0)
    while True:
        i = advance(s, i)
        if i > n:
            return trimmed(s.logs)
        s = s._replace(logs=with_room(s.logs))


def needs_compiling() -> bool:
    """True when the next booking pass in this process will compile it first (a minute or
    more, once per machine and version): nothing compiled in this process yet, and no machine
    code on disk for the present sources (none, or stale after an edit)."""
    return not advance.signatures and not cache_is_fresh(advance)
