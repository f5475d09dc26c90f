"""``python -m sim.compare BASELINE_RUN_DIR OPTION_RUN_DIR``: paired option comparison.

Writes ``comparison.csv`` into the option's folder and prints it. Refuses runs that did not
use the same seed, replications, warm-up and run length (their replications would not be
paired), or that did not finish.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from .comparison import ComparisonError, paired_comparison
from .outputs import atomic_write_csv

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.compare",
        description="Paired comparison of an option run against a baseline run.",
    )
    parser.add_argument("baseline", type=Path, help="baseline run folder")
    parser.add_argument("option", type=Path, help="option run folder (comparison.csv goes here)")
    parser.add_argument("--level", type=float, default=None, help="CI level (default: the run's)")
    args = parser.parse_args(argv)
    if args.level is not None and not 0 < args.level < 1:
        print(
            f"Comparison error: --level = {args.level}: must lie between 0 and 1", file=sys.stderr
        )
        return 2
    try:
        table = compare_runs(args.baseline, args.option, args.level)
    except ComparisonError as err:
        print(f"Comparison error: {err}", file=sys.stderr)
        return 2
    out = args.option / "comparison.csv"
    atomic_write_csv(out, table)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
