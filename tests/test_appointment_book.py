"""The appointment book: earliest fit, horizon, on-the-day release, notice, access measure.

Every call here runs the compiled functions the booking pass books with
(:mod:`sim.booking.books`), through the Python view :class:`AppointmentBook`. Books are built by
hand with slot times chosen so every answer can be worked out on paper; property tests then
compare one book, and the search over several books, with a naive reference model (lists of
free slots, searched exhaustively) over random sequences of requests.
"""

from __future__ import annotations

import copy
import datetime as dt
import math

import holidays
import numpy as np
import pytest
from conftest import configure
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.booking.book import AppointmentBook, stack_books
from sim.booking.layout import (
    largest_remainder,
    largest_remainder_rows,
    session_slot_times,
    split_on_the_day,
)
from sim.config.schema import STAFF_TYPES
from sim.core.replication import make_calendar
from sim.services.practice import build_practice_books


def make_book(pre=(), otd=(), n_days=14, horizon=7, notice=0, weekdays=None) -> AppointmentBook:
    """A book with the same slots every day (or per weekday when ``pre``/``otd`` are lists)."""
    pre_t = pre if isinstance(pre, list) else [tuple(pre)] * 7
    otd_t = otd if isinstance(otd, list) else [tuple(otd)] * 7
    days = weekdays if weekdays is not None else [d % 7 for d in range(n_days)]
    return AppointmentBook(pre_t, otd_t, days, horizon, notice)


# --------------------------------------------------------------------------------------------
# Earliest fit
# --------------------------------------------------------------------------------------------


def test_same_day_bookings_take_earliest_slots_in_time_order():
    book = make_book(pre=(540, 560, 580))
    assert book.book_today(0, 480) == 540
    assert book.book_today(0, 480) == 560
    assert book.book_today(0, 480) == 580
    assert book.book_today(0, 480) == -1
    # The next day is untouched.
    assert book.book_today(1, 480) == 540


def test_parallel_clinicians_give_repeated_slot_times():
    book = make_book(pre=(540, 540, 600))
    assert [book.book_today(0, 0) for _ in range(4)] == [540, 540, 600, -1]


def test_future_bookings_fill_the_earliest_day_first():
    book = make_book(pre=(540, 600), horizon=10)
    got = []
    for _ in range(5):
        d = book.find_future(0, 1, 10)
        got.append((d, book.first_prebook_minute(d), book.book_on(d)))
    assert [(d, m) for d, m, _ in got] == [(1, 540), (1, 600), (2, 540), (2, 600), (3, 540)]
    assert all(m == b for _, m, b in got)  # first_prebook_minute is what book_on gives
    # A search that starts later skips earlier days with free slots, and does not fill them.
    assert book.find_future(0, 5, 10) == 5
    assert book.find_future(0, 1, 10) == 3


def test_same_day_picks_earlier_of_the_two_pools():
    book = make_book(pre=(600, 700), otd=(650,))
    assert book.peek_today(0, 0) == 600
    assert book.book_today(0, 0) == 600
    assert book.book_today(0, 0) == 650
    assert book.book_today(0, 0) == 700
    assert book.book_today(0, 0) == -1


def test_peek_does_not_book():
    book = make_book(pre=(540,), otd=(600,))
    assert book.peek_today(0, 0) == 540
    assert book.peek_today(0, 0) == 540
    assert book.free_prebook_on(0) == 1
    assert book.book_today(0, 0) == 540
    assert book.peek_today(0, 0) == 600


# --------------------------------------------------------------------------------------------
# Horizon and on-the-day release
# --------------------------------------------------------------------------------------------


def test_find_future_never_beyond_horizon():
    book = make_book(pre=(540,), n_days=30, horizon=3)
    assert book.find_future(0, 1, 29) == 1
    assert book.find_future(0, 5, 29) == -1  # day 5 opens for booking on day 2
    for d in (1, 2, 3):
        assert book.find_future(0, 1, 29) == d
        book.book_on(d)
    assert book.find_future(0, 1, 29) == -1  # days 1-3 full, day 4 not open yet
    assert book.find_future(1, 2, 29) == 4  # a day later, day 4 has opened
    assert book.find_future(2, 6, 29) == -1


def test_find_future_stays_inside_the_run():
    book = make_book(pre=(540,), n_days=5, horizon=30)
    for d in range(1, 5):
        assert book.find_future(0, 1, 100) == d
        book.book_on(d)
    assert book.find_future(0, 1, 100) == -1


