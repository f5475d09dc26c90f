"""One replication of the whole system: the booking pass, then the coupled hospital.

1. Demand and the booking pass: every episode is routed through practices, hubs, NHS 111 and
   rapid assessment clinics (:mod:`sim.booking.journey`), recording hand-offs to the hospital:
   A&E arrivals, direct admissions from clinics and IC+ step-up requests.
2. The hospital (:mod:`sim.services.hospital`): A&E, same-day emergency care, acute beds,
   discharge and IC+ as one SimPy model, fed by self-presenting attendances and the hand-offs.
   Full beds hold patients in A&E; patients waiting for IC+ or social care hold beds.

The booking pass runs first: the hospital never changes what happened in primary care. Pure:
takes validated config objects and a seed, returns plain results. No files, no Hydra.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

import numpy as np

from sim.booking.journey import AE_VIA_AMBULANCE, NODE, SystemJourneys, run_journeys
from sim.config.schema import WEEKDAYS, ModelConfig
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY, Calendar
from sim.core.demand import generate_episodes
from sim.core.equity import replication_equity
from sim.core.kpis import KpiInputs, flow_counts, system_kpis
from sim.core.streams import Streams
from sim.core.timeseries import replication_series
from sim.services.hospital.arrivals import EPISODE, hospital_arrivals
from sim.services.hospital.model import HospitalResult, simulate_hospital
from sim.services.hub import build_frail_weekend_books, build_hub_books
from sim.services.practice import build_practice_books
from sim.services.rapid_assessment import build_rac_books

# Books cover this many days past the run so late requests can still book ahead.
LOOKAHEAD_PAD_DAYS = 14


@dataclass
class ReplicationResult:
    replication: int
    kpis: dict[str, float]
    ledger: dict[str, int]
    flows: dict[tuple[str, str], float]  # per week over the measurement window
    episodes_total: int  # primary-care episodes generated over warm-up and run
    wall_seconds: float
    series: dict[str, np.ndarray] = field(default_factory=dict)  # see sim.core.timeseries
    detail: dict = field(default_factory=dict)  # raw arrays, only when asked for
    equity: dict = field(default_factory=dict)  # see sim.core.equity: "by_age.<band>.<measure>"


def make_calendar(cfg: ModelConfig, warmup_weeks: int, run_weeks: int) -> Calendar:
    working = tuple(WEEKDAYS.index(w) for w in cfg.site.core_hours.weekdays)
    horizon = max(
        cfg.site.practice_capacity.booking_horizon_days, cfg.site.hubs.booking_horizon_days, 14
    )
    return Calendar(
        cfg.site.calendar_start,
        7 * (warmup_weeks + run_weeks),
        working,
        lookahead_days=horizon + LOOKAHEAD_PAD_DAYS,
    )


def hospital_stage(
    cfg: ModelConfig, calendar: Calendar, streams: Streams, episodes, journeys: SystemJourneys
) -> HospitalResult:
    """Self-presenting attendances and the booking pass's hand-offs, through the hospital."""
    arrivals = hospital_arrivals(cfg, calendar, streams, episodes, journeys.handoffs)
    return simulate_hospital(arrivals, cfg, calendar, streams)


def settle_outcomes(sj: SystemJourneys, h: HospitalResult) -> None:
    """Give handed-off episodes their terminal state, and record where they went."""
    att, ae = h.attendances, h.ae
    from_episode = att.source == EPISODE
    idx = att.episode[from_episode]
    went_in = ae.admitted[from_episode]
    left = ae.left_unseen[from_episode]
    sj.outcome[idx] = np.where(
        went_in, ledger.ADMITTED, np.where(left, ledger.AE_LEFT_UNSEEN, ledger.AE_DISCHARGED)
    )
    su_idx = np.asarray(sj.handoffs.step_up_episode, dtype=np.int64)
    failed_up = h.step_ups.admitted_instead
    started_up = h.step_ups.started
    sj.outcome[su_idx] = np.where(
        failed_up,
        ledger.ADMITTED,
        np.where(started_up, ledger.INTERMEDIATE_CARE, ledger.WAITING_AT_END),
    )
    # The booking pass recorded the hop into A&E (or the ambulance); add the rest.
    amb = att.via[from_episode] == AE_VIA_AMBULANCE
    failed = su_idx[failed_up]
    hops = [
        (idx[amb], NODE["ambulance"], np.full(int(amb.sum()), NODE["ae"])),
        (idx, NODE["ae"], np.where(went_in, NODE["admission"], NODE["home"])),
        (failed, NODE["intermediate_care"], np.full(len(failed), NODE["admission"])),
    ]
    sj.flow_episode = np.concatenate([sj.flow_episode, *(hop[0] for hop in hops)]).astype(np.int32)
    sj.flow_from = np.concatenate(
        [sj.flow_from, *(np.full(len(hop[0]), hop[1]) for hop in hops)]
    ).astype(np.int8)
    sj.flow_to = np.concatenate([sj.flow_to, *(hop[2] for hop in hops)]).astype(np.int8)


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
    practices = build_practice_books(cfg, calendar)
    hubs = build_hub_books(cfg, calendar)
    clinics = build_rac_books(cfg, calendar)
    frail_service = build_frail_weekend_books(cfg, calendar)
    # Many long-lived objects and few reference cycles: freezing the heap spares the
    # collector from re-scanning it on every allocation burst in the booking pass.
    gc.collect()
    gc.freeze()
    try:
        journeys = run_journeys(episodes, cfg, calendar, practices, hubs, clinics, frail_service)
    finally:
        gc.unfreeze()
    hospital = hospital_stage(cfg, calendar, streams, episodes, journeys)
    settle_outcomes(journeys, hospital)

    first_day, last_day = 7 * warmup_weeks, 7 * (warmup_weeks + run_weeks)
    inputs = KpiInputs(
        cfg=cfg,
        episodes=episodes,
        journeys=journeys,
        practices=practices,
        hubs=hubs,
        clinics=clinics,
        frail_service=frail_service,
        hospital=hospital,
        first_day=first_day,
        last_day=last_day,
    )
    kpis = system_kpis(inputs)
    in_window = episodes.time >= first_day * MINUTES_PER_DAY
    counts = ledger.ledger_counts(journeys.outcome, in_window)
    flows = flow_counts(inputs)
    series = replication_series(inputs)
    detail = {"inputs": inputs} if keep_detail else {}
    return ReplicationResult(
        replication=replication,
        kpis=kpis,
        ledger=counts,
        flows=flows,
        episodes_total=len(episodes),
        wall_seconds=time.perf_counter() - started,
        series=series,
        detail=detail,
        equity=replication_equity(inputs),
    )
