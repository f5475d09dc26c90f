"""Benchmark: the probabilistic sensitivity analysis (``python -m sim uncertainty``).

    python benchmarks/uncertainty.py [--sets 12] [--central-replications 1] [--against DIR]

Runs the real command, as an analyst would, with every option (12 alternatives with the
baseline) and the default design (one replication-year per drawn set after the standard
13 weeks' warm-up), but only ``--sets`` drawn sets, on this machine's cores (joblib launcher),
into a fresh folder; then re-makes its tables and report on their own. From the set
manifests (each set's CPU time, run serially inside one worker) it projects the default
200 sets plus the central set of 5 replications:

    wall(200) = (200 x CPU per drawn set + CPU of the central set) / (workers x 0.925)
                + tables and report,

CPU time rather than wall time, so that other work on a shared machine does not inflate it;
the parallel efficiency measured in the run is reported beside the assumed 0.925. The
booking pass is compiled first if it is not cached (untimed). Drawn sets differ in cost
(their parameters change how much happens: 14 to 27 s of CPU each at 05:36 on 7 December),
so the projection comes with the range its sample of sets leaves open (the mean per set plus
or minus two standard errors): the first 4 sets happen to be cheaper than most.
``--against`` a checkout runs its code on the same sets right after and compares each set's
CPU: this machine's speed changes from hour to hour (1.4 times on 7 December), the ratio
does not. Results go to outputs/benchmarks/uncertainty_<timestamp>/ as benchmark.json and
benchmark.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SETS, TARGET_CENTRAL, TARGET_MINUTES = 200, 5, 30
#: joblib's speed-up on 2 cores with warm workers is about 1.85 (docs/performance.md): the
#: projection divides CPU time by workers x this, so other work on a shared machine does not
#: inflate it (the efficiency measured in the run is reported beside it).
JOBLIB_EFFICIENCY = 0.925


def run(cmd: list[str], root: Path = ROOT) -> float:
    """Wall seconds of ``cmd`` run with ``root``'s ``sim`` (its own folder, first on the path)."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run(cmd, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def compile_first(root: Path = ROOT) -> None:
    """Compile the booking pass before anything is timed, if this checkout's compiled code is
    not cached yet: otherwise the first set of each worker pays the compile (about 25 s of
    CPU) and the CPU per set is overstated."""
    with tempfile.TemporaryDirectory(prefix="bench_compile_") as folder:
        run(
            [
                sys.executable,
                "-m",
                "sim",
                "experiment=quick",
                "experiment.replications=1",
                "experiment.warmup_weeks=0",
                "experiment.run_weeks=1",
                f"hydra.run.dir={folder}/run",
            ],
            root,
        )


def psa(root: Path, folder: Path, sets: int, central_replications: int) -> dict:
    """The real PSA command of ``root``'s code into ``folder``, then its tables and report on
    their own: wall seconds of both, the command, and every set's manifest."""
    command = [
        sys.executable,
        "-m",
        "sim",
        "uncertainty",
        f"psa.sets={sets}",
        f"psa.central_replications={central_replications}",
        f"hydra.sweep.dir={folder}",
        "hydra.callbacks.psa_summary.board_report=false",
    ]
    compile_first(root)
    total = run(command, root)
    analysis = run([sys.executable, "-m", "sim", "uncertainty", str(folder)], root)
    manifests = {
        int(p.parent.name.removeprefix("set_")): json.loads(p.read_text(encoding="utf-8"))
        for p in folder.glob("set_*/manifest.json")
    }
    return {"command": command, "total": total, "analysis": analysis, "manifests": manifests}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=12)
    parser.add_argument("--central-replications", type=int, default=1)
    parser.add_argument(
        "--against",
        type=Path,
        help="another checkout: its code runs the same sets right after, and each set's CPU "
        "is compared (the machine's speed changes from hour to hour; the ratio does not)",
    )
    args = parser.parse_args()
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out = ROOT / "outputs" / "benchmarks" / f"uncertainty_{stamp}"
    this = psa(ROOT, out / "psa", args.sets, args.central_replications)
    other = None
    if args.against is not None:
        against = args.against.resolve()
        other = psa(against, out / "psa_against", args.sets, args.central_replications)
    command, total, analysis = this["command"], this["total"], this["analysis"]
    drawn = [m for n, m in sorted(this["manifests"].items()) if not m["central"]]
    central = next(m for m in this["manifests"].values() if m["central"])
    workers = os.cpu_count() or 1
    alternatives = len(central["options"])
    per_set = [m["cpu_seconds"] for m in drawn]
    cpu_per_set = statistics.fmean(per_set)
    # sets differ (their parameters change how much happens): the mean's standard error
    sem = statistics.stdev(per_set) / len(per_set) ** 0.5 if len(per_set) > 1 else math.nan
    central_cpu = central["cpu_seconds"] / args.central_replications * TARGET_CENTRAL
    sets_wall = max(total - analysis, 1e-9)  # the sets' own wall time (less tables/report)
    measured_eff = (sum(m["cpu_seconds"] for m in drawn) + central["cpu_seconds"]) / (
        workers * sets_wall
    )
    cpu_total = TARGET_SETS * cpu_per_set + central_cpu

    def minutes(cpu_per_drawn_set: float) -> float:
        cpu = TARGET_SETS * cpu_per_drawn_set + central_cpu
        return (cpu / (workers * JOBLIB_EFFICIENCY) + analysis) / 60

    projected = minutes(cpu_per_set) * 60
    result = {
        "machine": {"python": platform.python_version(), "cpus": workers},
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "command": " ".join(command[1:]),
        "drawn_sets": args.sets,
        "alternatives_per_set": alternatives,
        "wall_seconds_total": round(total, 1),
        "wall_seconds_tables_and_report": round(analysis, 1),
        "cpu_seconds_per_drawn_set": round(cpu_per_set, 1),
        "cpu_seconds_per_drawn_set_min_max": [round(min(per_set), 1), round(max(per_set), 1)],
        "cpu_seconds_per_drawn_set_standard_error": round(sem, 2),
        "cpu_seconds_per_replication_year": round(cpu_per_set / alternatives, 2),
        "parallel_efficiency_measured": round(measured_eff, 3),
        "parallel_efficiency_assumed": JOBLIB_EFFICIENCY,
        "cpu_hours_200_sets": round(cpu_total / 3600, 2),
        "projected_minutes_200_sets_this_machine": round(projected / 60, 1),
        # the mean per set +- 2 standard errors: how far the sample of sets leaves it open
        "projected_minutes_range_2_standard_errors": [
            round(minutes(cpu_per_set - 2 * sem), 1),
            round(minutes(cpu_per_set + 2 * sem), 1),
        ],
        "target_minutes": TARGET_MINUTES,
        "meets_target": projected / 60 <= TARGET_MINUTES,
    }
    if other is not None:
        # set by set, this code's CPU over the other's: the same parameters, minutes apart
        ratios = [
            m["cpu_seconds"] / other["manifests"][n]["cpu_seconds"]
            for n, m in sorted(this["manifests"].items())
            if not m["central"] and n in other["manifests"]
        ]
        theirs = [m["cpu_seconds"] for m in other["manifests"].values() if not m["central"]]
        result["against"] = {
            "checkout": str(against),
            "cpu_seconds_per_drawn_set": round(statistics.fmean(theirs), 1),
            "ratio_per_set_median": round(statistics.median(ratios), 3),
            "ratio_per_set_min_max": [round(min(ratios), 3), round(max(ratios), 3)],
            "ratio_of_means": round(cpu_per_set / statistics.fmean(theirs), 3),
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
