"""Interval estimates over replications, shared by the experiment runner, equity and the report."""

from __future__ import annotations

import numpy as np


def t_interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean and t-based confidence interval; the interval is NaN with fewer than 2 values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    from scipy import stats  # here: replications never need it, only their summaries

    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half
