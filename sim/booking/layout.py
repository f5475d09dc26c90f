"""Laying out a clinic's slots: sessions into slot times, the on-the-day share, rounding
capacity to whole sessions or slots. Services use these to build their books."""

from __future__ import annotations

import numpy as np


def session_slot_times(
    sessions: list[tuple[int, int]], clinicians_per_session: list[int], slots_per_session: int
) -> list[int]:
    """Sorted slot start minutes for a day, given clinicians in each session."""
    times: list[int] = []
    for (start, end), k in zip(sessions, clinicians_per_session, strict=True):
        if k <= 0 or slots_per_session <= 0:
            continue
        step = (end - start) / slots_per_session
        for j in range(slots_per_session):
            times.extend([int(start + j * step)] * k)
    times.sort()
    return times


def split_on_the_day(times: list[int], share: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Split a day's slots into (pre-bookable, on-the-day), spreading on-the-day slots evenly
    through the day so same-day capacity exists morning and afternoon."""
    pre: list[int] = []
    otd: list[int] = []
    for j, t in enumerate(times):
        if int((j + 1) * share) > int(j * share):
            otd.append(t)
        else:
            pre.append(t)
    return tuple(pre), tuple(otd)


def largest_remainder(total: float, weights: list[float]) -> list[int]:
    """Integers proportional to ``weights`` summing to ``round(total)`` (Hamilton's method)."""
    rows = largest_remainder_rows(np.array([total], dtype=float), np.array([weights], dtype=float))
    return rows[0].tolist()


def largest_remainder_rows(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Hamilton's method row by row: (row, k) integers proportional to ``weights[row]``
    summing to ``round(totals[row])`` (0 everywhere for a row whose total rounds to 0 or
    whose weights sum to 0). Each gets the whole part of its exact quota; the seats left go
    to the largest remainders, a tie to the earlier position. One call for many rows
    (a practice's 65 weeks of sessions) instead of one per row."""
    weights = np.asarray(weights, dtype=float)
    rows, k = weights.shape
    target = np.rint(np.asarray(totals, dtype=float)).astype(np.int64)  # half to even, as round()
    # The weights' sum left to right, as Python's sum() of a list adds them (up to 3.11), so
    # the quotas are exactly those of a row-at-a-time version.
    wsum = np.zeros(rows)
    for j in range(k):
        wsum = wsum + weights[:, j]
    out = np.zeros((rows, k), dtype=np.int64)
    ok = (target > 0) & (wsum > 0)
    if not ok.any():
        return out
    exact = np.asarray(totals, dtype=float)[ok, None] * weights[ok] / wsum[ok, None]
    base = exact.astype(np.int64)  # the whole part (quotas are >= 0)
    short = target[ok] - base.sum(axis=1)
    order = np.argsort(-(exact - base), axis=1, kind="stable")  # largest remainder first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(k), order.shape), axis=1)
    out[ok] = base + (rank < short[:, None])
    return out
