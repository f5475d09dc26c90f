"""Patient journeys: booking, DNA by lead time, the no-slot rules and urgent out-of-hours needs.

Journeys run on three real practices (one per locality) through
:func:`sim.core.replication.run_replication` with ``keep_detail=True``; the checks are made
episode by episode on its arrays, against expectations worked out from the configuration here.
Tests of
the practice booking rules switch the other services off (``PRACTICE_ONLY``) so that every
expectation is about the practice alone.
"""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np
import pytest
from conftest import (
    MINUTES_PER_DAY,
    PRACTICE_ONLY,
    SEED,
    assert_shares,
    capacity_overrides,
    clear_fte_overrides,
    configure,
    replication_arrays,
)

from sim.config.schema import STAFF_NEEDS, STAFF_TYPES, URGENCIES
from sim.core import ledger
from sim.core.calendar import Calendar
from sim.core.replication import run_replication

URGENT = URGENCIES.index("urgent")
WARMUP, RUN = 1, 3  # weeks
END_MINUTE = 7 * (WARMUP + RUN) * MINUTES_PER_DAY


def practice_only(data, overrides=None):
    """Validated config with only the practices reachable (see conftest.PRACTICE_ONLY)."""
    return configure(data, {**PRACTICE_ONLY, **(overrides or {})})


def run(run_cfg, weeks=(WARMUP, RUN), seed=SEED, replication=0):
    res = run_replication(run_cfg.model, seed, replication, *weeks, keep_detail=True)
    ep, pj = replication_arrays(res)
    return ep, pj, res


def open_days(data, n_days: int = 400) -> np.ndarray:
    """(day,) True on working days: core-hours weekdays that are not English bank holidays
    (from the holidays library, independently of the model's calendar)."""
    hours = data["site"]["core_hours"]
    weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    flags = np.array([weekdays[d % 7] in hours["weekdays"] for d in range(n_days)])
    start = dt.date.fromisoformat(data["site"]["calendar_start"])
    for day in holidays.country_holidays("GB", subdiv="ENG", years=(start.year, start.year + 1)):
        if 0 <= (day - start).days < n_days:
            flags[(day - start).days] = False
    return flags


def learning_afternoons(data, n_days: int = 400) -> np.ndarray:
    """(day,) True on protected learning days: the 3rd Thursday of each month (by hand)."""
    start = dt.date.fromisoformat(data["site"]["calendar_start"])
    days = [start + dt.timedelta(days=d) for d in range(n_days)]
    return np.array([d.weekday() == 3 and 15 <= d.day <= 21 for d in days])


