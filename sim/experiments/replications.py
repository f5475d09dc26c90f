"""Experiments: replications in parallel and their statistics.

Replication ``r`` always uses the streams of ``SeedSequence(seed)`` child ``r``, whichever
worker runs it, so results are identical for any ``n_jobs``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np

from sim.config.schema import Calibration, Experiment, ModelConfig
from sim.core.kpis import KPI_DEFINITIONS
from sim.core.replication import ReplicationResult, run_replication
from sim.core.statistics import NON_NEGATIVE, bounded_interval, bounds_for_unit
from sim.experiments.interrupts import exit_with_parent

if TYPE_CHECKING:  # the tables import pandas when they are built, after the replications
    import pandas as pd


def resolve_n_jobs(n_jobs: int, replications: int) -> int:
    """joblib convention (-1 = all cores), capped at the number of replications."""
    cores = os.cpu_count() or 1
    jobs = cores + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(jobs, replications))


def iter_replications(
    cfg: ModelConfig, experiment: Experiment, seed: int, replications: list[int] | None = None
) -> Iterator[ReplicationResult]:
    """Yield replication results as they finish (any order when parallel)."""
    reps = list(range(experiment.replications)) if replications is None else replications
    jobs = resolve_n_jobs(experiment.n_jobs, len(reps))
    args = (experiment.warmup_weeks, experiment.run_weeks)
    if jobs == 1:
        for r in reps:
            yield run_replication(cfg, seed, r, *args)
        return
    compile_before_workers(cfg, seed)
    from joblib import Parallel, delayed

    # Each worker, as it starts, watches this process: if the run is killed, its workers end
    # themselves rather than compute for nobody (sim.experiments.interrupts).
    parallel = Parallel(
        n_jobs=jobs,
        return_as="generator_unordered",
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )
    yield from parallel(delayed(run_replication)(cfg, seed, r, *args) for r in reps)


def compile_before_workers(cfg: ModelConfig, seed: int) -> None:
    """If the compiled booking pass is not cached yet, compile it here, once, by running one
    week of a replication (its results are thrown away), rather than in every worker at once:
    each would take the same CPU time and memory to compile it."""
    from sim.booking.engine import needs_compiling

    if needs_compiling():
        run_replication(cfg, seed, 0, 0, 1)


def run_experiment(
    cfg: ModelConfig,
    experiment: Experiment,
    seed: int,
    progress: bool | None = None,
    on_result: Callable[[ReplicationResult], None] | None = None,
    kept: Mapping[int, ReplicationResult] | None = None,
) -> list[ReplicationResult]:
    """Run every replication; results sorted by replication number.

    ``progress`` shows a bar (replications done, elapsed, ETA); by default only when standard
    error is a terminal, so logs and CI stay quiet. ``on_result`` is called with each
    replication as it finishes. ``kept`` holds replications finished by an earlier, interrupted
    run of the same configuration: they are used instead of being run again (``on_result`` is
    not called for them), batch by batch, so the automatic mode takes the same decisions as
    an uninterrupted run.
    """
    from tqdm import tqdm

    kept = kept or {}
    show = sys.stderr.isatty() if progress is None else progress
    results: list[ReplicationResult] = []
    todo = list(range(experiment.replications))
    automatic = experiment.target_relative_half_width is not None
    with tqdm(total=len(todo), desc="replications", unit="rep", disable=not show) as bar:
        while todo:
            reused = [kept[r] for r in todo if r in kept]
            results.extend(reused)
            bar.update(len(reused))
            missing = [r for r in todo if r not in kept]
            for res in iter_replications(cfg, experiment, seed, missing):
                results.append(res)
                if on_result is not None:
                    on_result(res)
                bar.update(1)
            todo = []
            if automatic:
                todo = more_replications_needed(results, experiment)
                bar.total += len(todo)
                bar.refresh()
    return sorted(results, key=lambda r: r.replication)


def more_replications_needed(results: list[ReplicationResult], experiment: Experiment) -> list[int]:
    """Replication numbers to add so headline KPIs may reach the target precision.

    Uses the CI half-width method: n* = n (h / h*)^2 for the worst headline KPI, added in a
    batch (never beyond ``max_replications``). Replication numbers continue from the last, so
    the result equals a run asked for that many replications from the start.
    """
    target = experiment.target_relative_half_width
    n = len(results)
    if target is None or n >= experiment.max_replications:
        return []
    table = summarise(kpi_table(results), experiment.ci_level)
    worst = relative_half_widths(table, experiment.headline_kpis).max(skipna=True)
    if not np.isfinite(worst) or worst <= target:
        return [] if np.isfinite(worst) or n >= 2 else [n]
    wanted = int(np.ceil(n * (worst / target) ** 2))
    upto = min(max(wanted, n + 1), experiment.max_replications)
    return list(range(n, upto))


def relative_half_widths(summary: pd.DataFrame, kpis: list[str]) -> pd.Series:
    """CI half-width as a share of |mean| for the given KPIs (NaN where the mean is 0)."""
    rows = summary.set_index("kpi").reindex(kpis)
    half = (rows["ci_high"] - rows["ci_low"]) / 2
    return half / rows["mean"].abs().replace(0, np.nan)


def kpi_table(results: list[ReplicationResult]) -> pd.DataFrame:
    """Tidy per-replication KPIs: columns ``replication, kpi, value``."""
    import pandas as pd

    rows = [(r.replication, k, v) for r in results for k, v in r.kpis.items()]
    return pd.DataFrame(rows, columns=["replication", "kpi", "value"])


def summarise(kpis: pd.DataFrame, level: float) -> pd.DataFrame:
    """Summary with columns ``kpi, unit, mean, ci_low, ci_high, n`` in registry order; each
    interval stays within the KPI's range (:func:`sim.core.statistics.bounded_interval`)."""
    import pandas as pd

    rows = []
    order = list(KPI_DEFINITIONS) + sorted(set(kpis["kpi"]) - set(KPI_DEFINITIONS))
    for kpi in order:
        vals = kpis.loc[kpis["kpi"] == kpi, "value"].to_numpy()
        if vals.size == 0:
            continue
        unit = KPI_DEFINITIONS[kpi].unit if kpi in KPI_DEFINITIONS else ""
        mean, lo, hi = bounded_interval(vals, level, bounds_for_unit(unit))
        rows.append((kpi, unit, mean, lo, hi, int(np.isfinite(vals).sum())))
    return pd.DataFrame(rows, columns=["kpi", "unit", "mean", "ci_low", "ci_high", "n"])


