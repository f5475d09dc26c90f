"""Benchmark: the probabilistic sensitivity analysis (``python -m sim uncertainty``).

    python benchmarks/uncertainty.py [--sets 6] [--central-replications 1]

Runs the real command, as an analyst would, with every option (12 alternatives with the
baseline) and the default design (one replication-year per drawn set after the standard
13 weeks' warm-up), but only ``--sets`` drawn sets, on this machine's cores (joblib launcher),
into a fresh folder; then re-makes its tables and report on their own. From the set
manifests (each set's CPU time, run serially inside one worker) it projects the default
200 sets plus the central set of 5 replications:

    wall(200) = (200 x CPU per drawn set + CPU of the central set) / (workers x 0.925)
                + tables and report,

CPU time rather than wall time, so that other work on a shared machine does not inflate it;
the parallel efficiency measured in the run is reported beside the assumed 0.925. Results
go to outputs/benchmarks/uncertainty_<timestamp>/ as benchmark.json and benchmark.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SETS, TARGET_CENTRAL, TARGET_MINUTES = 200, 5, 30
#: joblib's speed-up on 2 cores with warm workers is about 1.85 (docs/performance.md): the
#: projection divides CPU time by workers x this, so other work on a shared machine does not
#: inflate it (the efficiency measured in the run is reported beside it).
JOBLIB_EFFICIENCY = 0.925


def run(cmd: list[str]) -> float:
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=6)
    parser.add_argument("--central-replications", type=int, default=1)
    args = parser.parse_args()
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out = ROOT / "outputs" / "benchmarks" / f"uncertainty_{stamp}"
    folder = out / "psa"
    command = [
        sys.executable,
        "-m",
        "sim",
        "uncertainty",
        f"psa.sets={args.sets}",
        f"psa.central_replications={args.central_replications}",
        f"hydra.sweep.dir={folder}",
        "hydra.callbacks.psa_summary.board_report=false",
    ]
    total = run(command)
    analysis = run([sys.executable, "-m", "sim", "uncertainty", str(folder)])
    manifests = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(folder.glob("set_*/manifest.json"))
    ]
    drawn = [m for m in manifests if not m["central"]]
    central = next(m for m in manifests if m["central"])
    workers = os.cpu_count() or 1
    alternatives = len(central["options"])
    cpu_per_set = sum(m["cpu_seconds"] for m in drawn) / len(drawn)
    central_cpu = central["cpu_seconds"] / args.central_replications * TARGET_CENTRAL
    sets_wall = max(total - analysis, 1e-9)  # the sets' own wall time (less tables/report)
    measured_eff = (sum(m["cpu_seconds"] for m in drawn) + central["cpu_seconds"]) / (
        workers * sets_wall
    )
    cpu_total = TARGET_SETS * cpu_per_set + central_cpu
    projected = cpu_total / (workers * JOBLIB_EFFICIENCY) + analysis
    result = {
        "machine": {"python": platform.python_version(), "cpus": workers},
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "command": " ".join(command[1:]),
        "drawn_sets": args.sets,
        "alternatives_per_set": alternatives,
        "wall_seconds_total": round(total, 1),
        "wall_seconds_tables_and_report": round(analysis, 1),
        "cpu_seconds_per_drawn_set": round(cpu_per_set, 1),
        "cpu_seconds_per_replication_year": round(cpu_per_set / alternatives, 2),
        "parallel_efficiency_measured": round(measured_eff, 3),
        "parallel_efficiency_assumed": JOBLIB_EFFICIENCY,
        "cpu_hours_200_sets": round(cpu_total / 3600, 2),
        "projected_minutes_200_sets_this_machine": round(projected / 60, 1),
        "target_minutes": TARGET_MINUTES,
        "meets_target": projected / 60 <= TARGET_MINUTES,
    }
    from sim.experiments.outputs import atomic_write_json, atomic_write_text

    atomic_write_json(out / "benchmark.json", result)
    lines = [f"| {k} | {v} |" for k, v in result.items() if k != "machine"]
    atomic_write_text(out / "benchmark.md", "| measure | value |\n|---|---|\n" + "\n".join(lines))
    print(json.dumps(result, indent=2))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
