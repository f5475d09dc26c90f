"""Simulation time: minutes from Monday 00:00 of week 0, mapped to real dates, and the days
practices are open as practices live them.

Warm-up and run length are whole weeks so the weekly cycle of demand and capacity aligns with
the measurement window. A **working day** is a core-hours weekday that is not a bank holiday
(English bank holidays, from the ``holidays`` library, for any year: GMS core hours exclude
them). On a protected learning time day practices close to patients from an hour of the
afternoon (the North Durham plan: the third Thursday of every month).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.config.schema import WEEKDAYS, ModelConfig

MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
HOURS_PER_WEEK = 168
DAYS_PER_YEAR = 365.25
WEEKS_PER_YEAR = DAYS_PER_YEAR / 7
#: A programme year is 52 whole weeks, so each year holds the same weekdays.
WEEKS_PER_PROGRAMME_YEAR = 52
DAYS_PER_PROGRAMME_YEAR = 7 * WEEKS_PER_PROGRAMME_YEAR
#: Template index of a bank holiday for services built from weekly templates (after Mon..Sun).
CLOSED = 7


def bank_holidays(start: dt.date, n_days: int, subdivision: str) -> np.ndarray:
    """(day,) True on weekday bank holidays of ``subdivision`` (``ENG``, ``WLS``, ``SCT``,
    ``NIR``; ``none`` for none) from ``start``. The library lists a holiday falling at a
    weekend and its substitute weekday; only weekdays close practices, so the weekend date
    adds nothing."""
    closed = np.zeros(n_days, dtype=bool)
    if subdivision == "none" or n_days == 0:
        return closed
    import holidays

    end = start + dt.timedelta(days=n_days - 1)
    table = holidays.country_holidays(
        "GB", subdiv=subdivision, years=range(start.year, end.year + 1)
    )
    for day in table:
        offset = (day - start).days
        if 0 <= offset < n_days and day.weekday() < 5:
            closed[offset] = True
    return closed


def nth_weekday_of_month(
    start: dt.date, n_days: int, weekday: int, nth: int, months: tuple[int, ...]
) -> np.ndarray:
    """(day,) True on the ``nth`` ``weekday`` (Mon = 0) of each month in ``months`` (1-12)."""
    out = np.zeros(n_days, dtype=bool)
    for offset in range(n_days):
        day = start + dt.timedelta(days=offset)
        if day.weekday() == weekday and day.month in months and (day.day - 1) // 7 == nth - 1:
            out[offset] = True
    return out


def practice_closures(cfg: ModelConfig, n_days: int) -> dict[str, np.ndarray]:
    """The site's closures over ``n_days`` from its start date, as :class:`Calendar` takes
    them: bank holidays (``closed``) and protected learning afternoons (``closes_early``)."""
    start = dt.date.fromisoformat(cfg.site.calendar_start)
    closes_early = np.full(n_days, -1, dtype=np.int64)
    plt = cfg.site.protected_learning_time
    if plt is not None:
        days = nth_weekday_of_month(
            start, n_days, WEEKDAYS.index(plt.weekday), plt.week_of_month, tuple(plt.months)
        )
        closes_early[days] = plt.closes_minute
    return {
        "closed": bank_holidays(start, n_days, cfg.site.bank_holidays),
        "closes_early": closes_early,
    }


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
    programme_start_day
        First day of programme year 1 (the end of the warm-up): years are 52-week blocks from
        there, and the warm-up belongs to year 1.
    closed
        (day,) True on days practices are shut although a working weekday (bank holidays),
        over ``run_days + lookahead_days``; none when not given.
    closes_early
        (day,) minute after midnight from which practices are shut to patients that day
        (protected learning time), or -1 for their usual closing; none when not given.
    """

    def __init__(
        self,
        start_date: str,
        run_days: int,
        working_weekdays: tuple[int, ...],
        lookahead_days: int = 0,
        programme_start_day: int = 0,
        closed: np.ndarray | None = None,
        closes_early: np.ndarray | None = None,
    ):
        self.start = dt.date.fromisoformat(start_date)
        self.run_days = run_days
        n_days = run_days + lookahead_days
        self.n_days = n_days
        days = np.arange(n_days)
        self.programme_start_day = programme_start_day
        #: programme year (1, 2, ...) of every day; the warm-up counts as year 1
        self.programme_year = (
            np.maximum(days - programme_start_day, 0) // DAYS_PER_PROGRAMME_YEAR + 1
        ).astype(np.int64)
        self.weekday = days % 7
        self.month = np.array(
            [(self.start + dt.timedelta(days=int(d))).month - 1 for d in days], dtype=np.int8
        )
        #: bank holidays on working weekdays (practices shut all day)
        self.is_bank_holiday = (
            np.zeros(n_days, dtype=bool) if closed is None else np.asarray(closed, dtype=bool)
        )
        self.is_working = np.isin(self.weekday, np.array(working_weekdays)) & ~self.is_bank_holiday
        #: minute practices shut to patients early that day (protected learning time), -1 if not
        self.closes_early = (
            np.full(n_days, -1, dtype=np.int64)
            if closes_early is None
            else np.asarray(closes_early, dtype=np.int64)
        )
        # next_working[d]: the first working day >= d (n_days if none left in the run)
        nxt = np.full(n_days + 1, n_days, dtype=np.int64)
        for d in range(n_days - 1, -1, -1):
            nxt[d] = d if self.is_working[d] else nxt[d + 1]
        self.next_working = nxt
        # working_day_index[d]: count of working days before d, to measure "working days"
        self.working_days_before = np.concatenate(([0], np.cumsum(self.is_working)))

    def weekday_or_closed(self) -> list[int]:
        """For weekly templates of a service shut on bank holidays: each day's weekday, or
        :data:`CLOSED` on a bank holiday (a template list gets an empty eighth entry)."""
        return np.where(self.is_bank_holiday, CLOSED, self.weekday).tolist()

    def add_working_days(self, day: int, n: int) -> int:
        """The day ``n`` working days after ``day``: a working ``day`` counts as 0; from a day
        practices are shut, the next working day counts as 1 (Saturday + 2 = Tuesday)."""
        # From a day practices are shut, the next working day is the first of the n.
        target = self.working_days_before[day] + n - (0 if self.is_working[day] else 1)
        # the working day w with working_days_before[w] == target is the one just before the
        # first index whose count reaches target + 1
        idx = int(np.searchsorted(self.working_days_before, target + 1, side="left")) - 1
        return min(idx, self.n_days - 1) if idx >= 0 else 0
