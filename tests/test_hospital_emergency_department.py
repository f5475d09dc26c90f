"""A&E inside the coupled hospital: self-presenting arrivals, the clinician rota and its
end-of-shift rule, majors spaces and ambulance handover, exit block, leaving before being
seen, SDEC and admissions.

Expected values come from the configuration numbers or from queueing theory, never from the
module's own helpers. Hand-built cases give every duration in exact minutes
(:mod:`hospital_helpers`), so each expected minute can be written down.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
from conftest import ALPHA, SEED, assert_shares, configure, poisson_pvalue, practice_age_share
from hospital_helpers import DAY, ED, attendances, hospital_model, run
from scipy import stats

from sim.config.schema import AGE_BANDS, FRAILTY_BANDS, ConfigError
from sim.core.calendar import Calendar
from sim.core.distributions import lognormal_from_uniform
from sim.core.occupancy import RunningArea, occupancy_between
from sim.core.streams import Streams
from sim.services.hospital.admission import MAX_ADMISSION_PROBABILITY, admission_probability
from sim.services.hospital.arrivals import (
    SELF_PRESENTING,
    Attendances,
    HospitalArrivals,
    Requests,
    generate_self_presenting,
)
from sim.services.hospital.model import draw_patients, simulate_hospital

DAYS_PER_YEAR = 365.25
OLDER = AGE_BANDS.index("65-74")
MODERATE = FRAILTY_BANDS.index("moderate")
#: Two-sided normal quantile at the suite's significance level (about 3.29).
Z = float(stats.norm.isf(ALPHA / 2))


def flat_months(data):
    data["assumptions"]["ae"]["month_multiplier"] = [1.0] * 12
    return data


def self_presenting(run_cfg, weeks: int, seed: int = SEED):
    model = run_cfg.model
    cal = Calendar(model.site.calendar_start, 7 * weeks, (0, 1, 2, 3, 4))
    return generate_self_presenting(model, cal, Streams(seed, 0))


def annual_rates_by_band(data) -> np.ndarray:
    """Registered patients by age band x self-presenting rate per 1,000 / 1,000."""
    per_1000 = data["assumptions"]["ae"]["self_presenting_per_1000_year"]
    people = sum(
        p["list_size"] * practice_age_share(data, code)
        for code, p in data["site"]["practices"].items()
    )
    return people * np.array([per_1000[b] for b in AGE_BANDS]) / 1000


def lognormal_sigma(median: float, mean: float) -> float:
    return math.sqrt(2 * math.log(mean / median))


def as_hospital_arrivals(sp, model) -> HospitalArrivals:
    """Self-presenting patients only, as the hospital's arrivals."""
    from sim.services.hospital.arrivals import may_leave_before_seen

    n = len(sp)
    att = Attendances(
        time=sp.time,
        age_band=sp.age_band,
        frailty=sp.frailty,
        ambulance=sp.ambulance,
        majors=sp.majors,
        primary_care_treatable=sp.primary_care_treatable,
        may_leave=may_leave_before_seen(sp.age_band, sp.ambulance, np.zeros(n, bool), model),
        admit_probability=admission_probability(sp.age_band, sp.frailty, sp.ambulance, model),
        key=sp.key,
        source=np.full(n, SELF_PRESENTING, np.int8),
        episode=np.full(n, -1, np.int64),
        via=np.full(n, -1, np.int8),
    )
    return HospitalArrivals(att, Requests.empty(), Requests.empty())


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("median", "mean"), [(25.0, 32.0), (150.0, 210.0), (45.0, 60.0)])
def test_lognormal_from_uniform_has_the_configured_median_and_mean(median, mean):
    n = 1_000_000
    x = lognormal_from_uniform(np.random.default_rng(SEED).random(n), median, mean)
    sigma = lognormal_sigma(median, mean)
    # Sample median: asymptotic s.e. 1 / (2 f(median) sqrt(n)), f(median) = 1/(median sigma
    # sqrt(2 pi)); about 0.05% of the median here, so a 0.2% bias is detected.
    se_median = median * sigma * math.sqrt(2 * math.pi) / (2 * math.sqrt(n))
    assert abs(np.median(x) - median) < Z * se_median
    se_mean = mean * math.sqrt(math.expm1(sigma**2)) / math.sqrt(n)
    assert abs(x.mean() - mean) < Z * se_mean
    dist = stats.lognorm(s=sigma, scale=median)
    assert stats.kstest(x[:100_000], dist.cdf).pvalue > ALPHA


