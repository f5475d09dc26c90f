"""Intermediate care (IC+) and admissions: extreme values, invariants, theory, a reference model.

Expected values are computed here from the configuration numbers (mean stays by age, frailty
multipliers, IC stay median/mean, waits), never by calling the module's own helpers, except
where a test is about such a helper. The configuration is the real one (``conf/``), with
``places`` and individual IC settings changed through ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import simpy
from conftest import ALPHA, MINUTES_PER_DAY, SEED, configure
from scipy import stats

from sim.config.schema import AGE_BANDS, FRAILTY_BANDS, ModelConfig
from sim.core.distributions import lognormal_from_uniform
from sim.services.intermediate_care import (
    STEP_DOWN,
    STEP_UP,
    STEP_UP_FAILED,
    AdmissionRequests,
    IntermediateCareResult,
    StepUpRequests,
    simulate_admissions_and_ic,
)

OLDER = AGE_BANDS.index("65-74")
MODERATE = FRAILTY_BANDS.index("moderate")
HUGE = 10**9  # places: never binding


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(real_data) -> ModelConfig:
    return configure(real_data).model


def with_ic(model: ModelConfig, places: int | None = None, **use) -> ModelConfig:
    """``model`` with IC+ places and/or ``assumptions.intermediate_care`` fields replaced."""
    site = model.site
    if places is not None:
        site = dataclasses.replace(
            site, intermediate_care=dataclasses.replace(site.intermediate_care, places=places)
        )
    a = model.assumptions
    if use:
        stay = use.pop("stay_days", None)
        ic = dataclasses.replace(a.intermediate_care, **use)
        if stay is not None:
            ic = dataclasses.replace(ic, stay_days=dataclasses.replace(ic.stay_days, **stay))
        a = dataclasses.replace(a, intermediate_care=ic)
    return dataclasses.replace(model, site=site, assumptions=a)


def make_load(
    rng: np.random.Generator,
    days: float,
    admissions_per_day: float,
    step_ups_per_day: float,
    frail_share_65plus: float = 0.5,
) -> tuple[AdmissionRequests, StepUpRequests]:
    """Poisson admissions (half aged 65+, a given share of those moderately/severely frail) and
    Poisson step-ups (all frail 65+), uniform over ``days``, rows in random (not time) order."""
    horizon = days * MINUTES_PER_DAY
    n = rng.poisson(admissions_per_day * days)
    age = np.where(rng.random(n) < 0.5, rng.integers(0, OLDER, n), rng.integers(OLDER, 8, n))
    frail = np.where(
        rng.random(n) < frail_share_65plus, rng.integers(2, 4, n), rng.integers(0, 2, n)
    )
    frail = np.where(age >= OLDER, frail, -1)
    adm = AdmissionRequests(
        time=rng.uniform(0, horizon, n),
        age_band=age,
        frailty=frail,
        u_stay=rng.random(n),
        u_step_down=rng.random(n),
        u_ic_stay=rng.random(n),
        source=rng.integers(0, 3, n),
    )
    m = rng.poisson(step_ups_per_day * days)
    ups = StepUpRequests(
        time=rng.uniform(0, horizon, m),
        age_band=rng.integers(OLDER, 8, m),
        frailty=rng.integers(2, 4, m),
        u_ic_stay=rng.random(m),
        u_stay=rng.random(m),
        u_step_down=rng.random(m),
        source=rng.integers(0, 2, m),
    )
    return adm, ups


def mean_stay_days(model: ModelConfig, age: np.ndarray, frailty: np.ndarray) -> np.ndarray:
    """Configured mean acute stay (days) per admission, written out from the config."""
    adm = model.assumptions.admissions
    by_age = np.array([adm.length_of_stay_days_by_age[b] for b in AGE_BANDS])
    mult = np.array([adm.frailty_stay_multiplier[b] for b in FRAILTY_BANDS])
    return by_age[age] * np.where(frailty >= 0, mult[np.maximum(frailty, 0)], mult[0])


def step_down_request_times(res: IntermediateCareResult, model: ModelConfig) -> np.ndarray:
    a = res.admissions
    saved = model.assumptions.intermediate_care.step_down_days_saved
    return a.time + (a.stay_days - saved) * MINUTES_PER_DAY


def request_table(res: IntermediateCareResult, ups: StepUpRequests, model: ModelConfig):
    """Every IC request: (request minute, deadline minute, start minute or NaN, kind)."""
    ic = model.assumptions.intermediate_care
    a = res.admissions
    down = np.flatnonzero(a.step_down_requested)
    down_req = step_down_request_times(res, model)[down]
    down_start = np.full(len(down), np.nan)
    pos = {int(i): k for k, i in enumerate(down)}
    for s, kind, idx in zip(res.stays.start, res.stays.kind, res.stays.index, strict=True):
        if kind == STEP_DOWN:
            down_start[pos[int(idx)]] = s
    req = np.concatenate((ups.time, down_req))
    deadline = np.concatenate(
        (
            ups.time + ic.step_up_max_wait_days * MINUTES_PER_DAY,
            down_req + ic.step_down_max_wait_days * MINUTES_PER_DAY,
        )
    )
    start = np.concatenate((res.step_ups.start_time, down_start))
    kind = np.concatenate((np.full(len(ups), STEP_UP), np.full(len(down), STEP_DOWN)))
    return req, deadline, start, kind


def occupancy_steps(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right-continuous occupancy reconstructed from stays: (change minutes, places in use
    just after each). A place freed and retaken at the same minute is one change point; to
    check that the capacity holds at every instant, departures at a minute are counted before
    arrivals (``max_level`` below)."""
    t = np.concatenate((ends, starts))
    delta = np.concatenate((-np.ones(len(ends)), np.ones(len(starts))))
    order = np.lexsort((delta, t))  # by time, then -1 before +1
    t, level = t[order], np.cumsum(delta[order])
    last = np.append(t[1:] != t[:-1], True)  # the level after all changes at that minute
    return t[last], level[last]


