"""Hostile inputs and interruptions (issue 19): nothing lost, nothing overwritten, no silent
wrong answer.

The configuration mistakes of ``python -m sim`` are in the catalogue of
``tests/test_bad_inputs.py``. Here: interruptions wherever they land (inside the compiled
booking pass, while composing the configuration, SIGTERM), run folders (a lock, a folder that
is not ours, a complete run never redone, edited replications), failing writes in a sweep,
workers outliving their run, and the commands around the model (compare, report, budget,
site-from-csv, validate) given hostile folders and files: each ends with one line and the
right exit code, or gives a correct result.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import run_sim
from hydra.core.config_store import ConfigStore
from test_bad_inputs import ALIAS_BOMB, scenario_bytes
from test_resume import assert_same_files, count_replications_run, interrupt_after, manifest

import sim.booking.engine
import sim.booking.preparation
import sim.cli
import sim.config.compose
import sim.experiments.replications
from sim.config.locations import PROJECT_ROOT
from sim.experiments import outputs, replication_store
from sim.experiments import run_folder as folder_rules

#: Two replications of one week of the whole site, one at a time (so that a fault placed in
#: this process lands where it is meant to).
DESIGN = [
    "experiment=quick",
    "experiment.replications=2",
    "experiment.warmup_weeks=0",
    "experiment.run_weeks=1",
    "experiment.n_jobs=1",
]


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean") / "run"
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], monkeypatch) == 0
    return folder


# --------------------------------------------------------------------------------------------
# Interruptions
# --------------------------------------------------------------------------------------------


def signal_in_booking_pass(monkeypatch: pytest.MonkeyPatch, signum: int, on_call: int) -> None:
    """Deliver ``signum`` during the ``on_call``-th booking pass, as it surfaces from compiled
    code: numba reports an exception raised while it was running (here the handler's
    ``KeyboardInterrupt``) as a ``SystemError`` "returned a result with an exception set"."""
    real = sim.booking.preparation.booking_pass
    calls = {"n": 0}

    def booking_pass(*args):
        calls["n"] += 1
        if calls["n"] == on_call:
            try:
                signal.raise_signal(signum)
            except KeyboardInterrupt as err:
                raise SystemError(f"{real!r} returned a result with an exception set") from err
        return real(*args)

    monkeypatch.setattr(sim.booking.preparation, "booking_pass", booking_pass)
    monkeypatch.setattr(sim.booking.engine, "needs_compiling", lambda: False)


@pytest.mark.parametrize(
    ("signum", "said"), [(signal.SIGINT, "Interrupted: "), (signal.SIGTERM, "by SIGTERM: ")]
)
def test_a_stop_inside_the_compiled_booking_pass_is_an_interruption(
    clean_run, tmp_path, monkeypatch, capsys, signum, said
):
    folder = tmp_path / "run"
    with monkeypatch.context() as stopping:
        signal_in_booking_pass(stopping, signum, on_call=2)
        code = run_sim([*DESIGN, f"hydra.run.dir={folder}"], stopping)
    line = one_line(capsys.readouterr().err)
    assert code == sim.cli.EXIT_INTERRUPTED
    assert said in line and "1 of 2 replications finished" in line and "resume with:" in line
    assert manifest(folder)["status"] == "interrupted"  # never "failed"
    assert manifest(folder)["replications_kept"] == [0]
    assert not (folder / "error.txt").exists()
    # The signal handlers are the interpreter's own again after the command.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ran = count_replications_run(monkeypatch)
    assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], monkeypatch) == 0
    assert ran == [1]
    assert_same_files(folder, clean_run)


def signal_at_the_complete_manifest(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    """SIGTERM just ``"before"`` the manifest that says complete is put in place, or just
    ``"after"``: the last moments of a run, where a real signal was once seen to leave a
    folder saying "running" (or a complete run reported as interrupted)."""
    real = outputs.atomic_write_json

    def write(path: Path, data: dict) -> None:
        last = Path(path).name == "manifest.json" and data.get("status") == "complete"
        if last and when == "before":
            signal.raise_signal(signal.SIGTERM)
        real(path, data)
        if last and when == "after":
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(outputs, "atomic_write_json", write)


def run_signalled_at_the_end(when: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The design run into ``folder``, SIGTERM coming ``when`` its complete manifest is
    written (:func:`signal_at_the_complete_manifest`); returns the exit code."""
    with monkeypatch.context() as stopping:
        signal_at_the_complete_manifest(stopping, when)
        return run_sim([*DESIGN, f"hydra.run.dir={folder}"], stopping)