def in_core_hours(data, minutes: np.ndarray) -> np.ndarray:
    """True where a minute falls in core hours (calendar starts on a Monday)."""
    hours = data["site"]["core_hours"]
    day = (minutes // MINUTES_PER_DAY).astype(int)
    minute = minutes - day * MINUTES_PER_DAY
    working = open_days(data)[day]
    return working & (minute >= hours["open_minute"]) & (minute < hours["close_minute"])


def after_last_opening(data, minutes: np.ndarray, run_days: int) -> np.ndarray:
    """True for needs arising after the last core-hours close of the run: their request is
    made at the next opening, which is after the end."""
    hours = data["site"]["core_hours"]
    working = open_days(data)
    last_open_day = max(d for d in range(run_days) if working[d])
    return minutes >= last_open_day * MINUTES_PER_DAY + hours["close_minute"]


def no_slot_rule(action: str) -> dict:
    """All three urgencies take ``action`` when no slot is found."""
    rule = {"book_later": 0.0, "callback_next_day": 0.0, "give_up": 0.0}
    rule[action] = 1.0
    return {"assumptions.booking.no_slot": {u: dict(rule) for u in URGENCIES}}


# --------------------------------------------------------------------------------------------
# Did not attend rises with booking lead time
# --------------------------------------------------------------------------------------------


def test_dna_rate_by_lead_time_matches_configured_probabilities(small_data):
    run_cfg = practice_only(small_data)
    ep, pj, _ = run(run_cfg, weeks=(1, 7))
    dna = small_data["assumptions"]["dna"]
    uppers, probs = dna["lead_days_upper"], dna["probability"]

    # Practice appointments that took place (attended or missed) inside the run.
    # (Appointments booked on an NHS 111 referral are left out: the DNA rule is the practice's.)
    seen = np.isin(pj.outcome, [ledger.ATTENDED_PRACTICE, ledger.DID_NOT_ATTEND])
    seen &= (pj.appointment_day >= 0) & np.isnan(pj.nhs111_time)
    booking_day = np.floor(pj.booked_time[seen] / MINUTES_PER_DAY).astype(int)
    lead = pj.appointment_day[seen] - booking_day
    assert (lead >= 0).all()
    band = np.searchsorted(uppers, lead, side="left")  # 0 same day | next day | 2-7 | 8+ ...
    missed = pj.outcome[seen] == ledger.DID_NOT_ATTEND
    # Each band's DNA count is binomial with the configured probability (the DNA draw is
    # independent of everything that decided the lead time). Exact test at ALPHA per band.
    for b, p in enumerate(probs):
        n = int((band == b).sum())
        assert n >= 500, f"band {b}: only {n} bookings, test would be too weak"
        k = int(missed[band == b].sum())
        assert_shares(np.array([k, n - k]), np.array([p, 1 - p]), f"DNA in lead band {b}")
    # And the headline: 8+ days' DNA clearly above same day's.
    rate = [missed[band == b].mean() for b in (0, len(probs) - 1)]
    assert probs[-1] > probs[0] and rate[1] > rate[0]


# --------------------------------------------------------------------------------------------
# Ample capacity: urgent needs are seen the same day
# --------------------------------------------------------------------------------------------


def test_urgent_needs_in_hours_with_ample_capacity_are_seen_same_day(small_data):
    data = clear_fte_overrides(small_data)
    run_cfg = practice_only(data, capacity_overrides(5.0))  # ~10x today's workforce
    ep, pj, _ = run(run_cfg)
    cap = data["site"]["practice_capacity"]
    notice = data["assumptions"]["booking"]["min_notice_minutes"]
    # The latest slot of the day starts one slot-length before the last session ends; a
    # request leaving less than the notice before it cannot be seen that day by any rule.
    last = max(cap["sessions"], key=lambda s: s["end_minute"])
    longest_slot = max(
        (last["end_minute"] - last["start_minute"]) / cap[s]["slots_per_session"]
        for s in ("gp", "nurse", "pharmacist")
    )
    latest_request = last["end_minute"] - longest_slot - notice - 1  # 1: slot starts are whole

    t = pj.first_request_time
    requested = ~np.isnan(t) & (t < END_MINUTE)
    t_req = np.where(requested, t, 0.0)
    day = np.floor(t_req / MINUTES_PER_DAY)
    urgent = (
        requested
        & (ep.urgency == URGENT)
        & in_core_hours(data, t_req)
        & (t_req - day * MINUTES_PER_DAY <= latest_request)
        # practices run no afternoon session on a protected learning day
        & ~learning_afternoons(data)[day.astype(int)]
    )
    assert urgent.sum() > 1000
    np.testing.assert_array_equal(pj.appointment_day[urgent], day[urgent])
    assert np.isin(pj.outcome[urgent], [ledger.ATTENDED_PRACTICE, ledger.DID_NOT_ATTEND]).all()
    assert (pj.attempts[urgent] == 1).all()
    # Slots honour the notice period.
    start = pj.appointment_minute[urgent] + day[urgent] * MINUTES_PER_DAY
    assert (start >= t_req[urgent] + notice).all()


UNLIMITED_DAY = {
    # One session covering core hours and beyond, a slot every 12 minutes, no notice, ten
    # times today's workforce: every request made in core hours can be seen that day.
    "site.practice_capacity.sessions": [{"start_minute": 480, "end_minute": 1200}],
    "site.practice_capacity.sessions_outside_core_hours": True,  # the session runs to 20:00
    "site.practice_capacity.gp.slots_per_session": 60,
    "site.practice_capacity.nurse.slots_per_session": 60,
    "site.practice_capacity.pharmacist.slots_per_session": 60,
    "assumptions.booking.min_notice_minutes": 0,
}


def test_urgent_same_day_rate_counts_only_requests_made_in_the_run(small_data):
    # Unlimited capacity and nobody missing an appointment: every urgent request made before
    # the end is met that day. Needs arising on the last weekend ask only after the end; they
    # must not count as unmet requests, so the KPI is exactly 1 (not 1 - 2% or so).
    data = clear_fte_overrides(small_data)
    n_bands = len(data["assumptions"]["dna"]["probability"])
    overrides = {
        **capacity_overrides(5.0),
        **UNLIMITED_DAY,
        "assumptions.dna.probability": [0.0] * n_bands,
    }
    ep, pj, res = run(configure(data, overrides))
    late = ~np.isnan(pj.first_request_time) & (pj.first_request_time >= END_MINUTE)
    assert (late & (ep.urgency == URGENT) & (ep.time >= 7 * WARMUP * MINUTES_PER_DAY)).sum() > 10
    assert res.kpis["practice.urgent_same_day_met_rate"] == 1.0


def test_urgent_same_day_rate_is_one_with_unlimited_capacity(small_data):
    data = clear_fte_overrides(small_data)
    run_cfg = configure(data, {**capacity_overrides(5.0), **UNLIMITED_DAY})
    ep, pj, res = run(run_cfg)
    # Every urgent request actually made during the run was booked for that same day ...
    t = pj.first_request_time
    made = ~np.isnan(t) & (t < END_MINUTE) & (ep.urgency == URGENT)
    assert made.sum() > 1000
    day = np.floor(t[made] / MINUTES_PER_DAY)
    np.testing.assert_array_equal(pj.appointment_day[made], day)
    # ... so the KPI, documented as "share of urgent needs that got an appointment on the day
    # they first contacted the practice" (DNAs included), must be exactly 1.
    assert res.kpis["practice.urgent_same_day_met_rate"] == 1.0


# --------------------------------------------------------------------------------------------
# No capacity at all: the no-slot rules decide every outcome
# --------------------------------------------------------------------------------------------

#: Terminal states that mean the need was handled by its practice or its hub.
PRIMARY_CARE_STATES = {
    ledger.ATTENDED_PRACTICE,
    ledger.DID_NOT_ATTEND,
    ledger.ATTENDED_HUB,
    ledger.GAVE_UP,
    ledger.WAITING_AT_END,
    ledger.PENDING,
}


@pytest.mark.parametrize("ooh_waits", [0.0, 1.0])
def test_zero_capacity_with_give_up_gives_all_gave_up(small_data, ooh_waits):
    data = clear_fte_overrides(small_data)
    overrides = {
        **capacity_overrides(0.0),
        **no_slot_rule("give_up"),
        "assumptions.booking.urgent_out_of_hours_waits_share": ooh_waits,
    }
    ep, pj, res = run(practice_only(data, overrides))
    run_days = 7 * (WARMUP + RUN)
    late = after_last_opening(data, ep.time, run_days)
    urgent_ooh = (ep.urgency == URGENT) & ~in_core_hours(data, ep.time) & (ooh_waits == 0.0)

    assert (pj.appointment_day == -1).all()  # nothing can be booked
    assert np.isnan(pj.hub_time).all()
    expected = np.full(len(ep), ledger.GAVE_UP)
    expected[late] = ledger.WAITING_AT_END
    np.testing.assert_array_equal(pj.outcome[~urgent_ooh], expected[~urgent_ooh])
    assert (pj.attempts[~urgent_ooh] == 1).all()
    assert (expected[~urgent_ooh] == ledger.GAVE_UP).sum() > 1000
    # Urgent needs arising out of hours that do not wait never reach the practice: they go
    # to NHS 111 or A&E when they arise, and end in one of those services' states.
    if ooh_waits == 0.0:
        assert urgent_ooh.sum() > 100
        assert (pj.attempts[urgent_ooh] == 0).all()
        assert not np.isin(pj.outcome[urgent_ooh], list(PRIMARY_CARE_STATES)).any()


@pytest.mark.parametrize("action", ["callback_next_day", "book_later"])
@pytest.mark.parametrize("max_callbacks", [0, 2])
def test_zero_capacity_callbacks_then_give_up(small_data, action, max_callbacks):
    # With no slot anywhere, "book later" finds nothing either and becomes a call-back.
    data = clear_fte_overrides(small_data)
    overrides = {
        **capacity_overrides(0.0),
        **no_slot_rule(action),
        "assumptions.booking.max_callbacks": max_callbacks,
        "assumptions.booking.urgent_out_of_hours_waits_share": 1.0,
    }
    ep, pj, _ = run(practice_only(data, overrides))
    assert set(np.unique(pj.outcome)) <= {ledger.GAVE_UP, ledger.WAITING_AT_END}
    gave_up = pj.outcome == ledger.GAVE_UP
    assert gave_up.sum() > 1000
    # Everyone who gave up called back exactly max_callbacks times first.
    assert (pj.attempts[gave_up] == max_callbacks + 1).all()
    assert pj.attempts.max() == max_callbacks + 1
    # A need still trying at the end had no more attempts than that.
    waiting = pj.outcome == ledger.WAITING_AT_END
    assert (pj.attempts[waiting] <= max_callbacks + 1).all()


@pytest.mark.parametrize("max_callbacks", [1, 3])
def test_callbacks_never_exceed_max_with_scarce_capacity(small_data, max_callbacks):
    data = clear_fte_overrides(small_data)
    fte = {
        s: 0.25 * data["site"]["practice_capacity"][s]["fte_per_1000"]
        for s in ("gp", "nurse", "pharmacist")
    }
    overrides = {
        **capacity_overrides(fte),
        **no_slot_rule("callback_next_day"),
        "assumptions.booking.max_callbacks": max_callbacks,
    }
    ep, pj, _ = run(practice_only(data, overrides))
    assert pj.attempts.max() == max_callbacks + 1  # reached (the test is not vacuous) ...
    assert (pj.attempts <= max_callbacks + 1).all()  # ... never exceeded
    # Some needs are booked on a call-back, and those who gave up used every call-back.
    booked_on_callback = (pj.attempts > 1) & (pj.appointment_day >= 0)
    assert booked_on_callback.any()
    gave_up = pj.outcome == ledger.GAVE_UP
    assert gave_up.any()
    assert (pj.attempts[gave_up] == max_callbacks + 1).all()
    # A call-back is made at a later working day's opening, so a booking made on one is
    # at an opening minute.
    open_minute = data["site"]["core_hours"]["open_minute"]
    booked_t = pj.booked_time[booked_on_callback]
    np.testing.assert_array_equal(booked_t % MINUTES_PER_DAY, open_minute)
    assert (booked_t > pj.first_request_time[booked_on_callback]).all()


# --------------------------------------------------------------------------------------------
# Urgent needs arising out of hours
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["nhs111", "ae"])
def test_urgent_out_of_hours_needs_that_do_not_wait_are_routed_at_once(small_data, route):
    overrides = {
        **no_slot_rule("give_up"),  # so NHS 111 and A&E are reached only out of hours
        "assumptions.booking.urgent_out_of_hours_waits_share": 0.0,
        "assumptions.booking.out_of_hours_route": {
            "nhs111": float(route == "nhs111"),
            "ae": float(route == "ae"),
        },
    }
    ep, pj, _ = run(practice_only(small_data, overrides))
    urgent_ooh = (ep.urgency == URGENT) & ~in_core_hours(small_data, ep.time)
    assert urgent_ooh.sum() > 100
    # None of them asks the practice ...
    assert np.isnan(pj.first_request_time[urgent_ooh]).all()
    assert (pj.attempts[urgent_ooh] == 0).all()
    # ... and every other need does.
    assert not np.isnan(pj.first_request_time[~urgent_ooh]).any()
    called_111 = ~np.isnan(pj.nhs111_time)
    to_ae = np.zeros(len(ep), dtype=bool)
    ae_episode = np.asarray(pj.handoffs.ae_episode, dtype=int)
    to_ae[ae_episode] = True
    if route == "nhs111":
        np.testing.assert_array_equal(called_111, urgent_ooh)  # all of them, and only them
        np.testing.assert_array_equal(pj.nhs111_time[urgent_ooh], ep.time[urgent_ooh])
    else:
        assert not called_111.any()
        np.testing.assert_array_equal(to_ae, urgent_ooh)
        minutes_to_ae = small_data["assumptions"]["nhs111"]["minutes_to_ae"]
        np.testing.assert_allclose(
            np.asarray(pj.handoffs.ae_time), ep.time[ae_episode] + minutes_to_ae
        )
    assert not np.isin(pj.outcome[urgent_ooh], list(PRIMARY_CARE_STATES)).any()