def max_level(starts: np.ndarray, ends: np.ndarray) -> float:
    """Peak places in use, departures counted before arrivals at the same minute."""
    t = np.concatenate((ends, starts))
    delta = np.concatenate((-np.ones(len(ends)), np.ones(len(starts))))
    return float(np.cumsum(delta[np.lexsort((delta, t))]).max(initial=0))


# --------------------------------------------------------------------------------------------
# Helpers under test
# --------------------------------------------------------------------------------------------


def test_lognormal_has_the_configured_median_and_mean():
    # Midpoint quadrature over 2 million quantiles: the mean of a lognormal with sigma ~0.65
    # is reproduced to well under 0.1% (the error is in the extreme upper tail).
    u = (np.arange(2_000_000) + 0.5) / 2_000_000
    x = lognormal_from_uniform(u, 21.0, 26.0)
    assert lognormal_from_uniform(np.array([0.5]), 21.0, 26.0)[0] == pytest.approx(21.0, rel=1e-12)
    assert x.mean() == pytest.approx(26.0, rel=1e-3)
    assert np.all(np.diff(x) > 0)  # monotone: common random numbers stay aligned
    np.testing.assert_array_equal(
        lognormal_from_uniform(np.array([0.0, 0.3]), 5.0, 5.0), [5.0, 5.0]
    )
    with pytest.raises(ValueError):
        lognormal_from_uniform(u[:3], 26.0, 21.0)


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="length"):
        StepUpRequests([0.0, 1.0], [6], [2], [0.1], [0.1], [0.1], [0])
    with pytest.raises(ValueError, match="u_stay"):
        AdmissionRequests([0.0], [6], [2], [1.0], [0.1], [0.1], [0])
    with pytest.raises(ValueError, match="frailty"):
        AdmissionRequests([0.0], [6], [4], [0.5], [0.1], [0.1], [0])
    with pytest.raises(ValueError, match="age_band"):
        AdmissionRequests([0.0], [8], [2], [0.5], [0.1], [0.1], [0])


