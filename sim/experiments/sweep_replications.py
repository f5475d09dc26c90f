"""A sweep's replications, run together before its jobs (the ``local`` launcher).

Each job of a sweep is one option's run, whose replications it would run one after another,
two jobs at a time on two cores. But the options of a board sweep are mostly the same
patients: under common random numbers, replication r of every option that leaves demand
alone draws the same episodes and puts them in the same request order, about a sixth of a
replication's work, which thirteen jobs would each do again. And thirteen jobs on two cores
leave one core idle while the last job runs alone.

So the ``local`` launcher (``hydra/launcher=local``, the sweeps' default) first calls
:func:`run_ahead` with every job's configuration:

- replication r of every job is one task (:func:`sim.core.replication.replicate_together`:
  jobs on the same patients share them), and the tasks are spread over the cores;
- each result is kept in its job's folder exactly as the job keeps the replications it runs
  (:mod:`sim.experiments.replication_store`), the moment its task ends.

Then every job runs as usual: it finds its replications kept, and writes its files from them,
byte-identical to a job that ran them itself (``tests/test_sweeps.py`` compares the files
with those of submitit's launcher, which runs each job on its own). Its manifest lists them
as ``replications_run_ahead``.

Jobs this leaves alone run as they would have: an uncertainty analysis's parameter sets
(which share patients their own way), a configuration that does not validate, a job whose
folder another run holds or that holds something else, a job already complete. A replication
that fails here is run again by its job, which reports the error as it always does. An
interrupted sweep keeps every replication finished, and its jobs resume from them.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.config.compose import validate
from sim.config.scenarios import label
from sim.config.schema import ConfigError, ModelConfig, RunConfig
from sim.core.replication import ReplicationResult, replicate_together, run_replication
from sim.experiments import interrupts, outputs, replication_store
from sim.experiments.memory_guard import replications_that_fit
from sim.experiments.replications import compile_before_workers, resolve_n_jobs
from sim.experiments.run_folder import (
    check_folder_is_ours,
    claim_folder,
    config_fingerprint,
    read_manifest,
)

log = logging.getLogger(__name__)

FOLDER_KEY = "hydra.sweep.dir"


@dataclass
class PlannedJob:
    """A sweep job whose replications :func:`run_ahead` runs."""

    name: str  # the job's options, as its folder and messages name them
    out_dir: Path
    run_cfg: RunConfig
    fingerprint: str  # config_sha256, as the job computes it
    todo: list[int]  # replication numbers not yet kept in its folder


@dataclass(frozen=True)
class Task:
    """Replication ``replication`` of several jobs with the same seed and weeks."""

    seed: int
    warmup_weeks: int
    run_weeks: int
    replication: int
    jobs: tuple[int, ...]  # positions in the planned jobs


def plan_jobs(configs: Sequence[tuple[Path, dict[str, Any]]]) -> list[PlannedJob]:
    """The jobs to run ahead, from each job's folder and composed configuration (without
    Hydra's own settings), with the checks its own run makes first: a job failing one is
    left to run, and to report it, itself."""
    jobs = []
    for out_dir, data in configs:
        if "psa" in data:  # a parameter set of an uncertainty analysis
            continue
        try:
            run_cfg, resolved = validate(data)
            fingerprint = config_fingerprint(resolved)
            manifest = read_manifest(out_dir)
            if manifest and manifest.get("status") == "complete":
                continue  # skipped by its job if it is this configuration's; refused if not
            check_folder_is_ours(out_dir, FOLDER_KEY)
            replication_store.check_resumable(out_dir, fingerprint, FOLDER_KEY)
        except (ConfigError, ValueError):
            continue
        kept = set(replication_store.kept_replications(out_dir))
        todo = [r for r in range(run_cfg.experiment.replications) if r not in kept]
        if todo:
            name = label(list(run_cfg.options))
            jobs.append(PlannedJob(name, Path(out_dir), run_cfg, fingerprint, todo))
    return jobs


def plan_tasks(jobs: Sequence[PlannedJob]) -> list[Task]:
    """One task per replication number and design (seed, warm-up and run weeks), holding
    every job that needs that replication, in replication order."""
    by_task: dict[tuple[int, int, int, int], list[int]] = {}
    for i, job in enumerate(jobs):
        exp = job.run_cfg.experiment
        for r in job.todo:
            key = (job.run_cfg.seed, exp.warmup_weeks, exp.run_weeks, r)
            by_task.setdefault(key, []).append(i)
    return [
        Task(seed, warmup, weeks, r, tuple(members))
        for (seed, warmup, weeks, r), members in sorted(
            by_task.items(), key=lambda item: (item[0][3], item[0][:3])
        )
    ]


def run_task(
    models: dict[int, ModelConfig],
    seed: int,
    replication: int,
    warmup_weeks: int,
    run_weeks: int,
    parent: int | None = None,
) -> dict[int, ReplicationResult | str]:
    """A task's replications, by job; a job whose replication fails gets its error as text
    (its job runs it again and reports it), and the others still get theirs. ``parent``: the
    sweep's process, which a worker ends with (:func:`interrupts.exit_with_parent`)."""
    interrupts.exit_with_parent(parent)
    try:
        return dict(replicate_together(models, seed, replication, warmup_weeks, run_weeks))
    except Exception:  # find whose it is: the others' replications are still good
        out: dict[int, ReplicationResult | str] = {}
        for i, model in models.items():
            try:
                out[i] = run_replication(model, seed, replication, warmup_weeks, run_weeks)
            except Exception as err:
                out[i] = f"{type(err).__name__}: {err}"
        return out
    finally:
        give_back_free_memory()


