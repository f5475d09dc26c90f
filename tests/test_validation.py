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
from sim.services.hospital import beds as beds_module
from sim.services.hospital import emergency_department as ed_module
from sim.tools import hospital_theory as ht

PROJECT = Path(__file__).resolve().parent.parent
#: A small site for the whole-model checks that must run twice (patched and not): one practice
#: per locality, IC+ sized to that population and busy (30% of frail admissions leaving
#: through it), so Little's law on IC+ is measured on a full, queueing caseload.
SMALL_SITE_KEEP = ("CLS01", "DUR01", "DER01")
SMALL_IC = (
    "site.intermediate_care.places=30",
    "assumptions.intermediate_care.step_down_share_of_admissions=0.3",
    "assumptions.intermediate_care.step_up_share_from_practice=0.2",
)
SMALL_DESIGN = v.Design(replications=6, warmup_weeks=13, run_weeks=39)
#: Bonferroni level of the full suite's theory checks.
LEVEL = v.check_level(list(v.GROUPS))


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
    assert set(table["group"]) == set(v.GROUPS) - {"calibration"}
    n = sum(v.THEORY_CHECKS[g] for g in v.GROUPS) + 1  # + bed conservation
    assert len(table) == n and table["passed"].all()
    assert f"PASSED: all {n} required checks" in out and "FAIL" not in out


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
    """L comes from the time integrals of the hospital's own counts, lambda W from the
    recorded times (an identity on every sample path when both are right). A&E
    patients who leave without the department counting one departure in ten (a leak in its
    state), and IC+ and bed stays recorded a tenth shorter than they were held: each breaks
    L = lambda W and must be caught."""
    overrides, _, _, reps = small_baseline
    assert not failed(v.little_checks(reps, LEVEL))

    patients = itertools.count()
    original_home = ed_module.EmergencyDepartment._home

    def leaking_home(self, event):  # one majors patient in ten goes home uncounted
        original_home(self, event)
        if next(patients) % 10 == 0:
            self.present += 1

    original_hospital = replication.simulate_hospital

    def short_records(*args, **kwargs):  # stays recorded a tenth shorter than held
        h = original_hospital(*args, **kwargs)
        stays, a = h.ic_stays, h.admissions
        stays["end"] = stays["start"] + 0.9 * (stays["end"] - stays["start"])
        a.leave_time = a.core_time + 0.9 * (a.leave_time - a.core_time)
        return h

    monkeypatch.setattr(ed_module.EmergencyDepartment, "_home", leaking_home)
    monkeypatch.setattr(replication, "simulate_hospital", short_records)
    _, _, _, broken = v.run_baseline(overrides, SEED, SMALL_DESIGN, n_jobs=1)
    assert failed(v.little_checks(broken, LEVEL)) == [
        "Little's law, A&E: L / (lambda W)",
        "Little's law, IC+: L / (lambda W)",
        "Little's law, G&A beds: L / (lambda W)",
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


# --------------------------------------------------------------------------------------------
# The hospital: theory, and every check failing on a broken mechanism
# --------------------------------------------------------------------------------------------


def test_erlang_b_matches_known_values():
    assert ht.erlang_b(1, 1.0) == pytest.approx(0.5)  # a / (1 + a)
    assert ht.erlang_b(2, 1.0) == pytest.approx(0.2)  # (a^2 / 2) / (1 + a + a^2 / 2)
    assert ht.erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)  # tabulated
    t = ht.BedTheory(arrivals_per_minute=0.7, stay_mean_minutes=1.0, beds=1)
    assert t.p_wait == pytest.approx(0.7) and t.mean_wait == pytest.approx(0.7 / 0.3)


def test_boarding_chain_reduces_to_erlang_c_with_ample_beds():
    """With beds to spare nobody boards: spaces are an M/M/S queue (Erlang C) and beds an
    infinite-server queue (mean occupied = admissions x stay)."""
    lam, mean, spaces = 2 / 60, 60.0, 4
    t = ht.boarding_chain(lam, mean, 0.3, 480.0, spaces, beds=40)
    a = lam * mean
    c = v.erlang_c(spaces, a)
    assert t.mean_boarding < 1e-9
    assert t.mean_waiting_for_space == pytest.approx(c * a / (spaces - a), rel=1e-6)
    assert t.p_wait_for_space == pytest.approx(c, rel=1e-6)
    assert t.mean_beds_occupied == pytest.approx(lam * 0.3 * 480.0, rel=1e-6)
    # And blocking appears when beds are short.
    assert ht.boarding_chain(lam, mean, 0.3, 480.0, spaces, beds=6).mean_boarding > 0.1


