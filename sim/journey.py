"""Patient journeys through primary and urgent care: who books what, and where a need goes
when it cannot be met in time.

Requests are handled at the moment they are made (bookings are instantaneous decisions), in
time order over the whole run, from one heap of events: new requests, call-backs at the next
opening, and referrals to rapid assessment clinics at the time of the appointment that made
them. Waiting services (A&E, intermediate care, hospital beds) are simulated afterwards from
the hand-offs recorded here (see :mod:`sim.model`): nothing downstream feeds back into booking,
so the data flows one way.

Rules, in order (every probability is in config and every draw was made at creation):

1. A need arising in core hours asks its practice at once; one arising while practices are
   shut waits for the next opening, except some urgent needs, which go to NHS 111 or A&E.
2. The practice books the earliest slot within the need's target (urgent: today; soon: within
   2 working days; routine: within 2 weeks of the request, and never less than a week from
   its earliest acceptable day).
3. No slot in time: the practice may offer its locality hub's earliest slot in the same
   window; the patient accepts with a probability by age band.
4. Still nothing: the need books later anyway, calls back at the next opening, calls NHS 111,
   goes to A&E, or gives up.
5. NHS 111 disposes to self-care, pharmacy, primary care (a hub slot; else the practice today
   in hours, failing that a call to the practice at its next opening; the out-of-hours GP when
   practices are shut), A&E or an ambulance.
6. A share of urgent needs seen at the practice are sent on to A&E by their GP.
7. Frail (moderate or severe eFI) urgent needs seen in primary care may be referred to a rapid
   assessment clinic (single point of access, within 2 working days) or stepped up into
   intermediate care. Referral takes the highest-risk patients first; an at-risk patient who is
   neither assessed nor stepped up may deteriorate and attend A&E within the day.
"""

from __future__ import annotations

import heapq
from array import array
from dataclasses import dataclass, field

import numpy as np

from . import ledger
from .calendar import MINUTES_PER_DAY, Calendar
from .config import (
    AGE_BANDS,
    FRAILTY_BANDS,
    NHS111_DISPOSITIONS,
    RAC_OUTCOMES,
    STAFF_NEEDS,
    STAFF_TYPES,
    URGENCIES,
    ModelConfig,
)
from .demand import ROUTINE, SOON, URGENT, Episodes
from .services.hub import HubBooks
from .services.practice import PracticeBooks
from .services.rapid_assessment import ClinicBooks
from .streams import KeyedUniform, keyed_uniforms

ANY_STAFF = STAFF_NEEDS.index("any")
MODERATE = FRAILTY_BANDS.index("moderate")
GOLDEN = 0.6180339887498949  # rotates a uniform for repeated decisions, keeping it uniform

# Flow-matrix nodes (origin -> destination counts are reported per week in flows.csv)
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
NODE = {name: i for i, name in enumerate(FLOW_NODES)}

# Why an episode reached A&E (kept for flows and the primary-care-treatable flag)
(
    AE_VIA_DISPLACED,
    AE_VIA_NHS111,
    AE_VIA_AMBULANCE,
    AE_VIA_RAC_NO_SLOT,
    AE_VIA_ESCALATION,
    AE_VIA_GP_REFERRAL,
) = range(6)
ESCALATION_DELAY_MINUTES = 12 * 60  # an unassessed frail patient deteriorates within the day
# Sources of admissions and step-ups recorded here
ADMIT_FROM_RAC, ADMIT_FROM_RAC_NO_SLOT = range(2)
STEP_UP_FROM_PRACTICE, STEP_UP_FROM_RAC = range(2)

_EV_REQUEST, _EV_RAC = 0, 1
FIRST_CHOICE_ONLINE, FIRST_CHOICE_PHARMACY, FIRST_CHOICE_HUB = 1, 2, 3  # 0: the practice
# Episodes held as Python lists at a time in the booking pass (bounds its memory)
WINDOW_EPISODES = 1 << 16


@dataclass
class Handoffs:
    """Episodes handed to services simulated after the booking pass (parallel lists)."""

    ae_episode: list[int] = field(default_factory=list)
    ae_time: list[float] = field(default_factory=list)
    ae_via: list[int] = field(default_factory=list)
    admit_episode: list[int] = field(default_factory=list)
    admit_time: list[float] = field(default_factory=list)
    admit_source: list[int] = field(default_factory=list)
    step_up_episode: list[int] = field(default_factory=list)
    step_up_time: list[float] = field(default_factory=list)
    step_up_source: list[int] = field(default_factory=list)


