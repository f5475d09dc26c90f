"""A multi-year programme: population change, workforce flows, phased options, years.

Checks that can fail: each compares the model with figures worked out here, or with the same
run without the mechanism.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from pathlib import Path

import numpy as np
import pytest
from conftest import ALPHA, SEED, compose_real, configure, small_site
from scipy import stats
from system_helpers import replicate, run_config

from sim.config.phasing import OptionPhase, Phasing, config_at
from sim.config.schema import AGE_BANDS, ConfigError
from sim.core.calendar import DAYS_PER_PROGRAMME_YEAR, MINUTES_PER_DAY
from sim.core.replication import run_replication
from sim.core.workforce import simulate_workforce

DOCS_DATA = Path(__file__).resolve().parent.parent / "docs" / "data"

# --------------------------------------------------------------------------------------------
# Population projections
# --------------------------------------------------------------------------------------------


def test_population_index_is_the_snpp_projection_relative_to_2025():
    """site.population_index = ONS 2022-based SNPP County Durham band totals / 2025."""
    with open(DOCS_DATA / "county_durham_snpp2022_bands.csv", encoding="utf-8") as f:
        rows = {r["band"]: r for r in csv.DictReader(f)}
    index = run_config().model.site.population_index
    for band in AGE_BANDS:
        expected = [
            float(rows[band][str(y)]) / float(rows[band]["2025"]) for y in range(2025, 2030)
        ]
        assert index[band] == pytest.approx(expected, abs=6e-5), band


def test_band_totals_are_the_single_years_of_age_summed():
    with open(DOCS_DATA / "county_durham_snpp2022_persons.csv", encoding="utf-8") as f:
        persons = {r["AGE_GROUP"]: r for r in csv.DictReader(f)}
    with open(DOCS_DATA / "county_durham_snpp2022_bands.csv", encoding="utf-8") as f:
        bands = {r["band"]: r for r in csv.DictReader(f)}
    ages = {"0-4": range(0, 5), "5-14": range(5, 15), "85+": range(85, 90)}
    for band, years in ages.items():
        total = sum(float(persons[str(a)]["2025"]) for a in years)
        if band == "85+":
            total += float(persons["90+"]["2025"])
        assert round(total) == int(bands[band]["2025"])
    assert round(sum(float(r["2025"]) for k, r in persons.items() if k != "ALL")) == int(
        bands["All ages"]["2025"]
    )


@functools.lru_cache(maxsize=8)
def _run(index: tuple[tuple[str, tuple[float, ...]], ...], trend: float, run_weeks: int):
    data = small_site(compose_real())
    data["site"]["population_index"] = {b: list(v) for b, v in index}
    data["assumptions"]["demand"]["per_person_trend_per_year"] = trend
    data["experiment"]["run_weeks"] = run_weeks
    data["experiment"]["warmup_weeks"] = 1
    run_cfg = configure(data)
    return run_replication(run_cfg.model, SEED, 0, 1, run_weeks, keep_detail=True)


def _two_years(index: dict[str, list[float]], trend: float = 0.0):
    return _run(tuple((b, tuple(index[b])) for b in AGE_BANDS), trend, 104)


def _episodes_in_year(res, year: int) -> np.ndarray:
    k = res.detail["inputs"]
    lo = (k.first_day + (year - 1) * DAYS_PER_PROGRAMME_YEAR) * MINUTES_PER_DAY
    hi = lo + DAYS_PER_PROGRAMME_YEAR * MINUTES_PER_DAY
    t = k.episodes.time
    return (t >= lo) & (t < hi)


FLAT = {b: [1.0, 1.0] for b in AGE_BANDS}


def test_ten_percent_more_people_give_ten_percent_more_needs():
    res = _two_years({b: [1.0, 1.1] for b in AGE_BANDS})
    y1, y2 = _episodes_in_year(res, 1).sum(), _episodes_in_year(res, 2).sum()
    # Poisson totals: log ratio ~ normal with variance 1/y1 + 1/y2 (and the same calendar
    # in both years, whose months sit one year apart).
    z = (np.log(y2 / y1) - np.log(1.1)) / np.sqrt(1 / y1 + 1 / y2)
    assert abs(z) < stats.norm.ppf(1 - ALPHA / 2), (y1, y2)
    # ... and the mechanism can fail: no growth gives no such increase
    flat = _two_years(FLAT)
    f1, f2 = _episodes_in_year(flat, 1).sum(), _episodes_in_year(flat, 2).sum()
    assert abs(np.log(f2 / f1)) < 3 * np.sqrt(1 / f1 + 1 / f2)


def test_growth_of_one_band_changes_that_band_only():
    res = _two_years({**FLAT, "85+": [1.0, 2.0]})
    k = res.detail["inputs"]
    old = AGE_BANDS.index("85+")
    counts = []
    for year in (1, 2):
        age = k.episodes.age_band[_episodes_in_year(res, year)]
        counts.append(((age == old).sum(), (age != old).sum()))
    (o1, r1), (o2, r2) = counts
    for a, b, ratio in ((o1, o2, 2.0), (r1, r2, 1.0)):
        z = (np.log(b / a) - np.log(ratio)) / np.sqrt(1 / a + 1 / b)
        assert abs(z) < stats.norm.ppf(1 - ALPHA / 4), (a, b, ratio)


def test_needs_per_person_trend_compounds_from_year_two():
    res = _two_years(FLAT, trend=0.05)
    y1, y2 = _episodes_in_year(res, 1).sum(), _episodes_in_year(res, 2).sum()
    z = (np.log(y2 / y1) - np.log(1.05)) / np.sqrt(1 / y1 + 1 / y2)
    assert abs(z) < stats.norm.ppf(1 - ALPHA / 2)


def test_year_one_is_exactly_the_static_year():
    """Growth from year 2 changes nothing in year 1: the same episodes, to the minute."""
    grown = _two_years({b: [1.0, 1.3] for b in AGE_BANDS}, trend=0.02)
    flat = _two_years(FLAT)
    kg, kf = grown.detail["inputs"], flat.detail["inputs"]
    g, f = _episodes_in_year(grown, 1), _episodes_in_year(flat, 1)
    # the warm-up and year 1 are the prefix of both runs
    first = kg.first_day * MINUTES_PER_DAY
    g |= kg.episodes.time < first
    f |= kf.episodes.time < first
    for name in ("time", "practice", "age_band", "urgency", "staff_need", "key"):
        np.testing.assert_array_equal(getattr(kg.episodes, name)[g], getattr(kf.episodes, name)[f])


def test_a_one_year_run_with_the_programme_defaults_is_the_static_model():
    """The default projections, workforce flows and discounting leave a one-year run exactly
    as it is with no growth and no workforce change at all."""
    default = _run(tuple((b, tuple(v)) for b, v in _default_index().items()), 0.0, 52)
    static = _run(tuple((b, (1.0,)) for b in AGE_BANDS), 0.0, 52)
    assert default.kpis == static.kpis
    assert default.ledger == static.ledger


def _default_index() -> dict[str, list[float]]:
    return compose_real()["site"]["population_index"]


def test_every_year_of_a_programme_run_has_its_kpis():
    res = _two_years(FLAT)
    assert sorted(res.kpis_by_year) == [1, 2]
    # a count per week over two years is the mean of the two years' counts
    key = "system.episodes_per_week"
    assert res.kpis[key] == pytest.approx(np.mean([res.kpis_by_year[y][key] for y in (1, 2)]))


def test_per_1000_rates_use_each_years_population():
    res = _two_years({b: [1.0, 1.1] for b in AGE_BANDS})
    k = res.detail["inputs"]
    day = k.journeys.appointment_day
    lists = k.practices.list_sizes.sum()
    for year, people in ((1, lists), (2, lists * 1.1)):
        lo = k.first_day + (year - 1) * DAYS_PER_PROGRAMME_YEAR
        appts = ((day >= lo) & (day < lo + DAYS_PER_PROGRAMME_YEAR)).sum()
        expected = appts / (people / 1000) / 52
        got = res.kpis_by_year[year]["practice.appointments_per_1000_week"]
        assert got == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------------------------
# Workforce flows (worked by hand)
# --------------------------------------------------------------------------------------------


def _workforce(est: np.ndarray, start: int = 0, **flows):
    cfg = run_config().model
    staff = {
        s: dataclasses.replace(getattr(cfg.assumptions.workforce, s), **flows)
        for s in ("gp", "nurse", "pharmacist")
    }
    cfg = dataclasses.replace(
        cfg,
        assumptions=dataclasses.replace(
            cfg.assumptions, workforce=dataclasses.replace(cfg.assumptions.workforce, **staff)
        ),
    )
    return simulate_workforce(cfg, est, start)


def test_a_steady_workforce_stays_exactly_as_it_is():
    est = np.full((60, 2, 3), 7.3)
    wf = _workforce(est, start=5)
    np.testing.assert_array_equal(wf.in_post, est)
    assert not wf.locum.any()


def test_new_posts_are_filled_after_the_recruitment_lag_and_covered_meanwhile():
    est = np.full((80, 1, 3), 10.0)
    est[20:] = 15.0  # five new posts funded from programme week 20
    wf = _workforce(
        est, attrition_per_year=0.0, recruitment_lag_weeks=26, recruitment_share=1.0,
        locum_cover_share=0.4,
    )  # fmt: skip
    in_post = wf.in_post[:, 0, 0]
    assert (in_post[:46] == 10.0).all() and (in_post[46:] == 15.0).all()
    np.testing.assert_allclose(wf.locum[20:46, 0, 0], 0.4 * 5.0)
    assert not wf.locum[:20].any() and not wf.locum[46:].any()


def test_leavers_not_replaced_shrink_the_workforce_at_the_expected_rate():
    """With 8.8% leaving a year and 92.5% of posts refilled after 26 weeks, staff in post
    fall by about 8.8% x 7.5% = 0.66% a year (the 2015-22 national fall)."""
    weeks = 52 * 4 + 1
    est = np.full((weeks, 1, 3), 100.0)
    wf = _workforce(
        est, attrition_per_year=0.088, recruitment_lag_weeks=26, recruitment_share=0.925
    )
    in_post = wf.in_post[:, 0, 0]
    # by hand, week by week: 0.088/52 of staff leave at the end of each week; 92.5% of their
    # posts are filled 26 weeks after falling vacant (history before week 0: 100 in post)
    hand = [100.0]
    for w in range(weeks - 1):
        back = hand[w - 26] if w - 26 >= 0 else 100.0
        hand.append(hand[w] * (1 - 0.088 / 52) + 0.925 * 0.088 / 52 * back)
    np.testing.assert_allclose(in_post, hand, rtol=1e-12)
    yearly = (in_post[-1] / in_post[-53]) - 1
    assert yearly == pytest.approx(-0.088 * 0.075, abs=0.0005)


def test_posts_cut_are_lost_at_once():
    est = np.full((30, 1, 3), 10.0)
    est[10:] = 8.0
    wf = _workforce(est)
    assert wf.in_post[10, 0, 0] == 8.0 and not wf.locum.any()


# --------------------------------------------------------------------------------------------
# Phasing
# --------------------------------------------------------------------------------------------


def test_effect_of_a_phased_option_week_by_week():
    phase = OptionPhase("x", start_week=10, ramp_weeks=20, changes={})
    assert phase.effect(-3) == 0.0  # warm-up: as at the start of year 1
    assert phase.effect(9) == 0.0
    assert phase.effect(10) == pytest.approx(0.5 / 20)
    assert phase.effect(29) == pytest.approx(19.5 / 20)
    assert phase.effect(30) == 1.0
    at_once = OptionPhase("y", start_week=0, ramp_weeks=0, changes={})
    assert at_once.effect(-5) == 1.0 and at_once.effect(0) == 1.0
    later = OptionPhase("z", start_week=26, ramp_weeks=0, changes={})
    assert later.effect(-1) == 0.0 and later.effect(25) == 0.0 and later.effect(26) == 1.0


def _phased(names: list[str], ramp: int = 26):
    """The model of ``names`` with each option ramping up over ``ramp`` weeks (built here, so
    settings the model does not yet follow week by week can be blended too)."""
    run_cfg = run_config((f"scenario=[{','.join(names)}]",))
    data = compose_real()
    phasing = Phasing(
        site=data["site"],
        assumptions=data["assumptions"],
        options=tuple(OptionPhase(n, 0, ramp, run_cfg.options[n].changes) for n in names),
    )
    return dataclasses.replace(run_cfg.model, phasing=phasing)


def test_a_half_phased_option_is_half_way_in_every_number_it_changes():
    cfg = _phased(["gp_recruitment", "extended_access_8to8", "rac_weekend"])
    assert cfg.phasing.gradual
    half = config_at(cfg, (0.5, 0.5, 0.5))
    base = config_at(cfg, (0.0, 0.0, 0.0))
    gp = half.site.practice_capacity.gp.fte_per_1000
    assert gp == pytest.approx((base.site.practice_capacity.gp.fte_per_1000 + 0.5396) / 2)
    assert half.site.hubs.minutes_per_1000_per_week == pytest.approx((60 + 150) / 2)
    assert half.site.hubs.opening == cfg.site.hubs.opening  # windows open at once
    # whole numbers round half up: 1 -> 2 sessions at half way is 1.5, so 2; 0 -> 1 is 1
    sessions = half.site.rapid_assessment.sites["shotley_bridge"].sessions_per_weekday
    assert sessions["mon"] == 2 and sessions["sat"] == 1
    quarter = config_at(cfg, (0.25, 0.25, 0.25)).site.rapid_assessment.sites["shotley_bridge"]
    assert quarter.sessions_per_weekday["mon"] == 1 and quarter.sessions_per_weekday["sat"] == 0
    assert half.assumptions.rapid_assessment.referral_share_from_practice == pytest.approx(
        (0.03 + 0.08) / 2
    )
    assert base.site.hubs.minutes_per_1000_per_week == 60
    assert config_at(cfg, (1.0, 1.0, 1.0)) is cfg


def test_options_the_model_cannot_phase_yet_are_refused_clearly():
    """Every shipped option can phase in; one also changing A&E's majors spaces (which the
    hospital does not follow week by week) cannot."""
    majors = "site.emergency_department.majors_spaces"
    with pytest.raises(ConfigError) as err:
        run_config(
            (
                "scenario=[ic_expansion]",
                "scenario.ic_expansion.ramp_weeks=26",
                f"+scenario.ic_expansion.changes.{majors}=40",
            )
        )
    assert err.value.key == "scenario.ic_expansion.start_week"
    assert majors in err.value.rule


def test_gp_posts_funded_later_are_recruited_after_the_lag_with_locums_meanwhile():
    """gp_recruitment funded from programme week 10: establishment steps up then, GPs arrive
    26 weeks later (the recruitment lag), half the gap worked by locums meanwhile; the books'
    GP slots and the pay follow."""
    overrides = (
        "scenario=[gp_recruitment]",
        "scenario.gp_recruitment.start_week=10",
        "assumptions.workforce.gp.attrition_per_year=0.0",
    )
    res = replicate(overrides, warmup_weeks=1, run_weeks=52)
    base = replicate(
        ("assumptions.workforce.gp.attrition_per_year=0.0",), warmup_weeks=1, run_weeks=52
    )
    k, kb = res.detail["inputs"], base.detail["inputs"]
    wf = k.workforce
    gp = 0  # STAFF_TYPES order
    start = k.first_day // 7  # programme week 0
    est, in_post, locum = (
        a[:, :, gp].sum(axis=1) for a in (wf.establishment, wf.in_post, wf.locum)
    )
    before, after = est[start + 9], est[start + 10]
    assert after > before
    np.testing.assert_allclose(in_post[start + 10 : start + 36], before)
    np.testing.assert_allclose(in_post[start + 36 :], after)
    np.testing.assert_allclose(locum[start + 10 : start + 36], 0.5 * (after - before))

    def gp_slots(kk, weeks: range) -> int:
        days = [7 * w + d for w in weeks for d in range(7)]
        return sum(row[gp].slots_on(day) for row in kk.practices.books for day in days)

    early, gap, late = (
        range(start, start + 10),
        range(start + 12, start + 34),
        range(start + 38, start + 52),
    )
    assert gp_slots(k, early) == gp_slots(kb, early)
    for weeks, fte in ((gap, before + 0.5 * (after - before)), (late, after)):
        ratio = gp_slots(k, weeks) / gp_slots(kb, weeks)
        assert ratio == pytest.approx(fte / before, abs=0.01)
    assert res.kpis["cost.locums_annual_gbp"] > 0 and base.kpis["cost.locums_annual_gbp"] == 0
    assert res.kpis["cost.practice_staff_annual_gbp"] > base.kpis["cost.practice_staff_annual_gbp"]


def test_options_without_phasing_carry_none():
    assert run_config(("scenario=[gp_recruitment]",)).model.phasing is None


def _hub_slots(k, first_day: int, last_day: int) -> int:
    return k.service_books["hub"].slots_between(first_day, last_day)


def test_hub_capacity_follows_each_years_registered_population():
    """Hub minutes are funded per registered patient, so ten per cent more people give ten per
    cent more hub slots in year 2 (the same calendar shape, whole slots rounded per day)."""
    grown = _two_years({b: [1.0, 1.1] for b in AGE_BANDS}).detail["inputs"]
    flat = _two_years(FLAT).detail["inputs"]
    years = [
        (grown.first_day + (y - 1) * DAYS_PER_PROGRAMME_YEAR, DAYS_PER_PROGRAMME_YEAR)
        for y in (1, 2)
    ]
    (a, n), (b, _) = years
    assert _hub_slots(grown, a, a + n) == _hub_slots(flat, a, a + n)
    ratio = _hub_slots(grown, b, b + n) / _hub_slots(flat, b, b + n)
    assert ratio == pytest.approx(1.1, abs=0.01)


def test_extended_access_funded_later_adds_hub_slots_from_its_start_week():
    """extended_access_8to8 from programme week 10 with a 20-week ramp: hub capacity is
    today's until week 10, reaches the option's by week 30, and is in between meanwhile."""
    overrides = (
        "scenario=[extended_access_8to8]",
        "scenario.extended_access_8to8.start_week=10",
        "scenario.extended_access_8to8.ramp_weeks=20",
    )
    k = replicate(overrides, warmup_weeks=1, run_weeks=52).detail["inputs"]
    kb = replicate((), warmup_weeks=1, run_weeks=52).detail["inputs"]
    kf = replicate(("scenario=[extended_access_8to8]",), warmup_weeks=1, run_weeks=52)
    kf = kf.detail["inputs"]

    def weeks(kk, lo: int, hi: int) -> int:
        return _hub_slots(kk, kk.first_day + 7 * lo, kk.first_day + 7 * hi)

    assert weeks(k, 0, 10) == weeks(kb, 0, 10)
    assert weeks(k, 30, 52) == weeks(kf, 30, 52)
    mid = weeks(k, 18, 22)
    assert weeks(kb, 18, 22) < mid < weeks(kf, 18, 22)
    # half way: the ramp's effect in weeks 18-21 is (8.5 .. 11.5) / 20, 0.5 on average
    share = (mid - weeks(kb, 18, 22)) / (weeks(kf, 18, 22) - weeks(kb, 18, 22))
    assert share == pytest.approx(0.5, abs=0.02), share


def _from_week(option: str, week: int) -> tuple[str, ...]:
    return (f"scenario=[{option}]", f"scenario.{option}.start_week={week}")


def test_online_consultation_funded_later_takes_needs_only_from_its_start_week():
    """The scheme from programme week 4: the needs arising from then on that the full scheme
    resolves online are exactly those resolved online (the same keyed draw decides), and
    none before."""
    from sim.core import ledger

    later = replicate(_from_week("online_consultation", 4), warmup_weeks=1, run_weeks=8)
    full = replicate(("scenario=[online_consultation]",), warmup_weeks=1, run_weeks=8)
    k, kf = later.detail["inputs"], full.detail["inputs"]
    start = (k.first_day + 28) * MINUTES_PER_DAY
    online = k.journeys.outcome == ledger.RESOLVED_ONLINE
    online_full = kf.journeys.outcome == ledger.RESOLVED_ONLINE
    assert online_full[kf.episodes.time < start].sum() > 100
    assert not online[k.episodes.time < start].any()
    np.testing.assert_array_equal(
        online[k.episodes.time >= start], online_full[kf.episodes.time >= start]
    )


def test_text_reminders_funded_later_are_sent_only_from_their_start_week():
    """Reminders from programme week 4: no booking is cancelled ahead before then (a
    cancellation is made when the reminder is sent); afterwards about as many a week as with
    the scheme in place throughout."""
    later = replicate(_from_week("text_reminders", 4), warmup_weeks=1, run_weeks=8)
    full = replicate(("scenario=[text_reminders]",), warmup_weeks=1, run_weeks=8)
    k, kf = later.detail["inputs"], full.detail["inputs"]
    start = (k.first_day + 28) * MINUTES_PER_DAY
    sent = k.journeys.cancelled_time[~np.isnan(k.journeys.cancelled_time)]
    sent_full = kf.journeys.cancelled_time[~np.isnan(kf.journeys.cancelled_time)]
    assert (sent_full < start).sum() > 50
    assert (sent >= start).all()
    after, after_full = (sent >= start).sum(), (sent_full >= start).sum()
    assert after == pytest.approx(after_full, rel=0.15), (after, after_full)
