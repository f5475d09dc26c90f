"""The calendar as practices live it: English bank holidays for any year, protected learning
time, and what they do to demand and to the books. Expected dates are written out by hand from
the published bank holidays (gov.uk), not taken from the library the model uses."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from system_helpers import replicate, run_config

from sim.core.calendar import MINUTES_PER_DAY, bank_holidays, nth_weekday_of_month
from sim.core.demand import hourly_rate_multiplier
from sim.core.replication import make_calendar

START = dt.date(2025, 4, 7)

#: England and Wales bank holidays on weekdays, April 2025 to December 2028 (gov.uk), including
#: substitute days: Boxing Day 2026 falls on a Saturday (Monday 28 December), Christmas and
#: Boxing Day 2027 on a weekend (27 and 28 December), New Year's Day 2028 on a Saturday (3 Jan).
ENGLAND = [
    "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25",
    "2025-12-26", "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25",
    "2026-08-31", "2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26", "2027-03-29",
    "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28", "2028-01-03",
    "2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28", "2028-12-25",
    "2028-12-26",
]  # fmt: skip


def test_english_bank_holidays_for_any_year():
    n = (dt.date(2029, 1, 1) - START).days
    got = [
        START + dt.timedelta(days=int(d)) for d in np.flatnonzero(bank_holidays(START, n, "ENG"))
    ]
    assert [d.isoformat() for d in got] == ENGLAND
    assert not bank_holidays(START, n, "none").any()
    # Scotland keeps 2 January, not Easter Monday: a different calendar
    scotland = bank_holidays(START, n, "SCT")
    assert scotland[(dt.date(2026, 1, 2) - START).days]
    assert not scotland[(dt.date(2025, 4, 21) - START).days]


def test_protected_learning_time_is_the_third_thursday_of_each_month():
    days = np.flatnonzero(
        nth_weekday_of_month(START, 400, weekday=3, nth=3, months=tuple(range(1, 13)))
    )
    dates = [START + dt.timedelta(days=int(d)) for d in days]
    assert [d.isoformat() for d in dates[:4]] == [
        "2025-04-17",
        "2025-05-15",
        "2025-06-19",
        "2025-07-17",
    ]
    assert all(d.weekday() == 3 and 15 <= d.day <= 21 for d in dates)
    assert len(dates) == 13  # 400 days from 7 April 2025
    cal = make_calendar(run_config().model, 0, 52)
    assert cal.closes_early[(dt.date(2025, 5, 15) - START).days] == 720
    assert cal.closes_early[(dt.date(2025, 5, 14) - START).days] == -1


def test_a_bank_holiday_is_a_sunday_for_needs():
    cfg = run_config().model
    cal = make_calendar(cfg, 0, 8)
    rate = hourly_rate_multiplier(cfg, cal).reshape(-1, 24).sum(axis=1)
    good_friday = (dt.date(2025, 4, 18) - START).days
    sunday = good_friday + 2  # same month, so the same month multiplier
    assert rate[good_friday] == pytest.approx(rate[sunday], rel=1e-12)
    assert rate[good_friday - 7] > 3 * rate[sunday]  # an ordinary Friday
    # ... and without bank holidays it is an ordinary Friday again
    plain = run_config(("site.bank_holidays=none",)).model
    rate = hourly_rate_multiplier(plain, make_calendar(plain, 0, 8)).reshape(-1, 24).sum(axis=1)
    assert rate[good_friday] == pytest.approx(rate[good_friday - 7], rel=1e-12)


def test_no_one_is_booked_on_a_bank_holiday_and_needs_arising_then_wait():
    """Easter and both May bank holidays of 2025 fall in these 8 weeks."""
    res = replicate(warmup_weeks=1, run_weeks=7)
    k = res.detail["inputs"]
    cal = k.calendar
    shut = {int(d) for d in np.flatnonzero(cal.is_bank_holiday[: cal.run_days])}
    assert shut == {11, 14, 28, 49}
    sj, ep = k.journeys, k.episodes
    assert not np.isin(sj.appointment_day, list(shut)).any()
    for times in (sj.hub_time, sj.rac_time):
        day = np.floor(times[~np.isnan(times)] / MINUTES_PER_DAY)
        assert not np.isin(day, list(shut)).any()
    for practice in k.practices.books:
        for book in practice:
            assert all(book.slots_on(d) == 0 for d in shut)
    asked = ~np.isnan(sj.first_request_time)
    request_day = np.floor(sj.first_request_time[asked] / MINUTES_PER_DAY)
    assert not np.isin(request_day, list(shut)).any()
    arose_shut = np.isin(np.floor(ep.time / MINUTES_PER_DAY), list(shut)) & asked
    assert arose_shut.sum() > 100
    assert (sj.first_request_time[arose_shut] > ep.time[arose_shut]).all()
