"""Clinical sessions day by day (sim/core/sessions.py): whole clinicians, closures spread over
the open sessions, seasonal sickness; expectations worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.calendar import Calendar
from sim.core.sessions import daily_clinicians, open_sessions, sickness_factor

WEEKDAYS = [0, 1, 2, 3, 4]
FLAT = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def _calendar(weeks: int, closed=(), early=None) -> Calendar:
    n = 7 * weeks
    shut = np.zeros(n, dtype=bool)
    shut[list(closed)] = True
    return Calendar("2025-04-07", n, tuple(WEEKDAYS), closed=shut, closes_early=early)


def test_whole_clinicians_keep_the_running_total_nearest_the_expected():
    cal = _calendar(20)
    out = daily_clinicians(
        np.full(cal.n_days, 15.9), FLAT, WEEKDAYS, open_sessions(cal, [510, 900]), cal
    )
    weekly = out.reshape(20, 7, 2).sum(axis=(1, 2))
    # 15.9 a week: the running total rounds to 16, 32, 48, 64, 79 or 80, ..., 159 after 10
    # weeks: nine weeks of 16 and one of 15 in every ten
    assert sorted(weekly[:10]) == [15] + [16] * 9 and sorted(weekly[10:]) == [15] + [16] * 9
    assert weekly.sum() == 318  # 15.9 x 20
    assert out[:, :][np.arange(cal.n_days) % 7 >= 5].sum() == 0


def test_a_bank_holiday_spreads_its_sessions_over_the_open_days():
    closed = {7}  # the Monday of week 2
    cal = _calendar(4, closed)
    out = daily_clinicians(
        np.full(cal.n_days, 100.0), FLAT, WEEKDAYS, open_sessions(cal, [510]), cal
    )
    assert out[7].sum() == 0
    # the year's (here: the run's) 400 sessions are all worked, over 19 open days not 20
    assert out.sum() == 400
    per_open_day = out[[d for d in range(28) if d % 7 < 5 and d not in closed]].sum(axis=1)
    assert per_open_day.min() >= 20 and per_open_day.max() <= 22  # 400 / 19 = 21.05


def test_a_learning_afternoon_closes_sessions_from_its_hour():
    early = np.full(28, -1)
    early[3] = 720  # Thursday of week 1, from 12:00
    cal = _calendar(4, early=early)
    open_ = open_sessions(cal, [510, 900])
    assert open_[3].tolist() == [True, False] and open_[2].tolist() == [True, True]
    out = daily_clinicians(np.full(cal.n_days, 40.0), FLAT, WEEKDAYS, open_, cal)
    assert out[3, 1] == 0 and out.sum() == 160


def test_sickness_takes_sessions_from_its_months_and_keeps_the_year():
    s = [0.06] + [0.04] * 11
    cal = _calendar(52)
    factor = sickness_factor(cal, s)
    mean = np.mean(s)
    january = cal.month == 0
    assert factor[january][0] == pytest.approx((1 - 0.06) / (1 - mean))
    assert factor[~january][0] == pytest.approx((1 - 0.04) / (1 - mean))
    # broken on purpose: without the rescaling the year would lose sessions
    assert factor.mean() == pytest.approx(1.0, abs=0.002)
    assert ((1 - np.asarray(s))[cal.month]).mean() < 0.96
