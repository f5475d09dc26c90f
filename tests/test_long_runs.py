"""Long and large runs: five years, and a population of a million, through the real command.

Each runs in its own process, which reports its peak memory (the kernel's high-water mark of
resident memory) as it exits. Both must finish, write a complete run folder, stay under the
memory the guard estimated for them (``sim.experiments.memory_guard``: the documented bound, see
docs/reliability.md), and give annual rates that agree with the calibrated one-year run:
nothing in the model may drift or overflow over a long horizon or a large list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import compose_real

import sim.cli
import sim.config.compose
from sim.experiments.memory_guard import estimated_gb_per_replication

pytestmark = pytest.mark.slow

# One replication on one core: the memory bound is per worker.
ONE_REPLICATION = ["experiment.replications=1", "experiment.n_jobs=1"]

# Runs sim.cli.main in this child process and prints its peak resident memory last, even if
# the run stops with an error (Linux reports ru_maxrss in KiB).
CHILD = """
import resource, sys
from sim.cli import main
try:
    main(sys.argv[1:])
finally:
    print("PEAK_BYTES", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def run_and_measure(overrides: list[str], folder: Path) -> tuple[int, dict, pd.DataFrame]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *overrides, f"hydra.run.dir={folder}"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    peak = int(done.stdout.strip().splitlines()[-1].split()[1])
    manifest = json.loads((folder / "manifest.json").read_text())
    return peak, manifest, pd.read_csv(folder / "calibration.csv")


def estimated_bytes(overrides: list[str]) -> float:
    run_cfg, _ = sim.config.compose.validate(compose_real(overrides))
    return estimated_gb_per_replication(run_cfg.model, run_cfg.experiment) * 1e9


def assert_calibrated_rates(calibration: pd.DataFrame) -> None:
    """Appointments per patient-year and A&E attendances per 1,000 a year are rates, so they
    must still meet their one-year calibration targets."""
    rows = calibration.set_index("target")
    for target in calibration.target:
        if "per patient" in target or "per 1,000" in target:
            assert bool(rows.loc[target, "within"]), (target, rows.loc[target].to_dict())


def test_a_five_year_run_completes_within_its_memory_estimate(tmp_path):
    overrides = [*ONE_REPLICATION, "experiment.run_weeks=260"]
    peak, manifest, calibration = run_and_measure(overrides, tmp_path / "five_years")
    assert manifest["status"] == "complete"
    assert manifest["run_weeks"] == 260
    assert peak <= estimated_bytes(overrides)
    assert_calibrated_rates(calibration)


def test_a_population_of_a_million_completes_within_its_memory_estimate(tmp_path):
    data = compose_real()
    scale = [
        f"site.practices.{code}.list_size={practice['list_size'] * 4}"
        for code, practice in data["site"]["practices"].items()
    ]
    population = 4 * sum(p["list_size"] for p in data["site"]["practices"].values())
    assert population >= 1_000_000
    overrides = [*ONE_REPLICATION, *scale]
    peak, manifest, calibration = run_and_measure(overrides, tmp_path / "million")
    assert manifest["status"] == "complete"
    assert peak <= estimated_bytes(overrides)
    assert_calibrated_rates(calibration)
