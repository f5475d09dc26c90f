"""The appointment book as a Python object: a view of one book in array form that books
through the same compiled functions as the booking pass (:mod:`sim.booking.books`).

Services build their books as :class:`AppointmentBook` objects; the booking pass stacks their
arrays into one set and books there (the objects keep their capacity, unbooked). Tests,
notebooks and the validation suite book through the object: every call runs the production
code.
"""

from __future__ import annotations

from sim.booking import books as compiled_books
from sim.booking.books import ArrayBooks, weekly_books

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

    __slots__ = ("arrays",)

    def __init__(
        self,
        prebook_templates: list[tuple[int, ...]],
        on_the_day_templates: list[tuple[int, ...]],
        weekday_of_day: list[int],
        horizon_days: int,
        min_notice_minutes: int,
    ):
        self.arrays: ArrayBooks = weekly_books(
            prebook_templates,
            on_the_day_templates,
            weekday_of_day,
            horizon_days,
            min_notice_minutes,
        )

    @property
    def n_days(self) -> int:
        return self.arrays.pre_len.shape[1]

    @property
    def horizon_days(self) -> int:
        return int(self.arrays.horizon[0])

    @property
    def min_notice(self) -> int:
        return int(self.arrays.min_notice[0])

    # -- capacity -----------------------------------------------------------------------------

    def slots_on(self, day: int) -> int:
        """Slots offered on ``day`` (both pools)."""
        return int(self.arrays.pre_len[0, day] + self.arrays.otd_len[0, day])

    def slots_between(self, first_day: int, last_day: int) -> int:
        """Slots offered on days ``first_day .. last_day - 1`` (both pools)."""
        a = self.arrays
        return int(a.pre_len[0, first_day:last_day].sum() + a.otd_len[0, first_day:last_day].sum())

    def slot_times_on(self, day: int) -> tuple[int, ...]:
        """Start minutes of every slot offered on ``day`` (pre-bookable, then on-the-day)."""
        a = self.arrays
        pre = a.pre_slots[a.pre_start[0, day] : a.pre_start[0, day] + a.pre_len[0, day]]
        otd = a.otd_slots[a.otd_start[0, day] : a.otd_start[0, day] + a.otd_len[0, day]]
        return tuple(pre.tolist()) + tuple(otd.tolist())

    def free_prebook_on(self, day: int) -> int:
        """Pre-bookable slots of ``day`` not yet booked (nor passed by a same-day booking)."""
        return int(self.arrays.pre_len[0, day] - self.arrays.next_pre[0, day])

    # -- booking (the compiled functions of sim.booking.books, on book 0 of self.arrays) -------

    def book_today(self, day: int, minute: float) -> int:
        """Book the earliest slot today starting at least the notice after ``minute``: its
        start minute, or -1 when none is left today."""
        return int(compiled_books.book_today(self.arrays, 0, day, float(minute)))

    def peek_today(self, day: int, minute: float) -> int:
        """The slot :meth:`book_today` would give, without booking it (-1 if none)."""
        return int(compiled_books.peek_today(self.arrays, 0, day, float(minute)))

    def find_future(self, today: int, first_day: int, last_day: int) -> int:
        """The earliest day in ``[first_day, last_day]`` (all after ``today``) with a free
        pre-bookable slot, within the booking horizon; -1 if none."""
        return int(compiled_books.find_future(self.arrays, 0, today, first_day, last_day))

    def book_future(self, today: int, first_day: int, last_day: int) -> tuple[int, int]:
        """Book the earliest free pre-bookable slot in ``[first_day, last_day]`` (all after
        ``today``): (day, start minute), or :data:`NO_SLOT`."""
        d, m = compiled_books.book_future(self.arrays, 0, today, first_day, last_day)
        return int(d), int(m)

    def book_earliest(
        self, today: int, minute: float, first_day: int, last_day: int
    ) -> tuple[int, int]:
        """Book the earliest slot in ``[first_day, last_day]`` (today's in either pool, else a
        later pre-bookable one): (day, start minute), or :data:`NO_SLOT`."""
        d, m = compiled_books.book_earliest(
            self.arrays, 0, today, float(minute), first_day, last_day
        )
        return int(d), int(m)

    def first_prebook_minute(self, day: int) -> int:
        """Start of the next free pre-bookable slot on ``day`` (caller checked one is free)."""
        return int(compiled_books.first_prebook_minute(self.arrays, 0, day))

    def book_on(self, day: int) -> int:
        """Book the earliest pre-bookable slot on a future ``day`` (caller checked it is free)."""
        return int(compiled_books.book_on(self.arrays, 0, day))

    def third_next_available_days(self, day: int, minute: float, horizon: int) -> float:
        """Days from now until the third free pre-bookable slot (``horizon`` + 1 if none)."""
        return float(
            compiled_books.third_next_available_days(self.arrays, 0, day, float(minute), horizon)
        )


def stack_books(book_list: list[AppointmentBook]) -> ArrayBooks:
    """The array form of several books, in order (book ``k`` is row ``k``), copied."""
    return compiled_books.stack([b.arrays for b in book_list])


__all__ = ["NO_SLOT", "AppointmentBook", "stack_books"]
