"""What the booking pass reads and writes: its inputs, its results, the rows it logs, and its
event heap.

Everything here is a named tuple of numpy arrays (and a few numbers), the form compiled code
can take. Each group of arrays is described by one table (its fields, their types and initial
values) from which the arrays are allocated, grown and trimmed, so no list of fields is written
out twice:

* :class:`EpisodeInputs`: per episode, what was decided before the pass (numpy, in
  :mod:`sim.booking.preparation`);
* :class:`Settings`: the rules' parameters from the configuration and the calendar;
* :data:`RESULT_FIELDS`: per episode, what the pass decided (filled in place);
* :data:`LOG_FIELDS`: rows logged as they happen (flows, NHS 111 calls, hand-offs to A&E,
  admissions and IC+), and the event heap, in arrays the Python driver grows.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.booking import codes
from sim.core.compiled import compiled_within
from sim.services.catalogue import SERVICES

# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

#: Per-episode inputs, aligned with :class:`sim.core.demand.Episodes`.
EpisodeInputs = namedtuple(
    "EpisodeInputs",
    [
        "practice",
        "urgency",
        "staff_need",
        "frail",  # bool: moderate eFI or worse
        "frailty",  # int8 band (sim.config.schema.FRAILTY_BANDS), -1 under 65 (not assessed)
        "age_band",
        "earliest_offset_days",
        "key",  # uint64, for keyed uniforms
        "u_dna",
        "u_no_slot",
        "arising",  # minute the need arises
        "request",  # minute it first reaches its practice
        "request_day",  # int32
        "first_day",  # booking window of the first request (days; the minute of the request
        "last_day",  # in its day is computed where needed, not stored)
        "first_choice",  # codes.FIRST_CHOICE_*
        "out_of_hours_kind",  # bit flags codes.OUT_OF_HOURS_*, 0 for most needs
    ],
)

#: The rules' parameters (numbers, and tables by day, urgency, age band...), then one field per
#: registered service that declares ``pass_settings``, named for the service.
Settings = namedtuple(
    "Settings",
    [
        # calendar
        "run_days",
        "n_days",
        "end_minute",  # float: first minute after the run
        "open_minute",  # float: core hours
        "close_minute",
        "is_working",  # bool (day,)
        "next_open",  # int64 (day,): minute of the next opening after that day
        "soon_deadline",  # int64 (day,): last day for a 'soon' need asking that day
        "rac_deadline",  # int64 (day,): last day of a clinic appointment referred that day
        "dna_by_lead",  # float64 (lead days,)
        # booking
        "horizon",  # practice booking horizon, days
        "target_urgent",  # days
        "target_routine",  # days
        "max_callbacks",
        # cumulative thresholds of a choice (a uniform below the k-th picks the k-th option)
        "no_slot",  # float64 (urgency, NO_SLOT_ACTIONS)
        "out_of_hours_route",  # OUT_OF_HOURS_ROUTES
        "disposition",  # NHS111_DISPOSITIONS: urgent needs arising while practices are shut
        "disposition_displaced",  # NHS111_DISPOSITIONS: calls because no slot was found
        "rac_outcome",  # RAC_OUTCOMES
        # probabilities
        "hub_offer_share",
        "hub_accept_by_age",  # float64 (age band,)
        "hub_dna",
        # referral to rapid assessment, float64 (n_days,) by the day of referral (phasing in)
        "rac_from_practice",
        "rac_from_111",
        "rac_no_slot_to_ae",
        "step_up_share",
        "at_risk",
        "escalation",
        "gp_referral_share",  # of urgent needs seen at the practice
        # text reminders: nested shares of would-be DNAs (respond > cancel > rebook), float64
        # (n_days,) by the day the reminder is sent
        "reminder_respond",
        "reminder_cancel",
        "reminder_rebook",
        "reminder_minutes",  # sent this long before the appointment
        "minutes_to_ae",
        "salts",  # uint64 (codes.KEYED_DRAWS,)
        # which book is which in the one ArrayBooks
        "staff_types",  # books per practice: practice p's staff s is book p * staff_types + s
        "any_staff_order",  # int64: staff tried for 'any clinician', ties to the first
        "single_staff",  # int64 (staff, 1): one staff type as a list of one
        "hub_first_book",  # hub of locality l is book hub_first_book + l
        "rac_first_book",
        "rac_labels",  # int64: arange(clinics)
        "frail_first_book",  # frail weekend service of locality l; -1 without one
        "locality_of_practice",
    ]
    + [service.name for service in SERVICES if service.pass_settings is not None],
)

# --------------------------------------------------------------------------------------------
# Results and logs: one table each
# --------------------------------------------------------------------------------------------

#: Per-episode results: (field, dtype, value before the pass). ``third_next_available`` is
#: (day, practice) and is allocated apart.
RESULT_FIELDS: tuple[tuple[str, type, float], ...] = (
    ("outcome", np.int8, codes.PENDING),  # terminal state (sim.core.ledger)
    ("booked_time", np.float64, np.nan),  # when the practice booking was made
    ("appointment_day", np.int32, -1),
    ("appointment_minute", np.int16, -1),
    ("staff_type", np.int8, -1),
    ("attempts", np.int8, 0),  # requests made to the practice
    # the episode's row of the times few episodes have (RARE_TIMES, in the logs), -1 if none
    ("rare_row", np.int32, -1),
)
Results = namedtuple("Results", [f for f, _, _ in RESULT_FIELDS] + ["third_next_available"])


def new_results(n_episodes: int, n_days: int, n_practices: int) -> Results:
    """Results before the pass: every episode pending, nothing booked, access unsampled."""
    arrays = [np.full(n_episodes, value, dtype=dtype) for _, dtype, value in RESULT_FIELDS]
    return Results(*arrays, np.full((n_days, n_practices), np.nan))


#: Log groups: each has its own row count (``Logs.counts``) and room (``Logs.room``); the
#: initial room is this many rows per eight episodes.
LOG_GROUPS: tuple[tuple[str, int], ...] = (
    ("flows", 2),  # one row per move between flow nodes
    ("nhs111", 1),  # one row per NHS 111 call
    ("ae", 1),  # hand-offs to A&E
    ("admissions", 1),  # direct admissions (from clinics)
    ("step_ups", 1),  # requests for an IC+ place
    ("rare", 1),  # the times few episodes have (RARE_TIMES): a row for each episode with one
    ("events", 1),  # the event heap (not returned: empty when the pass ends)
)
GROUP = {name: k for k, (name, _) in enumerate(LOG_GROUPS)}
GROUP_FLOWS = np.int64(GROUP["flows"])
GROUP_NHS111 = np.int64(GROUP["nhs111"])
GROUP_AE = np.int64(GROUP["ae"])
GROUP_ADMISSIONS = np.int64(GROUP["admissions"])
GROUP_STEP_UPS = np.int64(GROUP["step_ups"])
GROUP_RARE = np.int64(GROUP["rare"])
GROUP_EVENTS = np.int64(GROUP["events"])
#: Times few episodes have, by name: the columns of the ``rare`` rows after the episode's.
RARE_TIMES: tuple[str, ...] = (
    "hub_booked_time",
    "hub_time",  # minute of the hub appointment
    "nhs111_time",  # first NHS 111 contact
    "rac_referral_time",
    "rac_time",  # minute of the clinic appointment
    "cancelled_time",  # a booking cancelled ahead, when
)
RARE_EPISODE = np.int64(0)
RARE_HUB_BOOKED, RARE_HUB, RARE_NHS111, RARE_RAC_REFERRAL, RARE_RAC, RARE_CANCELLED = (
    np.int64(RARE_TIMES.index(name) + 1) for name in RARE_TIMES
)
RARE_COLUMNS = np.int64(1 + len(RARE_TIMES))
#: Logged rows: (field, dtype, group).
LOG_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("flow_episode", np.int32, "flows"),
    ("flow_from", np.int8, "flows"),  # codes.FLOW_NODES
    ("flow_to", np.int8, "flows"),
    ("nhs111_calls", np.float64, "nhs111"),  # minute of every NHS 111 contact
    ("ae_episode", np.int64, "ae"),
    ("ae_time", np.float64, "ae"),  # minute of arrival at A&E
    ("ae_via", np.int64, "ae"),  # codes.AE_ROUTES
    ("admit_episode", np.int64, "admissions"),
    ("admit_time", np.float64, "admissions"),
    ("admit_source", np.int64, "admissions"),  # codes.ADMISSION_SOURCES
    ("step_up_episode", np.int64, "step_ups"),
    ("step_up_time", np.float64, "step_ups"),
    ("step_up_source", np.int64, "step_ups"),  # codes.STEP_UP_SOURCES
    # Per-episode times that most episodes never have (a few per cent do), a row for each
    # episode with one (Results.rare_row) rather than arrays over all episodes (the six would
    # be 95 MB for two million episodes): the episode's number, then RARE_TIMES, NaN where
    # the episode has not that one. One two-dimensional field, not seven: every field of the
    # state is one more argument of every compiled function (a longer first compile).
    ("rare", np.dtype((np.float64, 1 + len(RARE_TIMES))), "rare"),
    # the heap: (time, kind, episode, arg), ordered as Python orders such tuples
    ("event_time", np.float64, "events"),
    ("event_kind", np.int64, "events"),  # codes.EVENTS
    ("event_episode", np.int64, "events"),
    ("event_arg", np.int64, "events"),  # attempt number, or where a referral came from
)
Logs = namedtuple("Logs", ["counts", "room"] + [f for f, _, _ in LOG_FIELDS])
#: What the pass returns: every logged field but the heap's, trimmed to the rows written.
PassRows = namedtuple("PassRows", [f for f, _, g in LOG_FIELDS if g != "events"])
#: One step (an episode's request, or one event) logs at most a handful of rows of each group
#: (a flow or two per hop, a few hops) and pushes at most one event: the rules run only while
#: every group has this much room, and stop for the driver to grow the logs otherwise.
ROOM_PER_STEP = 64


def new_logs(n_episodes: int) -> Logs:
    """Empty logs with room for about an eighth of the episodes' rows in each group."""
    guess = n_episodes // 8 + ROOM_PER_STEP
    initial = {name: per * guess for name, per in LOG_GROUPS}
    arrays = [np.empty(initial[g], dtype=dtype) for _, dtype, g in LOG_FIELDS]
    room = np.array([initial[name] for name, _ in LOG_GROUPS], dtype=np.int64)
    return Logs(np.zeros(len(LOG_GROUPS), dtype=np.int64), room, *arrays)


