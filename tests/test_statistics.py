"""Interval estimates (sim/core/statistics.py): intervals that respect a quantity's range, and
Fieller's interval for a cost per outcome avoided.

Expected values are computed here from the formulas in docs/experiments.md ("How intervals
are computed") or by brute force from the definition, never by the function under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from sim.core.statistics import (
    MIN_RELIABLE_REPLICATIONS,
    NON_NEGATIVE,
    SHARE,
    bounded_interval,
    bounds_for_unit,
    difference_bounds,
    interval_reliable,
    ratio_interval,
    t_interval,
)

# the examples: a share and a time whose t-intervals leave their range
SHARE_SAMPLE = np.array([0.99, 0.79])  # t-interval about -0.38 to 2.16
TIME_SAMPLE = np.array([30.0, 544.0, 10.0])  # t-interval reaches below zero


def _t_half(x: np.ndarray, level: float = 0.95) -> float:
    return stats.t.ppf(0.5 + level / 2, x.size - 1) * stats.sem(x)


def test_the_t_interval_leaves_the_range_on_these_samples():
    """The examples break a plain t-interval (so the range checks below can fail)."""
    _, lo, hi = t_interval(SHARE_SAMPLE, 0.95)
    assert lo < 0 and hi > 1
    _, lo, _ = t_interval(TIME_SAMPLE, 0.95)
    assert lo < 0


def test_share_interval_is_the_logit_delta_method_interval():
    x = SHARE_SAMPLE
    m = x.mean()
    dz = _t_half(x) / (m * (1 - m))
    expected = (special.expit(special.logit(m) - dz), special.expit(special.logit(m) + dz))
    mean, lo, hi = bounded_interval(x, 0.95, SHARE)
    assert mean == pytest.approx(m)  # the mean itself is unchanged
    assert (lo, hi) == pytest.approx(expected)
    assert 0 < lo < m < hi < 1


def test_non_negative_interval_is_the_log_delta_method_interval():
    x = TIME_SAMPLE
    m = x.mean()
    expected = (m * math.exp(-_t_half(x) / m), m * math.exp(_t_half(x) / m))
    mean, lo, hi = bounded_interval(x, 0.95, NON_NEGATIVE)
    assert mean == pytest.approx(m)
    assert (lo, hi) == pytest.approx(expected)
    assert 0 < lo < m < hi


def test_an_upper_bound_alone_mirrors_the_log_interval():
    x = 10.0 - TIME_SAMPLE / 100  # at most 10
    d = 10.0 - x.mean()
    expected = (10 - d * math.exp(_t_half(x) / d), 10 - d * math.exp(-_t_half(x) / d))
    assert bounded_interval(x, 0.95, (-math.inf, 10.0))[1:] == pytest.approx(expected)


def test_far_from_the_ends_the_interval_is_almost_the_t_interval():
    rng = np.random.default_rng(3)
    share = rng.normal(0.5, 0.01, 10)
    count = rng.normal(1000.0, 10.0, 10)
    for x, bounds in ((share, SHARE), (count, NON_NEGATIVE)):
        _, lo, hi = bounded_interval(x, 0.95, bounds)
        _, tlo, thi = t_interval(x, 0.95)
        assert (lo, hi) == pytest.approx((tlo, thi), rel=2e-3)


def test_unbounded_is_the_t_interval_and_ends_give_zero_width():
    x = np.array([-3.0, 1.0, 2.5])
    assert bounded_interval(x, 0.9) == pytest.approx(t_interval(x, 0.9))
    assert bounded_interval(np.zeros(4), 0.95, NON_NEGATIVE) == (0.0, 0.0, 0.0)
    assert bounded_interval(np.ones(3), 0.95, SHARE) == (1.0, 1.0, 1.0)
    assert bounded_interval(np.full(3, 0.4), 0.95, SHARE) == pytest.approx((0.4, 0.4, 0.4))
    mean, lo, hi = bounded_interval(np.array([0.3]), 0.95, SHARE)
    assert mean == 0.3 and math.isnan(lo) and math.isnan(hi)
    assert all(math.isnan(v) for v in bounded_interval(np.array([]), 0.95, SHARE))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=2, max_size=12),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_share_intervals_never_leave_zero_to_one(values, level):
    mean, lo, hi = bounded_interval(np.array(values), level, SHARE)
    assert 0 <= lo <= mean + 1e-12 and mean - 1e-12 <= hi <= 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=2, max_size=12))
def test_count_intervals_are_never_negative(values):
    mean, lo, hi = bounded_interval(np.array(values), 0.95, NON_NEGATIVE)
    assert 0 <= lo <= mean * (1 + 1e-12) and hi >= mean * (1 - 1e-12)


@pytest.mark.parametrize(
    ("draw", "true", "bounds"),
    [
        (lambda rng, n: rng.beta(2, 20, n), 2 / 22, SHARE),  # a small share, skewed
        (lambda rng, n: rng.beta(30, 3, n), 30 / 33, SHARE),  # a share near 1
        (lambda rng, n: rng.gamma(4, 1, n), 4.0, NON_NEGATIVE),  # a skewed count
    ],
)
@pytest.mark.parametrize("n", [2, 5, 20])
def test_coverage_is_nominal_for_skewed_quantities(draw, true, bounds, n):
    """4,000 samples with a fixed seed: the Monte Carlo standard error of a 95% coverage is
    0.0034, so 0.93-0.97 is about six standard errors either side."""
    rng = np.random.default_rng(20251124)
    covered = 0
    for _ in range(4000):
        _, lo, hi = bounded_interval(draw(rng, n), 0.95, bounds)
        covered += lo <= true <= hi
    assert 0.93 <= covered / 4000 <= 0.97


def test_difference_bounds():
    assert difference_bounds(SHARE) == (-1.0, 1.0)
    assert difference_bounds(NON_NEGATIVE) == (-math.inf, math.inf)


def test_units_give_ranges():
    assert bounds_for_unit("share of attendances") == SHARE
    assert bounds_for_unit("share of slots offered") == SHARE
    assert bounds_for_unit("minutes") == NON_NEGATIVE
    assert bounds_for_unit("£ per year (2024/25 prices)") == NON_NEGATIVE


def test_reliability_threshold():
    assert MIN_RELIABLE_REPLICATIONS == 5  # quoted in docs/experiments.md
    assert not interval_reliable(4) and interval_reliable(5)


# ------------------------------------------------------------------ Fieller


def _inside(q: float, num: np.ndarray, den: np.ndarray, level: float) -> bool:
    """Fieller's definition: a - q b is not distinguishable from zero."""
    d = num - q * den
    n = d.size
    t = stats.t.ppf(0.5 + level / 2, n - 1)
    return abs(d.mean()) <= t * d.std(ddof=1) / math.sqrt(n) + 1e-9


