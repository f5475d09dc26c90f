"""The routing rules of the booking pass: every decision about where a need goes, compiled.

Each rule is one function, called by the event loop (:mod:`sim.booking.engine`) in time order,
changing the books the next request sees. In the order an episode meets them:

1. :func:`out_of_hours`: an urgent need arising while practices are shut: the frail weekend
   GP service if it has a visit today (frail patients), else NHS 111 or A&E at once, unless it
   waits for its practice (decided before the pass).
2. :func:`ask_practice`: a first request may go to an alternative first (online consultation,
   Pharmacy First, the hub; decided before the pass); the practice books the earliest slot in
   the need's window (its staff type, or any clinician).
3. :func:`try_hub`: no practice slot in time: the practice may offer its locality hub's
   earliest slot in the window; the patient accepts with a probability by age band.
4. :func:`no_practice_slot`: still nothing: book later anyway, call back at the next opening,
   call NHS 111, go to A&E, or give up (shares by urgency).
5. :func:`handle_111`: NHS 111 disposes to self-care, pharmacy, primary care (a hub slot; else
   the practice today in hours, failing that a call to the practice at its next opening; the
   out-of-hours GP when practices are shut), A&E (frail urgent patients in clinic hours may be
   referred to a rapid assessment clinic instead) or an ambulance, with one mix for urgent
   needs arising while practices are shut and another for needs displaced because no slot
   was found.
6. :func:`after_appointment`: a patient who would miss the appointment may answer a text
   reminder (:func:`answers_reminder`): come after all, or cancel ahead, giving the slot back to
   the book for others and booking again or not (:func:`cancel_ahead`); a share of urgent needs
   seen at the practice are sent on to A&E by their GP; frail urgent needs go on to rule 7.
7. :func:`after_urgent_care`: frail (moderate eFI or worse) urgent needs seen in primary care
   may be referred to a rapid assessment clinic (highest risk first) or stepped up into
   intermediate care; an at-risk patient who is neither may deteriorate and attend A&E within
   the day.
8. :func:`handle_rac`: the single point of access books the earliest slot at any clinic within
   the deadline; no slot sends the patient to A&E or admits them; the clinic's outcome is home,
   a step-up into IC+ or an admission.
9. Where the site has an urgent treatment centre (:mod:`sim.services.urgent_treatment_centre`)
   for the patient's locality: NHS 111 books a share of its A&E dispositions into it
   (:func:`handle_111`), and a share of the needs about to walk into A&E for want of primary
   care walk into it instead (:func:`walk_in_to_utc`), when it has a slot in time.

Every probability is in the configuration and every random number was drawn when the episode
was created (stored, or keyed: :func:`sim.core.streams.keyed_uniform`).
"""

from __future__ import annotations

import numpy as np

from sim.booking import codes as c
from sim.booking.books import (
    book_earliest,
    book_today,
    earliest,
    peek_today,
    release,
    take,
    third_next_available_days,
)
from sim.booking.state import (
    RARE_CANCELLED,
    RARE_HUB,
    RARE_HUB_BOOKED,
    RARE_NHS111,
    RARE_RAC,
    RARE_RAC_REFERRAL,
    log_admission,
    log_ae,
    log_flow,
    log_nhs111_call,
    log_step_up,
    push_event,
    rare_row,
)
from sim.core.compiled import compiled_rule, compiled_step, compiled_within
from sim.core.streams import keyed_uniform

MINUTES_PER_DAY = 1440
MINUTES_PER_HOUR = 60
#: A repeated decision (the no-slot choice on a call-back) shifts its stored uniform by the
#: golden ratio, modulo 1: still uniform, reproducible, and different from the last one.
GOLDEN = 0.6180339887498949
#: An at-risk frail patient neither assessed nor stepped up who deteriorates reaches A&E this
#: long after the appointment.
ESCALATION_DELAY_MINUTES = np.float64(12 * 60)
#: The urgent treatment centre's flow node and terminal state (a registered service's).
NODE_UTC = c.node_code("urgent_treatment_centre")
SEEN_AT_UTC = c.state_code("urgent_treatment_centre")
#: Who asks the hub (:func:`try_hub`): the practice offers it to a share of needs it cannot
#: book; a need that prefers the hub, or NHS 111, asks for it directly.
OFFERED_BY_PRACTICE = np.bool_(True)
ASKED_DIRECTLY = np.bool_(False)
#: Why a need calls NHS 111 (:func:`handle_111`): displaced (no practice or hub slot found),
#: or urgent while practices are shut. As numpy booleans, not Python literals, so the rule is
#: compiled once for both (a literal argument compiles a specialisation per value).
DISPLACED = np.bool_(True)
CALLED_OUT_OF_HOURS = np.bool_(False)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@compiled_within
def draw(s, i, decision):
    """Episode ``i``'s keyed uniform for ``decision`` (codes.DRAW_*)."""
    return keyed_uniform(s.ep.key[i], s.settings.salts[decision])


