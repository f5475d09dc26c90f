"""A&E: self-presenting arrivals, the clinician rota and its end-of-shift rule, admissions.

Expected values come from the configuration numbers (list sizes, age mixes, rates, shares) or
from queueing theory, never from the module's own helper functions. Hand-built cases use
durations with median == mean (a lognormal of zero spread: exactly the median) so every
expected minute can be written down.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
from conftest import ALPHA, SEED, assert_shares, configure, poisson_pvalue, practice_age_share
from scipy import stats

from sim.config.schema import AGE_BANDS, FRAILTY_BANDS, ConfigError
from sim.core.calendar import Calendar
from sim.core.streams import Streams
from sim.services.emergency_department import (
    MAX_ADMISSION_PROBABILITY,
    AEArrivals,
    admission_probability,
    generate_self_presenting,
    hourly_occupancy,
    lognormal_from_uniform,
    self_presenting_arrivals,
    simulate_emergency_department,
)

DAY = 1440
DAYS_PER_YEAR = 365.25
OLDER = AGE_BANDS.index("65-74")
MODERATE = FRAILTY_BANDS.index("moderate")
ED = "site.emergency_department"
#: Two-sided normal quantile at the suite's significance level (about 3.29).
Z = float(stats.norm.isf(ALPHA / 2))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def fixed(minutes: float) -> dict[str, float]:
    """A duration of exactly ``minutes`` (lognormal with median == mean)."""
    return {"median": minutes, "mean": minutes}


def flat_months(data):
    data["assumptions"]["ae"]["month_multiplier"] = [1.0] * 12
    return data


def self_presenting(run_cfg, weeks: int, seed: int = SEED):
    model = run_cfg.model
    cal = Calendar(model.site.calendar_start, 7 * weeks, (0, 1, 2, 3, 4))
    return generate_self_presenting(model, cal, Streams(seed, 0))


def arrivals(time, majors=None, frail=None, p=None, u_service=None, u_after=None, u_admit=None):
    """Hand-built attendances; uniforms default to 0.5 (the median duration)."""
    time = np.asarray(time, dtype=float)
    n = len(time)

    def arr(x, default, dtype=float):
        return np.full(n, default, dtype=dtype) if x is None else np.asarray(x, dtype=dtype)

    return AEArrivals(
        time=time,
        majors=arr(majors, False, bool),
        frail=arr(frail, False, bool),
        admit_probability=arr(p, 0.0),
        u_service=arr(u_service, 0.5),
        u_after=arr(u_after, 0.5),
        u_admit=arr(u_admit, 0.5),
    )


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


def tiny_department(data, minors_rota, service=30.0, after=10.0):
    """Only a minors stream matters; majors rota arbitrary (no majors patients)."""
    return configure(
        data,
        {
            f"{ED}.minors_clinicians_by_hour": minors_rota,
            f"{ED}.majors_clinicians_by_hour": [1] * 24,
            "assumptions.ae.service_minutes": {"minors": fixed(service), "majors": fixed(service)},
            "assumptions.ae.after_treatment_minutes": {
                "discharged": fixed(after),
                "admitted": fixed(after),
            },
        },
    ).model


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
    # Sample mean: s.e. = sd / sqrt(n), sd = mean sqrt(exp(sigma^2) - 1).
    se_mean = mean * math.sqrt(math.expm1(sigma**2)) / math.sqrt(n)
    assert abs(x.mean() - mean) < Z * se_mean
    # And the whole distribution: Kolmogorov-Smirnov against scipy's lognormal.
    dist = stats.lognorm(s=sigma, scale=median)
    assert stats.kstest(x[:100_000], dist.cdf).pvalue > ALPHA


def test_lognormal_from_uniform_is_an_increasing_inverse_cdf():
    u = np.linspace(0.001, 0.999, 999)
    x = lognormal_from_uniform(u, 25, 32)
    np.testing.assert_allclose(x, stats.lognorm(s=lognormal_sigma(25, 32), scale=25).ppf(u))
    assert (np.diff(x) > 0).all()  # a larger draw is a longer time: CRN-friendly
    assert lognormal_from_uniform(0.5, 25, 32) == pytest.approx(25)
    # Zero spread: every patient takes exactly the median, even at u = 0.
    np.testing.assert_array_equal(lognormal_from_uniform([0.0, 0.3, 0.9], 30, 30), 30.0)
    with pytest.raises(ValueError):
        lognormal_from_uniform(0.5, 30, 20)  # mean below the median: no such lognormal


# --------------------------------------------------------------------------------------------
# Self-presenting arrivals
# --------------------------------------------------------------------------------------------


def close_some_hours(data):
    """Zero 02:00-05:00 every day and all of Sunday, mass moved elsewhere (shares sum to 1)."""
    ae = data["assumptions"]["ae"]
    hours = list(ae["hour_share"])
    for h in (2, 3, 4):
        hours[10] += hours[h]
        hours[h] = 0.0
    days = list(ae["weekday_share"])
    days[5] += days[6]
    days[6] = 0.0
    ae["hour_share"], ae["weekday_share"] = hours, days
    return data


@pytest.mark.parametrize("profile", ["configured", "with_closed_hours"])
def test_arrivals_per_hour_of_week_match_their_expectation(real_data, profile):
    data = flat_months(copy.deepcopy(real_data))
    if profile == "with_closed_hours":
        data = close_some_hours(data)
    weeks = 52
    sp = self_presenting(configure(data), weeks)
    ae = data["assumptions"]["ae"]
    how = np.outer(ae["weekday_share"], ae["hour_share"]).reshape(168)
    expected = annual_rates_by_band(data).sum() * 7 * weeks / DAYS_PER_YEAR * how
    observed = np.bincount((sp.time // 60).astype(int) % 168, minlength=168)

    closed = expected == 0
    if profile == "with_closed_hours":
        assert closed.sum() == 6 * 3 + 24
    np.testing.assert_array_equal(observed[closed], 0)  # exactly none, not merely few
    open_ = ~closed
    # Exact Poisson test per open hour (Bonferroni) and a joint chi-square; the smallest
    # expected count is ~100, so a 15% bias in any one hour or a few % overall is detected.
    pvalues = [
        poisson_pvalue(int(k), mu) for k, mu in zip(observed[open_], expected[open_], strict=True)
    ]
    assert min(pvalues) > ALPHA / open_.sum()
    chi2 = (((observed[open_] - expected[open_]) ** 2) / expected[open_]).sum()
    assert stats.chi2.sf(chi2, df=int(open_.sum())) > ALPHA
    assert (np.diff(sp.time) >= 0).all() and sp.time.min() >= 0
    assert sp.time.max() < weeks * 7 * DAY


def test_month_multiplier_is_normalised_and_zero_months_are_empty(real_data):
    data = flat_months(copy.deepcopy(real_data))
    base = self_presenting(configure(data), 13)
    # Multipliers are normalised to mean 1: doubling them all changes nothing at all.
    data["assumptions"]["ae"]["month_multiplier"] = [2.0] * 12
    doubled = self_presenting(configure(data), 13)
    np.testing.assert_array_equal(base.time, doubled.time)
    # A zero month has no arrivals (calendar starts in April: May is days 24..54).
    months = [1.0] * 12
    months[4] = 0.0
    data["assumptions"]["ae"]["month_multiplier"] = months
    sp = self_presenting(configure(data), 13)
    cal = Calendar(data["site"]["calendar_start"], 91, (0,))
    may = cal.month == 4
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
    share = data["site"]["frailty_share_65plus"]
    assert_shares(
        np.bincount(sp.frailty[older], minlength=4),
        np.array([share[b] for b in FRAILTY_BANDS]),
        "frailty 65+",
    )

    amb = sp.ambulance
    assert_shares(
        np.bincount(amb, minlength=2),
        np.array([1 - ae["ambulance_share"], ae["ambulance_share"]]),
        "ambulance",
    )
    assert sp.majors[amb].all()  # every ambulance arrival is a major
    walk_in_majors = sp.majors[~amb]
    assert_shares(
        np.bincount(walk_in_majors, minlength=2),
        np.array([1 - ae["majors_share_walk_in"], ae["majors_share_walk_in"]]),
        "walk-in majors",
    )
    assert not sp.primary_care_treatable[sp.majors].any()  # only walk-in minors
    treatable = sp.primary_care_treatable[~sp.majors]
    q = ae["primary_care_treatable_share_walk_in"]
    assert_shares(np.bincount(treatable, minlength=2), np.array([1 - q, q]), "treatable")


def test_uniforms_are_uniform_and_independent(year):
    _, _, sp = year
    names = ["u_service", "u_after", "u_admit"]
    for name in names:
        assert stats.kstest(getattr(sp, name), "uniform").pvalue > ALPHA / len(names), name
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            r = np.corrcoef(getattr(sp, a), getattr(sp, b))[0, 1]
            assert abs(r) < 4 / math.sqrt(len(sp)), (a, b)  # > 4 s.e. for independent draws


def test_same_seed_same_patients_whatever_the_department(real_data):
    data = copy.deepcopy(real_data)
    a = self_presenting(configure(data), 4)
    data["site"]["emergency_department"]["minors_clinicians_by_hour"] = [9] * 24
    data["assumptions"]["ae"]["service_minutes"]["minors"] = fixed(5)
    b = self_presenting(configure(data), 4)
    for name in a.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    c = self_presenting(configure(data), 4, seed=SEED + 1)
    assert len(c.time) != len(a.time) or not np.array_equal(c.time, a.time)


# --------------------------------------------------------------------------------------------
# Admission probability
# --------------------------------------------------------------------------------------------


def test_admission_probability_multiplies_and_caps(real_data):
    model = configure(real_data).model
    ae = real_data["assumptions"]["ae"]
    by_age, frail_mult = ae["admission_probability_by_age"], ae["frailty_admission_multiplier"]
    amb = ae["ambulance_admission_multiplier"]
    cases = [
        ("25-44", -1, False),
        ("25-44", -1, True),
        ("75-84", 0, False),
        ("85+", 3, True),
        ("65-74", 2, False),
        ("0-4", -1, True),
    ]
    age = np.array([AGE_BANDS.index(c[0]) for c in cases])
    frailty = np.array([c[1] for c in cases])
    ambulance = np.array([c[2] for c in cases])
    got = admission_probability(age, frailty, ambulance, model)
    for (band, f, a), p in zip(cases, got, strict=True):
        fm = frail_mult["fit" if f < 0 else FRAILTY_BANDS[f]]
        want = min(MAX_ADMISSION_PROBABILITY, by_age[band] * fm * (amb if a else 1.0))
        assert p == pytest.approx(want), (band, f, a)
    assert got.max() <= MAX_ADMISSION_PROBABILITY
    assert MAX_ADMISSION_PROBABILITY == 0.95


# --------------------------------------------------------------------------------------------
# The department: rota, queues, end of shift
# --------------------------------------------------------------------------------------------


def test_finish_the_current_patient_at_shift_end(real_data):
    # One minors clinician, on duty only in hour 0 (00:00-01:00) every day.
    model = tiny_department(real_data, [1] + [0] * 23, service=30.0, after=10.0)
    arr = arrivals([50.0, 55.0, 65.0, 1500.0])
    out = simulate_emergency_department(arr, model, run_minutes=3 * DAY)
    # Seen at 50, finishes at 80 (20 minutes past the shift's end), leaves after 10 more.
    assert out.seen_time[0] == 50.0 and out.departure_time[0] == 90.0
    # Arrived at 55 while the clinician was busy: not started at 80 (off duty by then) but
    # at the next shift, 00:00 the next day; the next in the queue follows at 00:30.
    assert out.seen_time[1] == DAY and out.departure_time[1] == DAY + 40.0
    assert out.seen_time[2] == DAY + 30.0
    # The clinician is busy until 01:00 the next day, then off: 1500 waits for day 3.
    assert out.seen_time[3] == 2 * DAY
    np.testing.assert_array_equal(out.clinician, 0)


def test_no_new_patient_at_the_exact_minute_a_shift_ends(real_data):
    # Finishing exactly at the end of the shift (01:00) is off duty: not another start.
    model = tiny_department(real_data, [1] + [0] * 23, service=30.0)
    out = simulate_emergency_department(arrivals([30.0, 31.0, 60.0]), model, run_minutes=DAY)
    np.testing.assert_array_equal(out.seen_time, [30.0, DAY, DAY + 30.0])
    # An idle clinician also stops at the shift's end: an arrival at 01:00 waits.
    out = simulate_emergency_department(arrivals([60.0]), model, run_minutes=DAY)
    assert out.seen_time[0] == DAY


def test_an_arrival_at_the_minute_a_shift_ends_goes_to_a_clinician_still_on_duty(real_data):
    # Position 0 always on duty, position 1 only 00:00-01:00. Both are idle at 01:00, when
    # a patient arrives; position 1 (idle longest) goes off duty, so position 0 must see them.
    model = tiny_department(real_data, [2] + [1] * 23, service=30.0)
    out = simulate_emergency_department(arrivals([0.0, 60.0]), model, run_minutes=DAY)
    np.testing.assert_array_equal(out.seen_time, [0.0, 60.0])
    np.testing.assert_array_equal(out.clinician, [0, 0])


def test_an_overnight_shift_runs_across_midnight(real_data):
    # On 22:00-02:00: a patient at 23:50 needing 30 minutes is followed at 00:20 by the next.
    rota = [1, 1] + [0] * 20 + [1, 1]
    model = tiny_department(real_data, rota, service=30.0)
    out = simulate_emergency_department(arrivals([23 * 60 + 50, 23 * 60 + 55]), model, DAY)
    np.testing.assert_array_equal(out.seen_time, [23 * 60 + 50, DAY + 20])


def test_nobody_is_seen_in_hours_without_clinicians(real_data):
    data = copy.deepcopy(real_data)
    minors = list(data["site"]["emergency_department"]["minors_clinicians_by_hour"])
    majors = list(data["site"]["emergency_department"]["majors_clinicians_by_hour"])
    closed_minors, closed_majors = range(0, 8), range(2, 6)
    for h in closed_minors:
        minors[h] = 0
    for h in closed_majors:
        majors[h] = 0
    run_cfg = configure(
        data, {f"{ED}.minors_clinicians_by_hour": minors, f"{ED}.majors_clinicians_by_hour": majors}
    )
    sp = self_presenting(run_cfg, 4)
    out = simulate_emergency_department(
        self_presenting_arrivals(sp, run_cfg.model), run_cfg.model, 4 * 7 * DAY
    )
    hour = (out.seen_time // 60).astype(int) % 24
    assert not np.isin(hour[~sp.majors], closed_minors).any()
    assert not np.isin(hour[sp.majors], closed_majors).any()
    # Those arriving in closed hours are seen once the rota reopens (at 08:00 for minors).
    night = ~sp.majors & np.isin((sp.time // 60).astype(int) % 24, closed_minors)
    assert night.sum() > 100
    assert (out.seen_time[night] >= (sp.time[night] // DAY) * DAY + 8 * 60).all()


def test_fifo_within_each_stream(year):
    _, model, sp = year
    arr = self_presenting_arrivals(sp, model)
    out = simulate_emergency_department(arr, model, 52 * 7 * DAY)
    assert np.isfinite(out.seen_time).all() and (out.seen_time >= arr.time).all()
    for stream in (False, True):
        sel = arr.majors == stream
        order = np.argsort(arr.time[sel], kind="stable")
        assert (np.diff(out.seen_time[sel][order]) >= 0).all()
    # A busy year: there is queueing (else FIFO would be trivially true).
    assert (out.seen_time > arr.time).mean() > 0.05


def _check_schedule(time, majors, service, out, rotas):
    """The schedule obeys the rules: FIFO per stream; each position treats one patient at a
    time and starts only while on duty; and no patient waits while a position of their
    stream is on duty and idle (work conservation)."""
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
            # Every on-duty stretch of every position inside (a, s) is covered by its work.
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
    rotas = [[max(1, r[0])] + r[1:] for r in rotas]  # at least one clinician some time
    model = configure(
        real_data,
        {f"{ED}.minors_clinicians_by_hour": rotas[0], f"{ED}.majors_clinicians_by_hour": rotas[1]},
    ).model
    n = (120, 250, 400)[case % 3]  # from light load (idle clinicians) to heavy queues
    # Whole minutes, so ties between arrivals, completions and shift ends really happen.
    time = np.sort(rng.integers(0, 3 * DAY, n)).astype(float)
    # Service uniforms on a coarse grid: equal durations, more ties.
    u_service = np.round(rng.random(n), 1).clip(0.1, 0.9)
    arr = arrivals(time, majors=rng.random(n) < 0.5, u_service=u_service)
    out = simulate_emergency_department(arr, model, 3 * DAY)
    ae = model.assumptions.ae
    service = np.where(
        arr.majors,
        stats.lognorm(
            s=lognormal_sigma(
                ae.service_minutes["majors"].median, ae.service_minutes["majors"].mean
            ),
            scale=ae.service_minutes["majors"].median,
        ).ppf(arr.u_service),
        stats.lognorm(
            s=lognormal_sigma(
                ae.service_minutes["minors"].median, ae.service_minutes["minors"].mean
            ),
            scale=ae.service_minutes["minors"].median,
        ).ppf(arr.u_service),
    )
    _check_schedule(time, arr.majors, service, out, rotas)


def test_ample_clinicians_mean_no_wait(real_data):
    data = flat_months(copy.deepcopy(real_data))
    run_cfg = configure(
        data,
        {
            f"{ED}.minors_clinicians_by_hour": [60] * 24,
            f"{ED}.majors_clinicians_by_hour": [60] * 24,
        },
    )
    model = run_cfg.model
    sp = self_presenting(run_cfg, 8)
    arr = self_presenting_arrivals(sp, model)
    out = simulate_emergency_department(arr, model, 8 * 7 * DAY)
    np.testing.assert_array_equal(out.seen_time, arr.time)
    # Time in department = clinician time + after-treatment time, from scipy's lognormal.
    ae = real_data["assumptions"]["ae"]

    def ppf(spec, u):
        return stats.lognorm(
            s=lognormal_sigma(spec["median"], spec["mean"]), scale=spec["median"]
        ).ppf(u)

    service = np.where(
        arr.majors,
        ppf(ae["service_minutes"]["majors"], arr.u_service),
        ppf(ae["service_minutes"]["minors"], arr.u_service),
    )
    after = np.where(
        out.admitted,
        ppf(ae["after_treatment_minutes"]["admitted"], arr.u_after),
        ppf(ae["after_treatment_minutes"]["discharged"], arr.u_after),
    )
    np.testing.assert_allclose(out.departure_time - arr.time, service + after, rtol=1e-9)


def test_a_stream_with_patients_and_no_clinicians_is_a_config_error(real_data):
    # Validation refuses an empty rota (tests/test_bad_inputs.py); the department refuses one
    # too, should a model reach it some other way.
    with pytest.raises(ConfigError, match="patients reach majors: they would never be seen"):
        configure(real_data, {f"{ED}.majors_clinicians_by_hour": [0] * 24})
    model = configure(real_data).model
    empty = dataclasses.replace(model.site.emergency_department, majors_clinicians_by_hour=[0] * 24)
    site = dataclasses.replace(model.site, emergency_department=empty)
    model = dataclasses.replace(model, site=site)
    with pytest.raises(ConfigError, match="majors_clinicians_by_hour"):
        simulate_emergency_department(arrivals([10.0], majors=[True]), model, DAY)
    # ... but is fine when no majors patients come.
    out = simulate_emergency_department(arrivals([10.0]), model, DAY)
    assert out.seen_time[0] == 10.0


def test_no_arrivals_nothing_happens(real_data):
    model = configure(real_data).model
    out = simulate_emergency_department(arrivals([]), model, 2 * DAY)
    assert len(out) == 0
    np.testing.assert_array_equal(out.hourly_occupancy, np.zeros(48))


def test_deterministic(year):
    _, model, sp = year
    arr = self_presenting_arrivals(sp, model)
    sub = AEArrivals(**{k: v[:5000] for k, v in arr.__dict__.items()})
    a = simulate_emergency_department(sub, model, 4 * 7 * DAY)
    b = simulate_emergency_department(sub, model, 4 * 7 * DAY)
    for name in a.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    # Input order does not matter: outcomes follow their patients.
    perm = np.random.default_rng(SEED).permutation(len(sub))
    shuffled = AEArrivals(**{k: v[perm] for k, v in sub.__dict__.items()})
    c = simulate_emergency_department(shuffled, model, 4 * 7 * DAY)
    np.testing.assert_array_equal(c.seen_time, a.seen_time[perm])
    np.testing.assert_array_equal(c.departure_time, a.departure_time[perm])


# --------------------------------------------------------------------------------------------
# Admissions and the frailty front of house
# --------------------------------------------------------------------------------------------


def test_admissions_match_their_probabilities(year):
    _, model, sp = year
    arr = self_presenting_arrivals(sp, model)
    out = simulate_emergency_department(arr, model, 52 * 7 * DAY)
    assert not out.front_of_house.any()  # disabled in the baseline
    p = arr.admit_probability
    # The count admitted is a sum of independent Bernoullis: mean sum p, variance sum p(1-p).
    for what, sel in [
        ("all", slice(None)),
        ("65+", sp.age_band >= OLDER),
        ("ambulance", sp.ambulance),
        ("under 65", sp.age_band < OLDER),
    ]:
        k, mu = out.admitted[sel].sum(), p[sel].sum()
        sd = math.sqrt((p[sel] * (1 - p[sel])).sum())
        assert abs(k - mu) < Z * sd, f"{what}: {k} admitted, expected {mu:.0f} +/- {sd:.0f}"


def test_front_of_house_cuts_frail_admissions_only_when_open(year, real_data):
    _, base_model, sp = year
    reduction = 0.3
    foh = {
        "enabled": True,
        "open_minute": 8 * 60,
        "close_minute": 20 * 60,
        "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "admission_reduction": reduction,
        "running_cost_per_hour_gbp": 0,
    }
    model = configure(real_data, {f"{ED}.frailty_front_of_house": foh}).model
    arr = self_presenting_arrivals(sp, base_model)  # same patients, same probabilities
    before = simulate_emergency_department(arr, base_model, 52 * 7 * DAY)
    after = simulate_emergency_department(arr, model, 52 * 7 * DAY)

    frail = sp.frailty >= MODERATE
    minute = sp.time % DAY
    weekday = (sp.time // DAY).astype(int) % 7
    open_ = (minute >= 480) & (minute < 1200) & (weekday < 5)
    np.testing.assert_array_equal(after.front_of_house, frail & open_)
    # Nobody else's admission changes (same uniforms, same probabilities).
    others = ~(frail & open_)
    np.testing.assert_array_equal(after.admitted[others], before.admitted[others])
    # Treated frail patients: admitted with probability p (1 - reduction); common random
    # numbers make each one admitted only if admitted before.
    sel = frail & open_
    assert sel.sum() > 1000
    assert not (after.admitted & ~before.admitted).any()
    p = arr.admit_probability[sel] * (1 - reduction)
    k, mu, sd = after.admitted[sel].sum(), p.sum(), math.sqrt((p * (1 - p)).sum())
    assert abs(k - mu) < Z * sd
    # Relative cut observed vs configured: conditional on admitted before, each stays
    # admitted with probability (1 - reduction): binomial.
    was = before.admitted[sel]
    assert (
        stats.binomtest(int(after.admitted[sel].sum()), int(was.sum()), 1 - reduction).pvalue
        > ALPHA
    )


# --------------------------------------------------------------------------------------------
# Occupancy, Little's law and queueing theory
# --------------------------------------------------------------------------------------------


def test_hourly_occupancy_is_the_time_weighted_mean(year):
    _, model, sp = year
    arr = self_presenting_arrivals(sp, model)
    run = 52 * 7 * DAY
    out = simulate_emergency_department(arr, model, run)
    assert out.hourly_occupancy.shape == (52 * 7 * 24,)
    # Brute force for some hours: each patient's overlap with the hour, summed, / 60.
    a, d = arr.time, out.departure_time
    for h in np.random.default_rng(SEED).choice(len(out.hourly_occupancy), 50, replace=False):
        lo, hi = h * 60.0, (h + 1) * 60.0
        overlap = np.clip(np.minimum(d, hi) - np.maximum(a, lo), 0, None).sum() / 60
        assert out.hourly_occupancy[h] == pytest.approx(overlap, abs=1e-6)
    # Little's law L = lambda W over the run (end effects are a few hours in a year).
    little = len(a) / run * (d - a).mean()
    assert out.hourly_occupancy.mean() == pytest.approx(little, rel=0.03)
    # Tiny hand case: present 30 min of hour 0 and all of hour 1.
    np.testing.assert_allclose(
        hourly_occupancy(np.array([30.0]), np.array([120.0]), 3), [0.5, 1.0, 0.0]
    )


def test_single_clinician_matches_pollaczek_khinchine(real_data):
    # M/G/1: Poisson arrivals, one clinician always on duty, lognormal service. Mean wait
    # Wq = lambda E[S^2] / (2 (1 - rho)), E[S^2] = mean^2 exp(sigma^2) = mean^4 / median^2.
    median, mean, rho = 25.0, 32.0, 0.7
    lam = rho / mean
    wq = lam * mean**4 / median**2 / (2 * (1 - rho))
    model = configure(
        real_data,
        {
            f"{ED}.minors_clinicians_by_hour": [1] * 24,
            "assumptions.ae.service_minutes.minors": {"median": median, "mean": mean},
        },
    ).model
    rng = np.random.default_rng(SEED)
    n = 200_000
    time = np.cumsum(rng.exponential(1 / lam, n))
    out = simulate_emergency_department(arrivals(time, u_service=rng.random(n)), model, time[-1])
    wait = out.seen_time - time
    # Batch means (20 batches of 10,000, after discarding the first batch as warm-up): the
    # batches are long against the queue's relaxation time, so nearly independent.
    batches = wait[10_000:].reshape(19, -1).mean(axis=1)
    half = stats.t.isf(ALPHA / 2, df=18) * batches.std(ddof=1) / math.sqrt(19)
    assert abs(batches.mean() - wq) < half, f"mean wait {batches.mean():.1f} vs P-K {wq:.1f}"
    assert half < 0.1 * wq  # and the test has teeth: CI within 10% of the theory
