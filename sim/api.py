"""Run the model and read its results from Python: notebooks, scripts, tests and apps.

::

    from sim import api

    base = api.run(["experiment=quick"])                     # a run, and its tables
    option = api.run(["experiment=quick", "scenario=extended_access_8to8"])
    api.compare(base, option)                                 # paired differences
    base.summary                                              # summary.csv as a DataFrame
    sweep = api.load_sweep("outputs/sweeps/all_options")      # a sweep's tables

:func:`run` takes the same overrides as ``python -m sim`` (``nhs-sim``), composes and checks
them the same way (a mistake raises :class:`ConfigError` naming the key, the value and the
rule, before anything is written), runs every replication, and writes the same run folder:
``manifest.json``, the CSV and parquet files, ``.hydra/config.yaml`` and ``run.log``. So a run
made here can be compared, reported on (``python -m sim report``) and resumed like any other,
and the numbers are identical to the command line's. It returns the folder's tables as
:class:`RunData`.

:func:`load_run`, :func:`load_sweep` and :func:`load_validation` read existing folders (by
default the newest complete one under the working folder's ``outputs/``, or the folder in
``$SIM_RUN_DIR``, ``$SIM_SWEEP_DIR``, ``$SIM_VALIDATION_DIR``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from sim.config.compose import compose_validated
from sim.config.schema import ConfigError
from sim.experiments import outputs
from sim.experiments.comparison import ComparisonError, compare_runs
from sim.experiments.replication_store import check_resumable
from sim.experiments.results import (
    NoOutputsError,
    RunData,
    SweepData,
    ValidationData,
    fmt,
    kpi_label,
    kpi_unit,
    load_run,
    load_sweep,
    load_validation,
    setup_display,
    with_labels,
)
from sim.experiments.run_folder import (
    check_folder_is_ours,
    claim_folder,
    config_fingerprint,
    execute_run,
    read_manifest,
)

__all__ = [
    "ComparisonError",
    "ConfigError",
    "NoOutputsError",
    "RunData",
    "SweepData",
    "ValidationData",
    "compare",
    "fmt",
    "kpi_label",
    "kpi_unit",
    "load_run",
    "load_sweep",
    "load_validation",
    "run",
    "setup_display",
    "with_labels",
]

#: The run's log file, as the command line writes it (conf/config.yaml, hydra.job_logging).
LOG_FILE = "run.log"
#: Hydra's default log line, so a run's log reads the same however it was started.
LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


def run(overrides: Sequence[str] = (), folder: str | Path | None = None) -> RunData:
    """Run the configuration that ``python -m sim OVERRIDES`` would run, into ``folder``
    (default: where the command line would put it, under the working folder's
    ``outputs/runs/``), and return its tables.

    Raises :class:`ConfigError` for a configuration mistake or an output folder that cannot
    be written or holds another configuration's run, before anything is written; a run
    stopped by Ctrl-C keeps its finished replications, and calling ``run`` again with the same
    arguments and folder resumes it.
    """
    overrides = [str(o) for o in overrides]
    cfg, run_cfg, data = compose_validated(overrides, job_name="api")
    out = Path(folder) if folder is not None else Path(str(OmegaConf.select(cfg, "hydra.run.dir")))
    out = out.expanduser().resolve()
    check_folder_is_ours(out, "folder")  # a folder of someone's files is never touched
    try:
        outputs.check_writable_folder(out)
    except OSError as err:
        raise ConfigError("folder", str(out), f"cannot create or write it ({err})") from None
    fingerprint = config_fingerprint(data)
    check_resumable(out, fingerprint, "folder")
    with claim_folder(out, "folder"):  # one run at a time in a folder
        done = read_manifest(out)
        if done and done.get("status") == "complete" and done.get("config_sha256") == fingerprint:
            return load_run(out)  # complete with this configuration: never run again
        task = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
        outputs.atomic_write_text(out / ".hydra" / "config.yaml", OmegaConf.to_yaml(task))
        outputs.atomic_write_text(
            out / ".hydra" / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(overrides))
        )
        command = f"sim.api.run({overrides!r})"
        with run_log(out):
            execute_run(run_cfg, data, out, time.perf_counter(), command=command)
    return load_run(out)


def compare(
    baseline: RunData | str | Path, option: RunData | str | Path, level: float | None = None
) -> pd.DataFrame:
    """Paired differences of ``option`` against ``baseline``, KPI by KPI (the table
    ``python -m sim compare`` writes as comparison.csv); ``level`` defaults to the runs' CI
    level. Raises :class:`ComparisonError` for runs that cannot be paired (their seed, design,
    population or demand differ). What the comparison must be read with (an option that
    changes demand) is in ``table.attrs["notes"]``."""
    table, notes, _ = compare_runs(_folder(baseline), _folder(option), level)
    table.attrs["notes"] = notes
    return table


def _folder(run_or_folder: RunData | str | Path) -> Path:
    return run_or_folder.folder if isinstance(run_or_folder, RunData) else Path(run_or_folder)


@contextmanager
def run_log(folder: Path) -> Iterator[None]:
    """Write the ``sim`` loggers' messages (INFO and above) to ``folder/run.log`` meanwhile,
    appending, as a run from the command line does."""
    handler = logging.FileHandler(Path(folder) / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("sim")
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()
