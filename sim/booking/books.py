"""Appointment books as arrays, and the compiled functions that book them: the one
implementation of an appointment book.

A book belongs to one clinic (a practice's GPs, its nurses, a locality hub...). Each day has
two pools of slots, each a sorted run of start times (minutes after midnight, repeated when
several clinicians work in parallel):

* **pre-bookable** slots open ``horizon`` days ahead and stay bookable until they start;
* **on-the-day** slots are released only on their own day.

Slots in a pool are taken in time order, so a pool's state is one pointer per day: the index of
its next free slot. A booked slot cancelled ahead (a patient answering a text reminder) goes
back to the book as a **released** slot of its day, bookable like a pre-bookable one from the
moment it is released; a day holds at most :data:`RELEASED_PER_DAY` of them (more are lost,
and counted). A same-day booking jumps the pointer past slots that have already started
(those are lost: an unbooked slot in the past is wasted capacity). A book also keeps a hint,
the first day that may still have a free pre-bookable slot (every day before it is full).

Many books live in one :class:`ArrayBooks` (book ``b`` is row ``b`` of each table), so the
booking pass (:mod:`sim.booking.rules`) reaches every practice, hub and clinic through one
argument. :class:`sim.booking.book.AppointmentBook` is a Python view of a single book that calls
these same functions (tests, notebooks, validation).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.core.compiled import compiled_rule

#: "From the start of the day" for :func:`released_from`: a float64 like the minutes it is
#: otherwise given, so the rule is compiled once (a literal 0 compiles a specialisation).
START_OF_DAY = np.float64(0)

MINUTES_PER_DAY = 1440.0
#: Released slots a book can hold for one day (cancellations ahead are rare: about 1 in 300
#: bookings with reminders); one more is lost and counted in ``released_lost``.
RELEASED_PER_DAY = 16

#: The tables of a set of books (all int64). A day's pool is ``slots[start:start + len]``;
#: each distinct pool is stored once and days with the same pool point at it.
ArrayBooks = namedtuple(
    "ArrayBooks",
    [
        "pre_slots",  # every distinct pre-bookable pool, concatenated
        "pre_start",  # (book, day): where that day's pool starts in pre_slots
        "pre_len",  # (book, day)
        "otd_slots",  # the same for on-the-day pools
        "otd_start",
        "otd_len",
        "next_pre",  # (book, day): index of the next free pre-bookable slot
        "next_otd",  # (book, day): index of the next free on-the-day slot
        "first_free",  # (book,): every pre-bookable pool before this day is full
        "min_notice",  # (book,): minutes a same-day booking needs before the slot starts
        "horizon",  # (book,): pre-bookable slots of day d open on day d - horizon
        "released",  # (book, day, RELEASED_PER_DAY): start minutes of slots given back
        "released_n",  # (book, day): how many of them are free
        "released_lost",  # (book,): slots given back when the day's room was full
    ],
)


def weekly_books(
    prebook_templates: list[tuple[int, ...]],
    on_the_day_templates: list[tuple[int, ...]],
    weekday_of_day: list[int],
    horizon_days: int,
    min_notice_minutes: int,
) -> ArrayBooks:
    """One book whose days repeat weekday templates (Mon = 0 .. Sun = 6), nothing booked."""
    weekday = np.asarray(weekday_of_day, dtype=np.int64)
    n_days = len(weekday)

    def pools(templates):
        lengths = np.array([len(t) for t in templates], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        flat = np.array([m for t in templates for m in t], dtype=np.int64)
        return flat, starts[weekday].reshape(1, n_days), lengths[weekday].reshape(1, n_days)

    pre_slots, pre_start, pre_len = pools(prebook_templates)
    otd_slots, otd_start, otd_len = pools(on_the_day_templates)
    return ArrayBooks(
        pre_slots=pre_slots,
        pre_start=pre_start,
        pre_len=pre_len,
        otd_slots=otd_slots,
        otd_start=otd_start,
        otd_len=otd_len,
        next_pre=np.zeros((1, n_days), dtype=np.int64),
        next_otd=np.zeros((1, n_days), dtype=np.int64),
        first_free=np.zeros(1, dtype=np.int64),
        min_notice=np.array([min_notice_minutes], dtype=np.int64),
        horizon=np.array([horizon_days], dtype=np.int64),
        released=np.zeros((1, n_days, RELEASED_PER_DAY), dtype=np.int64),
        released_n=np.zeros((1, n_days), dtype=np.int64),
        released_lost=np.zeros(1, dtype=np.int64),
    )


def stack(parts: list[ArrayBooks]) -> ArrayBooks:
    """Several sets of books as one (their rows in turn), copied with their state. Every set
    must cover the same days."""
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        table = np.zeros((0, 0), dtype=np.int64)
        cube = np.zeros((0, 0, RELEASED_PER_DAY), dtype=np.int64)
        return ArrayBooks(
            empty, table, table, empty, table, table, table, table, empty, empty, empty,
            cube, table, empty,
        )  # fmt: skip
    n_days = parts[0].pre_len.shape[1]
    if any(p.pre_len.shape[1] != n_days for p in parts):
        raise ValueError("books stacked together must cover the same days")

    def joined(slots: str, start: str):
        offsets = np.cumsum([0] + [len(getattr(p, slots)) for p in parts[:-1]])
        flat = np.concatenate([getattr(p, slots) for p in parts])
        starts = np.concatenate(
            [getattr(p, start) + o for p, o in zip(parts, offsets, strict=True)]
        )
        return flat, starts

    pre_slots, pre_start = joined("pre_slots", "pre_start")
    otd_slots, otd_start = joined("otd_slots", "otd_start")

    def rows(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])

    return ArrayBooks(
        pre_slots=pre_slots,
        pre_start=pre_start,
        pre_len=rows("pre_len"),
        otd_slots=otd_slots,
        otd_start=otd_start,
        otd_len=rows("otd_len"),
        next_pre=rows("next_pre"),
        next_otd=rows("next_otd"),
        first_free=rows("first_free"),
        min_notice=rows("min_notice"),
        horizon=rows("horizon"),
        released=rows("released"),
        released_n=rows("released_n"),
        released_lost=rows("released_lost"),
    )


# --------------------------------------------------------------------------------------------
# Booking one book
# --------------------------------------------------------------------------------------------


@compiled_rule
def bisect_left(slots, start, length, x, lo):
    """:func:`bisect.bisect_left` on the pool ``slots[start:start + length]`` from ``lo``."""
    hi = length
    while lo < hi:
        mid = (lo + hi) // 2
        if slots[start + mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@compiled_rule
def released_from(bk, b, day, earliest):
    """Index of the earliest released slot of ``day`` starting at or after ``earliest``, -1
    if none."""
    best = -1
    for k in range(bk.released_n[b, day]):
        m = bk.released[b, day, k]
        if m >= earliest and (best < 0 or m < bk.released[b, day, best]):
            best = k
    return best


@compiled_rule
def take_released(bk, b, day, k):
    """Book released slot ``k`` of ``day``: its start minute (the last takes its place)."""
    m = bk.released[b, day, k]
    n = bk.released_n[b, day] - 1
    bk.released[b, day, k] = bk.released[b, day, n]
    bk.released_n[b, day] = n
    return m


@compiled_rule
def release(bk, b, day, minute):
    """Give a booked slot back to the book (a cancellation ahead): bookable from now on. The
    first-free hint moves back to its day if it was past it."""
    n = bk.released_n[b, day]
    if n >= bk.released.shape[2]:
        bk.released_lost[b] += 1
        return
    bk.released[b, day, n] = minute
    bk.released_n[b, day] = n + 1
    if bk.first_free[b] > day:
        bk.first_free[b] = day


@compiled_rule
def book_today(bk, b, day, minute):
    """Book the earliest slot of either pool on ``day`` that starts at least the notice after
    ``minute``: its start minute, or -1 when none is left today. On a tie the on-the-day slot
    is used and the pre-bookable one kept. A released slot is taken only when strictly
    earlier than both."""
    earliest = minute + bk.min_notice[b]
    if bk.released_n[b, day] > 0:
        k = released_from(bk, b, day, earliest)
        if k >= 0:
            m = bk.released[b, day, k]
            regular = peek_regular(bk, b, day, earliest)
            if regular < 0 or m < regular:
                return take_released(bk, b, day, k)
    ps, pn = bk.pre_start[b, day], bk.pre_len[b, day]
    i = bk.next_pre[b, day]
    if i < pn and bk.pre_slots[ps + i] < earliest:
        i = bisect_left(bk.pre_slots, ps, pn, earliest, i)
    has_pre = i < pn
    best_pre = bk.pre_slots[ps + i] if has_pre else -1
    os, on = bk.otd_start[b, day], bk.otd_len[b, day]
    j = bk.next_otd[b, day]
    if j < on and bk.otd_slots[os + j] < earliest:
        j = bisect_left(bk.otd_slots, os, on, earliest, j)
    if j < on and (not has_pre or bk.otd_slots[os + j] <= best_pre):
        bk.next_otd[b, day] = j + 1
        return bk.otd_slots[os + j]
    if not has_pre:
        bk.next_pre[b, day] = pn
        return -1
    bk.next_pre[b, day] = i + 1
    return best_pre


@compiled_rule
def peek_today(bk, b, day, minute):
    """The slot :func:`book_today` would give, not booked (-1 if none)."""
    earliest = minute + bk.min_notice[b]
    best = peek_regular(bk, b, day, earliest)
    if bk.released_n[b, day] > 0:
        k = released_from(bk, b, day, earliest)
        if k >= 0 and (best < 0 or bk.released[b, day, k] < best):
            best = bk.released[b, day, k]
    return best


@compiled_rule
def peek_regular(bk, b, day, earliest):
    """The earliest slot of either pool of ``day`` from ``earliest``, not booked (-1 if none)."""
    ps, pn = bk.pre_start[b, day], bk.pre_len[b, day]
    i = bisect_left(bk.pre_slots, ps, pn, earliest, bk.next_pre[b, day])
    best = bk.pre_slots[ps + i] if i < pn else -1
    os, on = bk.otd_start[b, day], bk.otd_len[b, day]
    j = bisect_left(bk.otd_slots, os, on, earliest, bk.next_otd[b, day])
    if j < on and (best < 0 or bk.otd_slots[os + j] <= best):
        best = bk.otd_slots[os + j]
    return best


@compiled_rule
def find_future(bk, b, today, first_day, last_day):
    """The earliest day in [first_day, last_day] (all after ``today``) with a free
    pre-bookable slot, within the booking horizon and the book's days; -1 if none. Moves the
    first-free hint when the search started at or before it."""
    n_days = bk.pre_len.shape[1]
    last = today + bk.horizon[b]
    if last_day < last:
        last = last_day
    if last >= n_days:
        last = n_days - 1
    # Days up to today are never asked for again, so the hint is at least tomorrow.
    hint = bk.first_free[b]
    if hint <= today:
        hint = today + 1
    can_move_hint = first_day <= hint
    d = hint if can_move_hint else first_day
    while d <= last:
        if bk.next_pre[b, d] < bk.pre_len[b, d] or bk.released_n[b, d] > 0:
            if can_move_hint:
                bk.first_free[b] = d  # every day from the old hint to here is full
            return d
        d += 1
    if can_move_hint and last >= hint:
        bk.first_free[b] = last + 1
    return -1


@compiled_rule
def first_prebook_minute(bk, b, day):
    """Start of the next free pre-bookable slot on ``day``, released ones included (the caller
    checked one is free)."""
    i = bk.next_pre[b, day]
    regular = bk.pre_slots[bk.pre_start[b, day] + i] if i < bk.pre_len[b, day] else -1
    if bk.released_n[b, day] > 0:
        k = released_from(bk, b, day, START_OF_DAY)
        if regular < 0 or bk.released[b, day, k] < regular:
            return bk.released[b, day, k]
    return regular


@compiled_rule
def book_on(bk, b, day):
    """Book the next pre-bookable slot on a future ``day``, or a released one when strictly
    earlier (the caller checked one is free)."""
    i = bk.next_pre[b, day]
    if bk.released_n[b, day] > 0:
        k = released_from(bk, b, day, START_OF_DAY)
        if (
            i >= bk.pre_len[b, day]
            or bk.released[b, day, k] < bk.pre_slots[bk.pre_start[b, day] + i]
        ):
            return take_released(bk, b, day, k)
    bk.next_pre[b, day] = i + 1
    return bk.pre_slots[bk.pre_start[b, day] + i]


@compiled_rule
def book_future(bk, b, today, first_day, last_day):
    """Book the earliest free pre-bookable slot in [first_day, last_day] (all after
    ``today``): (day, start minute), or (-1, -1)."""
    d = find_future(bk, b, today, first_day, last_day)
    if d < 0:
        return -1, -1
    return d, book_on(bk, b, d)


@compiled_rule
def book_earliest(bk, b, today, minute, first_day, last_day):
    """Book the earliest slot in [first_day, last_day]: today's (either pool) when the window
    includes today, else the earliest later day's pre-bookable one. (day, start minute), or
    (-1, -1). How a practice books a need for one staff type."""
    lo = first_day
    if first_day <= today:
        slot = book_today(bk, b, today, minute)
        if slot >= 0:
            return today, slot
        lo = today + 1
    if lo <= last_day:
        return book_future(bk, b, today, lo, last_day)
    return -1, -1


@compiled_rule
def third_next_available_days(bk, b, day, minute, horizon):
    """Days from ``minute`` of ``day`` to the third free pre-bookable slot (``horizon`` + 1 if
    there are fewer within ``horizon`` days). The standard access measure: less sensitive to
    one cancellation than the next free slot."""
    n_days = bk.pre_len.shape[1]
    ps, pn = bk.pre_start[b, day], bk.pre_len[b, day]
    i = bisect_left(bk.pre_slots, ps, pn, minute, bk.next_pre[b, day])
    free_today = pn - i
    if free_today >= 3:
        return (bk.pre_slots[ps + i + 2] - minute) / MINUTES_PER_DAY
    found = free_today
    last = min(day + horizon, n_days - 1)
    for d in range(day + 1, last + 1):
        free = bk.pre_len[b, d] - bk.next_pre[b, d]
        if found + free >= 3:
            slot = bk.pre_slots[bk.pre_start[b, d] + bk.next_pre[b, d] + (2 - found)]
            return d - day + (slot - minute) / MINUTES_PER_DAY
        found += free
    return float(horizon + 1)


# --------------------------------------------------------------------------------------------
# Searching several books
# --------------------------------------------------------------------------------------------


@compiled_rule
def earliest(bk, first_book, labels, today, minute, first, last):
    """The earliest free slot over books ``first_book + labels[k]`` in days [first, last],
    not booked: (day, minute, label), day -1 if none. On a tie the first listed wins."""
    best_d, best_m, best_label = -1, -1, -1
    for k in range(len(labels)):
        b = first_book + labels[k]
        if first <= today:
            slot = peek_today(bk, b, today, minute)
            if slot >= 0:
                if best_d < 0 or today < best_d or (today == best_d and slot < best_m):
                    best_d, best_m, best_label = today, slot, labels[k]
                continue
            lo = today + 1
        else:
            lo = first
        if lo <= last:
            d = find_future(bk, b, today, lo, last)
            if d >= 0:
                m = first_prebook_minute(bk, b, d)
                if best_d < 0 or d < best_d or (d == best_d and m < best_m):
                    best_d, best_m, best_label = d, m, labels[k]
    return best_d, best_m, best_label


@compiled_rule
def take(bk, b, today, minute, d):
    """Book the slot :func:`earliest` found on day ``d`` of book ``b``: its start minute."""
    return book_today(bk, b, today, minute) if d == today else book_on(bk, b, d)