def test_on_the_day_slots_are_released_only_on_their_day():
    book = make_book(pre=(540,), otd=(600, 660), horizon=7)
    assert book.find_future(0, 1, 1) == 1
    assert book.book_on(1) == 540
    # Day 1 still has two on-the-day slots, but they cannot be booked ahead.
    assert book.find_future(0, 1, 1) == -1
    assert book.slots_on(1) == 3 and book.free_prebook_on(1) == 0
    # On day 1 itself they can.
    assert book.book_today(1, 480) == 600
    assert book.book_today(1, 480) == 660
    assert book.book_today(1, 480) == -1


def test_book_earliest_takes_today_else_the_earliest_later_day():
    book = make_book(pre=(540,), otd=(600,), horizon=7)
    assert book.book_earliest(0, 0, 0, 3) == (0, 540)
    assert book.book_earliest(0, 0, 0, 3) == (0, 600)  # the on-the-day slot, today
    assert book.book_earliest(0, 0, 0, 3) == (1, 540)  # tomorrow: pre-bookable only
    assert book.book_earliest(0, 0, 2, 3) == (2, 540)  # a window starting later
    assert book.book_earliest(0, 0, 1, 1) == (-1, -1)  # day 1's only pre-bookable slot gone
    assert book.book_earliest(0, 700, 0, 0) == (-1, -1)  # nothing left today after 11:40


# --------------------------------------------------------------------------------------------
# Minimum notice and wasted slots
# --------------------------------------------------------------------------------------------


def test_min_notice_is_respected():
    book = make_book(pre=(540, 570, 600), otd=(555, 630), notice=30)
    # At 08:40 (520) the earliest acceptable start is 550: 540 is too soon.
    assert book.peek_today(0, 520) == 555
    assert book.book_today(0, 520) == 555
    assert book.book_today(0, 520) == 570
    # Exactly minute + notice is acceptable.
    assert book.book_today(0, 570) == 600
    # At 601 the on-the-day slot at 630 starts in under 30 minutes: nothing is left.
    assert book.book_today(0, 601) == -1


def test_slots_already_started_are_skipped_and_wasted():
    book = make_book(pre=(540, 570, 600, 630))
    assert book.book_today(0, 580) == 600  # 540 and 570 have started
    # They are lost, not kept for later: only 630 is left today.
    assert book.free_prebook_on(0) == 1
    assert book.book_today(0, 580) == 630
    assert book.book_today(0, 580) == -1


def test_slots_inside_the_notice_period_are_wasted():
    book = make_book(pre=(540, 560, 600, 620), notice=30)
    assert book.book_today(0, 520) == 560  # 540 starts in 20 minutes: too soon
    # 540 can never be booked again (later requests need even later slots).
    assert book.free_prebook_on(0) == 2


# --------------------------------------------------------------------------------------------
# Third next available appointment
# --------------------------------------------------------------------------------------------

WEEKDAY_SLOTS = [(540, 600)] * 5 + [(), ()]  # two slots Mon-Fri, none at weekends


def test_third_next_available_on_a_hand_built_book():
    book = make_book(pre=WEEKDAY_SLOTS, n_days=21, horizon=14)
    # Monday 08:00: 09:00 and 10:00 today, the third is Tuesday 09:00 = 1 day + 1 hour.
    assert book.third_next_available_days(0, 480, 14) == pytest.approx(1 + 60 / 1440)
    # Monday 09:30: only 10:00 today; third is Tuesday 10:00 = 1 day + 30 minutes.
    assert book.third_next_available_days(0, 570, 14) == pytest.approx(1 + 30 / 1440)
    # Friday 08:00: two today, none at the weekend, third is Monday 09:00.
    assert book.third_next_available_days(4, 480, 14) == pytest.approx(3 + 60 / 1440)
    # Fill Tuesday: Monday 08:00's third slot moves to Wednesday 09:00.
    book.book_on(1)
    book.book_on(1)
    assert book.third_next_available_days(0, 480, 14) == pytest.approx(2 + 60 / 1440)


def test_third_next_available_all_today():
    book = make_book(pre=(540, 600, 660, 720))
    assert book.third_next_available_days(0, 480, 7) == pytest.approx((660 - 480) / 1440)
    book.book_today(0, 480)  # 540 taken: the third free is now 720
    assert book.third_next_available_days(0, 480, 7) == pytest.approx((720 - 480) / 1440)


