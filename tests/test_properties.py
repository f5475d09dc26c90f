"""Property-based tests (hypothesis) over random valid configurations.

Each example is a small site (one to three of the real practices) with random capacities,
booking rules, NHS 111 dispositions, clinic and IC+ sizes, A&E rotas (zero in some hours),
demand levels (zero included) and a random seed, run for a week or two. Whatever the
configuration:

* conservation: every episode ends in exactly one terminal state, the ledger adds up, every
  A&E attendance leaves, every step-up either starts IC+ or is admitted;
* no negative waits anywhere (A&E, practice, hub, clinic, IC+);
* utilisations and shares lie in [0, 1];
* every KPI is finite, or NaN only where its denominator is legitimately zero
  (:data:`DENOMINATORS` names each one).

``derandomize=True`` makes the examples the same on every run (a fixed seed), and the number
of examples (40) keeps the file to a few seconds.
"""

from __future__ import annotations

import math

import numpy as np
from conftest import configure, days_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config.schema import AGE_BANDS, FIRST_OLDER_BAND, NHS111_DISPOSITIONS, URGENCIES
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY
from sim.core.demand import ROUTINE, URGENT
from sim.core.replication import run_replication
from sim.services.hospital.conservation import bed_ledger

#: Floating-point slack on "at most 1" for time-weighted occupancies: IC+ occupancy is a
#: difference of running sums of minutes (~1e6 per stay), exact only to ~1e-15 relative.
OCCUPANCY_SLACK = 1e-9
#: Slack (minutes) on "seen no earlier than arrival" in A&E: the SimPy clock reaches an
#: arrival at ``now + (t - now)``, which can round one ulp (~1e-13 min) below ``t``; see
#: test_ae_never_sees_a_patient_before_arrival (a regression test) for the exact case.
CLOCK_SLACK = 1e-9

unit = st.floats(0.0, 1.0, allow_nan=False)
maybe_zero = st.one_of(st.just(0.0), unit)


@st.composite
def shares(draw, n: int) -> list[float]:
    """n non-negative shares summing to 1 (zeros likely)."""
    raw = [draw(maybe_zero) for _ in range(n)]
    total = sum(raw)
    if total == 0:
        raw[draw(st.integers(0, n - 1))] = 1.0
        total = 1.0
    return [x / total for x in raw]


@st.composite
def rota(draw) -> list[int]:
    """Clinicians by hour: 0..5, with somebody on duty in at least one hour."""
    hours = draw(st.lists(st.integers(0, 5), min_size=24, max_size=24))
    if max(hours) == 0:
        hours[draw(st.integers(0, 23))] = 1
    return hours


