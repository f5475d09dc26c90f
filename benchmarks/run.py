"""Benchmark: one replication-year of the default site against an idiomatic SimPy reference.

    python benchmarks/run.py [--scales 1,2,4] [--years 5] [--sweep-sample 4]

Measures, in one run on this machine:
  (a) wall time and episodes per second for one replication of the default site (52 weeks
      after the standard warm-up, one core);
  (b) an idiomatic SimPy M/M/c queue (arrival rate 9/h, c = 10, service rate 1/h, one process
      per customer with Resource request/timeout/release): customers per second;
  (c) the ratio a/b;
  (d) peak memory (RSS) of each measurement;
  (e) scaling with population x1, x2, x4 (every list size multiplied; x4 is a population of
      about a million);
  (f) a long run: one replication of the default site over several years (--years);
  (g) a board sweep's pace: --sweep-sample replications on every core (n_jobs=-1), projected
      to the 12-option x 30-replication x 1-year sweep (360 replications);
  (h) the coupled hospital stage's CPU time per replication-year (benchmarks/hospital_stage.py).
Each measurement runs in its own process so peak memory is its own. Results go to
outputs/benchmarks/<timestamp>/ as benchmark.json and benchmark.md; figures are ratios
against the reference measured in the same run, so machines can be compared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def reference_mmc(customers: int, seed: int = 1) -> dict:
    """Idiomatic SimPy M/M/c: one process per customer (the common healthcare-model pattern)."""
    import numpy as np
    import simpy

    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / 9, customers)
    services = rng.exponential(1.0, customers)
    env = simpy.Environment()
    clinicians = simpy.Resource(env, capacity=10)
    waits = []

    def customer(env, service):
        arrived = env.now
        with clinicians.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def arrivals(env):
        for gap, service in zip(gaps, services, strict=True):
            yield env.timeout(gap)
            env.process(customer(env, service))

    env.process(arrivals(env))
    started = time.perf_counter()
    env.run()
    seconds = time.perf_counter() - started
    return {"customers": customers, "seconds": seconds, "per_second": customers / seconds}


def default_run_config(scale: float = 1.0):
    """The default site's validated run configuration, every list size multiplied by scale."""
    from sim.config import compose

    data = compose.plain(compose.compose_config())
    for practice in data["site"]["practices"].values():
        practice["list_size"] = int(round(practice["list_size"] * scale))
    run_cfg, _ = compose.validate(data)
    population = sum(p["list_size"] for p in data["site"]["practices"].values())
    return run_cfg, population


def model_run(scale: float, run_weeks: int = 52) -> dict:
    """One replication of the default site, ``run_weeks`` after the standard warm-up, one core."""
    from sim.core.replication import run_replication

    run_cfg, population = default_run_config(scale)
    exp = run_cfg.experiment
    started = time.perf_counter()
    result = run_replication(run_cfg.model, run_cfg.seed, 0, exp.warmup_weeks, run_weeks)
    seconds = time.perf_counter() - started
    return {
        "scale": scale,
        "population": population,
        "weeks_simulated": exp.warmup_weeks + run_weeks,
        "episodes": result.episodes_total,
        "seconds": seconds,
        "per_second": result.episodes_total / seconds,
    }


def sweep_pace(replications: int) -> dict:
    """Replication-years on every core at once, as a sweep runs them, projected to 360."""
    import dataclasses
    import os

    from sim.experiments.replications import run_experiment

    run_cfg, _ = default_run_config()
    exp = dataclasses.replace(
        run_cfg.experiment, replications=replications, run_weeks=52, n_jobs=-1
    )
    started = time.perf_counter()
    run_experiment(run_cfg.model, exp, run_cfg.seed, progress=False)
    seconds = time.perf_counter() - started
    return {
        "replications": replications,
        "cores": os.cpu_count(),
        "seconds": seconds,
        "seconds_per_replication_year": seconds / replications,
        "projected_board_sweep_minutes": seconds / replications * SWEEP_REPLICATIONS / 60,
    }


