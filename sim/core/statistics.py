"""Interval estimates over replications, shared by the experiment runner, comparisons, equity
and the report: defined once here.

- :func:`t_interval`: the mean and its t-based interval on the natural scale, for quantities
  that can take any sign (paired differences).
- :func:`bounded_interval`: the mean and an interval that stays inside the quantity's range
  (shares in [0, 1]; counts, rates, times and costs not negative). The t-interval is formed on
  a transformed scale (logit for a range with two ends, log for one end) by the delta method
  and transformed back, so it can never leave the range, is asymmetric near an end, and is
  almost the t-interval where the mean is far from the ends (docs/experiments.md, "How
  intervals are computed").
- :func:`ratio_interval`: Fieller's interval for a ratio of two means of paired replication
  values (cost per outcome avoided); unbounded when the denominator cannot be told from zero.
- :func:`interval_reliable`: whether enough replications stand behind an interval.

The mean is always the plain mean of the replications: only the interval's ends depend on the
method, so per-replication values (and the golden digests, which hash them) never change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Fewer replications than this make an interval unreliable: with 4 or fewer the sample
#: standard deviation rests on at most 3 degrees of freedom (its own 95% interval spans a
#: factor of more than 6) and the t quantile is at least 2.78, so the interval's width is
#: itself a guess. Reports mark such intervals (docs/experiments.md).
MIN_RELIABLE_REPLICATIONS = 5

#: Range of a quantity: (lowest, highest); ``math.inf`` where it has no end.
Range = tuple[float, float]
UNBOUNDED: Range = (-math.inf, math.inf)
NON_NEGATIVE: Range = (0.0, math.inf)
SHARE: Range = (0.0, 1.0)


def _finite(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[np.isfinite(x)]


def mean_of_defined(values: np.ndarray) -> float:
    """Mean of the values that are defined (NaN left out); NaN, without numpy's "Mean of
    empty slice" warning, when none is (a share with nothing to divide by everywhere)."""
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _t_quantile(level: float, n: int) -> float:
    """The two-sided ``level`` quantile of Student's t with ``n - 1`` degrees of freedom."""
    # scipy.special's Student t functions are what scipy.stats.t.ppf and .cdf call (the same
    # numbers), without importing scipy.stats, which cost a run 0.5 s of CPU before its first
    # replication (it builds its distributions' documentation as it loads)
    from scipy.special import stdtrit

    return float(stdtrit(n - 1, 0.5 + level / 2))


def t_cdf(x: float, df: int) -> float:
    """P(T <= x) for Student's t with ``df`` degrees of freedom (``scipy.stats.t.cdf``)."""
    from scipy.special import stdtr

    return float(stdtr(df, x))


def _mean_and_half_width(values: np.ndarray, level: float) -> tuple[float, float]:
    """Mean of the finite values and the half-width t x s / sqrt(n) of its t-interval; the
    half-width is NaN with fewer than 2 values, and both are NaN with none."""
    x = _finite(values)
    n = x.size
    if n == 0:
        return float("nan"), float("nan")
    mean = float(x.mean())
    if n < 2:
        return mean, float("nan")
    return mean, float(_t_quantile(level, n) * x.std(ddof=1) / np.sqrt(n))


