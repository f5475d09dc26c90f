"""Run folders: claiming one (lock, ownership), executing a validated run into it, and the
on-screen summary.

A run folder belongs to one run at a time and to this program: :func:`claim_folder` locks it
for the whole run (a second run started into it is refused), :func:`check_folder_is_ours`
refuses a folder holding anything but a run of ours (its files are never touched), and a
folder whose run is complete is never started again (the command says so and stops).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.config.schema import ConfigError, Experiment, ModelConfig, RunConfig
from sim.core.equity import equity_table
from sim.core.kpis import KPI_DEFINITIONS
from sim.core.replication import ReplicationResult, programme_years
from sim.core.timeseries import series_table
from sim.experiments import interrupts, outputs, replication_store
from sim.experiments.memory_guard import estimated_gb_per_replication, replications_that_fit
from sim.experiments.population_fingerprint import population_fingerprints
from sim.experiments.programme import cost_totals, kpi_table_by_year, summarise_by_year
from sim.experiments.replications import (
    calibration_table,
    flows_table,
    kpi_table,
    ledger_table,
    resolve_n_jobs,
    run_experiment,
    summarise,
)

if TYPE_CHECKING:  # annotations only: pandas loads when the tables are built
    import pandas as pd

#: The run's log (``run.log`` in its folder, configured in conf/config.yaml for Hydra runs and
#: by sim.api for runs from Python).
log = logging.getLogger(__name__)

#: Experiment settings that change how fast a run goes, or whether it may start, but never its
#: numbers: left out of the configuration fingerprint, so changing them neither breaks a
#: sweep's resume nor a run's.
SPEED_ONLY_SETTINGS = ("n_jobs", "max_memory_gb")

#: Files a complete run folder holds besides manifest.json, in the order they are written.
RUN_FILES = (
    "kpis.csv",
    "summary.csv",
    "ledger.csv",
    "flows.csv",
    "calibration.csv",
    "timeseries.parquet",
    "equity.csv",
)
#: Further files of a run measuring two or more whole programme years.
PROGRAMME_FILES = ("kpis_by_year.csv", "summary_by_year.csv", "money.csv")


#: The lock file held for as long as a run (or a sweep's job) runs in its folder.
LOCK_FILE = ".lock"
#: Statuses a manifest of this program can have (docs/reliability.md).
STATUSES = ("running", "complete", "interrupted", "failed", "invalid_config")
#: What a run folder without a manifest may hold: what Hydra and this program put there
#: before the manifest is written (Hydra's job log is ``<job>.log``; and the replications a
#: sweep's launcher runs ahead of the job: :func:`_only_kept_replications`).
BEFORE_MANIFEST = (".hydra", LOCK_FILE)


class FolderRefused(ConfigError):
    """The run folder is in use by another run, or is not a run folder of this program."""


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when there is none; :class:`ValueError` when there is
    one that cannot be read as a manifest of this program."""
    path = Path(folder) / "manifest.json"
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"its manifest.json cannot be read ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("status") not in STATUSES:
        raise ValueError("its manifest.json is not a run manifest of this program")
    return manifest


def _existing_folder(folder: Path, key: str) -> bool:
    """Whether ``folder`` exists (a file there is refused)."""
    if folder.exists() and not folder.is_dir():
        raise FolderRefused(key, str(folder), "is a file, not a folder")
    return folder.exists()


def check_folder_is_ours(folder: Path, key: str = "hydra.run.dir") -> None:
    """Refuse (:class:`FolderRefused`) a folder that exists and holds anything but a run of
    this program: its files are the user's, and a run would overwrite or remove them."""
    folder = Path(folder)
    if not _existing_folder(folder, key):
        return
    try:
        if read_manifest(folder) is not None:
            return
        entries = sorted(p.name for p in folder.iterdir())
    except FileNotFoundError:
        # Gone since it was seen: another run started at the same moment made it to check it
        # could write there, then removed it. Nothing of anyone's is in it; the lock decides.
        return
    except (OSError, ValueError) as err:
        raise FolderRefused(
            key, str(folder), f"cannot be used: {err}; choose another folder with {key}=..."
        ) from None
    foreign = [n for n in entries if n not in BEFORE_MANIFEST and not n.endswith((".log", ".tmp"))]
    if replication_store.REPLICATIONS_DIR in foreign and _only_kept_replications(folder):
        foreign.remove(replication_store.REPLICATIONS_DIR)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise FolderRefused(
            key,
            str(folder),
            f"is not a run folder of this program (it holds {shown}) and is left untouched; "
            f"choose a new or empty folder with {key}=...",
        )