SWEEP_REPLICATIONS = 12 * 30  # 12 options x 30 replications


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _child(kind: str, arg: str) -> None:
    if kind == "reference":
        result = reference_mmc(int(arg))
    elif kind == "model":
        result = model_run(float(arg))
    elif kind == "long":
        result = model_run(1.0, run_weeks=52 * int(arg))
    elif kind == "hospital":
        from hospital_stage import measure_hospital_stage

        result = measure_hospital_stage(int(arg))
    else:
        result = sweep_pace(int(arg))
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def _measure(kind: str, arg: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, arg],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="1,2,4", help="population multipliers")
    parser.add_argument("--reference-customers", type=int, default=200_000)
    parser.add_argument("--years", type=int, default=5, help="long run length; 0 to skip")
    parser.add_argument(
        "--sweep-sample", type=int, default=4, help="replications for the sweep pace; 0 to skip"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    reference = _measure("reference", str(args.reference_customers))
    runs = [_measure("model", s) for s in args.scales.split(",")]
    if args.years:
        runs.append(_measure("long", str(args.years)))
    sweep = _measure("sweep", str(args.sweep_sample)) if args.sweep_sample else None
    hospital = _measure("hospital", "2")
    base = runs[0]
    for r in runs:
        r["ratio_to_reference"] = r["per_second"] / reference["per_second"]
        r["seconds_per_million_episodes"] = r["seconds"] / r["episodes"] * 1e6
    from sim.experiments.outputs import git_state, package_versions

    report = {
        "reference_mmc": reference,
        "model": runs,
        "ratio_a_over_b": base["per_second"] / reference["per_second"],
        "sweep": sweep,
        "hospital_stage": hospital,
        "git": git_state(ROOT),
        "packages": package_versions(),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    lines = [
        "| measurement | population | episodes | wall (s) | per second "
        "| ratio to SimPy M/M/c | s per 1M episodes | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|",
        f"| SimPy M/M/c reference | - | {reference['customers']:,} customers | "
        f"{reference['seconds']:.2f} | {reference['per_second']:,.0f} | 1.00 | - | "
        f"{reference['peak_rss_mb']:.0f} |",
    ]
    for r in runs:
        lines.append(
            f"| model x{r['scale']:g}, {r['weeks_simulated']} weeks, 1 core "
            f"| {r['population']:,} | "
            f"{r['episodes']:,} | {r['seconds']:.2f} | {r['per_second']:,.0f} | "
            f"{r['ratio_to_reference']:.2f} | {r['seconds_per_million_episodes']:.2f} | "
            f"{r['peak_rss_mb']:.0f} |"
        )
    if sweep:
        lines += [
            "",
            f"Sweep pace: {sweep['replications']} replication-years on {sweep['cores']} cores "
            f"in {sweep['seconds']:.1f} s ({sweep['seconds_per_replication_year']:.2f} s each); "
            f"a 12-option x 30-replication sweep would take about "
            f"{sweep['projected_board_sweep_minutes']:.1f} minutes.",
        ]
    lines += [
        "",
        f"Hospital stage (A&E, beds, discharge, IC+): "
        f"{hospital['cpu_seconds_per_replication_year']:.2f} s of CPU per replication-year "
        f"(target 1.0 s; {hospital['cpu_seconds_per_replication']:.2f} s per "
        f"{hospital['weeks_simulated']}-week replication).",
    ]
    table = "\n".join(lines)
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out = ROOT / "outputs" / "benchmarks" / stamp
    sys.path.insert(0, str(ROOT))
    from sim.experiments.outputs import atomic_write_json, atomic_write_text

    atomic_write_json(out / "benchmark.json", report)
    atomic_write_text(out / "benchmark.md", table + "\n")
    print(table)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
