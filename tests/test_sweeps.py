"""Sweeps through the real CLI: summary files, resume, failed jobs, launchers give identical
numbers. Slow (several subprocesses), so marked; CI runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.comparison import COMPARISON_COLUMNS
from sim.run_folder import RUN_FILES

pytestmark = pytest.mark.slow

SMALL = [
    "experiment=quick",
    "experiment.replications=2",
    "experiment.warmup_weeks=1",
    "experiment.run_weeks=2",
]


def sweep(folder: Path, scenarios: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "+sweep=all_options",
        f"hydra.sweeper.params.scenario='choice({scenarios})'",
        f"hydra.sweep.dir={folder}",
        *SMALL,
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=folder.parent)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("sweeps") / "two_options"
    done = sweep(folder, "baseline,ic_expansion,[extended_access_8to8,enhanced_access_double]")
    return folder, done


def test_sweep_writes_comparison_ranking_and_plot(finished):
    folder, done = finished
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(folder)
    comparison = pd.read_csv(folder / "comparison.csv")
    assert list(comparison.columns) == ["option", *COMPARISON_COLUMNS]
    assert set(comparison["option"]) == {"ic_expansion"}
    ranking = pd.read_csv(folder / "ranking.csv")
    row = ranking.set_index("option").loc["ic_expansion"]
    # 30 places x 365 days x £205 a place-day, paired with the baseline
    assert row["investment_annual_gbp"] == pytest.approx(30 * 365.25 * 205, rel=0.01)
    assert (folder / "cost_effectiveness.png").stat().st_size > 10_000


def test_a_failing_job_is_recorded_and_the_sweep_goes_on(finished):
    folder, done = finished
    bad = folder / "extended_access_8to8+enhanced_access_double" / "manifest.json"
    manifest = json.loads(bad.read_text())
    assert manifest["status"] == "invalid_config"
    assert "cannot be combined" in manifest["error"]
    summary = json.loads((folder / "sweep.json").read_text())
    assert sorted(summary["jobs_complete"]) == ["baseline", "ic_expansion"]
    assert any("invalid_config" in p for p in summary["problems"])


def test_rerunning_a_sweep_skips_complete_jobs(finished):
    folder, _ = finished
    kpis = folder / "baseline" / "kpis.csv"
    before = kpis.stat().st_mtime_ns
    again = sweep(folder, "baseline,ic_expansion")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("already complete, skipped") == 2
    assert kpis.stat().st_mtime_ns == before


def test_launchers_give_byte_identical_files(finished, tmp_path):
    """joblib (the local launcher) and submitit (local_jobs, as on SLURM) write the same bytes:
    part of the determinism audit (test_determinism.py)."""
    folder, _ = finished
    other = tmp_path / "submitit"
    done = sweep(other, "baseline,ic_expansion", "hydra/launcher=local_jobs")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (other / ".submitit").is_dir()  # the jobs really went through submitit
    for job in ("baseline", "ic_expansion"):
        for name in RUN_FILES:
            assert (other / job / name).read_bytes() == (folder / job / name).read_bytes(), name