def ledger_table(results: list[ReplicationResult]) -> pd.DataFrame:
    """Conservation ledger: one row per replication, one column per terminal state."""
    import pandas as pd

    return pd.DataFrame([{"replication": r.replication, **r.ledger} for r in results])


def flows_table(results: list[ReplicationResult], level: float) -> pd.DataFrame:
    """Flow matrix: ``origin, destination, per_week_mean, ci_low, ci_high, n``.

    A transition absent from a replication counts as zero there. Flows are counts, so their
    intervals never go below zero.
    """
    import pandas as pd

    pairs = sorted({pair for r in results for pair in r.flows})
    rows = []
    for origin, dest in pairs:
        vals = np.array([r.flows.get((origin, dest), 0.0) for r in results])
        mean, lo, hi = bounded_interval(vals, level, NON_NEGATIVE)
        rows.append((origin, dest, mean, lo, hi, len(vals)))
    return pd.DataFrame(
        rows, columns=["origin", "destination", "per_week_mean", "ci_low", "ci_high", "n"]
    )


def calibration_table(summary: pd.DataFrame, calibration: Calibration) -> pd.DataFrame:
    """Simulated means against published targets: ``within`` when |mean - target| <= tolerance.

    ``role`` says whether a setting was tuned to the target (``fitted``) or not
    (``held_out``: meeting it tests the model)."""
    import pandas as pd

    by_kpi = summary.set_index("kpi")
    rows = []
    for t in calibration.targets:
        if t.kpi in by_kpi.index:
            row = by_kpi.loc[t.kpi]
            mean, lo, hi = float(row["mean"]), float(row["ci_low"]), float(row["ci_high"])
        else:
            mean = lo = hi = float("nan")
        within = bool(np.isfinite(mean) and abs(mean - t.value) <= t.tolerance)
        rows.append((t.target, t.role, t.source, t.value, t.tolerance, mean, lo, hi, within))
    return pd.DataFrame(
        rows,
        columns=[
            "target",
            "role",
            "source",
            "target_value",
            "tolerance",
            "simulated_mean",
            "ci_low",
            "ci_high",
            "within",
        ],
    )
