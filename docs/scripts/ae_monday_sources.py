"""Where A&E's Monday excess comes from: the Monday share of self-presenting attendances and
of hand-offs from primary care (by route), measured separately on a short baseline run.

docs/model.md ("Calibration targets", A&E on Mondays) quotes the figures this prints.

    python docs/scripts/ae_monday_sources.py [replications] [weeks]   # default 2 x 26 weeks
"""

from __future__ import annotations

import sys

import numpy as np

from sim.booking.codes import AE_ROUTES
from sim.config.compose import compose_validated
from sim.core.calendar import MINUTES_PER_DAY
from sim.core.replication import run_replication
from sim.services.hospital.arrivals import EPISODE, SELF_PRESENTING

WARMUP_WEEKS = 4


def main(replications: int = 2, weeks: int = 26) -> None:
    _, run_cfg, _ = compose_validated([])
    totals: dict[str, list[int]] = {}  # group -> [Monday, all]

    def add(group: str, monday: np.ndarray) -> None:
        t = totals.setdefault(group, [0, 0])
        t[0] += int(monday.sum())
        t[1] += len(monday)

    for rep in range(replications):
        result = run_replication(run_cfg.model, run_cfg.seed, rep, WARMUP_WEEKS, weeks, True)
        att = result.detail["inputs"].hospital.attendances
        inside = att.time >= WARMUP_WEEKS * 7 * MINUTES_PER_DAY
        monday = (att.time // MINUTES_PER_DAY).astype(np.int64) % 7 == 0  # day 0: a Monday
        add("all attendances", monday[inside])
        add("self-presenting", monday[inside & (att.source == SELF_PRESENTING)])
        handed = inside & (att.source == EPISODE)
        add("hand-offs from primary care, all routes", monday[handed])
        for code, route in enumerate(AE_ROUTES):
            add(f"  hand-offs via {route}", monday[handed & (att.via == code)])
    n_all = totals["all attendances"][1]
    print(f"{replications} replications x {weeks} weeks after {WARMUP_WEEKS} weeks' warm-up")
    print(f"{'group':45s} {'Monday':>8s} {'all':>8s} {'Mon share':>9s} {'of all':>7s}")
    for group, (mon, n) in totals.items():
        share = mon / n if n else float("nan")
        print(f"{group:45s} {mon:8d} {n:8d} {share:9.3f} {n / n_all:7.3f}")
    # The excess over a flat Monday (1/7) of all attendances, split by where it arises
    excess = {
        g: totals[g][0] - totals[g][1] / 7
        for g in ("self-presenting", "hand-offs from primary care, all routes")
    }
    print("Monday attendances above 1/7 of each group, share of the total excess:")
    for g, e in excess.items():
        print(f"  {g:45s} {e / sum(excess.values()):.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