@st.composite
def configurations(draw, n_practices: int):
    keep = draw(st.lists(st.integers(0, n_practices - 1), min_size=1, max_size=3, unique=True))
    o: dict = {}
    for staff in ("gp", "nurse", "pharmacist"):
        o[f"site.practice_capacity.{staff}.fte_per_1000"] = draw(st.floats(0.0, 1.5))
    o["site.practice_capacity.on_the_day_share"] = draw(unit)
    o["site.practice_capacity.booking_horizon_days"] = draw(st.integers(0, 42))
    o["site.hubs.minutes_per_1000_per_week"] = draw(st.one_of(st.just(0.0), st.floats(0, 300)))
    o["site.intermediate_care.places"] = draw(st.integers(0, 40))
    o["site.rapid_assessment.sites.shotley_bridge.slots_per_session"] = draw(st.integers(0, 6))
    o["site.rapid_assessment.sites.chester_le_street.slots_per_session"] = draw(st.integers(0, 6))
    o["site.emergency_department.minors_clinicians_by_hour"] = draw(rota())
    o["site.emergency_department.majors_clinicians_by_hour"] = draw(rota())
    o["site.emergency_department.frailty_front_of_house.enabled"] = draw(st.booleans())
    o["site.emergency_department.majors_spaces"] = draw(st.integers(1, 20))
    o["site.emergency_department.sdec.spaces"] = draw(st.integers(0, 4))
    o["site.acute_beds.general_and_acute"] = draw(st.integers(0, 60))  # 0: nobody gets a bed
    o["site.acute_beds.escalation_spaces"] = draw(st.integers(0, 5))
    o["site.acute_beds.background_admissions_per_week"] = draw(
        st.one_of(st.just(0.0), st.floats(0.0, 30.0))
    )
    o["site.social_care.places"] = draw(st.integers(0, 20))
    o["assumptions.demand.scale"] = draw(st.one_of(st.just(0.0), st.floats(0.0, 2.0)))
    ae_scale = draw(st.one_of(st.just(0.0), st.floats(0.0, 2.0)))
    o["ae_scale"] = ae_scale
    actions = ("book_later", "callback_next_day", "nhs111", "ae", "give_up")
    for urgency in URGENCIES:
        o[f"assumptions.booking.no_slot.{urgency}"] = dict(
            zip(actions, draw(shares(5)), strict=True)
        )
    o["assumptions.booking.max_callbacks"] = draw(st.integers(0, 3))
    o["assumptions.booking.min_notice_minutes"] = draw(st.integers(0, 120))
    o["assumptions.booking.urgent_out_of_hours_waits_share"] = draw(unit)
    to_111 = draw(unit)
    o["assumptions.booking.out_of_hours_route"] = {"nhs111": to_111, "ae": 1.0 - to_111}
    o["assumptions.booking.hub_offer_share"] = draw(unit)
    for mix in ("disposition", "disposition_displaced"):
        o[f"assumptions.nhs111.{mix}"] = dict(
            zip(NHS111_DISPOSITIONS, draw(shares(len(NHS111_DISPOSITIONS))), strict=True)
        )
    o["assumptions.dna.probability"] = [draw(st.floats(0.0, 0.3)) for _ in range(4)]
    o["assumptions.rapid_assessment.referral_share_from_practice"] = draw(unit)
    o["assumptions.rapid_assessment.referral_share_from_nhs111"] = draw(unit)
    o["assumptions.intermediate_care.step_up_share_from_practice"] = draw(st.floats(0.0, 0.5))
    median = draw(st.floats(1.0, 30.0))
    o["assumptions.intermediate_care.stay_days"] = {
        "median": median,
        "mean": median * draw(st.floats(1.0, 1.5)),
    }
    weeks = (draw(st.integers(0, 1)), draw(st.integers(1, 2)))
    seed = draw(st.integers(0, 2**31 - 1))
    return keep, o, weeks, seed


def build(real_data, keep: list[int], overrides: dict):
    data = {**real_data, "site": dict(real_data["site"])}
    codes = list(real_data["site"]["practices"])
    data["site"]["practices"] = {codes[i]: real_data["site"]["practices"][codes[i]] for i in keep}
    overrides = dict(overrides)
    scale = overrides.pop("ae_scale")
    base = real_data["assumptions"]["ae"]["self_presenting_per_1000_year"]
    overrides["assumptions.ae.self_presenting_per_1000_year"] = {
        b: base[b] * scale for b in AGE_BANDS
    }
    return configure(data, overrides)


