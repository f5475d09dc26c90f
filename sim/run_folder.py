"""Executing a validated run into its folder, and the on-screen summary."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from . import outputs
from .config import RunConfig
from .equity import equity_table
from .experiment import (
    calibration_table,
    flows_table,
    kpi_table,
    ledger_table,
    resolve_n_jobs,
    run_experiment,
    summarise,
)
from .kpis import KPI_DEFINITIONS
from .timeseries import series_table


def config_fingerprint(data: dict[str, Any]) -> str:
    """SHA-256 of the resolved configuration; ``n_jobs`` changes speed, never numbers, so it
    is left out."""
    experiment = {k: v for k, v in data["experiment"].items() if k != "n_jobs"}
    return outputs.config_sha256({**data, "experiment": experiment})


def execute_run(
    run_cfg: RunConfig, data: dict[str, Any], out_dir: Path, started: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run all replications and write ``kpis.csv``, ``summary.csv``, ``ledger.csv``,
    ``flows.csv``, ``calibration.csv``, ``timeseries.parquet``, ``equity.csv`` and, last,
    ``manifest.json``.
    Returns the summary and calibration tables."""
    from .cli import PROJECT_ROOT

    exp = run_cfg.experiment
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
        "experiment": exp.name,
        "n_jobs": resolve_n_jobs(exp.n_jobs, exp.replications),
        "config_sha256": config_fingerprint(data),
        "git": outputs.git_state(PROJECT_ROOT),
        "packages": outputs.package_versions(),
        "machine": outputs.machine(),
        "command": " ".join(["python -m sim", *sys.argv[1:]]),
        "started_utc": outputs.now_utc(),
    }
    # Written first so an interrupted run is never mistaken for a finished one.
    outputs.atomic_write_json(out_dir / "manifest.json", manifest)

    results = run_experiment(run_cfg.model, exp, run_cfg.seed)
    kpis = kpi_table(results)
    summary = summarise(kpis, exp.ci_level)
    outputs.atomic_write_csv(out_dir / "kpis.csv", kpis)
    outputs.atomic_write_csv(out_dir / "summary.csv", summary)
    outputs.atomic_write_csv(out_dir / "ledger.csv", ledger_table(results))
    outputs.atomic_write_csv(out_dir / "flows.csv", flows_table(results, exp.ci_level))
    calibration = calibration_table(summary, run_cfg.calibration)
    outputs.atomic_write_csv(out_dir / "calibration.csv", calibration)
    outputs.atomic_write_parquet(out_dir / "timeseries.parquet", series_table(results))
    outputs.atomic_write_csv(out_dir / "equity.csv", equity_table(results, exp.ci_level))

    manifest.update(
        {
            "status": "complete",
            "replications": len(results),  # more than asked for in automatic precision mode
            "replications_requested": exp.replications,
            "episodes": int(sum(r.episodes_total for r in results)),
            "episodes_per_replication": [r.episodes_total for r in results],
            "replication_wall_seconds": [round(r.wall_seconds, 3) for r in results],
            "wall_seconds": round(time.perf_counter() - started, 3),
            "finished_utc": outputs.now_utc(),
            "files": [
                "kpis.csv",
                "summary.csv",
                "ledger.csv",
                "flows.csv",
                "calibration.csv",
                "timeseries.parquet",
                "equity.csv",
                ".hydra/config.yaml",
            ],
        }
    )
    outputs.atomic_write_json(out_dir / "manifest.json", manifest)
    return summary, calibration


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "-"
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
        f"{'Calibration target':<{width}}  {'target':>10}  {'simulated':>10}  {'CI':>21}  within",
        "-" * (width + 60),
    ]
    for row in calibration.itertuples():
        ci = f"{_fmt(row.ci_low)} to {_fmt(row.ci_high)}"
        tgt = f"{_fmt(row.target_value)}±{_fmt(row.tolerance)}"
        mark = "yes" if row.within else "NO"
        lines.append(
            f"{row.target:<{width}}  {tgt:>10}  {_fmt(row.simulated_mean):>10}  {ci:>21}  {mark}"
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