@dataclass
class SystemJourneys:
    """What happened to each episode before the waiting services (arrays align with
    :class:`~sim.demand.Episodes`)."""

    outcome: np.ndarray  # int8 terminal state (ledger.TERMINAL_STATES); PENDING if handed off
    first_request_time: np.ndarray  # float64 first request to the practice, NaN if none
    booked_time: np.ndarray  # float64 when the practice booking was made, NaN if none
    appointment_day: np.ndarray  # int32 practice appointment day, -1 if none
    appointment_minute: np.ndarray  # int16
    staff_type: np.ndarray  # int8 index into STAFF_TYPES, -1 if no practice booking
    attempts: np.ndarray  # int8 requests made to the practice (1 + call-backs)
    hub_booked_time: np.ndarray  # float64, NaN if no hub booking
    hub_time: np.ndarray  # float64 minute of the hub appointment, NaN if none
    nhs111_time: np.ndarray  # float64 minute of the first NHS 111 contact, NaN if none
    nhs111_calls: np.ndarray  # float64 minute of every NHS 111 contact (one per call)
    rac_referral_time: np.ndarray  # float64, NaN if not referred
    rac_time: np.ndarray  # float64 minute of the clinic appointment, NaN if none
    third_next_available: np.ndarray  # (days, practices) GP third-next-available, NaN unsampled
    handoffs: Handoffs
    flow_episode: np.ndarray  # int32: one row per transition
    flow_from: np.ndarray  # int8 index into FLOW_NODES
    flow_to: np.ndarray  # int8


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minute each need first reaches its practice; which arose in core hours; which are urgent
    needs arising out of hours that do not wait for the practice.
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
    return request, in_hours, urgent_ooh


def booking_window(
    urgency: int,
    earliest_offset_days: int,
    today: int,
    soon_deadline: list[int],
    target: dict[str, int],
) -> tuple[int, int]:
    """First and last acceptable appointment day of a request made on day ``today``: urgent
    within its target (today by default), soon by its deadline in working days, routine from
    its earliest day with a week's leeway (so the window never shrinks to a single, possibly
    closed, day) and within the routine target. :func:`booking_windows` is the same rule for
    arrays (tests hold them together)."""
    if urgency == URGENT:
        return today, today + target["urgent"]
    if urgency == SOON:
        return today, soon_deadline[today]
    first = today + earliest_offset_days
    return first, max(first + 6, today + target["routine"])


