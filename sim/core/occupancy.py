"""Time-weighted occupancy of anything entered and left at known times (patients in A&E,
beds, places), exact and vectorised; and the same integral kept by a model as its count
changes (:class:`RunningArea`)."""

from __future__ import annotations

import numpy as np


def occupancy_between(start: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-weighted mean number present in each interval ``[edges[k], edges[k + 1])``.

    Parameters
    ----------
    start, end
        When each item entered and left (``end >= start``), any order, any unit of time. An
        ``end`` of ``inf`` means still present.
    edges
        Increasing interval bounds (same unit).

    Returns
    -------
    numpy.ndarray
        (len(edges) - 1,) item-time present in each interval / its width (0 for an empty
        interval).

    Notes
    -----
    With ``F(t)`` the item-time accumulated up to ``t``,
    ``F(t) = t (A(t) - D(t)) - S_A(t) + S_D(t)`` where ``A``, ``D`` count entries and exits
    before ``t`` and ``S_A``, ``S_D`` sum their times.
    """
    edges = np.asarray(edges, dtype=float)

    def count_and_sum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.sort(np.asarray(x, dtype=float))
        x = x[np.isfinite(x)]  # an item that never leaves adds nothing to the "left" side
        k = np.searchsorted(x, edges, side="left")
        return k, np.concatenate(([0.0], np.cumsum(x)))[k]

    a_count, a_sum = count_and_sum(start)
    d_count, d_sum = count_and_sum(end)
    accumulated = edges * (a_count - d_count) - a_sum + d_sum
    widths = np.diff(edges)
    return np.divide(np.diff(accumulated), widths, out=np.zeros(len(widths)), where=widths > 0)


def present_at(start: np.ndarray, end: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Number present just after each of ``times`` (an item leaving at ``t`` has left)."""
    times = np.asarray(times, dtype=float)
    s = np.sort(np.asarray(start, dtype=float))
    e = np.sort(np.asarray(end, dtype=float))
    return np.searchsorted(s, times, side="right") - np.searchsorted(e, times, side="right")


__all__ = ["occupancy_between", "present_at", "RunningArea"]


class RunningArea:
    """The integral over time of a count that changes in steps, kept by whoever changes it.

    Call :meth:`step` with the count that held until ``now`` just before changing it at
    ``now``; :meth:`at` gives the integral up to a later time with the count unchanged since.
    """

    __slots__ = ("area", "since")

    def __init__(self) -> None:
        self.area = 0.0
        self.since = 0.0

    def step(self, count: float, now: float) -> None:
        self.area += count * (now - self.since)
        self.since = now

    def at(self, count: float, now: float) -> float:
        return self.area + count * (now - self.since)
