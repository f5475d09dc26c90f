"""Simulation time helpers."""

from __future__ import annotations

import numpy as np

from sim.core.calendar import MINUTES_PER_DAY, whole_days


def test_whole_days_equal_numpy_floor_division_at_every_midnight():
    """whole_days replaces ``minutes // MINUTES_PER_DAY``: equal for random minutes and for
    the floats either side of every midnight, where a plain rounded division goes wrong."""
    rng = np.random.default_rng(7)
    midnights = np.arange(0, 3000, dtype=np.float64) * MINUTES_PER_DAY
    minutes = np.concatenate(
        [
            rng.random(200_000) * 3000 * MINUTES_PER_DAY,
            midnights,
            np.nextafter(midnights, -np.inf),
            np.nextafter(midnights, np.inf),
            [np.nan],
        ]
    )
    expected = minutes // MINUTES_PER_DAY
    assert np.array_equal(whole_days(minutes), expected, equal_nan=True)
    # the rounded division alone is wrong just before some midnights: the check can fail
    assert not np.array_equal(np.floor(minutes / MINUTES_PER_DAY), expected, equal_nan=True)