def give_back_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; nothing
    elsewhere). A worker alternating between thirteen configurations leaves holes in its
    heap that the next replication cannot always reuse: without this its peak crept from
    498 to 514 MiB over eight tasks, with it it stays at about 512 (measured with the board
    sweep's 13 options, docs/performance.md "Latest results"), and a job's files are then written
    from what the worker holds, not from its high-water mark."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator keeps its own counsel


def _results(
    jobs: Sequence[PlannedJob], tasks: Sequence[Task], workers: int
) -> Iterator[dict[int, ReplicationResult | str]]:
    def args(t: Task) -> tuple:
        models = {i: jobs[i].run_cfg.model for i in t.jobs}
        return models, t.seed, t.replication, t.warmup_weeks, t.run_weeks

    if workers == 1:
        for t in tasks:
            yield run_task(*args(t))
        return
    from joblib import Parallel, delayed

    # The settings joblib's launcher gives its Parallel (hydra_joblib_launcher's defaults), so
    # the jobs then reuse these worker processes rather than start their own; each worker
    # ends itself if this process is killed (run_task's parent).
    parallel = Parallel(
        n_jobs=workers,
        return_as="generator_unordered",
        prefer="processes",
        max_nbytes=None,
    )
    parent = os.getpid()
    yield from parallel(delayed(run_task)(*args(t), parent) for t in tasks)


def run_ahead(configs: Sequence[tuple[Path, dict[str, Any]]], n_jobs: int) -> None:
    """Run the replications of a sweep's jobs (``configs``: each job's folder and composed
    configuration) together, ``n_jobs`` tasks at a time (joblib's convention: -1 for every
    core), and keep each in its job's folder. See the module's description."""
    planned = plan_jobs(configs)
    with contextlib.ExitStack() as held:
        jobs = []
        for job in planned:
            try:  # held until every replication is kept: no other run may use the folder
                held.enter_context(claim_folder(job.out_dir, FOLDER_KEY))
            except (ConfigError, outputs.OutputWriteError):
                continue  # its job says why
            jobs.append(job)
        tasks = plan_tasks(jobs)
        if not tasks:
            return
        fit = min(replications_that_fit(j.run_cfg.model, j.run_cfg.experiment) for j in jobs)
        workers = min(resolve_n_jobs(n_jobs, len(tasks)), fit)
        total = sum(len(j.todo) for j in jobs)
        print(
            f"Running the {total} replications of {len(jobs)} jobs together, {workers} at a "
            "time: each replication of every job in one task, sharing the patients of jobs "
            "whose demand is the same (identical numbers); then each job writes its files.",
            flush=True,
        )
        first = jobs[tasks[0].jobs[0]]
        compile_before_workers(first.run_cfg.model, first.run_cfg.seed)
        from tqdm import tqdm

        started = time.perf_counter()
        bar = tqdm(total=total, desc="replications", unit="rep", disable=not sys.stderr.isatty())
        try:
            done = _keep_results(jobs, _results(jobs, tasks, workers), bar)
        except Exception as err:  # an optimisation only: the jobs run what is missing
            if interrupts.is_interruption(err):
                raise
            print(
                f"warning: running the replications together stopped ({type(err).__name__}: "
                f"{err}); each job runs those it is missing itself",
                file=sys.stderr,
                flush=True,
            )
            return
        finally:
            bar.close()
        print(
            f"{done} replications run together in {time.perf_counter() - started:.0f} s.",
            flush=True,
        )


def _keep_results(
    jobs: Sequence[PlannedJob], tasks_done: Iterator[dict[int, ReplicationResult | str]], bar: Any
) -> int:
    """Keep each task's results in their jobs' folders as they come; the number kept. A job
    whose replication failed, or whose folder cannot be written, is left to its own run,
    which says why."""
    done = 0
    unwritable: set[int] = set()
    for results in tasks_done:
        # the names of every job in the task, for the record each replication keeps
        together = sorted(jobs[i].name for i in results)
        for i, result in results.items():
            job = jobs[i]
            if isinstance(result, str):
                log.warning("%s: a replication failed (%s); its job runs it", job.name, result)
                continue
            if i in unwritable:
                continue
            try:
                replication_store.save_replication(
                    job.out_dir, result, job.fingerprint, run_with=together
                )
            except outputs.OutputWriteError as err:
                log.warning(
                    "%s: cannot keep its replications (%s); its job says why", job.name, err
                )
                unwritable.add(i)
                continue
            done += 1
        bar.update(len(results))
    return done
