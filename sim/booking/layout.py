"""Laying out a clinic's slots: sessions into slot times, the on-the-day share, rounding
capacity to whole sessions or slots. Services use these to build their books."""

from __future__ import annotations


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
    target = int(round(total))
    wsum = sum(weights)
    if target <= 0 or wsum <= 0:
        return [0] * len(weights)
    exact = [total * w / wsum for w in weights]
    base = [int(x) for x in exact]
    short = target - sum(base)
    order = sorted(range(len(weights)), key=lambda i: exact[i] - base[i], reverse=True)
    for i in order[: max(short, 0)]:
        base[i] += 1
    return base