def with_room(logs: Logs) -> Logs:
    """``logs`` with every group short of :data:`ROOM_PER_STEP` free rows doubled."""
    grown = {}
    room = logs.room.copy()
    for g in range(len(LOG_GROUPS)):
        if logs.counts[g] + ROOM_PER_STEP > logs.room[g]:
            room[g] = 2 * logs.room[g] + ROOM_PER_STEP
    for field, dtype, group in LOG_FIELDS:
        g = GROUP[group]
        old = getattr(logs, field)
        if room[g] != len(old):
            new = np.empty(room[g], dtype=dtype)
            new[: logs.counts[g]] = old[: logs.counts[g]]
            grown[field] = new
    return logs._replace(room=room, **grown)


def trimmed(logs: Logs) -> PassRows:
    """The rows logged, copied out of the logs' arrays."""
    return PassRows(
        **{
            field: getattr(logs, field)[: logs.counts[GROUP[group]]].copy()
            for field, _, group in LOG_FIELDS
            if group != "events"
        }
    )


#: Everything the rules read or change, passed as one argument: episodes, settings, the books
#: (sim.booking.books.ArrayBooks), results, logs, and ``clock`` (int64 (1,): the last day whose
#: opening has been sampled for the access measure).
Pass = namedtuple("Pass", ["ep", "settings", "books", "out", "logs", "clock"])

