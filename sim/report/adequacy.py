"""Whether results are fit for a board: long enough runs with enough replications.

A board paper made from runs that are too short or have too few replications carries a banner
on its first page and in every figure (docs/report.md, "Results not fit for a board"). The
rules, each from a documented property of the model or of the intervals:

- **A year measured** (:data:`BOARD_MIN_RUN_WEEKS`): demand is seasonal (winter peaks) and
  the calibration targets and the annual costs and outcomes are annual figures; a shorter run
  measures part of a year and scales it up (docs/model.md, warm-up and measurement window).
- **The warm-up the default site needs** (:data:`BOARD_MIN_WARMUP_WEEKS`): the system starts
  empty and IC+ takes 13 weeks to settle (docs/warmup.md, found by ``python -m sim warmup``);
  a shorter warm-up measures a system still filling up.
- **Enough replications for a reliable interval**
  (:data:`sim.core.statistics.MIN_RELIABLE_REPLICATIONS`, docs/experiments.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.core.statistics import MIN_RELIABLE_REPLICATIONS

BOARD_MIN_RUN_WEEKS = 52
BOARD_MIN_WARMUP_WEEKS = 13
#: The command line that gives results fit for a board (conf/experiment/board.yaml).
BOARD_PRESET = "experiment=board"


@dataclass(frozen=True)
class Fitness:
    """Whether a set of runs is fit for a board, and why not."""

    reasons: list[str] = field(default_factory=list)
    replications: int | None = None
    run_weeks: int | None = None
    warmup_weeks: int | None = None

    @property
    def fit(self) -> bool:
        return not self.reasons

    @property
    def banner(self) -> str:
        """One paragraph for the first page and every figure; empty when fit."""
        if self.fit:
            return ""
        return (
            f"NOT FOR DECISIONS: {self.replications} replications of {self.run_weeks} weeks "
            f"after {self.warmup_weeks} weeks' warm-up; a board needs at least "
            f"{MIN_RELIABLE_REPLICATIONS} replications of {BOARD_MIN_RUN_WEEKS} weeks after "
            f"{BOARD_MIN_WARMUP_WEEKS} weeks' warm-up. Re-run with {BOARD_PRESET}."
        )

    @property
    def short_banner(self) -> str:
        """The banner in one line, for figures."""
        if self.fit:
            return ""
        return (
            f"NOT FOR DECISIONS: {self.replications} replications of {self.run_weeks} weeks "
            f"after {self.warmup_weeks} weeks' warm-up (board use: at least "
            f"{MIN_RELIABLE_REPLICATIONS}, {BOARD_MIN_RUN_WEEKS} and {BOARD_MIN_WARMUP_WEEKS})"
        )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def board_fitness(manifests: Iterable[Mapping[str, Any]]) -> Fitness:
    """Judge the runs behind a report from their manifests (every job of a sweep)."""
    manifests = list(manifests)
    reasons: list[str] = []

    def smallest(key: str) -> int | None:
        values = [v for v in (_int(m.get(key)) for m in manifests) if v is not None]
        return min(values) if values else None

    weeks, warmup, reps = smallest("run_weeks"), smallest("warmup_weeks"), smallest("replications")
    if weeks is None or weeks < BOARD_MIN_RUN_WEEKS:
        reasons.append(
            f"runs of {weeks if weeks is not None else 'unknown'} weeks, shorter than the "
            f"{BOARD_MIN_RUN_WEEKS} weeks that cover a year's seasons"
        )
    if warmup is None or warmup < BOARD_MIN_WARMUP_WEEKS:
        reasons.append(
            f"a warm-up of {warmup if warmup is not None else 'unknown'} weeks, shorter than "
            f"the {BOARD_MIN_WARMUP_WEEKS} weeks the system needs to fill"
        )
    if reps is None or reps < MIN_RELIABLE_REPLICATIONS:
        reasons.append(
            f"{reps if reps is not None else 'an unknown number of'} replications, fewer than "
            f"the {MIN_RELIABLE_REPLICATIONS} a reliable interval needs"
        )
    return Fitness(reasons=reasons, replications=reps, run_weeks=weeks, warmup_weeks=warmup)