@compiled_rule
def pick(u, cumulative):
    """The first option whose cumulative share exceeds ``u``."""
    for k in range(len(cumulative)):
        if u < cumulative[k]:
            return k
    return len(cumulative) - 1


@compiled_rule
def waiting_request_offset(u, cumulative, shares, day_minutes):
    """Minutes after opening at which a need that waited asks its practice, from its keyed
    uniform ``u`` (decision ``waiting_request``, so the same patient rings at the same time in
    every scenario): an hour of the day from ``assumptions.demand.waiting_request_hour_share``
    (``shares``; ``cumulative`` their running total, the last made certain) and a time within
    it. A profile of one hour means at opening, as practices' phone lines open; the last hour
    may be part of one (18:00-18:30 in a day of ``day_minutes``)."""
    if len(shares) == 1:
        return 0.0
    hour = 0
    while cumulative[hour] <= u:  # the last is above every uniform
        hour += 1
    start = cumulative[hour - 1] if hour > 0 else 0.0
    within = min(max((u - start) / max(shares[hour], 1e-300), 0.0), 1 - 1e-12)
    width = min(MINUTES_PER_HOUR, day_minutes - hour * MINUTES_PER_HOUR)
    return min(hour * MINUTES_PER_HOUR + within * width, day_minutes - 1e-6)