def _only_kept_replications(folder: Path) -> bool:
    """Whether ``folder/replications`` holds nothing but replications this program kept
    there (the local launcher runs a sweep job's before the job writes its manifest;
    :mod:`sim.experiments.sweep_replications`), and so is not a folder of the user's."""
    kept = folder / replication_store.REPLICATIONS_DIR
    try:
        names = [p.name for p in kept.iterdir() if not p.name.endswith(".tmp")]
    except OSError:
        return False
    return len(names) == len(replication_store.kept_replication_files(folder))


#: What marks a sweep folder of this program: Hydra's record of the sweep, its summary, or an
#: uncertainty analysis's design.
SWEEP_MARKERS = ("multirun.yaml", "sweep.json", "psa.json")


def check_sweep_folder_is_ours(folder: Path, key: str = "hydra.sweep.dir") -> None:
    """Refuse (:class:`FolderRefused`) an existing, non-empty folder that is not a sweep
    folder of this program (it has neither a sweep's record nor a job folder of ours)."""
    folder = Path(folder)
    if not _existing_folder(folder, key):
        return
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:
        return  # removed since it was seen (another sweep's write check): nothing to protect
    except OSError as err:
        raise FolderRefused(key, str(folder), f"cannot be read ({err})") from None
    if not entries or any((folder / m).is_file() for m in SWEEP_MARKERS):
        return
    for entry in entries:
        try:
            if entry.is_dir() and read_manifest(entry) is not None:
                return
        except ValueError:
            continue
    shown = ", ".join(e.name for e in entries[:5]) + (", ..." if len(entries) > 5 else "")
    raise FolderRefused(
        key,
        str(folder),
        f"is not a sweep folder of this program (it holds {shown}) and is left untouched; "
        f"choose a new or empty folder with {key}=...",
    )


def check_sweep_kind(folder: Path, key: str, psa: bool) -> None:
    """Refuse (:class:`FolderRefused`) a sweep into an uncertainty analysis's folder, or an
    analysis into a sweep's: each writes its own tables and board report over the other's.
    (An analysis may go in a folder inside a sweep's, where the sweep's report reads it.)"""
    folder = Path(folder)
    if not folder.is_dir():
        return
    holds_psa = (folder / "psa.json").is_file()
    if not psa and holds_psa:
        raise FolderRefused(
            key,
            str(folder),
            "holds an uncertainty analysis (psa.json), not a sweep, and is left as it is; "
            f"choose another folder with {key}=...",
        )
    if psa and not holds_psa:
        jobs = []
        for entry in sorted(folder.iterdir()):
            try:
                manifest = read_manifest(entry) if entry.is_dir() else None
            except ValueError:
                continue
            if manifest is not None and "set" not in manifest:  # a run, not a parameter set
                jobs.append(entry.name)
        if jobs or (folder / "sweep.json").is_file():
            raise FolderRefused(
                key,
                str(folder),
                "holds a sweep, not an uncertainty analysis, and is left as it is; give the "
                f"analysis a folder of its own, e.g. {key}={folder / 'uncertainty'}",
            )


@contextlib.contextmanager
def claim_folder(folder: Path, key: str = "hydra.run.dir") -> Iterator[None]:
    """Hold the folder's lock for the block; :class:`FolderRefused` at once if another run
    holds it. The lock is the operating system's: it goes with the process holding it, so a
    run that was killed never leaves its folder locked."""
    from filelock import FileLock, Timeout

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder / LOCK_FILE), timeout=0)
        lock.acquire()
    except Timeout:
        raise FolderRefused(
            key,
            str(folder),
            "another run is using this folder right now; wait for it to finish, or choose "
            f"another folder with {key}=...",
        ) from None
    except OSError as err:
        raise outputs.OutputWriteError(folder / LOCK_FILE, err) from None
    try:
        yield
    finally:
        lock.release()