# --------------------------------------------------------------------------------------------
# Extreme values
# --------------------------------------------------------------------------------------------


def test_no_requests_gives_nothing(model):
    res = simulate_admissions_and_ic(
        AdmissionRequests.empty(), StepUpRequests.empty(), model, 7 * MINUTES_PER_DAY
    )
    assert len(res.admissions) == 0 and len(res.stays) == 0 and len(res.step_ups.started) == 0
    np.testing.assert_array_equal(res.daily_occupancy, np.zeros(7))
    assert res.occupancy_mean(0, 100) == 0
    assert res.starts_between(0, 1e9) == {"step_up": 0, "step_down": 0}


def test_huge_capacity_starts_everyone_at_once(model):
    rng = np.random.default_rng(SEED)
    adm, ups = make_load(rng, 365, 60, 6)
    m = with_ic(model, places=HUGE)
    saved = m.assumptions.intermediate_care.step_down_days_saved
    res = simulate_admissions_and_ic(adm, ups, m, 365 * MINUTES_PER_DAY)

    assert res.step_ups.started.all() and not res.step_ups.admitted_instead.any()
    np.testing.assert_array_equal(res.step_ups.start_time, ups.time)
    a = res.admissions
    assert len(a) == len(adm)  # no failed step-ups appended
    req = a.step_down_requested
    assert req.sum() > 500  # the test exercises step-downs
    np.testing.assert_array_equal(a.stepped_down, req)
    np.testing.assert_array_equal(a.step_down_wait_days, 0.0)
    np.testing.assert_allclose(a.bed_days[req], a.stay_days[req] - saved, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(a.bed_days[~req], a.stay_days[~req])
    assert len(res.stays) == len(ups) + req.sum()


def test_zero_places_admits_every_step_up_after_exactly_the_max_wait(model):
    rng = np.random.default_rng(SEED + 1)
    adm, ups = make_load(rng, 365, 60, 6)
    m = with_ic(model, places=0)
    ic = m.assumptions.intermediate_care
    res = simulate_admissions_and_ic(adm, ups, m, 365 * MINUTES_PER_DAY)

    s = res.step_ups
    assert s.admitted_instead.all() and not s.started.any()
    assert np.isnan(s.start_time).all()
    a = res.admissions
    assert len(a) == len(adm) + len(ups)
    failed = a.from_step_up >= 0
    np.testing.assert_array_equal(a.from_step_up[failed], np.arange(len(ups)))
    np.testing.assert_array_equal(s.admission, len(adm) + np.arange(len(ups)))
    np.testing.assert_array_equal(
        a.time[failed], ups.time + ic.step_up_max_wait_days * MINUTES_PER_DAY
    )
    assert (a.source[failed] == STEP_UP_FAILED).all()
    np.testing.assert_array_equal(a.source[~failed], adm.source)
    np.testing.assert_array_equal(a.age_band[failed], ups.age_band)

    req = a.step_down_requested
    assert req[failed].sum() > 100 and req[~failed].sum() > 500
    assert not a.stepped_down.any()
    np.testing.assert_array_equal(a.step_down_wait_days[req], ic.step_down_max_wait_days)
    np.testing.assert_allclose(
        a.bed_days[req],
        a.stay_days[req] - ic.step_down_days_saved + ic.step_down_max_wait_days,
        rtol=0,
        atol=1e-9,
    )
    assert len(res.stays) == 0 and res.daily_occupancy.max() == 0


def test_hand_worked_queue_with_one_place(model):
    # Deterministic 1-day IC stays (median = mean), one place, step-ups wait up to 1 day.
    m = with_ic(model, places=1, stay_days={"median": 1.0, "mean": 1.0}, step_up_max_wait_days=1.0)
    d = MINUTES_PER_DAY
    # A at 0 starts and leaves at 1 d; B at 0.5 d waits for A's place (starts 1 d, leaves 2 d);
    # C at 0.6 d is behind B, deadline 1.6 d passes: admitted at 1.6 d; D at 1.2 d gets B's
    # place at 2 d (deadline 2.2 d).
    times = np.array([0.0, 0.5, 0.6, 1.2]) * d
    ups = StepUpRequests(times, [7] * 4, [3] * 4, [0.5] * 4, [0.5] * 4, [0.99] * 4, [1] * 4)
    res = simulate_admissions_and_ic(AdmissionRequests.empty(), ups, m, 3 * d)
    np.testing.assert_array_equal(res.step_ups.started, [True, True, False, True])
    np.testing.assert_array_equal(res.step_ups.start_time, [0.0, d, np.nan, 2 * d])
    assert res.admissions.time.tolist() == [1.6 * d]
    assert res.admissions.from_step_up.tolist() == [2]
    # C's admission: 85+ severe, u_stay = 0.5 -> stay = mean ln 2; u_step_down 0.99 -> no IC.
    mean = mean_stay_days(m, np.array([7]), np.array([3]))[0]
    assert res.admissions.stay_days[0] == pytest.approx(mean * math.log(2), rel=1e-12)
    assert not res.admissions.step_down_requested[0]
    # One place busy from 0 to 3 d without a gap.
    np.testing.assert_allclose(res.daily_occupancy, [1.0, 1.0, 1.0])
    assert res.occupancy_mean(0.5 * d, 3.5 * d) == pytest.approx(2.5 / 3)
    assert res.starts_between(0, d) == {"step_up": 1, "step_down": 0}
    assert res.starts_between(0, d + 1) == {"step_up": 2, "step_down": 0}


def test_a_place_freed_exactly_at_the_deadline_is_taken(model):
    m = with_ic(model, places=1, stay_days={"median": 2.0, "mean": 2.0}, step_up_max_wait_days=2.0)
    d = MINUTES_PER_DAY
    ups = StepUpRequests([0.0, 0.0], [7, 7], [3, 3], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0, 0])
    res = simulate_admissions_and_ic(AdmissionRequests.empty(), ups, m, 5 * d)
    np.testing.assert_array_equal(res.step_ups.start_time, [0.0, 2 * d])  # row order at ties
    assert not res.step_ups.admitted_instead.any()