def booking_windows(
    urgency: np.ndarray,
    earliest_offset_days: np.ndarray,
    today: np.ndarray,
    soon_deadline: np.ndarray,
    target: dict[str, int],
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`booking_window` for every episode at once (first requests, before the loop)."""
    first = np.where(urgency == ROUTINE, today + earliest_offset_days, today)
    last = np.where(
        urgency == URGENT,
        today + target["urgent"],
        np.where(
            urgency == SOON,
            soon_deadline[np.clip(today, 0, len(soon_deadline) - 1)],
            np.maximum(first + 6, today + target["routine"]),
        ),
    )
    return first, last


def _thresholds(shares: list[float]) -> list[float]:
    out, acc = [], 0.0
    for s in shares:
        acc += s
        out.append(acc)
    out[-1] = 1.0 + 1e-12
    return out


def _pick(u: float, cumulative: list[float]) -> int:
    for k, c in enumerate(cumulative):
        if u < c:
            return k
    return len(cumulative) - 1


def run_journeys(
    ep: Episodes,
    cfg: ModelConfig,
    calendar: Calendar,
    practices: PracticeBooks,
    hubs: HubBooks,
    clinics: ClinicBooks,
    frail_service: HubBooks | None = None,
) -> SystemJourneys:
    """Route every episode through practices, hubs, NHS 111 and rapid assessment clinics."""
    n = len(ep)
    a = cfg.assumptions
    booking = a.booking
    n_days = calendar.n_days
    run_days = calendar.run_days
    end_minute = run_days * MINUTES_PER_DAY
    hours = cfg.site.core_hours
    open_m, close_m = hours.open_minute, hours.close_minute
    horizon = cfg.site.practice_capacity.booking_horizon_days
    target = booking.target_days
    max_callbacks = booking.max_callbacks
    is_working = calendar.is_working.tolist()

    no_slot = [
        _thresholds(
            [
                booking.no_slot[u].book_later,
                booking.no_slot[u].callback_next_day,
                booking.no_slot[u].nhs111,
                booking.no_slot[u].ae,
                booking.no_slot[u].give_up,
            ]
        )
        for u in URGENCIES
    ]
    ooh_route = _thresholds(
        [booking.out_of_hours_route["nhs111"], booking.out_of_hours_route["ae"]]
    )
    disposition = _thresholds([a.nhs111.disposition[d] for d in NHS111_DISPOSITIONS])
    rac_outcome = _thresholds([a.rapid_assessment.outcome[o] for o in RAC_OUTCOMES])
    hub_accept = [a.hubs.accept_share_by_age[b] for b in AGE_BANDS]
    hub_offer_share = booking.hub_offer_share
    hub_dna = a.hubs.dna_probability
    prefer_hub = a.hubs.prefer_hub_share_non_urgent
    rac_from_practice = a.rapid_assessment.referral_share_from_practice
    rac_from_111 = a.rapid_assessment.referral_share_from_nhs111
    rac_no_slot_to_ae = a.rapid_assessment.no_slot_to_ae_share
    rac_max_wait = a.rapid_assessment.max_wait_working_days
    step_up_share = a.intermediate_care.step_up_share_from_practice
    at_risk = a.rapid_assessment.at_risk_share
    escalation = a.rapid_assessment.escalation_probability
    to_ae = a.nhs111.minutes_to_ae
    alt = a.alternatives
    online_share = [alt.online_consultation.share[u] for u in URGENCIES]
    alt_share = [online_share[k] + alt.pharmacy_first.share[u] for k, u in enumerate(URGENCIES)]
    any_alternative = any(x > 0 for x in alt_share)

    soon_deadline = [calendar.add_working_days(d, target["soon"]) for d in range(n_days)]
    rac_deadline = [calendar.add_working_days(d, rac_max_wait) for d in range(n_days)]
    next_open = [
        int(calendar.next_working[min(d + 1, n_days)]) * MINUTES_PER_DAY + open_m
        for d in range(n_days)
    ]
    dna_table = dna_probability_by_lead(cfg, n_days + horizon + 1)

    request, in_hours, urgent_ooh = request_times(ep, cfg, calendar)

    # Per-episode results, written when an episode leaves the booking window (see below).
    outcome_out = np.full(n, ledger.PENDING, dtype=np.int8)
    booked_time_out = np.full(n, np.nan)
    appt_day_out = np.full(n, -1, dtype=np.int32)
    appt_min_out = np.full(n, -1, dtype=np.int16)
    staff_used_out = np.full(n, -1, dtype=np.int8)
    attempts_out = np.zeros(n, dtype=np.int8)
    # Written for few episodes, so numpy arrays indexed by episode number, not window lists
    hub_booked = np.full(n, np.nan)
    hub_time = np.full(n, np.nan)
    nhs111_time = np.full(n, np.nan)
    rac_ref = np.full(n, np.nan)
    rac_time = np.full(n, np.nan)
    nhs111_calls: list[float] = []
    # Transitions, one row each; compact arrays because there are several per episode
    flow_ep = array("i")  # episode numbers fit 32 bits (checked below)
    flow_from = array("b")
    flow_to = array("b")
    handoffs = Handoffs()

    u_hub_offer = KeyedUniform("hub_offer")
    u_hub_accept = KeyedUniform("hub_accept")
    u_hub_dna = KeyedUniform("hub_dna")
    # Decisions every episode faces are drawn for all episodes at once (same keyed uniforms
    # as the scalar form, so the same patients decide the same way): this is the hot path.
    non_urgent = ep.urgency != URGENT
    # What the need tries before its practice's book: an alternative scheme, else the hub
    first_choice_all = np.where(
        non_urgent & (keyed_uniforms(ep.key, "prefer_hub") < prefer_hub), FIRST_CHOICE_HUB, 0
    ).astype(np.int8)
    if any_alternative:
        u_alt = keyed_uniforms(ep.key, "alternative")
        online_cut = np.asarray(online_share)[ep.urgency]
        any_cut = np.asarray(alt_share)[ep.urgency]
        first_choice_all[u_alt < any_cut] = FIRST_CHOICE_PHARMACY
        first_choice_all[u_alt < online_cut] = FIRST_CHOICE_ONLINE
    gp_refers_all = (ep.urgency == URGENT) & (
        keyed_uniforms(ep.key, "gp_referral") < a.ae.gp_referral_share_of_urgent
    )
    u_ooh_route = KeyedUniform("out_of_hours_route")
    u_disposition = KeyedUniform("nhs111_disposition")
    u_rac_referral = KeyedUniform("rac_referral")
    u_rac_outcome = KeyedUniform("rac_outcome")
    u_rac_no_slot = KeyedUniform("rac_no_slot")
    u_step_up = KeyedUniform("step_up")
    u_escalate = KeyedUniform("escalation")

    book_rows = practices.books
    loc_index = {name: k for k, name in enumerate(hubs.localities)}
    locality_of_practice = [loc_index[p.locality] for p in cfg.site.practices.values()]
    hub_books = hubs.books
    rac_books = clinics.books
    # 'Any clinician' needs: on a tie the first listed wins, so GPs (the scarcest) come last.
    all_staff = tuple(sorted(range(len(STAFF_TYPES)), key=lambda s: STAFF_TYPES[s] == "gp"))
    any_staff_books = [tuple((s, row[s]) for s in all_staff) for row in book_rows]
    # (time, kind, episode, arg): arg is the attempt number for a practice request, the origin
    # flow node for a clinic referral
    events: list[tuple[float, int, int, int]] = []

    def flow(i: int, origin: int, dest: int) -> None:
        flow_ep.append(base + i)
        flow_from.append(origin)
        flow_to.append(dest)

    def earliest(books, today, minute, first, last):
        """Earliest (day, minute, index) over ``books`` in days [first, last], not booked."""
        best = None
        for s, book in books:
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
        return best

    def take(book, today, minute, d):
        return book.book_today(today, minute) if d == today else book.book_on(d)

    def window(i: int, today: int) -> tuple[int, int]:
        offset = int(offset_all[base + i])
        return booking_window(urgency[i], offset, today, soon_deadline, target)

    def to_ae_dept(i: int, t: float, via: int, origin: int) -> None:
        handoffs.ae_episode.append(base + i)
        handoffs.ae_time.append(t + to_ae)
        handoffs.ae_via.append(via)
        flow(i, origin, NODE["ambulance"] if via == AE_VIA_AMBULANCE else NODE["ae"])

    def admit(i: int, t: float, source: int) -> None:
        """Admitted directly (not via A&E) from a rapid assessment clinic."""
        outcome[i] = ledger.ADMITTED
        handoffs.admit_episode.append(base + i)
        handoffs.admit_time.append(t)
        handoffs.admit_source.append(source)
        flow(i, NODE["rac"], NODE["admission"])

    def step_up(i: int, t: float, source: int, origin: int) -> None:
        """Asks IC+ for a place; settled after the IC+ stage (started, or admitted instead)."""
        outcome[i] = ledger.PENDING
        handoffs.step_up_episode.append(base + i)
        handoffs.step_up_time.append(t)
        handoffs.step_up_source.append(source)
        flow(i, origin, NODE["intermediate_care"])

    def after_urgent_care(i: int, t: float, origin: int) -> None:
        """Frail urgent needs seen in primary care: RAC referral or IC step-up, else home."""
        if not (frail[i] and urgency[i] == URGENT):
            return
        k = int(key_all[base + i])
        risk = u_rac_referral(k)  # low = high risk: referral takes the highest-risk first
        if risk < rac_from_practice:
            heapq.heappush(events, (t, _EV_RAC, base + i, origin))
        elif u_step_up(k) < step_up_share:
            step_up(i, t, STEP_UP_FROM_PRACTICE, origin)
        elif risk < at_risk and u_escalate(k) < escalation:
            outcome[i] = ledger.PENDING
            to_ae_dept(i, t + ESCALATION_DELAY_MINUTES - to_ae, AE_VIA_ESCALATION, origin)

    def try_hub(i: int, t: float, first: int, last: int, offered_by_practice: bool) -> bool:
        """Offer the locality hub's earliest slot in [first, last]; True if the need is settled."""
        k = int(key_all[base + i])
        if offered_by_practice and u_hub_offer(k) >= hub_offer_share:
            return False
        book = hub_books[locality_of_practice[practice[i]]]
        today = int(t // MINUTES_PER_DAY)
        minute = t - today * MINUTES_PER_DAY
        best = earliest(((0, book),), today, minute, first, last)
        if best is None or u_hub_accept(k) >= hub_accept[age_all[base + i]]:
            return False
        d = best[0]
        slot = take(book, today, minute, d)
        when = d * MINUTES_PER_DAY + slot
        hub_booked[base + i] = t
        hub_time[base + i] = when
        if d >= run_days:
            outcome[i] = ledger.WAITING_AT_END
        elif u_hub_dna(k) < hub_dna:
            outcome[i] = ledger.DID_NOT_ATTEND
        else:
            outcome[i] = ledger.ATTENDED_HUB
            after_urgent_care(i, when, NODE["hub"])
        return True

    def call_back(i: int, t: float, attempt: int) -> None:
        """The need asks its practice again (after no slot, or on NHS 111's advice)."""
        if t >= end_minute:
            attempts[i] = attempt + 1
            outcome[i] = ledger.WAITING_AT_END
            return
        today = int(t // MINUTES_PER_DAY)
        first, last = window(i, today)
        ask_practice(i, t, attempt, today, t - today * MINUTES_PER_DAY, first, last)

    def ask_practice(
        i: int, t: float, attempt: int, today: int, minute: float, first: int, last: int
    ) -> None:
        """Request number ``attempt`` + 1 to the practice, on ``today`` for days [first, last]."""
        attempts[i] = attempt + 1
        if attempt == 0 and first_choice[i]:
            choice = first_choice[i]
            if choice == FIRST_CHOICE_HUB:
                if try_hub(i, t, first, last, False):
                    flow(i, NODE["practice"], NODE["hub"])
                    return
            else:
                online = choice == FIRST_CHOICE_ONLINE
                outcome[i] = ledger.RESOLVED_ONLINE if online else ledger.PHARMACY_FIRST
                flow(
                    i, NODE["practice"], NODE["online_consultation" if online else "pharmacy_first"]
                )
                return
        row = book_rows[practice[i]]
        need = staff_need[i]
        d = -1
        if need == ANY_STAFF:
            best = earliest(any_staff_books[practice[i]], today, minute, first, last)
            if best is not None:
                d, _, s = best
                slot = take(row[s], today, minute, d)
        else:
            # One staff type (most needs): book directly, no look-ahead needed.
            s, book = need, row[need]
            lo = first
            if first <= today:
                slot = book.book_today(today, minute)
                if slot >= 0:
                    d = today
                lo = today + 1
            if d < 0 and lo <= last:
                d, slot = book.book_future(today, lo, last)
        if d < 0:
            if try_hub(i, t, first, last, True):
                flow(i, NODE["practice"], NODE["hub"])
                return
            u = (float(u_choice_all[base + i]) + attempt * GOLDEN) % 1.0
            action = _pick(u, no_slot[urgency[i]])
            best = None
            if action == 0:  # book later at the practice, however late
                if need == ANY_STAFF:
                    books = any_staff_books[practice[i]]
                else:
                    books = ((need, row[need]),)
                best = earliest(books, today, minute, last + 1, today + horizon)
                if best is None:
                    action = 1
            if best is None:
                if action == 1 and attempt < max_callbacks:
                    heapq.heappush(events, (next_open[today], _EV_REQUEST, base + i, attempt + 1))
                elif action == 2:
                    flow(i, NODE["practice"], NODE["nhs111"])
                    handle_111(i, t)
                elif action == 3:
                    to_ae_dept(i, t, AE_VIA_DISPLACED, NODE["practice"])
                else:
                    outcome[i] = ledger.GAVE_UP
                    flow(i, NODE["practice"], NODE["gave_up"])
                return
            d, _, s = best
            slot = take(row[s], today, minute, d)
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
            if gp_refers[i]:
                # The GP sends the patient to A&E after the appointment.
                outcome[i] = ledger.PENDING
                to_ae_dept(i, d * MINUTES_PER_DAY + slot, AE_VIA_GP_REFERRAL, NODE["practice"])
            elif frail[i]:
                after_urgent_care(i, d * MINUTES_PER_DAY + slot, NODE["practice"])

    def handle_111(i: int, t: float) -> None:
        # A need can call NHS 111 more than once (after a failed call-back): every call counts.
        if nhs111_time[base + i] != nhs111_time[base + i]:
            nhs111_time[base + i] = t
        nhs111_calls.append(t)
        k = int(key_all[base + i])
        choice = NHS111_DISPOSITIONS[_pick(u_disposition(k), disposition)]
        here = NODE["nhs111"]
        if choice == "self_care":
            outcome[i] = ledger.SELF_CARE
            flow(i, here, NODE["self_care"])
        elif choice == "pharmacy":
            outcome[i] = ledger.PHARMACY
            flow(i, here, NODE["pharmacy"])
        elif choice == "primary_care":
            today = int(t // MINUTES_PER_DAY)
            if today >= n_days:
                outcome[i] = ledger.WAITING_AT_END
                return
            first, last = window(i, today)
            if try_hub(i, t, first, last, False):
                flow(i, here, NODE["hub"])
                return
            minute = t - today * MINUTES_PER_DAY
            if is_working[today] and open_m <= minute < close_m:
                row = book_rows[practice[i]]
                best = earliest(any_staff_books[practice[i]], today, minute, today, today)
                if best is not None:
                    d, _, s = best
                    slot = take(row[s], today, minute, d)
                    booked_time[i] = t
                    appt_day[i], appt_min[i], staff_used[i] = d, slot, s
                    flow(i, here, NODE["practice"])
                    if u_dna[i] < dna_table[0]:
                        outcome[i] = ledger.DID_NOT_ATTEND
                    else:
                        outcome[i] = ledger.ATTENDED_PRACTICE
                        after_urgent_care(i, d * MINUTES_PER_DAY + slot, NODE["practice"])
                    return
                # Nothing today: NHS 111 advises calling the practice at its next opening.
                if attempts[i] <= max_callbacks:
                    flow(i, here, NODE["practice"])
                    heapq.heappush(events, (next_open[today], _EV_REQUEST, base + i, attempts[i]))
                else:
                    outcome[i] = ledger.GAVE_UP
                    flow(i, here, NODE["gave_up"])
            else:
                outcome[i] = ledger.OUT_OF_HOURS_GP
                flow(i, here, NODE["out_of_hours_gp"])
        elif choice == "ae":
            today = int(t // MINUTES_PER_DAY)
            minute = t - today * MINUTES_PER_DAY
            in_clinic_hours = today < n_days and is_working[today] and open_m <= minute < close_m
            urgent_frail = frail[i] and urgency[i] == URGENT
            if urgent_frail and in_clinic_hours and u_rac_referral(k) < rac_from_111:
                heapq.heappush(events, (t, _EV_RAC, base + i, here))
            else:
                to_ae_dept(i, t, AE_VIA_NHS111, here)
        else:
            to_ae_dept(i, t, AE_VIA_AMBULANCE, here)

    def handle_rac(i: int, t: float, origin: int) -> None:
        flow(i, origin, NODE["rac"])
        rac_ref[base + i] = t
        today = int(t // MINUTES_PER_DAY)
        if today >= run_days:
            outcome[i] = ledger.WAITING_AT_END
            return
        minute = t - today * MINUTES_PER_DAY
        best = earliest(tuple(enumerate(rac_books)), today, minute, today, rac_deadline[today])
        k = int(key_all[base + i])
        if best is None:
            if u_rac_no_slot(k) < rac_no_slot_to_ae:
                to_ae_dept(i, t, AE_VIA_RAC_NO_SLOT, NODE["rac"])
            else:
                admit(i, t, ADMIT_FROM_RAC_NO_SLOT)
            return
        d, _, s = best
        slot = take(rac_books[s], today, minute, d)
        when = d * MINUTES_PER_DAY + slot
        rac_time[base + i] = when
        if d >= run_days:
            outcome[i] = ledger.WAITING_AT_END
            return
        result = RAC_OUTCOMES[_pick(u_rac_outcome(k), rac_outcome)]
        if result == "home":
            outcome[i] = ledger.RAC_HOME
            flow(i, NODE["rac"], NODE["home"])
        elif result == "intermediate_care":
            step_up(i, when, STEP_UP_FROM_RAC, NODE["rac"])
        else:
            admit(i, when, ADMIT_FROM_RAC)

    gp = STAFF_TYPES.index("gp")
    tna = np.full((n_days, len(book_rows)), np.nan)
    sampled_until = -1  # last day whose opening has been sampled
    sample_from = 0.0  # the first minute of the day after it

    def sample_access(t: float) -> None:
        """Third-next-available GP slot at the opening of each working day up to ``t``."""
        nonlocal sampled_until, sample_from
        up_to_day = int(t // MINUTES_PER_DAY)
        for d in range(sampled_until + 1, min(up_to_day, run_days - 1) + 1):
            if is_working[d]:
                for p, row in enumerate(book_rows):
                    tna[d, p] = row[gp].third_next_available_days(d, open_m, horizon)
        sampled_until = max(sampled_until, up_to_day)
        sample_from = (sampled_until + 1) * MINUTES_PER_DAY

    def dispatch(t: float, kind: int, episode: int, arg: int) -> None:
        if t >= sample_from:
            sample_access(t)
        if kind == _EV_REQUEST:
            call_back(episode - base, t, arg)
        else:
            handle_rac(episode - base, t, arg)

    need_in, need_out = NODE["need_in_hours"], NODE["need_out_of_hours"]
    frail_books = frail_service.books if frail_service is not None else []
    has_frail_service = any(b.slot_times_on(d) for b in frail_books for d in range(min(7, n_days)))
    frail_ooh = ~in_hours & (ep.urgency == URGENT) & (ep.frailty >= MODERATE) & has_frail_service
    # Needs that may not simply ask their practice: 1 urgent out of hours, 2 frail and urgent
    # out of hours with a frail service to try first, 3 both.
    out_of_hours_kind = urgent_ooh.astype(np.int8) + 2 * frail_ooh
    request_day = (request // MINUTES_PER_DAY).astype(np.int32)
    request_minute = request - request_day * MINUTES_PER_DAY
    first_day, last_day = booking_windows(
        ep.urgency, ep.earliest_offset_days, request_day, np.asarray(soon_deadline), target
    )

    def out_of_hours(i: int) -> bool:
        """An urgent need while practices are shut, at the moment it arises: a frail service's
        same-day visit if there is one, else NHS 111 or A&E at once (unless it waits for the
        practice). True if the need is settled here."""
        kind = ooh_kind[i]
        t = float(arising_all[base + i])
        while events and events[0][0] <= t:
            dispatch(*heapq.heappop(events))
        if kind >= 2:
            book = frail_books[locality_of_practice[practice[i]]]
            today = int(t // MINUTES_PER_DAY)
            minute = t - today * MINUTES_PER_DAY
            if today < run_days and book.peek_today(today, minute) >= 0:
                book.book_today(today, minute)
                outcome[i] = ledger.FRAIL_WEEKEND_GP
                flow(i, need_out, NODE["frail_weekend_gp"])
                return True
        if kind & 1:
            if _pick(u_ooh_route(int(key_all[base + i])), ooh_route) == 0:
                flow(i, need_out, NODE["nhs111"])
                handle_111(i, t)
            else:
                to_ae_dept(i, t, AE_VIA_DISPLACED, need_out)
            return True
        return False

    # Episodes are handled in the order they reach their practice. That is their own order:
    # episodes come sorted by the time they arise and the request rule (at once in hours, the
    # next opening otherwise) never reorders them, so the window below can slide forward.
    if n and np.any(np.diff(request) < 0):
        raise AssertionError("episodes must reach their practice in the order they arise")
    if n >= 2**31:
        raise ValueError(f"{n:,} episodes in one replication: more than the model can number")

    # The booking pass reads and writes per-episode values as Python lists (far faster than
    # numpy scalars), but only for a sliding window of episodes, so memory is bounded by the
    # window, not the run. Window position i is episode base + i; an episode leaves the window
    # (its results are written to the arrays) once no pending event refers to it.
    # Values read for few episodes are read from the arrays instead.
    offset_all, age_all, key_all = ep.earliest_offset_days, ep.age_band, ep.key
    u_choice_all, arising_all = ep.uniforms["no_slot_choice"], ep.time
    inputs = (
        ep.practice,
        ep.urgency,
        ep.staff_need,
        ep.frailty >= MODERATE,
        ep.uniforms["dna"],
        first_choice_all,
        gp_refers_all,
        request,
        request_day,
        request_minute,
        first_day,
        last_day,
        out_of_hours_kind,
    )
    results = (
        outcome_out,
        booked_time_out,
        appt_day_out,
        appt_min_out,
        staff_used_out,
        attempts_out,
    )
    fill = (ledger.PENDING, float("nan"), -1, -1, -1, 0)
    in_lists: list[list] = [[] for _ in inputs]
    out_lists: list[list] = [[] for _ in results]
    base = 0
    for lo in range(0, n, WINDOW_EPISODES):
        hi = min(lo + WINDOW_EPISODES, n)
        keep_from = min(lo, min(e[2] for e in events)) if events else lo
        done = keep_from - base
        for array_out, values in zip(results, out_lists, strict=True):
            array_out[base:keep_from] = values[:done]
        in_lists = [old[done:] + a[lo:hi].tolist() for old, a in zip(in_lists, inputs, strict=True)]
        out_lists = [old[done:] + [f] * (hi - lo) for old, f in zip(out_lists, fill, strict=True)]
        base = keep_from
        (
            practice,
            urgency,
            staff_need,
            frail,
            u_dna,
            first_choice,
            gp_refers,
            req_list,
            req_day,
            req_minute,
            req_first,
            req_last,
            ooh_kind,
        ) = in_lists
        outcome, booked_time, appt_day, appt_min, staff_used, attempts = out_lists

        for i in range(lo - base, hi - base):
            if ooh_kind[i] and out_of_hours(i):
                continue
            t = req_list[i]
            while events and events[0][0] <= t:
                dispatch(*heapq.heappop(events))
            if t >= sample_from:
                sample_access(t)
            if t >= end_minute:
                attempts[i] = 1
                outcome[i] = ledger.WAITING_AT_END
                continue
            ask_practice(i, t, 0, req_day[i], req_minute[i], req_first[i], req_last[i])
    while events:
        dispatch(*heapq.heappop(events))
    for array_out, values in zip(results, out_lists, strict=True):
        array_out[base:n] = values

    # Needs that asked their practice: all but those settled while it was shut.
    settled_out_of_hours = ((out_of_hours_kind & 1) == 1) | (outcome_out == ledger.FRAIL_WEEKEND_GP)
    first_request_out = np.where(settled_out_of_hours, np.nan, request)
    # The per-episode working arrays go before the flow table is assembled (peak memory).
    del inputs, in_lists, out_lists, request_day, request_minute, first_day, last_day
    # Every need that asked its practice entered from "need in/out of hours" (recorded here,
    # at once, rather than one append per episode in the loop).
    # Put first, so each episode's transitions stay in the order they happened.
    asked = np.flatnonzero(~settled_out_of_hours).astype(np.int32)
    entry_from = np.where(in_hours[asked], need_in, need_out).astype(np.int8)

    return SystemJourneys(
        outcome=outcome_out,
        first_request_time=first_request_out,
        booked_time=booked_time_out,
        appointment_day=appt_day_out,
        appointment_minute=appt_min_out,
        staff_type=staff_used_out,
        attempts=attempts_out,
        hub_booked_time=hub_booked,
        hub_time=hub_time,
        nhs111_time=nhs111_time,
        nhs111_calls=np.array(nhs111_calls, dtype=float),
        rac_referral_time=rac_ref,
        rac_time=rac_time,
        third_next_available=tna,
        handoffs=handoffs,
        flow_episode=np.concatenate([asked, np.frombuffer(flow_ep, dtype=np.int32)]),
        flow_from=np.concatenate([entry_from, np.frombuffer(flow_from, dtype=np.int8)]),
        flow_to=np.concatenate(
            [np.full(len(asked), NODE["practice"], dtype=np.int8), np.frombuffer(flow_to, np.int8)]
        ),
    )
