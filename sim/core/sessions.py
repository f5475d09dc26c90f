"""Clinical sessions day by day: how many clinicians work each session of each practice day.

A staff group's year of sessions (whole-time equivalents x sessions per FTE-week x weeks
available in a year, which already allows for leave, training, sickness and bank holidays) is
spread over the sessions practices are open:

* **weekday weights** give Mondays more clinicians than Fridays;
* **closures** (bank holidays all day, protected learning time from an hour of the afternoon)
  take their sessions out, and the year's sessions are spread over the open ones (a closed
  session's time is already inside the weeks available, so it is not lost twice);
* **seasonal sickness** moves sessions from winter to summer: a month with sickness absence
  *s* has (1 - *s*) / (1 - mean *s*) of the usual sessions, the year's total unchanged;
* **staff in post and locum cover** change week by week over a programme
  (:mod:`sim.core.workforce`).

Clinicians are whole people: each week gets the whole number of clinician-sessions that keeps
the running total nearest the expected one (so a practice expecting 15.9 a week works 16
most weeks and 15 every tenth), spread over the week's open sessions by largest remainder.
"""

from __future__ import annotations

import numpy as np

from sim.booking.layout import largest_remainder_rows
from sim.core.calendar import Calendar


def open_sessions(calendar: Calendar, session_starts: list[int]) -> np.ndarray:
    """(day, session) True where practices run the session: working days (core-hours weekdays
    that are not bank holidays), and on a protected learning day only sessions starting before
    practices close."""
    starts = np.asarray(session_starts, dtype=np.int64)
    early = calendar.closes_early
    before_close = (early[:, None] < 0) | (starts[None, :] < early[:, None])
    return calendar.is_working[:, None] & before_close


def sickness_factor(calendar: Calendar, absence_by_month: list[float]) -> np.ndarray:
    """(day,) share of a usual day's sessions worked, by the month's sickness absence."""
    s = np.asarray(absence_by_month, dtype=float)
    return ((1.0 - s) / (1.0 - s.mean()))[calendar.month]


def daily_clinicians(
    expected_per_week: np.ndarray,
    weekday_weight: list[float],
    working_weekdays: list[int],
    open_: np.ndarray,
    calendar: Calendar,
) -> np.ndarray:
    """(day, session) clinicians working each session.

    Parameters
    ----------
    expected_per_week
        (day,) clinician-sessions an ordinary week would have at that day's staffing and
        sickness.
    weekday_weight
        Relative weight of a session on each weekday (Mon..Sun).
    working_weekdays
        Weekdays in core hours.
    open_
        (day, session) sessions practices run (:func:`open_sessions`).
    calendar
        The run's calendar (weekday and programme year of each day).
    """
    n_days, n_sessions = open_.shape
    weight = np.zeros(7)
    for wd in working_weekdays:
        weight[wd] = weekday_weight[wd]
    # share of an ordinary week's sessions in each session of each weekday
    share = weight / (n_sessions * weight.sum()) if weight.sum() > 0 else weight
    usual = share[calendar.weekday[:n_days]]  # (day,)
    # Each programme year's sessions are spread over the sessions open that year.
    year = calendar.programme_year[:n_days]
    spread = np.ones(n_days)
    for y in np.unique(year):
        here = year == y
        scheduled = usual[here].sum() * n_sessions
        running = (usual[here, None] * open_[here]).sum()
        if running > 0:
            spread[here] = scheduled / running
    expected = (np.asarray(expected_per_week, dtype=float) * usual * spread)[:, None] * open_
    # Whole weeks (and a last part-week), each a row of its sessions in day order.
    whole = n_days // 7 * 7
    parts = [expected[:whole].reshape(-1, 7 * n_sessions)]
    if whole < n_days:
        parts.append(expected[whole:].reshape(1, -1))
    # A week gets the clinician-sessions that keep the running total nearest the expected one.
    done = np.cumsum(np.concatenate([part.sum(axis=1) for part in parts]))
    given = np.floor(done + 0.5).astype(np.int64)
    totals = np.diff(given, prepend=0)
    counts = []
    for part in parts:
        counts.append(largest_remainder_rows(totals[: len(part)], part).ravel())
        totals = totals[len(part) :]
    return np.concatenate(counts).reshape(n_days, n_sessions)