def test_step_down_waits_in_hospital_and_bed_days_accrue(model):
    d = MINUTES_PER_DAY
    m = with_ic(model, places=1, stay_days={"median": 4.0, "mean": 4.0})
    ic = m.assumptions.intermediate_care
    saved, wait_max = ic.step_down_days_saved, ic.step_down_max_wait_days
    assert wait_max > 2 and 2 < saved < 6  # the scenario below needs these (real: 7 and 3)
    # One place, 4-day IC stays. A step-up at day 0 holds the place to day 4. Admission Y
    # (day 1, stay saved + 1) asks at day 2 and waits in hospital 2 days for that place (IC
    # days 4-8). Admission X (day 0, stay 10) asks at day 10 - saved and waits for Y's place
    # until day 8.
    mean = mean_stay_days(m, np.array([7]), np.array([3]))[0]

    def u_for(stay_days: float) -> float:
        return 1 - math.exp(-stay_days / mean)

    y_stay = saved + 1.0  # asks at admission + 1 d
    adm = AdmissionRequests(
        time=[0.0, 1.0 * d],
        age_band=[7, 7],
        frailty=[3, 3],
        u_stay=[u_for(10.0), u_for(y_stay)],
        u_step_down=[0.0, 0.0],
        u_ic_stay=[0.5, 0.5],
        source=[5, 6],
    )
    ups = StepUpRequests([0.0], [7], [3], [0.5], [0.5], [0.5], [0])
    res = simulate_admissions_and_ic(adm, ups, m, 30 * d)
    a = res.admissions
    assert a.step_down_requested.tolist() == [True, True]
    assert a.stepped_down.tolist() == [True, True]
    np.testing.assert_allclose(a.step_down_wait_days, [8.0 - (10 - saved), 2.0], atol=1e-9)
    np.testing.assert_allclose(a.bed_days, [8.0, y_stay - saved + 2.0])  # X: 10 - saved + wait
    np.testing.assert_allclose(a.discharge_time, a.time + a.bed_days * d)
    assert res.stays.kind.tolist() == [STEP_UP, STEP_DOWN, STEP_DOWN]
    assert res.stays.index.tolist() == [0, 1, 0]