def test_rota_chain_matches_the_stationary_queues_inside_long_periods():
    """Fast service against 12-hour periods: mid-period the chain is at the stationary M/M/1
    (one clinician) or M/M/2 (two) mean number in system."""
    lam, mean = 1 / 12, 6.0  # rho 0.5 with one clinician, 0.25 each with two
    t = ht.rota_chain(lam, mean, 480, 1200)
    rho1 = lam * mean
    mm1 = rho1 / (1 - rho1)
    a = lam * mean
    mm2 = a + v.erlang_c(2, a) * (a / 2) / (1 - a / 2)
    assert t.mean_in_department_by_hour[3] == pytest.approx(mm1, rel=1e-3)
    assert t.mean_in_department_by_hour[14] == pytest.approx(mm2, rel=1e-3)
    assert t.tail_mass < 1e-12


def test_erlang_bed_checks_fail_when_freed_beds_are_not_given_to_waiters(monkeypatch):
    ok, _ = v.run_erlang_beds(quick=True, level=LEVEL, n_jobs=1)
    assert not failed(ok), ok

    def hoarding(self, row, now):  # a freed bed waits for the next arrival, not the queue
        self.leave_time[row] = now
        self.free += 1

    monkeypatch.setattr(beds_module.AcuteBeds, "release", hoarding)
    bad, _ = v.run_erlang_beds(quick=True, level=LEVEL, n_jobs=1)
    assert any("Erlang C" in name for name in failed(bad)), bad


def test_erlang_loss_checks_fail_when_the_last_bed_is_never_used(monkeypatch):
    original = beds_module.AcuteBeds.request

    def off_by_one(self, row, now, cancel_if_full=False, may_escalate=True):
        if cancel_if_full and self.free <= 1:  # "<=" where "<" was meant
            self.request_time[row] = now
            self.cancelled[row] = True
            return
        original(self, row, now, cancel_if_full, may_escalate)

    monkeypatch.setattr(beds_module.AcuteBeds, "request", off_by_one)
    # One bed in twenty lost raises blocking from 6.4% to 8.8%.
    bad, _ = v.run_erlang_beds(quick=True, level=LEVEL, n_jobs=1)
    assert "Erlang B" in " ".join(failed(bad)), bad


def test_boarding_checks_fail_when_boarders_free_their_space(monkeypatch):
    ok, _ = v.run_boarding(quick=True, level=LEVEL, n_jobs=1)
    assert not failed(ok), ok

    def no_exit_block(self, event):  # the space frees at the decision, bed or no bed
        i, now = event.value, self.env.now
        self.decision_time[i] = now
        if self.majors[i]:
            self.majors[i] = False  # so that leaving later frees nothing twice
            self._free_space(now)
        self.ask_bed(i, now)

    monkeypatch.setattr(ed_module.EmergencyDepartment, "_decide", no_exit_block)
    bad, _ = v.run_boarding(quick=True, level=LEVEL, n_jobs=1)
    assert "mean waiting for a space" in " ".join(failed(bad)), bad


def test_rota_checks_fail_when_clinicians_start_patients_after_their_shift(monkeypatch):
    ok, _ = v.run_rota(quick=True, level=LEVEL, n_jobs=1)
    assert not failed(ok), ok
    original = ed_module.current_or_next_shift

    def an_hour_over(shifts, now):  # keeps taking new patients for an hour past the end
        start, end = original(shifts, now - 60.0)
        return start, end + 60.0

    monkeypatch.setattr(ed_module, "current_or_next_shift", an_hour_over)
    bad, _ = v.run_rota(quick=True, level=LEVEL, n_jobs=1)
    assert len(failed(bad)) >= 1, bad


def test_bed_conservation_check_fails_when_the_pool_loses_a_bed(small_baseline, monkeypatch):
    overrides, _, _, reps = small_baseline
    assert not failed(v.bed_conservation_checks(reps))
    original = beds_module.AcuteBeds.release

    def leaky(self, row, now):
        if self.queue:
            original(self, row, now)
        else:
            self.leave_time[row] = now  # the bed is never put back

    monkeypatch.setattr(beds_module.AcuteBeds, "release", leaky)
    design = v.Design(replications=2, warmup_weeks=2, run_weeks=4)
    _, _, _, broken = v.run_baseline(overrides, SEED, design, n_jobs=1)
    assert failed(v.bed_conservation_checks(broken))


def test_held_out_targets_are_reported_but_do_not_fail_the_suite():
    held = v.Check("calibration", "t", "", 1.0, 5.0, 4, 6, 0.95, 3, False, "x", required=False)
    theory = v.Check("little", "u", "", 1.0, 1.0, 0.9, 1.1, 0.95, 3, True, "x")
    assert v.SuiteResult([held, theory]).passed
    assert "outside (held out)" in v.format_table([held])
    broken = v.Check("little", "w", "", 1.0, 2.0, 1.9, 2.1, 0.95, 3, False, "x")
    assert not v.SuiteResult([held, theory, broken]).passed