def test_a_signal_before_the_complete_manifest_leaves_the_run_interrupted(
    clean_run, tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "run"
    code = run_signalled_at_the_end("before", folder, monkeypatch)
    line = one_line(capsys.readouterr().err)
    assert code == sim.cli.EXIT_INTERRUPTED
    assert "by SIGTERM: 2 of 2 replications finished" in line and "resume with:" in line
    assert manifest(folder)["status"] == "interrupted"  # never left "running"
    assert manifest(folder)["replications_kept"] == [0, 1]
    assert not {"finished_utc", "files", "episodes"} & set(manifest(folder))
    ran = count_replications_run(monkeypatch)
    assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], monkeypatch) == 0
    assert ran == []  # the resume only writes the files
    assert_same_files(folder, clean_run)
    assert manifest(folder)["status"] == "complete"


def test_a_signal_just_after_the_complete_manifest_leaves_the_run_complete(
    clean_run, tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "run"
    code = run_signalled_at_the_end("after", folder, monkeypatch)
    out, err = capsys.readouterr()
    line = one_line(err)
    assert code == 0  # nothing to resume: not reported as interrupted
    assert line == f"SIGTERM came as the run finished: its results are complete in {folder}"
    assert out.strip().splitlines()[-1] == str(folder)
    assert manifest(folder)["status"] == "complete"
    assert not (folder / replication_store.REPLICATIONS_DIR).exists()
    assert_same_files(folder, clean_run)


def test_ctrl_c_while_composing_the_configuration(tmp_path, monkeypatch, capsys):
    real = sim.config.compose.build_model_config

    def composing(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(sim.config.compose, "build_model_config", composing)
    code = run_sim([*DESIGN, f"hydra.run.dir={tmp_path / 'run'}"], monkeypatch)
    line = one_line(capsys.readouterr().err)
    assert code == sim.cli.EXIT_INTERRUPTED
    assert line.startswith("Interrupted before any replication ran") and "python -m sim" in line
    assert not (tmp_path / "run").exists()


def test_ctrl_c_in_a_command(tmp_path, monkeypatch, capsys, clean_run):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sim.tools.compare.compare_runs", stop)
    code = run_sim(["compare", str(clean_run), str(clean_run)], monkeypatch)
    line = one_line(capsys.readouterr().err)
    assert code == sim.cli.EXIT_INTERRUPTED and "python -m sim compare stopped" in line


def start_sim(folder: Path, *settings: str, output=subprocess.PIPE) -> subprocess.Popen:
    """``python -m sim`` (the quick design, no warm-up, these settings) in a process of its
    own, writing into ``folder``."""
    args = ["experiment=quick", "experiment.warmup_weeks=0", *settings, f"hydra.run.dir={folder}"]
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
        stdout=output,
        stderr=output,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "delay"),
    [(signal.SIGINT, 0.0), (signal.SIGINT, 0.4), (signal.SIGINT, 1.1), (signal.SIGTERM, 0.7)],
)
def test_a_real_signal_at_any_moment_of_a_run(tmp_path, signum, delay):
    """A real Ctrl-C (or SIGTERM) a little after the first replication has started, so most
    often inside the compiled booking pass: exit code 130, one line, no traceback, and a
    folder that says interrupted (never complete, never failed)."""
    folder = tmp_path / "run"
    proc = start_sim(folder, "experiment.replications=1", "experiment.run_weeks=13")
    deadline = time.monotonic() + 120
    while not (folder / "manifest.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    err = err.decode()
    # The run finished before the signal: a correct result. (A signal in the last moments of
    # the interpreter's shutdown, when Python has put back the default handlers, ends it
    # "killed by the signal", which a shell shows as 130 too; there is nothing to resume.)
    if proc.returncode in (0, -signum) and manifest(folder)["status"] == "complete":
        assert "Traceback" not in err
        return
    assert proc.returncode == sim.cli.EXIT_INTERRUPTED, err
    line = one_line(err)
    assert line.startswith("Interrupted") and "resume with: python -m sim" in line
    assert manifest(folder)["status"] == "interrupted"


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; only its parent has yet to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_do_not_outlive_a_killed_run(tmp_path):
    folder = tmp_path / "run"
    proc = start_sim(
        folder,
        "experiment.n_jobs=2",
        "experiment.replications=4",
        "experiment.run_weeks=26",
        output=subprocess.DEVNULL,
    )
    workers: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
        workers = [
            k
            for k in _children(proc.pid)
            if "popen_loky_posix" in Path(f"/proc/{k}/cmdline").read_text(errors="replace")
        ]
        if len(workers) >= 2 and (folder / "manifest.json").exists():
            break
    assert len(workers) >= 2, "the run started no workers"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 90
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = {
        w: Path(f"/proc/{w}/cmdline").read_text(errors="replace") for w in workers if _running(w)
    }
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left, f"workers outlived their run: {left}"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("parent_dies", [True, False])
def test_a_worker_ends_when_its_run_is_gone_before_it_starts_work(tmp_path, parent_dies):
    """The race a killed run leaves: a worker that starts work after its run died (its run is
    a zombie or gone, and the worker has a new parent) ends at once; a worker whose run is
    alive goes on."""
    out = tmp_path / "out.txt"
    script = (
        "import sys, time; from sim.experiments.interrupts import exit_with_parent; "
        "time.sleep(1.0); exit_with_parent(int(sys.argv[1])); print('went on', flush=True)"
    )
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    # sh starts the worker in the background, then exits (parent_dies) or waits for it.
    tail = "" if parent_dies else " wait"
    sh = subprocess.Popen(
        ["sh", "-c", f'"{sys.executable}" -c "$0" $$ > "{out}" &{tail}', script], env=env
    )
    time.sleep(4)  # sh is not reaped yet: a zombie while the worker starts work
    sh.wait(timeout=30)
    deadline = time.monotonic() + 30
    while not parent_dies and not out.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert out.read_text() == ("" if parent_dies else "went on\n")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_grandchild_worker_ends_when_its_run_is_killed(tmp_path):
    """A worker two processes below its run (a Dask worker under its nanny, a submitit job)
    whose own parent outlives the run: it ends within seconds of the run being killed."""
    out = tmp_path / "out.txt"
    script = (
        "import sys, time; from sim.experiments.interrupts import exit_with_parent; "
        "exit_with_parent(int(sys.argv[1])); print('watching', flush=True); "
        "time.sleep(10); print('went on', flush=True)"
    )
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    # the run (sh) starts a subshell, which starts the worker and waits for it ("; true"
    # keeps the subshell from becoming the worker); the run then waits too
    run = subprocess.Popen(
        ["sh", "-c", f'( "{sys.executable}" -c "$0" $$ > "{out}"; true ) & wait', script],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (out.exists() and out.read_text()):
        time.sleep(0.1)
    assert out.read_text() == "watching\n"
    run.kill()  # kill -9: the subshell lives on, the worker's own parent
    run.wait()
    time.sleep(12)
    assert out.read_text() == "watching\n"


# --------------------------------------------------------------------------------------------
# Run folders
# --------------------------------------------------------------------------------------------


def test_a_complete_run_is_never_started_again(clean_run, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "run"
    shutil.copytree(clean_run, folder)
    # The lock file, and the log, which records the attempt, may change; nothing else.
    kept = [p for p in folder.rglob("*") if p.is_file() and p.name not in (".lock", "run.log")]
    before = {p: p.read_bytes() for p in kept}
    ran = count_replications_run(monkeypatch)
    capsys.readouterr()
    assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], monkeypatch) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert ran == []
    assert "already complete, skipped" in out[0] and out[-1] == str(folder)
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert {p: b for p, b in after.items() if p.name not in (".lock", "run.log")} == before


def test_a_folder_of_the_users_files_is_left_untouched(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "mine"
    (folder / "replications").mkdir(parents=True)
    (folder / "replications" / "rep_0000.json").write_text("my notes\n")
    (folder / "summary.csv").write_text("my numbers\n")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    code = run_sim([*DESIGN, f"hydra.run.dir={folder}"], monkeypatch)
    assert code == sim.cli.EXIT_CONFIG_ERROR
    assert "is not a run folder of this program" in one_line(capsys.readouterr().err)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_an_edited_replication_is_not_used(clean_run, tmp_path, monkeypatch, capsys):
    """A kept replication changed after it was written (a hand edit that keeps the JSON valid)
    fails its checksum: it is run again, and the results are those of a clean run."""
    folder = tmp_path / "run"
    with monkeypatch.context() as stopping:
        interrupt_after(1, stopping)
        assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], stopping) == 130
    kept = folder / "replications" / "rep_0000.json"
    data = json.loads(kept.read_text())
    data["kpis"]["ae.attendances_per_week"] *= 1.3
    kept.write_text(json.dumps(data))
    capsys.readouterr()
    ran = count_replications_run(monkeypatch)
    assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], monkeypatch) == 0
    assert "changed after it was written (checksum mismatch)" in capsys.readouterr().out
    assert sorted(ran) == [0, 1]
    assert_same_files(folder, clean_run)