# --------------------------------------------------------------------------------------------
# Invariants under congestion
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def congested(model):
    """Two years, 40 places, requests for ~twice the place-days available (12 admissions and
    2 step-ups a day; a step-down place is asked for by ~1 in 12 admissions)."""
    rng = np.random.default_rng(SEED + 2)
    adm, ups = make_load(rng, 730, 12, 2)
    m = with_ic(model, places=40)
    res = simulate_admissions_and_ic(adm, ups, m, 730 * MINUTES_PER_DAY)
    return m, adm, ups, res


def test_congested_run_exercises_every_path(congested):
    _, _, _, res = congested
    s, a = res.step_ups, res.admissions
    waited_up = s.started & (s.start_time > 0) & ~np.isnan(s.start_time)
    assert s.admitted_instead.sum() > 50 and s.started.sum() > 50 and waited_up.sum() > 20
    req = a.step_down_requested
    assert (a.stepped_down & (a.step_down_wait_days > 0)).sum() > 50
    assert (req & ~a.stepped_down).sum() > 20


def test_capacity_is_never_exceeded(congested):
    m, _, _, res = congested
    _, level = occupancy_steps(res.stays.start, res.stays.end)
    assert level.min() >= 0
    # Checked at every event, including between a departure and a start at the same minute.
    assert max_level(res.stays.start, res.stays.end) == m.site.intermediate_care.places


def test_nobody_waits_while_a_place_is_free(congested):
    # Work conservation: throughout every wait (request to start, or to deadline if none
    # came) all places were in use.
    m, _, ups, res = congested
    places = m.site.intermediate_care.places
    t, level = occupancy_steps(res.stays.start, res.stays.end)
    req, deadline, start, _ = request_table(res, ups, m)
    end = np.where(np.isnan(start), deadline, start)
    waited = end > req
    assert waited.sum() > 100
    for a, b in zip(req[waited], end[waited], strict=True):
        i = np.searchsorted(t, a, side="right") - 1  # occupancy just after the request
        j = np.searchsorted(t, b, side="left")  # change points strictly before the end
        assert i >= 0 and level[i:j].min() == places


def test_waits_respect_their_limits(congested):
    m, _, ups, res = congested
    req, deadline, start, _ = request_table(res, ups, m)
    ok = ~np.isnan(start)
    assert (start[ok] >= req[ok]).all() and (start[ok] <= deadline[ok]).all()


def test_first_come_first_served(congested):
    # Among requests of the same kind (hence the same wait limit), an earlier request never
    # starts after a later one.
    m, _, ups, res = congested
    req, _, start, kind = request_table(res, ups, m)
    for k in (STEP_UP, STEP_DOWN):
        sel = (kind == k) & ~np.isnan(start)
        order = np.argsort(req[sel], kind="stable")
        assert np.all(np.diff(start[sel][order]) >= 0)


def test_first_come_first_served_across_kinds_with_equal_limits(model):
    rng = np.random.default_rng(SEED + 3)
    adm, ups = make_load(rng, 365, 10, 2)
    m = with_ic(model, places=45, step_up_max_wait_days=4.0, step_down_max_wait_days=4.0)
    res = simulate_admissions_and_ic(adm, ups, m, 365 * MINUTES_PER_DAY)
    req, _, start, kind = request_table(res, ups, m)
    sel = ~np.isnan(start)
    assert (kind[sel] == STEP_UP).sum() > 50 and (kind[sel] == STEP_DOWN).sum() > 50
    assert (start[sel] > req[sel]).sum() > 100
    order = np.argsort(req[sel], kind="stable")
    assert np.all(np.diff(start[sel][order]) >= 0)


