"""A sweep's replications run together before its jobs (``sim.experiments.sweep_replications``,
the local launcher): which jobs it takes, how it groups their replications, and that one job's
failure costs the others nothing. That the files are byte-identical to jobs running their own
replications is checked through the real command line (``tests/test_sweeps.py``), and that an
interrupted sweep resumes from what it kept, in ``tests/test_resume.py``."""

from __future__ import annotations

import json

import sim.experiments.sweep_replications as together
from sim.config.compose import compose_config, compose_validated, plain
from sim.core.replication import ReplicationResult
from sim.experiments import replication_store
from sim.experiments.run_folder import config_fingerprint

SHORT = ["experiment=quick", "experiment.replications=3", "experiment.warmup_weeks=1"]


def job_config(*overrides: str) -> dict:
    """A job's composed configuration as the launcher hands it over (Hydra's node left out)."""
    return plain(compose_config([*SHORT, "experiment.run_weeks=2", *overrides]))


def test_the_jobs_taken_are_those_their_own_run_would_run(tmp_path):
    """Jobs whose run would refuse or skip them are left to it, to say so; a job with
    replications kept already needs only the others."""
    good = job_config("scenario=[ic_expansion]")
    kept_some = job_config()
    fingerprint = config_fingerprint(compose_validated([*SHORT, "experiment.run_weeks=2"])[2])
    folders = {n: tmp_path / n for n in ("good", "invalid", "psa", "foreign", "done", "kept")}
    (folders["foreign"]).mkdir()
    (folders["foreign"] / "notes.txt").write_text("a planner's own file")
    (folders["done"]).mkdir()
    (folders["done"] / "manifest.json").write_text(json.dumps({"status": "complete"}))
    # any replication of this configuration will do: only its number counts here
    replication_store.save_replication(
        folders["kept"], ReplicationResult(1, {}, {}, {}, 0, 0.0), fingerprint
    )
    configs = [
        (folders["good"], good),
        (folders["invalid"], job_config("scenario=[extended_access_8to8,enhanced_access_double]")),
        (folders["psa"], {**good, "psa": {"sets": 2}}),
        (folders["foreign"], good),
        (folders["done"], good),
        (folders["kept"], kept_some),
    ]
    jobs = together.plan_jobs(configs)
    assert [j.out_dir.name for j in jobs] == ["good", "kept"]
    assert [j.todo for j in jobs] == [[0, 1, 2], [0, 2]]
    assert jobs[1].fingerprint == fingerprint  # as the job itself computes it
    assert [j.name for j in jobs] == ["ic_expansion", "baseline"]


def test_a_task_is_one_replication_of_every_job_with_the_same_seed_and_weeks(tmp_path):
    configs = [
        (tmp_path / "a", job_config()),
        (tmp_path / "b", job_config("scenario=[ic_expansion]")),
        (tmp_path / "c", job_config("seed=7")),
        (tmp_path / "d", job_config("experiment.replications=1")),
    ]
    tasks = together.plan_tasks(together.plan_jobs(configs))
    seed = compose_validated([])[1].seed
    assert [(t.replication, t.seed, t.jobs) for t in tasks] == [
        (0, 7, (2,)),
        (0, seed, (0, 1, 3)),
        (1, 7, (2,)),
        (1, seed, (0, 1)),
        (2, 7, (2,)),
        (2, seed, (0, 1)),
    ]
    assert {(t.warmup_weeks, t.run_weeks) for t in tasks} == {(1, 2)}


def test_a_failing_replication_costs_only_its_own_job(monkeypatch):
    """When the task's replications fail together, each job's runs alone: the failing job
    gets its error as text (its own run repeats it and reports it), the others their result."""
    models = {0: "good model", 1: "failing model", 2: "another good model"}

    def fails_together(*args):
        raise RuntimeError("one of them failed")

    def alone(model, seed, replication, warmup, weeks):
        if model == "failing model":
            raise ValueError("no beds at all")
        return (model, seed, replication, warmup, weeks)

    monkeypatch.setattr(together, "replicate_together", fails_together)
    monkeypatch.setattr(together, "run_replication", alone)
    out = together.run_task(models, 5, 2, 1, 3)  # type: ignore[arg-type]
    assert out == {
        0: ("good model", 5, 2, 1, 3),
        1: "ValueError: no beds at all",
        2: ("another good model", 5, 2, 1, 3),
    }


def test_replications_kept_ahead_say_so_and_are_not_resumed_ones(tmp_path):
    """A replication run ahead of its job records the jobs it ran with; loading tells them
    from replications an interrupted run kept (the manifest lists them apart)."""
    for r, run_with in ((0, ["baseline", "ic_expansion"]), (1, None)):
        replication_store.save_replication(
            tmp_path, ReplicationResult(r, {"x": 1.0}, {}, {}, 0, 0.0), "fp", run_with=run_with
        )
    ahead: dict[int, list[str]] = {}
    kept = replication_store.load_replications(tmp_path, "fp", run_ahead=ahead)
    assert sorted(kept) == [0, 1]
    assert ahead == {0: ["baseline", "ic_expansion"]}