def denominators(k) -> dict[str, float]:
    """The denominator of every KPI that is a ratio or a mean: where it is zero the KPI is
    legitimately undefined (NaN). Recounted here from the raw arrays, following the
    definitions in docs/kpis.md."""
    ep, sj, h = k.episodes, k.journeys, k.hospital
    att, ae = h.attendances, h.ae
    first, last = k.first_day, k.last_day
    lo, hi = first * MINUTES_PER_DAY, last * MINUTES_PER_DAY
    booked = sj.appointment_day >= 0
    appointments = booked & (sj.appointment_day >= first) & (sj.appointment_day < last)
    arose = k.in_window(ep.time)
    requested = arose & (sj.first_request_time < hi)
    request_in_window = (sj.first_request_time >= lo) & (sj.first_request_time < hi)
    ae_in = k.in_window(att.time)
    rac = (sj.rac_referral_time >= lo) & (sj.rac_referral_time < hi) & np.isfinite(sj.rac_time)
    hub_offered = sum(b.slots_on(d) for b in k.hubs.books for d in range(first, last))
    n_ae = float(ae_in.sum())
    return {
        # appointments in the window
        "practice.same_day_share": float(appointments.sum()),
        "practice.dna_rate": float(appointments.sum()),
        # urgent requests made in the window
        "practice.urgent_same_day_met_rate": float((requested & (ep.urgency == URGENT)).sum()),
        # routine requests made in the window that were booked
        "practice.routine_lead_days_mean": float(
            (requested & (ep.urgency == ROUTINE) & booked).sum()
        ),
        "practice.routine_lead_days_p90": float(
            (requested & (ep.urgency == ROUTINE) & booked).sum()
        ),
        # GP access is sampled as requests reach practices: none in the window, no sample
        "practice.third_next_available_days": float(request_in_window.sum()),
        # first requests made in the window (the Monday share: those made Monday to Friday)
        "practice.monday_request_share": float(
            (request_in_window & ((sj.first_request_time // MINUTES_PER_DAY) % 7 < 5)).sum()
        ),
        "practice.monday_8to9_request_share": float(request_in_window.sum()),
        # slots offered in the window
        "practice.utilisation": float(k.practices.offered_between(first, last).sum()),
        "hub.utilisation": float(hub_offered),
        # clinic attendances referred in the window
        "rac.wait_days_mean": float(rac.sum()),
        # IC+ places
        "ic.occupancy": float(k.cfg.site.intermediate_care.places),
        # A&E attendances in the window (aged 65+ for the last)
        "ae.primary_care_treatable_share": n_ae,
        "ae.monday_share": n_ae,
        "ae.four_hour_performance": n_ae,
        "ae.time_in_department_mean_min": n_ae,
        "ae.time_in_department_p95_min": n_ae,
        "ae.conversion": n_ae,
        "ae.conversion_65plus": float((ae_in & (att.age_band >= FIRST_OLDER_BAND)).sum()),
        "ae.twelve_hour_share": n_ae,
        "ae.left_without_being_seen_share": n_ae,
        # A&E admissions to a bed in the window
        **{
            f"ae.decision_to_admit_{m}": float((ae_in & ae.admitted & ~ae.sdec).sum())
            for m in ("wait_mean_min", "over_4h_share", "over_12h_share")
        },
        # ambulance arrivals in the window
        **{
            f"ae.handover_{m}": float((ae_in & att.ambulance & att.majors).sum())
            for m in ("mean_min", "over_30_share", "over_60_share")
        },
        # beds open
        "hospital.bed_occupancy": float(h.beds),
        # beds open x days of the window in December-February / June-August
        **{
            f"hospital.bed_occupancy_{season}": float(h.beds) * days_in(k, months)
            for season, months in (("winter", (12, 1, 2)), ("summer", (6, 7, 8)))
        },
        "hospital.nctr_share": float(h.beds),
        # step-ups asked for in the window that started or were admitted instead
        "ic.step_up_wait_days_mean": float(
            (
                k.in_window(np.asarray(sj.handoffs.step_up_time, dtype=float))
                & (h.step_ups.started | h.step_ups.admitted_instead)
            ).sum()
        ),
        # patients medically optimised in the window needing IC+ or social care
        "ic.step_down_wait_days_mean": float(
            (k.in_window(h.admissions.optimised_time) & (h.admissions.pathway == 1)).sum()
        ),
        "social_care.wait_days_mean": float(
            (k.in_window(h.admissions.optimised_time) & (h.admissions.pathway == 2)).sum()
        ),
    }


#: KPIs that are shares or utilisations: in [0, 1] whenever defined.
UNIT_INTERVAL = (
    "practice.same_day_share",
    "practice.urgent_same_day_met_rate",
    "practice.utilisation",
    "practice.monday_request_share",
    "practice.monday_8to9_request_share",
    "practice.dna_rate",
    "hub.utilisation",
    "ic.occupancy",
    "ae.primary_care_treatable_share",
    "ae.monday_share",
    "ae.four_hour_performance",
    "ae.conversion",
    "ae.conversion_65plus",
    "ae.twelve_hour_share",
    "ae.decision_to_admit_over_4h_share",
    "ae.decision_to_admit_over_12h_share",
    "ae.handover_over_30_share",
    "ae.handover_over_60_share",
    "ae.left_without_being_seen_share",
    "hospital.bed_occupancy",
    "hospital.bed_occupancy_winter",
    "hospital.bed_occupancy_summer",
    "hospital.days_over_92_share",
    "hospital.days_over_95_share",
    "hospital.nctr_share",
)
#: KPIs that are waits or durations: never negative.
WAITS = (
    "practice.routine_lead_days_mean",
    "practice.routine_lead_days_p90",
    "practice.third_next_available_days",
    "rac.wait_days_mean",
    "ae.time_in_department_mean_min",
    "ae.time_in_department_p95_min",
    "ae.decision_to_admit_wait_mean_min",
    "ae.handover_mean_min",
    "ic.step_up_wait_days_mean",
    "ic.step_down_wait_days_mean",
    "social_care.wait_days_mean",
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_configurations_keep_every_invariant(real_data, data):
    keep, overrides, (warmup, weeks), seed = data.draw(
        configurations(len(real_data["site"]["practices"]))
    )
    run_cfg = build(real_data, keep, overrides)
    res = run_replication(run_cfg.model, seed, 0, warmup, weeks, keep_detail=True)
    k = res.detail["inputs"]
    ep, sj, h = k.episodes, k.journeys, k.hospital
    att, ae, su = h.attendances, h.ae, h.step_ups

    # Conservation ----------------------------------------------------------------------
    assert (sj.outcome != ledger.PENDING).all(), "an episode ended without a terminal state"
    assert res.ledger["generated"] == int(k.in_window(ep.time).sum())
    assert (
        sum(v for name, v in res.ledger.items() if name != "generated") == res.ledger["generated"]
    )
    assert bed_ledger(h)["balanced"], bed_ledger(h)
    assert not (su.started & su.admitted_instead).any()
    assert len(att) == int((att.source == 0).sum()) + len(sj.handoffs.ae_episode)

    # No negative waits -------------------------------------------------------------------
    seen = np.isfinite(ae.seen_time)
    assert (ae.seen_time[seen] >= att.time[seen] - CLOCK_SLACK).all()
    left = np.isfinite(ae.departure_time)
    assert (ae.departure_time[left & seen] >= ae.seen_time[left & seen]).all()
    assert (ae.departure_time[left] >= att.time[left] - CLOCK_SLACK).all()
    booked = sj.appointment_day >= 0
    appointment = sj.appointment_day * MINUTES_PER_DAY + sj.appointment_minute
    assert (appointment[booked] >= sj.booked_time[booked]).all()
    both = booked & np.isfinite(sj.first_request_time)
    assert (sj.booked_time[both] >= sj.first_request_time[both]).all()
    hub = np.isfinite(sj.hub_time)
    assert (sj.hub_time[hub] >= sj.hub_booked_time[hub]).all()
    rac = np.isfinite(sj.rac_time)
    assert (sj.rac_time[rac] >= sj.rac_referral_time[rac]).all()
    started = su.started
    step_up_time = np.asarray(sj.handoffs.step_up_time, dtype=float)
    assert (su.start_time[started] >= step_up_time[started]).all()
    placed = np.isfinite(h.admissions.place_time)
    assert (h.admissions.place_time[placed] >= h.admissions.optimised_time[placed]).all()
    for stays in (h.ic_stays, h.social_stays, h.sdec_stays):
        assert (stays["end"] >= stays["start"]).all()
    for name in WAITS:
        value = res.kpis[name]
        assert math.isnan(value) or value >= 0, f"{name} = {value}"

    # Utilisations and shares in [0, 1] ---------------------------------------------------
    for name in UNIT_INTERVAL:
        value = res.kpis[name]
        assert math.isnan(value) or 0 <= value <= 1 + OCCUPANCY_SLACK, f"{name} = {value}"
    places = run_cfg.model.site.intermediate_care.places
    days = np.arange(k.last_day + 1, dtype=float) * MINUTES_PER_DAY
    assert (h.places_used(h.ic_stays, days) <= places + OCCUPANCY_SLACK).all()
    assert (h.beds_occupied(days) <= h.beds + OCCUPANCY_SLACK).all()

    # Finite KPIs, NaN only with a zero denominator ---------------------------------------
    denominators_ = denominators(k)
    for name, value in res.kpis.items():
        if math.isfinite(value):
            continue
        assert math.isnan(value), f"{name} = {value}"
        assert name in denominators_, f"{name} is NaN but it is not a ratio"
        assert denominators_[name] == 0, (
            f"{name} is NaN but its denominator is {denominators_[name]}"
        )


# Regression: the SimPy clock could land one rounding step before an arrival (fixed by
# clamping the time seen to the arrival time).
def test_ae_never_sees_a_patient_before_arrival(real_data):
    minors, majors = [0] * 24, [0] * 24
    minors[16], majors[23] = 1, 1  # one clinician, one hour a day, in each stream
    overrides = {
        "assumptions.demand.scale": 0.0,
        "site.emergency_department.minors_clinicians_by_hour": minors,
        "site.emergency_department.majors_clinicians_by_hour": majors,
        # nobody leaves unseen: every patient's start of treatment is checked
        "assumptions.ae.left_without_being_seen.patience_minutes": {"median": 1e6, "mean": 1e6},
        "ae_scale": 1.25,
    }
    run_cfg = build(real_data, [2], overrides)
    res = run_replication(run_cfg.model, 5951946, 0, 0, 1, keep_detail=True)
    h = res.detail["inputs"].hospital
    wait = h.ae.seen_time - h.attendances.time
    wait = wait[np.isfinite(wait)]
    assert len(wait) > 20 and (wait >= 0).all(), f"negative waits: {wait[wait < 0]}"