def test_conservation(congested):
    m, adm, ups, res = congested
    s, a = res.step_ups, res.admissions
    assert np.all(s.started ^ s.admitted_instead)
    np.testing.assert_array_equal(np.isnan(s.start_time), ~s.started)
    assert len(a) == len(adm) + s.admitted_instead.sum()
    assert np.isfinite(a.bed_days).all() and (a.bed_days >= 0).all()
    assert np.isfinite(a.stay_days).all() and (a.stay_days >= 0).all()
    # Every failed step-up has exactly one admission and it points back.
    rows = s.admission[s.admitted_instead]
    np.testing.assert_array_equal(a.from_step_up[rows], np.flatnonzero(s.admitted_instead))
    assert (s.admission[s.started] == -1).all()
    # Every IC stay is one started request: step-ups once, step-downs once.
    up_stays = res.stays.index[res.stays.kind == STEP_UP]
    down_stays = res.stays.index[res.stays.kind == STEP_DOWN]
    np.testing.assert_array_equal(np.sort(up_stays), np.flatnonzero(s.started))
    np.testing.assert_array_equal(np.sort(down_stays), np.flatnonzero(a.stepped_down))
    # Only requested step-downs wait or step down; bed days follow the stated rule.
    saved = m.assumptions.intermediate_care.step_down_days_saved
    assert not (a.stepped_down & ~a.step_down_requested).any()
    assert (a.step_down_wait_days[~a.step_down_requested] == 0).all()
    req = a.step_down_requested
    np.testing.assert_allclose(
        a.bed_days[req], a.stay_days[req] - saved + a.step_down_wait_days[req], atol=1e-9
    )
    np.testing.assert_array_equal(a.bed_days[~req], a.stay_days[~req])


def test_step_down_eligibility_rule(congested):
    m, adm, _, res = congested
    ic = m.assumptions.intermediate_care
    a = res.admissions
    n = len(adm)
    expected = (
        (adm.age_band >= OLDER)
        & (adm.frailty >= MODERATE)
        & (adm.u_step_down < ic.step_down_share_of_admissions)
        & (a.stay_days[:n] > ic.step_down_days_saved)
    )
    np.testing.assert_array_equal(a.step_down_requested[:n], expected)


def test_daily_occupancy_matches_direct_overlap(congested):
    _, _, _, res = congested
    days = len(res.daily_occupancy)
    lo = np.arange(days)[:, None] * MINUTES_PER_DAY
    overlap = np.clip(
        np.minimum(res.stays.end, lo + MINUTES_PER_DAY) - np.maximum(res.stays.start, lo), 0, None
    )
    np.testing.assert_allclose(res.daily_occupancy, overlap.sum(1) / MINUTES_PER_DAY, atol=1e-6)
    assert res.occupancy_mean(0, days * MINUTES_PER_DAY) == pytest.approx(
        res.daily_occupancy.mean(), rel=1e-9
    )


