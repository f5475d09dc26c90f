"""The validation suite (``python -m sim validate``): its theory is right, the quick suite
passes, and every check can fail.

A check that cannot fail validates nothing, so for each group a wrong theory, a broken
component or a configuration that departs from the theory is fed in and the check must say
FAIL (and the command exit with a non-zero status). Runs use fixed seeds (deterministic).
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SEED
from numba import njit

import sim.tools.validate as v
from sim.booking.books import book_earliest, book_future
from sim.core import replication
from sim.services import emergency_department, intermediate_care

PROJECT = Path(__file__).resolve().parent.parent
#: A small site for the whole-model checks that must run twice (patched and not): one practice
#: per locality, IC+ sized to that population and busy (every frail admission offered a
#: step-down), so Little's law on IC+ is measured on a full, queueing caseload.
SMALL_SITE_KEEP = ("CLS01", "DUR01", "DER01")
SMALL_IC = (
    "site.intermediate_care.places=30",
    "assumptions.intermediate_care.step_down_share_of_admissions=1.0",
    "assumptions.intermediate_care.step_up_share_from_practice=0.2",
)
SMALL_DESIGN = v.Design(replications=6, warmup_weeks=13, run_weeks=39)
#: Bonferroni level of the full suite's 11 theory checks.
LEVEL = v.check_level(["mmc_ae", "backlog", "nhpp", "little"])


def small_site_overrides() -> list[str]:
    codes = list(v.compose_run_config(None).model.site.practices)
    return [f"~site.practices.{c}" for c in codes if c not in SMALL_SITE_KEEP] + list(SMALL_IC)


def failed(checks: list[v.Check]) -> list[str]:
    return [c.check for c in checks if not c.passed]


# --------------------------------------------------------------------------------------------
# The theory itself
# --------------------------------------------------------------------------------------------


def test_erlang_c_matches_known_values():
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lambda)
    assert v.erlang_c(1, 0.7) == pytest.approx(0.7)
    mm1 = v.MMcTheory(0.7, 1.0, 1, 0.0)
    assert mm1.mean_wait == pytest.approx(0.7 / (1 - 0.7))
    # M/M/2: C = a^2 / (2 + a) by the closed form, 1/3 at a = 1
    assert v.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # Tabulated: c = 4, a = 3 -> 0.5094
    assert v.erlang_c(4, 3.0) == pytest.approx(0.509434, abs=1e-6)
    with pytest.raises(ValueError):
        v.erlang_c(3, 3.0)  # no steady state


def test_backlog_theory_matches_an_independent_solution():
    """The stationary solution (linear solve) against plain iteration of the distribution of
    ``B' = max(B + A - K, 0)`` and lead times enumerated request by request."""
    from scipy import stats

    lam, k = 4.2, 5
    theory = v.backlog_theory(lam, k)
    assert theory.tail_mass < 1e-12
    m, a_max = 400, 40
    pa = stats.poisson.pmf(np.arange(a_max + 1), lam)
    pi = np.zeros(m + 1)
    pi[0] = 1.0
    for _ in range(3000):
        new = np.zeros(m + 1)
        for a, p in enumerate(pa):
            shifted = np.maximum(np.arange(m + 1) + a - k, 0).clip(max=m)
            np.add.at(new, shifted, pi * p)
        pi = new
    assert theory.mean_backlog == pytest.approx((pi * np.arange(m + 1)).sum(), rel=1e-9)
    lead = same = 0.0
    for b in range(80):
        for a, p in enumerate(pa):
            for j in range(a):
                w = pi[b] * p
                lead += w * ((b + j) // k)
                same += w * ((b + j) < k)
    assert theory.mean_lead_days == pytest.approx(lead / lam, rel=1e-6)
    assert theory.same_day_share == pytest.approx(same / lam, rel=1e-6)


def test_expected_counts_integrate_the_configured_rate():
    """Flat profiles: every hour of the week expects annual / (365.25 x 24) per day."""
    flat_hours = np.full((7, 24), 1 / 24)
    counts = v.expected_hour_of_week_counts(
        8766.0, [1 / 7] * 7, flat_hours, [1.0] * 12, "2025-04-07", days=14
    )
    np.testing.assert_allclose(counts, 2 * 8766.0 / (365.25 * 24) * np.ones(168))


def test_chi_square_check_accepts_poisson_counts_and_rejects_wrong_ones():
    rng = np.random.default_rng(SEED)
    expected = rng.uniform(20, 200, 168)
    ok = v.chi_square_check("t", "poisson", rng.poisson(expected), expected, LEVEL)
    assert ok.passed and 0 < ok.p_value <= 1
    shifted = v.chi_square_check("t", "shifted", rng.poisson(np.roll(expected, 1)), expected, LEVEL)
    assert not shifted.passed
    # Too good to be Poisson (counts equal to their expectation) fails too: two-sided.
    exact = v.chi_square_check("t", "exact", np.round(expected), expected, LEVEL)
    assert not exact.passed


def test_ci_check_needs_an_interval_and_theory_inside_it():
    assert v.ci_check("t", "in", [1.0, 1.1, 0.9, 1.05], 1.0, 0.95).passed
    assert not v.ci_check("t", "out", [1.0, 1.1, 0.9, 1.05], 2.0, 0.95).passed
    # One replication gives no interval: never a pass.
    assert not v.ci_check("t", "one", [1.0], 1.0, 0.95).passed


# --------------------------------------------------------------------------------------------
# The quick suite passes, end to end through the command
# --------------------------------------------------------------------------------------------


def test_quick_validation_passes(tmp_path, capsys):
    code = v.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    folder = Path(lines[-1])
    assert code == 0, out
    assert folder.parent == tmp_path and folder.is_dir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["passed"] is True
    assert manifest["details"]["skipped"] == ["calibration"]
    table = pd.read_csv(folder / "validation.csv")
    assert set(table["group"]) == {"mmc_ae", "backlog", "nhpp", "little"}
    assert len(table) == 11 and table["passed"].all()
    assert "PASSED: all 11 checks" in out and "FAIL" not in out


def test_mmc_results_do_not_depend_on_workers():
    one, _ = v.run_mmc(quick=True, n_jobs=1, level=LEVEL)
    two, _ = v.run_mmc(quick=True, n_jobs=2, level=LEVEL)
    assert [c.simulated for c in one] == [c.simulated for c in two]


# --------------------------------------------------------------------------------------------
# Every check can fail
# --------------------------------------------------------------------------------------------


def test_mmc_checks_fail_against_a_wrong_theory():
    checks, info = v.run_mmc(quick=True, level=LEVEL)
    assert not failed(checks), checks
    right = v.MMcTheory(
        info["lambda_per_hour"] / 60, info["service_mean_minutes"], info["servers"], 0.001
    )
    wrong = v.MMcTheory(
        right.arrivals_per_minute, right.service_mean_minutes, right.servers + 1, 0.001
    )
    checks, _ = v.run_mmc(quick=True, level=LEVEL, theory=wrong)
    assert len(failed(checks)) == 4, checks


def test_mmc_command_fails_when_service_is_not_exponential(tmp_path):
    """Constant clinician time (lognormal with median = mean) makes A&E an M/D/c queue: about
    half the Erlang C wait. The command must report FAIL and exit 1."""
    cmd = [
        sys.executable, "-m", "sim", "validate", "--quick", "--checks", "mmc_ae",
        "--out", str(tmp_path),
        "assumptions.ae.service_distribution=lognormal",
        "assumptions.ae.service_minutes.minors.median=30",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == v.EXIT_FAILED, proc.stdout + proc.stderr
    assert "FAIL" in proc.stdout
    folder = Path(proc.stdout.strip().splitlines()[-1])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["passed"] is False
    table = pd.read_csv(folder / "validation.csv")
    wait = table.set_index("check").loc["A&E M/M/c: mean wait for a clinician"]
    assert not wait["passed"] and wait["ci_high"] < wait["theory"]
    assert "not exponential" in wait["note"]


def test_mmc_command_refuses_a_rota_that_is_not_constant(tmp_path, capsys):
    rota = "[" + ",".join(["4"] * 12 + ["5"] * 12) + "]"
    code = v.main(
        ["--quick", "--checks", "mmc_ae", "--out", str(tmp_path),
         f"site.emergency_department.minors_clinicians_by_hour={rota}"]
    )  # fmt: skip
    assert code == 2
    assert "same number" in capsys.readouterr().err


@njit
def off_by_one_booking(bk, b, today, minute, first_day, last_day):
    """The production booking function with a classic bug: today's last free slot is never
    offered for same-day booking (``<`` where ``<=`` was meant), so it is only ever taken in
    advance."""
    if bk.pre_len[b, today] - bk.next_pre[b, today] <= 1:
        return book_future(bk, b, today, today + 1, last_day)
    return book_earliest(bk, b, today, minute, first_day, last_day)


def test_backlog_checks_fail_for_a_broken_book():
    design = v.QUICK_BACKLOG
    ok, _ = v.run_backlog(design, seed=SEED, level=LEVEL)
    assert not failed(ok), ok
    bad, _ = v.run_backlog(design, seed=SEED, level=LEVEL, book_request=off_by_one_booking)
    assert "share booked same day" in " ".join(failed(bad)), bad
    assert len(failed(bad)) >= 2, bad


def test_backlog_checks_fail_against_the_wrong_capacity():
    design = v.QUICK_BACKLOG
    wrong = v.backlog_theory(design.requests_per_day, design.slots_per_day + 1)
    checks, _ = v.run_backlog(design, seed=SEED, level=LEVEL, theory=wrong)
    assert len(failed(checks)) == 3, checks


@pytest.fixture(scope="module")
def small_baseline():
    """Baseline replications of the small site (shared by the nhpp, little and calibration
    tests below), serial so that monkeypatched runs are comparable."""
    overrides = small_site_overrides()
    run_cfg, design, _, reps = v.run_baseline(overrides, SEED, SMALL_DESIGN, n_jobs=1)
    return overrides, run_cfg, design, reps


def test_nhpp_checks_fail_against_a_rate_shifted_by_an_hour(small_baseline):
    _, run_cfg, design, reps = small_baseline
    days = 7 * (design.warmup_weeks + design.run_weeks)
    assert not failed(v.nhpp_checks(reps, run_cfg.model, days, LEVEL))
    shifted = copy.deepcopy(run_cfg.model)
    shifted.assumptions.ae.hour_share = list(np.roll(shifted.assumptions.ae.hour_share, 1))
    d = shifted.assumptions.demand
    d.hour_share_weekday = list(np.roll(d.hour_share_weekday, 1))
    d.hour_share_weekend = list(np.roll(d.hour_share_weekend, 1))
    assert len(failed(v.nhpp_checks(reps, shifted, days, LEVEL))) == 2


def test_little_checks_fail_on_a_broken_mechanism(small_baseline, monkeypatch):
    """L comes from each stage's census of its own state, W from the recorded times. A&E
    patients who leave without the department counting one departure in ten (a leak in its
    state), and IC+ stays recorded a tenth shorter than the places were held: both break
    L = lambda W and must be caught."""
    overrides, _, _, reps = small_baseline
    assert not failed(v.little_checks(reps, LEVEL))

    patients = itertools.count()

    def leaking(census):
        counted = next(patients) % 10 != 0

        def callback(_event):
            if counted:
                census.present -= 1

        return callback

    original_ic = intermediate_care.simulate_admissions_and_ic

    def short_records(*args, **kwargs):
        result = original_ic(*args, **kwargs)
        stays = result.stays
        stays.end = stays.start + 0.9 * (stays.end - stays.start)
        return result

    monkeypatch.setattr(emergency_department, "_leave", leaking)
    monkeypatch.setattr(replication, "simulate_admissions_and_ic", short_records)
    _, _, _, broken = v.run_baseline(overrides, SEED, SMALL_DESIGN, n_jobs=1)
    assert failed(v.little_checks(broken, LEVEL)) == [
        "Little's law, A&E: L / (lambda W)",
        "Little's law, IC+: L / (lambda W)",
    ]


def test_calibration_check_fails_outside_the_tolerance(small_baseline):
    _, run_cfg, _, reps = small_baseline
    checks = v.calibration_checks(reps, run_cfg)
    assert len(checks) == len(run_cfg.calibration.targets)
    cfg = copy.deepcopy(run_cfg)
    for target, check in zip(cfg.calibration.targets, checks, strict=True):
        assert math.isfinite(check.simulated)
        target.value = check.simulated + 0.5 * target.tolerance  # within
    assert not failed(v.calibration_checks(reps, cfg))
    for target, check in zip(cfg.calibration.targets, checks, strict=True):
        target.value = check.simulated + 1.5 * target.tolerance  # outside
    assert len(failed(v.calibration_checks(reps, cfg))) == len(checks)


# --------------------------------------------------------------------------------------------
# The validation configurations run through the normal CLI
# --------------------------------------------------------------------------------------------


def test_mmc_config_runs_through_the_normal_cli(tmp_path):
    cmd = [
        sys.executable, "-m", "sim", "+validation=mmc_ae",
        "experiment.replications=1", "experiment.run_weeks=1", "experiment.n_jobs=1",
        f"hydra.run.dir={tmp_path}",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("kpi")["mean"]
    assert summary["system.episodes_per_week"] == 0  # only self-presenting arrivals
    assert summary["ae.admissions_per_week"] == 0
    assert 900 < summary["ae.attendances_per_week"] < 1100  # ~6 an hour