def test_an_uncertainty_analysis_goes_straight_to_its_jobs(monkeypatch):
    """A PSA's parameter sets share their patients within each set (``run_set``): the local
    launcher hands them to joblib at once, without composing every set's configuration
    first (200 of them would cost most of a minute)."""
    from omegaconf import OmegaConf

    from hydra_plugins.nhs_sim_launchers.launchers import LocalLauncher

    launched = []

    def joblib_launch(self, overrides, first):
        launched.append((list(overrides), first))
        return []

    def compose(self, idx, overrides):
        raise AssertionError("a PSA's sets were composed to be run together")

    # its base as it was imported (Hydra's plugin scan may have imported joblib's again since)
    (joblib_launcher,) = LocalLauncher.__bases__
    monkeypatch.setattr(joblib_launcher, "launch", joblib_launch)
    monkeypatch.setattr(LocalLauncher, "_job", compose)
    launcher = LocalLauncher(n_jobs=-1)
    config = OmegaConf.create({"psa": {"sets": 2}, "hydra": {"verbose": False}})
    launcher.setup(hydra_context=object(), task_function=print, config=config)
    assert launcher.launch([["psa.set=1"], ["psa.set=2"]], 0) == []
    assert launched == [([["psa.set=1"], ["psa.set=2"]], 0)]


def test_what_cannot_run_together_is_left_to_the_jobs(tmp_path, monkeypatch, capsys):
    """Running the replications together is only a faster way to the same files: a folder
    that cannot be written costs that job its replications here (its own run says why), and
    the others are still kept; anything else going wrong (a worker killed) stops it with a
    warning, and the jobs run what they are missing."""
    import errno

    from sim.experiments import outputs

    configs = [(tmp_path / "full", job_config()), (tmp_path / "ok", job_config("seed=3"))]
    real_save = replication_store.save_replication

    def save(out_dir, *args, **kwargs):
        if out_dir.name == "full":
            raise outputs.OutputWriteError(out_dir / "x", OSError(errno.ENOSPC, "disk full"))
        real_save(out_dir, *args, **kwargs)

    monkeypatch.setattr(replication_store, "save_replication", save)
    together.run_ahead(configs, n_jobs=1)
    assert replication_store.kept_replications(tmp_path / "full") == []
    assert replication_store.kept_replications(tmp_path / "ok") == [0, 1, 2]
    out = capsys.readouterr().out
    assert "Running the 6 replications of 2 jobs together" in out
    assert "3 replications run together" in out  # all six ran; three could be kept

    def killed(*args):
        raise RuntimeError("A worker process managed by the executor was unexpectedly terminated")
        yield  # a generator, as the real one

    monkeypatch.setattr(together, "_results", killed)
    again = [(tmp_path / "again", job_config())]
    together.run_ahead(again, n_jobs=1)
    err = capsys.readouterr().err
    assert "warning: running the replications together stopped (RuntimeError" in err
    assert "each job runs those it is missing itself" in err
    assert replication_store.kept_replications(tmp_path / "again") == []


def test_the_launcher_takes_the_configurations_hydra_composed_to_check_the_batch(
    tmp_path, monkeypatch
):
    """Hydra's sweeper composes every job to check the batch, then throws them away; the
    local launcher keeps those rather than compose each job again before its replications
    (each job still composes its own where it runs, as joblib's launcher does)."""
    from conftest import run_sim
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    composed: list[tuple[str, ...]] = []
    real = ConfigLoaderImpl.load_sweep_config

    def counting(self, master_config, sweep_overrides):
        composed.append(tuple(sweep_overrides))
        return real(self, master_config, sweep_overrides)

    monkeypatch.setattr(ConfigLoaderImpl, "load_sweep_config", counting)
    argv = [
        "+sweep=all_options",
        "hydra.launcher.n_jobs=1",  # jobs, too, in this process, where the count reaches
        "hydra.sweeper.params.scenario='choice(baseline,ic_expansion)'",
        *SHORT,
        "experiment.replications=1",
        "experiment.run_weeks=1",
        "hydra.callbacks.sweep_summary.board_report=false",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    assert run_sim(argv, monkeypatch) == 0
    jobs = set(composed)
    assert len(jobs) == 2 and all(composed.count(job) == 2 for job in jobs), composed
    manifest = json.loads((tmp_path / "sweep" / "ic_expansion" / "manifest.json").read_text())
    assert manifest["replications_run_ahead"] == [0]  # the replications did run together


def test_the_launcher_keeps_a_few_dozen_composed_configurations_at_most():
    """Each composed configuration is about 1.5 MB: the launcher keeps at most
    ``REMEMBERED_CONFIGURATIONS`` from Hydra's check of a batch (a larger sweep's jobs are
    composed again), and none of an uncertainty analysis's sets."""
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from hydra_plugins.nhs_sim_launchers.launchers import REMEMBERED_CONFIGURATIONS, LocalLauncher

    class Loader:
        def load_sweep_config(self, master_config, sweep_overrides):
            return OmegaConf.create({"overrides": list(sweep_overrides)})

    for master, kept in (({"experiment": {}}, REMEMBERED_CONFIGURATIONS), ({"psa": {}}, 0)):
        loader = Loader()
        launcher = LocalLauncher(n_jobs=-1)
        config = OmegaConf.create(master)
        launcher.setup(
            hydra_context=SimpleNamespace(config_loader=loader), task_function=print, config=config
        )
        for n in range(REMEMBERED_CONFIGURATIONS + 6):  # as Hydra's check of the batch calls it
            composed = loader.load_sweep_config(master_config=config, sweep_overrides=[f"n={n}"])
            assert list(composed.overrides) == [f"n={n}"]
        assert len(launcher._composed) == kept
        launcher._remember_composed(False)
        assert "load_sweep_config" not in vars(loader)  # joblib pickles a plain loader