def config_fingerprint(data: dict[str, Any]) -> str:
    """SHA-256 of the resolved configuration, leaving out :data:`SPEED_ONLY_SETTINGS`."""
    experiment = {k: v for k, v in data["experiment"].items() if k not in SPEED_ONLY_SETTINGS}
    return outputs.config_sha256({**data, "experiment": experiment})


def parallel_within_memory(model: ModelConfig, exp: Experiment) -> Experiment:
    """``exp`` with ``n_jobs`` lowered so the replications running at once fit in
    ``experiment.max_memory_gb`` (numbers do not depend on ``n_jobs``)."""
    fit = replications_that_fit(model, exp)
    most = exp.max_replications if exp.target_relative_half_width is not None else exp.replications
    if resolve_n_jobs(exp.n_jobs, most) <= fit:
        return exp
    each = estimated_gb_per_replication(model, exp)
    message = (
        f"Memory guard: {fit} replication(s) at a time (about {each:.1f} GB each; "
        f"experiment.max_memory_gb = {exp.max_memory_gb:g})"
    )
    print(message)
    log.info(message)
    return dataclasses.replace(exp, n_jobs=fit)


def execute_run(
    run_cfg: RunConfig,
    data: dict[str, Any],
    out_dir: Path,
    started: float,
    command: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run all replications and write :data:`RUN_FILES` and, last, ``manifest.json``.

    Each replication is kept in ``replications/`` as it finishes; replications already kept
    there by an interrupted run of the same configuration are used, not run again
    (:mod:`sim.experiments.replication_store`). If the run stops early, the manifest says
    ``"interrupted"`` (Ctrl-C) or ``"failed"`` (an error) and the exception is re-raised.
    Returns the summary and calibration tables. ``command`` is what the manifest records as
    the command that made the run (default: this process's ``python -m sim`` arguments).
    """
    from sim.config.locations import SOURCE_ROOT

    exp = run_cfg.experiment
    fingerprint = config_fingerprint(data)
    run_ahead: dict[int, list[str]] = {}  # by the sweep's launcher (sweep_replications)
    kept = replication_store.load_replications(out_dir, fingerprint, run_ahead=run_ahead)
    resumed = sorted(set(kept) - set(run_ahead))
    parallel = parallel_within_memory(run_cfg.model, exp)
    manifest: dict[str, Any] = {
        "status": "running",
        "scenario": run_cfg.model.scenario,
        "options": list(run_cfg.options),
        "site": run_cfg.model.site.name,
        "seed": run_cfg.seed,
        "replications": exp.replications,
        "warmup_weeks": exp.warmup_weeks,
        "run_weeks": exp.run_weeks,
        "ci_level": exp.ci_level,
        "programme_years": programme_years(exp.run_weeks),
        "discount_rate": run_cfg.model.assumptions.money.discount_rate,
        "experiment": exp.name,
        "n_jobs": resolve_n_jobs(parallel.n_jobs, exp.replications),
        "config_sha256": fingerprint,
        **population_fingerprints(data),
        "git": outputs.git_state(SOURCE_ROOT),
        "packages": outputs.package_versions(),
        "machine": outputs.machine(),
        "command": command or " ".join(["python -m sim", *sys.argv[1:]]),
        "started_utc": outputs.now_utc(),
    }
    if resumed:
        manifest["replications_resumed"] = resumed
    if run_ahead:
        manifest["replications_run_ahead"] = sorted(run_ahead)
        manifest["run_ahead_with"] = sorted({job for jobs in run_ahead.values() for job in jobs})

    def keep(result: ReplicationResult) -> None:
        replication_store.save_replication(out_dir, result, fingerprint)
        log.info(
            "Replication %s finished: %s episodes in %.1f s",
            result.replication,
            result.episodes_total,
            result.wall_seconds,
        )

    try:
        # Written first so an interrupted run is never mistaken for a finished one; inside the
        # try, so a signal landing at any moment after it (even in the logging) marks the run
        # interrupted rather than leaving it "running".
        outputs.atomic_write_json(out_dir / "manifest.json", manifest)
        log.info(
            "Run %s of site %s: seed %s, %s replications x %s weeks after %s weeks' warm-up, "
            "%s at a time; configuration %s; folder %s",
            manifest["scenario"],
            manifest["site"],
            run_cfg.seed,
            exp.replications,
            exp.run_weeks,
            exp.warmup_weeks,
            manifest["n_jobs"],
            fingerprint[:12],
            out_dir,
        )
        if resumed:
            log.info("Resuming: replications %s kept from an interrupted run", resumed)
        if run_ahead:
            log.info(
                "Replications %s were run ahead by the sweep's launcher, with its other jobs'",
                sorted(run_ahead),
            )
        results = run_experiment(run_cfg.model, parallel, run_cfg.seed, on_result=keep, kept=kept)
        summary, calibration = write_run_files(results, run_cfg, out_dir)
        # The manifest that says complete, written inside the try: a signal landing before it
        # is in place leaves the run interrupted (every replication kept: a resume writes the
        # files again), not "running" for ever. A new dict: an interrupted run's manifest
        # never carries a finished run's fields.
        finished = {
            **manifest,
            "status": "complete",
            "replications": len(results),  # more than asked for in automatic precision mode
            "replications_requested": exp.replications,
            "episodes": int(sum(r.episodes_total for r in results)),
            "episodes_per_replication": [r.episodes_total for r in results],
            "replication_wall_seconds": [round(r.wall_seconds, 3) for r in results],
            "wall_seconds": round(time.perf_counter() - started, 3),
            "finished_utc": outputs.now_utc(),
            "files": [*run_files(results), ".hydra/config.yaml"],
        }
        outputs.atomic_write_json(out_dir / "manifest.json", finished)
    except BaseException as err:
        # Ctrl-C or SIGTERM, wherever it landed (inside the compiled booking pass it surfaces
        # as another error), stops the run as interrupted, never as failed; unless it landed
        # just after the complete manifest was put in place: the run then is complete.
        if interrupts.is_interruption(err):
            from sim.experiments.results import is_complete  # pandas: only when stopped

            if not is_complete(out_dir):
                log.warning("Interrupted; finished replications are kept in %s", out_dir)
                _mark_stopped(out_dir, manifest, "interrupted", None)
            raise KeyboardInterrupt from None
        log.exception("Failed: %s: %s", type(err).__name__, err)
        _mark_stopped(out_dir, manifest, "failed", err)
        raise

    manifest = finished
    log.info(
        "Complete: %s replications, %s episodes, %.1f s; wrote %s and manifest.json",
        manifest["replications"],
        manifest["episodes"],
        manifest["wall_seconds"],
        ", ".join(RUN_FILES),
    )
    # Their contents are now in the run's files; a folder keeps them only while incomplete.
    replication_store.discard_replications(out_dir)
    return summary, calibration


def run_files(results: list[ReplicationResult]) -> list[str]:
    """The files a run folder holds besides its manifest."""
    years = bool(results) and bool(results[0].kpis_by_year)
    return [*RUN_FILES, *(PROGRAMME_FILES if years else ())]


def write_run_files(
    results: list[ReplicationResult], run_cfg: RunConfig, out_dir: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write :func:`run_files` from the replications; returns the summary and calibration."""
    level = run_cfg.experiment.ci_level
    kpis = kpi_table(results)
    summary = summarise(kpis, level)
    calibration = calibration_table(summary, run_cfg.calibration)
    outputs.atomic_write_csv(out_dir / "kpis.csv", kpis)
    outputs.atomic_write_csv(out_dir / "summary.csv", summary)
    outputs.atomic_write_csv(out_dir / "ledger.csv", ledger_table(results))
    outputs.atomic_write_csv(out_dir / "flows.csv", flows_table(results, level))
    outputs.atomic_write_csv(out_dir / "calibration.csv", calibration)
    outputs.atomic_write_parquet(out_dir / "timeseries.parquet", series_table(results))
    outputs.atomic_write_csv(out_dir / "equity.csv", equity_table(results, level))
    if PROGRAMME_FILES[0] in run_files(results):
        by_year = kpi_table_by_year(results)
        rate = run_cfg.model.assumptions.money.discount_rate
        outputs.atomic_write_csv(out_dir / "kpis_by_year.csv", by_year)
        outputs.atomic_write_csv(out_dir / "summary_by_year.csv", summarise_by_year(by_year, level))
        outputs.atomic_write_csv(out_dir / "money.csv", cost_totals(by_year, rate, level))
    return summary, calibration


def _mark_stopped(
    out_dir: Path, manifest: dict[str, Any], status: str, err: BaseException | None
) -> None:
    """Rewrite the manifest of a run that stopped early, listing the replications kept.

    Best effort: when the disk is full this write fails too, and the manifest keeps saying
    "running", which is just as clearly not complete.
    """
    manifest.update(
        {
            "status": status,
            "replications_kept": replication_store.kept_replications(out_dir),
            "stopped_utc": outputs.now_utc(),
        }
    )
    if err is not None:
        manifest["error"] = f"{type(err).__name__}: {err}"
    try:
        outputs.atomic_write_json(out_dir / "manifest.json", manifest)
    except (OSError, KeyboardInterrupt):
        pass  # a second Ctrl-C, or a full disk: the manifest keeps saying "running"


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "-"
    if x == 0:  # none at all (a service this scenario does not have): not "0.000"
        return "0"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}"


def format_summary(summary: pd.DataFrame, level: float, headline: list[str] | None = None) -> str:
    """The KPI table; headline KPIs are marked * and every row shows its CI half-width as a
    share of the mean (the precision a board should read the figure with)."""
    headline = headline or []
    label_w = max(
        len(KPI_DEFINITIONS[k].label) if k in KPI_DEFINITIONS else len(k) for k in summary.kpi
    )
    pct = f"{level:.0%} CI"
    label_w += 2
    lines = [
        f"{'KPI':<{label_w}}  {'mean':>12}  {pct:>27}  {'±%':>6}  unit",
        "-" * (label_w + 64),
    ]
    for row in summary.itertuples():
        name = KPI_DEFINITIONS[row.kpi].label if row.kpi in KPI_DEFINITIONS else row.kpi
        name = f"{name} *" if row.kpi in headline else name
        ci = f"{_fmt(row.ci_low)} to {_fmt(row.ci_high)}"
        rel = (row.ci_high - row.ci_low) / 2 / abs(row.mean) if row.mean else float("nan")
        rel_txt = f"{rel:.1%}" if rel == rel else "-"
        lines.append(f"{name:<{label_w}}  {_fmt(row.mean):>12}  {ci:>27}  {rel_txt:>6}  {row.unit}")
    if headline:
        lines.append("* headline KPI; ±% = CI half-width as a share of the mean")
    return "\n".join(lines)


def format_calibration(calibration: pd.DataFrame) -> str:
    width = max([len(t) for t in calibration.target] + [6])
    lines = [
        f"{'Calibration target':<{width}}  {'role':<8}  {'target':>12}  {'simulated':>10}  "
        f"{'CI':>21}  within",
        "-" * (width + 72),
    ]
    for row in calibration.itertuples():
        ci = f"{_fmt(row.ci_low)} to {_fmt(row.ci_high)}"
        tgt = f"{_fmt(row.target_value)}±{_fmt(row.tolerance)}"
        mark = "yes" if row.within else "NO"
        role = str(row.role).replace("_", " ")
        lines.append(
            f"{row.target:<{width}}  {role:<8}  {tgt:>12}  {_fmt(row.simulated_mean):>10}  "
            f"{ci:>21}  {mark}"
        )
    lines.append(
        "role: fitted = a setting was tuned to reproduce it; held out = never tuned to (a test)"
    )
    return "\n".join(lines)


def print_summary(
    summary: pd.DataFrame, run_cfg: RunConfig, calibration: pd.DataFrame | None = None
) -> None:
    exp = run_cfg.experiment
    title = f"{run_cfg.model.site.title} | scenario: {run_cfg.model.scenario} | seed {run_cfg.seed}"
    design = (
        f"{exp.replications} replications x {exp.run_weeks} weeks "
        f"after {exp.warmup_weeks} weeks' warm-up"
    )
    print(f"\n{title} | {design}\n")
    print(format_summary(summary, exp.ci_level, exp.headline_kpis))
    print()
    if calibration is not None and len(calibration) and run_cfg.model.scenario == "baseline":
        print(format_calibration(calibration))
        print()
