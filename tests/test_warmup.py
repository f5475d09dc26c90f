"""Warm-up analysis (sim.tools.warmup): MSER-5 on series with known behaviour, the daily series of a
real (small) pilot run, the recommendation and the command line's handling of bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import SEED, configure, small_site
from system_helpers import bank_holiday_days, run_config

import sim.cli
from sim.core.replication import run_replication
from sim.tools import warmup
from sim.tools.warmup import mser, truncation_day

N = 1000  # observations in each synthetic series
SYNTHETIC_SEEDS = range(20)


def ar1(rng: np.random.Generator, n: int, phi: float = 0.5, sd: float = 1.0) -> np.ndarray:
    """Stationary AR(1) with mean 0 (started from its stationary distribution)."""
    e = rng.normal(0.0, sd, n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def naive_mser(x: np.ndarray, batch: int) -> tuple[int, np.ndarray]:
    """Textbook MSER-m, one candidate at a time (reference for the vectorised version)."""
    k = len(x) // batch
    z = [float(np.mean(x[j * batch : (j + 1) * batch])) for j in range(k)]
    curve = []
    for d in range(k):
        if d >= k / 2:  # search the first half: more than half the batches kept
            break
        tail = z[d:]
        mean = sum(tail) / len(tail)
        curve.append(sum((v - mean) ** 2 for v in tail) / len(tail) ** 2)
    best = min(range(len(curve)), key=lambda i: (curve[i], i))
    return best * batch, np.array(curve)


# --------------------------------------------------------------------------------------------
# MSER on synthetic series
# --------------------------------------------------------------------------------------------


def test_mser_truncates_at_the_end_of_a_known_transient():
    # Exponential rise from 0 to a mean of 10 (time constant 20) plus stationary AR(1) noise
    # (sd 1.15): the bias is 3 noise sds at t = 20, 1 sd at t ~ 43 and 0.1 sd at t ~ 90.
    t = np.arange(N)
    cuts = []
    for s in SYNTHETIC_SEEDS:
        x = 10 * (1 - np.exp(-t / 20)) + ar1(np.random.default_rng(s), N)
        cut, curve = mser(x)
        assert cut % 5 == 0
        assert cut < N / 2 and curve.size == (N // 5 + 1) // 2
        cuts.append(cut)
    cuts = np.array(cuts)
    assert cuts.min() >= 20, cuts  # never keeps the steep part of the transient
    assert cuts.max() <= 200, cuts  # nor discards far beyond it (bias < 1e-3 by t = 200)
    assert 35 <= np.median(cuts) <= 90, cuts  # typically where the bias meets the noise


def test_mser_keeps_almost_everything_of_a_stationary_series():
    cuts = np.array([mser(10 + ar1(np.random.default_rng(100 + s), N))[0] for s in SYNTHETIC_SEEDS])
    assert np.median(cuts) <= 10, cuts
    assert cuts.max() <= N // 10, cuts


@pytest.mark.parametrize("batch", [1, 5, 7])
@pytest.mark.parametrize("n", [10, 11, 99, 250, 1003])
def test_vectorised_mser_equals_the_naive_reference(n, batch):
    rng = np.random.default_rng(SEED + n + batch)
    for x in (rng.normal(50, 3, n), rng.exponential(2.0, n), np.cumsum(rng.normal(0, 1, n))):
        if n // batch < 2:
            with pytest.raises(ValueError):
                mser(x, batch)
            continue
        cut, curve = mser(x, batch)
        ref_cut, ref_curve = naive_mser(x, batch)
        np.testing.assert_allclose(curve, ref_curve, rtol=1e-9, atol=1e-12)
        assert cut == ref_cut


def test_mser_edge_cases():
    cut, curve = mser(np.full(40, 3.0))
    assert cut == 0 and np.all(curve == 0)  # constant: nothing to remove
    with pytest.raises(ValueError, match="NaN"):
        mser(np.array([1.0, np.nan] * 10))
    with pytest.raises(ValueError, match="at least 10"):
        mser(np.arange(9.0))
    with pytest.raises(ValueError, match="batch"):
        mser(np.arange(20.0), 0)


def test_a_series_still_trending_hits_the_search_limit():
    day, curve, hit = truncation_day(np.arange(100.0))
    assert hit and day == 5 * (curve.size - 1)
    day, _, hit = truncation_day(np.full(100, 2.0))
    assert not hit and day == 0


def test_undefined_days_are_dropped_and_the_cut_mapped_back_to_days():
    # Working days only (Mon-Fri), weekends NaN: 5 working days a batch = one week a batch.
    weeks = 20
    values = np.full(7 * weeks, np.nan)
    working = np.flatnonzero(np.arange(7 * weeks) % 7 < 5)
    values[working] = np.where(working < 7 * 6, 0.0, 10.0)  # level shift after 6 weeks
    values[working] += np.random.default_rng(SEED).normal(0, 0.1, working.size)
    day, _, hit = truncation_day(values)
    assert day == 42 and not hit  # the Monday of week 6, in simulation days
    assert np.isnan(truncation_day(np.full(30, np.nan))[0])


def test_booked_ahead_counts_bookings_made_before_the_day_for_that_day_or_later():
    booked_minute = np.array([0.0, 100.0, 1500.0, 2000.0, np.nan, 3000.0])
    appointment_day = np.array([3, 0, 1, 5, 2, -1])
    got = warmup._booked_ahead(booked_minute, appointment_day, 5)
    # day 0 nothing booked yet; day 1: #0 (for day 3); day 2: #0, #2 was for day 1 so not,
    # #3 booked on day 1 for day 5; day 3: #0, #3; day 4: #3.
    np.testing.assert_array_equal(got, [0, 1, 2, 2, 1])


# --------------------------------------------------------------------------------------------
# A real pilot: three practices, 8 weeks, 2 replications
# --------------------------------------------------------------------------------------------

PILOT_WEEKS = 8


@pytest.fixture(scope="module")
def pilot_report(real_data):
    cfg = configure(small_site(real_data)).model
    return warmup.recommend_warmup(cfg, SEED, replications=2, pilot_weeks=PILOT_WEEKS)


def test_recommend_warmup_gives_whole_weeks_within_the_first_half(pilot_report):
    weeks = pilot_report.recommended_weeks
    assert isinstance(weeks, int)
    assert 0 <= weeks <= PILOT_WEEKS / 2
    assert weeks == max(pilot_report.weeks_by_series.values())
    assert set(pilot_report.series) == set(warmup.SERIES)
    for name, values in pilot_report.series.items():
        assert values.shape == (2, 7 * PILOT_WEEKS), name
        days = pilot_report.truncation_days[name]
        assert days.shape == (2,)
        assert np.all((days[np.isfinite(days)] >= 0) & (days[np.isfinite(days)] <= 28)), name
        assert len(pilot_report.curves[name]) == 2


def test_pilot_series_start_empty_and_fill(pilot_report):
    s = pilot_report.series
    for name in ("practice_booked_ahead", "hub_booked_ahead", "ic_occupancy", "bed_occupancy"):
        first_day, last_week = s[name][:, 0], s[name][:, -7:].mean(axis=1)
        assert np.all(first_day < 0.2 * last_week), (name, first_day, last_week)
    tna = s["practice_third_next_available"]
    # sampled on working days only: not at weekends, not on bank holidays
    shut = np.arange(7 * PILOT_WEEKS) % 7 >= 5
    shut[sorted(bank_holiday_days(run_config().model, 7 * PILOT_WEEKS))] = True
    assert np.isnan(tna[:, shut]).all() and np.isfinite(tna[:, ~shut]).all()
    assert np.all(tna[:, 0] < np.nanmean(tna[:, -7:-2], axis=1))


def test_pilot_replications_match_the_experiment_streams(real_data, pilot_report):
    # Replication r of the pilot is replication r of an experiment with the same seed.
    cfg = configure(small_site(real_data)).model
    again = warmup.pilot_series(cfg, SEED, 1, PILOT_WEEKS)
    for name, values in again.items():
        np.testing.assert_array_equal(values, pilot_report.series[name][1])


def test_kpi_bias_reference_window_is_the_experiment_itself(real_data):
    # The reference (longest) warm-up's window ends where the long run ends, so its KPIs are
    # exactly those of a replication run with that warm-up: the shifted windows measure the
    # same model, not an approximation of it.
    cfg = configure(small_site(real_data)).model
    table = warmup.kpi_bias_by_warmup(cfg, SEED, warmups=(0, 2), run_weeks=3, replications=1)
    ref = table[table["warmup_weeks"] == 2].set_index("kpi")
    direct = run_replication(cfg, SEED, 0, 2, 3).kpis
    assert list(ref.index) == list(direct)
    np.testing.assert_allclose(ref["mean"].to_numpy(), list(direct.values()), equal_nan=True)
    assert (ref["difference"].fillna(0) == 0).all()
    early = table[table["warmup_weeks"] == 0].set_index("kpi")
    # measured from empty books: the first weeks show shorter GP waits
    assert early.loc["practice.third_next_available_days", "difference"] < 0


def test_outputs_are_written_with_the_manifest_last(pilot_report, tmp_path):
    warmup.write_outputs(pilot_report, tmp_path, {"status": "running", "seed": SEED})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["recommended_warmup_weeks"] == pilot_report.recommended_weeks
    table = (tmp_path / "warmup.csv").read_text(encoding="utf-8-sig").splitlines()
    assert table[0].startswith("series,unit,truncation_day_rep0,truncation_day_rep1")
    assert len(table) == 1 + len(warmup.SERIES)
    assert (tmp_path / "warmup.png").stat().st_size > 10_000
    assert (tmp_path / "series.csv").exists()
    assert "Recommended warm-up" in warmup.format_table(pilot_report)


# --------------------------------------------------------------------------------------------
# Command line: bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, names",
    [
        (["pilot_weeks=0"], "pilot_weeks"),
        (["warmup.replications=two"], "warmup.replications"),
        (["warmup.no_such=1"], "warmup.no_such"),
        (["seed=-1"], "seed"),
        (["site.intermediate_care.places=-5"], "site.intermediate_care.places"),
        (["no_such_key=1"], "no_such_key"),
        (["scenario=no_such_option"], "scenario"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, names, capsys, tmp_path):
    code = warmup.main([*args, f"output_dir={tmp_path}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == sim.cli.EXIT_CONFIG_ERROR
    assert len(err) == 1 and err[0].startswith("Configuration error: ") and names in err[0]
    assert not any(tmp_path.iterdir())  # nothing written


def test_cli_bad_input_exits_2_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "warmup", "pilot_weeks=1", f"output_dir={tmp_path}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip().startswith("Configuration error: pilot_weeks = 1")
    assert not any(tmp_path.iterdir())