def test_third_next_available_none_within_horizon():
    only_monday = [(540, 600)] + [()] * 6
    book = make_book(pre=only_monday, n_days=21, horizon=14)
    assert book.third_next_available_days(0, 480, 3) == 4.0  # horizon + 1
    # On-the-day slots do not count: they cannot be booked ahead.
    book = make_book(pre=(), otd=(540, 600, 660, 720), n_days=7)
    assert book.third_next_available_days(0, 480, 5) == 6.0


# --------------------------------------------------------------------------------------------
# Property test against a naive reference book
# --------------------------------------------------------------------------------------------


class ReferenceBook:
    """Free slots as plain lists, searched exhaustively: obviously right, slow."""

    def __init__(self, pre, otd, n_days, horizon, notice):
        self.pre = {d: sorted(pre[d % 7]) for d in range(n_days)}
        self.otd = {d: sorted(otd[d % 7]) for d in range(n_days)}
        self.n_days, self.horizon, self.notice = n_days, horizon, notice

    def peek_today(self, day, minute):
        earliest = minute + self.notice
        pre = [s for s in self.pre[day] if s >= earliest]
        otd = [s for s in self.otd[day] if s >= earliest]
        if otd and (not pre or otd[0] <= pre[0]):
            return otd[0]
        return pre[0] if pre else -1

    def book_today(self, day, minute):
        earliest = minute + self.notice
        pre = [s for s in self.pre[day] if s >= earliest]
        otd = [s for s in self.otd[day] if s >= earliest]
        if not pre and not otd:
            return -1
        # On a tie, the on-the-day slot is used and the pre-bookable one kept.
        if otd and (not pre or otd[0] <= pre[0]):
            self.otd[day].remove(otd[0])
            return otd[0]
        self.pre[day].remove(pre[0])
        return pre[0]

    def find_future(self, today, first, last):
        hi = min(last, today + self.horizon, self.n_days - 1)
        for d in range(max(first, today + 1), hi + 1):
            if self.pre[d]:
                return d
        return -1

    def book_on(self, day):
        return self.pre[day].pop(0)

    def third_next(self, day, minute, horizon):
        found = [(0, s) for s in self.pre[day] if s >= minute]
        for d in range(day + 1, min(day + horizon, self.n_days - 1) + 1):
            found += [(d - day, s) for s in self.pre[d]]
        if len(found) < 3:
            return float(horizon + 1)
        d, s = found[2]
        return d + (s - minute) / 1440


slot_minutes = st.integers(min_value=16, max_value=36).map(lambda k: k * 30)  # 08:00-18:00
day_template = st.lists(slot_minutes, max_size=5).map(lambda xs: tuple(sorted(xs)))
operation = st.tuples(
    st.integers(min_value=0, max_value=1200),  # minutes to advance the clock (x 0.5)
    st.sampled_from(["today", "future", "book_future", "third"]),
    st.integers(min_value=0, max_value=4),  # first day offset for future searches
    st.integers(min_value=0, max_value=6),  # length of the search window
)


