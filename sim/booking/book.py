"""An appointment book: slot inventory per day, release rules and earliest-fit booking.

A book belongs to one clinic (a practice's GPs, its nurses, a locality hub...). Each day has
two pools of slots, each a sorted tuple of start times (minutes after midnight, repeated when
several clinicians work in parallel):

* **pre-bookable** slots open ``horizon_days`` ahead and stay bookable until they start;
* **on-the-day** slots are released only on their own day.

Slots in a pool are taken in time order, so a pool's state is one pointer per day: the index of
its next free slot. A same-day booking jumps the pointer past slots that have already started
(those are lost: an unbooked slot in the past is wasted capacity). Bookings are instantaneous
decisions, so the book is plain Python lists, not a SimPy resource: this is the hot path.
"""

from __future__ import annotations

from bisect import bisect_left

NO_SLOT = (-1, -1)


class AppointmentBook:
    """Slots of one clinic over the whole run.

    Parameters
    ----------
    prebook_templates, on_the_day_templates
        For each weekday (Mon = 0 .. Sun = 6), the sorted slot start minutes of that pool.
    weekday_of_day
        Weekday of every simulated day (length = days in the run).
    horizon_days
        Pre-bookable slots on day ``d`` can be booked from day ``d - horizon_days``.
    min_notice_minutes
        A same-day booking needs a slot starting at least this long after the request.
    """

    __slots__ = (
        "_pre",
        "_otd",
        "_next_pre",
        "_next_otd",
        "_first_free_pre",
        "horizon_days",
        "min_notice",
        "n_days",
    )

    def __init__(
        self,
        prebook_templates: list[tuple[int, ...]],
        on_the_day_templates: list[tuple[int, ...]],
        weekday_of_day: list[int],
        horizon_days: int,
        min_notice_minutes: int,
    ):
        self._pre = [prebook_templates[w] for w in weekday_of_day]
        self._otd = [on_the_day_templates[w] for w in weekday_of_day]
        self.n_days = len(weekday_of_day)
        self._next_pre = [0] * self.n_days
        self._next_otd = [0] * self.n_days
        self._first_free_pre = 0  # every pre-bookable pool before this day is full
        self.horizon_days = horizon_days
        self.min_notice = min_notice_minutes

    # -- capacity -----------------------------------------------------------------------------

    def slots_on(self, day: int) -> int:
        """Slots offered on ``day`` (both pools)."""
        return len(self._pre[day]) + len(self._otd[day])

    def slot_times_on(self, day: int) -> tuple[int, ...]:
        """Start minutes of every slot offered on ``day`` (both pools)."""
        return self._pre[day] + self._otd[day]

    def free_prebook_on(self, day: int) -> int:
        return len(self._pre[day]) - self._next_pre[day]

    # -- booking ------------------------------------------------------------------------------

    def book_today(self, day: int, minute: float, use_on_the_day: bool = True) -> int:
        """Book the earliest slot today starting after ``minute`` + notice.

        Returns the slot's start minute, or -1 when none is left today.
        """
        earliest = minute + self.min_notice
        pre = self._pre[day]
        i = self._next_pre[day]
        if i < len(pre) and pre[i] < earliest:
            i = bisect_left(pre, earliest, i)
        best_pre = pre[i] if i < len(pre) else None
        if use_on_the_day:
            otd = self._otd[day]
            j = self._next_otd[day]
            if j < len(otd) and otd[j] < earliest:
                j = bisect_left(otd, earliest, j)
            if j < len(otd) and (best_pre is None or otd[j] <= best_pre):
                self._next_otd[day] = j + 1
                return otd[j]
        if best_pre is None:
            self._next_pre[day] = len(pre)
            return -1
        self._next_pre[day] = i + 1
        return best_pre

    def peek_today(self, day: int, minute: float, use_on_the_day: bool = True) -> int:
        """The slot :meth:`book_today` would give, without booking it (-1 if none)."""
        earliest = minute + self.min_notice
        pre = self._pre[day]
        i = bisect_left(pre, earliest, self._next_pre[day])
        best = pre[i] if i < len(pre) else -1
        if use_on_the_day:
            otd = self._otd[day]
            j = bisect_left(otd, earliest, self._next_otd[day])
            if j < len(otd) and (best < 0 or otd[j] <= best):
                best = otd[j]
        return best

    def find_future(self, today: int, first_day: int, last_day: int) -> int:
        """The earliest day in ``[first_day, last_day]`` (all after ``today``) with a free
        pre-bookable slot, within the booking horizon; -1 if none."""
        last = today + self.horizon_days
        if last_day < last:
            last = last_day
        if last >= self.n_days:
            last = self.n_days - 1
        # Days up to today are never asked for again, so the hint is at least tomorrow.
        hint = self._first_free_pre
        if hint <= today:
            hint = today + 1
        can_move_hint = first_day <= hint
        d = hint if can_move_hint else first_day
        nxt, pre = self._next_pre, self._pre
        while d <= last:
            if nxt[d] < len(pre[d]):
                if can_move_hint:
                    self._first_free_pre = d  # every day from the old hint to here is full
                return d
            d += 1
        if can_move_hint and last >= hint:
            self._first_free_pre = last + 1
        return -1

    def book_future(self, today: int, first_day: int, last_day: int) -> tuple[int, int]:
        """Book the earliest free pre-bookable slot in ``[first_day, last_day]`` (all after
        ``today``): (day, start minute), or :data:`NO_SLOT`. One call for
        :meth:`find_future` then :meth:`book_on`, the booking pass's commonest step."""
        d = self.find_future(today, first_day, last_day)
        if d < 0:
            return NO_SLOT
        i = self._next_pre[d]
        self._next_pre[d] = i + 1
        return d, self._pre[d][i]

    def first_prebook_minute(self, day: int) -> int:
        """Start of the next free pre-bookable slot on ``day`` (caller checked one is free)."""
        return self._pre[day][self._next_pre[day]]

    def book_on(self, day: int) -> int:
        """Book the earliest pre-bookable slot on a future ``day`` (caller checked it is free)."""
        i = self._next_pre[day]
        self._next_pre[day] = i + 1
        return self._pre[day][i]

    def third_next_available_days(self, day: int, minute: float, horizon: int) -> float:
        """Days from now until the third free pre-bookable slot (``horizon`` + 1 if none).

        The standard access measure: less sensitive to one cancellation than the next slot.
        """
        found = 0
        pre = self._pre[day]
        i = bisect_left(pre, minute, self._next_pre[day])
        free_today = len(pre) - i
        if free_today >= 3:
            return (pre[i + 2] - minute) / 1440.0
        found = free_today
        last = min(day + horizon, self.n_days - 1)
        for d in range(day + 1, last + 1):
            free = len(self._pre[d]) - self._next_pre[d]
            if found + free >= 3:
                slot = self._pre[d][self._next_pre[d] + (2 - found)]
                return d - day + (slot - minute) / 1440.0
            found += free
        return float(horizon + 1)


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
