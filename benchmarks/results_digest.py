"""A fingerprint of one replication's results, to prove a speed-up changed no number.

    python benchmarks/results_digest.py                     # baseline, 2 + 8 weeks
    python benchmarks/results_digest.py --year              # 13 + 52 weeks
    python benchmarks/results_digest.py --options a,b       # a mix of options
    python benchmarks/results_digest.py --pin               # re-pin tests/golden/digests.json

Prints a SHA-256 digest of the KPIs, ledger, flows, time series and equity breakdowns of
replication 0 (raw floats, not rounded). Run it before and after a change to the model's
code: equal digests mean byte-identical results. A change that adds a KPI or a series
changes the digest too; compare the files of a quick run then.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sim.experiments.fingerprint import (
    GOLDEN_MIXES,
    GOLDEN_WEEKS,
    mix_digest,
    result_digest,
)

GOLDEN_FILE = Path(__file__).resolve().parent.parent / "tests" / "golden" / "digests.json"


def pin() -> int:
    """Write the pinned digests of ``tests/test_golden.py`` (a deliberate change of numbers)."""
    warmup, weeks = GOLDEN_WEEKS
    pinned = {mix: mix_digest(mix, warmup, weeks) for mix in GOLDEN_MIXES}
    GOLDEN_FILE.write_text(json.dumps(pinned, indent=2) + "\n", encoding="utf-8")
    for mix, value in pinned.items():
        print(f"{value}  {mix}")
    print(f"pinned in {GOLDEN_FILE}")
    return 0


def main() -> int:
    from sim.config.compose import compose_validated
    from sim.core.replication import run_replication

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--year", action="store_true", help="13 + 52 weeks, not 2 + 8")
    parser.add_argument("--options", default="", help="comma-separated scenario options")
    parser.add_argument(
        "--pin", action="store_true", help="re-pin tests/golden/digests.json (numbers changed)"
    )
    args = parser.parse_args()
    if args.pin:
        return pin()
    overrides = [f"scenario=[{args.options}]"] if args.options else []
    _, run_cfg, _ = compose_validated(overrides)
    warmup, weeks = (13, 52) if args.year else (2, 8)
    started = time.perf_counter()
    result = run_replication(run_cfg.model, run_cfg.seed, 0, warmup, weeks)
    seconds = time.perf_counter() - started
    what = f"{run_cfg.model.scenario}, {warmup}+{weeks} weeks ({seconds:.1f} s)"
    print(f"{result_digest(result)}  {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
