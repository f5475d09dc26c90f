"""Demand: the non-homogeneous Poisson process of episodes and their attributes.

Expected values are computed here from the configuration numbers (list sizes, age mixes,
rates, shares), never by calling the demand module's own rate functions.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import (
    ALPHA,
    MINUTES_PER_DAY,
    SEED,
    assert_shares,
    configure,
    expected_annual_episodes,
    poisson_pvalue,
    practice_age_share,
)
from scipy import stats

from sim.config.schema import AGE_BANDS, FRAILTY_BANDS, STAFF_NEEDS, URGENCIES
from sim.core.calendar import Calendar
from sim.core.demand import NOT_ASSESSED, generate_episodes
from sim.core.streams import Streams

DAYS_PER_YEAR = 365.25
OLDER = AGE_BANDS.index("65-74")  # first band counted as 65 and over


def episodes_for(run_cfg, weeks: int, seed: int = SEED, replication: int = 0):
    cal = Calendar(run_cfg.model.site.calendar_start, 7 * weeks, (0, 1, 2, 3, 4))
    return generate_episodes(run_cfg.model, cal, Streams(seed, replication))


def flat_months(data):
    """No seasonality, so every week has the same expected profile."""
    data["assumptions"]["demand"]["month_multiplier"] = [1.0] * 12
    return data


def hour_of_week_shares(data) -> np.ndarray:
    """Share of a week's needs in each of the 168 hours: weekday share x hour-of-day share."""
    d = data["assumptions"]["demand"]
    out = np.empty((7, 24))
    for wd in range(7):
        hours = d["hour_share_weekday"] if wd < 5 else d["hour_share_weekend"]
        out[wd] = d["weekday_share"][wd] * np.asarray(hours, dtype=float)
    return out.reshape(168)


def close_some_hours(data):
    """Zero the night hours, Sunday entirely; move their mass elsewhere (shares still sum to 1)."""
    d = data["assumptions"]["demand"]
    wk = list(d["hour_share_weekday"])
    closed_wk = [0, 1, 2, 3, 4, 5, 22, 23]
    wk[12] += sum(wk[h] for h in closed_wk)
    for h in closed_wk:
        wk[h] = 0.0
    we = list(d["hour_share_weekend"])
    closed_we = [0, 1, 2, 3, 4, 5, 6]
    we[10] += sum(we[h] for h in closed_we)
    for h in closed_we:
        we[h] = 0.0
    days = list(d["weekday_share"])
    days[5] += days[6]
    days[6] = 0.0
    d["hour_share_weekday"], d["hour_share_weekend"], d["weekday_share"] = wk, we, days
    return data


