"""``python -m sim compare BASELINE_RUN_DIR OPTION_RUN_DIR``: paired option comparison.

Refuses runs that cannot be compared as two options for the same patients: runs that did not
finish, or that differ in seed, replications, warm-up or run length (their replications would
not pair), or in the population simulated (site, practices, list sizes, calendar), or in demand
settings, unless an option that declares ``changes_demand`` made the difference, which is then
stated with the comparison.

Writes ``comparison.csv`` (every KPI), ``money_comparison.csv`` (investment, cash released,
net cash cost and capacity freed, per programme year, in total and discounted) and
``comparison.json`` (what was compared, the notes) into a new folder,
``<option folder>/comparisons/vs_<baseline folder name>/`` (or ``--out``); an earlier
comparison is never overwritten: a second one goes to ``..._2``, and so on. Prints the tables,
any notes, and the path of ``comparison.csv`` as the last line.

"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from sim.experiments.comparison import ComparisonError, compare_money, compare_runs
from sim.experiments.outputs import (
    OutputWriteError,
    atomic_write_csv,
    atomic_write_json,
    new_folder,
    now_utc,
)

EXIT_REFUSED = 2


def folder_name(text: str, limit: int = 80) -> str:
    """A folder-name-safe version of ``text`` (letters, digits, ``._+-``), at most ``limit``."""
    safe = re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("._") or "run"
    return safe[:limit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim compare",
        description="Paired comparison of an option run against a baseline run.",
    )
    parser.add_argument("baseline", type=Path, help="baseline run folder")
    parser.add_argument("option", type=Path, help="option run folder")
    parser.add_argument("--level", type=float, default=None, help="CI level (default: the run's)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to write into (default: <option>/comparisons/vs_<baseline folder name>); "
        "a new one is made beside it if it exists",
    )
    args = parser.parse_args(argv)
    if args.level is not None and not 0 < args.level < 1:
        print(
            f"Comparison error: --level = {args.level}: must lie between 0 and 1", file=sys.stderr
        )
        return EXIT_REFUSED
    try:
        table, notes, fingerprints = compare_runs(args.baseline, args.option, args.level)
        money = compare_money(args.baseline, args.option, args.level)
    except ComparisonError as err:
        print(f"Comparison error: {err}", file=sys.stderr)
        return EXIT_REFUSED
    target = args.out or (
        args.option / "comparisons" / f"vs_{folder_name(args.baseline.resolve().name)}"
    )
    try:
        out = new_folder(target)
    except OSError as err:
        print(
            f"Output error: {target}: cannot create the comparison's folder "
            f"({err.strerror or err}); choose a folder you can write with --out",
            file=sys.stderr,
        )
        return 1
    try:
        atomic_write_csv(out / "comparison.csv", table)
        atomic_write_csv(out / "money_comparison.csv", money)
        atomic_write_json(
            out / "comparison.json",
            {
                "baseline": str(args.baseline.resolve()),
                "option": str(args.option.resolve()),
                "level": args.level,
                "notes": notes,
                "fingerprints": fingerprints,
                "written_utc": now_utc(),
            },
        )
    except OutputWriteError as err:
        print(f"Output error: {err.path}: {err.reason}", file=sys.stderr)
        return 1
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        print()
        print(
            money.drop(columns="label").to_string(index=False, float_format=lambda x: f"{x:,.0f}")
        )
    for note in notes:
        print(f"Note: {note}")
    print(out / "comparison.csv")
    return 0
