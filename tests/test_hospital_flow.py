"""The hospital beyond A&E: the bed pool and escalation, lengths of stay, discharge (senior
review, discharge window, organising, pathways), IC+ shared by step-up and step-down with its
priority rules, discharge-to-assess places, background admissions, and conservation.

Hand-built cases give every duration in exact minutes; statistical tests compare drawn
quantities with the configuration's numbers at fixed seeds.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from conftest import ALPHA, SEED, assert_shares, configure, poisson_pvalue
from hospital_helpers import DAY, attendances, hospital_model, requests, run
from scipy import stats

from sim.config.schema import AGE_BANDS, FRAILTY_BANDS
from sim.core.calendar import Calendar
from sim.core.streams import Streams
from sim.services.hospital import beds as beds_module
from sim.services.hospital.beds import background_admissions, length_of_stay_minutes
from sim.services.hospital.conservation import BED_STATES, bed_ledger
from sim.services.hospital.discharge import (
    HOME,
    SOCIAL_CARE,
    STEP_DOWN,
    discharge_pathways,
    next_discharge_time,
    next_review_time,
)
from sim.services.hospital.intermediate_care import STEP_UP

Z = float(stats.norm.isf(ALPHA / 2))
HOUR = 60.0


# --------------------------------------------------------------------------------------------
# The bed pool
# --------------------------------------------------------------------------------------------


def test_beds_first_come_first_served_and_never_idle_while_someone_waits(real_data):
    model = hospital_model(real_data, {"site.acute_beds.general_and_acute": 2})
    # Five direct admissions at 0, 10, 20, 30, 40, each staying 100 minutes.
    out = run(model, attendances([]), direct=requests([0, 10, 20, 30, 40]), stay=100.0)
    a = out.admissions
    np.testing.assert_array_equal(a.request_time, [0, 10, 20, 30, 40])
    np.testing.assert_array_equal(a.bed_time, [0, 10, 100, 110, 200])
    np.testing.assert_array_equal(a.leave_time, [100, 110, 200, 210, 300])
    assert bed_ledger(out)["balanced"]


def test_escalation_moves_a_long_waiter_and_gives_them_the_next_bed(real_data):
    model = hospital_model(
        real_data,
        {"site.acute_beds.general_and_acute": 1, "site.acute_beds.escalation_spaces": 1,
         "site.acute_beds.escalate_after_hours": 2},
    )  # fmt: skip
    # 0 takes the bed (0-500). 1 asks at 10, waits 2 h, escalates at 130 (stay 500 -> 630).
    # 2 asks at 20; at 140 the space is taken, so 2 waits. At 500 the bed frees: 1 moves up
    # from the space (keeps its stay), the space frees and 2 (waited 480 >= 120) takes it.
    out = run(model, attendances([]), direct=requests([0, 10, 20]), stay=500.0)
    a = out.admissions
    np.testing.assert_array_equal(a.bed_time, [0, 130, 500])  # stays start in bed or space
    np.testing.assert_array_equal(a.core_time, [0, 500, 630])  # 2 moves up when 1 leaves
    np.testing.assert_array_equal(a.leave_time, [500, 630, 1000])
    edges = np.array([0.0, 1000.0])
    # Core bed busy all 1000 minutes; the space 130-500 (patient 1) and 500-630 (patient 2).
    assert out.beds_occupied(edges)[0] == pytest.approx(1.0)
    assert out.escalation_occupied(edges)[0] == pytest.approx((500 - 130 + 630 - 500) / 1000)
    assert bed_ledger(out)["balanced"]


def test_a_congested_run_keeps_capacity_and_order(real_data):
    model = hospital_model(
        real_data,
        {"site.acute_beds.general_and_acute": 12, "site.emergency_department.majors_spaces": 6,
         "site.acute_beds.escalation_spaces": 2, "site.acute_beds.escalate_after_hours": 6},
    )  # fmt: skip
    rng = np.random.default_rng(SEED)
    n = 1500
    time = np.sort(rng.uniform(0, 20 * DAY, n))
    stay = rng.exponential(1.5 * DAY, n)
    out = run(model, attendances(time, majors=True), admitted=rng.random(n) < 0.35, stay=stay,
              run_minutes=20 * DAY)  # fmt: skip
    a = out.admissions
    took = np.isfinite(a.core_time)
    # Never more patients in beds than beds, nor in escalation spaces than spaces.
    events = np.concatenate([a.core_time[took], a.leave_time[took]])
    steps = np.concatenate([np.ones(took.sum()), -np.ones(took.sum())])
    order = np.lexsort((steps, events))  # leaving before arriving at the same minute
    assert np.cumsum(steps[order]).max() <= 12
    assert (a.bed_time[np.isfinite(a.bed_time)] >= a.request_time[np.isfinite(a.bed_time)]).all()
    # Nobody waits for a bed while one is free: at each request that had to wait, all 12 beds
    # were occupied just after it.
    waited = a.bed_time > a.request_time
    assert waited.sum() > 50
    for t in a.request_time[waited][:200]:
        occupied = ((a.core_time <= t) & ((a.leave_time > t) | np.isnan(a.leave_time))).sum()
        assert occupied == 12
    ledger = bed_ledger(out)
    assert ledger["balanced"] and ledger["asked"] == sum(ledger[s] for s in BED_STATES)


def test_conservation_catches_a_pool_that_loses_a_bed(real_data, monkeypatch):
    model = hospital_model(real_data, {"site.acute_beds.general_and_acute": 3})
    direct = requests(np.arange(0, 200, 10.0))
    assert bed_ledger(run(model, attendances([]), direct=direct, stay=30.0))["balanced"]
    original = beds_module.AcuteBeds.release

    def leaky(self, row, now):  # a bed freed with nobody waiting is never put back
        if self.queue:
            original(self, row, now)
        else:
            self.leave_time[row] = now

    monkeypatch.setattr(beds_module.AcuteBeds, "release", leaky)
    broken = run(model, attendances([]), direct=direct, stay=30.0)
    assert not bed_ledger(broken)["balanced"]


# --------------------------------------------------------------------------------------------
# Discharge
# --------------------------------------------------------------------------------------------


def test_review_and_discharge_window_hand_cases():
    assert next_review_time(0.0, 600) == 600.0
    assert next_review_time(600.0, 600) == 600.0
    assert next_review_time(601.0, 600) == DAY + 600
    assert next_discharge_time(500.0, 600, 1200) == 600.0
    assert next_discharge_time(700.0, 600, 1200) == 700.0
    assert next_discharge_time(1200.0, 600, 1200) == DAY + 600  # the close is exclusive


def test_a_patient_is_optimised_at_review_and_leaves_once_organised(real_data):
    model = hospital_model(
        real_data,
        {"assumptions.discharge.senior_review_minute": 600,
         "assumptions.discharge.open_minute": 600, "assumptions.discharge.close_minute": 1200},
    )  # fmt: skip
    # Admitted at 0; stay ends 02:00 day 2 -> review 10:00 day 2; organising 9 h -> 19:00.
    # The second: organising 11 h -> 21:00, after the window: leaves 10:00 day 3.
    direct = requests([0.0, 0.0])
    out = run(model, attendances([]), direct=direct, stay=DAY + 120, organise=[540.0, 660.0])
    a = out.admissions
    np.testing.assert_array_equal(a.optimised_time, [DAY + 600, DAY + 600])
    np.testing.assert_array_equal(a.leave_time, [DAY + 1140, 2 * DAY + 600])
    # Same-day stays are not reviewed and need no organising.
    out = run(model, attendances([]), direct=requests([0.0]), stay=300.0, same_day=True)
    assert out.admissions.optimised_time[0] == 300.0
    assert out.admissions.leave_time[0] == 600.0  # the window opens at 10:00


def test_delayed_discharge_waits_in_the_bed_for_a_place(real_data):
    model = hospital_model(real_data, {"site.social_care.places": 1})
    # Two need social care at 100 (stay 100 each from 0); one place, held 1,000 after
    # leaving: the first leaves at 100, the second waits in its bed until 1,100.
    out = run(model, attendances([]), direct=requests([0.0, 0.0]), stay=100.0,
              pathway=SOCIAL_CARE, place=1000.0)  # fmt: skip
    a = out.admissions
    np.testing.assert_array_equal(a.optimised_time, [100, 100])
    np.testing.assert_array_equal(a.place_time, [100, 1100])
    np.testing.assert_array_equal(a.leave_time, [100, 1100])
    edges = np.array([0.0, 1100.0])
    assert out.nctr_beds(edges)[0] == pytest.approx(1000 / 1100)
    np.testing.assert_array_equal(out.social_stays["end"], [1100, 2100])
    led = bed_ledger(out)
    assert led["balanced"] and led["to_social_care"] == 2


def test_pathway_shares_follow_the_configuration(real_data):
    model = configure(real_data).model
    rng = np.random.default_rng(SEED)
    n = 200_000
    age = np.full(n, AGE_BANDS.index("85+"))
    frailty = rng.integers(0, 4, n)
    key = rng.integers(0, 2**63, n, dtype=np.uint64)
    path = discharge_pathways(model, age, frailty, key)
    ic = model.assumptions.intermediate_care.step_down_share_of_admissions
    sc = model.assumptions.discharge.social_care_share_65plus
    for f, band in enumerate(FRAILTY_BANDS):
        sel = frailty == f
        p_ic = ic if f >= FRAILTY_BANDS.index("moderate") else 0.0
        probs = np.array([(1 - p_ic) * (1 - sc[band]), p_ic, (1 - p_ic) * sc[band]])
        assert_shares(np.bincount(path[sel], minlength=3), probs, f"pathway {band}")
    young = discharge_pathways(model, np.full(1000, 3), np.full(1000, -1), key[:1000])
    np.testing.assert_array_equal(young, HOME)


# --------------------------------------------------------------------------------------------
# Length of stay
# --------------------------------------------------------------------------------------------


def test_length_of_stay_by_age_and_frailty(real_data):
    model = configure(real_data).model
    adm = real_data["assumptions"]["admissions"]
    rng = np.random.default_rng(SEED)
    n = 400_000
    for band in ("45-64", "85+"):
        for f, frail in ((-1, "fit"), (3, "severe")):
            if band == "45-64" and f >= 0:
                continue
            minutes, same = length_of_stay_minutes(
                model, np.full(n, AGE_BANDS.index(band)), np.full(n, f), rng.random(n)
            )
            p0 = adm["same_day_share_by_age"][band]
            assert poisson_pvalue(int(same.sum()), n * p0) > ALPHA
            night = minutes[~same] / DAY
            mean = adm["length_of_stay_days_by_age"][band] * adm["frailty_stay_multiplier"][frail]
            median = mean * adm["stay_median_to_mean"]
            sigma = math.sqrt(2 * math.log(mean / median))
            assert (
                stats.kstest(night[:50_000], stats.lognorm(s=sigma, scale=median).cdf).pvalue
                > ALPHA
            )
            hours = minutes[same] / 60
            h = adm["same_day_hours"]
            s_h = math.sqrt(2 * math.log(h["mean"] / h["median"]))
            assert (
                stats.kstest(hours[:50_000], stats.lognorm(s=s_h, scale=h["median"]).cdf).pvalue
                > ALPHA
            )


# --------------------------------------------------------------------------------------------
# IC+: shared caseload, priority, step-up deadline
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "second"),
    [("first_come_first_served", "step_down"), ("step_up_first", "step_up"),
     ("step_down_first", "step_down")],
)  # fmt: skip
def test_ic_priority_rules(real_data, priority, second):
    """One place, held by a step-up from 0 to 1,000. A step-down asks at 100 (its stay ends),
    a step-up at 200. At 1,000 the place goes by the rule; the other waits (the step-up only
    until its 2-day limit, 200 + 2,880, after 1,000 + 1,000 = 2,000: so both start)."""
    model = hospital_model(
        real_data,
        {"site.intermediate_care.places": 1,
         "assumptions.intermediate_care.priority": priority},
    )  # fmt: skip
    out = run(model, attendances([]), direct=requests([0.0]), step_ups=requests([0.0, 200.0]),
              stay=100.0, pathway=STEP_DOWN, place=1000.0, step_up_stay=1000.0)  # fmt: skip
    ic = out.ic_stays
    kinds = zip(ic["kind"].tolist(), ic["index"].tolist(), strict=True)
    starts = dict(zip(kinds, ic["start"].tolist(), strict=True))
    down, up = starts[(1, 0)], starts[(STEP_UP, 1)]
    if second == "step_down":
        assert (down, up) == (1000.0, 2000.0)
    else:
        assert (up, down) == (1000.0, 2000.0)
    assert out.admissions.leave_time[0] == down  # the step-down leaves hospital then
    assert out.step_ups.started.all() and not out.step_ups.admitted_instead.any()


def test_a_step_up_with_no_place_in_time_is_admitted_at_its_deadline(real_data):
    model = hospital_model(real_data, {"site.intermediate_care.places": 0})
    out = run(model, attendances([]), step_ups=requests([100.0, 300.0]), stay=500.0)
    limit = real_data["assumptions"]["intermediate_care"]["step_up_max_wait_days"] * DAY
    np.testing.assert_array_equal(out.step_ups.admitted_instead, [True, True])
    np.testing.assert_array_equal(out.admissions.request_time, [100 + limit, 300 + limit])
    np.testing.assert_array_equal(out.admissions.bed_time, [100 + limit, 300 + limit])
    assert len(out.ic_stays["start"]) == 0


def test_ic_capacity_is_never_exceeded(real_data):
    model = hospital_model(real_data, {"site.intermediate_care.places": 5})
    rng = np.random.default_rng(SEED)
    up = requests(np.sort(rng.uniform(0, 30 * DAY, 120)))
    direct = requests(np.sort(rng.uniform(0, 30 * DAY, 120)))
    out = run(model, attendances([]), direct=direct, step_ups=up, stay=rng.exponential(DAY, 240),
              pathway=STEP_DOWN, place=rng.exponential(4 * DAY, 240),
              step_up_stay=rng.exponential(4 * DAY, 120), run_minutes=30 * DAY)  # fmt: skip
    s, e = out.ic_stays["start"], out.ic_stays["end"]
    events = np.concatenate([s, e])
    steps = np.concatenate([np.ones(len(s)), -np.ones(len(e))])
    order = np.lexsort((steps, events))
    assert np.cumsum(steps[order]).max() <= 5
    assert out.step_ups.admitted_instead.any() and out.step_ups.started.any()
    assert bed_ledger(out)["balanced"]


# --------------------------------------------------------------------------------------------
# Background admissions
# --------------------------------------------------------------------------------------------


def test_background_admissions_follow_their_rate(real_data):
    model = configure(real_data).model
    weeks = 52
    cal = Calendar(model.site.calendar_start, 7 * weeks, (0, 1, 2, 3, 4))
    time, stay = background_admissions(model, cal, Streams(SEED, 0))
    bg = real_data["assumptions"]["background_admissions"]
    per_week = real_data["site"]["acute_beds"]["background_admissions_per_week"]
    assert poisson_pvalue(len(time), per_week * weeks) > ALPHA
    by_day = np.bincount((time // DAY).astype(int) % 7, minlength=7)
    assert_shares(by_day, np.array(bg["weekday_share"]), "weekday")
    shut = np.array(bg["hour_share"]) == 0
    assert not shut[(time // 60).astype(int) % 24].any()
    s = bg["stay_days"]
    sigma = math.sqrt(2 * math.log(s["mean"] / s["median"]))
    assert stats.kstest(stay / DAY, stats.lognorm(s=sigma, scale=s["median"]).cdf).pvalue > ALPHA


def test_cancelled_background_admissions_take_no_bed(real_data):
    model = hospital_model(
        real_data,
        {"site.acute_beds.general_and_acute": 1,
         "assumptions.background_admissions.when_full": "cancel"},
    )  # fmt: skip
    out = run(model, attendances([]), background=[0.0, 10.0, 200.0], stay=100.0)
    a = out.admissions
    np.testing.assert_array_equal(a.cancelled, [False, True, False])
    np.testing.assert_array_equal(a.bed_time[[0, 2]], [0.0, 200.0])
    led = bed_ledger(out)
    assert led["balanced"] and led["cancelled"] == 1


# --------------------------------------------------------------------------------------------
# Common random numbers: capacity never changes the patients
# --------------------------------------------------------------------------------------------


def test_options_on_capacity_see_the_same_patients(real_data):
    """Common random numbers: capacity (beds, places, spaces, rotas) changes no drawn
    quantity of any patient; and more beds never lengthen the mean wait for one."""
    from sim.core.replication import make_calendar, run_replication
    from sim.services.hospital.model import draw_patients

    data = copy.deepcopy(real_data)
    base = configure(data).model
    data["site"]["acute_beds"]["general_and_acute"] += 40
    data["site"]["social_care"]["places"] += 30
    data["site"]["intermediate_care"]["places"] += 30
    data["site"]["emergency_department"]["majors_spaces"] += 5
    more = configure(data).model
    a = run_replication(base, SEED, 0, 1, 3, keep_detail=True).detail["inputs"].hospital
    b = run_replication(more, SEED, 0, 1, 3, keep_detail=True).detail["inputs"].hospital
    for name in a.attendances.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a.attendances, name), getattr(b.attendances, name))
    from sim.services.hospital.arrivals import HospitalArrivals, Requests

    arr = HospitalArrivals(a.attendances, Requests.empty(), Requests.empty())
    cal = make_calendar(base, 1, 3)
    da = draw_patients(arr, base, cal, Streams(SEED, 0))
    db = draw_patients(arr, more, cal, Streams(SEED, 0))
    for name in da.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(da, name), getattr(db, name), err_msg=name)
    wait_a = np.nanmean(a.ae.departure_time - a.ae.decision_time)
    wait_b = np.nanmean(b.ae.departure_time - b.ae.decision_time)
    assert wait_b <= wait_a
