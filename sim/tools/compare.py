"""``python -m sim compare BASELINE_RUN_DIR OPTION_RUN_DIR``: paired option comparison.

Writes ``comparison.csv`` (every KPI) and ``money_comparison.csv`` (investment, cash
released, net cash cost and capacity freed, per programme year, in total and discounted) into
the option's folder and prints them. Refuses runs that did not
use the same seed, replications, warm-up and run length (their replications would not be
paired), or that did not finish.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from sim.experiments.comparison import ComparisonError, compare_money, compare_runs
from sim.experiments.outputs import atomic_write_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim compare",
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
        money = compare_money(args.baseline, args.option, args.level)
    except ComparisonError as err:
        print(f"Comparison error: {err}", file=sys.stderr)
        return 2
    out = args.option / "comparison.csv"
    atomic_write_csv(out, table)
    atomic_write_csv(args.option / "money_comparison.csv", money)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        print()
        print(
            money.drop(columns="label").to_string(index=False, float_format=lambda x: f"{x:,.0f}")
        )
    print(out)
    return 0