@compiled_rule
def first_requests(
    arising,
    urgency,
    frail,
    key,
    u_ooh,
    opens,
    closes,
    next_open,
    wait_salt,
    wait_cumulative,
    wait_shares,
    day_minutes,
    waits_share,
    earliest_offset_days,
    soon_deadline,
    target_urgent,
    target_routine,
    request,
    request_day,
    in_hours,
    urgent_ooh,
    out_of_hours_kind,
    first_day,
    last_day,
):
    """When each need first reaches its practice: at once if it arises in core hours, else
    at the next opening (today's if it arose before it, otherwise the next working day's),
    frail patients' urgent needs at the opening itself and other needs through the day
    (:func:`waiting_request_offset`, with the salt, cumulative and hourly shares and the
    length of the practice day given). An urgent need arising out of hours
    waits for it with probability ``waits_share`` (``u_ooh`` below it), else it is settled
    out of hours (``urgent_ooh``) and never asks the practice: its request is the minute it
    arises. Per calendar day, ``opens`` and ``closes`` are the minutes practices open and
    close (-inf on a day they are shut: no time is inside, nor before the opening) and
    ``next_open`` the next opening after that day. Fills ``request`` (minute),
    ``request_day``, ``in_hours``, ``urgent_ooh``, ``out_of_hours_kind``
    (codes.OUT_OF_HOURS_URGENT for a need settled out of hours, else 0: whether a frail one
    may go to the frail weekend GP service depends on the site's services, and the pass adds
    it, :func:`sim.booking.preparation.run_booking_pass`) and the first request's
    :func:`booking_window` (``first_day``, ``last_day``); one loop over the episodes instead
    of a dozen numpy passes."""
    final_day = len(opens) - 1
    for i in range(len(arising)):
        t = arising[i]
        day = min(np.int64(t // MINUTES_PER_DAY), final_day)
        inside = opens[day] <= t < closes[day]
        urgent_out = not inside and urgency[i] == c.URGENT
        settled = urgent_out and not u_ooh[i] < waits_share
        if inside or settled:
            r = t
        else:
            wait = 0.0
            if not (urgency[i] == c.URGENT and frail[i]):
                u = keyed_uniform(key[i], wait_salt)
                wait = waiting_request_offset(u, wait_cumulative, wait_shares, day_minutes)
            r = (opens[day] if t < opens[day] else next_open[day]) + wait
        request[i] = r
        today = np.int64(r // MINUTES_PER_DAY)
        request_day[i] = today
        first, last = booking_window(
            urgency[i], earliest_offset_days[i], today, soon_deadline, target_urgent, target_routine
        )
        first_day[i] = first
        last_day[i] = last
        in_hours[i] = inside
        urgent_ooh[i] = settled
        out_of_hours_kind[i] = c.OUT_OF_HOURS_URGENT if settled else 0


@compiled_rule
def booking_window(
    urgency, earliest_offset_days, today, soon_deadline, target_urgent, target_routine
):
    """First and last acceptable appointment day of a request made on ``today``: urgent
    within its target (today by default), soon by its deadline in working days, routine from
    its earliest day with a week's leeway (so the window never shrinks to a single, possibly
    closed, day) and within the routine target. :func:`first_requests` applies it to every
    first request."""
    if urgency == c.URGENT:
        return today, today + target_urgent
    if urgency == c.SOON:
        # a request after the calendar's last working day (a calendar with none left) takes
        # the last day's deadline
        return today, soon_deadline[min(today, len(soon_deadline) - 1)]
    first = today + np.int64(earliest_offset_days)
    return first, max(first + 6, today + target_routine)


@compiled_within
def episode_window(s, i, today):
    """The booking window of episode ``i`` asking again on ``today``."""
    st = s.settings
    return booking_window(
        s.ep.urgency[i],
        s.ep.earliest_offset_days[i],
        today,
        st.soon_deadline,
        st.target_urgent,
        st.target_routine,
    )


@compiled_within
def in_clinic_hours(st, today, minute):
    """Practices (and the clinics' single point of access) are open at ``minute`` of ``today``."""
    return today < st.n_days and st.is_working[today] and st.open_minute <= minute < st.close_minute


@compiled_within
def set_outcome(s, i, state, origin, node):
    """Episode ``i`` ends in terminal ``state``, moving from flow node ``origin`` to ``node``."""
    s.out.outcome[i] = state
    log_flow(s.logs, i, origin, node)


@compiled_within
def to_ae(s, i, t, via, origin):
    """Episode ``i`` leaves for A&E at minute ``t`` (by ambulance when ``via`` says so); the
    A&E stage settles it."""
    log_ae(s.logs, i, t + s.settings.minutes_to_ae, via)
    log_flow(s.logs, i, origin, c.NODE_AMBULANCE if via == c.AE_VIA_AMBULANCE else c.NODE_AE)


@compiled_within
def admit(s, i, t, source):
    """Admitted directly (not via A&E) from a rapid assessment clinic."""
    s.out.outcome[i] = c.ADMITTED
    log_admission(s.logs, i, t, source)
    log_flow(s.logs, i, c.NODE_RAC, c.NODE_ADMISSION)


@compiled_within
def step_up(s, i, t, source, origin):
    """Asks IC+ for a place; settled after the IC+ stage (started, or admitted instead)."""
    s.out.outcome[i] = c.PENDING
    log_step_up(s.logs, i, t, source)
    log_flow(s.logs, i, origin, c.NODE_INTERMEDIATE_CARE)


@compiled_within
def record_practice_booking(s, i, t, day, slot, staff):
    out = s.out
    out.booked_time[i] = t
    out.appointment_day[i] = day
    out.appointment_minute[i] = slot
    out.staff_type[i] = staff


@compiled_within
def utc_serves(s, i, t):
    """The site has an urgent treatment centre for episode ``i``'s locality at minute ``t``
    (its catchment that day: it may open later in a programme)."""
    utc = s.settings.urgent_treatment_centre
    if not utc.commissioned:
        return False
    day = min(int(t // MINUTES_PER_DAY), len(utc.serves_locality) - 1)
    return utc.serves_locality[day, s.settings.locality_of_practice[s.ep.practice[i]]]


@compiled_within
def book_utc(s, t):
    """Book the urgent treatment centre's earliest slot today starting within its maximum wait
    of minute ``t``: True if there was one."""
    utc = s.settings.urgent_treatment_centre
    today = int(t // MINUTES_PER_DAY)
    if today >= s.settings.run_days:
        return False
    minute = t - today * MINUTES_PER_DAY
    slot = peek_today(s.books, utc.book, today, minute)
    if slot < 0 or slot > minute + utc.max_wait:
        return False
    book_today(s.books, utc.book, today, minute)
    return True


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@compiled_within
def utc_sends_on(s, i, admit_probability):
    """The urgent treatment centre would send episode ``i`` on to A&E: one A&E would admit
    (A&E's own admission draw against ``admit_probability``), or for another reason
    (``onward_ae_share``). Such a patient goes to A&E as before."""
    utc, key = s.settings.urgent_treatment_centre, s.ep.key[i]
    if keyed_uniform(key, utc.salt_ae_admit) < admit_probability:
        return True
    return keyed_uniform(key, utc.salt_onward) < utc.onward_ae_share


@compiled_within
def walk_in_to_utc(s, i, t, origin):
    """Rule 9: a need about to walk into A&E for want of primary care (from flow node
    ``origin``) walks into the urgent treatment centre instead, if it serves the patient's
    locality, the patient would choose it (``walk_in_share``), would not be sent on to A&E
    and it has a slot in time. True if seen there."""
    if not utc_serves(s, i, t):
        return False
    utc = s.settings.urgent_treatment_centre
    if keyed_uniform(s.ep.key[i], utc.salt_walk_in) >= utc.walk_in_share:
        return False
    if utc_sends_on(s, i, utc.displaced_admit_probability) or not book_utc(s, t):
        return False
    set_outcome(s, i, SEEN_AT_UTC, origin, NODE_UTC)
    return True


@compiled_within
def after_urgent_care(s, i, t, origin):
    """Rule 7: a frail urgent need seen in primary care at minute ``t``: clinic referral
    (highest risk first) or IC+ step-up; an at-risk patient given neither may deteriorate."""
    st = s.settings
    if not (s.ep.frail[i] and s.ep.urgency[i] == c.URGENT):
        return
    risk = draw(s, i, c.DRAW_RAC_REFERRAL)  # low = high risk: referral takes them first
    if risk < st.rac_from_practice[min(int(t // MINUTES_PER_DAY), len(st.rac_from_practice) - 1)]:
        push_event(s.logs, t, c.EVENT_RAC_REFERRAL, i, origin)
    elif draw(s, i, c.DRAW_STEP_UP) < st.step_up_share:
        step_up(s, i, t, c.STEP_UP_FROM_PRACTICE, origin)
    elif risk < st.at_risk and draw(s, i, c.DRAW_ESCALATION) < st.escalation:
        s.out.outcome[i] = c.PENDING
        # to_ae adds the travel time back: the patient arrives ESCALATION_DELAY_MINUTES after t
        to_ae(s, i, t + ESCALATION_DELAY_MINUTES - st.minutes_to_ae, c.AE_VIA_ESCALATION, origin)


@compiled_within
def answers_reminder(s, i, t, when):
    """A patient who would miss an appointment at minute ``when`` (booked at ``t``) and gets a
    text reminder ``reminder_minutes`` before it (none when booked later than that):
    0 no answer (the appointment is missed), 1 comes after all, 2 cancels ahead and books
    again, 3 cancels ahead and no longer needs it. One keyed draw, in nested bands; a patient
    who cancelled and booked again comes to the new appointment."""
    st, r = s.settings, s.out.rare_row[i]
    if r >= 0 and not np.isnan(s.logs.rare[r, RARE_CANCELLED]):
        return 1  # booked again at a time that suits, after cancelling: comes
    sent = when - st.reminder_minutes
    if sent <= t:
        return 0
    # the shares in force on the day the reminder is sent (the scheme may phase in)
    d = min(int(sent // MINUTES_PER_DAY), len(st.reminder_respond) - 1)
    if st.reminder_respond[d] <= 0.0:
        return 0
    u = draw(s, i, c.DRAW_REMINDER)
    if u >= st.reminder_respond[d]:
        return 0
    if u >= st.reminder_cancel[d]:
        return 1
    return 2 if u < st.reminder_rebook[d] else 3


@compiled_within
def cancel_ahead(s, i, when, book, answer):
    """The reminder's answer is a cancellation: at the reminder the slot goes back to
    ``book`` (:func:`cancellation`); the need waits for it (pending)."""
    s.out.outcome[i] = c.PENDING
    push_event(
        s.logs, when - s.settings.reminder_minutes, c.EVENT_CANCELLATION, i, book * 4 + answer
    )


@compiled_within
def cancellation(s, i, t, arg):
    """A booking cancelled ahead, at the reminder: the slot goes back to its book, where anyone
    booking from now on may take it; the patient books again (a new request to the practice)
    or no longer needs care. The cancelled booking is no longer an appointment."""
    st, out = s.settings, s.out
    book, answer = arg // 4, arg % 4
    r = rare_row(out, s.logs, i)
    s.logs.rare[r, RARE_CANCELLED] = t
    if book >= st.hub_first_book:
        when = s.logs.rare[r, RARE_HUB]
        s.logs.rare[r, RARE_HUB] = np.nan
        s.logs.rare[r, RARE_HUB_BOOKED] = np.nan
        origin = c.NODE_HUB
    else:
        when = float(out.appointment_day[i]) * MINUTES_PER_DAY + out.appointment_minute[i]
        out.appointment_day[i] = -1
        out.appointment_minute[i] = -1
        out.staff_type[i] = -1
        out.booked_time[i] = np.nan
        origin = c.NODE_PRACTICE
    day = int(when // MINUTES_PER_DAY)
    release(s.books, book, day, np.int64(when - day * MINUTES_PER_DAY))
    if answer == 2:
        if origin == c.NODE_HUB:
            log_flow(s.logs, i, c.NODE_HUB, c.NODE_PRACTICE)
        call_back(s, i, t, np.int64(out.attempts[i]))
    else:
        set_outcome(s, i, c.CANCELLED, origin, c.NODE_CANCELLED)


@compiled_within
def try_hub(s, i, t, first, last, offered_by_practice):
    """Rule 3: the locality hub's earliest slot in days [first, last], offered by the practice
    (to a share of needs) or asked for directly; True if the need is settled."""
    st = s.settings
    if offered_by_practice and draw(s, i, c.DRAW_HUB_OFFER) >= st.hub_offer_share:
        return False
    b = st.hub_first_book + st.locality_of_practice[s.ep.practice[i]]
    today = int(t // MINUTES_PER_DAY)
    minute = t - today * MINUTES_PER_DAY
    d, _, _ = earliest(s.books, b, st.single_staff[0], today, minute, first, last)
    if d < 0 or draw(s, i, c.DRAW_HUB_ACCEPT) >= st.hub_accept_by_age[s.ep.age_band[i]]:
        return False
    slot = take(s.books, b, today, minute, d)
    when = float(d * MINUTES_PER_DAY + slot)
    r = rare_row(s.out, s.logs, i)
    s.logs.rare[r, RARE_HUB_BOOKED] = t
    s.logs.rare[r, RARE_HUB] = when
    if d >= st.run_days:
        s.out.outcome[i] = c.WAITING_AT_END
        return True
    miss = draw(s, i, c.DRAW_HUB_DNA) < st.hub_dna
    if miss:
        answer = answers_reminder(s, i, t, when)
        if answer >= 2:
            cancel_ahead(s, i, when, b, answer)
            return True
        miss = answer == 0
    if miss:
        s.out.outcome[i] = c.DID_NOT_ATTEND
    else:
        s.out.outcome[i] = c.ATTENDED_HUB
        after_urgent_care(s, i, when, c.NODE_HUB)
    return True


@compiled_within
def nhs111_primary_care(s, i, t):
    """Rule 5, NHS 111's primary-care disposition: a hub slot in the need's window; in core
    hours the practice today (any clinician); else a call to the practice at its next opening
    (call-backs allowing) or, while practices are shut, the out-of-hours GP."""
    st, out = s.settings, s.out
    today = int(t // MINUTES_PER_DAY)
    if today >= st.n_days:
        out.outcome[i] = c.WAITING_AT_END
        return
    first, last = episode_window(s, i, today)
    if try_hub(s, i, t, first, last, ASKED_DIRECTLY):
        log_flow(s.logs, i, c.NODE_NHS111, c.NODE_HUB)
        return
    minute = t - today * MINUTES_PER_DAY
    if not (st.is_working[today] and st.open_minute <= minute < st.close_minute):
        set_outcome(s, i, c.OUT_OF_HOURS_GP, c.NODE_NHS111, c.NODE_OUT_OF_HOURS_GP)
        return
    first_book = s.ep.practice[i] * st.staff_types
    d, _, staff = earliest(s.books, first_book, st.any_staff_order, today, minute, today, today)
    if d >= 0:
        slot = take(s.books, first_book + staff, today, minute, d)
        record_practice_booking(s, i, t, d, slot, staff)
        log_flow(s.logs, i, c.NODE_NHS111, c.NODE_PRACTICE)
        if s.ep.u_dna[i] < st.dna_by_lead[0]:
            out.outcome[i] = c.DID_NOT_ATTEND
        else:
            out.outcome[i] = c.ATTENDED_PRACTICE
            after_urgent_care(s, i, float(d * MINUTES_PER_DAY + slot), c.NODE_PRACTICE)
        return
    # Nothing today: NHS 111 advises calling the practice at its next opening.
    if out.attempts[i] <= st.max_callbacks:
        log_flow(s.logs, i, c.NODE_NHS111, c.NODE_PRACTICE)
        push_event(
            s.logs, float(st.next_open[today]), c.EVENT_REQUEST, i, np.int64(out.attempts[i])
        )
    else:
        set_outcome(s, i, c.GAVE_UP, c.NODE_NHS111, c.NODE_GAVE_UP)


@compiled_within
def nhs111_books_utc(s, i, t):
    """Rule 9: NHS 111 books an A&E disposition it judges a UTC can treat
    (``nhs111_ae_share``, not to be sent on) into the urgent treatment centre serving the
    patient's locality, if it has a slot in time. True if booked."""
    if not utc_serves(s, i, t):
        return False
    utc = s.settings.urgent_treatment_centre
    if keyed_uniform(s.ep.key[i], utc.salt_nhs111) >= utc.nhs111_ae_share:
        return False
    admit = utc.admit_probability[s.ep.age_band[i], s.ep.frailty[i] + 1]
    return not utc_sends_on(s, i, admit) and book_utc(s, t)


@compiled_within
def handle_111(s, i, t, displaced):
    """Rule 5: NHS 111 disposes of a call. A need can call more than once: every call counts.
    Why the person called sets the disposition mix: an urgent need arising while practices
    are shut, or a need displaced because no practice or hub slot was found (``displaced``)."""
    st, out = s.settings, s.out
    r = rare_row(out, s.logs, i)
    if s.logs.rare[r, RARE_NHS111] != s.logs.rare[r, RARE_NHS111]:  # NaN: the first call
        s.logs.rare[r, RARE_NHS111] = t
    log_nhs111_call(s.logs, t)
    mix = st.disposition_displaced if displaced else st.disposition
    choice = pick(draw(s, i, c.DRAW_NHS111_DISPOSITION), mix)
    if choice == c.DISPOSITION_SELF_CARE:
        set_outcome(s, i, c.SELF_CARE, c.NODE_NHS111, c.NODE_SELF_CARE)
    elif choice == c.DISPOSITION_PHARMACY:
        set_outcome(s, i, c.PHARMACY, c.NODE_NHS111, c.NODE_PHARMACY)
    elif choice == c.DISPOSITION_PRIMARY_CARE:
        nhs111_primary_care(s, i, t)
    elif choice == c.DISPOSITION_AE:
        today = int(t // MINUTES_PER_DAY)
        minute = t - today * MINUTES_PER_DAY
        urgent_frail = s.ep.frail[i] and s.ep.urgency[i] == c.URGENT
        if (
            urgent_frail
            and in_clinic_hours(st, today, minute)
            and draw(s, i, c.DRAW_RAC_REFERRAL)
            < st.rac_from_111[min(today, len(st.rac_from_111) - 1)]
        ):
            push_event(s.logs, t, c.EVENT_RAC_REFERRAL, i, c.NODE_NHS111)
        elif nhs111_books_utc(s, i, t):
            set_outcome(s, i, SEEN_AT_UTC, c.NODE_NHS111, NODE_UTC)
        else:
            to_ae(s, i, t, c.AE_VIA_NHS111, c.NODE_NHS111)
    else:
        to_ae(s, i, t, c.AE_VIA_AMBULANCE, c.NODE_NHS111)


@compiled_within
def handle_rac(s, i, t, origin):
    """Rule 8: a referral reaches the rapid assessment clinics (single point of access)."""
    st, out = s.settings, s.out
    log_flow(s.logs, i, origin, c.NODE_RAC)
    r = rare_row(out, s.logs, i)
    s.logs.rare[r, RARE_RAC_REFERRAL] = t
    today = int(t // MINUTES_PER_DAY)
    if today >= st.run_days:
        out.outcome[i] = c.WAITING_AT_END
        return
    minute = t - today * MINUTES_PER_DAY
    d, _, clinic = earliest(
        s.books, st.rac_first_book, st.rac_labels, today, minute, today, st.rac_deadline[today]
    )
    if d < 0:
        if draw(s, i, c.DRAW_RAC_NO_SLOT) < st.rac_no_slot_to_ae:
            to_ae(s, i, t, c.AE_VIA_RAC_NO_SLOT, c.NODE_RAC)
        else:
            admit(s, i, t, c.ADMIT_FROM_RAC_NO_SLOT)
        return
    slot = take(s.books, st.rac_first_book + clinic, today, minute, d)
    when = float(d * MINUTES_PER_DAY + slot)
    s.logs.rare[r, RARE_RAC] = when
    if d >= st.run_days:
        out.outcome[i] = c.WAITING_AT_END
        return
    result = pick(draw(s, i, c.DRAW_RAC_OUTCOME), st.rac_outcome)
    if result == c.RAC_HOME:
        set_outcome(s, i, c.RAC_WENT_HOME, c.NODE_RAC, c.NODE_HOME)
    elif result == c.RAC_INTERMEDIATE_CARE:
        step_up(s, i, when, c.STEP_UP_FROM_RAC, c.NODE_RAC)
    else:
        admit(s, i, when, c.ADMIT_FROM_RAC)


@compiled_within
def no_practice_slot(s, i, t, attempt, today, minute, last):
    """Rule 4: no slot at the practice (nor an accepted hub slot) in the window ending on day
    ``last``: the need books later anyway, calls back, calls NHS 111, goes to A&E or gives up.
    Returns (day, staff) of a later slot found, day -1 when the need went elsewhere."""
    st, ep, bk = s.settings, s.ep, s.books
    u = (ep.u_no_slot[i] + attempt * GOLDEN) % 1.0
    action = pick(u, st.no_slot[ep.urgency[i]])
    need = np.int64(ep.staff_need[i])
    if action == c.NO_SLOT_BOOK_LATER:  # at the practice, however late (within the horizon)
        labels = st.any_staff_order if need == c.ANY_STAFF else st.single_staff[need]
        first_book = np.int64(ep.practice[i]) * st.staff_types
        d, _, staff = earliest(bk, first_book, labels, today, minute, last + 1, today + st.horizon)
        if d >= 0:
            return d, staff
        action = c.NO_SLOT_CALL_BACK  # nothing even later: call back instead
    if action == c.NO_SLOT_CALL_BACK and attempt < st.max_callbacks:
        push_event(s.logs, float(st.next_open[today]), c.EVENT_REQUEST, i, attempt + 1)
    elif action == c.NO_SLOT_NHS111:
        log_flow(s.logs, i, c.NODE_PRACTICE, c.NODE_NHS111)
        handle_111(s, i, t, DISPLACED)
    elif action == c.NO_SLOT_AE:
        if not walk_in_to_utc(s, i, t, c.NODE_PRACTICE):
            to_ae(s, i, t, c.AE_VIA_DISPLACED, c.NODE_PRACTICE)
    else:  # gave up, or out of call-backs
        set_outcome(s, i, c.GAVE_UP, c.NODE_PRACTICE, c.NODE_GAVE_UP)
    return -1, -1


@compiled_within
def after_appointment(s, i, t, today, day, slot):
    """Rule 6: the practice appointment on ``day`` at ``slot``, booked at ``t`` on ``today``:
    still to come when the run ends, missed (DNA rises with the booking's lead time), or
    attended; then the GP may send the patient to A&E, and frail urgent needs meet rule 7."""
    st, ep, out = s.settings, s.ep, s.out
    miss = day < st.run_days and ep.u_dna[i] < st.dna_by_lead[day - today]
    if miss:
        when = float(day * MINUTES_PER_DAY + slot)
        answer = answers_reminder(s, i, t, when)
        if answer >= 2:
            book = np.int64(ep.practice[i]) * st.staff_types + out.staff_type[i]
            cancel_ahead(s, i, when, book, answer)
            return
        miss = answer == 0
    if day >= st.run_days:
        out.outcome[i] = c.WAITING_AT_END
    elif miss:
        out.outcome[i] = c.DID_NOT_ATTEND
    else:
        out.outcome[i] = c.ATTENDED_PRACTICE
        seen = float(day * MINUTES_PER_DAY + slot)
        if ep.urgency[i] == c.URGENT and draw(s, i, c.DRAW_GP_REFERRAL) < st.gp_referral_share:
            out.outcome[i] = c.PENDING
            to_ae(s, i, seen, c.AE_VIA_GP_REFERRAL, c.NODE_PRACTICE)
        elif ep.frail[i]:
            after_urgent_care(s, i, seen, c.NODE_PRACTICE)


@compiled_step
def ask_practice(s, i, t, attempt, today, minute, first, last):
    """Rule 2: request number ``attempt`` + 1 to the practice, on ``today`` for days
    [first, last]."""
    st, ep, out, bk = s.settings, s.ep, s.out, s.books
    out.attempts[i] = attempt + 1
    if attempt == 0 and ep.first_choice[i] != c.FIRST_CHOICE_PRACTICE:
        choice = ep.first_choice[i]
        if choice == c.FIRST_CHOICE_HUB:
            if try_hub(s, i, t, first, last, ASKED_DIRECTLY):
                log_flow(s.logs, i, c.NODE_PRACTICE, c.NODE_HUB)
                return
        elif choice == c.FIRST_CHOICE_ONLINE:
            set_outcome(s, i, c.RESOLVED_ONLINE, c.NODE_PRACTICE, c.NODE_ONLINE)
            return
        else:
            set_outcome(s, i, c.PHARMACY_FIRST, c.NODE_PRACTICE, c.NODE_PHARMACY_FIRST)
            return
    first_book = np.int64(ep.practice[i]) * st.staff_types
    need = np.int64(ep.staff_need[i])
    if need == c.ANY_STAFF:
        d, _, staff = earliest(bk, first_book, st.any_staff_order, today, minute, first, last)
        slot = take(bk, first_book + staff, today, minute, d) if d >= 0 else -1
    else:  # one staff type (most needs): book directly, no look-ahead needed
        staff = need
        d, slot = book_earliest(bk, first_book + need, today, minute, first, last)
    if d < 0:
        if try_hub(s, i, t, first, last, OFFERED_BY_PRACTICE):
            log_flow(s.logs, i, c.NODE_PRACTICE, c.NODE_HUB)
            return
        d, staff = no_practice_slot(s, i, t, attempt, today, minute, last)
        if d < 0:
            return
        slot = take(bk, first_book + staff, today, minute, d)
    record_practice_booking(s, i, t, d, slot, staff)
    after_appointment(s, i, t, today, d, slot)


@compiled_within
def call_back(s, i, t, attempt):
    """The need asks its practice again (after no slot, or on NHS 111's advice)."""
    if t >= s.settings.end_minute:
        s.out.attempts[i] = attempt + 1
        s.out.outcome[i] = c.WAITING_AT_END
        return
    today = int(t // MINUTES_PER_DAY)
    first, last = episode_window(s, i, today)
    ask_practice(s, i, t, attempt, today, t - today * MINUTES_PER_DAY, first, last)


@compiled_within
def out_of_hours(s, i):
    """Rule 1: an urgent need while practices are shut, at the moment it arises (events up to
    then already handled): the frail service's same-day visit if there is one, else NHS 111 or
    A&E at once (unless it waits for the practice). True if the need is settled here."""
    st = s.settings
    kind = s.ep.out_of_hours_kind[i]
    t = s.ep.arising[i]
    if kind & c.OUT_OF_HOURS_FRAIL_SERVICE:
        b = st.frail_first_book + st.locality_of_practice[s.ep.practice[i]]
        today = int(t // MINUTES_PER_DAY)
        minute = t - today * MINUTES_PER_DAY
        if today < st.run_days and peek_today(s.books, b, today, minute) >= 0:
            book_today(s.books, b, today, minute)
            set_outcome(s, i, c.FRAIL_WEEKEND_GP, c.NODE_NEED_OUT_OF_HOURS, c.NODE_FRAIL_WEEKEND_GP)
            return True
    if kind & c.OUT_OF_HOURS_URGENT:
        if pick(draw(s, i, c.DRAW_OUT_OF_HOURS_ROUTE), st.out_of_hours_route) == c.OOH_ROUTE_NHS111:
            log_flow(s.logs, i, c.NODE_NEED_OUT_OF_HOURS, c.NODE_NHS111)
            handle_111(s, i, t, CALLED_OUT_OF_HOURS)
        elif not walk_in_to_utc(s, i, t, c.NODE_NEED_OUT_OF_HOURS):
            to_ae(s, i, t, c.AE_VIA_DISPLACED, c.NODE_NEED_OUT_OF_HOURS)
        return True
    return False


@compiled_within
def sample_access(s, t):
    """Third-next-available GP slot at the opening of each working day up to ``t``."""
    st = s.settings
    sampled_until = s.clock[0]  # last day whose opening has been sampled
    up_to_day = int(t // MINUTES_PER_DAY)
    for d in range(sampled_until + 1, min(up_to_day, st.run_days - 1) + 1):
        if st.is_working[d]:
            for p in range(s.out.third_next_available.shape[1]):
                s.out.third_next_available[d, p] = third_next_available_days(
                    s.books, p * st.staff_types + c.GP, d, st.open_minute, st.horizon
                )
    s.clock[0] = max(sampled_until, up_to_day)