def test_the_replication_store_never_removes_what_is_not_its_own(tmp_path):
    folder = tmp_path / "replications"
    folder.mkdir()
    (folder / "rep_notes.json").write_text("mine")
    (folder / "rep_0001.json").write_text("{}")
    assert replication_store.kept_replications(tmp_path) == [1]
    replication_store.discard_replications(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["rep_notes.json"]


def test_a_folder_removed_between_being_seen_and_listed_is_not_refused(tmp_path, monkeypatch):
    """Two runs started together: one makes the folder to check it can write there and removes
    it again while the other is looking. The other must go on to the lock (which refuses it with
    a clear line if the first holds it), not stop with 'No such file or directory'."""
    gone = tmp_path / "run"
    monkeypatch.setattr(folder_rules, "_existing_folder", lambda folder, key: True)
    folder_rules.check_folder_is_ours(gone)
    folder_rules.check_sweep_folder_is_ours(gone)


@pytest.mark.slow
def test_two_runs_started_together_in_one_folder(tmp_path):
    """Two different configurations started at once into one folder: one runs, the other is
    refused with one line; the folder holds one run whose manifest and .hydra/ agree."""
    folder = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    base = [sys.executable, "-m", "sim", *DESIGN, f"hydra.run.dir={folder}"]
    procs = [
        subprocess.Popen(
            [*base, f"seed={s}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for s in (11, 12)
    ]
    results = [(p.wait(timeout=600), p.stderr.read().decode()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, sim.cli.EXIT_CONFIG_ERROR], results
    refused = next(err for code, err in results if code)
    line = one_line(refused)
    assert (
        "another run is using this folder" in line
        or "holds a run of a different configuration" in line
    )
    done = manifest(folder)
    config = yaml.safe_load((folder / ".hydra" / "config.yaml").read_text())
    assert done["status"] == "complete" and done["seed"] == config["seed"]


def test_one_bad_option_file_blocks_only_runs_that_choose_it(tmp_path, monkeypatch, capsys):
    """An alias bomb, a Windows-1252 file and a broken file in scenarios/: the baseline and
    every other option still run (each file is read once, within its limits)."""
    scenario_bytes("bomb", ("title: t\ndescription: d\n" + ALIAS_BOMB).encode())(
        tmp_path, monkeypatch
    )
    (tmp_path / "scenarios" / "pounds.yaml").write_bytes("title: £\n".encode("cp1252"))
    (tmp_path / "scenarios" / "broken.yaml").write_text("title: [\n")
    # the run registers them in Hydra's ConfigStore, which outlives the test: removed after it
    # (as scenario_bytes does for "bomb"), or a later test would find them still there
    options = ConfigStore.instance().repo["scenario"]
    for name in ("pounds", "broken"):
        monkeypatch.setitem(options, f"{name}.yaml", options["baseline.yaml"])
    started = time.monotonic()
    code = run_sim(
        [*DESIGN, "experiment.replications=1", f"hydra.run.dir={tmp_path / 'run'}"], monkeypatch
    )
    assert code == 0, capsys.readouterr().err
    assert manifest(tmp_path / "run")["status"] == "complete"
    assert time.monotonic() - started < 120


def test_a_failing_write_in_a_sweep_job_is_recorded_and_the_sweep_goes_on(
    tmp_path, monkeypatch, capsys
):
    """The disk fills while the first job writes Hydra's record of its configuration (written
    by this program, atomically): that job fails with its reason printed, the next job runs."""
    full = {"left": 1}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if (
            Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(".config.yaml.")
            and full["left"]
        ):
            full["left"] -= 1
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    sweep = tmp_path / "sweep"
    code = run_sim(
        [
            "-m",
            *DESIGN,
            "experiment.replications=1",
            "hydra/launcher=basic",
            "scenario=baseline,ic_expansion",
            f"hydra.sweep.dir={sweep}",
        ],
        monkeypatch,
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "FAILED (cannot write config.yaml: No space left on device)" in out
    statuses = {
        p.parent.name: json.loads(p.read_text())["status"] for p in sweep.glob("*/manifest.json")
    }
    assert list(statuses.values()).count("complete") == 1
    assert not [p for p in sweep.rglob("config.yaml") if p.stat().st_size == 0]


# --------------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------------

#: A tiny site, as a run folder's .hydra/config.yaml holds it.
TINY = {
    "seed": 7,
    "site": {
        "name": "tiny",
        "calendar_start": "2024-04-01",
        "practices": {"A01": {"locality": "a", "list_size": 1000}},
        "localities": {"a": {"title": "A"}},
    },
    "assumptions": {"demand": {"scale": 1.0, "staff_need_share": {"gp": 0.5, "nurse": 0.5}}},
    "scenario": {"baseline": {"title": "Baseline", "description": "d"}},
}


def run_folder(path: Path, config: dict, values: list[float], **manifest_extra) -> Path:
    path.mkdir(parents=True)
    manifest = {
        "status": "complete",
        "seed": config["seed"],
        "site": config["site"]["name"],
        "replications": len(values),
        "warmup_weeks": 1,
        "run_weeks": 4,
        "ci_level": 0.95,
        **manifest_extra,
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / ".hydra").mkdir()
    (path / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    rows = [(r, "ae.attendances_per_week", v) for r, v in enumerate(values)]
    pd.DataFrame(rows, columns=["replication", "kpi", "value"]).to_csv(
        path / "kpis.csv", index=False
    )
    return path


def with_changes(**changes) -> dict:
    import copy

    config = copy.deepcopy(TINY)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return config


def compare(tmp_path, base_config, option_config, monkeypatch, capsys, *extra):
    base = run_folder(tmp_path / "base", base_config, [100.0, 110.0, 95.0])
    option = run_folder(tmp_path / "option", option_config, [90.0, 101.0, 84.0])
    code = run_sim(["compare", str(base), str(option), *extra], monkeypatch)
    out, err = capsys.readouterr()
    return code, out, err, option


@pytest.mark.parametrize(
    ("option_config", "message"),
    [
        (
            with_changes(site__practices={"B01": {"locality": "a", "list_size": 41_000}}),
            "the runs simulate different populations (baseline: site 'tiny', 1 practices, "
            "1,000 patients",
        ),
        (
            with_changes(site__practices={"A01": {"locality": "a", "list_size": 2000}}),
            "population_sha256 differs",
        ),
        (with_changes(site__calendar_start="2025-04-07"), "different populations"),
        (
            with_changes(site__localities={"a": {"population_index": {"85+": [1.0, 1.2]}}}),
            "different populations",
        ),
        (with_changes(assumptions__demand={"scale": 1.4}), "demand settings differ"),
    ],
)
def test_compare_refuses_runs_of_different_populations_or_demand(
    tmp_path, monkeypatch, capsys, option_config, message
):
    code, _, err, option = compare(tmp_path, TINY, option_config, monkeypatch, capsys)
    assert code == 2
    line = one_line(err)
    assert line.startswith("Comparison error: ") and message in line
    assert not (option / "comparisons").exists()


def test_compare_states_a_demand_change_the_option_declares(tmp_path, monkeypatch, capsys):
    option = with_changes(
        scenario={
            "pharmacists": {
                "title": "Pharmacists",
                "description": "d",
                "changes_demand": True,
                "changes": {"assumptions": {"demand": {"staff_need_share": {"gp": 0.4}}}},
            }
        }
    )
    code, out, err, folder = compare(tmp_path, TINY, option, monkeypatch, capsys)
    assert code == 0, err
    assert "Note: pharmacists changes demand (declared with changes_demand" in out
    record = json.loads((folder / "comparisons" / "vs_base" / "comparison.json").read_text())
    assert record["notes"] and "pharmacists changes demand" in record["notes"][0]


def test_compare_refuses_a_demand_change_no_option_declares(tmp_path, monkeypatch, capsys):
    option = with_changes(
        scenario={
            "quiet": {
                "title": "Quiet",
                "description": "d",
                "changes": {"assumptions": {"demand": {"scale": 2.0}}},
            }
        }
    )
    code, _, err, _ = compare(tmp_path, TINY, option, monkeypatch, capsys)
    assert code == 2 and "no option declares" in one_line(err)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda f: (f / "manifest.json").write_text('{"status": "compl'), "cannot be read"),
        (lambda f: (f / "manifest.json").write_text("[1, 2]"), "not a JSON object"),
        (
            lambda f: (f / "kpis.csv").write_text(
                "replication,kpi,value\n0,ae.attendances_per_week,lots\n"
            ),
            "row 2: replication '0', value 'lots': must be numbers",
        ),
        (lambda f: (f / "kpis.csv").write_text("a,b\n1,2\n"), "has no column 'replication'"),
        (lambda f: (f / "kpis.csv").write_bytes(b"\xff\xfe\x00"), "cannot be read"),
        (lambda f: (f / ".hydra" / "config.yaml").write_text(ALIAS_BOMB), "alias"),
        (
            lambda f: (f / "manifest.json").write_text(
                json.dumps({**json.loads((f / "manifest.json").read_text()), "ci_level": "x"})
            ),
            "ci_level = 'x': must lie between 0 and 1",
        ),
    ],
)
def test_compare_refuses_damaged_run_folders(tmp_path, monkeypatch, capsys, tamper, message):
    base = run_folder(tmp_path / "base", TINY, [100.0, 110.0, 95.0])
    option = run_folder(tmp_path / "option", TINY, [90.0, 101.0, 84.0])
    tamper(option)
    code = run_sim(["compare", str(base), str(option)], monkeypatch)
    assert code == 2
    assert message in one_line(capsys.readouterr().err)


def test_compare_into_a_folder_it_cannot_write(tmp_path, monkeypatch, capsys):
    base = run_folder(tmp_path / "base", TINY, [100.0, 110.0, 95.0])
    option = run_folder(tmp_path / "option", TINY, [90.0, 101.0, 84.0])
    (option / "comparisons").write_text("in the way\n")  # as a read-only folder would be
    code = run_sim(["compare", str(base), str(option)], monkeypatch)
    line = one_line(capsys.readouterr().err)
    assert code == 1 and line.startswith("Output error: ") and "--out" in line


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


@pytest.fixture
def run_copy(clean_run, tmp_path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(clean_run, folder)
    return folder


def edit_csv(path: Path, edit) -> None:
    """Rewrite a table as ``edit(frame)`` returns it."""
    edit(pd.read_csv(path)).to_csv(path, index=False)


def _drop_headline(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame.kpi != "ae.attendances_per_week"]


def _text_value(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(mean=["twelve", *frame["mean"].iloc[1:]])


def _share_above_one(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[frame.kpi == "ae.four_hour_performance", ["mean", "ci_low", "ci_high"]] = 1.7
    return frame


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        ("summary.csv", _drop_headline, "no row for headline KPI 'ae.attendances_per_week'"),
        ("summary.csv", _text_value, "column 'mean': 'twelve' must be a number"),
        ("summary.csv", _share_above_one, "must lie in [0, 1] (it is a share)"),
        ("flows.csv", lambda f: f.drop(columns=["n"]), "has no column 'n'"),
        ("calibration.csv", lambda f: f.assign(within="maybe"), "must be True or False"),
        ("equity.csv", lambda f: f.assign(n=-3), "must be a whole number >= 0"),
    ],
)
def test_report_refuses_damaged_tables(run_copy, monkeypatch, capsys, file, edit, message):
    edit_csv(run_copy / file, edit)
    code = run_sim(["report", str(run_copy)], monkeypatch)
    line = one_line(capsys.readouterr().err)
    assert code == 2 and message in line
    assert not (run_copy / "report.html").exists()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda f: (f / "manifest.json").write_text("{"), "cannot be read"),
        (lambda f: (f / ".hydra" / "config.yaml").write_text(ALIAS_BOMB), "alias"),
        (lambda f: (f / ".hydra" / "config.yaml").write_bytes(b"title: \xa3\n"), "not UTF-8"),
        (lambda f: (f / "timeseries.parquet").write_text("not parquet"), "cannot be read"),
        (
            lambda f: (f / "manifest.json").write_text(
                json.dumps({**json.loads((f / "manifest.json").read_text()), "ci_level": "95%"})
            ),
            "ci_level = '95%'",
        ),
    ],
)
def test_report_refuses_damaged_run_folders(run_copy, monkeypatch, capsys, tamper, message):
    tamper(run_copy)
    code = run_sim(["report", str(run_copy)], monkeypatch)
    assert code == 2 and message in one_line(capsys.readouterr().err)


HOSTILE_TITLE = "Hubs $\\frac{$ <script>alert('x')</script> [click](javascript:x) | *bold*"


def test_report_writes_users_text_as_text_in_every_format(run_copy, monkeypatch, capsys):
    config_path = run_copy / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["scenario"]["baseline"]["title"] = HOSTILE_TITLE
    # a hand edit may also slip in a character no document can hold (U+0001)
    config["site"]["title"] = "North $\\frac{$ <b>Durham</b>\x01"
    config_path.write_text(yaml.safe_dump(config))
    assert run_sim(["report", str(run_copy)], monkeypatch) == 0, capsys.readouterr().err
    html_text = (run_copy / "report.html").read_text()
    markdown = (run_copy / "report.md").read_text()
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text
    assert "<b>Durham" not in html_text
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "[click](javascript" not in markdown and "\\[click\\](javascript" in markdown
    assert (run_copy / "report.pdf").read_bytes().startswith(b"%PDF")
    # the Word paper: its XML escapes text itself, and cannot hold U+0001 at all
    import zipfile

    with zipfile.ZipFile(run_copy / "report.docx") as docx:
        body = docx.read("word/document.xml").decode("utf-8")
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "\x01" not in body and "Durham&lt;/b&gt;\ufffd" in body


def test_report_into_a_folder_it_cannot_write(run_copy, monkeypatch, capsys):
    (run_copy / "report_figures").write_text("in the way\n")  # as a read-only folder would be
    code = run_sim(["report", str(run_copy)], monkeypatch)
    line = one_line(capsys.readouterr().err)
    assert code == 1 and line.startswith("Output error: ") and "report_figures" in line


# --------------------------------------------------------------------------------------------
# budget
# --------------------------------------------------------------------------------------------


def test_budget_headline_is_in_the_objectives_own_unit_and_period():
    from sim.tools.budget import headline

    verdict = {"winner": "a+b", "a+b": {"gain": 23.4, "gain_ci": [18.1, 28.7]}}
    verdict.update(confirm_replications=10, level=0.95)
    line = headline("ae.attendances_per_week", verdict, 2_900_000)
    assert "23.4 attendances per week better than the baseline (95% CI 18.1 to 28.7" in line
    assert "about 1,221 attendances a year" in line  # 23.4 x 52.18
    verdict["a+b"] = {"gain": 2_401_333.0, "gain_ci": [2_000_000.0, 2_800_000.0]}
    cost = headline("cost.total_annual_gbp", verdict, 2_900_000)
    assert "2,401,333 £ per year (2024/25 prices) better" in cost and "a year better" not in cost
    assert "117,014,390" not in cost  # the old headline multiplied a yearly cost by 52.18
    verdict["a+b"] = {"gain": 0.0123, "gain_ci": [0.004, 0.02]}
    share = headline("ae.four_hour_performance", verdict, 2_900_000)
    assert "0.0123 share of attendances better" in share and "(95% CI 0.004 to 0.02;" in share


def test_a_second_budget_analysis_never_overwrites_the_first(tmp_path, monkeypatch, capsys):
    from sim.tools import budget

    def find_best(sweep, amount, objective, candidates, confirm, programme=None):
        table = pd.DataFrame({"options": ["a"], "simulated_gain": [1.0]})
        verdict = {"winner": "a", "a": {"gain": 1.0, "gain_ci": [0.5, 1.5]}}
        return table, {**verdict, "confirm_replications": confirm, "level": 0.95}

    monkeypatch.setattr(budget, "find_best", find_best)
    (tmp_path / "comparison.csv").write_text("option,kpi,diff_mean\n")
    folders = []
    for objective in ("ae.attendances_per_week", "system.admissions_per_week", None):
        args = ["budget", str(tmp_path), *(["--objective", objective] if objective else [])]
        assert run_sim(args, monkeypatch) == 0
        folders.append(Path(capsys.readouterr().out.strip().splitlines()[-1]))
    assert len(set(folders)) == 3
    assert folders[2].name == folders[0].name + "_2"
    for folder in folders:
        assert json.loads((folder / "budget.json").read_text())["status"] == "complete"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "1e308"], "--budget 1e+308: must be a positive amount"),
        (["--budget", "nan"], "must be a positive amount"),
        (["--budget", "-5"], "must be a positive amount"),
        (["--objective", "ae.nothing"], "not a KPI of the model"),
        (["--candidates", "0"], "--candidates must be 1 to 100"),
    ],
)
def test_budget_refuses_bad_options(tmp_path, monkeypatch, capsys, args, message):
    (tmp_path / "comparison.csv").write_text("option,kpi,diff_mean\n")
    code = run_sim(["budget", str(tmp_path), *args], monkeypatch)
    assert code == 2 and message in one_line(capsys.readouterr().err)
    assert not list(tmp_path.glob("budget_*"))