def t_interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean and t-based confidence interval; the interval is NaN with fewer than 2 values."""
    mean, half = _mean_and_half_width(values, level)
    return mean, mean - half, mean + half


def bounded_interval(
    values: np.ndarray, level: float, bounds: Range = UNBOUNDED
) -> tuple[float, float, float]:
    """Mean and a confidence interval that stays within ``bounds``.

    With no finite bound this is :func:`t_interval`. Otherwise the mean ``m`` with its
    t half-width ``h`` is moved to a scale with no ends, ``z = g(m)``, where ``g`` is the log
    of the distance to the one end, or the logit of the position between two ends; the
    interval ``z +/- h |g'(m)|`` (the delta method) is moved back. A mean on an end (every
    replication there) has a zero-width interval at the end.
    """
    mean, half = _mean_and_half_width(values, level)
    low, high = bounds
    if not np.isfinite(half) or (math.isinf(low) and math.isinf(high)):
        return mean, mean - half, mean + half
    at_low = math.isfinite(low) and mean <= low
    at_high = math.isfinite(high) and mean >= high
    if at_low or at_high or half == 0:
        end = low if at_low else high if at_high else mean
        return mean, end, end
    if math.isfinite(low) and math.isfinite(high):
        width = high - low
        p = (mean - low) / width
        z = math.log(p / (1 - p))
        dz = half / (width * p * (1 - p))
        lo, hi = (low + width / (1 + math.exp(-(z + s * dz))) for s in (-1.0, 1.0))
        return mean, lo, hi
    if math.isfinite(low):
        d = mean - low
        return mean, low + d * math.exp(-half / d), low + d * math.exp(half / d)
    d = high - mean
    return mean, high - d * math.exp(half / d), high - d * math.exp(-half / d)


def difference_bounds(bounds: Range) -> Range:
    """Range of a difference of two quantities that each lie in ``bounds``: a difference of
    two shares lies in [-1, 1]; of two unbounded or half-bounded quantities, anywhere."""
    low, high = bounds
    if math.isfinite(low) and math.isfinite(high):
        return (low - high, high - low)
    return UNBOUNDED


@dataclass(frozen=True)
class RatioInterval:
    """A ratio of means with Fieller's interval.

    ``bounded`` is False when the denominator's own interval includes zero: the ratio can
    then be arbitrarily large (the set of ratios the data allow is the whole line or two
    rays), ``low`` and ``high`` are NaN, and the ratio should be reported as not estimable.
    """

    estimate: float
    low: float
    high: float
    bounded: bool


def ratio_interval(numerator: np.ndarray, denominator: np.ndarray, level: float) -> RatioInterval:
    """Fieller's interval for mean(numerator) / mean(denominator) from paired values.

    Replication ``r`` gives one numerator and one denominator (for example an option's extra
    cost and the attendances it avoided, both against the baseline's replication ``r``), so
    their covariance is used. The interval is the set of ratios ``q`` for which
    ``a - q b`` (with ``a``, ``b`` the means) is not distinguishable from zero at ``level``:
    ``(a - q b)^2 <= t^2 (v_aa - 2 q v_ab + q^2 v_bb)``, with ``v`` the variances and covariance
    of the means and ``t`` on ``n - 1`` degrees of freedom (Fieller 1954; Willan & O'Brien
    1996 for cost-effectiveness ratios).
    """
    num = np.asarray(numerator, dtype=float).ravel()
    den = np.asarray(denominator, dtype=float).ravel()
    keep = np.isfinite(num) & np.isfinite(den)
    num, den = num[keep], den[keep]
    n = num.size
    nan = float("nan")
    if n == 0:
        return RatioInterval(nan, nan, nan, False)
    a, b = float(num.mean()), float(den.mean())
    estimate = a / b if b != 0 else nan
    if n < 2 or b == 0:
        return RatioInterval(estimate, nan, nan, False)
    cov = np.cov(num, den, ddof=1) / n
    v_aa, v_ab, v_bb = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    t2 = _t_quantile(level, n) ** 2
    g = t2 * v_bb / b**2
    if g >= 1:  # the denominator's interval includes zero
        return RatioInterval(estimate, nan, nan, False)
    centre = estimate - g * v_ab / v_bb if v_bb > 0 else estimate
    spread = v_aa - 2 * estimate * v_ab + estimate**2 * v_bb
    spread -= g * (v_aa - (v_ab**2 / v_bb if v_bb > 0 else 0.0))
    half = math.sqrt(t2 * max(spread, 0.0)) / abs(b)
    return RatioInterval(estimate, (centre - half) / (1 - g), (centre + half) / (1 - g), True)


def interval_reliable(n: int) -> bool:
    """Whether an interval over ``n`` replications is reliable enough to quote
    (:data:`MIN_RELIABLE_REPLICATIONS`)."""
    return n >= MIN_RELIABLE_REPLICATIONS


def bounds_for_unit(unit: str) -> Range:
    """The range of a KPI or measure from its unit, as the registries write units: a unit
    that starts with "share" is a share of something, in [0, 1]; every other quantity the
    model reports is a count, rate, time or cost, never negative (``tests/test_statistics.py``
    checks both against a real run, so a KPI that can go negative must get its own rule)."""
    return SHARE if unit.strip().lower().startswith("share") else NON_NEGATIVE
