"""Board-ready report of a run or sweep folder: ``python -m sim report <folder>``.

Writes ``report.html`` (self-contained, figures embedded), ``report.md`` (figures in
``report_figures/``) and ``report.pdf`` (matplotlib only) into the folder. See docs/report.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.report.load import ReportError, load_folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim report", description="Write report.html/.md/.pdf for a run or sweep."
    )
    parser.add_argument("folder", type=Path, help="a run folder or a sweep folder")
    parser.add_argument(
        "--validation",
        type=Path,
        default=None,
        help="a python -m sim validate results folder to include (default: the newest complete "
        "one under outputs/validation/)",
    )
    args = parser.parse_args(argv)
    try:
        data = load_folder(args.folder, args.validation)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from sim.report.build import write_report

    try:
        written = write_report(data)
    except ReportError as err:  # a PSA's tables are read as the report is built
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(written)
    return 0


__all__ = ["main", "load_folder", "ReportError"]
