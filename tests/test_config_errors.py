"""Configuration mistakes fail at start, before any output folder exists, with exit code 2 and
one message naming the key and the rule; and a good run through the real command line
produces a complete run folder under the project's ``outputs/``.

The catalogue of bad inputs, one case each, is ``test_bad_inputs.py``; here are the checks
that go through a separate ``python -m sim`` process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim.cli
import sim.config.compose
import sim.config.locations


@pytest.fixture(scope="module", autouse=True)
def _registered():
    sim.config.compose.register()


def test_preflight_accepts_the_shipped_configuration(capsys):
    assert sim.cli.preflight([]) == 0
    assert sim.cli.preflight(["experiment=quick", "seed=7"]) == 0
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------------------------
# End to end through `python -m sim`
# --------------------------------------------------------------------------------------------

RUNS_DIR = sim.config.locations.OUTPUTS_DIR / "runs"


def run_cli(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_bad_key_exits_with_one_clear_message(tmp_path):
    before = set(RUNS_DIR.iterdir()) if RUNS_DIR.exists() else set()
    proc = run_cli(["no_such_key=1"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "no_such_key" in lines[0] and "unknown key" in lines[0]
    # Failing before the run means no run folder, here or under outputs/.
    assert list(tmp_path.iterdir()) == []
    after = set(RUNS_DIR.iterdir()) if RUNS_DIR.exists() else set()
    assert after == before


def test_cli_quick_run_writes_a_complete_run_folder(tmp_path):
    before = set(RUNS_DIR.iterdir()) if RUNS_DIR.exists() else set()
    proc = run_cli(
        [
            "experiment=quick",
            "experiment.replications=2",
            "experiment.run_weeks=2",
            "experiment.warmup_weeks=1",
        ],
        cwd=tmp_path,
    )
    out_dir = Path(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else None
    try:
        assert proc.returncode == 0, proc.stderr
        assert out_dir is not None and out_dir.is_dir()
        # Under the project's outputs/runs whatever the working directory, a new folder.
        assert out_dir.resolve().parent == RUNS_DIR.resolve()
        assert out_dir not in before
        assert list(tmp_path.iterdir()) == []

        manifest = json.loads((out_dir / "manifest.json").read_text())
        assert manifest["status"] == "complete"
        assert manifest["replications"] == 2 and manifest["run_weeks"] == 2
        assert manifest["warmup_weeks"] == 1

        summary = pd.read_csv(out_dir / "summary.csv")
        assert list(summary.columns) == ["kpi", "unit", "mean", "ci_low", "ci_high", "n"]
        assert len(summary) > 0 and (summary["n"] <= 2).all()
        kpis = pd.read_csv(out_dir / "kpis.csv")
        assert list(kpis.columns) == ["replication", "kpi", "value"]
        assert sorted(kpis["replication"].unique()) == [0, 1]
        assert set(summary["kpi"]) == set(kpis["kpi"])
        # Each KPI's summary mean is the mean of its two replications in kpis.csv.
        means = kpis.groupby("kpi")["value"].mean()
        for row in summary.itertuples():
            if pd.notna(row.mean):
                assert row.mean == pytest.approx(means[row.kpi], rel=1e-9)
    finally:
        if out_dir is not None and out_dir.is_dir() and out_dir not in before:
            if out_dir.resolve().parent == RUNS_DIR.resolve():
                shutil.rmtree(out_dir)