# --------------------------------------------------------------------------------------------
# Arrival counts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["configured", "with_closed_hours"])
def test_counts_per_hour_of_week_match_their_expectation(small_data, profile):
    data = flat_months(small_data)
    if profile == "with_closed_hours":
        data = close_some_hours(data)
    weeks = 104
    ep = episodes_for(configure(data), weeks)

    annual = sum(expected_annual_episodes(data, c) for c in data["site"]["practices"])
    expected = annual * 7 / DAYS_PER_YEAR * weeks * hour_of_week_shares(data)
    observed = np.bincount((ep.time // 60).astype(int) % 168, minlength=168)
    assert observed.shape == (168,)

    # Zero-rate hours: exactly zero arrivals, not merely few.
    closed = expected == 0
    if profile == "with_closed_hours":
        assert closed.sum() == 5 * 8 + 7 + 24  # weekday nights, weekend nights, all Sunday
    np.testing.assert_array_equal(observed[closed], 0)

    # Each open hour: exact two-sided Poisson test, Bonferroni over the open hours, so a
    # correct generator fails with probability <= ALPHA for any seed. The smallest expected
    # count is in the hundreds, so a 10-15% bias in any one hour is detected.
    open_ = ~closed
    pvalues = np.array(
        [poisson_pvalue(int(k), mu) for k, mu in zip(observed[open_], expected[open_], strict=True)]
    )
    worst = int(np.argmin(pvalues))
    assert pvalues.min() > ALPHA / open_.sum(), (
        f"hour {np.flatnonzero(open_)[worst]}: observed {observed[open_][worst]}, "
        f"expected {expected[open_][worst]:.1f}"
    )
    # And jointly: Pearson chi-square over the open hours (counts are Poisson, so the
    # statistic is chi-square with as many degrees of freedom as hours).
    chi2 = (((observed[open_] - expected[open_]) ** 2) / expected[open_]).sum()
    assert stats.chi2.sf(chi2, df=int(open_.sum())) > ALPHA


def test_arrival_times_lie_inside_their_hour(small_data):
    # All weekday needs in 09:00-10:00, all weekend needs in 14:00-15:00.
    d = small_data["assumptions"]["demand"]
    d["hour_share_weekday"] = [1.0 if h == 9 else 0.0 for h in range(24)]
    d["hour_share_weekend"] = [1.0 if h == 14 else 0.0 for h in range(24)]
    ep = episodes_for(configure(small_data), weeks=4)
    assert len(ep) > 1000
    day = ep.time // MINUTES_PER_DAY
    minute = ep.time - day * MINUTES_PER_DAY
    weekday = day % 7 < 5
    assert ((minute[weekday] >= 9 * 60) & (minute[weekday] < 10 * 60)).all()
    assert ((minute[~weekday] >= 14 * 60) & (minute[~weekday] < 15 * 60)).all()
    assert ep.time.min() >= 0 and ep.time.max() < 4 * 7 * MINUTES_PER_DAY
    # Times are uniform inside the hour (not bunched at its start): Kolmogorov-Smirnov.
    within = (minute % 60) / 60
    assert stats.kstest(within, "uniform").pvalue > ALPHA
    # Sorted by time, as the journey loop relies on.
    assert (np.diff(ep.time) >= 0).all()


def test_zero_month_multiplier_gives_no_arrivals_that_month(small_data):
    data = small_data
    months = [1.0] * 12
    months[4] = 0.0  # May
    data["assumptions"]["demand"]["month_multiplier"] = months
    weeks = 13  # from the calendar start (April) into July
    ep = episodes_for(configure(data), weeks)
    start = dt.date.fromisoformat(data["site"]["calendar_start"])
    may = np.array(
        [(start + dt.timedelta(days=d)).month == 5 for d in range(7 * weeks)], dtype=bool
    )
    assert may.any() and (~may).any()
    day = (ep.time // MINUTES_PER_DAY).astype(int)
    assert not may[day].any()
    # Other months still have their needs (the test is not passing because nothing arrives).
    assert len(ep) > 1000


def test_annual_rate_matches_list_size_age_rates_and_scale(small_data):
    data = flat_months(small_data)
    weeks = 52
    ep = episodes_for(configure(data), weeks)
    codes = list(data["site"]["practices"])
    # Each practice's total is Poisson with mean annual x (7 weeks / 365.25); exact test with
    # Bonferroni over practices. Totals are ~10^4-10^5, so a 2% error in the rate fails.
    for idx, code in enumerate(codes):
        mu = expected_annual_episodes(data, code) * 7 * weeks / DAYS_PER_YEAR
        k = int((ep.practice == idx).sum())
        assert poisson_pvalue(k, mu) > ALPHA / len(codes), f"{code}: {k} vs expected {mu:.0f}"


def test_scale_zero_gives_no_episodes(small_data):
    small_data["assumptions"]["demand"]["scale"] = 0.0
    ep = episodes_for(configure(small_data), weeks=2)
    assert len(ep) == 0


# --------------------------------------------------------------------------------------------
# Attributes
# --------------------------------------------------------------------------------------------


@pytest.fixture
def year_of_episodes(small_data):
    data = flat_months(small_data)
    return data, episodes_for(configure(data), weeks=52)


def test_age_mix_per_practice(year_of_episodes):
    data, ep = year_of_episodes
    demand = data["assumptions"]["demand"]
    rates = np.array([demand["episodes_per_person_year"][b] for b in AGE_BANDS])
    for idx, code in enumerate(data["site"]["practices"]):
        weights = practice_age_share(data, code) * rates
        counts = np.bincount(ep.age_band[ep.practice == idx], minlength=len(AGE_BANDS))
        assert_shares(counts, weights / weights.sum(), f"age bands of {code}")


def test_urgency_shares_by_age(year_of_episodes):
    data, ep = year_of_episodes
    demand = data["assumptions"]["demand"]
    base = np.array([demand["urgency_share"][u] for u in URGENCIES])
    older = ep.age_band >= OLDER
    counts = np.bincount(ep.urgency[~older], minlength=3)
    assert_shares(counts, base, "urgency under 65")

    # 65+: urgent share multiplied (capped at 1), the other two keep their ratio.
    urgent = min(1.0, base[0] * demand["urgent_share_multiplier_65plus"])
    rest = base[1:] / base[1:].sum() * (1 - urgent)
    counts = np.bincount(ep.urgency[older], minlength=3)
    assert_shares(counts, np.concatenate(([urgent], rest)), "urgency 65+")


def test_staff_need_shares(year_of_episodes):
    data, ep = year_of_episodes
    share = data["assumptions"]["demand"]["staff_need_share"]
    counts = np.bincount(ep.staff_need, minlength=len(STAFF_NEEDS))
    assert_shares(counts, np.array([share[s] for s in STAFF_NEEDS]), "staff need")


def test_frailty_assessed_only_for_65_plus_with_configured_shares(year_of_episodes):
    data, ep = year_of_episodes
    older = ep.age_band >= OLDER
    np.testing.assert_array_equal(ep.frailty[~older], NOT_ASSESSED)
    share = data["site"]["frailty_share_65plus"]
    counts = np.bincount(ep.frailty[older], minlength=len(FRAILTY_BANDS))
    assert_shares(counts, np.array([share[b] for b in FRAILTY_BANDS]), "frailty 65+")


def test_frailty_shares_do_not_depend_on_key_order_in_yaml(small_data):
    # Same shares as a mapping, written severe-first: a valid config (keys are checked, not
    # their order), so the episodes' frailty bands must follow the names. (Regression test:
    # the bands were once read in the YAML's key order.)
    share = {"severe": 0.50, "moderate": 0.30, "mild": 0.15, "fit": 0.05}
    small_data["site"]["frailty_share_65plus"] = share
    ep = episodes_for(configure(small_data), weeks=8)
    older = ep.age_band >= OLDER
    counts = np.bincount(ep.frailty[older], minlength=len(FRAILTY_BANDS))
    assert_shares(counts, np.array([share[b] for b in FRAILTY_BANDS]), "frailty 65+")


def test_routine_earliest_day_offsets(year_of_episodes):
    data, ep = year_of_episodes
    bands = data["assumptions"]["demand"]["routine_earliest_day_share"]
    offsets = ep.earliest_offset_days.astype(int)
    ranges = []
    for band in bands:
        lo, _, hi = str(band).partition("-")
        ranges.append((int(lo), int(hi or lo)))
    which = np.full(len(offsets), -1)
    for i, (lo, hi) in enumerate(ranges):
        which[(offsets >= lo) & (offsets <= hi)] = i
    assert (which >= 0).all(), "an offset outside every configured band"
    assert_shares(
        np.bincount(which, minlength=len(ranges)),
        np.array(list(bands.values())),
        "earliest-day bands",
    )
    # Inside a band, each day is equally likely.
    for i, (lo, hi) in enumerate(ranges):
        if hi > lo:
            days = offsets[which == i] - lo
            width = hi - lo + 1
            assert_shares(
                np.bincount(days, minlength=width),
                np.full(width, 1 / width),
                f"days within band {lo}-{hi}",
            )


def test_uniform_draws_are_uniform_and_distinct(year_of_episodes):
    _, ep = year_of_episodes
    names = list(ep.uniforms)
    assert {"dna", "no_slot_choice", "ooh_choice"} <= set(names)
    for name in names:
        u = ep.uniforms[name]
        assert u.shape == ep.time.shape
        assert stats.kstest(u, "uniform").pvalue > ALPHA / len(names), name
    # Different attributes come from different streams: no two are the same numbers, nor
    # noticeably correlated (|r| < 4 / sqrt(n) is > 4 standard errors for independent draws).
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            r = np.corrcoef(ep.uniforms[a], ep.uniforms[b])[0, 1]
            assert abs(r) < 4 / np.sqrt(len(ep)), (a, b, r)


# --------------------------------------------------------------------------------------------
# The fast paths of generate_episodes give exactly what their plain definitions give
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "probs",
    [
        [0.2, 0.3, 0.5],
        [0.0, 0.4, 0.0, 0.6],  # categories that can never be drawn
        [1.0],
        [0.1] * 10,
        [0.5, -0.1, 0.6],  # not a distribution (validation refuses it): still the same
    ],
)
def test_categorical_equals_a_binary_search(probs):
    """Counting the cumulative shares at or below each uniform is ``searchsorted``."""
    from sim.core.demand import _categorical

    probs = np.asarray(probs)
    cum = np.cumsum(probs)
    cum[-1] = 1.0 + 1e-12
    rng = np.random.default_rng(3)
    # uniforms, and the cumulative shares themselves (the edges), and either side of them
    edges = np.clip(np.concatenate([cum, np.nextafter(cum, 0), np.nextafter(cum, 2)]), 0, 0.999)
    u = np.concatenate([rng.random(10_000), edges, [0.0]])
    expected = np.searchsorted(cum, u, side="right")
    assert np.array_equal(_categorical(u, probs), expected)


@pytest.mark.parametrize("seasonal", [False, True])
@pytest.mark.parametrize("negative", [False, True])
def test_urgency_table_lookup_equals_a_categorical_draw_per_month_and_age(seasonal, negative):
    """Urgency, drawn in one pass by looking up each need's cumulative shares
    (``_urgencies``), is the categorical draw with its month's and age group's shares (the
    urgent share by month, the others in proportion, 65+ more often urgent), worked out here
    month by month and age group by age group with ``np.searchsorted``."""
    from types import SimpleNamespace

    from sim.core.demand import _urgencies

    winter = [1.3, 1.2, 1.0, 1.0, 1.0, 0.9, 0.8, 0.9, 1.0, 1.0, 1.1, 1.25]
    d = SimpleNamespace(
        urgency_share={"urgent": 0.3, "soon": -0.1 if negative else 0.25, "routine": 0.45},
        urgent_share_month_multiplier=winter if seasonal else [1.0] * 12,
        month_multiplier=[1.1, 1.0, 1.0, 0.95, 0.95, 0.9, 0.85, 0.9, 1.0, 1.05, 1.1, 1.2],
        urgent_share_multiplier_65plus=1.4,
    )
    rng = np.random.default_rng(7)
    n = 60_000
    month = rng.integers(0, 12, n)
    older = rng.random(n) < 0.3
    u = rng.random(n)
    acuity = np.asarray(d.urgent_share_month_multiplier)
    demand = np.asarray(d.month_multiplier)
    urgent = 0.3 * acuity * demand.sum() / (acuity * demand).sum()
    expected = np.empty(n, dtype=np.int64)
    for m in range(12):
        others = np.array([0.0, d.urgency_share["soon"], 0.45])
        if urgent[m] != 0.3:
            others = others / others.sum() * (1 - urgent[m])
        under = np.array([urgent[m], others[1], others[2]])
        older_urgent = min(1.0, urgent[m] * 1.4)
        rest = np.array([0.0, under[1], under[2]])
        rest = rest / rest.sum() * (1 - older_urgent)
        rest[0] = older_urgent
        for is_older, shares in ((False, under), (True, rest)):
            cum = np.cumsum(shares)
            cum[-1] = 1.0 + 1e-12
            here = (month == m) & (older == is_older)
            expected[here] = np.searchsorted(cum, u[here], side="right")
    got = _urgencies(d, older, month, u)
    assert np.array_equal(got, expected)
    # every urgency drawn (but "soon" with a negative share): equal arrays prove something
    assert len(np.unique(got)) == (2 if negative else 3)


def test_time_order_keeps_tied_needs_in_generation_order():
    """Equal times (which the fast unstable sort could swap) keep their original order."""
    from sim.core.demand import _time_order

    rng = np.random.default_rng(4)
    times = np.round(rng.random(50_000) * 100, 1)  # about 1,000 distinct values: many ties
    assert np.array_equal(_time_order(times), np.argsort(times, kind="stable"))
    distinct = rng.random(50_000)
    assert np.array_equal(_time_order(distinct), np.argsort(distinct, kind="stable"))


def test_options_share_episodes_exactly_when_their_demand_settings_agree():
    """sim.core.demand.demand_settings decides which alternatives of a PSA set share episodes:
    every option of the catalogue whose settings text equals the baseline's must draw the
    very same episodes, and one whose text differs (clinical_pharmacists changes the staff
    needs) different ones; a setting the text missed would show as equal text, different
    episodes."""
    from sim.config.compose import catalogue_names, compose_validated
    from sim.core.demand import demand_settings

    def drawn(option: str):
        _, run_cfg, _ = compose_validated([f"scenario={option}"])
        ep = episodes_for(run_cfg, weeks=1)
        columns = [ep.time, ep.practice, ep.age_band, ep.frailty, ep.urgency, ep.staff_need]
        columns += [ep.earliest_offset_days, ep.key, *ep.uniforms.values()]
        return demand_settings(run_cfg.model), columns

    settings, episodes = drawn("baseline")
    differ = []
    for option in catalogue_names():
        theirs, their_episodes = drawn(option)
        same = all(np.array_equal(a, b) for a, b in zip(episodes, their_episodes, strict=True))
        assert same == (theirs == settings), option
        if not same:
            differ.append(option)
    assert "clinical_pharmacists" in differ


@pytest.mark.parametrize(
    "path, value",
    [
        ("site.calendar_start", "2025-01-06"),
        ("site.frailty_share_65plus", "{fit: 0.6, mild: 0.25, moderate: 0.12, severe: 0.03}"),
        ("site.localities.chester_le_street.age_share", "null"),
        ("assumptions.demand.scale", 0.5),
        ("site.practices.CLS01.list_size", 1000),
        ("site.bank_holidays", "SCT"),
        ("assumptions.demand.per_person_trend_per_year", 0.01),
    ],
)
def test_demand_settings_change_with_what_draws_the_episodes(path, value):
    from sim.config.compose import compose_validated
    from sim.core.demand import demand_settings

    _, base, _ = compose_validated([])
    _, changed, _ = compose_validated([f"{path}={value}"])
    assert demand_settings(changed.model) != demand_settings(base.model)
