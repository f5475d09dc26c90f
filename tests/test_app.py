"""The web app (sim/app/), tested with Streamlit's own AppTest and, in a slow test, in a real
headless Chromium as a planner uses it: choose an option, run it, read the comparison,
download the board paper.

Every test points the app at a temporary outputs folder (``SIM_APP_OUTPUTS``).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from sim.app import jobs  # noqa: E402
from sim.config.locations import CONF_DIR, PROJECT_ROOT, SCENARIO_DIR  # noqa: E402
from sim.experiments.replication_store import kept_replications  # noqa: E402

PAGE = PROJECT_ROOT / "sim" / "app" / "page.py"
RAC = "rac_weekend"
#: A planner's first look: the quick preset (2 replications x 4 weeks).
QUICK = "quick"


@pytest.fixture
def outputs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(jobs.ENV_OUTPUTS, str(tmp_path))
    return tmp_path


@pytest.fixture
def app(outputs) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.run()
    assert not at.exception
    return at


def _title(name: str) -> str:
    return yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text(encoding="utf-8"))["title"]


def _go(at: AppTest, view: str) -> None:
    at.sidebar.button(key=f"go-{view}").click().run()
    assert not at.exception, at.exception


# ------------------------------------------------------------------ choosing


def test_the_page_offers_every_site_option_and_preset(app):
    assert app.title[0].value == "NHS primary and urgent care capacity simulator"
    sites = sorted(p.stem for p in (CONF_DIR / "site").glob("*.yaml"))
    assert app.selectbox(key="site").options == [
        yaml.safe_load((CONF_DIR / "site" / f"{s}.yaml").read_text())["title"] for s in sites
    ]
    options = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml") if p.stem != "baseline")
    assert sorted(app.multiselect(key="options").options) == sorted(_title(o) for o in options)
    presets = {p.stem for p in (CONF_DIR / "experiment").glob("*.yaml")}
    shown = app.selectbox(key="preset").options
    assert {s.split(":")[0] for s in shown} == presets
    assert app.selectbox(key="preset").value == "standard"
    assert app.number_input(key="budget").value == 2_900_000


def test_the_command_shown_is_the_one_a_planner_would_type(app, outputs):
    app.multiselect(key="options").set_value([RAC, "pharmacy_first"]).run()
    app.selectbox(key="preset").set_value(QUICK).run()
    sweep = app.code[0].value
    assert sweep.startswith("python -m sim +sweep=all_options ")
    # in the order chosen: in a combination the later option's changes win (docs/architecture.md)
    jobs_param = "hydra.sweeper.params.scenario='choice(baseline,rac_weekend,pharmacy_first)'"
    assert f'"{jobs_param}"' in sweep  # quoted so a shell keeps Hydra's own quotes
    assert "experiment=quick" in sweep and "site=north_durham" in sweep
    assert f"hydra.sweep.dir={outputs / 'sweeps'}/" in sweep
    app.radio(key="how").set_value("together").run()
    run, report = app.code[0].value.splitlines()
    assert run.startswith("python -m sim 'scenario=[rac_weekend,pharmacy_first]' ")
    folder = shlex.split(run)[-1].split("hydra.run.dir=")[1]
    assert Path(folder).parent == outputs / "runs"
    assert report == f"python -m sim report {folder}"


@pytest.mark.parametrize(
    ("how", "chosen", "extra"),
    [
        ("each", [RAC], {"seed": -1}),
        ("together", ["extended_access_8to8", "enhanced_access_double"], {}),
    ],
)
def test_mistakes_get_the_command_lines_own_message_and_start_nothing(
    app, outputs, how, chosen, extra
):
    app.multiselect(key="options").set_value(chosen).run()
    app.radio(key="how").set_value(how).run()
    for key, value in extra.items():
        app.number_input(key=key).set_value(value).run()
    command = shlex.split(app.code[0].value.splitlines()[0])  # as a shell would read it
    app.button(key="run").click().run()
    assert len(app.error) == 1
    cli = subprocess.run(
        [sys.executable, *command[1:]], capture_output=True, text=True, timeout=300
    )
    assert cli.returncode == jobs.EXIT_CONFIG_ERROR
    assert app.error[0].value == cli.stderr.strip()  # word for word
    assert app.error[0].value.startswith("Configuration error: ")
    assert not jobs.all_jobs(outputs)
    assert not (outputs / "sweeps").exists() or not any((outputs / "sweeps").iterdir())


def test_no_jobs_yet(app):
    _go(app, "jobs")
    assert app.header[0].value == "Jobs"
    assert "No jobs yet" in app.info[0].value


# ------------------------------------------------------------------ following a job


def _job(outputs: Path, kind: str, folder: Path, pid: int | None = None) -> jobs.Job:
    job = jobs.Job(id="j1", kind=kind, label="x", folder=str(folder), commands=[["a"]], pid=pid)
    jobs.jobs_dir(outputs).mkdir(parents=True, exist_ok=True)
    (jobs.jobs_dir(outputs) / "j1.json").write_text(json.dumps(job.__dict__))
    return job


def test_progress_is_read_from_the_run_folder(outputs):
    folder = outputs / "runs" / "r"
    (folder / "replications").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"status": "running", "replications": 4}))
    for r in (0, 1, 2):
        (folder / "replications" / f"rep_{r:04d}.json").write_text("{}")
    job = _job(outputs, "run", folder, pid=os.getpid())  # a live process
    p = jobs.progress(job, outputs)
    assert (p.state, p.fraction, p.text) == ("running", 0.75, "3 of 4 replications")
    (folder / "manifest.json").write_text(json.dumps({"status": "complete", "replications": 4}))
    (jobs.jobs_dir(outputs) / "j1.exit").write_text("[0]")
    p = jobs.progress(job, outputs)
    assert (p.state, p.fraction) == ("finished", 1.0)


def test_a_sweeps_progress_counts_its_jobs(outputs):
    folder = outputs / "sweeps" / "s"
    for name, status in (("baseline", "complete"), ("a", "complete"), ("b", "running")):
        (folder / name).mkdir(parents=True)
        (folder / name / "manifest.json").write_text(
            json.dumps({"status": status, "replications": 2})
        )
    job = _job(outputs, "sweep", folder, pid=os.getpid())
    job.expected_jobs = 4
    p = jobs.progress(job, outputs)
    assert (p.fraction, p.text) == (0.5, "2 of 4 jobs complete")


def test_a_sweeps_progress_counts_the_replications_run_before_its_jobs(outputs):
    """While the local launcher runs every job's replications together, the job folders
    hold replications and no manifest yet: the bar moves with them (replications per job
    from Hydra's record of the sweep); the jobs are counted complete only by their
    manifests."""
    folder = outputs / "sweeps" / "s"
    folder.mkdir(parents=True)
    (folder / "multirun.yaml").write_text(yaml.safe_dump({"experiment": {"replications": 4}}))
    for name, kept in (("baseline", 3), ("a", 2), ("b", 0)):
        (folder / name / "replications").mkdir(parents=True)
        for r in range(kept):
            (folder / name / "replications" / f"rep_{r:04d}.json").write_text("{}")
    job = _job(outputs, "sweep", folder, pid=os.getpid())
    job.expected_jobs = 3
    p = jobs.progress(job, outputs)
    assert (p.fraction, p.text) == (5 / 12, "0 of 3 jobs complete, 5 of 12 replications run")
    for r in range(4):
        for name in ("a", "b"):
            (folder / name / "replications" / f"rep_{r:04d}.json").write_text("{}")
    (folder / "baseline" / "replications" / "rep_0003.json").write_text("{}")
    done = jobs.progress(job, outputs)
    assert (done.fraction, done.state) == (1.0, "running")  # every replication run, no job
    assert done.text.startswith("0 of 3 jobs complete")
    (folder / "baseline" / "manifest.json").write_text(json.dumps({"status": "complete"}))
    assert jobs.progress(job, outputs).text == "1 of 3 jobs complete, 8 of 12 replications run"


def test_a_failed_job_shows_the_command_lines_message(outputs):
    job = _job(outputs, "run", outputs / "runs" / "r", pid=None)
    log = jobs.jobs_dir(outputs) / "j1.log"
    log.write_text("$ python -m sim seed=-1\nConfiguration error: seed = -1: must be >= 0\n")
    assert jobs.progress(job, outputs).state == "stopped"  # no exit code, no process
    (jobs.jobs_dir(outputs) / "j1.exit").write_text("[2]")
    p = jobs.progress(job, outputs)
    assert p.state == "configuration error"
    assert p.message == "Configuration error: seed = -1: must be >= 0"
    (jobs.jobs_dir(outputs) / "j1.exit").write_text("[0, 1]")
    assert jobs.progress(job, outputs).state == "failed"


def _wait(at: AppTest, state: str, timeout: float = 900) -> None:
    """Re-read the jobs view until the (only) job reaches ``state``."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        texts = [m.value for m in at.markdown]
        if any(t.endswith(f": {state}") for t in texts):
            return
        assert not any(t.endswith(": failed") or "error" in t for t in texts), texts
        assert time.monotonic() < deadline, texts
        time.sleep(2)


@pytest.mark.slow
def test_a_planner_compares_an_option_and_downloads_the_paper(app, outputs):
    """The whole path through AppTest: choose, run in the background, follow, read, download."""
    app.multiselect(key="options").set_value([RAC]).run()
    app.selectbox(key="preset").set_value(QUICK).run()
    app.button(key="run").click().run()
    assert app.success and "Started" in app.success[0].value
    (job,) = jobs.all_jobs(outputs)
    assert job.kind == "sweep" and Path(job.folder).parent == outputs / "sweeps"
    _go(app, "jobs")
    _wait(app, "finished")
    log = (jobs.jobs_dir(outputs) / f"{job.id}.log").read_text()
    assert "$ python -m sim +sweep=all_options" in log  # the command line's own path
    folder = Path(job.folder)
    for name in ("comparison.csv", "ranking.csv", "report.pdf", "report.docx", "report.html"):
        assert (folder / name).is_file(), name
    app.button(key=f"open-{job.id}").click().run()
    assert app.header[0].value == "Results"
    assert app.error[0].value.startswith("NOT FOR DECISIONS")  # a quick run
    ranking, comparison = (t.value for t in app.table[:2])
    assert list(ranking["option"]) == [_title(RAC)]
    assert "not distinguishable" in ranking.iloc[0, -1] or "lowest cost" in ranking.iloc[0, -1]
    assert list(comparison["option"]) == [_title(RAC)]
    assert len(app.get("image")) >= 7  # the report's figures, flow diagram included
    names = [b.label for b in app.get("download_button")]
    for name in ("report.pdf", "report.docx", "report.html", "ranking.csv", "comparison.csv"):
        assert name in names, name


@pytest.mark.slow
def test_an_uncertainty_analysis_shows_its_answer_warnings_and_figures(app, outputs):
    """A finished PSA (3 sets of 2 weeks: underpowered and short, so it warns) is listed as
    complete and shows the board paper's answer in sentences, its warnings and its figures,
    then its tables."""
    from conftest import run_small_psa

    folder = outputs / "uncertainty" / "psa_small"
    done = run_small_psa(folder, "hydra.callbacks.psa_summary.board_report=false")
    assert done.returncode == 0, done.stderr[-2000:]
    _go(app, "results")
    app.radio(key="kind").set_value("uncertainty").run()
    assert not app.exception, app.exception
    (listed,) = app.selectbox(key="folder-uncertainty").options
    assert listed.endswith("(complete)"), listed
    assert [h.value for h in app.subheader][:1] == ["How sure are we?"]
    answer = " ".join(m.value for m in app.markdown)
    assert "ranks first by cost per A&E attendance avoided" in answer  # the paper's sentences
    warnings = " ".join(w.value for w in app.warning)
    assert "only 3 parameter sets" in warnings and "not a year" in warnings
    assert len(app.get("image")) == len(list((folder / "figures").glob("*.png"))) >= 3
    tables = [e.label for e in app.expander]
    assert "psa_summary.csv" in tables and "rank_probabilities.csv" in tables


@pytest.mark.slow
def test_a_job_can_be_stopped_as_ctrl_c_would(app, outputs):
    app.button(key="run").click().run()  # the baseline, standard preset: minutes
    (job,) = jobs.all_jobs(outputs)
    _go(app, "jobs")
    baseline = Path(job.folder) / "baseline"
    deadline = time.monotonic() + 600
    # The sweep's launcher runs the replications before the job starts: the first one kept
    while not (baseline / "replications").is_dir() or not kept_replications(baseline):
        assert time.monotonic() < deadline
        time.sleep(1)
    running = jobs.progress(job, outputs)
    assert running.fraction > 0 and "replications run" in running.text, running
    app.button(key=f"stop-{job.id}").click().run()
    _wait(app, "stopped", timeout=120)
    assert jobs.exit_codes(job, outputs) == [jobs.EXIT_INTERRUPTED]
    assert "Interrupted" in (jobs.jobs_dir(outputs) / f"{job.id}.log").read_text()
    if (baseline / "manifest.json").is_file():  # stopped once the job had started
        manifest = json.loads((baseline / "manifest.json").read_text())
        assert manifest["status"] in ("interrupted", "running")  # never passed off as complete
    assert kept_replications(baseline)  # what finished is kept for the resume


# ------------------------------------------------------------------ a real browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_in_a_real_browser(outputs, tmp_path):
    """Started with the README's command, the app is used in headless Chromium as a planner
    would; the screenshot of the results shows the app's NHS-blue controls and the figures'
    red warning of a quick run."""
    import urllib.request

    from browser import Browser
    from PIL import Image

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, jobs.ENV_OUTPUTS: str(outputs)},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "app did not start"
                time.sleep(0.5)
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        with Browser() as b:
            b.allow_downloads(downloads)
            b.go(f"http://127.0.0.1:{port}/")
            b.wait_for("Investment options", "Experiment preset")
            b.choose("Investment options", "Rapid assessment")
            b.wait_for("choice(baseline,rac_weekend)")
            b.choose("Experiment preset", QUICK)
            b.wait_for("experiment=quick")
            b.click_text("button", "Run")
            b.wait_for("Started")
            b.click_text("button", "Jobs")
            b.wait_for("Open results", timeout=900)
            b.click_text("button", "Open results")
            page = b.wait_for("Options ranked by cost per A&E attendance avoided", "Downloads")
            assert _title(RAC) in page and "NOT FOR DECISIONS" in page
            b.wait_for("What each option does for A&E")
            shot = b.screenshot(tmp_path / "results.png")
            b.click_text("button", "report.pdf")
            deadline = time.monotonic() + 30
            while not (downloads / "report.pdf").is_file():
                assert time.monotonic() < deadline, list(downloads.iterdir())
                time.sleep(0.5)
        assert (downloads / "report.pdf").read_bytes().startswith(b"%PDF")
        pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
        assert pixels.shape[:2] == (1000, 1280)

        def share(rgb: tuple[int, int, int]) -> float:
            return float((np.abs(pixels - np.array(rgb)).sum(axis=2) < 40).mean())

        assert share((0x00, 0x5E, 0xB8)) > 0.002  # NHS blue: the app's own theme rendered
        assert share((255, 255, 255)) > 0.3  # a page, not an error screen
        assert (pixels.sum(axis=2) < 200).mean() > 0.005  # text
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