def test_fieller_interval_is_the_set_its_definition_gives():
    rng = np.random.default_rng(7)
    den = rng.normal(100.0, 15.0, 10)  # attendances avoided
    num = 2.0e5 + 800.0 * den + rng.normal(0, 2.0e4, 10)  # cost, correlated with them
    r = ratio_interval(num, den, 0.95)
    assert r.bounded
    assert r.estimate == pytest.approx(num.mean() / den.mean())
    grid = np.linspace(r.estimate - 3000, r.estimate + 3000, 6001)
    allowed = grid[[_inside(q, num, den, 0.95) for q in grid]]
    assert allowed.min() == pytest.approx(r.low, abs=1.5)
    assert allowed.max() == pytest.approx(r.high, abs=1.5)
    assert r.low < r.estimate < r.high


def test_fieller_with_a_fixed_cost_divides_by_the_outcomes_interval_ends():
    den = np.array([120.0, 90.0, 150.0, 110.0, 100.0])
    num = np.full(5, 3.0e5)  # an option's investment does not vary between replications
    half = _t_half(den)
    r = ratio_interval(num, den, 0.95)
    expected = (3.0e5 / (den.mean() + half), 3.0e5 / (den.mean() - half))
    assert (r.low, r.high) == pytest.approx(expected)


def test_fieller_is_unbounded_when_the_outcome_cannot_be_told_from_zero():
    den = np.array([40.0, -30.0, 25.0, -10.0])  # avoided attendances around zero
    r = ratio_interval(np.full(4, 1.0e5), den, 0.95)
    assert not r.bounded and math.isnan(r.low) and math.isnan(r.high)
    assert r.estimate == pytest.approx(1.0e5 / den.mean())
    # a plain ratio of the interval ends would give a finite, misleading interval
    _, lo, hi = t_interval(den, 0.95)
    assert lo < 0 < hi


def test_fieller_needs_two_replications():
    r = ratio_interval(np.array([1.0]), np.array([2.0]), 0.95)
    assert r.estimate == 0.5 and not r.bounded