# --------------------------------------------------------------------------------------------
# Logging (compiled; they read and write the logs only)
# --------------------------------------------------------------------------------------------


@compiled_within
def has_room(logs):
    """Every group of the logs has room for one more step."""
    for g in range(len(logs.counts)):
        if logs.counts[g] + ROOM_PER_STEP > logs.room[g]:
            return False
    return True


@compiled_within
def next_row(logs, group):
    """Claim the next row of ``group``: its index."""
    k = logs.counts[group]
    logs.counts[group] = k + 1
    return k


@compiled_within
def log_flow(logs, episode, origin, destination):
    """Episode ``episode`` moves from flow node ``origin`` to ``destination``."""
    k = next_row(logs, GROUP_FLOWS)
    logs.flow_episode[k] = episode
    logs.flow_from[k] = origin
    logs.flow_to[k] = destination


@compiled_within
def log_nhs111_call(logs, t):
    logs.nhs111_calls[next_row(logs, GROUP_NHS111)] = t


@compiled_within
def log_ae(logs, episode, t, via):
    """Episode ``episode`` arrives at A&E at minute ``t`` (codes.AE_ROUTES ``via``)."""
    k = next_row(logs, GROUP_AE)
    logs.ae_episode[k] = episode
    logs.ae_time[k] = t
    logs.ae_via[k] = via