def test_urgent_out_of_hours_needs_that_wait_ask_the_practice_at_opening(small_data):
    overrides = {
        **no_slot_rule("give_up"),  # so NHS 111 and A&E are reached only out of hours
        "assumptions.booking.urgent_out_of_hours_waits_share": 1.0,
        "assumptions.demand.waiting_request_hour_share": [1.0],  # all ring at opening
    }
    ep, pj, _ = run(practice_only(small_data, overrides))
    urgent_ooh = (ep.urgency == URGENT) & ~in_core_hours(small_data, ep.time)
    assert urgent_ooh.sum() > 100
    assert np.isnan(pj.nhs111_time).all() and len(pj.handoffs.ae_episode) == 0
    open_minute = small_data["site"]["core_hours"]["open_minute"]
    t = pj.first_request_time[urgent_ooh]
    assert (t > ep.time[urgent_ooh]).all()
    np.testing.assert_array_equal(t % MINUTES_PER_DAY, open_minute)


def test_needs_that_waited_ring_through_the_next_working_day_as_configured(small_data):
    """By default needs that waited ring at a time drawn from waiting_request_hour_share:
    the hour after opening in which they ring follows it (frail urgent needs ring at opening)."""
    ep, pj, _ = run(practice_only(small_data))
    shares = np.asarray(small_data["assumptions"]["demand"]["waiting_request_hour_share"])
    hours = small_data["site"]["core_hours"]
    waited = ~in_core_hours(small_data, ep.time) & ~np.isnan(pj.first_request_time)
    waited &= ~((ep.urgency == URGENT) & (ep.frailty >= 2))
    t = pj.first_request_time[waited]
    minute = t % MINUTES_PER_DAY
    assert ((minute >= hours["open_minute"]) & (minute < hours["close_minute"])).all()
    assert in_core_hours(small_data, t).all()  # on a working day
    hour = ((minute - hours["open_minute"]) // 60).astype(int)
    assert_shares(np.bincount(hour, minlength=len(shares)), shares, "hour waiting needs ring")


@pytest.mark.parametrize(
    "shares, day_minutes",
    [
        ([0.40, 0.18, 0.12, 0.08, 0.05, 0.05, 0.04, 0.03, 0.02, 0.02, 0.01], 630),  # 08:00-18:30
        ([0.5, 0.0, 0.5], 150),  # an hour nobody rings in; a last half hour
        ([1.0], 600),  # one hour: at opening
    ],
)
def test_minute_a_waiting_need_rings_is_the_hour_profile_rule(shares, day_minutes):
    """rules.waiting_request_offset, worked out need by need in the compiled first-request
    loop, against the rule written here over all uniforms at once: the hour is the number of
    cumulative shares at or below the uniform, the minute within it where the uniform falls
    inside that hour's share, the last hour cut at the end of the day; a profile of one hour
    rings at opening. Uniforms include the cumulative shares themselves and either side."""
    from sim.booking.preparation import cumulative_shares
    from sim.booking.rules import waiting_request_offset

    shares = np.asarray(shares, dtype=float)
    cum = np.cumsum(shares)
    cum[-1] = 1.0 + 1e-12
    edges = np.concatenate([cum, np.nextafter(cum, 0), np.nextafter(cum, 2)])
    u = np.concatenate([np.random.default_rng(5).random(20_000), np.clip(edges, 0, 0.999), [0.0]])
    if len(shares) == 1:
        expected = np.zeros(len(u))
    else:
        hour = np.searchsorted(cum, u, side="right")
        start = np.concatenate(([0.0], cum[:-1]))[hour]
        within = np.clip((u - start) / np.maximum(shares[hour], 1e-300), 0, 1 - 1e-12)
        width = np.minimum(60, day_minutes - hour * 60)
        expected = np.minimum(hour * 60 + within * width, day_minutes - 1e-6)
    thresholds = cumulative_shares(list(shares))
    got = [waiting_request_offset(x, thresholds, shares, np.int64(day_minutes)) for x in u]
    assert np.array_equal(np.asarray(got), expected)
    assert len(shares) == 1 or np.ptp(expected) > 60  # not all in one hour: the test can fail


def test_urgent_out_of_hours_partial_share(small_data):
    share = 0.6
    overrides = {"assumptions.booking.urgent_out_of_hours_waits_share": share}
    ep, pj, _ = run(practice_only(small_data, overrides))
    urgent_ooh = (ep.urgency == URGENT) & ~in_core_hours(small_data, ep.time)
    routed = int(np.isnan(pj.first_request_time[urgent_ooh]).sum())
    n = int(urgent_ooh.sum())
    # Each urgent out-of-hours need waits with probability `share`: binomial test at ALPHA.
    assert_shares(
        np.array([n - routed, routed]),
        np.array([share, 1 - share]),
        "urgent out-of-hours needs that wait",
    )
    assert not np.isnan(pj.first_request_time[~urgent_ooh]).any()


# --------------------------------------------------------------------------------------------
# Who is booked with whom, when
# --------------------------------------------------------------------------------------------


def test_staff_need_decides_the_book(small_data):
    data = clear_fte_overrides(small_data)
    # No GPs at all: GP needs are never booked; "any clinician" needs still are.
    cap = data["site"]["practice_capacity"]
    fte = {
        "gp": 0.0,
        "nurse": cap["nurse"]["fte_per_1000"],
        "pharmacist": cap["pharmacist"]["fte_per_1000"],
    }
    ep, pj, _ = run(practice_only(data, capacity_overrides(fte)))
    # Bookings the practice made itself (not on an NHS 111 referral after a failed request).
    booked = (pj.appointment_day >= 0) & np.isnan(pj.nhs111_time)
    any_need = ep.staff_need == STAFF_NEEDS.index("any")
    gp_need = ep.staff_need == STAFF_NEEDS.index("gp")
    assert not (booked & gp_need).any()
    assert (pj.staff_type[booked] != STAFF_TYPES.index("gp")).all()
    assert (booked & any_need).sum() > 100
    # Specific needs are booked only with their own staff type.
    specific = booked & ~any_need
    names = np.array(STAFF_NEEDS)[ep.staff_need[specific]]
    np.testing.assert_array_equal(np.array(STAFF_TYPES)[pj.staff_type[specific]], names)


def weekday_deadline(day: int, working_days: int, closed=()) -> int:
    """The day ``working_days`` working days after ``day`` (a working day counts as 0);
    ``closed``: bank holidays."""
    d, left = day, working_days
    while left > 0:
        d += 1
        if d % 7 < 5 and d not in closed:
            left -= 1
    return d


def test_add_working_days_by_hand():
    cal = Calendar("2025-04-07", 28, (0, 1, 2, 3, 4))
    assert cal.add_working_days(0, 2) == 2  # Monday -> Wednesday
    assert cal.add_working_days(4, 2) == 8  # Friday -> Tuesday
    assert cal.add_working_days(3, 1) == 4  # Thursday -> Friday
    assert cal.add_working_days(4, 0) == 4
    for d in range(0, 20):
        if d % 7 < 5:
            assert cal.add_working_days(d, 2) == weekday_deadline(d, 2), d
    # Easter 2025: Good Friday 18 April (day 11) and Easter Monday (day 14) are closed
    closed = np.zeros(28, dtype=bool)
    closed[[11, 14]] = True
    cal = Calendar("2025-04-07", 28, (0, 1, 2, 3, 4), closed=closed)
    assert cal.add_working_days(10, 1) == 15  # Thursday -> Tuesday
    assert cal.add_working_days(11, 1) == 15  # from Good Friday, the next working day is 1
    assert not cal.is_working[11] and cal.next_working[11] == 15


def test_bookings_respect_targets_and_earliest_day_when_nobody_books_later(small_data):
    # Nobody books beyond the target (give up instead), so every booking lies inside the
    # need's window: urgent today, soon within its working-day target, routine between its
    # earliest acceptable day and max(that day + 6, the routine target).
    ep, pj, _ = run(practice_only(small_data, no_slot_rule("give_up")))
    target = small_data["assumptions"]["booking"]["target_days"]
    booked = pj.appointment_day >= 0
    assert booked.sum() > 1000
    booked_time = np.nan_to_num(pj.booked_time, nan=-1.0)  # unbooked: day -1, never used
    book_day = np.floor(booked_time / MINUTES_PER_DAY).astype(int)
    lead = pj.appointment_day - book_day
    urg = ep.urgency
    assert (lead[booked & (urg == URGENT)] <= target["urgent"]).all()
    soon = np.flatnonzero(booked & (urg == URGENCIES.index("soon")))
    assert soon.size > 100
    closed = set(np.flatnonzero(~open_days(small_data)))
    for i in soon:
        deadline = weekday_deadline(book_day[i], target["soon"], closed)
        assert pj.appointment_day[i] <= deadline, i
    routine = booked & (urg == URGENCIES.index("routine"))
    offset = ep.earliest_offset_days.astype(int)
    assert (lead[routine] >= offset[routine]).all()
    assert (lead[routine] <= np.maximum(offset[routine] + 6, target["routine"])).all()
    # The earliest-day constraint binds for some needs (the check above is not vacuous).
    assert (offset[routine] > 0).sum() > 100


def test_booking_later_stays_within_the_horizon(small_data):
    data = clear_fte_overrides(small_data)
    cap = data["site"]["practice_capacity"]
    fte = {s: 0.5 * cap[s]["fte_per_1000"] for s in ("gp", "nurse", "pharmacist")}
    overrides = {
        **capacity_overrides(fte),
        **no_slot_rule("book_later"),
        "site.practice_capacity.booking_horizon_days": 10,
    }
    ep, pj, _ = run(practice_only(data, overrides))
    booked = pj.appointment_day >= 0
    lead = pj.appointment_day[booked] - np.floor(pj.booked_time[booked] / MINUTES_PER_DAY)
    assert lead.max() == 10  # scarce capacity pushes bookings to the horizon, never beyond
    assert (lead >= 0).all()


def _splitmix64_reference(key: int, salt: int) -> float:
    """splitmix64's finaliser in plain Python integers (Steele, Lea & Flood 2014), as a
    reference independent of the compiled uint64 code."""
    mask = (1 << 64) - 1
    z = ((key ^ salt) + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return ((z ^ (z >> 31)) >> 11) / 2.0**53


def test_keyed_uniforms_are_splitmix64_of_key_and_salt():
    """The one compiled splitmix64 (used by the booking pass and, over arrays, by numpy code)
    gives the reference's uniform for every key, the largest included."""
    from sim.booking.codes import KEYED_DRAWS
    from sim.core.streams import keyed_uniform, keyed_uniforms, salt

    rng = np.random.default_rng(7)
    extremes = np.array([0, 2**63, 2**64 - 1], dtype=np.uint64)
    keys = np.concatenate([rng.integers(0, 2**64, 2000, dtype=np.uint64), extremes])
    for name in KEYED_DRAWS:
        expected = [_splitmix64_reference(int(k), int(salt(name))) for k in keys]
        assert keyed_uniforms(keys, name).tolist() == expected, name
        assert [keyed_uniform(k, salt(name)) for k in keys[-5:]] == expected[-5:], name


def test_booking_window_rule_for_every_urgency_and_past_the_last_deadline():
    """rules.booking_window, which first requests (rules.first_requests), call-backs and NHS
    111 all use: urgent today to its target, soon to its working-day deadline, routine from its
    earliest day with a week's leeway; a request past the calendar's last day (no working day
    left) takes the last deadline rather than reading past the table."""
    from sim.booking.rules import booking_window

    soon, routine = URGENCIES.index("soon"), URGENCIES.index("routine")
    deadlines = np.asarray([d + 2 + (2 if d % 7 in (3, 4) else 0) for d in range(60)], np.int64)
    for today in range(50):
        for offset in range(20):
            assert booking_window(URGENT, offset, today, deadlines, 1, 14) == (today, today + 1)
            assert booking_window(soon, offset, today, deadlines, 1, 14) == (
                today,
                deadlines[today],
            )
            first = today + offset
            assert booking_window(routine, offset, today, deadlines, 1, 14) == (
                first,
                max(first + 6, today + 14),
            )
    assert booking_window(soon, 0, 60, deadlines, 1, 14) == (60, deadlines[-1])


def test_first_request_is_at_once_in_core_hours_else_at_the_next_opening(small_data):
    """sim.booking.rules.first_requests, episode by episode, against the rule worked out here
    with Python's own dates and the holidays library (:func:`open_days`): in core hours at
    once; before the opening of a working day at its opening; otherwise at the next working
    day's opening (every need that waited rings at opening here; the hour it rings in is
    tested by test_needs_that_waited_ring_through_the_next_working_day_as_configured)."""
    data = small_data
    hours = data["site"]["core_hours"]
    working = open_days(data)
    open_m, close_m = hours["open_minute"], hours["close_minute"]
    ep, pj, _ = run(configure(data, {"assumptions.demand.waiting_request_hour_share": [1.0]}))
    asked = ~np.isnan(pj.first_request_time)
    assert asked.sum() > 10_000 and (~asked).sum() > 100  # urgent needs settled out of hours
    checked = {"at once": 0, "today's opening": 0, "a later opening": 0}
    for t, got in zip(ep.time[asked].tolist(), pj.first_request_time[asked].tolist(), strict=True):
        day, minute = divmod(t, MINUTES_PER_DAY)
        if working[int(day)] and open_m <= minute < close_m:
            expected, case = t, "at once"
        elif working[int(day)] and minute < open_m:
            expected, case = day * MINUTES_PER_DAY + open_m, "today's opening"
        else:
            later = int(day) + 1
            while not working[later]:
                later += 1
            expected, case = later * MINUTES_PER_DAY + open_m, "a later opening"
        assert got == expected, (t, got, expected)
        checked[case] += 1
    assert min(checked.values()) > 100, checked


def test_request_order_is_by_minute_then_arising_then_position():
    """sim.booking.preparation.request_order against numpy's lexsort of the same keys, on
    needs with every kind of tie the model makes: many at the same request minute (an opening)
    and, among those, some arising at the same minute; runs of ties at both ends and alone."""
    from sim.booking.preparation import request_order

    rng = np.random.default_rng(7)
    n = 20_000
    request = rng.uniform(0, 1e5, n)
    arising = request - rng.uniform(0, 500, n)
    opening = rng.random(n) < 0.3  # rang at one of a few openings: tied requests
    request[opening] = rng.choice([480.0, 1920.0, 3360.0, 1e5], opening.sum())
    arising[rng.random(n) < 0.1] = 100.0  # some of the tied also arose at the same minute
    request[0] = request.min() - 1  # ties at the very start and end of the order
    request[1] = request[0]
    request[-2:] = request.max() + 1
    expected = np.lexsort((np.arange(n), arising, request))
    assert np.array_equal(request_order(request.copy(), arising), expected)
    # without any tie, and with a need whose minute is unknown (NaN, last in numpy's order)
    distinct = np.arange(n, dtype=float)[::-1].copy()
    assert np.array_equal(request_order(distinct, distinct), np.arange(n)[::-1])
    request[5] = np.nan
    assert np.array_equal(
        request_order(request, arising), np.lexsort((np.arange(n), arising, request))
    )


def test_needs_reach_the_practice_in_the_same_order_drawn_or_in_arising_order(small_data):
    """A replication orders its episodes as drawn (practice by practice) and a PSA set orders
    them once put in the order they arose: both give the same order of the same needs."""
    from sim.booking.preparation import in_request_order
    from sim.core.demand import draw_episodes, generate_episodes
    from sim.core.replication import make_calendar
    from sim.core.streams import Streams

    cfg = configure(small_data).model
    calendar = make_calendar(cfg, 2, 8)
    drawn, first_a = in_request_order(draw_episodes(cfg, calendar, Streams(3, 1)), cfg, calendar)
    arose, first_b = in_request_order(
        generate_episodes(cfg, calendar, Streams(3, 1)), cfg, calendar
    )
    assert len(drawn) > 10_000
    assert np.array_equal(drawn.key, arose.key)  # keys are unique to a need
    assert np.array_equal(first_a.request, first_b.request)
    assert np.all(np.diff(first_a.request) >= 0)
