"""Population growth by locality or practice (``site.localities.<name>.population_index``,
``site.practices.<code>.population_index``), falling back band by band to the site's index.

Checks that can fail: the index each practice gets, the registered population and the
episodes are compared with figures worked out here from the configured tables; bad tables are
refused naming the key, the value and the rule.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import ALPHA, SEED, compose_real, configure, small_site
from scipy import stats

from sim.config.schema import AGE_BANDS, ConfigError
from sim.core.calendar import DAYS_PER_PROGRAMME_YEAR, MINUTES_PER_DAY
from sim.core.demand import population_growth, practice_age_shares, practice_population_index
from sim.core.replication import run_replication
from sim.services.hub import locality_population

FLAT = {b: [1.0, 1.0] for b in AGE_BANDS}


def _data() -> dict:
    """Three practices, one per locality (CLS01, DUR01, DER01), with a flat two-year index."""
    data = small_site(compose_real())
    data["site"]["population_index"] = {b: list(v) for b, v in FLAT.items()}
    return data


def _model(**overrides):
    return configure(_data(), overrides).model


def test_each_practice_takes_its_own_then_its_localitys_then_the_sites_index_band_by_band():
    site = {b: [1.0, 1.01 + i / 100] for i, b in enumerate(AGE_BANDS)}
    durham = {"15-24": [1.0, 1.5]}  # students: only this band differs
    practice = {"85+": [1.0, 2.0], "15-24": [1.0, 0.9]}
    cfg = _model(
        **{
            "site.population_index": site,
            "site.localities.durham.population_index": durham,
            "site.practices.DER01.population_index": practice,
        }
    )
    index = practice_population_index(cfg, 2)
    codes = list(cfg.site.practices)
    expected = {
        "CLS01": site,
        "DUR01": {**site, **durham},
        "DER01": {**site, **practice},  # Derwentside gives none; the practice's own wins
    }
    for p, code in enumerate(codes):
        for a, band in enumerate(AGE_BANDS):
            assert index[p, :, a].tolist() == expected[code][band], (code, band)


def test_registered_population_grows_with_each_practices_own_mix_and_index():
    cfg = _model(**{"site.localities.durham.population_index": {"15-24": [1.0, 1.5]}})
    lists = {code: p.list_size for code, p in cfg.site.practices.items()}
    shares = dict(zip(cfg.site.practices, practice_age_shares(cfg), strict=True))
    young = AGE_BANDS.index("15-24")
    # by hand: only Durham's 15-24 grow, by half
    extra = 0.5 * lists["DUR01"] * shares["DUR01"][young]
    total = sum(lists.values())
    assert population_growth(cfg, 2).tolist() == pytest.approx([1.0, (total + extra) / total])
    by_locality = locality_population(cfg, year=2)
    assert by_locality["durham"] == pytest.approx(lists["DUR01"] + extra)
    assert by_locality["derwentside"] == pytest.approx(lists["DER01"])
    # ... and without the override nothing grows (the check can fail)
    flat = _model()
    assert population_growth(flat, 2).tolist() == [1.0, 1.0]


@functools.lru_cache(maxsize=2)
def _two_years(durham_growth: float):
    data = _data()
    data["site"]["localities"]["durham"]["population_index"] = {
        b: [1.0, durham_growth] for b in AGE_BANDS
    }
    data["experiment"]["run_weeks"] = 104
    data["experiment"]["warmup_weeks"] = 1
    cfg = configure(data).model
    return cfg, run_replication(cfg, SEED, 0, 1, 104, keep_detail=True)


def test_a_growing_locality_has_more_needs_and_the_others_do_not():
    cfg, res = _two_years(1.2)
    k = res.detail["inputs"]
    durham = list(cfg.site.practices).index("DUR01")
    counts = {}
    for year in (1, 2):
        lo = (k.first_day + (year - 1) * DAYS_PER_PROGRAMME_YEAR) * MINUTES_PER_DAY
        here = (k.episodes.time >= lo) & (
            k.episodes.time < lo + DAYS_PER_PROGRAMME_YEAR * MINUTES_PER_DAY
        )
        mine = k.episodes.practice[here] == durham
        counts[year] = (mine.sum(), (~mine).sum())
    (d1, o1), (d2, o2) = counts[1], counts[2]
    crit = stats.norm.ppf(1 - ALPHA / 4)
    for a, b, ratio in ((d1, d2, 1.2), (o1, o2, 1.0)):
        z = (np.log(b / a) - np.log(ratio)) / np.sqrt(1 / a + 1 / b)
        assert abs(z) < crit, (a, b, ratio)
    # per-1,000 rates in year 2 use the grown registered population, worked out here
    lists = np.array([p.list_size for p in cfg.site.practices.values()], dtype=float)
    grown = lists.sum() + 0.2 * lists[durham]
    day = k.journeys.appointment_day
    lo = k.first_day + DAYS_PER_PROGRAMME_YEAR
    appts = ((day >= lo) & (day < lo + DAYS_PER_PROGRAMME_YEAR)).sum()
    got = res.kpis_by_year[2]["practice.appointments_per_1000_week"]
    assert got == pytest.approx(appts / (grown / 1000) / 52, rel=1e-9)


@pytest.mark.parametrize(
    "key,value,rule",
    [
        (
            "site.localities.durham.population_index",
            {"15-24": [1.0, 1.1, 1.2]},
            "as many as site.population_index gives (2)",
        ),
        ("site.localities.durham.population_index", {"15-24": [1.1, 1.2]}, "must be 1"),
        ("site.practices.DUR01.population_index", {"16-24": [1.0, 1.2]}, "16-24"),
        ("site.practices.DUR01.population_index", {"85+": [1.0, -0.2]}, ">= 0"),
        (
            "site.practices.DUR01.population_index",
            {"85+": [1.0, 1.2], "0-4": [1.0]},
            "one value per year",
        ),
    ],
)
def test_a_bad_local_index_is_refused_naming_the_key_the_value_and_the_rule(key, value, rule):
    with pytest.raises(ConfigError) as err:
        configure(_data(), {key: value})
    assert err.value.key.startswith(key)
    assert rule in str(err.value)
    assert "\n" not in str(err.value)