def test_budget_refuses_a_damaged_sweep_comparison(tmp_path, monkeypatch, capsys):
    (tmp_path / "comparison.csv").write_text(
        "option,kpi,diff_mean\nx_opt,cost.services_annual_gbp,lots\n"
        "x_opt,ae.attendances_per_week,-3\n"
    )
    code = run_sim(["budget", str(tmp_path)], monkeypatch)
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "option 'x_opt' has no number for cost.services_annual_gbp" in line


# --------------------------------------------------------------------------------------------
# site-from-csv and validate
# --------------------------------------------------------------------------------------------

SAMPLES = PROJECT_ROOT / "sim" / "data" / "samples"


@pytest.mark.parametrize(
    ("name", "practice_name", "message"),
    [
        ("x" * 301, None, "at most 64 characters"),
        ("area", "Riverside\u0081 Centre", "contains the character U+0081"),
        ("area", "Riverside\ufffe Centre", "contains the character U+FFFE"),
        ("area", "Riverside\x07 Centre", "contains the character U+0007"),
    ],
)
def test_site_builder_refuses_names_it_cannot_write(
    tmp_path, monkeypatch, capsys, name, practice_name, message
):
    localities = SAMPLES / "practice_localities_sample.csv"
    if practice_name is not None:
        text = localities.read_text(encoding="utf-8")
        localities = tmp_path / "localities.csv"
        localities.write_text(text.replace("Riverside Medical Centre", practice_name, 1))
    (tmp_path / "conf" / "site").mkdir(parents=True)
    args = [
        "site-from-csv",
        "--patients",
        str(SAMPLES / "gp_practice_registrations_sample.csv"),
        "--localities",
        str(localities),
        "--name",
        name,
        "--conf-dir",
        str(tmp_path / "conf"),
    ]
    code = run_sim(args, monkeypatch)
    assert code == 2 and message in one_line(capsys.readouterr().err)
    assert not list((tmp_path / "conf" / "site").iterdir())


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_site_builder_reads_a_large_file_in_little_memory(tmp_path):
    """A registration file of every practice in England by single year of age (about 100 MB)
    was held in memory several times over (1.75 GB for 94 MB); rows are now read as they are
    needed. A 30 MB file, written here, must not take more than 350 MB in all (the
    interpreter and libraries take about 100 MB; the old reader needed about 600 MB)."""
    patients, localities = tmp_path / "patients.csv", tmp_path / "localities.csv"
    with open(patients, "w", encoding="utf-8") as fh:
        fh.write(
            "PUBLICATION,EXTRACT_DATE,TYPE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,"
            "ORG_CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\n"
        )
        for i in range(2000):
            for sex in ("MALE", "FEMALE"):
                for age in [*map(str, range(95)), "95+"]:
                    fh.write(
                        f"GP_PRAC_PAT_LIST,01APR2025,GP,99Z,E38999999,X{i:05d},ZZ99 1AA,{sex},"
                        f"{age},{(i + len(age)) % 97}\n"
                    )
    localities.write_text(
        "PRACTICE_CODE,PRACTICE_NAME,LOCALITY\n"
        + "".join(f"X{i:05d},Practice {i},area{i % 20}\n" for i in range(2000))
    )
    assert patients.stat().st_size > 25e6
    (tmp_path / "conf" / "site").mkdir(parents=True)
    # The peak of this process only (VmHWM starts afresh at exec; ru_maxrss would count the
    # pages of the test process it was forked from).
    script = (
        "import re, sys; from sim.tools.site_from_csv import main; code = main(sys.argv[1:]); "
        "status = open('/proc/self/status').read(); "
        "print(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)); sys.exit(code)"
    )
    args = ["--patients", str(patients), "--localities", str(localities), "--name", "big"]
    done = subprocess.run(
        [sys.executable, "-c", script, *args, "--conf-dir", str(tmp_path / "conf")],
        env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.strip().splitlines()[-1]) / 1024
    assert peak_mb < 350, f"peak {peak_mb:.0f} MB"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "-1"], "--seed = -1: must be a whole number >= 0"),
        (["--jobs", "0"], "--jobs = 0: must be a positive number of cores"),
    ],
)
def test_validate_refuses_bad_options_before_making_a_folder(
    tmp_path, monkeypatch, capsys, args, message
):
    code = run_sim(["validate", "--quick", "--out", str(tmp_path / "v"), *args], monkeypatch)
    assert code == 2 and message in one_line(capsys.readouterr().err)
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize(
    ("stop", "status", "code"), [(KeyboardInterrupt, "interrupted", 130), (ValueError, "failed", 1)]
)
def test_validate_stopped_says_so_in_its_manifest(
    tmp_path, monkeypatch, capsys, stop, status, code
):
    """Ctrl-C in the middle of ``python -m sim validate`` (or a failure) leaves its folder
    "interrupted" (or "failed", with the error), never "running"."""
    import sim.tools.validate

    def stopped(*args, **kwargs):
        raise stop("stopped here")

    monkeypatch.setattr(sim.tools.validate, "run_suite", stopped)
    try:
        got = run_sim(["validate", "--quick", "--out", str(tmp_path / "v")], monkeypatch)
    except ValueError:  # a failure of a command is raised, as any bug is
        got = 1
    assert got == code
    [folder] = (tmp_path / "v").iterdir()
    written = manifest(folder)
    assert written["status"] == status
    assert ("error" in written) == (status == "failed")
    if status == "interrupted":
        assert one_line(capsys.readouterr().err).startswith("Interrupted: python -m sim validate")
