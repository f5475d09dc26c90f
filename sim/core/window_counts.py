"""What a replication's results count over its episodes and events, each in one compiled pass.

A replication-year holds about two million episodes, in the order they reach their practice,
so the measurement window is a scattered subset of them. Counting the KPIs, series and
equity breakdowns with numpy took a dozen boolean masks, fancy-indexed copies and float
temporaries as long as the episodes (0.3 s of CPU and 120 MB above the replication's own
memory); the passes here count the same things directly, into arrays a few thousand long.

Only counts are made here (integers, and sums of whole days, which are exact in any order):
a sum of fractional floats depends on the order it is added in, and stays with numpy where it
is made (:mod:`sim.core.kpis`, :mod:`sim.core.money`), so every number is the same, bit for
bit, as numpy's boolean selections give.

Every code (urgencies, terminal states) is passed in as an argument, never read as a global:
numba would freeze a global's value into the cached machine code, and this file's cache is
stamped by numba from this file alone (it calls no compiled function of another file, so it
stays out of the booking pass's shared stamp, :mod:`sim.core.compiled`, and editing it does not
recompile the pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config.schema import AGE_BANDS, FRAILTY_BANDS, URGENCIES
from sim.core import ledger
from sim.core.calendar import HOURS_PER_WEEK, MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.core.compiled import compiled
from sim.core.demand import ROUTINE, URGENT

#: Flags of an episode that arose in the window, one bit each, in this order
#: (:attr:`EpisodeCounts.access`): an urgent request to a practice (resolved online or by
#: Pharmacy First not counted: it needed no slot); one given a same-day appointment at the
#: practice or its hub; a routine request booked at the practice; an episode that gave up.
ACCESS_FLAGS: tuple[str, ...] = ("urgent", "urgent_met", "routine", "gave_up")
#: Lead-time distributions count whole days from the first request to the practice
#: appointment, 0..LEAD_DAYS_LAST; the last bin holds every longer wait. Six weeks is the
#: default site's booking horizon, so the bins show every wait there.
LEAD_DAYS_LAST = 42
#: Frailty levels of the equity cells: 0 = under 65 (not assessed), 1.. = FRAILTY_BANDS + 1.
FRAILTY_LEVELS = len(FRAILTY_BANDS) + 1


@dataclass(frozen=True)
class EpisodeCounts:
    """What the KPIs, series and equity breakdowns count over the episodes, in the window
    (a time ``t`` is in the window's minutes if ``lo <= t < hi``, in its day
    ``floor(t / 1440)``; an episode "arose" in it if its time is in its minutes)."""

    arose: int  # episodes that arose in the window
    by_outcome: np.ndarray  # (terminal state,) episodes that arose, by outcome
    #: (practice, age band, frailty level, combination of ACCESS_FLAGS) episodes that arose
    access: np.ndarray
    #: (practice, age band, frailty level) routine lead days summed (the "routine" flag's)
    routine_lead_sum: np.ndarray
    #: routine requests (the "routine" flag's) by lead days, from ``lead_offset`` days on
    routine_lead: np.ndarray
    lead_offset: int
    #: (urgency, 0..LEAD_DAYS_LAST) requests booked at the practice, by whole lead days
    lead_by_urgency: np.ndarray
    arising_daily: np.ndarray  # (day of the window,) episodes that arose
    arising_by_hour: np.ndarray  # (hour of the week,) summed over the window's weeks
    appointments_daily: np.ndarray  # (day of the window,) practice appointments that day
    same_day: int  # appointments in the window booked on the appointment's day
    did_not_attend: int  # appointments in the window not attended
    requests: int  # first requests to practices made in the window
    requests_by_hour: np.ndarray  # (hour of the week,) summed over the window's weeks
    monday_requests: int
    weekday_requests: int  # Monday to Friday
    monday_8to9_requests: int

    @property
    def appointments(self) -> int:
        return int(self.appointments_daily.sum())

    def flagged(self, flag: str, keep: tuple[int, ...] = ()) -> np.ndarray:
        """Episodes that arose holding ACCESS_FLAGS ``flag``, summed over every axis of the
        cells but those in ``keep`` (none: the total)."""
        bit = ACCESS_FLAGS.index(flag)
        combos = np.arange(self.access.shape[-1])
        holding = self.access[..., (combos >> bit) & 1 == 1].sum(axis=-1)
        return holding.sum(axis=tuple(a for a in range(holding.ndim) if a not in keep))


def week_start_hour(first_day: int) -> int:
    """The hour, counted from day 0 (a Monday), at which the week holding ``first_day``
    starts. Events are counted by whole hours from there, and the weeks then added up
    (:func:`by_hour_of_week`): the same counts as every hour taken modulo a week, without an
    integer division per event."""
    return first_day * 24 // HOURS_PER_WEEK * HOURS_PER_WEEK


def _hours_since_week_start(first_day: int, last_day: int) -> np.ndarray:
    """Zeroed counts of the whole hours from the window's first week's start to its end (the
    end itself included: ``t / 60`` of a time just before it may round up to it)."""
    return np.zeros(last_day * 24 - week_start_hour(first_day) + 1, np.int64)


def by_hour_of_week(hours: np.ndarray) -> np.ndarray:
    """Counts by hour since the window's first week started (:func:`week_start_hour`),
    summed by hour of the week."""
    padded = np.concatenate([hours, np.zeros(-len(hours) % HOURS_PER_WEEK, hours.dtype)])
    return padded.reshape(-1, HOURS_PER_WEEK).sum(axis=0)


def count_episodes(
    episodes, journeys, first_day: int, last_day: int, n_practices: int, calendar_days: int
) -> EpisodeCounts:
    """:class:`EpisodeCounts` of ``episodes`` (:class:`sim.core.demand.Episodes`) and their
    ``journeys`` (:class:`sim.booking.preparation.SystemJourneys`) over days ``first_day`` to
    ``last_day`` of a calendar of ``calendar_days`` days, in one pass."""
    n_days = last_day - first_day
    cells = (n_practices, len(AGE_BANDS), FRAILTY_LEVELS)
    # Lead days of requests made in the window lie between -last_day (an appointment on day 0
    # for a request on the window's last day) and the calendar's last day.
    lead_offset = -last_day
    out = {  # zeroed, in the order _count_episodes takes them
        "by_outcome": np.zeros(len(ledger.TERMINAL_STATES), np.int64),
        "access": np.zeros((*cells, 1 << len(ACCESS_FLAGS)), np.int64),
        "routine_lead_sum": np.zeros(cells, np.int64),
        "routine_lead": np.zeros(last_day + calendar_days, np.int64),
        "lead_by_urgency": np.zeros((len(URGENCIES), LEAD_DAYS_LAST + 1), np.int64),
        "arising_daily": np.zeros(n_days, np.int64),
        "arising_hours": _hours_since_week_start(first_day, last_day),
        "appointments_daily": np.zeros(n_days, np.int64),
        "request_days": np.zeros(n_days, np.int64),
        "requests_8to9_days": np.zeros(n_days, np.int64),
        "request_hours": _hours_since_week_start(first_day, last_day),
    }
    codes = np.array(
        [
            URGENT,
            ROUTINE,
            ledger.RESOLVED_ONLINE,
            ledger.PHARMACY_FIRST,
            ledger.GAVE_UP,
            ledger.DID_NOT_ATTEND,
        ],
        dtype=np.int64,
    )
    arose, same_day, dna = _count_episodes(
        episodes.time,
        episodes.practice,
        episodes.age_band,
        episodes.frailty,
        episodes.urgency,
        journeys.outcome,
        journeys.first_request_time,
        journeys.booked_time,
        journeys.appointment_day,
        journeys.hub_time,
        np.int64(first_day),
        np.int64(last_day),
        np.int64(week_start_hour(first_day)),
        np.int64(lead_offset),
        codes,
        *out.values(),
    )
    weekday = np.arange(first_day, last_day) % 7  # day 0 is a Monday
    requests = out["request_days"]
    return EpisodeCounts(
        arose=int(arose),
        by_outcome=out["by_outcome"],
        access=out["access"],
        routine_lead_sum=out["routine_lead_sum"],
        routine_lead=out["routine_lead"],
        lead_offset=lead_offset,
        lead_by_urgency=out["lead_by_urgency"],
        arising_daily=out["arising_daily"],
        arising_by_hour=by_hour_of_week(out["arising_hours"]),
        appointments_daily=out["appointments_daily"],
        same_day=int(same_day),
        did_not_attend=int(dna),
        requests=int(requests.sum()),
        requests_by_hour=by_hour_of_week(out["request_hours"]),
        monday_requests=int(requests[weekday == 0].sum()),
        weekday_requests=int(requests[weekday < 5].sum()),
        monday_8to9_requests=int(out["requests_8to9_days"][weekday == 0].sum()),
    )


def count_in_window(minutes: np.ndarray, first_day: int, last_day: int) -> int:
    """How many of the event times ``minutes`` (NaN: never happened) fall in the window's
    minutes: ``((minutes >= lo) & (minutes < hi)).sum()`` without the masks."""
    return int(
        _count_in_window(np.asarray(minutes, np.float64), first_day * 1440.0, last_day * 1440.0)
    )


def count_by_day(minutes: np.ndarray, first_day: int, last_day: int) -> np.ndarray:
    """Event times ``minutes`` counted by day of the window, ``floor(t / 1440)`` (NaN, never
    happened, in none)."""
    daily = np.zeros(last_day - first_day, np.int64)
    _count_by_day(np.asarray(minutes, np.float64), np.int64(first_day), daily)
    return daily


def count_moves(
    flow_episode: np.ndarray,
    flow_from: np.ndarray,
    flow_to: np.ndarray,
    time: np.ndarray,
    first_day: int,
    last_day: int,
    n_nodes: int,
) -> np.ndarray:
    """(from node, to node) moves in the flow log of the episodes that arose in the window
    (``time``: every episode's)."""
    moves = np.zeros((n_nodes, n_nodes), np.int64)
    _count_moves(
        flow_episode, flow_from, flow_to, time, first_day * 1440.0, last_day * 1440.0, moves
    )
    return moves


def percentile_of_counts(counts: np.ndarray, q: float, first_value: int = 0) -> float:
    """``numpy.percentile(values, q)`` (its default, linear interpolation) of whole-number
    values given by their counts: ``counts[j]`` values equal ``first_value + j``. numpy sorts
    (partly) and reads the values at the two ranks around ``q / 100 * (n - 1)``; here they
    are found from the running counts, and interpolated by numpy's own arithmetic (as
    ``numpy.lib._function_base_impl._lerp`` does it), so the result is the same float.
    ``tests/test_window_counts.py`` holds it to numpy."""
    n = int(counts.sum())
    if n == 0:
        return float("nan")
    position = (n - 1) * (np.float64(q) / 100)  # numpy's virtual index, as numpy finds it
    below = np.floor(position)
    lower = int(below) if position < n - 1 else n - 1
    upper = min(lower + 1, n - 1)
    ranks = np.cumsum(counts)  # values of rank r are those whose running count exceeds r
    a = float(np.searchsorted(ranks, lower, side="right") + first_value)
    b = float(np.searchsorted(ranks, upper, side="right") + first_value)
    t = float(position - below)
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


# The compiled passes. Each test is written as the numpy expression it replaced evaluated it,
# so the counts are the same: the window by minutes (lo <= t < hi, lo and hi whole days of
# minutes; NaN in none), days as floor(t / 1440), hours as the truncation of t / 60 (the
# window's minutes are not negative, so truncation is the floor). Indices into the counts
# (practice, age band, frailty, urgency, outcome) are the model's own codes, and the counts
# are sized by the same vocabularies. The constants are the calendar's:
if (MINUTES_PER_DAY, MINUTES_PER_HOUR, HOURS_PER_WEEK) != (1440, 60, 168):
    raise AssertionError("the compiled counts assume 1440 minutes a day and 168 hours a week")


@compiled
def _count_in_window(minutes, lo, hi):
    n = 0
    for t in minutes:
        if lo <= t < hi:
            n += 1
    return n


@compiled
def _count_by_day(minutes, first_day, daily):
    lo, hi = first_day * 1440.0, (first_day + len(daily)) * 1440.0
    for t in minutes:
        # a time a day or more outside the window is in none of its days: no division
        if lo - 1440.0 <= t < hi + 1440.0:
            day = np.floor(t / 1440.0)
            if first_day <= day < first_day + len(daily):
                daily[np.int64(day) - first_day] += 1


@compiled
def _count_moves(flow_episode, flow_from, flow_to, time, lo, hi, moves):
    for j in range(len(flow_episode)):
        if lo <= time[flow_episode[j]] < hi:
            moves[flow_from[j], flow_to[j]] += 1


@compiled
def _whole_days_and_minute(t, rounded_days):
    """``numpy.divmod(t, 1440)`` for ``0 <= t < 2**52``, given ``floor(t / 1440)``, without
    ``fmod`` (a library call, the slowest step of the pass). numpy takes ``fmod(t, 1440)``,
    which is exact, and divides ``t`` less that by 1440: exactly the whole days ``k`` in
    ``t``. The rounded division is ``k`` or one off; its remainder ``t - 1440 * days`` is
    exact (a multiple of the spacing of floats at ``t``, 1440 * days being a whole number, and
    smaller than ``t``: representable), and says which. ``tests/test_window_counts.py`` holds
    it to numpy."""
    days = rounded_days
    minute = t - days * 1440.0
    if minute < 0.0:
        days -= 1.0
        minute += 1440.0
    elif minute >= 1440.0:
        days += 1.0
        minute -= 1440.0
    return np.int64(days), minute


@compiled
def _count_episodes(
    time,
    practice,
    age_band,
    frailty,
    urgency,
    outcome,
    first_request_time,
    booked_time,
    appointment_day,
    hub_time,
    first_day,
    last_day,
    week_start_hour,
    lead_offset,
    codes,
    by_outcome,
    access,
    routine_lead_sum,
    routine_lead,
    lead_by_urgency,
    arising_daily,
    arising_hours,
    appointments_daily,
    request_days,
    requests_8to9_days,
    request_hours,
):
    urgent_code, routine_code, online_code, pharmacy_first_code, gave_up_code, dna_code = codes
    lo, hi = first_day * 1440.0, last_day * 1440.0
    longest = lead_by_urgency.shape[1] - 1
    arose = same_day = dna = 0
    for i in range(len(time)):
        # practice appointments, by their own day
        day_booked = appointment_day[i]
        if first_day <= day_booked < last_day:
            appointments_daily[day_booked - first_day] += 1
            if day_booked == np.floor(booked_time[i] / 1440.0):
                same_day += 1
            if outcome[i] == dna_code:
                dna += 1
        # first requests to practices, by their own time (weekdays counted by day)
        request = first_request_time[i]
        request_day = np.floor(request / 1440.0)
        if lo <= request < hi:
            request_hours[np.int64(request / 60.0) - week_start_hour] += 1
            whole_days, minute = _whole_days_and_minute(request, request_day)
            request_days[whole_days - first_day] += 1
            if 480.0 <= minute < 540.0:
                requests_8to9_days[whole_days - first_day] += 1
        # the rest counts the episodes that arose in the window
        t = time[i]
        if not lo <= t < hi:
            continue
        arose += 1
        state = outcome[i]
        by_outcome[state] += 1
        day = np.floor(t / 1440.0)
        if first_day <= day < last_day:
            arising_daily[np.int64(day) - first_day] += 1
        arising_hours[np.int64(t / 60.0) - week_start_hour] += 1
        # Requests made after the run ended (needs arising on its last weekend) are not
        # counted; needs resolved without an appointment (online, Pharmacy First) needed no
        # slot. A same-day appointment given, at the practice or its hub, meets an urgent
        # need even if the patient then missed it (an access measure).
        requested = request < hi
        resolved = state == online_code or state == pharmacy_first_code
        urgent = requested and urgency[i] == urgent_code and not resolved
        met = urgent and (
            day_booked == request_day or np.floor(hub_time[i] / 1440.0) == request_day
        )
        booked = requested and day_booked >= 0
        routine = booked and urgency[i] == routine_code
        level = 0 if frailty[i] < 0 else frailty[i] + 1
        flags = int(urgent) + 2 * int(met) + 4 * int(routine) + 8 * int(state == gave_up_code)
        access[practice[i], age_band[i], level, flags] += 1
        if booked:
            lead = np.int64(day_booked - request_day)
            lead_by_urgency[urgency[i], min(max(lead, 0), longest)] += 1
            if routine:
                routine_lead_sum[practice[i], age_band[i], level] += lead
                at = lead - lead_offset
                if at < 0 or at >= len(routine_lead):
                    raise ValueError("a routine lead time outside the calendar")
                routine_lead[at] += 1
    return arose, same_day, dna
