"""Patient journeys: booking, DNA by lead time, the no-slot rules and urgent out-of-hours needs.

Journeys run on three real practices (one per locality) through
:func:`sim.model.run_replication` with ``keep_detail=True``; the checks are made episode by
episode on its arrays, against expectations worked out from the configuration here.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import (
    MINUTES_PER_DAY,
    SEED,
    assert_shares,
    capacity_overrides,
    clear_fte_overrides,
    configure,
    replication_arrays,
)

from sim import ledger
from sim.calendar import Calendar
from sim.config import STAFF_NEEDS, STAFF_TYPES, URGENCIES
from sim.model import run_replication

URGENT = URGENCIES.index("urgent")
WARMUP, RUN = 1, 3  # weeks
END_MINUTE = 7 * (WARMUP + RUN) * MINUTES_PER_DAY


def run(run_cfg, weeks=(WARMUP, RUN), seed=SEED, replication=0):
    res = run_replication(run_cfg.model, seed, replication, *weeks, keep_detail=True)
    ep, pj = replication_arrays(res)
    return ep, pj, res


def in_core_hours(data, minutes: np.ndarray) -> np.ndarray:
    """True where a minute falls in core hours (calendar starts on a Monday)."""
    hours = data["site"]["core_hours"]
    weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    working = np.array([w in hours["weekdays"] for w in weekdays])
    day = (minutes // MINUTES_PER_DAY).astype(int)
    minute = minutes - day * MINUTES_PER_DAY
    return working[day % 7] & (minute >= hours["open_minute"]) & (minute < hours["close_minute"])


def after_last_opening(data, minutes: np.ndarray, run_days: int) -> np.ndarray:
    """True for needs arising after the last core-hours close of the run: their request is
    made at the next opening, which is after the end."""
    hours = data["site"]["core_hours"]
    weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    last_open_day = max(d for d in range(run_days) if weekdays[d % 7] in hours["weekdays"])
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
    run_cfg = configure(small_data)
    ep, pj, _ = run(run_cfg, weeks=(1, 7))
    dna = small_data["assumptions"]["dna"]
    uppers, probs = dna["lead_days_upper"], dna["probability"]

    seen = np.isin(pj.outcome, [ledger.ATTENDED_PRACTICE, ledger.DID_NOT_ATTEND])
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
    run_cfg = configure(data, capacity_overrides(5.0))  # ~10x today's workforce
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
    "site.practice_capacity.gp.slots_per_session": 60,
    "site.practice_capacity.nurse.slots_per_session": 60,
    "site.practice_capacity.pharmacist.slots_per_session": 60,
    "assumptions.booking.min_notice_minutes": 0,
}


@pytest.mark.xfail(
    strict=True,
    reason="BUG: sim/kpis.py practice_kpis counts urgent needs whose first request falls after "
    "the end of the run (they arose in the window out of hours and wait for an opening that "
    "never comes) in the denominator of practice.urgent_same_day_met_rate",
)
def test_urgent_same_day_rate_is_one_with_unlimited_capacity(small_data):
    data = clear_fte_overrides(small_data)
    run_cfg = configure(data, {**capacity_overrides(5.0), **UNLIMITED_DAY})
    ep, pj, res = run(run_cfg)
    # Every urgent request actually made during the run was met the same day ...
    t = pj.first_request_time
    made = ~np.isnan(t) & (t < END_MINUTE) & (ep.urgency == URGENT)
    assert made.sum() > 1000
    day = np.floor(t[made] / MINUTES_PER_DAY)
    np.testing.assert_array_equal(pj.appointment_day[made], day)
    # ... so the KPI, "share of urgent requests seen the same day", must be exactly 1.
    assert res.kpis["practice.urgent_same_day_met_rate"] == 1.0


# --------------------------------------------------------------------------------------------
# No capacity at all: the no-slot rules decide every outcome
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ooh_waits", [0.0, 1.0])
def test_zero_capacity_with_give_up_gives_all_gave_up(small_data, ooh_waits):
    data = clear_fte_overrides(small_data)
    overrides = {
        **capacity_overrides(0.0),
        **no_slot_rule("give_up"),
        "assumptions.booking.urgent_out_of_hours_waits_share": ooh_waits,
    }
    ep, pj, res = run(configure(data, overrides))
    run_days = 7 * (WARMUP + RUN)
    late = after_last_opening(data, ep.time, run_days)
    urgent_ooh = (ep.urgency == URGENT) & ~in_core_hours(data, ep.time) & (ooh_waits == 0.0)

    assert (pj.appointment_day == -1).all()  # nothing can be booked
    expected = np.full(len(ep), ledger.GAVE_UP)
    expected[late] = ledger.WAITING_AT_END
    expected[urgent_ooh] = ledger.URGENT_OUT_OF_HOURS
    np.testing.assert_array_equal(pj.outcome, expected)
    assert (pj.attempts[~urgent_ooh] == 1).all()
    assert (expected == ledger.GAVE_UP).sum() > 1000
    if ooh_waits == 0.0:
        assert urgent_ooh.sum() > 100


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
    ep, pj, _ = run(configure(data, overrides))
    assert set(np.unique(pj.outcome)) <= {ledger.GAVE_UP, ledger.WAITING_AT_END}
    gave_up = pj.outcome == ledger.GAVE_UP
    assert gave_up.sum() > 1000
    # Everyone who gave up called back exactly max_callbacks times first.
    assert (pj.attempts[gave_up] == max_callbacks + 1).all()
    assert pj.attempts.max() == max_callbacks + 1
    # A need still trying at the end had fewer attempts than that, or its first request
    # itself came after the end.
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
    ep, pj, _ = run(configure(data, overrides))
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


@pytest.mark.parametrize("waits", [0.0, 1.0])
def test_urgent_out_of_hours_share(small_data, waits):
    overrides = {"assumptions.booking.urgent_out_of_hours_waits_share": waits}
    ep, pj, _ = run(configure(small_data, overrides))
    urgent_ooh = (ep.urgency == URGENT) & ~in_core_hours(small_data, ep.time)
    assert urgent_ooh.sum() > 100
    flagged = pj.outcome == ledger.URGENT_OUT_OF_HOURS
    if waits == 0.0:
        np.testing.assert_array_equal(flagged, urgent_ooh)  # all of them, and only them
        assert np.isnan(pj.first_request_time[urgent_ooh]).all()
    else:
        assert not flagged.any()
        # They wait for the next opening instead.
        open_minute = small_data["site"]["core_hours"]["open_minute"]
        t = pj.first_request_time[urgent_ooh]
        assert (t > ep.time[urgent_ooh]).all()
        np.testing.assert_array_equal(t % MINUTES_PER_DAY, open_minute)


def test_urgent_out_of_hours_partial_share(small_data):
    share = 0.6
    overrides = {"assumptions.booking.urgent_out_of_hours_waits_share": share}
    ep, pj, _ = run(configure(small_data, overrides))
    urgent_ooh = (ep.urgency == URGENT) & ~in_core_hours(small_data, ep.time)
    flagged = int((pj.outcome[urgent_ooh] == ledger.URGENT_OUT_OF_HOURS).sum())
    n = int(urgent_ooh.sum())
    # Each urgent out-of-hours need waits with probability `share`: binomial test at ALPHA.
    assert_shares(np.array([n - flagged, flagged]), np.array([share, 1 - share]),
                  "urgent out-of-hours needs that wait")
    assert (pj.outcome[~urgent_ooh] != ledger.URGENT_OUT_OF_HOURS).all()


# --------------------------------------------------------------------------------------------
# Who is booked with whom, when
# --------------------------------------------------------------------------------------------


def test_staff_need_decides_the_book(small_data):
    data = clear_fte_overrides(small_data)
    # No GPs at all: GP needs are never booked; "any clinician" needs still are.
    cap = data["site"]["practice_capacity"]
    fte = {"gp": 0.0, "nurse": cap["nurse"]["fte_per_1000"],
           "pharmacist": cap["pharmacist"]["fte_per_1000"]}
    ep, pj, _ = run(configure(data, capacity_overrides(fte)))
    booked = pj.appointment_day >= 0
    any_need = ep.staff_need == STAFF_NEEDS.index("any")
    gp_need = ep.staff_need == STAFF_NEEDS.index("gp")
    assert not (booked & gp_need).any()
    assert (pj.staff_type[booked] != STAFF_TYPES.index("gp")).all()
    assert (booked & any_need).sum() > 100
    # Specific needs are booked only with their own staff type.
    specific = booked & ~any_need
    names = np.array(STAFF_NEEDS)[ep.staff_need[specific]]
    np.testing.assert_array_equal(np.array(STAFF_TYPES)[pj.staff_type[specific]], names)


def weekday_deadline(day: int, working_days: int, working=(0, 1, 2, 3, 4)) -> int:
    """The day ``working_days`` working days after ``day`` (a working day counts as 0)."""
    d, left = day, working_days
    while left > 0:
        d += 1
        if d % 7 in working:
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


def test_bookings_respect_targets_and_earliest_day_when_nobody_books_later(small_data):
    # Nobody books beyond the target (give up instead), so every booking lies inside the
    # need's window: urgent today, soon within its working-day target, routine between its
    # earliest acceptable day and max(that day, the routine target).
    ep, pj, _ = run(configure(small_data, no_slot_rule("give_up")))
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
    for i in soon:
        assert pj.appointment_day[i] <= weekday_deadline(book_day[i], target["soon"]), i
    routine = booked & (urg == URGENCIES.index("routine"))
    offset = ep.earliest_offset_days.astype(int)
    assert (lead[routine] >= offset[routine]).all()
    assert (lead[routine] <= np.maximum(offset[routine], target["routine"])).all()
    # The earliest-day constraint binds for some needs (the check above is not vacuous).
    assert (offset[routine] > 0).sum() > 100


def test_booking_later_stays_within_the_horizon(small_data):
    data = clear_fte_overrides(small_data)
    cap = data["site"]["practice_capacity"]
    fte = {s: 0.5 * cap[s]["fte_per_1000"] for s in ("gp", "nurse", "pharmacist")}
    overrides = {**capacity_overrides(fte), **no_slot_rule("book_later"),
                 "site.practice_capacity.booking_horizon_days": 10}
    ep, pj, _ = run(configure(data, overrides))
    booked = pj.appointment_day >= 0
    lead = pj.appointment_day[booked] - np.floor(pj.booked_time[booked] / MINUTES_PER_DAY)
    assert lead.max() == 10  # scarce capacity pushes bookings to the horizon, never beyond
    assert (lead >= 0).all()
