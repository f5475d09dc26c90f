"""PSA distributions of the programme's inputs: population growth (``site.population_index``,
``apply: growth``) and the GP recruitment lag (whole weeks).

The draws' means and spreads are compared with the configured values, the widths worked out
here from the sources' figures (not read back from the code); draws at the extreme quantiles
stay in range; each check is also run on a deliberately broken sampler and must fail; and a
PSA set's drawn values reach the model through the production path (plan -> parameter set ->
the option's model -> the functions a run uses).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest
from scipy import stats

from sim.config.compose import compose_config, compose_validated, option_changes, plain
from sim.config.schema import AGE_BANDS, ConfigError
from sim.config.uncertainty import parse_uncertainty, quantile
from sim.core.demand import population_growth, practice_age_shares
from sim.experiments import psa

BASE = ["+uncertainty=england_2024"]
#: The variants' growth is 0.69-1.27 times the principal's (ONS 2022-based national
#: projections, 2022-32: low 3.4m, high 6.2m against 4.9m), read as a 95% interval [NPP22]
GROWTH_CV = 0.15
#: Salaried GP 5.2 months, partner 6.6 months to recruit [PULSE16], in weeks, as a 95% interval
LAG_RANGE = (5.2 * 365.25 / 7 / 12, 6.6 * 365.25 / 7 / 12)
#: Quantiles of a fine grid: moments by quadrature, not by chance
GRID = (np.arange(4000) + 0.5) / 4000


@functools.lru_cache(maxsize=1)
def _inputs():
    _, _, data = compose_validated(BASE)
    _, inputs = parse_uncertainty(
        data["uncertainty"], data["site"], data["assumptions"], option_changes
    )
    return {r.spec.setting: r for r in inputs}, data


def _growth():
    return _inputs()[0]["site.population_index"]


def _lag():
    return _inputs()[0]["assumptions.workforce.gp.recruitment_lag_weeks"]


def growth_problems(draw, central: dict[str, list[float]], cv: float) -> list[str]:
    """What is wrong with a sampler of the population index (``draw(u)`` -> index)."""
    problems = []
    draws = [draw(np.array([u])) for u in GRID]
    for band in AGE_BANDS:
        c = np.array(central[band])
        got = np.array([d[band] for d in draws])  # (quantile, year)
        if not (got[:, 0] == c[0]).all():
            problems.append(f"{band}: year 1 moved")
        if not (got > 0).all():
            problems.append(f"{band}: an index at or below 0")
        year = int(np.argmax(np.abs(np.log(c))))  # the year furthest from year 1
        if c[year] == 1:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):  # a broken sampler's values
            m = np.log(got[:, year] / c[0]) / np.log(c[year] / c[0])  # the drawn multiplier
        if abs(m.mean() - 1) > 0.01:
            problems.append(f"{band}: mean multiplier {m.mean():.3f}, not 1")
        if abs(m.std() - cv) > 0.01:
            problems.append(f"{band}: multiplier sd {m.std():.3f}, not {cv}")
    return problems


def lag_problems(draw, central: float, cv: float, low: float = 1) -> list[str]:
    """What is wrong with a sampler of the recruitment lag (``draw(u)`` -> weeks)."""
    got = np.array([draw(np.array([u])) for u in GRID], dtype=float)
    problems = []
    if not all(float(x).is_integer() for x in got):
        problems.append("not whole weeks")
    if (got < low).any():
        problems.append(f"below {low} week")
    # the rounded gamma's moments, computed here from its cdf
    shape = 1 / cv**2
    dist = stats.gamma(shape, scale=central / shape)
    k = np.arange(0, int(central * 3))
    p = dist.cdf(k + 0.5) - dist.cdf(k - 0.5)
    mean = (k * p).sum()
    sd = math.sqrt((k**2 * p).sum() - mean**2)
    if abs(got.mean() - mean) > 0.02:
        problems.append(f"mean {got.mean():.3f}, not {mean:.3f}")
    if abs(got.std() - sd) > 0.03:
        problems.append(f"sd {got.std():.3f}, not {sd:.3f}")
    return problems


def test_population_growth_draws_have_mean_one_and_the_sourced_width_and_stay_above_zero():
    r = _growth()
    assert r.cv == pytest.approx(GROWTH_CV)
    assert growth_problems(lambda u: r.draw(r.central, u), r.central, GROWTH_CV) == []


def test_recruitment_lag_draws_are_whole_weeks_with_the_sourced_mean_and_width():
    r = _lag()
    cv = (LAG_RANGE[1] - LAG_RANGE[0]) / (2 * 1.959964) / 26
    assert r.central == 26
    assert r.cv == pytest.approx(cv, rel=5e-3)  # the YAML rounds the weeks to 0.1
    assert lag_problems(lambda u: r.draw(r.central, u), 26, r.cv) == []


def test_the_checks_fail_on_broken_samplers():
    g, lag = _growth(), _lag()

    def scaled(u):  # multiplies every value, year 1 included (apply: scale)
        m = quantile("gamma", 1.0, GROWTH_CV, float(u[0]))
        return {b: [x * m for x in v] for b, v in g.central.items()}

    def linear(u):  # 1 + m (index - 1) with a normal m: can cross 0 and has the wrong shape
        m = 1 + 40 * GROWTH_CV * stats.norm.ppf(float(u[0]))
        return {b: [1 + m * (x - 1) for x in v] for b, v in g.central.items()}

    def too_wide(u):
        return _grown(g.central, 2 * GROWTH_CV, u)

    assert any("year 1 moved" in p for p in growth_problems(scaled, g.central, GROWTH_CV))
    assert any("at or below 0" in p for p in growth_problems(linear, g.central, GROWTH_CV))
    assert any("sd" in p for p in growth_problems(too_wide, g.central, GROWTH_CV))

    def unrounded(u):
        return quantile("gamma", 26.0, lag.cv, float(u[0]))

    def shifted(u):
        return lag.draw(lag.central, u) + 1

    assert "not whole weeks" in lag_problems(unrounded, 26, lag.cv)
    assert any(p.startswith("mean") for p in lag_problems(shifted, 26, lag.cv))


def _grown(central, cv, u):
    m = quantile("gamma", 1.0, cv, float(u[0]))
    return {b: [v[0] * (x / v[0]) ** m for x in v] for b, v in central.items()}


def test_no_draw_leaves_the_range_even_at_extreme_quantiles_and_wide_widths():
    for cv_growth, cv_lag in ((None, None), (1.5, 0.6)):  # as configured, then far wider
        g, lag = _growth(), _lag()
        if cv_growth is not None:
            g, lag = dataclasses.replace(g, cv=cv_growth), dataclasses.replace(lag, cv=cv_lag)
        for u in (1e-12, 1e-6, 0.5, 1 - 1e-6, 1 - 1e-12):
            index = g.draw(g.central, np.array([u]))
            assert all(v[0] == 1 and min(v) > 0 for v in index.values()), (g.cv, u)
            weeks = lag.draw(lag.central, np.array([u]))
            assert isinstance(weeks, int) and 1 <= weeks <= 260, (lag.cv, u, weeks)


def test_a_psa_set_draws_them_through_the_production_path():
    cfg = compose_config([*BASE, "+psa.sets=8", "+psa.options=[]", "experiment=quick"])
    plan = psa.plan_from_data(plain(cfg))
    central = psa.option_model(plan, "baseline", psa.parameter_set(plan, psa.CENTRAL_SET))
    lists = np.array([p.list_size for p in central.site.practices.values()], dtype=float)
    people = (lists[:, None] * practice_age_shares(central)).sum(axis=0)  # by band, year 1
    lags, growth = set(), set()
    for number in range(1, 9):
        pset = psa.parameter_set(plan, number)
        model = psa.option_model(plan, "baseline", pset)
        params = psa.parameter_table(plan, pset).set_index("factor")["value"]
        index = model.site.population_index
        m = params["population_growth"]
        for band in AGE_BANDS:
            expected = [x**m for x in central.site.population_index[band]]
            assert index[band] == pytest.approx(expected, rel=1e-12)
        # the registered population a run uses follows the drawn index, worked out here
        by_hand = np.array([index[b] for b in AGE_BANDS]).T @ people / people.sum()
        assert population_growth(model, 5) == pytest.approx(by_hand, rel=1e-12)
        lag = model.assumptions.workforce.gp.recruitment_lag_weeks
        assert lag == params["gp_recruitment_lag"] and isinstance(lag, int)
        lags.add(lag)
        growth.add(round(float(population_growth(model, 5)[-1]), 6))
    assert len(lags) > 1 and len(growth) == 8  # the sets do differ


@pytest.mark.parametrize(
    "override,key,rule",
    [
        (
            "uncertainty.inputs.gp_recruitment_lag.whole_numbers=false",
            "uncertainty.inputs.gp_recruitment_lag.setting",
            "whole_numbers: true",
        ),
        (
            "+uncertainty.inputs.gp_locum_cover.whole_numbers=true",
            "uncertainty.inputs.gp_locum_cover.whole_numbers",
            "continuous",
        ),
        (
            "uncertainty.inputs.population_growth.distribution=beta",
            "uncertainty.inputs.population_growth.distribution",
            "gamma or lognormal",
        ),
        (
            "uncertainty.inputs.population_growth.setting=assumptions.demand.episodes_per_person_year",
            "uncertainty.inputs.population_growth.apply",
            "series",
        ),
    ],
)
def test_bad_programme_distributions_are_refused(override, key, rule):
    with pytest.raises(ConfigError) as err:
        compose_validated([*BASE, override])
    assert err.value.key == key
    assert rule in err.value.rule