def test_lognormal_from_uniform_is_an_increasing_inverse_cdf():
    u = np.linspace(0.001, 0.999, 999)
    x = lognormal_from_uniform(u, 25, 32)
    np.testing.assert_allclose(x, stats.lognorm(s=lognormal_sigma(25, 32), scale=25).ppf(u))
    assert (np.diff(x) > 0).all()  # a larger draw is a longer time: CRN-friendly
    np.testing.assert_array_equal(lognormal_from_uniform([0.0, 0.3, 0.9], 30, 30), 30.0)
    with pytest.raises(ValueError):
        lognormal_from_uniform(0.5, 30, 20)  # mean below the median: no such lognormal


# --------------------------------------------------------------------------------------------
# Self-presenting arrivals
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("closed", [False, True])
def test_arrivals_per_hour_of_week_match_their_expectation(real_data, closed):
    data = flat_months(copy.deepcopy(real_data))
    ae = data["assumptions"]["ae"]
    if closed:  # zero 02:00-05:00 every day and all of Sunday, mass moved elsewhere
        hours, days = list(ae["hour_share"]), list(ae["weekday_share"])
        for h in (2, 3, 4):
            hours[10] += hours[h]
            hours[h] = 0.0
        days[5] += days[6]
        days[6] = 0.0
        ae["hour_share"], ae["weekday_share"] = hours, days
    weeks = 52
    sp = self_presenting(configure(data), weeks)
    how = np.outer(ae["weekday_share"], ae["hour_share"]).reshape(168)
    expected = annual_rates_by_band(data).sum() * 7 * weeks / DAYS_PER_YEAR * how
    observed = np.bincount((sp.time // 60).astype(int) % 168, minlength=168)
    shut = expected == 0
    assert shut.sum() == (6 * 3 + 24 if closed else 0)
    np.testing.assert_array_equal(observed[shut], 0)  # exactly none, not merely few
    open_ = ~shut
    pvalues = [
        poisson_pvalue(int(k), mu) for k, mu in zip(observed[open_], expected[open_], strict=True)
    ]
    assert min(pvalues) > ALPHA / open_.sum()
    chi2 = (((observed[open_] - expected[open_]) ** 2) / expected[open_]).sum()
    assert stats.chi2.sf(chi2, df=int(open_.sum())) > ALPHA
    assert (np.diff(sp.time) >= 0).all() and 0 <= sp.time.min()
    assert sp.time.max() < weeks * 7 * DAY


def test_month_multiplier_is_normalised_and_zero_months_are_empty(real_data):
    data = flat_months(copy.deepcopy(real_data))
    base = self_presenting(configure(data), 13)
    data["assumptions"]["ae"]["month_multiplier"] = [2.0] * 12
    np.testing.assert_array_equal(base.time, self_presenting(configure(data), 13).time)
    months = [1.0] * 12
    months[4] = 0.0  # May: days 24..54 of a run starting in April
    data["assumptions"]["ae"]["month_multiplier"] = months
    sp = self_presenting(configure(data), 13)
    may = Calendar(data["site"]["calendar_start"], 91, (0,)).month == 4
    assert may.any() and not may[(sp.time // DAY).astype(int)].any()
    assert len(sp) > 1000


@pytest.fixture(scope="module")
def year(real_data):
    """A year of self-presenting arrivals with the real configuration (flat months) and the
    frailty shares written in reverse key order (indices must follow FRAILTY_BANDS names)."""
    data = flat_months(copy.deepcopy(real_data))
    share = data["site"]["frailty_share_65plus"]
    data["site"]["frailty_share_65plus"] = {b: share[b] for b in reversed(FRAILTY_BANDS)}
    run_cfg = configure(data)
    return data, run_cfg.model, self_presenting(run_cfg, 52)


def test_self_presenting_annual_total(year):
    data, _, sp = year
    mu = annual_rates_by_band(data).sum() * 7 * 52 / DAYS_PER_YEAR
    assert poisson_pvalue(len(sp), mu) > ALPHA


def test_self_presenting_attributes(year):
    data, _, sp = year
    ae = data["assumptions"]["ae"]
    rates = annual_rates_by_band(data)
    assert_shares(np.bincount(sp.age_band, minlength=len(AGE_BANDS)), rates / rates.sum(), "age")
    older = sp.age_band >= OLDER
    np.testing.assert_array_equal(sp.frailty[~older], -1)
    # Attenders' frailty: the population's shares weighted by each band's attendance ratio.
    prevalence = np.array([data["site"]["frailty_share_65plus"][b] for b in FRAILTY_BANDS])
    ratio = np.array([ae["frailty_attendance_ratio"][b] for b in FRAILTY_BANDS])
    assert ratio.max() > ratio.min()  # the weighting really is exercised
    expected = prevalence * ratio / (prevalence * ratio).sum()
    assert_shares(np.bincount(sp.frailty[older], minlength=4), expected, "frailty 65+")
    amb = sp.ambulance
    q = ae["ambulance_share"]
    assert_shares(np.bincount(amb, minlength=2), np.array([1 - q, q]), "ambulance")
    assert sp.majors[amb].all()  # every ambulance arrival is a major
    q = ae["majors_share_walk_in"]
    assert_shares(np.bincount(sp.majors[~amb], minlength=2), np.array([1 - q, q]), "majors")
    assert not sp.primary_care_treatable[sp.majors].any()  # only walk-in minors
    q = ae["primary_care_treatable_share_walk_in"]
    treatable = sp.primary_care_treatable[~sp.majors]
    assert_shares(np.bincount(treatable, minlength=2), np.array([1 - q, q]), "treatable")
    assert len(np.unique(sp.key)) == len(sp)  # every patient has their own key


def test_attendance_rate_by_frailty_follows_the_ratios(year):
    """Attendances per person 65+ by eFI band, relative to the fit: the configured ratios."""
    data, _, sp = year
    older = sp.age_band >= OLDER
    counts = np.bincount(sp.frailty[older], minlength=4).astype(float)
    prevalence = np.array([data["site"]["frailty_share_65plus"][b] for b in FRAILTY_BANDS])
    per_person = counts / prevalence
    ratio = np.array(
        [data["assumptions"]["ae"]["frailty_attendance_ratio"][b] for b in FRAILTY_BANDS]
    )
    # Each band's count is Poisson-like: relative s.e. 1 / sqrt(count); compare log-ratios.
    for band in range(1, 4):
        observed = per_person[band] / per_person[0]
        se = math.sqrt(1 / counts[band] + 1 / counts[0])
        assert abs(math.log(observed / ratio[band])) < Z * se, FRAILTY_BANDS[band]


def test_same_seed_same_patients_whatever_the_hospital(real_data):
    data = copy.deepcopy(real_data)
    a = self_presenting(configure(data), 4)
    data["site"]["emergency_department"]["minors_clinicians_by_hour"] = [9] * 24
    data["site"]["acute_beds"]["general_and_acute"] = 900
    data["site"]["intermediate_care"]["places"] = 400
    b = self_presenting(configure(data), 4)
    for name in a.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    c = self_presenting(configure(data), 4, seed=SEED + 1)
    assert len(c.time) != len(a.time) or not np.array_equal(c.time, a.time)


def test_admission_probability_multiplies_and_caps(real_data):
    model = configure(real_data).model
    ae = real_data["assumptions"]["ae"]
    by_age, frail_mult = ae["admission_probability_by_age"], ae["frailty_admission_multiplier"]
    amb = ae["ambulance_admission_multiplier"]
    cases = [("25-44", -1, False), ("25-44", -1, True), ("75-84", 0, False), ("85+", 3, True),
             ("65-74", 2, False), ("0-4", -1, True)]  # fmt: skip
    age = np.array([AGE_BANDS.index(c[0]) for c in cases])
    frailty = np.array([c[1] for c in cases])
    ambulance = np.array([c[2] for c in cases])
    got = admission_probability(age, frailty, ambulance, model)
    for (band, f, a), p in zip(cases, got, strict=True):
        fm = frail_mult["fit" if f < 0 else FRAILTY_BANDS[f]]
        want = min(MAX_ADMISSION_PROBABILITY, by_age[band] * fm * (amb if a else 1.0))
        assert p == pytest.approx(want), (band, f, a)
    assert MAX_ADMISSION_PROBABILITY == 0.95


# --------------------------------------------------------------------------------------------
# The rota: queues and the end of shift
# --------------------------------------------------------------------------------------------


def test_finish_the_current_patient_at_shift_end(real_data):
    # One minors clinician, on duty only in hour 0 (00:00-01:00) every day.
    model = hospital_model(real_data, {f"{ED}.minors_clinicians_by_hour": [1] + [0] * 23})
    out = run(model, attendances([50.0, 55.0, 65.0, 1500.0]), service=30.0, after=10.0).ae
    # Seen at 50, finishes at 80 (20 minutes past the shift's end), leaves after 10 more.
    assert out.seen_time[0] == 50.0 and out.departure_time[0] == 90.0
    # Arrived at 55 while the clinician was busy: not started at 80 (off duty by then) but
    # at the next shift, 00:00 the next day; the next in the queue follows at 00:30.
    assert out.seen_time[1] == DAY and out.departure_time[1] == DAY + 40.0
    assert out.seen_time[2] == DAY + 30.0
    assert out.seen_time[3] == 2 * DAY  # busy until 01:00 the next day, then off
    np.testing.assert_array_equal(out.clinician, 0)


def test_no_new_patient_at_the_exact_minute_a_shift_ends(real_data):
    model = hospital_model(real_data, {f"{ED}.minors_clinicians_by_hour": [1] + [0] * 23})
    out = run(model, attendances([30.0, 31.0, 60.0])).ae
    np.testing.assert_array_equal(out.seen_time, [30.0, DAY, DAY + 30.0])
    out = run(model, attendances([60.0])).ae  # an idle clinician also stops at the end
    assert out.seen_time[0] == DAY


def test_an_arrival_at_the_minute_a_shift_ends_goes_to_a_clinician_still_on_duty(real_data):
    model = hospital_model(real_data, {f"{ED}.minors_clinicians_by_hour": [2] + [1] * 23})
    out = run(model, attendances([0.0, 60.0])).ae
    np.testing.assert_array_equal(out.seen_time, [0.0, 60.0])
    np.testing.assert_array_equal(out.clinician, [0, 0])


def test_an_overnight_shift_runs_across_midnight(real_data):
    rota = [1, 1] + [0] * 20 + [1, 1]
    model = hospital_model(real_data, {f"{ED}.minors_clinicians_by_hour": rota})
    out = run(model, attendances([23 * 60 + 50, 23 * 60 + 55])).ae
    np.testing.assert_array_equal(out.seen_time, [23 * 60 + 50, DAY + 20])


def _check_schedule(time, majors, service, out, rotas):
    """FIFO per stream; each position treats one patient at a time and starts only on duty;
    no patient waits while a position of their stream is on duty and idle."""
    for stream, rota in enumerate(rotas):
        sel = np.flatnonzero(majors == bool(stream))
        order = sel[np.argsort(time[sel], kind="stable")]
        assert (np.diff(out.seen_time[order]) >= 0).all(), "FIFO"
        busy = {}
        for k in range(max(rota)):
            mine = order[out.clinician[order] == k]
            start, end = out.seen_time[mine], out.seen_time[mine] + service[mine]
            assert (start[1:] >= end[:-1] - 1e-9).all(), f"position {k} double-booked"
            hours = (start // 60).astype(int) % 24
            assert all(k < rota[h] for h in hours), f"position {k} started off duty"
            busy[k] = list(zip(start, end, strict=True))
        for j in order:
            a, s = time[j], out.seen_time[j]
            if s <= a:
                continue
            for k, intervals in busy.items():
                for h in range(int(a // 60), int(math.ceil(s / 60))):
                    if k >= rota[h % 24]:
                        continue
                    lo, hi = max(a, h * 60.0), min(s, (h + 1) * 60.0)
                    for b0, b1 in sorted(intervals):
                        if b0 <= lo + 1e-9 < b1:
                            lo = b1
                    assert lo >= hi - 1e-9, f"patient {j} waited while position {k} was idle"


@pytest.mark.parametrize("case", range(6))
def test_random_rotas_give_a_valid_schedule(real_data, case):
    rng = np.random.default_rng([SEED, case])
    rotas = [rng.integers(0, 4, 24).tolist(), rng.integers(0, 4, 24).tolist()]
    rotas = [[max(1, r[0])] + r[1:] for r in rotas]
    model = hospital_model(
        real_data,
        {f"{ED}.minors_clinicians_by_hour": rotas[0], f"{ED}.majors_clinicians_by_hour": rotas[1]},
    )
    n = (120, 250, 400)[case % 3]  # from light load (idle clinicians) to heavy queues
    time = np.sort(rng.integers(0, 3 * DAY, n)).astype(float)  # whole minutes: real ties
    majors = rng.random(n) < 0.5
    service = np.round(rng.uniform(10, 60, n) / 10) * 10  # coarse: equal durations, more ties
    out = run(model, attendances(time, majors=majors), service=service).ae
    _check_schedule(time, majors, service, out, rotas)


def test_nobody_is_seen_in_hours_without_clinicians(real_data):
    minors = [0] * 8 + [3] * 16
    majors = [2, 2] + [0] * 4 + [3] * 18
    model = hospital_model(
        real_data,
        {f"{ED}.minors_clinicians_by_hour": minors, f"{ED}.majors_clinicians_by_hour": majors},
    )
    rng = np.random.default_rng(SEED)
    time = np.sort(rng.uniform(0, 7 * DAY, 2000))
    is_major = rng.random(2000) < 0.4
    out = run(model, attendances(time, majors=is_major), run_minutes=7 * DAY).ae
    hour = (out.seen_time // 60).astype(int) % 24
    assert not np.isin(hour[~is_major], range(0, 8)).any()
    assert not np.isin(hour[is_major], range(2, 6)).any()
    night = ~is_major & ((time // 60).astype(int) % 24 < 8)
    assert night.sum() > 100
    assert (out.seen_time[night] >= (time[night] // DAY) * DAY + 8 * 60).all()


def test_ample_clinicians_mean_no_wait_and_stays_are_the_drawn_times(real_data):
    model = hospital_model(
        real_data,
        {
            f"{ED}.minors_clinicians_by_hour": [60] * 24,
            f"{ED}.majors_clinicians_by_hour": [60] * 24,
        },
    )
    rng = np.random.default_rng(SEED)
    time = np.sort(rng.uniform(0, 2 * DAY, 500))
    service, after = rng.uniform(5, 90, 500), rng.uniform(5, 200, 500)
    majors = rng.random(500) < 0.5
    out = run(model, attendances(time, majors=majors), service=service, after=after).ae
    np.testing.assert_array_equal(out.seen_time, time)
    np.testing.assert_allclose(out.departure_time - time, service + after, rtol=1e-9)


def test_a_stream_with_patients_and_no_clinicians_is_a_config_error(real_data):
    # Validation refuses an empty rota (tests/test_bad_inputs.py); the department refuses one
    # too, should a model reach it some other way.
    with pytest.raises(ConfigError, match="patients reach majors: they would never be seen"):
        hospital_model(real_data, {f"{ED}.majors_clinicians_by_hour": [0] * 24})
    model = hospital_model(real_data)
    empty = dataclasses.replace(model.site.emergency_department, majors_clinicians_by_hour=[0] * 24)
    model = dataclasses.replace(
        model, site=dataclasses.replace(model.site, emergency_department=empty)
    )
    with pytest.raises(ConfigError, match="majors_clinicians_by_hour"):
        run(model, attendances([10.0], majors=[True]))
    assert run(model, attendances([10.0])).ae.seen_time[0] == 10.0  # no majors: fine
    model = hospital_model(real_data, {f"{ED}.majors_spaces": 0})
    with pytest.raises(ConfigError, match="majors_spaces"):
        run(model, attendances([10.0], majors=[True]))


def test_no_arrivals_nothing_happens(real_data):
    out = run(hospital_model(real_data), attendances([]), run_minutes=2 * DAY)
    assert len(out.ae.seen_time) == 0 and len(out.admissions) == 0
    np.testing.assert_array_equal(out.ae_hourly_occupancy(), np.zeros(48))


# --------------------------------------------------------------------------------------------
# Majors spaces, handover, exit block, leaving before being seen, SDEC
# --------------------------------------------------------------------------------------------


def test_ambulances_take_the_next_space_before_walk_ins_and_the_crew_waits(real_data):
    model = hospital_model(real_data, {f"{ED}.majors_spaces": 1})
    # One space. Walk-in at 0 (treated 0-30, 10 min after: leaves at 40); a walk-in at 5 and
    # an ambulance at 10 both wait; the ambulance gets the space at 40, the walk-in at 80.
    att = attendances([0.0, 5.0, 10.0], majors=True, ambulance=[False, False, True])
    out = run(model, att, service=30.0, after=10.0, handover=12.0).ae
    np.testing.assert_array_equal(out.space_time, [0.0, 80.0, 40.0])
    np.testing.assert_array_equal(out.departure_time, [40.0, 120.0, 80.0])
    # Handover: waiting for the space (30 minutes) + the clinical handover (12).
    assert out.handover_minutes[2] == 42.0
    assert np.isnan(out.handover_minutes[:2]).all()


def test_exit_block_a_boarder_keeps_their_space_until_a_bed_frees(real_data):
    model = hospital_model(
        real_data, {f"{ED}.majors_spaces": 1, "site.acute_beds.general_and_acute": 1}
    )
    # Patient 0 admitted at 0+30+10 = 40 takes the only bed for 500 minutes (to 540).
    # Patient 1 (majors, admitted) seen at 40, decided at 80, boards in the space until 540;
    # patient 2 (majors, home) cannot get the space until then: seen at 540, leaves at 580.
    att = attendances([0.0, 1.0, 2.0], majors=True)
    out = run(model, att, admitted=[True, True, False], stay=500.0)
    ae, beds = out.ae, out.admissions
    np.testing.assert_array_equal(ae.decision_time[:2], [40.0, 80.0])
    np.testing.assert_array_equal(ae.departure_time, [40.0, 540.0, 580.0])
    np.testing.assert_array_equal(ae.space_time, [0.0, 40.0, 540.0])
    np.testing.assert_array_equal(beds.bed_time, [40.0, 540.0])
    np.testing.assert_array_equal(beds.leave_time, [540.0, 1040.0])


def test_walk_ins_leave_unseen_only_while_waiting(real_data):
    model = hospital_model(
        real_data,
        {
            f"{ED}.minors_clinicians_by_hour": [1] * 24,
            f"{ED}.majors_clinicians_by_hour": [1] * 24,
            f"{ED}.majors_spaces": 1,
        },
    )
    # Minors: 0 seen at once (0-100); 1 would be seen at 100 but leaves at 50; 2 waits until
    # 150 and is seen at 100. Majors: 3 takes the space (0-100 treated, leaves 110); 4 leaves
    # the waiting room at 60; 5 gets the space at 110 (patience to 200) and, in a cubicle,
    # never leaves though treatment starts at 110 and ends after 200.
    att = attendances([0.0, 1.0, 2.0, 0.0, 1.0, 2.0], majors=[0, 0, 0, 1, 1, 1])
    leave_by = [np.inf, 50.0, 150.0, np.inf, 60.0, 200.0]
    out = run(model, att, service=100.0, after=10.0, leave_by=leave_by).ae
    np.testing.assert_array_equal(out.left_unseen, [0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(out.departure_time[[1, 4]], [50.0, 60.0])
    assert out.seen_time[2] == 100.0 and np.isnan(out.seen_time[[1, 4]]).all()
    assert out.space_time[5] == 110.0 and out.departure_time[5] == 220.0


def test_sdec_takes_same_day_admissions_while_open_with_space(real_data):
    sdec = {"spaces": 1, "open_minute": 480, "close_minute": 1200, "weekdays": ["mon"],
            "running_cost_per_hour_gbp": 0}  # fmt: skip
    model = hospital_model(real_data, {f"{ED}.sdec": sdec})
    # Decisions (arrival + 30 + 10) at 09:40 (SDEC free: taken, busy to 11:40), 09:50 (full:
    # a bed), 12:40 (free again: taken), 21:40 (closed: a bed); 09:40 Tuesday (closed day).
    base = 9 * 60
    times = [base, base + 10, base + 180, base + 720, DAY + base]
    att = attendances(times)
    out = run(model, att, admitted=True, same_day=True, sdec=120.0, stay=60.0)
    np.testing.assert_array_equal(out.ae.sdec, [1, 0, 1, 0, 0])
    # SDEC patients leave A&E at the decision; the others leave for a bed at once.
    np.testing.assert_array_equal(out.ae.departure_time, np.array(times) + 40.0)
    assert len(out.admissions) == 3  # only those not taken by SDEC asked for a bed
    np.testing.assert_array_equal(out.sdec_stays["end"] - out.sdec_stays["start"], 120.0)


# --------------------------------------------------------------------------------------------
# Drawn quantities: admissions (the frailty front of house: test_hospital_frailty_team.py)
# --------------------------------------------------------------------------------------------


def _draws(model, sp):
    cal = Calendar(model.site.calendar_start, 52 * 7, (0, 1, 2, 3, 4))
    arr = as_hospital_arrivals(sp, model)
    return arr, draw_patients(arr, model, cal, Streams(SEED, 0))


def test_admissions_match_their_probabilities(year):
    _, model, sp = year
    arr, draws = _draws(model, sp)
    assert not draws.front_of_house.any()  # disabled in the baseline
    # The team changes nobody's admission draw: it turns patients round in the simulation.
    p = arr.attendances.admit_probability
    for what, sel in [("all", slice(None)), ("65+", sp.age_band >= OLDER),
                      ("ambulance", sp.ambulance), ("under 65", sp.age_band < OLDER)]:  # fmt: skip
        k, mu = draws.admitted[sel].sum(), p[sel].sum()
        sd = math.sqrt((p[sel] * (1 - p[sel])).sum())
        assert abs(k - mu) < Z * sd, f"{what}: {k} admitted, expected {mu:.0f} +/- {sd:.0f}"


def test_deterministic_and_input_order_free(year):
    _, model, sp = year
    cal = Calendar(model.site.calendar_start, 28, (0, 1, 2, 3, 4))
    short = as_hospital_arrivals(sp, model)
    keep = short.attendances.time < 28 * DAY
    att = Attendances(**{k: v[keep] for k, v in short.attendances.__dict__.items()})
    arr = HospitalArrivals(att, Requests.empty(), Requests.empty())
    a = simulate_hospital(arr, model, cal, Streams(SEED, 0))
    b = simulate_hospital(arr, model, cal, Streams(SEED, 0))
    for name in a.ae.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a.ae, name), getattr(b.ae, name), err_msg=name)
    perm = np.random.default_rng(SEED).permutation(len(att))
    shuffled = Attendances(**{k: v[perm] for k, v in att.__dict__.items()})
    c = simulate_hospital(
        HospitalArrivals(shuffled, Requests.empty(), Requests.empty()), model, cal, Streams(SEED, 0)
    )
    np.testing.assert_array_equal(c.ae.seen_time, a.ae.seen_time[perm])
    np.testing.assert_array_equal(c.ae.departure_time, a.ae.departure_time[perm])


# --------------------------------------------------------------------------------------------
# Occupancy and queueing theory
# --------------------------------------------------------------------------------------------


def test_hourly_occupancy_is_the_time_weighted_mean(real_data):
    model = hospital_model(real_data)
    rng = np.random.default_rng(SEED)
    time = np.sort(rng.uniform(0, 5 * DAY, 3000))
    out = run(model, attendances(time), service=rng.uniform(5, 60, 3000), run_minutes=5 * DAY)
    occ = out.ae_hourly_occupancy()
    assert occ.shape == (5 * 24,)
    a, d = time, out.ae.departure_time
    for h in rng.choice(len(occ), 40, replace=False):
        lo, hi = h * 60.0, (h + 1) * 60.0
        overlap = np.clip(np.minimum(d, hi) - np.maximum(a, lo), 0, None).sum() / 60
        assert occ[h] == pytest.approx(overlap, abs=1e-6)
    # Hand case: present 30 minutes of hour 0 and all of hour 1; one never leaving.
    np.testing.assert_allclose(
        occupancy_between(np.array([30.0]), np.array([120.0]), np.arange(4) * 60.0),
        [0.5, 1.0, 0.0],
    )
    np.testing.assert_allclose(
        occupancy_between(np.array([0.0]), np.array([np.inf]), np.arange(3) * 60.0), [1, 1]
    )


def test_single_clinician_matches_pollaczek_khinchine(real_data):
    # M/G/1: Poisson arrivals, one clinician always on duty, lognormal service. Mean wait
    # Wq = lambda E[S^2] / (2 (1 - rho)), E[S^2] = mean^2 exp(sigma^2) = mean^4 / median^2.
    median, mean, rho = 25.0, 32.0, 0.7
    lam = rho / mean
    wq = lam * mean**4 / median**2 / (2 * (1 - rho))
    model = hospital_model(real_data, {f"{ED}.minors_clinicians_by_hour": [1] * 24})
    rng = np.random.default_rng(SEED)
    n = 200_000
    time = np.cumsum(rng.exponential(1 / lam, n))
    service = lognormal_from_uniform(rng.random(n), median, mean)
    out = run(model, attendances(time), service=service, run_minutes=time[-1]).ae
    wait = out.seen_time - time
    batches = wait[10_000:].reshape(19, -1).mean(axis=1)
    half = stats.t.isf(ALPHA / 2, df=18) * batches.std(ddof=1) / math.sqrt(19)
    assert abs(batches.mean() - wq) < half, f"mean wait {batches.mean():.1f} vs P-K {wq:.1f}"
    assert half < 0.1 * wq


def test_a_running_area_is_the_integral_of_its_count():
    """The integral a model keeps as its count changes (the census Little's law reads) equals
    the integral of the same stays computed from their times afterwards."""
    rng = np.random.default_rng(SEED)
    start = rng.uniform(0, 1000, 400)
    end = start + rng.exponential(50, 400)
    events = sorted([(t, +1) for t in start] + [(t, -1) for t in end])
    area, count = RunningArea(), 0
    for t, change in events:
        area.step(count, t)
        count += change
    at = 800.0
    expected = occupancy_between(start, end, np.array([0.0, at]))[0] * at
    # read after every stay has ended: all the stays' time
    assert count == 0
    assert area.at(count, 2000.0) == pytest.approx(float(np.sum(end - start)), rel=1e-12)
    # read between changes: the integral so far plus the count since the last change
    partial, n = RunningArea(), 0
    for t, change in (e for e in events if e[0] <= at):
        partial.step(n, t)
        n += change
    assert partial.at(n, at) == pytest.approx(expected, rel=1e-12)
