"""Patient journeys through general practice: request, earliest-fit booking, what happens when
no slot is found in time, and attendance.

A request is handled at the moment it is made (bookings are instantaneous decisions), in time
order over the whole run. Needs arising while practices are shut wait for the next opening,
except urgent ones, which end in their own terminal state until other services route them.
Call-backs re-enter the time-ordered stream at the next working day's opening.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from . import ledger
from .calendar import MINUTES_PER_DAY, Calendar
from .config import STAFF_NEEDS, STAFF_TYPES, URGENCIES, ModelConfig
from .demand import ROUTINE, SOON, URGENT, Episodes
from .services.practice import PracticeBooks

ANY_STAFF = STAFF_NEEDS.index("any")
GOLDEN = 0.6180339887498949  # rotates a uniform for repeated decisions, keeping it uniform
ACTION_BOOK_LATER, ACTION_CALLBACK, ACTION_GIVE_UP = range(3)


@dataclass
class PracticeJourneys:
    """What happened to each episode at its practice (arrays aligned with :class:`Episodes`)."""

    outcome: np.ndarray  # int8 terminal state (see ledger.TERMINAL_STATES)
    first_request_time: np.ndarray  # float64 minute of the first request, NaN if none made
    booked_time: np.ndarray  # float64 minute the booking was made, NaN if never booked
    appointment_day: np.ndarray  # int32, -1 if never booked
    appointment_minute: np.ndarray  # int16 minutes after midnight, -1 if never booked
    staff_type: np.ndarray  # int8 index into STAFF_TYPES, -1 if never booked
    attempts: np.ndarray  # int8 requests made (1 + call-backs)
    # Third-next-available GP appointment, days, sampled at each working day's opening:
    # (n_days, n_practices), NaN on days not sampled.
    third_next_available: np.ndarray


def dna_probability_by_lead(cfg: ModelConfig, max_lead: int) -> list[float]:
    """DNA probability for each whole lead time 0..max_lead days (step function)."""
    dna = cfg.assumptions.dna
    table = []
    for lead in range(max_lead + 1):
        band = sum(1 for upper in dna.lead_days_upper if lead > upper)
        table.append(dna.probability[band])
    return table


def request_times(
    ep: Episodes, cfg: ModelConfig, calendar: Calendar
) -> tuple[np.ndarray, np.ndarray]:
    """Minute each need first reaches its practice, and which are urgent out-of-hours.

    Needs arising in core hours are made at once; others wait for the next opening. Urgent
    needs out of hours wait only if their draw says so (share in config); the rest are flagged.
    """
    hours = cfg.site.core_hours
    open_m, close_m = hours.open_minute, hours.close_minute
    n_days = calendar.n_days
    day = (ep.time // MINUTES_PER_DAY).astype(np.int64)
    minute = ep.time - day * MINUTES_PER_DAY
    working = calendar.is_working[np.minimum(day, n_days - 1)]
    in_hours = working & (minute >= open_m) & (minute < close_m)
    before_open_today = working & (minute < open_m)
    next_day = calendar.next_working[np.minimum(day + 1, n_days)]
    open_day = np.where(before_open_today, day, next_day)
    waiting_time = open_day * MINUTES_PER_DAY + open_m
    request = np.where(in_hours, ep.time, waiting_time.astype(float))
    waits = ep.uniforms["ooh_choice"] < cfg.assumptions.booking.urgent_out_of_hours_waits_share
    urgent_ooh = (~in_hours) & (ep.urgency == URGENT) & ~waits
    return request, urgent_ooh


def run_practice_journeys(
    ep: Episodes, cfg: ModelConfig, calendar: Calendar, books: PracticeBooks
) -> PracticeJourneys:
    """Book every episode into its practice's appointment books, in time order."""
    n = len(ep)
    booking = cfg.assumptions.booking
    # The books run past the end of the simulation so late requests can book ahead.
    n_days = calendar.n_days
    run_days = calendar.run_days
    end_minute = run_days * MINUTES_PER_DAY
    open_m = cfg.site.core_hours.open_minute
    horizon = cfg.site.practice_capacity.booking_horizon_days
    target = booking.target_days
    max_callbacks = booking.max_callbacks

    # Per-urgency cumulative action thresholds: u < t0 -> book later, < t1 -> call back.
    thresholds = []
    for u in URGENCIES:
        r = booking.no_slot[u]
        thresholds.append((r.book_later, r.book_later + r.callback_next_day))
    soon_deadline = [calendar.add_working_days(d, target["soon"]) for d in range(n_days)]
    next_open = [
        int(calendar.next_working[min(d + 1, n_days)]) * MINUTES_PER_DAY + open_m
        for d in range(n_days)
    ]
    dna_table = dna_probability_by_lead(cfg, n_days + horizon + 1)

    request, urgent_ooh = request_times(ep, cfg, calendar)

    outcome = [ledger.PENDING] * n
    first_request = [float("nan")] * n
    booked_time = [float("nan")] * n
    appt_day = [-1] * n
    appt_min = [-1] * n
    staff_used = [-1] * n
    attempts = [0] * n

    practice = ep.practice.tolist()
    urgency = ep.urgency.tolist()
    staff_need = ep.staff_need.tolist()
    offset = ep.earliest_offset_days.tolist()
    u_dna = ep.uniforms["dna"].tolist()
    u_choice = ep.uniforms["no_slot_choice"].tolist()
    book_rows = books.books
    all_staff = list(range(len(STAFF_TYPES)))

    def find_and_book(row, staff_list, today, minute, first, last):
        """Book the earliest slot in days [first, last] among the staff types in ``staff_list``
        of a practice's books ``row``; returns (day, minute, staff) or None."""
        best = None
        for s in staff_list:
            book = row[s]
            if first <= today:
                slot = book.peek_today(today, minute)
                if slot >= 0:
                    if best is None or (today, slot) < best[:2]:
                        best = (today, slot, s)
                    continue
                lo = today + 1
            else:
                lo = first
            if lo <= last:
                d = book.find_future(today, lo, last)
                if d >= 0:
                    cand = (d, book.first_prebook_minute(d), s)
                    if best is None or cand[:2] < best[:2]:
                        best = cand
        if best is None:
            return None
        d, _, s = best
        slot = row[s].book_today(today, minute) if d == today else row[s].book_on(d)
        return d, slot, s

    callbacks: list[tuple[float, int, int]] = []  # (time, episode, attempt)

    def handle(i: int, t: float, attempt: int) -> None:
        attempts[i] = attempt + 1
        if t >= end_minute:
            outcome[i] = ledger.WAITING_AT_END
            return
        today = int(t // MINUTES_PER_DAY)
        minute = t - today * MINUTES_PER_DAY
        urg = urgency[i]
        if urg == URGENT:
            first, last = today, today + target["urgent"]
        elif urg == SOON:
            first, last = today, soon_deadline[today]
        else:
            first = today + offset[i]
            last = max(first, today + target["routine"])
        row = book_rows[practice[i]]
        need = staff_need[i]
        staff_list = all_staff if need == ANY_STAFF else (need,)
        got = find_and_book(row, staff_list, today, minute, first, last)
        if got is None:
            u = (u_choice[i] + attempt * GOLDEN) % 1.0
            t0, t1 = thresholds[urg]
            action = ACTION_BOOK_LATER if u < t0 else ACTION_CALLBACK if u < t1 else ACTION_GIVE_UP
            if action == ACTION_BOOK_LATER:
                got = find_and_book(row, staff_list, today, minute, last + 1, today + horizon)
                if got is None:
                    action = ACTION_CALLBACK
            if got is None:
                if action == ACTION_CALLBACK and attempt < max_callbacks:
                    heapq.heappush(callbacks, (next_open[today], i, attempt + 1))
                else:
                    outcome[i] = ledger.GAVE_UP
                return
        d, slot, s = got
        booked_time[i] = t
        appt_day[i] = d
        appt_min[i] = slot
        staff_used[i] = s
        if d >= run_days:
            outcome[i] = ledger.WAITING_AT_END
        elif u_dna[i] < dna_table[d - today]:  # DNA rises with the booking's lead time
            outcome[i] = ledger.DID_NOT_ATTEND
        else:
            outcome[i] = ledger.ATTENDED_PRACTICE

    gp = STAFF_TYPES.index("gp")
    tna = np.full((n_days, len(book_rows)), np.nan)
    is_working = calendar.is_working.tolist()
    sampled_until = -1  # last day whose opening has been sampled

    def sample_access(up_to_day: int) -> None:
        """Third-next-available GP slot at the opening of each working day up to here."""
        nonlocal sampled_until
        for d in range(sampled_until + 1, min(up_to_day, run_days - 1) + 1):
            if is_working[d]:
                for p, row in enumerate(book_rows):
                    tna[d, p] = row[gp].third_next_available_days(d, open_m, horizon)
        sampled_until = max(sampled_until, up_to_day)

    order = np.argsort(request, kind="stable")
    req_list = request.tolist()
    ooh_list = urgent_ooh.tolist()
    for i in order.tolist():
        if ooh_list[i]:
            outcome[i] = ledger.URGENT_OUT_OF_HOURS
            continue
        t = req_list[i]
        while callbacks and callbacks[0][0] <= t:
            ct, j, k = heapq.heappop(callbacks)
            if ct // MINUTES_PER_DAY > sampled_until:
                sample_access(int(ct // MINUTES_PER_DAY))
            handle(j, ct, k)
        if t // MINUTES_PER_DAY > sampled_until:
            sample_access(int(t // MINUTES_PER_DAY))
        first_request[i] = t
        handle(i, t, 0)
    while callbacks:
        ct, j, k = heapq.heappop(callbacks)
        handle(j, ct, k)

    return PracticeJourneys(
        outcome=np.array(outcome, dtype=np.int8),
        first_request_time=np.array(first_request),
        booked_time=np.array(booked_time),
        appointment_day=np.array(appt_day, dtype=np.int32),
        appointment_minute=np.array(appt_min, dtype=np.int16),
        staff_type=np.array(staff_used, dtype=np.int8),
        attempts=np.array(attempts, dtype=np.int8),
        third_next_available=tna,
    )


