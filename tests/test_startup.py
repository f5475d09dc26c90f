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


def test_a_run_loads_no_tables_or_statistics_before_its_first_replication():
    """What a run does before its first replication (the run folder's module, the manifest's
    fingerprints) needs neither pandas, which the tables import after the replications, nor
    scipy.stats: intervals use scipy.special's Student t (what scipy.stats.t calls). Together
    they cost a run 0.7 s of CPU there; scipy.stats is now never loaded by a run at all."""
    loaded = loaded_after(
        "import sim.experiments.run_folder\n"
        "from sim.experiments.population_fingerprint import population_fingerprints\n"
        "population_fingerprints({'seed': 1, 'site': {}, 'assumptions': {}})"
    )
    assert not loaded & {"pandas", "scipy.stats", "matplotlib"}, loaded
    intervals = loaded_after(
        "from sim.core.statistics import bounded_interval, t_interval\n"
        "t_interval([1.0, 2.0, 4.0], 0.95), bounded_interval([1.0, 2.0, 4.0], 0.95, (0, 9))"
    )
    assert "scipy.stats" not in intervals, intervals
    assert "scipy.stats" in loaded_after("import sim.experiments.psa_analysis")  # seen if there


@pytest.mark.parametrize("what", ["command", "run"])
def test_the_collector_is_paused_while_the_command_starts_and_resumed_before_it_runs(
    what, tmp_path
):
    """``python -m sim`` starts with Python's cycle collector off (sim/__main__.py) and
    turns it on, with start-up's objects frozen, before a command (``report``) or a run's
    job starts."""
    argv = ["report", "x"] if what == "command" else [f"hydra.run.dir={tmp_path / 'run'}"]
    probe = (
        "import gc, json, sys\n"
        "import sim.__main__\n"
        "import sim.cli as cli\n"
        "seen = {'at_start': gc.isenabled()}\n"
        "def starts(*args):\n"
        "    seen['when_it_starts'] = gc.isenabled()\n"
        "    seen['frozen'] = gc.get_freeze_count()\n"
        "    return 0\n"
        "cli.run_command = cli.run_composed = starts\n"
        f"sys.argv = ['sim', *{argv!r}]\n"
        "cli.main()\n"
        "print(json.dumps(seen))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["at_start"] is False
    assert seen["when_it_starts"] is True
    assert seen["frozen"] > 10_000  # the modules and objects start-up made
