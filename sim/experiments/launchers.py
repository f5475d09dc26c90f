"""Where a sweep's jobs run: whether the chosen engine can run here, and the Dask cluster.

Hydra runs a multirun's jobs through a launcher (``hydra/launcher=...``, presets in
``conf/hydra/launcher/``). Two of them need something outside this package:

* ``slurm`` (submitit) needs SLURM's commands and a controller that answers;
* ``dask`` needs the ``distributed`` package (the ``dask`` extra) and a Dask scheduler: the
  one at ``$DASK_SCHEDULER_ADDRESS``, or else a local cluster started here, one
  single-threaded worker process per job slot, listening on this machine only.

The launchers themselves are thin Hydra plugins (``hydra_plugins/nhs_sim_launchers``: Hydra
finds launchers only there); they call these checks when Hydra sets them up, before any job
starts or any folder is made, and :func:`refuse` turns a missing or unreachable engine into
one line and exit code 2 instead of a traceback from deep inside the launcher.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any, NoReturn

#: Dask's own setting for the scheduler to connect to (``dask.config`` reads it too).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
#: Seconds to wait for a scheduler or for SLURM's controller before saying it is unreachable.
CONNECT_TIMEOUT_SECONDS = 10
EXIT_LAUNCHER_ERROR = 2


class LauncherError(RuntimeError):
    """The launcher cannot run here; the message says why and what to do, in one line."""


def refuse(err: LauncherError) -> NoReturn:
    """Print the error as one line and stop with exit code 2 (before any job has started)."""
    print(f"Launcher error: {err}", file=sys.stderr)
    raise SystemExit(EXIT_LAUNCHER_ERROR)


def check_slurm(
    choice: str,
    which: Callable[[str], str | None] = shutil.which,
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
) -> None:
    """SLURM's commands are on this machine and its controller answers."""
    missing = [c for c in ("sbatch", "srun") if which(c) is None]
    if missing:
        raise LauncherError(
            f"hydra/launcher={choice} submits jobs to SLURM, but {' and '.join(missing)} "
            "cannot be found on this machine: run the sweep on the cluster's login node, or "
            "test the cluster path here with hydra/launcher=local_jobs"
        )
    sinfo = which("sinfo")
    if sinfo is None:
        return  # nothing to ask the controller with; sbatch will say if it cannot reach it
    try:
        answer = run(
            [sinfo, "--noheader", "--summarize"],
            capture_output=True,
            text=True,
            timeout=CONNECT_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        reason = f"sinfo had no answer within {CONNECT_TIMEOUT_SECONDS} s"
    except OSError as err:
        reason = f"sinfo: {err}"
    else:
        if answer.returncode == 0:
            return
        said = (answer.stderr or answer.stdout).strip().splitlines()
        reason = f"sinfo: {said[0] if said else f'exit code {answer.returncode}'}"
    raise LauncherError(f"hydra/launcher={choice}: SLURM's controller cannot be reached ({reason})")


def slurm_resource_warning(cpus_per_task: Any, n_jobs: Any) -> str | None:
    """A warning when each SLURM job asks for more CPUs than its replications can use."""
    cpus = cpus_per_task or 1
    if isinstance(n_jobs, int) and 0 < n_jobs < cpus:
        return (
            f"warning: each SLURM job asks for {cpus} CPUs (hydra.launcher.cpus_per_task) but "
            f"runs {n_jobs} replication(s) at a time (experiment.n_jobs={n_jobs}); set them "
            "equal so the cluster is not asked for CPUs that stay idle"
        )
    return None


def check_dask(
    choice: str, find_spec: Callable[[str], object | None] = importlib.util.find_spec
) -> None:
    """Dask's ``distributed`` package is installed."""
    if find_spec("distributed") is None:
        raise LauncherError(
            f"hydra/launcher={choice} needs Dask's distributed package, which is not "
            "installed: pip install 'nhs-capacity-sim[dask]' (in a clone: pip install -c "
            "requirements.lock -e '.[dask]')"
        )


def start_dask(choice: str, workers: int | None, address: str | None = None) -> Any:
    """A Dask client connected to ``address`` (default ``$DASK_SCHEDULER_ADDRESS``), or to a
    new local cluster of ``workers`` single-threaded worker processes (default: one per
    core) on this machine. Close it, and its cluster, with :func:`stop_dask`."""
    check_dask(choice)
    from distributed import Client, LocalCluster

    # Dask reports every worker and connection at INFO; the sweep's own lines are what count
    logging.getLogger("distributed").setLevel(logging.WARNING)
    source = "hydra.launcher.address" if address else SCHEDULER_ENV
    address = address or os.environ.get(SCHEDULER_ENV) or None
    if address is None:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,  # a job runs its replications one at a time (sweeps)
            processes=True,
            host="127.0.0.1",  # this machine only, status pages included, on free ports
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.WARNING,
        )
        return Client(cluster, set_as_default=False)
    try:
        return Client(address, timeout=f"{CONNECT_TIMEOUT_SECONDS}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise LauncherError(
            f"hydra/launcher={choice}: the Dask scheduler at {address} ({source}) cannot be "
            f"reached: {err}"
        ) from None


def stop_dask(client: Any) -> None:
    """Close the client, and the local cluster if :func:`start_dask` started one."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        # Every job has returned: a worker slow to exit (a busy machine) is stopped after a
        # few seconds, which Dask reports as a warning that means nothing here.
        nanny = logging.getLogger("distributed.nanny")
        level = nanny.level
        nanny.setLevel(logging.ERROR)
        try:
            cluster.close()
        finally:
            nanny.setLevel(level)
