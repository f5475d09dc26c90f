"""Benchmark: CPU time of the coupled hospital stage, per replication-year of the default site.

    python benchmarks/hospital_stage.py [--replications 3]

For each replication (13 weeks' warm-up + 52 measured, the standard design) the booking pass
runs first, untimed; then the hospital stage is timed with ``time.process_time`` (CPU, not
wall clock, so other work on the machine does not inflate it): building the hospital's
arrivals, drawing every patient's random quantities, and the SimPy model (A&E, SDEC, beds,
discharge, IC+) to the end of its drain. The target is at most 1.0 s of CPU per
replication-year (issue 15); the figure reported is the stage's CPU time x 52 / 65 (the
weeks simulated), with the SimPy M/M/c reference of ``benchmarks/references.py`` measured
in the same process for comparison across machines. ``benchmarks/run.py`` times the same
stage inside whole replications (its paired section's profile by stage, "hospital stage").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The standard experiment's design (conf/experiment/standard.yaml).
WARMUP_WEEKS, RUN_WEEKS = 13, 52


def measure_hospital_stage(replications: int = 3) -> dict:
    """CPU seconds of the hospital stage per replication, and per replication-year."""
    sys.path.insert(0, str(ROOT))
    from sim.booking.preparation import in_request_order, run_booking_pass
    from sim.config.compose import compose_validated
    from sim.core.demand import generate_episodes
    from sim.core.replication import hospital_stage, make_calendar
    from sim.core.streams import Streams
    from sim.services.catalogue import build_books

    _, run_cfg, _ = compose_validated([])
    cfg = run_cfg.model
    seconds, attendances, admissions = [], [], []
    for r in range(replications):
        calendar = make_calendar(cfg, WARMUP_WEEKS, RUN_WEEKS)
        streams = Streams(run_cfg.seed, r)
        # the booking pass takes episodes in the order they reach their practice, as in
        # sim.core.replication.run_replication
        episodes, first_requests = in_request_order(
            generate_episodes(cfg, calendar, streams), cfg, calendar
        )
        books = build_books(cfg, calendar)
        journeys = run_booking_pass(episodes, cfg, calendar, books, first_requests)
        del first_requests
        started = time.process_time()
        result, _ = hospital_stage(cfg, calendar, streams, episodes, journeys)
        seconds.append(time.process_time() - started)
        attendances.append(len(result.attendances))
        admissions.append(len(result.admissions))
    per_replication = sum(seconds) / replications
    weeks = WARMUP_WEEKS + RUN_WEEKS
    return {
        "replications": replications,
        "weeks_simulated": weeks,
        "cpu_seconds_per_replication": per_replication,
        "cpu_seconds_per_replication_year": per_replication * 52 / weeks,
        "cpu_seconds_each": seconds,
        "attendances_per_replication": sum(attendances) / replications,
        "bed_requests_per_replication": sum(admissions) / replications,
        "target_cpu_seconds_per_replication_year": 1.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replications", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from references import simpy_mmc

    reference = simpy_mmc(200_000)
    result = measure_hospital_stage(args.replications)
    result["reference_mmc_customers_per_cpu_second"] = reference["per_cpu_second"]
    print(json.dumps(result, indent=2))
    per_year = result["cpu_seconds_per_replication_year"]
    ok = per_year <= result["target_cpu_seconds_per_replication_year"]
    print(
        f"hospital stage: {per_year:.2f} s CPU per "
        f"replication-year ({'within' if ok else 'OVER'} the 1.0 s target); SimPy M/M/c "
        f"reference {reference['per_cpu_second']:,.0f} customers per CPU s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
