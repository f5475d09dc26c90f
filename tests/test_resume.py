"""Interrupted work resumes: a run or sweep stopped by Ctrl-C keeps what finished, says how to
resume, and a re-run computes only what is missing, writing files byte-identical to a run
that was never interrupted.

Ctrl-C is simulated by raising ``KeyboardInterrupt`` just after the n-th replication has been
saved (where a real Ctrl-C lands between replications), through the real command line
running in this process.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from conftest import run_sim

import sim.cli
import sim.experiments.replication_store
import sim.experiments.replications
from sim.experiments.run_folder import RUN_FILES

#: Short runs of the whole North Durham site: 2 replications of 1 + 2 weeks.
DESIGN = ["experiment=quick", "experiment.warmup_weeks=1", "experiment.run_weeks=2"]


def interrupt_after(saved: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C just after the ``saved``-th replication of the process has been kept."""
    real_save = sim.experiments.replication_store.save_replication
    count = {"saved": 0}

    def save(*args, **kwargs):
        real_save(*args, **kwargs)
        count["saved"] += 1
        if count["saved"] == saved:
            raise KeyboardInterrupt

    monkeypatch.setattr(sim.experiments.replication_store, "save_replication", save)


def count_replications_run(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The replication numbers run from now on (kept ones are not run)."""
    ran: list[int] = []
    real_run = sim.experiments.replications.run_replication

    def run(cfg, seed, replication, *args, **kwargs):
        ran.append(replication)
        return real_run(cfg, seed, replication, *args, **kwargs)

    monkeypatch.setattr(sim.experiments.replications, "run_replication", run)
    return ran


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def assert_same_files(folder: Path, reference: Path) -> None:
    for name in RUN_FILES:
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean") / "run"
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], monkeypatch) == 0
    return folder


def test_an_interrupted_run_resumes_to_identical_files(clean_run, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "run"
    with monkeypatch.context() as stopping:
        interrupt_after(1, stopping)
        code = run_sim([*DESIGN, f"hydra.run.dir={folder}"], stopping)
    err = capsys.readouterr().err
    assert code == sim.cli.EXIT_INTERRUPTED
    stopped = manifest(folder)
    assert stopped["status"] == "interrupted"
    assert stopped["replications_kept"] == [0]
    assert (folder / "replications" / "rep_0000.json").exists()
    assert not (folder / "summary.csv").exists()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "1 of 2 replications finished" in lines[0], err

    # The printed command resumes it: only replication 1 runs.
    command = shlex.split(lines[0].split("resume with: ", 1)[1])
    assert command[:3] == ["python", "-m", "sim"]
    assert f"hydra.run.dir={folder}" in command
    ran = count_replications_run(monkeypatch)
    assert run_sim(command[3:], monkeypatch) == 0
    assert ran == [1]
    resumed = manifest(folder)
    assert resumed["status"] == "complete"
    assert resumed["replications_resumed"] == [0]
    assert resumed["config_sha256"] == manifest(clean_run)["config_sha256"]
    assert not (folder / "replications").exists()  # kept only while the run is incomplete
    assert_same_files(folder, clean_run)


def test_automatic_mode_resumes_to_the_same_decisions(tmp_path, monkeypatch):
    """Interrupted in its second batch, a run choosing its own number of replications takes
    the same decisions when resumed, so it ends with the same replications and files."""
    design = [
        *DESIGN,
        "experiment.target_relative_half_width=0.0001",  # never reached: runs to the maximum
        "experiment.max_replications=4",
    ]
    clean, folder = tmp_path / "clean", tmp_path / "run"
    assert run_sim([*design, f"hydra.run.dir={clean}"], monkeypatch) == 0
    assert manifest(clean)["replications"] == 4
    with monkeypatch.context() as stopping:
        interrupt_after(3, stopping)
        assert run_sim([*design, f"hydra.run.dir={folder}"], stopping) == 130
    assert manifest(folder)["replications_kept"] == [0, 1, 2]
    ran = count_replications_run(monkeypatch)
    assert run_sim([*design, f"hydra.run.dir={folder}"], monkeypatch) == 0
    assert ran == [3]
    assert_same_files(folder, clean)


def test_another_configuration_is_refused_and_the_folder_left_as_it_was(
    tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "run"
    with monkeypatch.context() as stopping:
        interrupt_after(1, stopping)
        assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], stopping) == 130
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    capsys.readouterr()

    code = run_sim([*DESIGN, "seed=7", f"hydra.run.dir={folder}"], monkeypatch)
    err = capsys.readouterr().err
    assert code == sim.cli.EXIT_CONFIG_ERROR
    assert "holds a run of a different configuration" in err
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before

    # Even past the preflight (as in a sweep job), kept replications are never mixed in.
    data_folder = tmp_path / "elsewhere"
    (data_folder / "replications").mkdir(parents=True)
    kept = folder / "replications" / "rep_0000.json"
    (data_folder / "replications" / kept.name).write_bytes(kept.read_bytes())
    with pytest.raises(sim.experiments.replication_store.ResumeRefused):
        sim.experiments.replication_store.load_replications(data_folder, "another fingerprint")


def test_a_replication_file_reads_back_exactly(clean_run, tmp_path):
    """JSON holds every number of a replication exactly (floats, NaN, arrays and their dtype)."""
    import numpy as np

    from sim.core.replication import ReplicationResult

    result = ReplicationResult(
        replication=3,
        kpis={"a": 0.1 + 0.2, "b": float("nan"), "c": 1e-300, "d": 7},
        ledger={"generated": 12},
        flows={("practice", "ae"): 2.5, ("nhs111", "ae"): 1 / 3},
        episodes_total=12,
        wall_seconds=0.25,
        series={"x": np.array([1.5, np.nan, 3.0]), "y": np.arange(3, dtype=np.int64)},
        equity={"by_age.0-4.rate": 0.123456789012345678},
    )
    sim.experiments.replication_store.save_replication(tmp_path, result, "fp")
    loaded = sim.experiments.replication_store.load_replications(tmp_path, "fp")[3]
    assert loaded.kpis["a"] == result.kpis["a"] and np.isnan(loaded.kpis["b"])
    assert loaded.kpis["c"] == 1e-300 and loaded.kpis["d"] == 7
    assert loaded.flows == result.flows and list(loaded.flows) == list(result.flows)
    assert loaded.equity == result.equity and loaded.ledger == result.ledger
    for name, values in result.series.items():
        assert loaded.series[name].dtype == values.dtype
        np.testing.assert_array_equal(loaded.series[name], values)


SWEEP = [
    "+sweep=all_options",
    "hydra/launcher=basic",  # jobs one after another in this process, so Ctrl-C can be placed
    "hydra.sweeper.params.scenario='choice(baseline,ic_expansion)'",
    *DESIGN,
]


def test_an_interrupted_sweep_keeps_finished_jobs_and_resumes_the_partial_one(
    tmp_path, monkeypatch, capsys
):
    clean, folder = tmp_path / "clean", tmp_path / "sweep"
    assert run_sim([*SWEEP, f"hydra.sweep.dir={clean}"], monkeypatch) == 0
    with monkeypatch.context() as stopping:
        interrupt_after(3, stopping)  # baseline's 2 replications, then ic_expansion's first
        code = run_sim([*SWEEP, f"hydra.sweep.dir={folder}"], stopping)
    err = capsys.readouterr().err
    assert code == sim.cli.EXIT_INTERRUPTED
    assert "resume by running the same command again" in err
    assert manifest(folder / "baseline")["status"] == "complete"
    assert manifest(folder / "ic_expansion")["status"] == "interrupted"
    assert manifest(folder / "ic_expansion")["replications_kept"] == [0]

    ran = count_replications_run(monkeypatch)
    assert run_sim([*SWEEP, f"hydra.sweep.dir={folder}"], monkeypatch) == 0
    assert ran == [1]  # the baseline is skipped, and ic_expansion runs its missing one
    assert "baseline: already complete, skipped" in capsys.readouterr().out
    for job in ("baseline", "ic_expansion"):
        assert manifest(folder / job)["status"] == "complete"
        assert_same_files(folder / job, clean / job)
    summary = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    assert summary["jobs_complete"] == ["baseline", "ic_expansion"]


#: The same sweep through the local launcher (every sweep's default), which runs each
#: replication of both jobs in one task before the jobs (sim.experiments.sweep_replications);
#: one task at a time, in this process, so Ctrl-C can be placed.
LOCAL_SWEEP = [
    "+sweep=all_options",
    "hydra.launcher.n_jobs=1",
    "hydra.sweeper.params.scenario='choice(baseline,ic_expansion)'",
    *DESIGN,
]


def test_a_sweep_interrupted_while_its_replications_run_together_resumes(
    tmp_path, monkeypatch, capsys
):
    """Stopped while the launcher runs the jobs' replications together, a sweep keeps every
    replication finished; run again, it runs only the missing ones, and every job's files are
    those of jobs that ran their own replications (the basic launcher's)."""
    import sim.experiments.sweep_replications

    clean, folder = tmp_path / "clean", tmp_path / "sweep"
    assert run_sim([*SWEEP, f"hydra.sweep.dir={clean}"], monkeypatch) == 0
    with monkeypatch.context() as stopping:
        interrupt_after(3, stopping)  # replication 0 of both jobs, then the baseline's 1
        code = run_sim([*LOCAL_SWEEP, f"hydra.sweep.dir={folder}"], stopping)
    assert code == sim.cli.EXIT_INTERRUPTED
    assert "resume by running the same command again" in capsys.readouterr().err
    kept = sim.experiments.replication_store.kept_replications
    assert kept(folder / "baseline") == [0, 1] and kept(folder / "ic_expansion") == [0]
    assert not (folder / "baseline" / "manifest.json").exists()  # no job had started

    tasks: list[tuple[int, list[str]]] = []
    real = sim.experiments.sweep_replications.replicate_together

    def spy(models, seed, replication, *args):
        tasks.append((replication, sorted(m.scenario for m in models.values())))
        return real(models, seed, replication, *args)

    monkeypatch.setattr(sim.experiments.sweep_replications, "replicate_together", spy)
    ran = count_replications_run(monkeypatch)
    assert run_sim([*LOCAL_SWEEP, f"hydra.sweep.dir={folder}"], monkeypatch) == 0
    assert tasks == [(1, ["ic_expansion"])]  # only the missing replication
    assert ran == []  # the jobs ran none themselves
    for job in ("baseline", "ic_expansion"):
        assert_same_files(folder / job, clean / job)
        assert "replications_resumed" not in manifest(folder / job)
        assert manifest(folder / job)["replications_run_ahead"] == [0, 1]
        assert not (folder / job / "replications").exists()
    assert manifest(folder / "ic_expansion")["run_ahead_with"] == ["baseline", "ic_expansion"]
