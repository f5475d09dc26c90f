"""Durations from uniforms drawn once per patient, by inverse CDF: a larger uniform always
gives a longer duration, so the same patient is "slow" or "quick" in every scenario (common
random numbers)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri


def lognormal_from_uniform(u: np.ndarray | float, median: float, mean: float) -> np.ndarray:
    """Inverse-CDF lognormal durations from uniforms drawn once per patient.

    Parameters
    ----------
    u
        Uniform(0, 1) draws, any shape.
    median
        Median duration (minutes, > 0); ``mu = ln(median)``.
    mean
        Mean duration (minutes, >= ``median``); ``sigma = sqrt(2 ln(mean / median))``, so
        ``exp(mu + sigma**2 / 2) = mean``.

    Returns
    -------
    numpy.ndarray
        Durations in minutes, same shape as ``u``; all equal to ``median`` when
        ``mean == median`` (sigma 0). A larger ``u`` always gives a longer duration, which is
        what makes common random numbers work across scenarios.

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


def exponential_from_uniform(u: np.ndarray | float, mean: float) -> np.ndarray:
    """Inverse-CDF exponential durations ``-mean ln(1 - u)`` from uniforms in [0, 1).

    Used when ``assumptions.ae.service_distribution`` is ``"exponential"`` (the M/M/c
    validation of :mod:`sim.tools.validate`); like :func:`lognormal_from_uniform`, a larger ``u``
    always gives a longer duration.
    """
    return -float(mean) * np.log1p(-np.asarray(u, dtype=float))
