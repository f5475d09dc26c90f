"""Patient journeys through primary and urgent care: who books what, and where a need goes
when it cannot be met in time.

Requests are handled at the moment they are made (bookings are instantaneous decisions), in
time order over the whole run, from one heap of events: new requests, call-backs at the next
opening, and referrals to rapid assessment clinics at the time of the appointment that made
them. Waiting services (A&E, intermediate care, hospital beds) are simulated afterwards from
the hand-offs recorded here (see :mod:`sim.core.replication`): nothing downstream feeds back
into booking, so the data flows one way.

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

from dataclasses import dataclass, field

import numpy as np

from sim.booking import kernel as kernel
from sim.booking.kernel import (  # noqa: F401 (codes read by sim.model and the tests)
    ADMIT_FROM_RAC,
    ADMIT_FROM_RAC_NO_SLOT,
    AE_VIA_AMBULANCE,
    AE_VIA_DISPLACED,
    AE_VIA_ESCALATION,
    AE_VIA_GP_REFERRAL,
    AE_VIA_NHS111,
    AE_VIA_RAC_NO_SLOT,
    ESCALATION_DELAY_MINUTES,
    FLOW_NODES,
    STEP_UP_FROM_PRACTICE,
    STEP_UP_FROM_RAC,
)
from sim.config.schema import (
    AGE_BANDS,
    FRAILTY_BANDS,
    NHS111_DISPOSITIONS,
    RAC_OUTCOMES,
    STAFF_NEEDS,
    STAFF_TYPES,
    URGENCIES,
    ModelConfig,
)
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY, Calendar
from sim.core.demand import ROUTINE, SOON, URGENT, Episodes
from sim.core.streams import KeyedUniform, keyed_uniforms
from sim.services.hub import HubBooks
from sim.services.practice import PracticeBooks
from sim.services.rapid_assessment import ClinicBooks

ANY_STAFF = STAFF_NEEDS.index("any")
MODERATE = FRAILTY_BANDS.index("moderate")

NODE = {name: i for i, name in enumerate(FLOW_NODES)}  # FLOW_NODES: see sim.booking.kernel
# The codes of why an episode reached A&E (AE_VIA_*), of where admissions and step-ups
# recorded here came from (ADMIT_FROM_*, STEP_UP_FROM_*) and what a need tries first
# (FIRST_CHOICE_*) are defined with the compiled rules, in sim.booking.kernel.


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
    :class:`~sim.core.demand.Episodes`)."""

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
    closed, day) and within the routine target. The compiled pass applies this rule
    (:func:`sim.booking.kernel.booking_window`) to call-backs and NHS 111; :func:`booking_windows`
    is the same rule for arrays (first requests; tests hold them together)."""
    first, last = kernel.booking_window(
        urgency,
        earliest_offset_days,
        today,
        np.asarray(soon_deadline, dtype=np.int64),
        target["urgent"],
        target["routine"],
    )
    return int(first), int(last)


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


def run_journeys(
    ep: Episodes,
    cfg: ModelConfig,
    calendar: Calendar,
    practices: PracticeBooks,
    hubs: HubBooks,
    clinics: ClinicBooks,
    frail_service: HubBooks | None = None,
) -> SystemJourneys:
    """Route every episode through practices, hubs, NHS 111 and rapid assessment clinics.

    Everything that can be decided for all episodes at once is decided here with numpy; the
    sequential part (each booking changes the books the next request sees) runs compiled, in
    :func:`sim.booking.kernel.booking_pass`, on an array form of the books, whose pointers are
    written back into the AppointmentBook objects afterwards.
    """
    n = len(ep)
    a = cfg.assumptions
    booking = a.booking
    n_days = calendar.n_days
    run_days = calendar.run_days
    hours = cfg.site.core_hours
    open_m = hours.open_minute
    horizon = cfg.site.practice_capacity.booking_horizon_days
    target = booking.target_days
    alt = a.alternatives
    online_share = [alt.online_consultation.share[u] for u in URGENCIES]
    alt_share = [online_share[k] + alt.pharmacy_first.share[u] for k, u in enumerate(URGENCIES)]
    any_alternative = any(x > 0 for x in alt_share)

    soon_deadline = [calendar.add_working_days(d, target["soon"]) for d in range(n_days)]
    rac_max_wait = a.rapid_assessment.max_wait_working_days
    rac_deadline = [calendar.add_working_days(d, rac_max_wait) for d in range(n_days)]
    next_open = [
        int(calendar.next_working[min(d + 1, n_days)]) * MINUTES_PER_DAY + open_m
        for d in range(n_days)
    ]

    request, in_hours, urgent_ooh = request_times(ep, cfg, calendar)

    # Decisions every episode faces are drawn for all episodes at once (the same keyed
    # uniforms as the compiled pass draws one at a time, so the same patients decide the same
    # way).
    non_urgent = ep.urgency != URGENT
    # What the need tries before its practice's book: an alternative scheme, else the hub
    first_choice_all = np.where(
        non_urgent & (keyed_uniforms(ep.key, "prefer_hub") < a.hubs.prefer_hub_share_non_urgent),
        kernel.FIRST_CHOICE_HUB,
        0,
    ).astype(np.int8)
    if any_alternative:
        u_alt = keyed_uniforms(ep.key, "alternative")
        online_cut = np.asarray(online_share)[ep.urgency]
        any_cut = np.asarray(alt_share)[ep.urgency]
        first_choice_all[u_alt < any_cut] = kernel.FIRST_CHOICE_PHARMACY
        first_choice_all[u_alt < online_cut] = kernel.FIRST_CHOICE_ONLINE
    gp_refers_all = (ep.urgency == URGENT) & (
        keyed_uniforms(ep.key, "gp_referral") < a.ae.gp_referral_share_of_urgent
    )

    book_rows = practices.books
    loc_index = {name: k for k, name in enumerate(hubs.localities)}
    locality_of_practice = [loc_index[p.locality] for p in cfg.site.practices.values()]
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

    # Episodes are handled in the order they reach their practice. That is their own order:
    # episodes come sorted by the time they arise and the request rule (at once in hours, the
    # next opening otherwise) never reorders them.
    if n and np.any(np.diff(request) < 0):
        raise AssertionError("episodes must reach their practice in the order they arise")
    if n >= 2**31:
        raise ValueError(f"{n:,} episodes in one replication: more than the model can number")

    # One array form for every book: practices (practice p's staff s is book p * S + s), then
    # the locality hubs, the clinics and the frail service.
    all_books = [book for row in book_rows for book in row]
    hub_first_book = len(all_books)
    all_books += hubs.books
    rac_first_book = len(all_books)
    all_books += clinics.books
    frail_first_book = len(all_books) if frail_books else -1
    all_books += frail_books
    books = kernel.pack_books(all_books)

    def thresholds(shares: list[float]) -> np.ndarray:
        return np.asarray(_thresholds(shares), dtype=np.float64)

    def ints(values) -> np.ndarray:
        return np.asarray(values, dtype=np.int64)

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
    if NHS111_DISPOSITIONS[kernel.DISPOSITION_AE] != "ae" or RAC_OUTCOMES[0] != "home":
        raise AssertionError("the compiled pass numbers dispositions and outcomes in config order")
    # 'Any clinician' needs: on a tie the first listed wins, so GPs (the scarcest) come last.
    any_staff_order = sorted(range(len(STAFF_TYPES)), key=lambda s: STAFF_TYPES[s] == "gp")
    rules = kernel.Rules(
        run_days=run_days,
        n_days=n_days,
        end_minute=float(run_days * MINUTES_PER_DAY),
        open_minute=open_m,
        close_minute=hours.close_minute,
        is_working=np.asarray(calendar.is_working, dtype=np.bool_),
        next_open=ints(next_open),
        soon_deadline=ints(soon_deadline),
        rac_deadline=ints(rac_deadline),
        dna_by_lead=np.asarray(dna_probability_by_lead(cfg, n_days + horizon + 1), np.float64),
        horizon=horizon,
        target_urgent=target["urgent"],
        target_routine=target["routine"],
        max_callbacks=booking.max_callbacks,
        no_slot=np.asarray(no_slot, dtype=np.float64),
        out_of_hours_route=thresholds(
            [booking.out_of_hours_route["nhs111"], booking.out_of_hours_route["ae"]]
        ),
        disposition=thresholds([a.nhs111.disposition[d] for d in NHS111_DISPOSITIONS]),
        disposition_displaced=thresholds(
            [a.nhs111.disposition_displaced[d] for d in NHS111_DISPOSITIONS]
        ),
        rac_outcome=thresholds([a.rapid_assessment.outcome[o] for o in RAC_OUTCOMES]),
        hub_offer_share=float(booking.hub_offer_share),
        hub_accept_by_age=np.asarray([a.hubs.accept_share_by_age[b] for b in AGE_BANDS], float),
        hub_dna=float(a.hubs.dna_probability),
        rac_from_practice=float(a.rapid_assessment.referral_share_from_practice),
        rac_from_111=float(a.rapid_assessment.referral_share_from_nhs111),
        rac_no_slot_to_ae=float(a.rapid_assessment.no_slot_to_ae_share),
        step_up_share=float(a.intermediate_care.step_up_share_from_practice),
        at_risk=float(a.rapid_assessment.at_risk_share),
        escalation=float(a.rapid_assessment.escalation_probability),
        minutes_to_ae=float(a.nhs111.minutes_to_ae),
        salts=np.array([KeyedUniform(name).salt for name in kernel.SALT_NAMES], np.uint64),
        staff_types=len(STAFF_TYPES),
        any_staff_order=ints(any_staff_order),
        single_staff=ints([[s] for s in range(len(STAFF_TYPES))]),
        gp=STAFF_TYPES.index("gp"),
        any_staff=ANY_STAFF,
        hub_first_book=hub_first_book,
        rac_first_book=rac_first_book,
        rac_labels=ints(range(len(clinics.books))),
        frail_first_book=frail_first_book,
        locality_of_practice=ints(locality_of_practice),
    )
    inputs = kernel.EpisodeInputs(
        practice=ep.practice,
        urgency=ep.urgency,
        staff_need=ep.staff_need,
        frail=ep.frailty >= MODERATE,
        age_band=ep.age_band,
        earliest_offset_days=ep.earliest_offset_days,
        key=np.asarray(ep.key, dtype=np.uint64),
        u_dna=ep.uniforms["dna"],
        u_no_slot=ep.uniforms["no_slot_choice"],
        arising=ep.time,
        request=request,
        request_day=request_day,
        request_minute=request_minute,
        first_day=first_day.astype(np.int64),
        last_day=last_day.astype(np.int64),
        first_choice=first_choice_all,
        gp_refers=gp_refers_all,
        out_of_hours_kind=out_of_hours_kind.astype(np.int8),
    )
    results = kernel.Results(
        outcome=np.full(n, ledger.PENDING, dtype=np.int8),
        booked_time=np.full(n, np.nan),
        appointment_day=np.full(n, -1, dtype=np.int32),
        appointment_minute=np.full(n, -1, dtype=np.int16),
        staff_type=np.full(n, -1, dtype=np.int8),
        attempts=np.zeros(n, dtype=np.int8),
        hub_booked_time=np.full(n, np.nan),
        hub_time=np.full(n, np.nan),
        nhs111_time=np.full(n, np.nan),
        rac_referral_time=np.full(n, np.nan),
        rac_time=np.full(n, np.nan),
        third_next_available=np.full((n_days, len(book_rows)), np.nan),
    )
    logs = kernel.PassRows(*kernel.booking_pass(inputs, rules, books, results))
    kernel.unpack_pointers(books, all_books)
    handoffs = Handoffs(
        ae_episode=logs.ae_episode.tolist(),
        ae_time=logs.ae_time.tolist(),
        ae_via=logs.ae_via.tolist(),
        admit_episode=logs.admit_episode.tolist(),
        admit_time=logs.admit_time.tolist(),
        admit_source=logs.admit_source.tolist(),
        step_up_episode=logs.step_up_episode.tolist(),
        step_up_time=logs.step_up_time.tolist(),
        step_up_source=logs.step_up_source.tolist(),
    )

    # Needs that asked their practice: all but those settled while it was shut.
    outcome = results.outcome
    settled_out_of_hours = ((out_of_hours_kind & 1) == 1) | (outcome == ledger.FRAIL_WEEKEND_GP)
    first_request_out = np.where(settled_out_of_hours, np.nan, request)
    # The per-episode working arrays go before the flow table is assembled (peak memory).
    del inputs, request_day, request_minute, first_day, last_day
    # Every need that asked its practice entered from "need in/out of hours" (recorded here,
    # at once, rather than one row per episode in the pass).
    # Put first, so each episode's transitions stay in the order they happened.
    asked = np.flatnonzero(~settled_out_of_hours).astype(np.int32)
    entry_from = np.where(in_hours[asked], NODE["need_in_hours"], NODE["need_out_of_hours"])

    return SystemJourneys(
        outcome=outcome,
        first_request_time=first_request_out,
        booked_time=results.booked_time,
        appointment_day=results.appointment_day,
        appointment_minute=results.appointment_minute,
        staff_type=results.staff_type,
        attempts=results.attempts,
        hub_booked_time=results.hub_booked_time,
        hub_time=results.hub_time,
        nhs111_time=results.nhs111_time,
        nhs111_calls=logs.nhs111_calls,
        rac_referral_time=results.rac_referral_time,
        rac_time=results.rac_time,
        third_next_available=results.third_next_available,
        handoffs=handoffs,
        flow_episode=np.concatenate([asked, logs.flow_episode]),
        flow_from=np.concatenate([entry_from.astype(np.int8), logs.flow_from]),
        flow_to=np.concatenate(
            [np.full(len(asked), NODE["practice"], dtype=np.int8), logs.flow_to]
        ),
    )