@settings(max_examples=300, deadline=None)
@given(
    pre=st.lists(day_template, min_size=7, max_size=7),
    otd=st.lists(day_template, min_size=7, max_size=7),
    n_days=st.integers(min_value=1, max_value=15),
    horizon=st.integers(min_value=0, max_value=8),
    notice=st.sampled_from([0, 0, 15, 30]),
    ops=st.lists(operation, max_size=60),
)
def test_book_matches_reference_model(pre, otd, n_days, horizon, notice, ops):
    days = [d % 7 for d in range(n_days)]
    book = AppointmentBook(pre, otd, days, horizon, notice)
    ref = ReferenceBook(pre, otd, n_days, horizon, notice)
    clock = 0.0
    for advance, kind, offset, span in ops:
        clock += advance / 2
        day = int(clock // 1440)
        if day >= n_days:
            break
        minute = clock - day * 1440
        if kind == "today":
            expected = ref.book_today(day, minute)
            assert book.peek_today(day, minute) == expected
            assert book.book_today(day, minute) == expected
        elif kind == "future":
            first = day + offset
            last = first + span
            expected = ref.find_future(day, first, last)
            got = book.find_future(day, first, last)
            assert got == expected
            assert got == -1 or day < got <= day + horizon
            if got >= 0:
                assert book.first_prebook_minute(got) == ref.pre[got][0]
                assert book.book_on(got) == ref.book_on(got)
        elif kind == "book_future":
            first = day + offset
            expected_day = ref.find_future(day, first, first + span)
            expected = (-1, -1) if expected_day < 0 else (expected_day, ref.book_on(expected_day))
            assert book.book_future(day, first, first + span) == expected
        elif notice == 0:  # slots skipped for notice are lost in the book, free in the reference
            expected = ref.third_next(day, minute, horizon)
            assert book.third_next_available_days(day, minute, horizon) == pytest.approx(expected)


# --------------------------------------------------------------------------------------------
# Building day templates: sessions, on-the-day split, rounding
# --------------------------------------------------------------------------------------------


def test_session_slot_times_by_hand():
    # 08:30-11:30 with 3 slots: every 60 minutes; two clinicians -> each time twice.
    assert session_slot_times([(510, 690)], [2], 3) == [510, 510, 570, 570, 630, 630]
    # A session with nobody in it gives nothing; the afternoon one is kept in order.
    assert session_slot_times([(510, 690), (900, 1080)], [0, 1], 4) == [900, 945, 990, 1035]
    assert session_slot_times([(510, 690)], [3], 0) == []


def test_split_on_the_day_by_hand():
    times = list(range(500, 600, 10))
    pre, otd = split_on_the_day(times, 0.5)
    assert otd == tuple(times[1::2]) and pre == tuple(times[0::2])
    assert split_on_the_day(times, 0.0) == (tuple(times), ())
    assert split_on_the_day(times, 1.0) == ((), tuple(times))


@given(
    times=st.lists(st.integers(min_value=0, max_value=1439), max_size=80, unique=True).map(sorted),
    share=st.floats(min_value=0, max_value=1),
)
def test_split_on_the_day_share_and_spread(times, share):
    pre, otd = split_on_the_day(times, share)
    assert sorted(pre + otd) == times
    assert list(pre) == sorted(pre) and list(otd) == sorted(otd)
    # The on-the-day share holds for the whole day and for every morning-first part of it,
    # to within one slot: on-the-day capacity is spread through the day, not bunched.
    on_the_day = set(otd)
    running = 0
    for k, t in enumerate(times, start=1):
        running += t in on_the_day
        assert abs(running - k * share) < 1 + 1e-9, (k, running, share)
    assert abs(len(otd) - len(times) * share) < 1 + 1e-9


def test_largest_remainder_by_hand():
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert largest_remainder(7, [0.5, 0.3, 0.2]) == [4, 2, 1]  # quotas 3.5, 2.1, 1.4
    assert largest_remainder(0, [1, 2]) == [0, 0]
    assert largest_remainder(5, [0, 0]) == [0, 0]


def test_largest_remainder_gives_a_tied_seat_to_the_earlier_position():
    # quotas 1.5, 1.5, 1.5, 1.5 for 6 seats: the two left over go to the first two
    assert largest_remainder(6, [1, 1, 1, 1]) == [2, 2, 1, 1]
    assert largest_remainder(6, [1, 2, 1, 2]) == [1, 2, 1, 2]  # 1, 2, 1, 2 exactly: no ties


def _hamilton_one_row(total: float, weights: list[float]) -> list[int]:
    """Hamilton's method for one row in plain Python, written apart from the code under test:
    the whole part of each quota, the seats left to the largest remainders, a tie to the
    earlier position (Python's sort is stable)."""
    target, wsum = round(total), 0.0
    for w in weights:
        wsum += w
    if target <= 0 or wsum <= 0:
        return [0] * len(weights)
    exact = [total * w / wsum for w in weights]
    seats = [math.floor(q) for q in exact]
    left = target - sum(seats)
    for i in sorted(range(len(weights)), key=lambda i: exact[i] - seats[i], reverse=True)[:left]:
        seats[i] += 1
    return seats


@given(
    rows=st.lists(
        st.tuples(
            st.floats(min_value=-2, max_value=300, allow_nan=False),
            st.lists(st.sampled_from([0.0, 0.5, 1.0, 1 / 3, 2.0, 7.25]), min_size=14, max_size=14),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_largest_remainder_rows_is_the_one_row_method_row_by_row(rows):
    # weights from a few values, so that ties (where the order of seats matters) are common
    totals = np.array([t for t, _ in rows])
    weights = np.array([w for _, w in rows])
    got = largest_remainder_rows(totals, weights)
    assert got.tolist() == [_hamilton_one_row(t, w) for t, w in rows]


@given(
    total=st.floats(min_value=0, max_value=500, allow_nan=False),
    weights=st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=100)), min_size=1, max_size=12
    ),
)
def test_largest_remainder_sums_exactly_and_is_proportional(total, weights):
    seats = largest_remainder(total, weights)
    assert len(seats) == len(weights)
    assert all(isinstance(s, int) and s >= 0 for s in seats)
    wsum = sum(weights)
    if wsum == 0 or round(total) == 0:
        assert seats == [0] * len(weights)
        return
    assert sum(seats) == round(total)
    for s, w in zip(seats, weights, strict=True):
        quota = total * w / wsum
        # Hamilton's method gives each its quota rounded down or up, never further away.
        assert math.floor(quota) <= s <= math.floor(quota) + 1
        if w == 0:
            assert s == 0


# --------------------------------------------------------------------------------------------
# Practice books built from the real configuration
# --------------------------------------------------------------------------------------------


def _year_of_books(data):
    """Practice books over a year with no warm-up (day 0 is Monday 7 April 2025)."""
    run_cfg = configure(data)
    cal = make_calendar(run_cfg.model, 0, 52)
    return run_cfg, cal, build_practice_books(run_cfg.model, cal)


def _english_bank_holidays(start: dt.date, days: int) -> set[int]:
    """Weekday bank holidays as day offsets, straight from the holidays library."""
    table = holidays.country_holidays("GB", subdiv="ENG", years=range(start.year, start.year + 3))
    return {(d - start).days for d in table if d.weekday() < 5 and 0 <= (d - start).days < days}


def test_practice_books_offer_the_configured_capacity(small_data):
    code = next(iter(small_data["site"]["practices"]))
    small_data["site"]["practices"][code]["gp_fte"] = 3.25  # absolute override for one
    run_cfg, cal, books = _year_of_books(small_data)
    cap = small_data["site"]["practice_capacity"]
    start = dt.date.fromisoformat(small_data["site"]["calendar_start"])
    year = range(364)
    closed = _english_bank_holidays(start, 364)
    # 18 and 21 Apr, 5 and 26 May, 25 Aug, 25 and 26 Dec 2025, 1 Jan and 3 Apr 2026
    assert len(closed) == 9
    third_thursdays = [
        d for d in year if d % 7 == 3 and 15 <= (start + dt.timedelta(days=d)).day <= 21
    ]
    assert len(third_thursdays) == 12
    assert books.codes == list(small_data["site"]["practices"])
    for p, (pcode, practice) in enumerate(small_data["site"]["practices"].items()):
        for s, staff in enumerate(STAFF_TYPES):
            sc = cap[staff]
            fte = practice.get(f"{staff}_fte")
            if fte is None:
                fte = sc["fte_per_1000"] * practice["list_size"] / 1000
            per_year = fte * sc["sessions_per_fte_week"] * sc["weeks_available_per_year"]
            book = books.books[p][s]
            slots = [book.slots_on(d) for d in year]
            # The year's sessions are those funded, whatever the closures (sickness moves them
            # between months; months differ in length, hence the small tolerance).
            got = sum(slots) / sc["slots_per_session"]
            assert abs(got - per_year) <= 1 + 0.005 * per_year, (pcode, staff, got, per_year)
            # Nothing at weekends or on bank holidays; nothing from 12:00 on PLT afternoons.
            assert all(slots[d] == 0 for d in year if d % 7 >= 5 or d in closed), (pcode, staff)
            assert all(min(book.slot_times_on(d), default=0) < 720 for d in third_thursdays)
            assert all(max(book.slot_times_on(d), default=0) < 720 for d in third_thursdays)
            # Heavier-weighted weekdays get more sessions over the year.
            by_weekday = [sum(slots[d] for d in year if d % 7 == wd) for wd in range(5)]
            assert by_weekday[0] > by_weekday[4], (pcode, staff, by_weekday)
            # On-the-day share: within one slot per open day of the configured share.
            otd = sum(book.slots_on(d) - book.free_prebook_on(d) for d in year)
            open_days = sum(1 for d in year if slots[d])
            assert abs(otd - cap["on_the_day_share"] * sum(slots)) <= open_days


def test_winter_sickness_moves_sessions_out_of_winter(real_data):
    weight = real_data["site"]["practice_capacity"]["weekday_weight"]

    def per_weighted_day(data, months: set[int]) -> float:
        """Slots per working day, each day counted by its weekday's weight (so months with
        more Mondays are not busier for that reason)."""
        _, cal, books = _year_of_books(data)
        days = [d for d in range(364) if cal.is_working[d] and cal.month[d] + 1 in months]
        slots = sum(b.slots_on(d) for row in books.books for b in row for d in days)
        return slots / sum(weight[d % 7] for d in days)

    ratio = per_weighted_day(real_data, {12, 1, 2}) / per_weighted_day(real_data, {6, 7, 8})
    # sickness 5.7%, 5.7%, 5.5% in Dec, Jan, Feb; 4.4% in summer
    assert ratio == pytest.approx((1 - 0.0563) / (1 - 0.044), abs=0.003)
    # and with sickness the same all year, the seasons match
    flat = copy.deepcopy(real_data)
    flat["assumptions"]["workforce"]["sickness_absence_by_month"] = [0.05] * 12
    ratio = per_weighted_day(flat, {12, 1, 2}) / per_weighted_day(flat, {6, 7, 8})
    assert ratio == pytest.approx(1, abs=0.003)


@settings(max_examples=150, deadline=None)
@given(
    templates=st.lists(
        st.tuples(
            st.lists(day_template, min_size=7, max_size=7),
            st.lists(day_template, min_size=7, max_size=7),
        ),
        min_size=1,
        max_size=4,
    ),
    horizon=st.integers(min_value=0, max_value=6),
    notice=st.sampled_from([0, 30]),
    requests=st.lists(
        st.tuples(
            st.integers(0, 9),  # day
            st.integers(0, 2400),  # minute x 0.5
            st.integers(-1, 3),  # first day of the window, from today
            st.integers(0, 5),  # its length
            st.permutations([0, 1, 2, 3]),  # order the books are listed in
        ),
        max_size=30,
    ),
)
def test_search_over_several_books_matches_reference(templates, horizon, notice, requests):
    """The booking pass's search over several books (a need for any clinician, the clinics'
    single point of access, a hub): the earliest slot of any listed book, the first listed
    winning a tie; then taking it books that book exactly as the reference does."""
    import numpy as np

    from sim.booking import books as compiled_books

    n_days = 12
    days = [d % 7 for d in range(n_days)]
    books = [AppointmentBook(pre, otd, days, horizon, notice) for pre, otd in templates]
    refs = [ReferenceBook(pre, otd, n_days, horizon, notice) for pre, otd in templates]
    arrays = stack_books(books)
    # The pass moves forward in time (a book's first-free hint relies on it).
    for today, half_minutes, offset, span, order in sorted(requests, key=lambda r: r[:2]):
        minute = half_minutes / 2
        first = today + offset
        last = first + span
        labels = np.array([k for k in order if k < len(books)], dtype=np.int64)
        candidates = []  # (day, minute, position in the list)
        for pos, k in enumerate(labels):
            if first <= today:
                slot = refs[k].peek_today(today, minute)
                if slot >= 0:
                    candidates.append((today, slot, pos))
                    continue
            d = refs[k].find_future(today, max(first, today + 1), last)
            if d >= 0:
                candidates.append((d, refs[k].pre[d][0], pos))
        got = compiled_books.earliest(arrays, 0, labels, today, minute, first, last)
        if not candidates:
            assert got[0] == -1
            continue
        day, slot, pos = min(candidates)
        assert got == (day, slot, labels[pos])
        taken = compiled_books.take(arrays, labels[pos], today, minute, day)
        expected = (
            refs[labels[pos]].book_today(today, minute)
            if day == today
            else (refs[labels[pos]].book_on(day))
        )
        assert taken == expected == slot


def test_stacked_books_keep_their_slots_and_state():
    a = make_book(pre=(540, 600), otd=(660,), n_days=7)
    b = make_book(pre=(700,), n_days=7, horizon=3, notice=30)
    assert a.book_today(0, 0) == 540  # state before stacking is kept
    arrays = stack_books([a, b])
    assert arrays.pre_len.shape == (2, 7)
    assert arrays.horizon.tolist() == [7, 3] and arrays.min_notice.tolist() == [0, 30]
    from sim.booking import books as compiled_books

    assert compiled_books.book_today(arrays, 0, 0, 0.0) == 600
    assert compiled_books.book_today(arrays, 1, 0, 0.0) == 700
    assert compiled_books.book_today(arrays, 0, 0, 0.0) == 660
    # Stacking copies: the books themselves are untouched by bookings in the stack.
    assert a.book_today(0, 0) == 600 and b.free_prebook_on(0) == 1
