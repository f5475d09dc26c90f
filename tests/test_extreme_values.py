"""Extreme-value tests (DESIGN.md section 8): no demand -> nothing happens; unlimited capacity
-> no waits; a hub with no capacity is a closed hub; more capacity never makes waits worse in
expectation (paired replications with common random numbers).

Runs are small (one practice per locality, a few weeks) with fixed seeds. Statistical
comparisons are one-sided paired t tests at ``ALPHA`` (conftest) shared by the comparisons
of this file (Bonferroni), so were the seed changed a correct model would fail one of them
with probability at most 0.1%.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ALPHA, SEED, configure, days_in
from scipy import stats

from sim.config.schema import AGE_BANDS, WEEKDAYS
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY
from sim.core.replication import make_calendar, run_replication

WARMUP, RUN = 1, 4  # weeks


def run(run_cfg, replication=0, warmup=WARMUP, weeks=RUN):
    return run_replication(run_cfg.model, SEED, replication, warmup, weeks, keep_detail=True)


def kpis_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a
    )


# --------------------------------------------------------------------------------------------
# No demand: nothing happens
# --------------------------------------------------------------------------------------------

#: KPIs that are ratios with a count of activity as denominator: with no activity they are
#: undefined (NaN), never 0 or 1.
RATIOS_OF_ACTIVITY = {
    "practice.same_day_share",
    "practice.urgent_same_day_met_rate",
    "practice.routine_lead_days_mean",
    "practice.routine_lead_days_p90",
    "practice.third_next_available_days",
    "practice.monday_request_share",
    "practice.monday_8to9_request_share",
    "practice.dna_rate",
    "rac.wait_days_mean",
    "ae.primary_care_treatable_share",
    "ae.monday_share",
    "ae.four_hour_performance",
    "ae.time_in_department_mean_min",
    "ae.time_in_department_p95_min",
    "ae.conversion",
    "ae.conversion_65plus",
    "ae.twelve_hour_share",
    "ae.decision_to_admit_wait_mean_min",
    "ae.decision_to_admit_over_4h_share",
    "ae.decision_to_admit_over_12h_share",
    "ae.handover_mean_min",
    "ae.handover_over_30_share",
    "ae.handover_over_60_share",
    "ae.left_without_being_seen_share",
    "ic.step_up_wait_days_mean",
    "ic.step_down_wait_days_mean",
    "social_care.wait_days_mean",
}


def test_zero_demand_means_no_activity(small_data):
    run_cfg = configure(
        small_data,
        {
            "assumptions.demand.scale": 0.0,
            "assumptions.ae.self_presenting_per_1000_year": {b: 0.0 for b in AGE_BANDS},
            "site.acute_beds.background_admissions_per_week": 0.0,
        },
    )
    res = run(run_cfg)
    k = res.detail["inputs"]
    assert res.episodes_total == 0 and len(k.episodes) == 0
    h = k.hospital
    assert len(h.attendances) == 0 and len(h.admissions) == 0
    assert len(h.ic_stays["start"]) == 0 and len(h.social_stays["start"]) == 0
    assert res.ledger["generated"] == 0 and sum(res.ledger.values()) == 0
    assert res.flows == {}
    nan = {name for name, value in res.kpis.items() if math.isnan(value)}
    # Seasonal occupancy is undefined (NaN) when the window has no day of its season.
    seasons = {"winter": (12, 1, 2), "summer": (6, 7, 8)}
    no_season = {
        f"hospital.bed_occupancy_{s}" for s, months in seasons.items() if not days_in(k, months)
    }
    assert nan == RATIOS_OF_ACTIVITY | no_season
    capacity = {
        "cost.practice_staff_annual_gbp",
        "cost.services_annual_gbp",
        "cost.cash_annual_gbp",
        "cost.total_annual_gbp",
    }
    for name, value in res.kpis.items():
        if name in nan or name in capacity:
            continue
        assert value == 0, f"{name} = {value} with no demand"
    # Capacity is still paid for; activity costs nothing.
    assert res.kpis["cost.services_annual_gbp"] > res.kpis["cost.practice_staff_annual_gbp"] > 0
    assert res.kpis["cost.cash_annual_gbp"] == res.kpis["cost.services_annual_gbp"]
    assert res.kpis["cost.total_annual_gbp"] == res.kpis["cost.services_annual_gbp"]


# --------------------------------------------------------------------------------------------
# Unlimited capacity: no waits
# --------------------------------------------------------------------------------------------

#: Practice capacity far above demand: one session spanning core hours and beyond, a slot
#: every 12 minutes per clinician, no notice, ~10x today's workforce.
AMPLE_PRACTICE = {
    "site.practice_capacity.gp.fte_per_1000": 5.0,
    "site.practice_capacity.nurse.fte_per_1000": 5.0,
    "site.practice_capacity.pharmacist.fte_per_1000": 5.0,
    "site.practice_capacity.sessions": [{"start_minute": 480, "end_minute": 1200}],
    "site.practice_capacity.sessions_outside_core_hours": True,  # the session runs to 20:00
    "site.practice_capacity.gp.slots_per_session": 60,
    "site.practice_capacity.nurse.slots_per_session": 60,
    "site.practice_capacity.pharmacist.slots_per_session": 60,
    "assumptions.booking.min_notice_minutes": 0,
}
UNLIMITED = {
    **AMPLE_PRACTICE,
    "site.emergency_department.minors_clinicians_by_hour": [60] * 24,
    "site.emergency_department.majors_clinicians_by_hour": [60] * 24,
    "site.emergency_department.majors_spaces": 10_000,
    "site.emergency_department.sdec.spaces": 10_000,
    "site.acute_beds.general_and_acute": 100_000,
    "site.intermediate_care.places": 100_000,
    "site.social_care.places": 100_000,
}


def test_unlimited_capacity_means_no_waits(small_data):
    run_cfg = configure(small_data, UNLIMITED)
    res = run(run_cfg)
    k = res.detail["inputs"]
    ep, sj, h = k.episodes, k.journeys, k.hospital

    # A&E: everyone has a space and is seen the minute they arrive; nobody leaves unseen.
    assert len(h.attendances) > 500
    np.testing.assert_array_equal(h.ae.seen_time, h.attendances.time)
    assert not h.ae.left_unseen.any()
    # Beds: nobody waits for one (no exit block).
    a = h.admissions
    assert len(a) > 100
    np.testing.assert_array_equal(a.bed_time, a.request_time)

    # IC+: every step-up starts at its request; no one waits in hospital for a place.
    su = h.step_ups
    assert len(su.started) > 0
    assert su.started.all() and not su.admitted_instead.any()
    np.testing.assert_array_equal(su.start_time, np.asarray(k.journeys.handoffs.step_up_time))
    placed = np.isfinite(a.place_time)
    assert placed.any()
    np.testing.assert_array_equal(a.place_time[placed], a.optimised_time[placed])

    # Practices: nobody fails to find a slot, and every booking is on the first day the need
    # accepts (today; for routine needs their earliest acceptable day, or the next working
    # day when that day the practice is shut).
    outcome = sj.outcome
    assert (outcome != ledger.GAVE_UP).all()
    cal = make_calendar(run_cfg.model, WARMUP, RUN)
    asked = np.isfinite(sj.first_request_time) & (sj.appointment_day >= 0)
    asked &= sj.booked_time == sj.first_request_time  # booked at the first request
    assert asked.sum() > 0.9 * np.isfinite(sj.first_request_time).sum()
    assert (sj.attempts[np.isfinite(sj.first_request_time)] == 1).all()  # no call-backs
    request_day = (sj.first_request_time[asked] // MINUTES_PER_DAY).astype(int)
    routine = ep.urgency[asked] == 2
    wanted = request_day + np.where(routine, ep.earliest_offset_days[asked], 0)
    first_open = cal.next_working[np.minimum(wanted, cal.n_days)]
    np.testing.assert_array_equal(sj.appointment_day[asked], first_open)
    assert res.kpis["practice.urgent_same_day_met_rate"] == 1.0


# --------------------------------------------------------------------------------------------
# A hub with no capacity is a closed hub
# --------------------------------------------------------------------------------------------


def test_zero_hub_capacity_behaves_as_hub_closed(small_data):
    zero = run(configure(small_data, {"site.hubs.minutes_per_1000_per_week": 0.0}))
    closed = run(configure(small_data, {"site.hubs.opening": {d: [] for d in WEEKDAYS}}))
    never_offered = run(
        configure(
            small_data,
            {
                "assumptions.booking.hub_offer_share": 0.0,
                "assumptions.hubs.prefer_hub_share_non_urgent": 0.0,
                "site.hubs.minutes_per_1000_per_week": 0.0,
            },
        )
    )
    assert zero.kpis["hub.appointments_per_week"] == 0
    for other in (closed, never_offered):
        assert kpis_equal(zero.kpis, other.kpis)
        assert zero.ledger == other.ledger and zero.flows == other.flows
        a, b = zero.detail["inputs"].journeys, other.detail["inputs"].journeys
        np.testing.assert_array_equal(a.outcome, b.outcome)
        np.testing.assert_array_equal(a.appointment_day, b.appointment_day)
        assert np.isnan(a.hub_time).all() and np.isnan(b.hub_time).all()
    # And it differs from an open hub (the comparison can tell them apart).
    open_hub = run(configure(small_data))
    assert open_hub.kpis["hub.appointments_per_week"] > 0


def test_zero_ic_places_means_every_step_up_is_admitted(small_data):
    res = run(
        configure(
            small_data,
            {
                "site.intermediate_care.places": 0,
                "assumptions.intermediate_care.step_up_share_from_practice": 0.3,
            },
        )
    )
    h = res.detail["inputs"].hospital
    assert len(h.step_ups.started) > 0
    assert h.step_ups.admitted_instead.all() and len(h.ic_stays["start"]) == 0
    assert math.isnan(res.kpis["ic.occupancy"])  # share of zero places: undefined
    assert res.kpis["ic.step_up_per_week"] == 0


# --------------------------------------------------------------------------------------------
# More capacity never makes waits worse
# --------------------------------------------------------------------------------------------


def test_an_extra_clinician_never_lengthens_any_wait(small_data):
    """FIFO multi-server queue, same arrivals and clinician times (CRN): with c + 1 servers no
    patient waits longer than with c (Kiefer-Wolfowitz workload vectors are monotone)."""
    waits = {}
    for c in (1, 2):
        res = run(
            configure(
                small_data,
                {
                    "site.emergency_department.minors_clinicians_by_hour": [c] * 24,
                    "site.emergency_department.majors_clinicians_by_hour": [c] * 24,
                    # Nothing but the clinicians in the way: no space or bed limit, nobody
                    # leaving unseen (the theorem is about one FIFO queue per stream).
                    "site.emergency_department.majors_spaces": 10_000,
                    "site.acute_beds.general_and_acute": 100_000,
                    "assumptions.ae.left_without_being_seen.patience_minutes": {
                        "median": 1e6,  # the largest allowed: 694 days, longer than any run here
                        "mean": 1e6,
                    },
                },
            )
        )
        h = res.detail["inputs"].hospital
        waits[c] = (h.attendances.time.copy(), h.ae.seen_time - h.attendances.time)
    np.testing.assert_array_equal(waits[1][0], waits[2][0])  # the same patients
    assert (waits[1][1] > 0).sum() > 100  # one clinician makes people wait
    assert (waits[2][1] <= waits[1][1] + 1e-9).all()
    assert waits[2][1].mean() < waits[1][1].mean()


LESS_AE = [1] * 8 + [2] * 12 + [1] * 4
#: IC+ that turns over within the run (week-long stays) and is asked for often, so that 10
#: places are congested and 20 are not.
BUSY_IC = {
    "assumptions.intermediate_care.stay_days": {"median": 5, "mean": 6},
    "assumptions.intermediate_care.step_down_share_of_admissions": 1.0,
    "assumptions.intermediate_care.step_up_share_from_practice": 0.2,
}
#: The small site's hospital: a tenth of the majors spaces and the background admissions, so
#: its beds are as busy as the full site's.
SMALL_HOSPITAL = {
    "site.emergency_department.majors_spaces": 6,
    "site.acute_beds.background_admissions_per_week": 15.0,
}
#: Social care that turns over within the run and is needed often.
BUSY_SOCIAL = {
    "assumptions.discharge.social_care_stay_days": {"median": 2, "mean": 2.5},
    "assumptions.discharge.social_care_share_65plus": {
        "fit": 0.2,
        "mild": 0.3,
        "moderate": 0.4,
        "severe": 0.5,
    },
}
#: (name, fewer-resources overrides, more-resources overrides, KPIs with the direction that is
#: better, the KPI that must improve significantly: the comparison has power, and the
#: (warm-up, run) weeks: beds and places need longer to fill than A&E or practices).
CAPACITY_CASES = [
    (
        "ae_clinicians",
        {
            "site.emergency_department.minors_clinicians_by_hour": LESS_AE,
            "site.emergency_department.majors_clinicians_by_hour": LESS_AE,
        },
        {
            "site.emergency_department.minors_clinicians_by_hour": [c + 1 for c in LESS_AE],
            "site.emergency_department.majors_clinicians_by_hour": [c + 1 for c in LESS_AE],
        },
        {
            "ae.time_in_department_mean_min": "lower",
            "ae.time_in_department_p95_min": "lower",
            "ae.four_hour_performance": "higher",
        },
        "ae.time_in_department_mean_min",
        (2, 4),
    ),
    (
        "practice_staff",
        {
            "site.practice_capacity.gp.fte_per_1000": 0.40,
            "site.practice_capacity.nurse.fte_per_1000": 0.50,
        },
        {
            "site.practice_capacity.gp.fte_per_1000": 0.55,
            "site.practice_capacity.nurse.fte_per_1000": 0.65,
        },
        {
            "practice.third_next_available_days": "lower",
            "practice.urgent_same_day_met_rate": "higher",
            "system.unmet_need_per_week": "lower",
        },
        "practice.urgent_same_day_met_rate",
        (2, 4),
    ),
    (
        "ic_places",
        {"site.intermediate_care.places": 10, **BUSY_IC},
        {"site.intermediate_care.places": 20, **BUSY_IC},
        {
            "system.bed_days_per_week": "lower",
            "ic.step_down_wait_days_mean": "lower",
            "hospital.delayed_discharge_bed_days_per_week": "lower",
        },
        "hospital.delayed_discharge_bed_days_per_week",
        (2, 4),
    ),
    (
        "acute_beds",
        {"site.acute_beds.general_and_acute": 55, **SMALL_HOSPITAL},
        {"site.acute_beds.general_and_acute": 80, **SMALL_HOSPITAL},
        {
            "ae.decision_to_admit_wait_mean_min": "lower",
            "hospital.bed_occupancy": "lower",
            "ae.four_hour_performance": "higher",
        },
        "ae.decision_to_admit_wait_mean_min",
        # The wait for a bed is skewed (a few replications with long exit block): 10 gave
        # t = 6.55 against 6.59 for a 317-minute fall; 20 show it with room to spare
        (6, 12, 20),
    ),
    (
        "social_care_places",
        {"site.social_care.places": 3, **SMALL_HOSPITAL, **BUSY_SOCIAL},
        {"site.social_care.places": 12, **SMALL_HOSPITAL, **BUSY_SOCIAL},
        {
            "social_care.wait_days_mean": "lower",
            "hospital.nctr_beds": "lower",
            "ae.decision_to_admit_wait_mean_min": "lower",
        },
        "social_care.wait_days_mean",
        (6, 12, 30),  # a small, skewed effect: more replications to show it
    ),
]
REPLICATIONS = 10  # the corrected one-sided t critical value is ~9.7 with 6, ~6.6 with 10
#: One-sided paired tests in this file: every KPI of every case, plus the power checks.
N_TESTS = sum(len(case[3]) + 1 for case in CAPACITY_CASES)


@pytest.mark.parametrize("case", CAPACITY_CASES, ids=[c[0] for c in CAPACITY_CASES])
def test_more_capacity_never_increases_expected_waits(small_data, case):
    _, less, more, kpis, must_improve, (warmup, weeks, *reps) = case
    replications = reps[0] if reps else REPLICATIONS
    fewer_cfg, more_cfg = configure(small_data, less), configure(small_data, more)
    worse = {name: [] for name in kpis}  # (more - fewer), signed so that positive = worse
    for r in range(replications):
        a = run(fewer_cfg, replication=r, warmup=warmup, weeks=weeks)
        b = run(more_cfg, replication=r, warmup=warmup, weeks=weeks)
        for name, better in kpis.items():
            sign = 1.0 if better == "lower" else -1.0
            worse[name].append(sign * (b.kpis[name] - a.kpis[name]))
    level = ALPHA / N_TESTS
    critical = stats.t.ppf(1 - level, replications - 1)
    for name, diffs in worse.items():
        d = np.asarray(diffs)
        assert np.isfinite(d).all(), (name, d)
        se = d.std(ddof=1) / np.sqrt(len(d))
        if se == 0:
            assert d.mean() <= 0, f"{name}: more capacity worse in every replication: {d}"
        else:
            assert d.mean() / se < critical, (
                f"{name}: more capacity significantly worse (paired mean {d.mean():.4g}, "
                f"t = {d.mean() / se:.2f} >= {critical:.2f}); differences {d}"
            )
    d = np.asarray(worse[must_improve])
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert d.mean() < 0 and (se == 0 or -d.mean() / se > critical), (
        f"{must_improve}: no significant improvement from more capacity ({d}): the "
        "comparison has no power"
    )
