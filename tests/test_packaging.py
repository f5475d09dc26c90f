"""The package as a user installs it: the wheel built from this source, installed with the
pinned versions into a fresh virtual environment outside the repository, and driven from
another folder (a working folder made by ``nhs-sim init``): a quick baseline, an option, a
comparison, the site builder and a run of the site it built, and a board report.

Slow: the environment installs every dependency, and its first run compiles the booking pass
(2-3 minutes, once). Nothing here reads the repository's conf/, scenarios/ or docs/: the
installed package must carry them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
QUICK = [
    "experiment=quick",
    "experiment.replications=2",
    "experiment.warmup_weeks=1",
    "experiment.run_weeks=2",
]
#: What the build step ships inside the package: repository folder -> (package folder, files).
SHIPPED = {"conf": ("sim/conf", "**/*.yaml"), "scenarios": ("sim/scenarios", "*.yaml")}


def run(cmd: list[str | Path], cwd: Path, env: dict[str, str], timeout: int = 1500) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1].strip()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path | dict[str, str]]:
    tmp = tmp_path_factory.mktemp("installed")
    assert ROOT not in tmp.parents and tmp not in ROOT.parents
    # build from a copy, so the build leaves nothing in the repository
    source = tmp / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "outputs", "build", "dist", "*.egg-info", "__pycache__", ".*cache"
        ),
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NHS_SIM_HOME")}
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp / "wheel", source],
        tmp,
        env,
    )
    (wheel,) = (tmp / "wheel").glob("nhs_capacity_sim-*.whl")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", venv], tmp, env)
    run([venv / "bin" / "pip", "install", "-q", "-c", ROOT / "requirements.lock", wheel], tmp, env)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    work = tmp / "my area"  # a space in the path, as in many users' folders
    work.mkdir()
    return {"wheel": wheel, "venv": venv, "work": work, "env": env}


def test_the_wheel_carries_the_configuration_catalogue_docs_and_launchers(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for folder, (target, pattern) in SHIPPED.items():
        files = sorted((ROOT / folder).glob(pattern))
        assert files
        for path in files:
            assert f"{target}/{path.relative_to(ROOT / folder).as_posix()}" in names, path
    assert "sim/docs/model.md" in names and "sim/conf/__init__.py" in names
    assert "hydra_plugins/nhs_sim_launchers/launchers.py" in names
    assert "sim/data/samples/gp_practice_registrations_sample.csv" in names
    assert not any(n.startswith(("tests/", "conf/", "scenarios/")) for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(installed["wheel"]).read(metadata).decode()
    assert "License-Expression: MIT" in text
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert (
        "nhs-sim = sim.cli:main" in zipfile.ZipFile(installed["wheel"]).read(entry_points).decode()
    )


def test_an_installed_package_runs_compares_builds_a_site_and_reports_from_another_folder(
    installed,
):
    env, work, venv = installed["env"], installed["work"], installed["venv"]
    python = venv / "bin" / "python"
    package_dir = Path(
        run(
            [python, "-c", "import sim, pathlib; print(pathlib.Path(sim.__file__).parent)"],
            work,
            env,
        ).strip()
    )
    assert venv in package_dir.parents  # the installed copy, not the repository's
    yaml_before = sorted(p.relative_to(package_dir) for p in package_dir.rglob("*.yaml"))

    out = run(["nhs-sim", "init", "."], work, env)
    assert last_line(out) == str(work)

    base = Path(last_line(run(["nhs-sim", *QUICK], work, env)))
    assert base.parent == work / "outputs" / "runs"
    manifest = json.loads((base / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["packages"]["nhs-capacity-sim"] == "0.2.0"
    assert manifest["git"] == {"commit": None, "dirty": None}  # no clone: the version says
    assert "Replication 1 finished" in (base / "run.log").read_text()

    # python -m sim is the same program
    option = Path(last_line(run([python, "-m", "sim", *QUICK, "scenario=ic_expansion"], work, env)))
    assert option.parent == work / "outputs" / "runs"
    assert last_line(run(["nhs-sim", "compare", base, option], work, env)) == str(
        option / "comparisons" / f"vs_{base.name}" / "comparison.csv"  # never over another
    )

    samples = package_dir / "data" / "samples"
    built = run(
        [
            "nhs-sim",
            "site-from-csv",
            "--patients",
            samples / "gp_practice_registrations_sample.csv",
            "--localities",
            samples / "practice_localities_sample.csv",
            "--name",
            "my_area",
        ],
        work,
        env,
    )
    assert Path(last_line(built)) == work / "conf" / "site" / "my_area.yaml"
    area = Path(last_line(run(["nhs-sim", *QUICK, "site=my_area"], work, env)))
    assert json.loads((area / "manifest.json").read_text())["site"] == "my_area"

    report = run(["nhs-sim", "report", base], work, env)
    html = (base / "report.html").read_text(encoding="utf-8")
    assert str(base / "report.html") in report
    assert "Model assumptions and their sources" in html
    assert "was not found" not in html  # docs/model.md shipped in the package and quoted
    assert "as shipped with version 0.2.0 of this package" in html

    # nothing was written into the installed package but numba's compiled cache
    assert not (package_dir / "outputs").exists()
    assert sorted(p.relative_to(package_dir) for p in package_dir.rglob("*.yaml")) == (yaml_before)
