"""A fingerprint of one replication's results, to prove a speed-up changed no number.

    python benchmarks/results_digest.py                     # baseline, 2 + 8 weeks
    python benchmarks/results_digest.py --year              # 13 + 52 weeks
    python benchmarks/results_digest.py --options a,b       # a mix of options

Prints a SHA-256 digest of the KPIs, ledger, flows, time series and equity breakdowns of
replication 0 (raw floats, not rounded). Run it before and after a change to the model's
code: equal digests mean byte-identical results. A change that adds a KPI or a series
changes the digest too; compare the files of a quick run then.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

import numpy as np


def digest(result) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(result.kpis, sort_keys=True).encode())
    h.update(json.dumps(result.ledger, sort_keys=True).encode())
    h.update(json.dumps(sorted((list(k), v) for k, v in result.flows.items())).encode())
    for name in sorted(result.series):
        h.update(name.encode())
        h.update(np.ascontiguousarray(result.series[name]).tobytes())
    h.update(json.dumps(result.equity, sort_keys=True).encode())
    return h.hexdigest()[:16]


def main() -> int:
    from hydra import compose, initialize_config_dir

    from sim import cli
    from sim.model import run_replication

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--year", action="store_true", help="13 + 52 weeks, not 2 + 8")
    parser.add_argument("--options", default="", help="comma-separated scenario options")
    args = parser.parse_args()
    cli.register()
    overrides = [f"scenario=[{args.options}]"] if args.options else []
    with initialize_config_dir(config_dir=str(cli.CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    run_cfg, _ = cli.validate(cli._plain(cfg))
    warmup, weeks = (13, 52) if args.year else (2, 8)
    started = time.perf_counter()
    result = run_replication(run_cfg.model, run_cfg.seed, 0, warmup, weeks)
    seconds = time.perf_counter() - started
    print(f"{digest(result)}  {run_cfg.model.scenario}, {warmup}+{weeks} weeks ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
