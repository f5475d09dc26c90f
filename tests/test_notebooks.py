"""The analyst notebooks (notebooks/*.ipynb, paired with jupytext py:percent scripts) run end to
end on fresh outputs, are stored without outputs, and open in JupyterLab.

Inputs are made here with the quick experiment (a 2 x 2-week run, a 2-scenario sweep and
``sim.tools.validate --quick``), all written under ``tmp_path``; the notebooks find them through
``SIM_RUN_DIR``, ``SIM_SWEEP_DIR`` and ``SIM_VALIDATION_DIR``. Each notebook is converted
executed with nbclient as stored (the .ipynb an analyst opens); executed copies are written
(atomically) to ``outputs/notebooks/<name>.ipynb``, never into ``notebooks/``.

Kernel: nbclient runs the kernel named ``python3``. So that this is the interpreter running
the tests (not whatever a user-level ``python3`` kernelspec points at), the fixture writes a
``python3`` kernelspec whose argv is ``sys.executable -m ipykernel_launcher`` into a temporary
folder and puts it first on ``JUPYTER_PATH``, which jupyter_client searches before the user
and environment kernel folders.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

from sim.experiments import results as nd  # noqa: E402
from sim.experiments.outputs import atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "outputs" / "notebooks"
CELL_TIMEOUT = 120
QUICK = ["experiment=quick", "experiment.replications=2", "experiment.run_weeks=2"]

# notebook -> text that must appear in its outputs
EXPECTED = {
    "01_baseline_walkthrough": [
        "Headline KPIs",
        "A&E attendances",
        "attendances per week",
        "Flows (moves per week)",
        "Ledger adds up to episodes generated in every replication: True",
        "Within tolerance:",
    ],
    "02_compare_options": [
        "Ranking of options",
        "extended_access_8to8",
        "Headline differences (option − baseline)",
        "Net cost and cost per outcome avoided",
    ],
    "03_validation_and_calibration": [
        "Validation checks",
        "A&E M/M/c: mean wait for a clinician",
        "checks pass",
        "Calibration (from the run folder",
        "Within tolerance:",
    ],
}
MIN_FIGURES = {
    "01_baseline_walkthrough": 5,
    "02_compare_options": 3,
    "03_validation_and_calibration": 2,
}


def _run(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _last_line(proc: subprocess.Popen, what: str) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{out[-2000:]}\n{err[-3000:]}"
    return out.strip().splitlines()[-1].strip()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):  # slow: used by slow tests only
    """A quick run, a 2-scenario sweep and a quick validation, made in parallel."""
    tmp = tmp_path_factory.mktemp("nb_inputs")
    runs_before = set(nd.RUNS_ROOT.iterdir()) if nd.RUNS_ROOT.is_dir() else set()
    run_dir, sweep_dir = tmp / "run", tmp / "sweep"
    started = time.perf_counter()
    procs = {
        "run": _run(["-m", "sim", *QUICK, f"hydra.run.dir={run_dir}"], tmp),
        "sweep": _run(
            [
                "-m",
                "sim",
                "+sweep=all_options",
                "hydra.sweeper.params.scenario='choice(baseline,extended_access_8to8)'",
                f"hydra.sweep.dir={sweep_dir}",
                "hydra.callbacks.sweep_summary.board_report=false",  # not read here
                *QUICK,
            ],
            tmp,
        ),
        "validate": _run(
            ["-m", "sim", "validate", "--quick", "--out", str(tmp / "validation")], tmp
        ),
    }
    try:
        last = {name: _last_line(p, name) for name, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
        # Nothing should land in outputs/runs (hydra.run.dir and hydra.sweep.dir are in
        # tmp), but remove any run folder that appeared from our own commands: those whose
        # recorded overrides name our temporary folder. Other engineers' runs are left alone.
        if nd.RUNS_ROOT.is_dir():
            for folder in set(nd.RUNS_ROOT.iterdir()) - runs_before:
                overrides = folder / ".hydra" / "overrides.yaml"
                if overrides.is_file() and str(tmp) in overrides.read_text(encoding="utf-8"):
                    shutil.rmtree(folder, ignore_errors=True)
    print(f"inputs made in {time.perf_counter() - started:.1f} s")
    validation_dir = Path(last["validate"])
    assert nd.is_complete(run_dir), last["run"]
    assert (sweep_dir / "comparison.csv").is_file() and (sweep_dir / "ranking.csv").is_file()
    assert nd.is_complete(validation_dir)
    return {"run": run_dir, "sweep": sweep_dir, "validation": validation_dir, "tmp": tmp}


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A ``python3`` kernelspec for this interpreter, first on JUPYTER_PATH."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (tests)",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    return str(jupyter)


def _execute(name: str, env: dict[str, str], workdir: Path) -> tuple[object, float]:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    started = time.perf_counter()
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client.execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        # keep the executed copy, even a failing one, for reading
        atomic_write_text(EXECUTED / f"{name}.ipynb", nbformat.writes(nb))
    return nb, time.perf_counter() - started


def _outputs_text(nb) -> tuple[str, int, list[str]]:
    text, figures, errors = [], 0, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                text.append(out.text)
            elif out.output_type == "error":
                errors.append(f"{out.ename}: {out.evalue}")
            else:
                data = out.get("data", {})
                text.append(str(data.get("text/plain", "")))
                figures += "image/png" in data
    return "\n".join(text), figures, errors


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPECTED))
def test_notebook_runs(name, inputs, kernel_env):
    env = {
        nd.ENV_RUN: str(inputs["run"]),
        nd.ENV_SWEEP: str(inputs["sweep"]),
        nd.ENV_VALIDATION: str(inputs["validation"]),
        "JUPYTER_PATH": os.pathsep.join(filter(None, [kernel_env, os.environ.get("JUPYTER_PATH")])),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    nb, seconds = _execute(name, env, inputs["tmp"])
    text, figures, errors = _outputs_text(nb)
    assert not errors, errors
    for expected in EXPECTED[name]:
        assert expected in text, f"{name}: {expected!r} not in the outputs"
    assert figures >= MIN_FIGURES[name], f"{name}: {figures} figures"
    folder = {"01": inputs["run"], "02": inputs["sweep"], "03": inputs["validation"]}[name[:2]]
    assert str(folder) in text, f"{name} did not read {folder}"
    assert (EXECUTED / f"{name}.ipynb").is_file()
    print(f"{name}: {seconds:.1f} s, {figures} figures")


def test_kernel_is_this_interpreter(kernel_env, monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.setenv("JUPYTER_PATH", kernel_env)
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable


def test_notebooks_are_percent_scripts_without_model_logic():
    for name in EXPECTED:
        source = (NOTEBOOKS / f"{name}.py").read_text(encoding="utf-8")
        assert "# %% [markdown]" in source
        assert "from sim import api" in source  # the Python API reads the folders
        assert "api.run(" not in source  # and the notebooks run nothing
        assert "run_experiment" not in source and "run_replication" not in source


def test_missing_folders_raise_a_clear_error(tmp_path, monkeypatch):
    for env in (nd.ENV_RUN, nd.ENV_SWEEP, nd.ENV_VALIDATION):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setattr(nd, "RUNS_ROOT", tmp_path / "runs")
    monkeypatch.setattr(nd, "SWEEPS_ROOT", tmp_path / "sweeps")
    monkeypatch.setattr(nd, "VALIDATION_ROOT", tmp_path / "validation")
    with pytest.raises(nd.NoOutputsError, match="SIM_RUN_DIR"):
        nd.find_run_dir()
    with pytest.raises(nd.NoOutputsError, match="SIM_SWEEP_DIR"):
        nd.find_sweep_dir()
    with pytest.raises(nd.NoOutputsError, match="SIM_VALIDATION_DIR"):
        nd.find_validation_dir()
    monkeypatch.setenv(nd.ENV_RUN, str(tmp_path))
    with pytest.raises(nd.NoOutputsError, match="missing manifest.json"):
        nd.find_run_dir()


def test_newest_complete_folder_is_chosen(tmp_path, monkeypatch):
    monkeypatch.delenv(nd.ENV_RUN, raising=False)
    monkeypatch.setattr(nd, "RUNS_ROOT", tmp_path)
    for i, (name, status, scenario) in enumerate(
        [
            ("a", "complete", "baseline"),
            ("b", "complete", "baseline"),
            ("c", "running", "baseline"),
            ("d", "complete", "ic_expansion"),
        ]
    ):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "summary.csv").write_text("kpi,unit,mean,ci_low,ci_high,n\n")
        (folder / "manifest.json").write_text(json.dumps({"status": status, "scenario": scenario}))
        for f in folder.iterdir():
            os.utime(f, (1_000_000 + i, 1_000_000 + i))
    assert nd.find_run_dir().name == "b"
    assert nd.find_run_dir(scenario=None).name == "d"
    monkeypatch.setenv(nd.ENV_RUN, str(tmp_path / "c"))
    assert nd.find_run_dir().name == "c"  # an explicit folder is used as given


def test_every_notebook_is_a_stored_pair_without_outputs():
    """notebooks/ holds each notebook twice, in step: the .ipynb JupyterLab opens, stored
    without outputs (executed copies go to outputs/notebooks/), and the py:percent script."""
    from jupytext.compare import compare_notebooks

    scripts = sorted(p.stem for p in NOTEBOOKS.glob("*.py"))
    assert scripts == sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)
    for name in scripts:
        stored = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(stored)
        assert stored.metadata["jupytext"]["formats"] == "ipynb,py:percent"
        assert stored.metadata["kernelspec"]["name"] == "python3"
        for cell in stored.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name
        compare_notebooks(jupytext.read(NOTEBOOKS / f"{name}.py"), stored, fmt="py:percent")


def test_the_notebooks_extra_installs_jupyterlab_and_jupytext():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=\[ ]", d)[0].lower() for d in extras["notebooks"]}
    assert {"jupyterlab", "jupytext", "ipykernel"} <= names
    readme = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    assert '-e ".[notebooks]"' in readme and "jupyter lab notebooks/" in readme


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_jupyterlab_opens_the_notebooks(tmp_path):
    """`jupyter lab` as notebooks/README.md starts it: the server lists and opens every
    notebook, the paired script opens as a notebook too (jupytext), and, where Chromium is
    installed, JupyterLab shows the notebook in a real browser."""
    import urllib.request

    pytest.importorskip("jupyterlab")
    port, token = _free_port(), "test-token"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
    }
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyter", "lab", "notebooks/", "--no-browser",
            f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI runs as root
        ],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def get(path: str) -> bytes:
        sep = "&" if "?" in path else "?"
        url = f"http://127.0.0.1:{port}{path}{sep}token={token}"
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.read()

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get("/api/status")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.5)
        assert b"JupyterLab" in get("/lab")
        listed = {c["name"] for c in json.loads(get("/api/contents"))["content"]}  # notebooks/
        for name in EXPECTED:
            assert f"{name}.ipynb" in listed
            nb = json.loads(get(f"/api/contents/{name}.ipynb"))
            assert nb["type"] == "notebook" and len(nb["content"]["cells"]) > 5
            paired = json.loads(get(f"/api/contents/{name}.py?type=notebook"))
            assert paired["type"] == "notebook"  # jupytext's contents manager at work
        if shutil.which("chromium"):
            from browser import Browser

            with Browser() as b:
                b.go(
                    f"http://127.0.0.1:{port}/lab/tree/01_baseline_walkthrough.ipynb?token={token}"
                )
                b.wait_for("01 Baseline walkthrough", "Headline KPIs", timeout=120)
                b.screenshot(tmp_path / "lab.png")
    finally:
        server.terminate()
        server.wait(timeout=30)
