"""Three launchers: this machine's cores (joblib, each job's replications run together with
the other jobs' first), sweep jobs on a Dask cluster, and SLURM (submitit) with checks first.

The last two check, when Hydra sets them up (before the sweep folder or any job exists), that their
engine can run here, and stop with one line and exit code 2 if not
(:mod:`sim.experiments.launchers`). Configured in ``conf/hydra/launcher/dask.yaml`` and
``slurm.yaml``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import (
    SlurmLauncher as SubmititSlurmLauncher,
)
from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)


def _choice(config: DictConfig) -> str:
    return str(OmegaConf.select(config, "hydra.runtime.choices.hydra/launcher") or "?")


#: Job configurations :class:`LocalLauncher` keeps from Hydra's check of a batch, at most.
REMEMBERED_CONFIGURATIONS = 64


class LocalLauncher(JoblibLauncher):
    """joblib's launcher (jobs on this machine's cores), which first runs the replications of
    every job together, spread over the cores, and keeps them in the jobs' folders
    (:mod:`sim.experiments.sweep_replications`); each job then writes its files from them,
    byte-identical to a job that ran them itself."""

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self._composed: dict[tuple[str, ...], DictConfig] = {}
        self._remember_composed(True)

    def _remember_composed(self, on: bool) -> None:
        """Keep the job configurations Hydra's sweeper composes to check the batch
        (``Sweeper.validate_batch_is_legal``, which throws them away) for :meth:`_job`, rather
        than compose each again (about 0.2 s a job, before any replication starts). Off while
        the jobs are handed to joblib, which pickles the configuration loader."""
        loader = getattr(self.hydra_context, "config_loader", None)
        if loader is None:
            return
        if not on:
            loader.__dict__.pop("load_sweep_config", None)
            return
        compose = type(loader).load_sweep_config.__get__(loader)

        def remembered(master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
            composed = compose(master_config, sweep_overrides)
            # About 1.5 MB each: a few dozen at most, none for an uncertainty analysis's sets
            if (
                master_config is self.config
                and "psa" not in master_config
                and len(self._composed) < REMEMBERED_CONFIGURATIONS
            ):
                self._composed[tuple(sweep_overrides)] = composed
            return composed

        loader.load_sweep_config = remembered

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from sim.experiments.sweep_replications import run_ahead

        assert self.config is not None and self.hydra_context is not None
        self._remember_composed(False)
        try:
            if "psa" in self.config:  # a PSA's sets share their patients their own way
                self._composed.clear()
                return super().launch(job_overrides, initial_job_idx)
            setup_globals()
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
            state = Singleton.get_state()
            jobs = []
            try:
                for idx, overrides in enumerate(job_overrides):
                    try:
                        jobs.append(self._job(initial_job_idx + idx, overrides))
                    except Exception:  # its own run composes it again, and says why
                        continue
            finally:
                Singleton.set_state(state)  # each job sets its own Hydra configuration again
                self._composed.clear()
            run_ahead(jobs, int(self.joblib.get("n_jobs") or -1))
            return super().launch(job_overrides, initial_job_idx)
        finally:
            self._remember_composed(True)  # for the sweeper's next batch, if any

    def _job(self, idx: int, overrides: Sequence[str]) -> tuple[Path, dict[str, Any]]:
        """A job's folder and composed configuration, as joblib's job function composes them
        (hydra_joblib_launcher._core.execute_job) and Hydra's run_job names its folder."""
        from sim.config.compose import plain

        assert self.config is not None and self.hydra_context is not None
        config = self._composed.pop(tuple(overrides), None)
        if config is None:
            config = self.hydra_context.config_loader.load_sweep_config(
                self.config, list(overrides)
            )
        with open_dict(config):
            config.hydra.job.id = f"{config.hydra.job.name}_{idx}"
            config.hydra.job.num = idx
        HydraConfig.instance().set_config(config)
        out_dir = Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
        return out_dir, plain(config)  # what the job validates: all but Hydra's own settings


class DaskLauncher(Launcher):
    """One Dask task per job, on the scheduler at ``address`` (default
    ``$DASK_SCHEDULER_ADDRESS``) or on a local cluster of ``n_workers`` single-threaded
    worker processes (default one per core). Each task runs the job exactly as the joblib
    launcher does (the same Hydra job function), so the files are byte-identical."""

    def __init__(self, address: str | None = None, n_workers: int | None = None) -> None:
        self.address = address
        self.n_workers = n_workers
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        self.client: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from sim.experiments.launchers import LauncherError, refuse, start_dask

        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        try:
            self.client = start_dask(_choice(config), self.n_workers, self.address)
        except LauncherError as err:
            refuse(err)

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        # the job function the joblib launcher runs in its worker processes
        from hydra_plugins.hydra_joblib_launcher._core import execute_job

        from sim.experiments.launchers import stop_dask

        assert self.config is not None and self.hydra_context is not None
        assert self.task_function is not None and self.client is not None
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        log.info(f"Dask ({self.client.scheduler.address}) is launching {len(job_overrides)} jobs")
        log.info(f"Launching jobs, sweep output dir : {sweep_dir}")
        for idx, overrides in enumerate(job_overrides):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
        singleton_state = Singleton.get_state()
        try:
            futures = [
                self.client.submit(
                    execute_job,
                    initial_job_idx + idx,
                    list(overrides),
                    self.hydra_context,
                    self.config,
                    self.task_function,
                    singleton_state,
                    key=f"job-{initial_job_idx + idx}",
                    pure=False,
                )
                for idx, overrides in enumerate(job_overrides)
            ]
            return list(self.client.gather(futures))
        finally:
            stop_dask(self.client)
            self.client = None


class SlurmLauncher(SubmititSlurmLauncher):
    """submitit's SLURM launcher, which first checks that SLURM is here and answers, and
    warns when a job asks for more CPUs than its replications use."""

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from sim.experiments.launchers import (
            LauncherError,
            check_slurm,
            refuse,
            slurm_resource_warning,
        )

        try:
            check_slurm(_choice(config))
        except LauncherError as err:
            refuse(err)
        warning = slurm_resource_warning(
            self.params.get("cpus_per_task"), OmegaConf.select(config, "experiment.n_jobs")
        )
        if warning:
            log.warning(warning)
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
