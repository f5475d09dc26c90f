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
from typing import Any

import numpy as np
import pandas as pd

from sim.config import safe_yaml
from sim.config.schema import ConfigError
from sim.core.kpis import KPI_DEFINITIONS
from sim.core.statistics import (
    RatioInterval,
    bounded_interval,
    bounds_for_unit,
    difference_bounds,
    ratio_interval,
    t_cdf,
)
from sim.experiments.population_fingerprint import FINGERPRINT_KEYS, population_fingerprints

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
    """Two runs cannot be compared (different populations, seeds, designs, missing KPIs)."""


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
    return t_cdf(sign * mean / se, n - 1)


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


#: Experiment design two runs must share for replication r of one to pair with r of the other.
PAIRING_KEYS = ("seed", "replications", "warmup_weeks", "run_weeks")


def load_run(folder: Path) -> tuple[dict, pd.DataFrame]:
    """The manifest and per-replication KPIs of a finished run, each checked."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ComparisonError(f"{folder}: no manifest.json (not a run folder?)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ComparisonError(f"{manifest_path} cannot be read ({err})") from None
    if not isinstance(manifest, dict):
        raise ComparisonError(f"{manifest_path} is not a run's manifest (not a JSON object)")
    if manifest.get("status") != "complete":
        raise ComparisonError(
            f"{folder}: manifest status is {manifest.get('status')!r}, not 'complete'"
        )
    return manifest, read_kpis(folder / "kpis.csv")


def load_by_year(folder: Path) -> pd.DataFrame | None:
    """Per-year KPIs of a finished programme run (None if the run is not one)."""
    path = folder / "kpis_by_year.csv"
    return pd.read_csv(path) if path.exists() else None


def read_kpis(path: Path) -> pd.DataFrame:
    """A run's ``kpis.csv`` (``replication, kpi, value``), its columns and values checked."""
    try:
        table = pd.read_csv(path, encoding="utf-8-sig")  # a byte-order mark is fine
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise ComparisonError(f"{path} cannot be read ({type(err).__name__}: {err})") from None
    missing = [c for c in ("replication", "kpi", "value") if c not in table.columns]
    if missing:
        raise ComparisonError(f"{path} has no column {missing[0]!r} (not a run's kpis.csv)")
    values = pd.to_numeric(table["value"], errors="coerce")
    reps = pd.to_numeric(table["replication"], errors="coerce")
    bad = table.index[(values.isna() & table["value"].notna()) | reps.isna()]
    if len(bad):
        row = int(bad[0])
        raise ComparisonError(
            f"{path}, row {row + 2}: replication {str(table['replication'][row])!r}, value "
            f"{str(table['value'][row])!r}: must be numbers"
        )
    if table.duplicated(["replication", "kpi"]).any():
        raise ComparisonError(f"{path} lists a KPI twice for one replication")
    return table.assign(value=values.astype(float), replication=reps.astype(int))


def run_fingerprints(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """A run's population fingerprints: from its manifest, or (runs made before manifests
    carried them) from its ``.hydra/config.yaml``."""
    if all(k in manifest for k in FINGERPRINT_KEYS):
        return {k: manifest[k] for k in FINGERPRINT_KEYS}
    path = Path(folder) / ".hydra" / "config.yaml"
    try:
        data = safe_yaml.load(path, "run configuration")
    except ConfigError as err:
        raise ComparisonError(f"{folder}: {err}") from None
    if not isinstance(data, dict):
        raise ComparisonError(f"{path} is not a run's configuration")
    return population_fingerprints(data)


def check_comparable(
    base_dir: Path, base_manifest: dict, option_dir: Path, option_manifest: dict
) -> list[str]:
    """Raise :class:`ComparisonError` unless the two runs are the same patients under two
    options: the same seed and experiment design (so replications pair), the same population
    (site, practices, list sizes, calendar), and the same demand unless an option that declares
    it changes demand. Returns notes to state with the comparison (a declared demand change)."""
    for key in PAIRING_KEYS:
        if base_manifest.get(key) != option_manifest.get(key):
            raise ComparisonError(
                f"{key} differs (baseline {base_manifest.get(key)!r}, option "
                f"{option_manifest.get(key)!r}): re-run the option with the baseline's {key} so "
                "replications are paired"
            )
    base = run_fingerprints(base_dir, base_manifest)
    option = run_fingerprints(option_dir, option_manifest)

    def population(m: dict, f: dict) -> str:
        return (
            f"site {m.get('site')!r}, {f['practices']} practices, "
            f"{f['registered_patients']:,} patients, seed {m.get('seed')}"
        )

    if base["population_sha256"] != option["population_sha256"]:
        raise ComparisonError(
            "the runs simulate different populations (baseline: "
            f"{population(base_manifest, base)}; option: {population(option_manifest, option)}; "
            "population_sha256 differs): compare options run on the same site and seed"
        )
    if base["demand_sha256"] != option["demand_sha256"]:
        raise ComparisonError(
            "the runs' demand settings differ (assumptions.demand or A&E arrivals; "
            "demand_sha256 differs) although no option declares it: re-run the option with "
            "the baseline's demand settings"
        )
    if base["simulated_demand_sha256"] == option["simulated_demand_sha256"]:
        return []
    declared = sorted(set(base["demand_changed_by"]) | set(option["demand_changed_by"]))
    if not declared:
        raise ComparisonError(
            "the runs simulated different demand (simulated_demand_sha256 differs) and no "
            "option declares changes_demand: re-run both with this version"
        )
    return [
        f"{', '.join(declared)} changes demand (declared with changes_demand in its file): the "
        "differences include that change in the patients' needs, not only what services do "
        "for the same needs"
    ]


def compare_runs(
    baseline_dir: Path, option_dir: Path, level: float | None = None
) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """The paired comparison of two complete runs, notes to state with it, and the runs'
    population fingerprints (``{"baseline": ..., "option": ...}``)."""
    base_manifest, base_kpis = load_run(baseline_dir)
    opt_manifest, opt_kpis = load_run(option_dir)
    notes = check_comparable(baseline_dir, base_manifest, option_dir, opt_manifest)
    ci_level = level if level is not None else opt_manifest.get("ci_level", 0.95)
    if isinstance(ci_level, bool) or not isinstance(ci_level, (int, float)) or not 0 < ci_level < 1:
        raise ComparisonError(
            f"{Path(option_dir) / 'manifest.json'}: ci_level = {ci_level!r}: must lie between 0 "
            "and 1 (give one with --level)"
        )
    fingerprints = {
        "baseline": run_fingerprints(baseline_dir, base_manifest),
        "option": run_fingerprints(option_dir, opt_manifest),
    }
    return paired_comparison(base_kpis, opt_kpis, float(ci_level)), notes, fingerprints


def compare_money(baseline_dir: Path, option_dir: Path, level: float | None = None) -> pd.DataFrame:
    """The option's money against the baseline, per programme year, in total and discounted
    (:func:`sim.experiments.programme.money_comparison`); the runs must be comparable
    (:func:`check_comparable`)."""
    from sim.experiments.programme import money_comparison, yearly_values

    base_manifest, base_kpis = load_run(baseline_dir)
    opt_manifest, opt_kpis = load_run(option_dir)
    check_comparable(baseline_dir, base_manifest, option_dir, opt_manifest)
    ci_level = level if level is not None else float(opt_manifest.get("ci_level", 0.95))
    rate = float(base_manifest.get("discount_rate", 0.035))
    return money_comparison(
        yearly_values(base_kpis, load_by_year(baseline_dir)),
        yearly_values(opt_kpis, load_by_year(option_dir)),
        rate,
        ci_level,
    )
