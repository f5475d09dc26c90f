"""Paired comparison of an option against the baseline.

Replication ``r`` of both runs used the same random streams (common random numbers), so the
difference ``option_r - baseline_r`` removes the noise the two share. The CI of the mean
difference is t-based over replications (for a share, kept within [-1, 1]:
:func:`sim.core.statistics.bounded_interval`); the probability the option is better is the
t-approximation P(true mean difference lies in the better direction).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.core.kpis import KPI_DEFINITIONS
from sim.core.statistics import (
    RatioInterval,
    bounded_interval,
    bounds_for_unit,
    difference_bounds,
    ratio_interval,
)

COMPARISON_COLUMNS = [
    "kpi",
    "unit",
    "baseline_mean",
    "option_mean",
    "diff_mean",
    "diff_ci_low",
    "diff_ci_high",
    "n",
    "prob_option_better",
]


class ComparisonError(ValueError):
    """Two runs cannot be compared (different seeds, replications, or missing KPIs)."""


def paired_comparison(baseline: pd.DataFrame, option: pd.DataFrame, level: float) -> pd.DataFrame:
    """Compare two tidy KPI tables (``replication, kpi, value``) replication by replication."""
    b = baseline.pivot(index="replication", columns="kpi", values="value")
    o = option.pivot(index="replication", columns="kpi", values="value")
    if list(b.index) != list(o.index):
        raise ComparisonError(
            f"replications differ: baseline has {list(b.index)}, option has {list(o.index)}"
        )
    rows = []
    order = [k for k in KPI_DEFINITIONS if k in b.columns and k in o.columns]
    order += sorted((set(b.columns) & set(o.columns)) - set(order))
    for kpi in order:
        pair = pd.DataFrame({"b": b[kpi], "o": o[kpi]}).dropna()
        diff = (pair["o"] - pair["b"]).to_numpy(dtype=float)
        n = diff.size
        definition = KPI_DEFINITIONS.get(kpi)
        unit = definition.unit if definition else ""
        bounds = difference_bounds(bounds_for_unit(unit))
        mean, lo, hi = bounded_interval(diff, level, bounds)
        se = float(diff.std(ddof=1) / np.sqrt(n)) if n >= 2 else float("nan")
        rows.append(
            (
                kpi,
                unit,
                float(pair["b"].mean()) if n else float("nan"),
                float(pair["o"].mean()) if n else float("nan"),
                mean,
                lo,
                hi,
                n,
                probability_better(mean, se, n, definition.better if definition else None),
            )
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def probability_better(mean: float, se: float, n: int, better: str | None) -> float:
    """P(the option is better) from the paired differences' t distribution; NaN when the KPI
    has no better direction or there are too few replications."""
    if better is None or n < 2 or not np.isfinite(se):
        return float("nan")
    sign = 1.0 if better == "higher" else -1.0
    if se == 0:
        return 1.0 if sign * mean > 0 else 0.0 if sign * mean < 0 else 0.5
    return float(stats.t.cdf(sign * mean / se, n - 1))


def paired_ratio(
    baseline: pd.DataFrame,
    option: pd.DataFrame,
    numerator: str,
    denominator: str,
    level: float,
    denominator_scale: float = 1.0,
) -> RatioInterval:
    """Ratio of two paired differences, replication by replication, with Fieller's interval:
    ``(option - baseline)`` of ``numerator`` over ``denominator_scale x (option - baseline)``
    of ``denominator`` (for example the extra cost a year over the attendances avoided a year,
    ``denominator_scale = -52.18`` turning a weekly increase into a yearly reduction)."""
    b = baseline.pivot(index="replication", columns="kpi", values="value")
    o = option.pivot(index="replication", columns="kpi", values="value")
    if numerator not in b or numerator not in o or denominator not in b or denominator not in o:
        nan = float("nan")
        return RatioInterval(nan, nan, nan, False)
    num = (o[numerator] - b[numerator]).to_numpy(dtype=float)
    den = denominator_scale * (o[denominator] - b[denominator]).to_numpy(dtype=float)
    return ratio_interval(num, den, level)


PAIRING_KEYS = ("seed", "replications", "warmup_weeks", "run_weeks")


def load_run(folder: Path) -> tuple[dict, pd.DataFrame]:
    """The manifest and per-replication KPIs of a finished run."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise ComparisonError(f"{folder}: no manifest.json (not a run folder?)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("status") != "complete":
        raise ComparisonError(
            f"{folder}: manifest status is {manifest.get('status')!r}, not 'complete'"
        )
    return manifest, pd.read_csv(folder / "kpis.csv")


def compare_runs(baseline_dir: Path, option_dir: Path, level: float | None = None) -> pd.DataFrame:
    base_manifest, base_kpis = load_run(baseline_dir)
    opt_manifest, opt_kpis = load_run(option_dir)
    for key in PAIRING_KEYS:
        if base_manifest.get(key) != opt_manifest.get(key):
            raise ComparisonError(
                f"{key} differs (baseline {base_manifest.get(key)!r}, option "
                f"{opt_manifest.get(key)!r}): re-run the option with the baseline's {key} so "
                "replications are paired"
            )
    ci_level = level if level is not None else float(opt_manifest.get("ci_level", 0.95))
    return paired_comparison(base_kpis, opt_kpis, ci_level)