@compiled_within
def log_admission(logs, episode, t, source):
    k = next_row(logs, GROUP_ADMISSIONS)
    logs.admit_episode[k] = episode
    logs.admit_time[k] = t
    logs.admit_source[k] = source


@compiled_within
def log_step_up(logs, episode, t, source):
    k = next_row(logs, GROUP_STEP_UPS)
    logs.step_up_episode[k] = episode
    logs.step_up_time[k] = t
    logs.step_up_source[k] = source


@compiled_within
def rare_row(out, logs, i):
    """Episode ``i``'s row of the rare times, claimed (every time NaN) the first time."""
    r = out.rare_row[i]
    if r < 0:
        r = next_row(logs, GROUP_RARE)
        out.rare_row[i] = r
        logs.rare[r, RARE_EPISODE] = i
        for k in range(1, RARE_COLUMNS):
            logs.rare[r, k] = np.nan
    return r


# --------------------------------------------------------------------------------------------
# The event heap: a binary min-heap in the logs' event arrays
# --------------------------------------------------------------------------------------------


@compiled_within
def event_before(logs, a, b):
    """Heap entry ``a`` sorts before entry ``b``, as Python tuples (time, kind, episode,
    arg) compare: so the pass handles simultaneous events in the order heapq would."""
    if logs.event_time[a] != logs.event_time[b]:
        return logs.event_time[a] < logs.event_time[b]
    if logs.event_kind[a] != logs.event_kind[b]:
        return logs.event_kind[a] < logs.event_kind[b]
    if logs.event_episode[a] != logs.event_episode[b]:
        return logs.event_episode[a] < logs.event_episode[b]
    return logs.event_arg[a] < logs.event_arg[b]


@compiled_within
def swap_events(logs, a, b):
    logs.event_time[a], logs.event_time[b] = logs.event_time[b], logs.event_time[a]
    logs.event_kind[a], logs.event_kind[b] = logs.event_kind[b], logs.event_kind[a]
    logs.event_episode[a], logs.event_episode[b] = logs.event_episode[b], logs.event_episode[a]
    logs.event_arg[a], logs.event_arg[b] = logs.event_arg[b], logs.event_arg[a]


@compiled_within
def push_event(logs, t, kind, episode, arg):
    """Add an event. Entries are distinct or identical, so any heap pops them in the order
    heapq does."""
    k = next_row(logs, GROUP_EVENTS)
    logs.event_time[k] = t
    logs.event_kind[k] = kind
    logs.event_episode[k] = episode
    logs.event_arg[k] = arg
    while k > 0:
        parent = (k - 1) >> 1
        if not event_before(logs, k, parent):
            break
        swap_events(logs, k, parent)
        k = parent


@compiled_within
def pop_event(logs):
    """Remove the first event: (time, kind, episode, arg)."""
    top = (logs.event_time[0], logs.event_kind[0], logs.event_episode[0], logs.event_arg[0])
    n = logs.counts[GROUP_EVENTS] - 1
    logs.counts[GROUP_EVENTS] = n
    if n > 0:
        # the root as an int64, not a literal 0: one compiled version of the helpers
        k = np.int64(0)
        swap_events(logs, k, n)
        while True:
            child = 2 * k + 1
            if child >= n:
                break
            if child + 1 < n and event_before(logs, child + 1, child):
                child += 1
            if not event_before(logs, child, k):
                break
            swap_events(logs, k, child)
            k = child
    return top


@compiled_within
def event_due(logs, t):
    """Some event is pending at or before ``t``."""
    return logs.counts[GROUP_EVENTS] > 0 and logs.event_time[0] <= t
