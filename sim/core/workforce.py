"""Practice staff over a programme: posts funded, staff in post, and locums covering the gap.

For each practice and staff type (GP, nurse, pharmacist) the model follows three numbers week
by week, in whole-time equivalents (FTE):

* **establishment**: the posts funded (the site's FTE, with any option's change at its
  current effect, see :mod:`sim.config.phasing`);
* **in post**: staff employed. Each week a share ``attrition_per_year / 52`` leaves at the
  end of the week; each leaver's post (vacant from the next week), and each new post (vacant
  from the week it is funded), is filled ``recruitment_lag_weeks`` after it falls vacant with
  probability ``recruitment_share`` (as an expected value: the flows are deterministic, the
  same in every replication). Staff in post never exceed the establishment (posts cut are
  lost at once);
* **locum cover**: a share ``locum_cover_share`` of the vacant FTE (establishment less staff
  in post) is worked by locums, who add capacity and are paid by the day.

Before the programme starts (the warm-up, and history before it) the workforce is in a steady
state: staff in post equal the establishment, and leavers of the last ``recruitment_lag_weeks``
are being replaced. With ``recruitment_share`` 1 and no change in establishment nothing moves,
so a programme without workforce change reproduces a static year exactly.

Appointment capacity follows staff in post plus locum cover (see
:func:`sim.services.practice.build_practice_books`); pay follows staff in post, locum cost the
cover (:mod:`sim.core.money`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config.schema import STAFF_TYPES, ModelConfig, StaffPay
from sim.core.calendar import DAYS_PER_YEAR, Calendar
from sim.core.programme import WeeklyConfigs, weekly_configs


def practice_fte(cfg: ModelConfig) -> np.ndarray:
    """(practice, staff type) whole-time equivalents: the practice's own figure where the site
    gives one, otherwise FTE per 1,000 patients times its list."""
    cap = cfg.site.practice_capacity
    rows = []
    for practice in cfg.site.practices.values():
        row = []
        for staff in STAFF_TYPES:
            override = getattr(practice, f"{staff}_fte")
            per_1000 = getattr(cap, staff).fte_per_1000
            row.append(override if override is not None else per_1000 * practice.list_size / 1000)
        rows.append(row)
    return np.asarray(rows, dtype=float).reshape(len(rows), len(STAFF_TYPES))


def cost_per_fte(pay: StaffPay) -> float:
    """£ a year for one whole-time equivalent: salary plus employer on-costs."""
    return pay.salary_gbp * (1.0 + pay.on_costs_share)


@dataclass
class Workforce:
    """Weekly FTE per practice and staff type over the simulated weeks (arrays ``(week,
    practice, staff type)``; the last week's values hold for any later day)."""

    establishment: np.ndarray
    in_post: np.ndarray
    locum: np.ndarray

    def _week(self, day: int | np.ndarray) -> np.ndarray:
        return np.minimum(np.asarray(day) // 7, len(self.in_post) - 1)

    def capacity_fte(self, day: int) -> np.ndarray:
        """(practice, staff type) FTE working on ``day``: staff in post plus locum cover."""
        w = int(self._week(day))
        return self.in_post[w] + self.locum[w]

    def in_post_days(self, first_day: int, last_day: int) -> np.ndarray:
        """(staff type,) FTE-days of staff in post on days ``first_day .. last_day - 1``."""
        return self._fte_days(self.in_post, first_day, last_day)

    def locum_days(self, first_day: int, last_day: int) -> np.ndarray:
        """(staff type,) FTE-days covered by locums on days ``first_day .. last_day - 1``."""
        return self._fte_days(self.locum, first_day, last_day)

    def _fte_days(self, fte: np.ndarray, first_day: int, last_day: int) -> np.ndarray:
        if last_day <= first_day:
            return np.zeros(fte.shape[2])
        weeks = self._week(np.arange(first_day, last_day))
        return fte[weeks].sum(axis=(0, 1))


def simulate_workforce(
    cfg: ModelConfig, establishment: np.ndarray, programme_start_week: int
) -> Workforce:
    """Staff in post and locum cover from the weekly ``establishment`` (week, practice, staff).

    Weeks before ``programme_start_week`` (the warm-up) hold the steady state of the
    programme's first week.
    """
    est = np.asarray(establishment, dtype=float)
    n_weeks = est.shape[0]
    start = min(max(programme_start_week, 0), n_weeks - 1)
    in_post = np.empty_like(est)
    params = [getattr(cfg.assumptions.workforce, s) for s in STAFF_TYPES]
    weekly_leaving = np.array([p.attrition_per_year / 52 for p in params])
    refill = np.array([p.recruitment_share for p in params])
    lag = np.array([p.recruitment_lag_weeks for p in params], dtype=int)
    cover = np.array([p.locum_cover_share for p in params])

    in_post[: start + 1] = est[start]
    # FTE falling vacant at the start of each week: last week's leavers and posts newly
    # funded. Each is filled (share ``refill``) ``lag`` weeks later.
    vacated = np.zeros_like(est)
    steady = est[start] * weekly_leaving  # the pipeline before the programme began
    for v in range(start + 1, n_weeks):
        leavers = in_post[v - 1] * weekly_leaving
        vacated[v] = leavers + np.maximum(est[v] - est[v - 1], 0.0)
        joiners = np.empty_like(leavers)
        for s in range(len(STAFF_TYPES)):
            back = v - lag[s]
            joiners[:, s] = refill[s] * (vacated[back, :, s] if back > start else steady[:, s])
        in_post[v] = np.minimum(in_post[v - 1] - leavers + joiners, est[v])
    if np.array_equal(refill, np.ones_like(refill)) and not np.any(np.diff(est, axis=0)):
        # Nothing changes: avoid float drift from the flows cancelling out.
        in_post[:] = est
    locum = np.maximum(est - in_post, 0.0) * cover
    return Workforce(establishment=est, in_post=in_post, locum=locum)


def make_workforce(
    cfg: ModelConfig, calendar: Calendar, weekly: WeeklyConfigs | None = None
) -> Workforce:
    """Staff in post and locum cover, week by week, over every day the books cover: posts
    funded each week follow the configuration then in force (options phase in)."""
    weekly = weekly if weekly is not None else weekly_configs(cfg, calendar)
    fte = {id(c): practice_fte(c) for c in weekly.distinct()}
    establishment = np.stack([fte[id(c)] for c in weekly.by_week])
    return simulate_workforce(cfg, establishment, calendar.programme_start_day // 7)


def practice_staff_costs(k: Any) -> tuple[float, float]:
    """(pay of practice staff in post, locums covering vacant posts): £ over the window, per
    whole-time equivalent (:mod:`sim.core.workforce`) whatever the slots offered."""
    cfg = k.cfg
    money, cap = cfg.assumptions.money, cfg.site.practice_capacity
    staff_days = k.workforce.in_post_days(k.first_day, k.last_day)  # (staff type,) FTE-days
    locum_days = k.workforce.locum_days(k.first_day, k.last_day)
    pay = [cost_per_fte(money.staff_pay[s]) / DAYS_PER_YEAR for s in STAFF_TYPES]
    # A locum day is two sessions; an FTE-day of cover is the sessions an FTE works in a day.
    locum_per_fte_day = [
        money.locum_day_gbp[s]
        * getattr(cap, s).sessions_per_fte_week
        / 2
        * getattr(cap, s).weeks_available_per_year
        / DAYS_PER_YEAR
        for s in STAFF_TYPES
    ]
    return (
        float(sum(d * p for d, p in zip(staff_days, pay, strict=True))),
        float(sum(d * p for d, p in zip(locum_days, locum_per_fte_day, strict=True))),
    )