def test_same_inputs_same_outputs_and_inputs_untouched(congested):
    m, adm, ups, res = congested
    before = [c.copy() for c in vars(adm).values()]
    again = simulate_admissions_and_ic(adm, ups, m, 730 * MINUTES_PER_DAY)
    for x, y in zip(vars(res.admissions).values(), vars(again.admissions).values(), strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(res.stays.start, again.stays.start)
    for x, y in zip(before, vars(adm).values(), strict=True):
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------------------------
# Against an independent implementation and against theory
# --------------------------------------------------------------------------------------------


def simpy_reference(adm: AdmissionRequests, ups: StepUpRequests, m: ModelConfig):
    """The same rules written naively with SimPy (a process per request, a FIFO Resource
    with reneging). Returns step-up start times and step-down start times by admission row
    (inputs), the failed step-up rows, and step-down start times of those failed step-ups'
    admissions by step-up row."""
    ic = m.assumptions.intermediate_care
    d = MINUTES_PER_DAY
    sigma = math.sqrt(2 * math.log(ic.stay_days.mean / ic.stay_days.median))
    ic_minutes = lambda u: stats.lognorm.ppf(u, s=sigma, scale=ic.stay_days.median) * d  # noqa: E731
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=m.site.intermediate_care.places)
    up_start, down_start, failed, failed_down_start = {}, {}, [], {}

    def eligible(age, frailty, u_sd, stay):
        return (
            age >= OLDER
            and frailty >= MODERATE
            and u_sd < ic.step_down_share_of_admissions
            and stay > ic.step_down_days_saved
        )

    def ask(at, max_wait_days, minutes, on_start, on_fail):
        yield env.timeout(at - env.now)
        req = res.request()
        got = yield req | env.timeout(max_wait_days * d)
        if req in got:
            on_start(env.now)
            yield env.timeout(minutes)
            res.release(req)
        else:
            req.cancel()
            on_fail()

    for i in range(len(adm)):
        stay = mean_stay_days(m, adm.age_band[i : i + 1], adm.frailty[i : i + 1])[0] * -math.log(
            1 - adm.u_stay[i]
        )
        if eligible(adm.age_band[i], adm.frailty[i], adm.u_step_down[i], stay):
            at = adm.time[i] + (stay - ic.step_down_days_saved) * d
            env.process(
                ask(
                    at,
                    ic.step_down_max_wait_days,
                    ic_minutes(adm.u_ic_stay[i]),
                    lambda t, i=i: down_start.__setitem__(i, t),
                    lambda: None,
                )
            )

    def step_up_failed(j):
        failed.append(j)
        stay = mean_stay_days(m, ups.age_band[j : j + 1], ups.frailty[j : j + 1])[0] * -math.log(
            1 - ups.u_stay[j]
        )
        if eligible(ups.age_band[j], ups.frailty[j], ups.u_step_down[j], stay):
            at = env.now + (stay - ic.step_down_days_saved) * d
            env.process(
                ask(
                    at,
                    ic.step_down_max_wait_days,
                    ic_minutes(ups.u_ic_stay[j]),
                    lambda t: failed_down_start.__setitem__(j, t),
                    lambda: None,
                )
            )

    for j in range(len(ups)):
        env.process(
            ask(
                ups.time[j],
                ic.step_up_max_wait_days,
                ic_minutes(ups.u_ic_stay[j]),
                lambda t, j=j: up_start.__setitem__(j, t),
                lambda j=j: step_up_failed(j),
            )
        )
    env.run()
    return up_start, down_start, sorted(failed), failed_down_start


def test_matches_an_independent_simpy_model(model):
    # Continuous random times make ties (the only place the two could legitimately differ in
    # order) events of probability zero, so outcomes must agree exactly up to rounding.
    rng = np.random.default_rng(SEED + 4)
    adm, ups = make_load(rng, 365, 12, 2)
    m = with_ic(model, places=40)
    res = simulate_admissions_and_ic(adm, ups, m, 365 * MINUTES_PER_DAY)
    up_start, down_start, failed, failed_down_start = simpy_reference(adm, ups, m)

    assert len(failed) > 20 and len(down_start) > 200
    assert failed == np.flatnonzero(res.step_ups.admitted_instead).tolist()
    expected = np.array([up_start.get(j, np.nan) for j in range(len(ups))])
    np.testing.assert_allclose(res.step_ups.start_time, expected, rtol=0, atol=1e-6)
    a = res.admissions
    n = len(adm)
    assert set(np.flatnonzero(a.stepped_down[:n]).tolist()) == set(down_start)
    rows = np.array(sorted(down_start))
    got = (
        a.time[rows]
        + (
            a.stay_days[rows]
            - m.assumptions.intermediate_care.step_down_days_saved
            + a.step_down_wait_days[rows]
        )
        * MINUTES_PER_DAY
    )
    np.testing.assert_allclose(got, [down_start[i] for i in rows], rtol=0, atol=1e-6)
    # Step-downs of admissions that began as failed step-ups.
    stays = res.stays
    mine = {
        int(a.from_step_up[i]): s
        for s, k, i in zip(stays.start, stays.kind, stays.index, strict=True)
        if k == STEP_DOWN and a.from_step_up[i] >= 0
    }
    assert len(failed_down_start) > 10 and mine.keys() == failed_down_start.keys()
    for j, t in failed_down_start.items():
        assert mine[j] == pytest.approx(t, abs=1e-6)


