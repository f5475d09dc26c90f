"""Simulation time: minutes from Monday 00:00 of week 0, mapped to real dates.

Warm-up and run length are whole weeks so the weekly cycle of demand and capacity aligns with
the measurement window.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
HOURS_PER_WEEK = 168
DAYS_PER_YEAR = 365.25
WEEKS_PER_YEAR = DAYS_PER_YEAR / 7


class Calendar:
    """Maps simulation days to weekdays and calendar months.

    Parameters
    ----------
    start_date
        ISO date of the Monday at minute 0.
    run_days
        Days simulated (warm-up plus run).
    working_weekdays
        Weekday numbers (Mon = 0) on which practices open.
    lookahead_days
        Extra days after the run that appointment books cover, so a request near the end can
        still book ahead (such episodes end as "waiting at end").
    """

    def __init__(
        self,
        start_date: str,
        run_days: int,
        working_weekdays: tuple[int, ...],
        lookahead_days: int = 0,
    ):
        self.start = dt.date.fromisoformat(start_date)
        self.run_days = run_days
        n_days = run_days + lookahead_days
        self.n_days = n_days
        days = np.arange(n_days)
        self.weekday = days % 7
        self.month = np.array(
            [(self.start + dt.timedelta(days=int(d))).month - 1 for d in days], dtype=np.int8
        )
        self.is_working = np.isin(self.weekday, np.array(working_weekdays))
        # next_working[d]: the first working day >= d (n_days if none left in the run)
        nxt = np.full(n_days + 1, n_days, dtype=np.int64)
        for d in range(n_days - 1, -1, -1):
            nxt[d] = d if self.is_working[d] else nxt[d + 1]
        self.next_working = nxt
        # working_day_index[d]: count of working days before d, to measure "working days"
        self.working_days_before = np.concatenate(([0], np.cumsum(self.is_working)))

    def add_working_days(self, day: int, n: int) -> int:
        """The day ``n`` working days after ``day``: a working ``day`` counts as 0; from a day
        practices are shut, the next working day counts as 1 (Saturday + 2 = Tuesday)."""
        # From a day practices are shut, the next working day is the first of the n.
        target = self.working_days_before[day] + n - (0 if self.is_working[day] else 1)
        # the working day w with working_days_before[w] == target is the one just before the
        # first index whose count reaches target + 1
        idx = int(np.searchsorted(self.working_days_before, target + 1, side="left")) - 1
        return min(idx, self.n_days - 1) if idx >= 0 else 0
