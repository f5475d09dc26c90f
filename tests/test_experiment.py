"""Experiments: confidence intervals over replications (t-based, on a log or logit scale for
quantities with a range: docs/experiments.md), and results that depend only on the seed (not
on the number of worker processes, nor on having run before)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SEED, configure, small_site
from scipy import special, stats

from sim.config.schema import Experiment
from sim.core.kpis import KPI_DEFINITIONS
from sim.core.statistics import bounds_for_unit, t_interval
from sim.experiments.replications import (
    kpi_table,
    ledger_table,
    run_experiment,
    summarise,
)

KNOWN = np.array([12.1, 9.8, 11.4, 10.7, 13.0, 10.2, 11.9])


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
def test_t_interval_matches_scipy(level):
    mean, lo, hi = t_interval(KNOWN, level)
    ref_lo, ref_hi = stats.t.interval(
        level, df=len(KNOWN) - 1, loc=KNOWN.mean(), scale=stats.sem(KNOWN)
    )
    assert mean == pytest.approx(KNOWN.mean(), rel=1e-12)
    assert lo == pytest.approx(ref_lo, rel=1e-12)
    assert hi == pytest.approx(ref_hi, rel=1e-12)


def test_t_interval_by_hand():
    # 1..5: mean 3, s = sqrt(2.5), sem = sqrt(0.5); t(0.975, 4) = 2.776445 (tables).
    mean, lo, hi = t_interval(np.array([1.0, 2, 3, 4, 5]), 0.95)
    half = 2.776445 * np.sqrt(0.5)
    assert mean == 3
    assert (lo, hi) == pytest.approx((3 - half, 3 + half), abs=1e-5)


def test_t_interval_ignores_missing_values_and_needs_two():
    with_nan = t_interval(np.array([1.0, np.nan, 2.0, 4.0, np.inf]), 0.95)
    assert with_nan == pytest.approx(t_interval(np.array([1.0, 2.0, 4.0]), 0.95))
    mean, lo, hi = t_interval(np.array([7.5]), 0.95)
    assert mean == 7.5 and np.isnan(lo) and np.isnan(hi)
    assert all(np.isnan(t_interval(np.array([]), 0.95)))


def test_summarise_on_a_hand_made_table():
    known = next(iter(KPI_DEFINITIONS))
    kpis = pd.DataFrame(
        {
            "replication": [0, 1, 2, 0, 1, 2],
            "kpi": [known] * 3 + ["extra.measure"] * 3,
            "value": [1.0, 2.0, 6.0, 5.0, np.nan, 7.0],
        }
    )
    s = summarise(kpis, 0.95).set_index("kpi")
    assert list(s.index) == [known, "extra.measure"]  # registry order, then the rest
    assert s.loc[known, "mean"] == pytest.approx(3.0)
    assert s.loc[known, "n"] == 3 and s.loc["extra.measure", "n"] == 2
    assert s.loc["extra.measure", "mean"] == pytest.approx(6.0)
    assert s.loc[known, "unit"] == KPI_DEFINITIONS[known].unit
    # appointments per 1,000 a week cannot be negative: the t-interval on the log scale
    assert KPI_DEFINITIONS[known].unit.startswith("appointments")
    half = stats.t.ppf(0.975, 2) * stats.sem([1.0, 2.0, 6.0])
    ref = (3.0 * np.exp(-half / 3.0), 3.0 * np.exp(half / 3.0))
    assert (s.loc[known, "ci_low"], s.loc[known, "ci_high"]) == pytest.approx(ref)


def _reference_interval(v: np.ndarray, unit: str) -> tuple[float, float]:
    """docs/experiments.md's rule, written out independently: logit scale for shares, log
    scale for everything else (all non-negative), zero width when every value is equal."""
    m = v.mean()
    if v.std() == 0:
        return (m, m)
    half = stats.t.ppf(0.975, len(v) - 1) * stats.sem(v)
    if unit.startswith("share"):
        z, dz = special.logit(m), half / (m * (1 - m))
        return (special.expit(z - dz), special.expit(z + dz))
    return (m * np.exp(-half / m), m * np.exp(half / m))


# --------------------------------------------------------------------------------------------
# Reproducibility
# --------------------------------------------------------------------------------------------


def experiment(n_jobs: int) -> Experiment:
    return Experiment(
        replications=4, warmup_weeks=1, run_weeks=2, n_jobs=n_jobs, ci_level=0.95, name="test"
    )


@pytest.fixture(scope="module")
def serial_results(real_data):
    run_cfg = configure(small_site(real_data))
    return run_cfg, run_experiment(run_cfg.model, experiment(1), SEED, progress=False)


def test_serial_equals_parallel(serial_results):
    run_cfg, serial = serial_results
    parallel = run_experiment(run_cfg.model, experiment(2), SEED, progress=False)
    assert [r.replication for r in parallel] == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(kpi_table(serial), kpi_table(parallel), check_exact=True)
    pd.testing.assert_frame_equal(ledger_table(serial), ledger_table(parallel), check_exact=True)
    assert [r.episodes_total for r in serial] == [r.episodes_total for r in parallel]


def test_repeated_run_gives_identical_numbers(serial_results):
    run_cfg, first = serial_results
    again = run_experiment(run_cfg.model, experiment(1), SEED, progress=False)
    pd.testing.assert_frame_equal(kpi_table(first), kpi_table(again), check_exact=True)
    pd.testing.assert_frame_equal(ledger_table(first), ledger_table(again), check_exact=True)
    # Replications differ from each other (otherwise the CI would be meaningless).
    eps = [r.episodes_total for r in first]
    assert len(set(eps)) > 1


def test_summary_of_an_experiment(serial_results):
    _, results = serial_results
    table = kpi_table(results)
    summary = summarise(table, 0.95).set_index("kpi")
    for kpi, values in table.groupby("kpi")["value"]:
        v = values.to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        assert summary.loc[kpi, "n"] == len(v)
        if len(v) >= 2:
            ref = _reference_interval(v, KPI_DEFINITIONS[kpi].unit)
            got = (summary.loc[kpi, "ci_low"], summary.loc[kpi, "ci_high"])
            assert got == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_every_kpi_lies_in_the_range_its_unit_gives(serial_results):
    """The intervals rely on this rule (sim.core.statistics.bounds_for_unit): a KPI that could
    go negative, or a share above 1, needs a rule of its own before it is reported."""
    _, results = serial_results
    table = kpi_table(results).dropna(subset=["value"])
    assert set(table.kpi) <= set(KPI_DEFINITIONS)
    for kpi, values in table.groupby("kpi")["value"]:
        low, high = bounds_for_unit(KPI_DEFINITIONS[kpi].unit)
        assert values.min() >= low and values.max() <= high, kpi


def test_the_printed_summary_shows_none_as_0_not_as_a_measured_figure():
    from sim.experiments.run_folder import format_summary

    rows = [
        ("ae_four_hour", "share of attendances", 0.046, 0.032, 0.065, 5),
        ("frailty_team_assessments", "patients per week", 0.0, 0.0, 0.0, 5),
        ("ae_attendances", "attendances per week", 1439.2, 1430.4, 1448.1, 5),
    ]
    table = pd.DataFrame(rows, columns=["kpi", "unit", "mean", "ci_low", "ci_high", "n"])
    lines = format_summary(table, 0.95, ["ae_attendances"]).splitlines()
    four_hour, frailty, attendances = lines[2:5]
    assert "0.046" in four_hour and "0.032 to 0.065" in four_hour
    assert "35.9%" in four_hour  # half of 0.065 - 0.032, over 0.046
    # a service the scenario does not have: 0 in every replication, no share of the mean
    assert frailty.split()[-8:-3] == ["0", "0", "to", "0", "-"] and "0.000" not in frailty
    assert "1,439" in attendances and "1,430 to 1,448" in attendances and "*" in attendances
