"""Durations drawn by inverse transform from uniforms drawn once per patient.

One definition of each distribution used for durations (A&E times, lengths of stay, IC+ and
discharge-to-assess stays). A larger uniform always gives a longer duration, which is what
makes common random numbers work across scenarios: the same patient is "slow" or "quick" in
every scenario.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri


def lognormal_from_uniform(u: np.ndarray | float, median: float, mean: float) -> np.ndarray:
    """Lognormal quantiles at ``u`` for a distribution given by its median and mean.

    Parameters
    ----------
    u
        Uniform(0, 1) draws, any shape.
    median
        Median (> 0, any unit); ``mu = ln(median)``.
    mean
        Mean (>= ``median``, same unit); ``sigma = sqrt(2 ln(mean / median))``, so
        ``exp(mu + sigma**2 / 2) = mean``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``u``; all equal to ``median`` when ``mean == median`` (sigma 0).

    Raises
    ------
    ValueError
        If ``median <= 0`` or ``mean < median`` (no lognormal has a mean below its median).
    """
    u = np.asarray(u, dtype=float)
    if not median > 0:
        raise ValueError(f"lognormal median must be > 0, got {median}")
    if mean < median:
        raise ValueError(f"lognormal mean ({mean}) must be >= its median ({median})")
    sigma = math.sqrt(2.0 * math.log(mean / median))
    if sigma == 0.0:
        # ndtri(0) is -inf and 0 * -inf is nan: a degenerate distribution is just the median.
        return np.full(u.shape, float(median))
    return median * np.exp(sigma * ndtri(u))


def exponential_from_uniform(u: np.ndarray | float, mean: np.ndarray | float) -> np.ndarray:
    """Exponential quantiles ``-mean ln(1 - u)`` at uniforms in [0, 1).

    Used where a configuration asks for exponential durations (the validation of queues
    against queueing theory, ``conf/validation/``).
    """
    return -np.asarray(mean, dtype=float) * np.log1p(-np.asarray(u, dtype=float))


__all__ = ["exponential_from_uniform", "lognormal_from_uniform"]
