"""The compiled counts of the results stage (sim/core/window_counts.py) against numpy.

Every count is recomputed here the way the KPIs, series and equity breakdowns once computed
it, with boolean masks over the episodes, and must agree exactly; the two pieces of float
arithmetic done differently from numpy (a request's weekday and minute without ``fmod``, a
percentile from counts) must give the same floats as numpy, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.config.schema import AGE_BANDS, FRAILTY_BANDS, URGENCIES
from sim.core import ledger
from sim.core.calendar import HOURS_PER_WEEK, MINUTES_PER_DAY
from sim.core.demand import ROUTINE, URGENT
from sim.core.flows import FLOW_NODES
from sim.core.window_counts import (
    ACCESS_FLAGS,
    LEAD_DAYS_LAST,
    _whole_days_and_minute,
    count_by_day,
    count_episodes,
    count_in_window,
    count_moves,
    percentile_of_counts,
)


def test_weekday_and_minute_are_numpys_divmod():
    rng = np.random.default_rng(7)
    days = rng.integers(0, 500, 3000).astype(float)
    times = np.concatenate(
        [
            rng.uniform(0, 720_000, 3000),
            days * 1440,  # midnights, and the floats either side of them
            np.nextafter(days * 1440, -np.inf),
            np.nextafter(days * 1440, np.inf),
            rng.integers(0, 720_000, 3000).astype(float),  # whole minutes
            [0.0, 1439.999999999, 480.0, 540.0, np.nextafter(540.0, 0.0)],
        ]
    )
    whole, minute = np.divmod(times, MINUTES_PER_DAY)
    for t, d, m in zip(times, whole, minute, strict=True):
        got_day, got_minute = _whole_days_and_minute(t, np.floor(t / 1440.0))
        assert got_day == int(d), t
        assert got_minute == m, t  # the same float, not merely close


@pytest.mark.parametrize("q", [0, 10, 33.3, 50, 90, 99.9, 100])
def test_percentile_of_counts_is_numpys(q):
    rng = np.random.default_rng(11)
    sizes = [*range(1, 60), 1000, 12345]
    for n in sizes:
        first = int(rng.integers(-5, 5))
        values = rng.integers(0, int(rng.integers(1, 40)), n)
        counts = np.bincount(values)
        expected = np.percentile((values + first).astype(float), q)
        assert percentile_of_counts(counts, q, first) == expected, (n, q)
    assert np.isnan(percentile_of_counts(np.zeros(5, np.int64), q))


@pytest.fixture(scope="module")
def replication():
    """The KPI inputs of a short replication of the default site."""
    from sim.config.compose import compose_validated
    from sim.core.replication import run_replication

    _, run_cfg, _ = compose_validated([])
    result = run_replication(run_cfg.model, run_cfg.seed, 0, 2, 6, keep_detail=True)
    return result.detail["inputs"]


def _windows(k):
    """The replication's own window, and a shorter one ending two weeks before the run does
    (so episodes and requests fall after it)."""
    return [(k.first_day, k.last_day), (k.first_day + 7, k.last_day - 14)]


def test_episode_counts_are_those_of_numpys_masks(replication):
    k = replication
    ep, sj = k.episodes, k.journeys
    for first_day, last_day in _windows(k):
        lo, hi = first_day * MINUTES_PER_DAY, last_day * MINUTES_PER_DAY
        n_days = last_day - first_day
        c = count_episodes(
            ep, sj, first_day, last_day, len(k.cfg.site.practices), k.calendar.n_days
        )

        def in_window(t, lo=lo, hi=hi):
            return (t >= lo) & (t < hi)

        arose = in_window(ep.time)
        assert c.arose == arose.sum() > 1000
        assert np.array_equal(
            c.by_outcome, np.bincount(sj.outcome[arose], minlength=len(ledger.TERMINAL_STATES))
        )
        # access, as the KPIs' masks defined it
        requested = arose & (sj.first_request_time < hi)
        request_day = np.floor(sj.first_request_time / MINUTES_PER_DAY)
        resolved = np.isin(sj.outcome, [ledger.RESOLVED_ONLINE, ledger.PHARMACY_FIRST])
        urgent = requested & (ep.urgency == URGENT) & ~resolved
        hub_day = np.floor(sj.hub_time / MINUTES_PER_DAY)
        met = urgent & ((sj.appointment_day == request_day) | (hub_day == request_day))
        booked = requested & (sj.appointment_day >= 0)
        routine = booked & (ep.urgency == ROUTINE)
        gave_up = arose & (sj.outcome == ledger.GAVE_UP)
        masks = {"urgent": urgent, "urgent_met": met, "routine": routine, "gave_up": gave_up}
        assert tuple(masks) == ACCESS_FLAGS
        level = np.where(ep.frailty < 0, 0, ep.frailty + 1)
        for axis, group in enumerate((ep.practice, ep.age_band, level)):
            for flag, mask in masks.items():
                expected = np.bincount(group[mask], minlength=c.access.shape[axis])
                assert np.array_equal(c.flagged(flag, keep=(axis,)), expected), flag
        assert c.flagged("urgent_met") > 100 and c.flagged("routine") > 1000
        lead = (sj.appointment_day - request_day)[routine]
        assert c.routine_lead_sum.sum() == lead.sum()
        assert np.array_equal(
            np.repeat(np.arange(len(c.routine_lead)) + c.lead_offset, c.routine_lead),
            np.sort(lead).astype(np.int64),
        )
        cell = (ep.practice * len(AGE_BANDS) + ep.age_band) * (len(FRAILTY_BANDS) + 1) + level
        by_cell = np.bincount(cell[routine], weights=lead, minlength=c.routine_lead_sum.size)
        assert np.array_equal(c.routine_lead_sum.ravel(), by_cell)
        booked_lead = np.clip((sj.appointment_day - request_day)[booked], 0, LEAD_DAYS_LAST)
        cells = ep.urgency[booked] * (LEAD_DAYS_LAST + 1) + booked_lead.astype(np.int64)
        assert np.array_equal(
            c.lead_by_urgency.ravel(),
            np.bincount(cells, minlength=len(URGENCIES) * (LEAD_DAYS_LAST + 1)),
        )
        # days and hours of the week
        day = np.floor(ep.time[arose] / MINUTES_PER_DAY)
        in_days = day[(day >= first_day) & (day < last_day)].astype(np.int64) - first_day
        assert np.array_equal(c.arising_daily, np.bincount(in_days, minlength=n_days))
        week_start = first_day * 24 // HOURS_PER_WEEK * HOURS_PER_WEEK
        hours = (ep.time[arose] / 60).astype(np.int64) - week_start
        assert np.array_equal(
            c.arising_by_hour, np.bincount(hours % HOURS_PER_WEEK, minlength=HOURS_PER_WEEK)
        )
        appt = sj.appointment_day
        appt_in = (appt >= first_day) & (appt < last_day)
        assert np.array_equal(
            c.appointments_daily, np.bincount(appt[appt_in] - first_day, minlength=n_days)
        )
        assert c.same_day == (appt_in & (appt == np.floor(sj.booked_time / 1440))).sum() > 100
        assert c.did_not_attend == (appt_in & (sj.outcome == ledger.DID_NOT_ATTEND)).sum() > 10
        first = sj.first_request_time[in_window(sj.first_request_time)]
        whole, minute = np.divmod(first, MINUTES_PER_DAY)
        weekday = whole.astype(np.int64) % 7
        assert c.requests == len(first)
        assert c.weekday_requests == (weekday < 5).sum()
        assert c.monday_requests == (weekday == 0).sum() > 100
        assert c.monday_8to9_requests == ((weekday == 0) & (minute >= 480) & (minute < 540)).sum()
        hours = (first / 60).astype(np.int64) - week_start
        assert np.array_equal(
            c.requests_by_hour, np.bincount(hours % HOURS_PER_WEEK, minlength=HOURS_PER_WEEK)
        )


def test_event_and_move_counts_are_those_of_numpys_masks(replication):
    k = replication
    sj = k.journeys
    for first_day, last_day in _windows(k):
        lo, hi = first_day * MINUTES_PER_DAY, last_day * MINUTES_PER_DAY
        for times in (sj.hub_time, sj.nhs111_calls, sj.booked_time, sj.rac_time):
            in_window = (times >= lo) & (times < hi)
            assert count_in_window(times, first_day, last_day) == in_window.sum() > 10
            day = np.floor(times / MINUTES_PER_DAY)
            days = day[(day >= first_day) & (day < last_day)].astype(np.int64) - first_day
            assert np.array_equal(
                count_by_day(times, first_day, last_day),
                np.bincount(days, minlength=last_day - first_day),
            )
        counted = (k.episodes.time >= lo) & (k.episodes.time < hi)
        keep = counted[sj.flow_episode]
        n = len(FLOW_NODES)
        pairs = sj.flow_from[keep].astype(np.int64) * n + sj.flow_to[keep]
        assert np.array_equal(
            count_moves(
                sj.flow_episode, sj.flow_from, sj.flow_to, k.episodes.time, first_day, last_day, n
            ).ravel(),
            np.bincount(pairs, minlength=n * n),
        )