def test_exponential_length_of_stay_by_age_and_frailty(model):
    # 20,000 admissions per cell: the sample mean of an exponential has relative standard
    # error 1/sqrt(n) = 0.7%, so each cell is tested at z = Phi^-1(1 - ALPHA / 2 / cells).
    rng = np.random.default_rng(SEED + 5)
    n = 20_000
    cells = [(age, -1 if age < OLDER else 0) for age in range(len(AGE_BANDS))]
    cells += [(AGE_BANDS.index("75-84"), f) for f in range(1, len(FRAILTY_BANDS))]
    z = stats.norm.ppf(1 - ALPHA / 2 / len(cells))
    age = np.repeat([c[0] for c in cells], n)
    frailty = np.repeat([c[1] for c in cells], n)
    k = len(age)
    adm = AdmissionRequests(
        rng.uniform(0, 1e6, k),
        age,
        frailty,
        rng.random(k),
        rng.random(k),
        rng.random(k),
        np.zeros(k),
    )
    res = simulate_admissions_and_ic(adm, StepUpRequests.empty(), with_ic(model, places=HUGE), 1e6)
    stays = res.admissions.stay_days.reshape(len(cells), n)
    for (a, f), sample in zip(cells, stays, strict=True):
        mu = mean_stay_days(model, np.array([a]), np.array([f]))[0]
        assert abs(sample.mean() - mu) < z * mu / math.sqrt(n), (AGE_BANDS[a], f, sample.mean(), mu)
        assert stats.kstest(sample / mu, "expon").pvalue > ALPHA / len(cells)


def test_littles_law_for_ic(model):
    # Poisson step-ups (10 a day) for 4,000 days, never short of places: M/G/inf, whose mean
    # occupancy is lambda x E[stay]. The time-average over T has relative sd
    # sqrt(E[S^2] / (lambda T)) / E[S] = sqrt(exp(sigma^2) / N) ~ 0.65% for N ~ 37,000
    # arrivals, so a 3% tolerance is > 4 sd (and would catch a 3% bias in the stay or the
    # accounting). The first 300 days (>> the stay distribution's bulk) are warm-up.
    rng = np.random.default_rng(SEED + 6)
    days, rate = 4000, 10.0
    m = rng.poisson(rate * days)
    ups = StepUpRequests(
        rng.uniform(0, days * MINUTES_PER_DAY, m),
        np.full(m, 7),
        np.full(m, 3),
        rng.random(m),
        rng.random(m),
        rng.random(m),
        np.zeros(m),
    )
    cfg = with_ic(model, places=HUGE)
    res = simulate_admissions_and_ic(AdmissionRequests.empty(), ups, cfg, days * MINUTES_PER_DAY)
    mean_stay = cfg.assumptions.intermediate_care.stay_days.mean
    observed = res.occupancy_mean(300 * MINUTES_PER_DAY, days * MINUTES_PER_DAY)
    assert observed == pytest.approx(rate * mean_stay, rel=0.03)
    counts = res.starts_between(300 * MINUTES_PER_DAY, days * MINUTES_PER_DAY)
    assert counts["step_down"] == 0
    assert counts["step_up"] == np.sum(ups.time >= 300 * MINUTES_PER_DAY)
