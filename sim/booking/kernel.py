"""The booking pass, compiled: the rules of :mod:`sim.booking.journey` over arrays, with numba.

:func:`sim.booking.journey.run_journeys` prepares everything that can be computed for all
episodes at once (with numpy), then hands the sequential part to :func:`booking_pass` here: one
heap of
events in time order, every booking changing the books the next request sees. The Python
:class:`~sim.booking.book.AppointmentBook` stays the definition of a book (tests and
validation drive it directly); :class:`ArrayBooks` is the same books as arrays, and the
functions below (``book_today``, ``peek_today``, ``find_future``...) are its methods written
out, statement for statement, so the two give the same slots (tests hold them together).

Results must be byte-identical to the interpreted pass this replaced, so the arithmetic
follows it operation for operation: no fastmath, ``t // 1440`` on floats, uint64 splitmix64 for
keyed uniforms (explicit uint64 constants: numba turns mixed int64/uint64 into float64), and
the event heap orders ties as Python tuples (time, kind, episode, arg) do.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from sim.core import ledger
from sim.core.demand import SOON, URGENT

MINUTES_PER_DAY = 1440
GOLDEN = 0.6180339887498949  # as in sim.booking.journey: rotates a uniform for repeated decisions
ESCALATION_DELAY_MINUTES = 12 * 60

# Codes shared with sim.booking.journey (it imports them from here)
EV_REQUEST, EV_RAC = 0, 1
FIRST_CHOICE_ONLINE, FIRST_CHOICE_PHARMACY, FIRST_CHOICE_HUB = 1, 2, 3
(
    AE_VIA_DISPLACED,
    AE_VIA_NHS111,
    AE_VIA_AMBULANCE,
    AE_VIA_RAC_NO_SLOT,
    AE_VIA_ESCALATION,
    AE_VIA_GP_REFERRAL,
) = range(6)
ADMIT_FROM_RAC, ADMIT_FROM_RAC_NO_SLOT = range(2)
STEP_UP_FROM_PRACTICE, STEP_UP_FROM_RAC = range(2)
# NHS 111 dispositions and clinic outcomes, in config order (checked in sim.booking.journey)
DISPOSITION_SELF_CARE, DISPOSITION_PHARMACY, DISPOSITION_PRIMARY_CARE, DISPOSITION_AE = range(4)
RAC_HOME, RAC_INTERMEDIATE_CARE = range(2)

# Terminal states, as plain ints for the compiled code
PENDING = ledger.PENDING
ATTENDED_PRACTICE = ledger.ATTENDED_PRACTICE
DID_NOT_ATTEND = ledger.DID_NOT_ATTEND
GAVE_UP = ledger.GAVE_UP
WAITING_AT_END = ledger.WAITING_AT_END
ATTENDED_HUB = ledger.ATTENDED_HUB
SELF_CARE = ledger.SELF_CARE
PHARMACY = ledger.PHARMACY
OUT_OF_HOURS_GP = ledger.OUT_OF_HOURS_GP
ADMITTED = ledger.ADMITTED
RAC_HOME_STATE = ledger.RAC_HOME
RESOLVED_ONLINE = ledger.RESOLVED_ONLINE
FRAIL_WEEKEND_GP = ledger.FRAIL_WEEKEND_GP
PHARMACY_FIRST = ledger.PHARMACY_FIRST

# splitmix64 constants as uint64 (a bare int literal above 2**63 would not stay unsigned)
_SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SPLITMIX_M1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_M2 = np.uint64(0x94D049BB133111EB)
_U30, _U27, _U31, _U11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO_TO_MINUS_53 = 1.0 / (1 << 53)


# Everything below but the driver (booking_pass) neither allocates nor keeps a reference, so
# it is compiled without reference counting: with it, every read of an array out of the
# grouped arguments cost an atomic increment and decrement, most of the pass's time.
rule = njit(cache=True, _nrt=False)

# --------------------------------------------------------------------------------------------
# Appointment books as arrays
# --------------------------------------------------------------------------------------------

ArrayBooks = namedtuple(
    "ArrayBooks",
    [
        "pre_slots",  # int64: every distinct pre-bookable day pool, concatenated
        "pre_start",  # int64 (book, day): where that day's pool starts in pre_slots
        "pre_len",  # int64 (book, day)
        "otd_slots",  # the same for on-the-day pools
        "otd_start",
        "otd_len",
        "next_pre",  # int64 (book, day): AppointmentBook._next_pre
        "next_otd",  # int64 (book, day): AppointmentBook._next_otd
        "first_free",  # int64 (book,): AppointmentBook._first_free_pre
        "min_notice",  # int64 (book,)
        "horizon",  # int64 (book,)
    ],
)


def _pack_pools(pools_by_book: list[list[tuple[int, ...]]], n_days: int):
    # A book's day pools are its weekday templates repeated, so each distinct pool is stored
    # once (by identity) and days point into it.
    flat: list[int] = []
    seen: dict[int, int] = {}
    start = np.zeros((len(pools_by_book), n_days), dtype=np.int64)
    length = np.zeros((len(pools_by_book), n_days), dtype=np.int64)
    for b, pools in enumerate(pools_by_book):
        for d, pool in enumerate(pools):
            at = seen.get(id(pool))
            if at is None:
                at = seen[id(pool)] = len(flat)
                flat.extend(pool)
            start[b, d] = at
            length[b, d] = len(pool)
    return np.array(flat, dtype=np.int64), start, length


def pack_books(books: list) -> ArrayBooks:
    """The array form of ``books`` (AppointmentBook objects), their pointers included."""
    n_days = books[0].n_days if books else 0
    if any(b.n_days != n_days for b in books):
        raise ValueError("books packed together must cover the same days")
    pre_slots, pre_start, pre_len = _pack_pools([b._pre for b in books], n_days)
    otd_slots, otd_start, otd_len = _pack_pools([b._otd for b in books], n_days)
    return ArrayBooks(
        pre_slots=pre_slots,
        pre_start=pre_start,
        pre_len=pre_len,
        otd_slots=otd_slots,
        otd_start=otd_start,
        otd_len=otd_len,
        next_pre=np.array([b._next_pre for b in books], dtype=np.int64).reshape(-1, n_days),
        next_otd=np.array([b._next_otd for b in books], dtype=np.int64).reshape(-1, n_days),
        first_free=np.array([b._first_free_pre for b in books], dtype=np.int64),
        min_notice=np.array([b.min_notice for b in books], dtype=np.int64),
        horizon=np.array([b.horizon_days for b in books], dtype=np.int64),
    )


def unpack_pointers(packed: ArrayBooks, books: list) -> None:
    """Write the array books' pointers back into ``books``, so they hold the state the
    booking pass left, as if it had booked through them."""
    for b, book in enumerate(books):
        book._next_pre = packed.next_pre[b].tolist()
        book._next_otd = packed.next_otd[b].tolist()
        book._first_free_pre = int(packed.first_free[b])


@rule
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


@rule
def book_today(bk, b, day, minute):
    """AppointmentBook.book_today (on-the-day slots allowed) for book ``b``."""
    earliest = minute + bk.min_notice[b]
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


@rule
def peek_today(bk, b, day, minute):
    """AppointmentBook.peek_today: the slot book_today would give, not booked (-1 if none)."""
    earliest = minute + bk.min_notice[b]
    ps, pn = bk.pre_start[b, day], bk.pre_len[b, day]
    i = bisect_left(bk.pre_slots, ps, pn, earliest, bk.next_pre[b, day])
    best = bk.pre_slots[ps + i] if i < pn else -1
    os, on = bk.otd_start[b, day], bk.otd_len[b, day]
    j = bisect_left(bk.otd_slots, os, on, earliest, bk.next_otd[b, day])
    if j < on and (best < 0 or bk.otd_slots[os + j] <= best):
        best = bk.otd_slots[os + j]
    return best


@rule
def find_future(bk, b, today, first_day, last_day):
    """AppointmentBook.find_future: earliest day in [first_day, last_day] (after today, within
    the horizon) with a free pre-bookable slot, -1 if none; moves the first-free hint."""
    n_days = bk.pre_len.shape[1]
    last = today + bk.horizon[b]
    if last_day < last:
        last = last_day
    if last >= n_days:
        last = n_days - 1
    hint = bk.first_free[b]
    if hint <= today:
        hint = today + 1
    can_move_hint = first_day <= hint
    d = hint if can_move_hint else first_day
    while d <= last:
        if bk.next_pre[b, d] < bk.pre_len[b, d]:
            if can_move_hint:
                bk.first_free[b] = d
            return d
        d += 1
    if can_move_hint and last >= hint:
        bk.first_free[b] = last + 1
    return -1


@rule
def first_prebook_minute(bk, b, day):
    return bk.pre_slots[bk.pre_start[b, day] + bk.next_pre[b, day]]


@rule
def book_on(bk, b, day):
    """AppointmentBook.book_on: the next pre-bookable slot on ``day`` (caller checked)."""
    i = bk.next_pre[b, day]
    bk.next_pre[b, day] = i + 1
    return bk.pre_slots[bk.pre_start[b, day] + i]


@rule
def book_future(bk, b, today, first_day, last_day):
    """AppointmentBook.book_future: (day, minute) of the booked slot, or (-1, -1)."""
    d = find_future(bk, b, today, first_day, last_day)
    if d < 0:
        return -1, -1
    return d, book_on(bk, b, d)


@rule
def third_next_available_days(bk, b, day, minute, horizon):
    """AppointmentBook.third_next_available_days."""
    n_days = bk.pre_len.shape[1]
    ps, pn = bk.pre_start[b, day], bk.pre_len[b, day]
    i = bisect_left(bk.pre_slots, ps, pn, minute, bk.next_pre[b, day])
    free_today = pn - i
    if free_today >= 3:
        return (bk.pre_slots[ps + i + 2] - minute) / 1440.0
    found = free_today
    last = min(day + horizon, n_days - 1)
    for d in range(day + 1, last + 1):
        free = bk.pre_len[b, d] - bk.next_pre[b, d]
        if found + free >= 3:
            slot = bk.pre_slots[bk.pre_start[b, d] + bk.next_pre[b, d] + (2 - found)]
            return d - day + (slot - minute) / 1440.0
        found += free
    return float(horizon + 1)


@rule
def earliest(bk, first_book, labels, today, minute, first, last):
    """Earliest free slot over books ``first_book + labels[k]`` in days [first, last], not
    booked: (day, minute, label), day -1 if none. On a tie the first listed wins."""
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


@rule
def take(bk, b, today, minute, d):
    return book_today(bk, b, today, minute) if d == today else book_on(bk, b, d)


# --------------------------------------------------------------------------------------------
# Draws and rules
# --------------------------------------------------------------------------------------------


@rule
def keyed_uniform(key, salt):
    """sim.core.streams.KeyedUniform: splitmix64 finaliser of key ^ salt, all in uint64."""
    z = (key ^ salt) + _SPLITMIX_GAMMA
    z = (z ^ (z >> _U30)) * _SPLITMIX_M1
    z = (z ^ (z >> _U27)) * _SPLITMIX_M2
    return np.float64((z ^ (z >> _U31)) >> _U11) * _TWO_TO_MINUS_53


@rule
def pick(u, cumulative):
    """sim.booking.journey._pick: the first share whose cumulative threshold exceeds ``u``."""
    for k in range(len(cumulative)):
        if u < cumulative[k]:
            return k
    return len(cumulative) - 1


# The inputs of the pass, grouped. Episode arrays align with sim.core.demand.Episodes.
EpisodeInputs = namedtuple(
    "EpisodeInputs",
    [
        "practice",
        "urgency",
        "staff_need",
        "frail",  # moderate or severe eFI
        "age_band",
        "earliest_offset_days",
        "key",  # uint64, for keyed uniforms
        "u_dna",
        "u_no_slot",
        "arising",  # minute the need arises
        "request",  # minute it first reaches its practice
        "request_day",
        "request_minute",
        "first_day",  # booking window of the first request
        "last_day",
        "first_choice",  # FIRST_CHOICE_*, 0 for the practice
        "gp_refers",
        "out_of_hours_kind",  # 1 urgent out of hours, 2 frail service first, 3 both
    ],
)
Rules = namedtuple(
    "Rules",
    [
        # calendar
        "run_days",
        "n_days",
        "end_minute",
        "open_minute",
        "close_minute",
        "is_working",  # bool (day,)
        "next_open",  # int64 (day,): minute of the next opening after that day
        "soon_deadline",  # int64 (day,)
        "rac_deadline",  # int64 (day,)
        "dna_by_lead",  # float64 (lead days,)
        # booking
        "horizon",
        "target_urgent",
        "target_routine",
        "max_callbacks",
        "no_slot",  # float64 (urgency, action) cumulative thresholds
        "out_of_hours_route",
        "disposition",  # calls from urgent needs arising while practices are shut
        "disposition_displaced",  # calls because no practice or hub slot was found
        "rac_outcome",
        "hub_offer_share",
        "hub_accept_by_age",
        "hub_dna",
        "rac_from_practice",
        "rac_from_111",
        "rac_no_slot_to_ae",
        "step_up_share",
        "at_risk",
        "escalation",
        "minutes_to_ae",
        "salts",  # uint64, indexed by the SALT_* codes below
        # which book is which in the one ArrayBooks
        "staff_types",  # books per practice: practice p's staff s is book p * staff_types + s
        "any_staff_order",  # int64: staff tried for 'any clinician', ties to the first
        "single_staff",  # int64 (staff, 1): one staff type as a list of one
        "gp",
        "any_staff",
        "hub_first_book",  # hub of locality l is book hub_first_book + l
        "rac_first_book",
        "rac_labels",  # int64: arange(clinics)
        "frail_first_book",  # -1 without a frail service
        "locality_of_practice",
    ],
)
(
    SALT_HUB_OFFER,
    SALT_HUB_ACCEPT,
    SALT_HUB_DNA,
    SALT_OOH_ROUTE,
    SALT_DISPOSITION,
    SALT_RAC_REFERRAL,
    SALT_RAC_OUTCOME,
    SALT_RAC_NO_SLOT,
    SALT_STEP_UP,
    SALT_ESCALATION,
) = range(10)
SALT_NAMES = (
    "hub_offer",
    "hub_accept",
    "hub_dna",
    "out_of_hours_route",
    "nhs111_disposition",
    "rac_referral",
    "rac_outcome",
    "rac_no_slot",
    "step_up",
    "escalation",
)
# Flow-matrix nodes (origin -> destination counts are reported per week in flows.csv); the
# compiled rules write these codes straight into the flow table.
FLOW_NODES: tuple[str, ...] = (
    "need_in_hours",
    "need_out_of_hours",
    "practice",
    "hub",
    "nhs111",
    "pharmacy",
    "self_care",
    "out_of_hours_gp",
    "ae",
    "ambulance",
    "rac",
    "intermediate_care",
    "admission",
    "home",
    "gave_up",
    "self_presenting",
    "online_consultation",
    "frail_weekend_gp",
    "pharmacy_first",
)
N_NEED_OUT = FLOW_NODES.index("need_out_of_hours")
N_PRACTICE = FLOW_NODES.index("practice")
N_HUB = FLOW_NODES.index("hub")
N_NHS111 = FLOW_NODES.index("nhs111")
N_PHARMACY = FLOW_NODES.index("pharmacy")
N_SELF_CARE = FLOW_NODES.index("self_care")
N_OOH_GP = FLOW_NODES.index("out_of_hours_gp")
N_AE = FLOW_NODES.index("ae")
N_AMBULANCE = FLOW_NODES.index("ambulance")
N_RAC = FLOW_NODES.index("rac")
N_IC = FLOW_NODES.index("intermediate_care")
N_ADMISSION = FLOW_NODES.index("admission")
N_HOME = FLOW_NODES.index("home")
N_GAVE_UP = FLOW_NODES.index("gave_up")
N_ONLINE = FLOW_NODES.index("online_consultation")
N_FRAIL_GP = FLOW_NODES.index("frail_weekend_gp")
N_PHARMACY_FIRST = FLOW_NODES.index("pharmacy_first")
# Per-episode results (arrays the caller allocated, filled in place)
Results = namedtuple(
    "Results",
    [
        "outcome",
        "booked_time",
        "appointment_day",
        "appointment_minute",
        "staff_type",
        "attempts",
        "hub_booked_time",
        "hub_time",
        "nhs111_time",
        "rac_referral_time",
        "rac_time",
        "third_next_available",  # (day, practice)
    ],
)
# Rows logged as they happen, into arrays the driver grows between steps (the rules cannot
# allocate); counts[LOG_*] rows of each group are filled.
Logs = namedtuple(
    "Logs",
    [
        "counts",
        "flow_episode",  # int32
        "flow_from",  # int8 index into sim.booking.journey.FLOW_NODES
        "flow_to",
        "nhs111_calls",  # float64 minute of every NHS 111 contact
        "ae_episode",
        "ae_time",
        "ae_via",
        "admit_episode",
        "admit_time",
        "admit_source",
        "step_up_episode",
        "step_up_time",
        "step_up_source",
        # the event heap: (time, kind, episode, arg), compared as Python compares tuples
        "event_time",
        "event_kind",
        "event_episode",
        "event_arg",
    ],
)
LOG_FLOWS, LOG_NHS111, LOG_AE, LOG_ADMIT, LOG_STEP_UP, LOG_EVENTS = range(6)
# What booking_pass returns: the logged rows, trimmed (events are all handled by then)
PassRows = namedtuple("PassRows", Logs._fields[1:14])
# One step (an episode's request, or one event) logs at most a handful of rows of each group
# (a flow or two per hop, a few hops) and pushes at most one event: the driver keeps this much
# room free before every step.
ROOM_PER_STEP = 64
# Everything the rules read or change, passed as one argument
Pass = namedtuple("Pass", ["ep", "rules", "books", "out", "logs", "clock"])


@rule
def flow(s, i, origin, dest):
    k = s.logs.counts[LOG_FLOWS]
    s.logs.flow_episode[k] = i
    s.logs.flow_from[k] = origin
    s.logs.flow_to[k] = dest
    s.logs.counts[LOG_FLOWS] = k + 1


@rule
def event_before(s, a, b):
    """Heap entry ``a`` sorts before entry ``b``, as Python tuples (time, kind, episode,
    arg) compare."""
    lg = s.logs
    if lg.event_time[a] != lg.event_time[b]:
        return lg.event_time[a] < lg.event_time[b]
    if lg.event_kind[a] != lg.event_kind[b]:
        return lg.event_kind[a] < lg.event_kind[b]
    if lg.event_episode[a] != lg.event_episode[b]:
        return lg.event_episode[a] < lg.event_episode[b]
    return lg.event_arg[a] < lg.event_arg[b]


@rule
def swap_events(s, a, b):
    lg = s.logs
    lg.event_time[a], lg.event_time[b] = lg.event_time[b], lg.event_time[a]
    lg.event_kind[a], lg.event_kind[b] = lg.event_kind[b], lg.event_kind[a]
    lg.event_episode[a], lg.event_episode[b] = lg.event_episode[b], lg.event_episode[a]
    lg.event_arg[a], lg.event_arg[b] = lg.event_arg[b], lg.event_arg[a]


@rule
def push_event(s, t, kind, episode, arg):
    """A binary min-heap: entries are distinct or identical, so any heap pops them in the
    order heapq does."""
    lg = s.logs
    k = lg.counts[LOG_EVENTS]
    lg.event_time[k] = t
    lg.event_kind[k] = kind
    lg.event_episode[k] = episode
    lg.event_arg[k] = arg
    lg.counts[LOG_EVENTS] = k + 1
    while k > 0:
        parent = (k - 1) >> 1
        if not event_before(s, k, parent):
            break
        swap_events(s, k, parent)
        k = parent


@rule
def pop_event(s):
    """Remove the first event: (time, kind, episode, arg)."""
    lg = s.logs
    top = (lg.event_time[0], lg.event_kind[0], lg.event_episode[0], lg.event_arg[0])
    n = lg.counts[LOG_EVENTS] - 1
    lg.counts[LOG_EVENTS] = n
    if n > 0:
        swap_events(s, 0, n)
        k = 0
        while True:
            child = 2 * k + 1
            if child >= n:
                break
            if child + 1 < n and event_before(s, child + 1, child):
                child += 1
            if not event_before(s, child, k):
                break
            swap_events(s, k, child)
            k = child
    return top


@rule
def event_due(s, t):
    """Some event is pending at or before ``t``."""
    return s.logs.counts[LOG_EVENTS] > 0 and s.logs.event_time[0] <= t


@rule
def uniform(s, i, salt):
    return keyed_uniform(s.ep.key[i], s.rules.salts[salt])


@rule
def booking_window(
    urgency, earliest_offset_days, today, soon_deadline, target_urgent, target_routine
):
    """First and last acceptable day of a request made on ``today`` (the rule is described at
    :func:`sim.booking.journey.booking_window`, which calls this)."""
    if urgency == URGENT:
        return today, today + target_urgent
    if urgency == SOON:
        return today, soon_deadline[today]
    first = today + np.int64(earliest_offset_days)
    return first, max(first + 6, today + target_routine)


@rule
def episode_window(s, i, today):
    """The booking window of episode ``i`` asking again on ``today``."""
    r = s.rules
    return booking_window(
        s.ep.urgency[i],
        s.ep.earliest_offset_days[i],
        today,
        r.soon_deadline,
        r.target_urgent,
        r.target_routine,
    )


@rule
def to_ae_dept(s, i, t, via, origin):
    k = s.logs.counts[LOG_AE]
    s.logs.ae_episode[k] = i
    s.logs.ae_time[k] = t + s.rules.minutes_to_ae
    s.logs.ae_via[k] = via
    s.logs.counts[LOG_AE] = k + 1
    flow(s, i, origin, N_AMBULANCE if via == AE_VIA_AMBULANCE else N_AE)


@rule
def admit(s, i, t, source):
    """Admitted directly (not via A&E) from a rapid assessment clinic."""
    s.out.outcome[i] = ADMITTED
    k = s.logs.counts[LOG_ADMIT]
    s.logs.admit_episode[k] = i
    s.logs.admit_time[k] = t
    s.logs.admit_source[k] = source
    s.logs.counts[LOG_ADMIT] = k + 1
    flow(s, i, N_RAC, N_ADMISSION)


@rule
def step_up(s, i, t, source, origin):
    """Asks IC+ for a place; settled after the IC+ stage (started, or admitted instead)."""
    s.out.outcome[i] = PENDING
    k = s.logs.counts[LOG_STEP_UP]
    s.logs.step_up_episode[k] = i
    s.logs.step_up_time[k] = t
    s.logs.step_up_source[k] = source
    s.logs.counts[LOG_STEP_UP] = k + 1
    flow(s, i, origin, N_IC)


@rule
def after_urgent_care(s, i, t, origin):
    """Frail urgent needs seen in primary care: RAC referral or IC step-up, else home."""
    r = s.rules
    if not (s.ep.frail[i] and s.ep.urgency[i] == URGENT):
        return
    risk = uniform(s, i, SALT_RAC_REFERRAL)  # low = high risk: referral takes them first
    if risk < r.rac_from_practice:
        push_event(s, t, EV_RAC, i, origin)
    elif uniform(s, i, SALT_STEP_UP) < r.step_up_share:
        step_up(s, i, t, STEP_UP_FROM_PRACTICE, origin)
    elif risk < r.at_risk and uniform(s, i, SALT_ESCALATION) < r.escalation:
        s.out.outcome[i] = PENDING
        to_ae_dept(s, i, t + ESCALATION_DELAY_MINUTES - r.minutes_to_ae, AE_VIA_ESCALATION, origin)


@rule
def try_hub(s, i, t, first, last, offered_by_practice):
    """Offer the locality hub's earliest slot in [first, last]; True if the need is settled."""
    r = s.rules
    if offered_by_practice and uniform(s, i, SALT_HUB_OFFER) >= r.hub_offer_share:
        return False
    b = r.hub_first_book + r.locality_of_practice[s.ep.practice[i]]
    today = int(t // MINUTES_PER_DAY)
    minute = t - today * MINUTES_PER_DAY
    d, _, _ = earliest(s.books, b, r.single_staff[0], today, minute, first, last)
    if d < 0 or uniform(s, i, SALT_HUB_ACCEPT) >= r.hub_accept_by_age[s.ep.age_band[i]]:
        return False
    slot = take(s.books, b, today, minute, d)
    when = float(d * MINUTES_PER_DAY + slot)
    s.out.hub_booked_time[i] = t
    s.out.hub_time[i] = when
    if d >= r.run_days:
        s.out.outcome[i] = WAITING_AT_END
    elif uniform(s, i, SALT_HUB_DNA) < r.hub_dna:
        s.out.outcome[i] = DID_NOT_ATTEND
    else:
        s.out.outcome[i] = ATTENDED_HUB
        after_urgent_care(s, i, when, N_HUB)
    return True


@rule
def handle_111(s, i, t, displaced):
    """NHS 111 disposes of a call. A need can call more than once: every call counts. Why the
    person called sets the disposition mix: an urgent need arising while practices are shut,
    or a need displaced because no practice or hub slot was found (``displaced``)."""
    r, out = s.rules, s.out
    if out.nhs111_time[i] != out.nhs111_time[i]:  # NaN: the first call
        out.nhs111_time[i] = t
    k = s.logs.counts[LOG_NHS111]
    s.logs.nhs111_calls[k] = t
    s.logs.counts[LOG_NHS111] = k + 1
    mix = r.disposition_displaced if displaced else r.disposition
    choice = pick(uniform(s, i, SALT_DISPOSITION), mix)
    if choice == DISPOSITION_SELF_CARE:
        out.outcome[i] = SELF_CARE
        flow(s, i, N_NHS111, N_SELF_CARE)
    elif choice == DISPOSITION_PHARMACY:
        out.outcome[i] = PHARMACY
        flow(s, i, N_NHS111, N_PHARMACY)
    elif choice == DISPOSITION_PRIMARY_CARE:
        today = int(t // MINUTES_PER_DAY)
        if today >= r.n_days:
            out.outcome[i] = WAITING_AT_END
            return
        first, last = episode_window(s, i, today)
        if try_hub(s, i, t, first, last, False):
            flow(s, i, N_NHS111, N_HUB)
            return
        minute = t - today * MINUTES_PER_DAY
        if r.is_working[today] and r.open_minute <= minute < r.close_minute:
            first_book = s.ep.practice[i] * r.staff_types
            d, _, staff = earliest(
                s.books, first_book, r.any_staff_order, today, minute, today, today
            )
            if d >= 0:
                slot = take(s.books, first_book + staff, today, minute, d)
                out.booked_time[i] = t
                out.appointment_day[i] = d
                out.appointment_minute[i] = slot
                out.staff_type[i] = staff
                flow(s, i, N_NHS111, N_PRACTICE)
                if s.ep.u_dna[i] < r.dna_by_lead[0]:
                    out.outcome[i] = DID_NOT_ATTEND
                else:
                    out.outcome[i] = ATTENDED_PRACTICE
                    after_urgent_care(s, i, float(d * MINUTES_PER_DAY + slot), N_PRACTICE)
                return
            # Nothing today: NHS 111 advises calling the practice at its next opening.
            if out.attempts[i] <= r.max_callbacks:
                flow(s, i, N_NHS111, N_PRACTICE)
                push_event(s, r.next_open[today], EV_REQUEST, i, out.attempts[i])
            else:
                out.outcome[i] = GAVE_UP
                flow(s, i, N_NHS111, N_GAVE_UP)
        else:
            out.outcome[i] = OUT_OF_HOURS_GP
            flow(s, i, N_NHS111, N_OOH_GP)
    elif choice == DISPOSITION_AE:
        today = int(t // MINUTES_PER_DAY)
        minute = t - today * MINUTES_PER_DAY
        in_clinic_hours = (
            today < r.n_days and r.is_working[today] and r.open_minute <= minute < r.close_minute
        )
        urgent_frail = s.ep.frail[i] and s.ep.urgency[i] == URGENT
        if urgent_frail and in_clinic_hours and uniform(s, i, SALT_RAC_REFERRAL) < r.rac_from_111:
            push_event(s, t, EV_RAC, i, N_NHS111)
        else:
            to_ae_dept(s, i, t, AE_VIA_NHS111, N_NHS111)
    else:
        to_ae_dept(s, i, t, AE_VIA_AMBULANCE, N_NHS111)


@rule
def handle_rac(s, i, t, origin):
    """A referral reaches the rapid assessment clinics (single point of access)."""
    r, out = s.rules, s.out
    flow(s, i, origin, N_RAC)
    out.rac_referral_time[i] = t
    today = int(t // MINUTES_PER_DAY)
    if today >= r.run_days:
        out.outcome[i] = WAITING_AT_END
        return
    minute = t - today * MINUTES_PER_DAY
    d, _, clinic = earliest(
        s.books, r.rac_first_book, r.rac_labels, today, minute, today, r.rac_deadline[today]
    )
    if d < 0:
        if uniform(s, i, SALT_RAC_NO_SLOT) < r.rac_no_slot_to_ae:
            to_ae_dept(s, i, t, AE_VIA_RAC_NO_SLOT, N_RAC)
        else:
            admit(s, i, t, ADMIT_FROM_RAC_NO_SLOT)
        return
    slot = take(s.books, r.rac_first_book + clinic, today, minute, d)
    when = float(d * MINUTES_PER_DAY + slot)
    out.rac_time[i] = when
    if d >= r.run_days:
        out.outcome[i] = WAITING_AT_END
        return
    result = pick(uniform(s, i, SALT_RAC_OUTCOME), r.rac_outcome)
    if result == RAC_HOME:
        out.outcome[i] = RAC_HOME_STATE
        flow(s, i, N_RAC, N_HOME)
    elif result == RAC_INTERMEDIATE_CARE:
        step_up(s, i, when, STEP_UP_FROM_RAC, N_RAC)
    else:
        admit(s, i, when, ADMIT_FROM_RAC)


@rule
def ask_practice(s, i, t, attempt, today, minute, first, last):
    """Request number ``attempt`` + 1 to the practice, on ``today`` for days [first, last]."""
    r, ep, out, bk = s.rules, s.ep, s.out, s.books
    out.attempts[i] = attempt + 1
    if attempt == 0 and ep.first_choice[i] != 0:
        choice = ep.first_choice[i]
        if choice == FIRST_CHOICE_HUB:
            if try_hub(s, i, t, first, last, False):
                flow(s, i, N_PRACTICE, N_HUB)
                return
        else:
            if choice == FIRST_CHOICE_ONLINE:
                out.outcome[i] = RESOLVED_ONLINE
                flow(s, i, N_PRACTICE, N_ONLINE)
            else:
                out.outcome[i] = PHARMACY_FIRST
                flow(s, i, N_PRACTICE, N_PHARMACY_FIRST)
            return
    first_book = np.int64(ep.practice[i]) * r.staff_types
    need = np.int64(ep.staff_need[i])
    d = -1
    slot = -1
    staff = need
    if need == r.any_staff:
        d, _, staff = earliest(bk, first_book, r.any_staff_order, today, minute, first, last)
        if d >= 0:
            slot = take(bk, first_book + staff, today, minute, d)
    else:
        # One staff type (most needs): book directly, no look-ahead needed.
        lo = first
        if first <= today:
            slot = book_today(bk, first_book + need, today, minute)
            if slot >= 0:
                d = today
            lo = today + 1
        if d < 0 and lo <= last:
            d, slot = book_future(bk, first_book + need, today, lo, last)
    if d < 0:
        if try_hub(s, i, t, first, last, True):
            flow(s, i, N_PRACTICE, N_HUB)
            return
        u = (ep.u_no_slot[i] + attempt * GOLDEN) % 1.0
        action = pick(u, r.no_slot[ep.urgency[i]])
        if action == 0:  # book later at the practice, however late
            labels = r.any_staff_order if need == r.any_staff else r.single_staff[need]
            d, _, staff = earliest(
                bk, first_book, labels, today, minute, last + 1, today + r.horizon
            )
            if d < 0:
                action = 1
        if d < 0:
            if action == 1 and attempt < r.max_callbacks:
                push_event(s, r.next_open[today], EV_REQUEST, i, attempt + 1)
            elif action == 2:
                flow(s, i, N_PRACTICE, N_NHS111)
                handle_111(s, i, t, True)
            elif action == 3:
                to_ae_dept(s, i, t, AE_VIA_DISPLACED, N_PRACTICE)
            else:
                out.outcome[i] = GAVE_UP
                flow(s, i, N_PRACTICE, N_GAVE_UP)
            return
        slot = take(bk, first_book + staff, today, minute, d)
    out.booked_time[i] = t
    out.appointment_day[i] = d
    out.appointment_minute[i] = slot
    out.staff_type[i] = staff
    if d >= r.run_days:
        out.outcome[i] = WAITING_AT_END
    elif ep.u_dna[i] < r.dna_by_lead[d - today]:  # DNA rises with the booking's lead time
        out.outcome[i] = DID_NOT_ATTEND
    else:
        out.outcome[i] = ATTENDED_PRACTICE
        if ep.gp_refers[i]:
            # The GP sends the patient to A&E after the appointment.
            out.outcome[i] = PENDING
            to_ae_dept(s, i, float(d * MINUTES_PER_DAY + slot), AE_VIA_GP_REFERRAL, N_PRACTICE)
        elif ep.frail[i]:
            after_urgent_care(s, i, float(d * MINUTES_PER_DAY + slot), N_PRACTICE)


@rule
def call_back(s, i, t, attempt):
    """The need asks its practice again (after no slot, or on NHS 111's advice)."""
    if t >= s.rules.end_minute:
        s.out.attempts[i] = attempt + 1
        s.out.outcome[i] = WAITING_AT_END
        return
    today = int(t // MINUTES_PER_DAY)
    first, last = episode_window(s, i, today)
    ask_practice(s, i, t, attempt, today, t - today * MINUTES_PER_DAY, first, last)


@rule
def sample_access(s, t):
    """Third-next-available GP slot at the opening of each working day up to ``t``."""
    r = s.rules
    sampled_until = s.clock[0]  # last day whose opening has been sampled
    up_to_day = int(t // MINUTES_PER_DAY)
    for d in range(sampled_until + 1, min(up_to_day, r.run_days - 1) + 1):
        if r.is_working[d]:
            for p in range(s.out.third_next_available.shape[1]):
                s.out.third_next_available[d, p] = third_next_available_days(
                    s.books, p * r.staff_types + r.gp, d, r.open_minute, r.horizon
                )
    s.clock[0] = max(sampled_until, up_to_day)


@rule
def dispatch(s, t, kind, episode, arg):
    # Sampling is due once t reaches the first minute after the last sampled day.
    if t >= (s.clock[0] + 1) * MINUTES_PER_DAY:
        sample_access(s, t)
    if kind == EV_REQUEST:
        call_back(s, episode, t, arg)
    else:
        handle_rac(s, episode, t, arg)


@rule
def out_of_hours(s, i):
    """An urgent need while practices are shut, at the moment it arises (events up to then
    already handled): a frail service's same-day visit if there is one, else NHS 111 or A&E at
    once (unless it waits for the practice). True if the need is settled here."""
    r = s.rules
    kind = s.ep.out_of_hours_kind[i]
    t = s.ep.arising[i]
    if kind >= 2:
        b = r.frail_first_book + r.locality_of_practice[s.ep.practice[i]]
        today = int(t // MINUTES_PER_DAY)
        minute = t - today * MINUTES_PER_DAY
        if today < r.run_days and peek_today(s.books, b, today, minute) >= 0:
            book_today(s.books, b, today, minute)
            s.out.outcome[i] = FRAIL_WEEKEND_GP
            flow(s, i, N_NEED_OUT, N_FRAIL_GP)
            return True
    if kind & 1:
        if pick(uniform(s, i, SALT_OOH_ROUTE), r.out_of_hours_route) == 0:
            flow(s, i, N_NEED_OUT, N_NHS111)
            handle_111(s, i, t, False)
        else:
            to_ae_dept(s, i, t, AE_VIA_DISPLACED, N_NEED_OUT)
        return True
    return False


@rule
def ask_first_time(s, i):
    """The first request of episode ``i`` to its practice, once events before it are done."""
    ep = s.ep
    t = ep.request[i]
    if t >= (s.clock[0] + 1) * MINUTES_PER_DAY:
        sample_access(s, t)
    if t >= s.rules.end_minute:
        s.out.attempts[i] = 1
        s.out.outcome[i] = WAITING_AT_END
        return
    ask_practice(
        s,
        i,
        t,
        0,
        np.int64(ep.request_day[i]),
        ep.request_minute[i],
        np.int64(ep.first_day[i]),
        np.int64(ep.last_day[i]),
    )


@rule
def has_room(s):
    """Every log has room for one more step (the rules write without checking)."""
    lg = s.logs
    c = lg.counts
    return (
        c[LOG_FLOWS] + ROOM_PER_STEP <= len(lg.flow_episode)
        and c[LOG_NHS111] + ROOM_PER_STEP <= len(lg.nhs111_calls)
        and c[LOG_AE] + ROOM_PER_STEP <= len(lg.ae_episode)
        and c[LOG_ADMIT] + ROOM_PER_STEP <= len(lg.admit_episode)
        and c[LOG_STEP_UP] + ROOM_PER_STEP <= len(lg.step_up_episode)
        and c[LOG_EVENTS] + ROOM_PER_STEP <= len(lg.event_time)
    )


@rule
def run_events_until(s, t):
    """Handle every pending event at or before ``t``, in order; False if it stopped early
    because a log ran short of room."""
    while event_due(s, t):
        if not has_room(s):
            return False
        when, kind, episode, arg = pop_event(s)
        dispatch(s, when, kind, episode, arg)
    return True


@rule
def advance(s, i):
    """Handle episodes from ``i`` on, each with the events due before it, until they are all
    done (returns the number of episodes + 1) or a log runs short of room (returns the first
    episode not finished, to be started again: a need out of hours that was not settled left
    no trace, and events already handled are gone from the heap)."""
    ep = s.ep
    n = len(ep.request)
    while i < n:
        if ep.out_of_hours_kind[i] != 0:
            if not run_events_until(s, ep.arising[i]) or not has_room(s):
                return i
            if out_of_hours(s, i):
                i += 1
                continue
        if not run_events_until(s, ep.request[i]) or not has_room(s):
            return i
        ask_first_time(s, i)
        i += 1
    if not run_events_until(s, np.inf):
        return n
    return n + 1


@njit(cache=True)
def _grown(a, used):
    # a itself, or a copy twice the size when fewer than ROOM_PER_STEP rows are free
    if used + ROOM_PER_STEP <= len(a):
        return a
    bigger = np.empty(2 * len(a) + ROOM_PER_STEP, dtype=a.dtype)
    bigger[:used] = a[:used]
    return bigger


@njit(cache=True)
def with_room(s):
    """``s`` with its logs grown where they are short of room for one more step."""
    lg = s.logs
    c = lg.counts
    logs = Logs(
        c,
        _grown(lg.flow_episode, c[LOG_FLOWS]),
        _grown(lg.flow_from, c[LOG_FLOWS]),
        _grown(lg.flow_to, c[LOG_FLOWS]),
        _grown(lg.nhs111_calls, c[LOG_NHS111]),
        _grown(lg.ae_episode, c[LOG_AE]),
        _grown(lg.ae_time, c[LOG_AE]),
        _grown(lg.ae_via, c[LOG_AE]),
        _grown(lg.admit_episode, c[LOG_ADMIT]),
        _grown(lg.admit_time, c[LOG_ADMIT]),
        _grown(lg.admit_source, c[LOG_ADMIT]),
        _grown(lg.step_up_episode, c[LOG_STEP_UP]),
        _grown(lg.step_up_time, c[LOG_STEP_UP]),
        _grown(lg.step_up_source, c[LOG_STEP_UP]),
        _grown(lg.event_time, c[LOG_EVENTS]),
        _grown(lg.event_kind, c[LOG_EVENTS]),
        _grown(lg.event_episode, c[LOG_EVENTS]),
        _grown(lg.event_arg, c[LOG_EVENTS]),
    )
    return Pass(s.ep, s.rules, s.books, s.out, logs, s.clock)


@njit(cache=True)
def booking_pass(ep, rules, books, out):
    """Every episode in the order it reaches its practice, with the events it causes (call-
    backs, clinic referrals) in time order between them. Fills ``out`` and ``books`` in place;
    returns the rows logged along the way, trimmed, in the order of :data:`PassRows`."""
    n = len(ep.request)
    guess = n // 8 + ROOM_PER_STEP  # grown as needed
    logs = Logs(
        np.zeros(LOG_EVENTS + 1, dtype=np.int64),
        np.empty(2 * guess, dtype=np.int32),
        np.empty(2 * guess, dtype=np.int8),
        np.empty(2 * guess, dtype=np.int8),
        np.empty(guess, dtype=np.float64),
        np.empty(guess, dtype=np.int64),
        np.empty(guess, dtype=np.float64),
        np.empty(guess, dtype=np.int64),
        np.empty(guess, dtype=np.int64),
        np.empty(guess, dtype=np.float64),
        np.empty(guess, dtype=np.int64),
        np.empty(guess, dtype=np.int64),
        np.empty(guess, dtype=np.float64),
        np.empty(guess, dtype=np.int64),
        np.empty(guess, dtype=np.float64),
        np.empty(guess, dtype=np.int64),
        np.empty(guess, dtype=np.int64),
        np.empty(guess, dtype=np.int64),
    )
    clock = np.full(1, -1, dtype=np.int64)  # last day whose opening has been sampled
    s = Pass(ep, rules, books, out, logs, clock)
    # The rules run without reference counting, so they cannot grow the logs: they stop when
    # one is short of room, and the loop here grows it and lets them carry on.
    i = 0
    while True:
        i = advance(s, i)
        if i > n:
            break
        s = with_room(s)
    lg, c = s.logs, s.logs.counts
    return (
        lg.flow_episode[: c[LOG_FLOWS]].copy(),
        lg.flow_from[: c[LOG_FLOWS]].copy(),
        lg.flow_to[: c[LOG_FLOWS]].copy(),
        lg.nhs111_calls[: c[LOG_NHS111]].copy(),
        lg.ae_episode[: c[LOG_AE]].copy(),
        lg.ae_time[: c[LOG_AE]].copy(),
        lg.ae_via[: c[LOG_AE]].copy(),
        lg.admit_episode[: c[LOG_ADMIT]].copy(),
        lg.admit_time[: c[LOG_ADMIT]].copy(),
        lg.admit_source[: c[LOG_ADMIT]].copy(),
        lg.step_up_episode[: c[LOG_STEP_UP]].copy(),
        lg.step_up_time[: c[LOG_STEP_UP]].copy(),
        lg.step_up_source[: c[LOG_STEP_UP]].copy(),
    )


def needs_compiling() -> bool:
    """True when the next booking pass in this process will compile the kernel first (a
    minute or more, once per machine): nothing compiled here yet and no machine code cached
    on disk. Stale cache files (after an edit here) are not detected."""
    if booking_pass.signatures:
        return False
    cache = getattr(booking_pass, "_cache", None)
    folder = getattr(cache, "_cache_path", None)
    if folder is None:
        return False
    from pathlib import Path

    return not any(Path(folder).glob("kernel.booking_pass-*.nbi"))
