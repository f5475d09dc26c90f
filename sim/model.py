"""One replication of the model: demand -> journeys through services -> KPIs and ledger.

Pure: takes validated config objects and a seed, returns plain results. No files, no Hydra.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

import numpy as np

from . import ledger
from .calendar import MINUTES_PER_DAY, Calendar
from .config import WEEKDAYS, ModelConfig
from .demand import Episodes, generate_episodes
from .journey import PracticeJourneys, run_practice_journeys
from .kpis import practice_kpis
from .services.practice import build_practice_books
from .streams import Streams

# Books cover this many days past the run so late requests can still book ahead.
LOOKAHEAD_PAD_DAYS = 14


@dataclass
class ReplicationResult:
    replication: int
    kpis: dict[str, float]
    ledger: dict[str, int]
    episodes_total: int  # generated over warm-up and run
    wall_seconds: float
    detail: dict = field(default_factory=dict)  # optional raw arrays, only when asked for


def make_calendar(cfg: ModelConfig, warmup_weeks: int, run_weeks: int) -> Calendar:
    working = tuple(WEEKDAYS.index(w) for w in cfg.site.core_hours.weekdays)
    horizon = cfg.site.practice_capacity.booking_horizon_days
    return Calendar(
        cfg.site.calendar_start,
        7 * (warmup_weeks + run_weeks),
        working,
        lookahead_days=horizon + LOOKAHEAD_PAD_DAYS,
    )


def run_replication(
    cfg: ModelConfig,
    seed: int,
    replication: int,
    warmup_weeks: int,
    run_weeks: int,
    keep_detail: bool = False,
) -> ReplicationResult:
    """Simulate ``warmup_weeks + run_weeks`` and measure the last ``run_weeks``."""
    started = time.perf_counter()
    calendar = make_calendar(cfg, warmup_weeks, run_weeks)
    streams = Streams(seed, replication)
    episodes = generate_episodes(cfg, calendar, streams)
    books = build_practice_books(cfg, calendar)
    # Many long-lived objects and no reference cycles worth collecting: freezing the heap
    # spares the collector from re-scanning it on every allocation burst.
    gc.collect()
    gc.freeze()
    try:
        journeys = run_practice_journeys(episodes, cfg, calendar, books)
    finally:
        gc.unfreeze()
    first_day, last_day = 7 * warmup_weeks, 7 * (warmup_weeks + run_weeks)
    kpis = practice_kpis(episodes, journeys, books, first_day, last_day)
    in_window = episodes.time >= first_day * MINUTES_PER_DAY
    counts = ledger.ledger_counts(journeys.outcome, in_window)
    detail = {"episodes": episodes, "journeys": journeys, "books": books} if keep_detail else {}
    return ReplicationResult(
        replication=replication,
        kpis=kpis,
        ledger=counts,
        episodes_total=len(episodes),
        wall_seconds=time.perf_counter() - started,
        detail=detail,
    )


__all__ = ["ReplicationResult", "run_replication", "make_calendar", "Episodes", "PracticeJourneys"]
