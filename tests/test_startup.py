"""What a command loads before it answers (docs/performance.md, "Start-up").

No timings here (benchmarks/run.py measures them): these tests hold the causes. Each runs a
fresh interpreter and lists the heavy libraries it imported, so a module-level import that
slips back in shows as a failure, not as a slower start nobody notices.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sim.cli
from sim.config.locations import CONF_DIR, SCENARIO_DIR

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "hydra",
    "numba",
    "pandas",
    "scipy.stats",
    "scipy.special",
    "matplotlib",
    "simpy",
    "joblib",
)


def loaded_after(code: str) -> set[str]:
    """The :data:`HEAVY` libraries imported by a fresh interpreter running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    return {name for name in HEAVY if name in modules}


def test_help_answers_without_hydra_or_the_model():
    assert loaded_after("import sim.cli\nsim.cli.main(['--help'])") == set()


def test_a_replication_needs_no_tables_plots_or_statistics():
    """Workers import the model only: pandas, scipy.stats and matplotlib come later, in the
    process that writes the tables."""
    loaded = loaded_after("import sim.core.replication")
    assert not loaded & {"pandas", "scipy.stats", "matplotlib", "hydra", "joblib"}, loaded


def test_the_sweep_callback_every_run_builds_needs_no_tables_or_statistics():
    """Hydra builds the sweep summary callback (conf/config.yaml) at the start of every run,
    a single one too: its module must not bring pandas or scipy.stats in before the first
    replication (they cost about a second of CPU there)."""
    loaded = loaded_after("import sim.tools.sweep")
    assert not loaded & {"pandas", "scipy.stats", "matplotlib"}, loaded


def test_the_broken_probe_would_be_caught():
    """The probe itself can fail: a module that imports pandas is seen doing so."""
    assert "pandas" in loaded_after("import sim.experiments.results")


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_every_command_and_every_option(flag, capsys):
    sim.cli.main([flag])
    text = capsys.readouterr().out
    for command in sim.cli.COMMANDS:
        assert f"  {command} " in text, command
    shown = " ".join(text.split())  # undo the wrapping
    for path in [*SCENARIO_DIR.glob("*.yaml"), *(CONF_DIR / "experiment").glob("*.yaml")]:
        assert f" {path.stem}," in shown or f" {path.stem} " in shown, path
