"""One replication of the whole system: the booking pass, then the coupled hospital.

1. Demand and the booking pass: every episode is routed through practices, hubs, NHS 111,
   rapid assessment clinics and the other registered services (:mod:`sim.booking.rules`),
   recording hand-offs to the hospital: A&E arrivals, direct admissions from clinics and IC+
   step-up requests.
2. The hospital (:mod:`sim.services.hospital`): A&E, same-day emergency care, acute beds,
   discharge and IC+ as one SimPy model, fed by self-presenting attendances (less those a
   walk-in service such as an urgent treatment centre takes first) and the hand-offs. Full
   beds hold patients in A&E; patients waiting for IC+ or social care hold beds.

The booking pass runs first: the hospital never changes what happened in primary care. Pure:
takes validated config objects and a seed, returns plain results. No files, no Hydra.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from sim.booking.codes import AE_VIA_AMBULANCE
from sim.booking.preparation import (
    SharedEpisodes,
    SystemJourneys,
    in_request_order,
    request_order_inputs,
    run_booking_pass,
)
from sim.config.schema import WEEKDAYS, ModelConfig
from sim.core import ledger
from sim.core.calendar import (
    DAYS_PER_PROGRAMME_YEAR,
    Calendar,
    practice_closures,
)
from sim.core.demand import LAST_READ_BY, Episodes, demand_settings, draw_episodes
from sim.core.equity import replication_equity
from sim.core.flows import FLOW_NODES, NODE
from sim.core.kpis import KpiInputs, flow_counts, system_kpis
from sim.core.programme import weekly_configs
from sim.core.streams import Streams, keyed_uniforms
from sim.core.timeseries import replication_series
from sim.core.workforce import make_workforce
from sim.services.catalogue import build_books, divert_self_presenting
from sim.services.hospital.admission import DRAW_ADMIT, admission_probability
from sim.services.hospital.arrivals import EPISODE, generate_self_presenting, hospital_arrivals
from sim.services.hospital.model import HospitalResult, simulate_hospital

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
    # KPIs of each programme year (1, 2, ...) when the run is two or more whole 52-week years
    kpis_by_year: dict[int, dict[str, float]] = field(default_factory=dict)


def make_calendar(cfg: ModelConfig, warmup_weeks: int, run_weeks: int) -> Calendar:
    working = tuple(WEEKDAYS.index(w) for w in cfg.site.core_hours.weekdays)
    horizon = max(
        cfg.site.practice_capacity.booking_horizon_days, cfg.site.hubs.booking_horizon_days, 14
    )
    run_days = 7 * (warmup_weeks + run_weeks)
    n_days = run_days + horizon + LOOKAHEAD_PAD_DAYS
    return Calendar(
        cfg.site.calendar_start,
        run_days,
        working,
        lookahead_days=horizon + LOOKAHEAD_PAD_DAYS,
        programme_start_day=7 * warmup_weeks,
        **practice_closures(cfg, n_days),
    )


#: The calendar and the services' books of the last configuration and design this process
#: ran: they depend on nothing random, so the replications of a run share them (building the
#: books is about 0.04 s of CPU a replication-year). Keyed by the configuration's full text, so
#: a worker that receives the configuration afresh for each replication still finds them;
#: one entry, so a worker holds one configuration's books at a time: one running a sweep's
#: replications together (:func:`replicate_together`) builds each job's in turn, as holding
#: the 13 shipped configurations' (three different practice books, 28 MB) would take it past
#: 0.5 GiB.
_SHARED: dict[tuple[str, int, int], tuple[Calendar, dict[str, Any]]] = {}


def calendar_and_books(
    cfg: ModelConfig, warmup_weeks: int, run_weeks: int, shared: bool = True
) -> tuple[Calendar, dict[str, Any]]:
    """The run's calendar and each bookable service's books, as built for this configuration
    before (``shared``) or new. The booking pass books on a copy (the books keep their
    capacity), and nothing after it changes them; a caller that may book on them itself
    (``keep_detail``: tests and the validation suite) gets its own."""
    key = (repr(cfg), warmup_weeks, run_weeks)
    # A value printed by identity ("<... object at 0x...>") does not say what it holds.
    shared = shared and " object at 0x" not in key[0]
    if shared and key in _SHARED:
        return _SHARED[key]
    calendar = make_calendar(cfg, warmup_weeks, run_weeks)
    built = calendar, build_books(cfg, calendar)
    if shared:
        _SHARED.clear()
        _SHARED[key] = built
    return built


def programme_years(run_weeks: int) -> int:
    """Whole 52-week programme years in a measurement window of ``run_weeks`` (0 if the run
    is not a whole number of years)."""
    return run_weeks // 52 if run_weeks % 52 == 0 else 0


def hospital_stage(
    cfg: ModelConfig,
    calendar: Calendar,
    streams: Streams,
    episodes: Episodes,
    journeys: SystemJourneys,
) -> tuple[HospitalResult, dict[str, Any]]:
    """Self-presenting attendances and the booking pass's hand-offs, through the hospital.

    Walk-in services (an urgent treatment centre) first take some self-presenting walk-in
    minors; they learn whom A&E would admit from the same keyed draw the hospital uses. Returns
    the hospital's result and each walk-in service's own, by service name.
    """
    sp = generate_self_presenting(cfg, calendar, streams)
    would_admit = keyed_uniforms(sp.key, DRAW_ADMIT) < admission_probability(
        sp.age_band, sp.frailty, sp.ambulance, cfg
    )
    offered = {
        "time": sp.time,
        "walk_in_minor": ~sp.ambulance & ~sp.majors,
        "admitted_at_ae": would_admit,
        "key": sp.key,
    }
    to_ae, walk_ins = divert_self_presenting(cfg, calendar, offered, journeys)
    if not to_ae.all():
        sp = sp.subset(to_ae)
    arrivals = hospital_arrivals(cfg, sp, episodes, journeys.handoffs)
    return simulate_hospital(arrivals, cfg, calendar, streams), walk_ins


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
    # (written straight into the log's own types: the log is as long as the episodes, and an
    # int64 copy of it on the way cost 30 MB)
    sj.flow_episode = np.concatenate([sj.flow_episode, *(hop[0] for hop in hops)], dtype=np.int32)
    sj.flow_from = np.concatenate(
        [sj.flow_from, *(np.full(len(hop[0]), hop[1]) for hop in hops)], dtype=np.int8
    )
    sj.flow_to = np.concatenate([sj.flow_to, *(hop[2] for hop in hops)], dtype=np.int8)


def run_replication(
    cfg: ModelConfig,
    seed: int,
    replication: int,
    warmup_weeks: int,
    run_weeks: int,
    keep_detail: bool = False,
    episodes: Episodes | SharedEpisodes | None = None,
) -> ReplicationResult:
    """Simulate ``warmup_weeks + run_weeks`` and measure the last ``run_weeks``.

    ``episodes``: this replication's episodes if already drawn, for a configuration with the
    same :func:`sim.core.demand.demand_settings` (they are read, never changed), in the
    order they arose, or as :class:`sim.booking.preparation.SharedEpisodes` (alternatives
    sharing them then share their request order too)."""
    started = time.perf_counter()
    calendar, service_books = calendar_and_books(
        cfg, warmup_weeks, run_weeks, shared=not keep_detail
    )
    streams = Streams(seed, replication)
    weekly = weekly_configs(cfg, calendar)
    # What no later stage reads goes once read (peak memory), unless the caller keeps detail.
    last_read = LAST_READ_BY if not keep_detail else dict.fromkeys(LAST_READ_BY, ())
    # The booking pass takes the episodes in the order they reach their practice, which
    # depends on this configuration: episodes drawn here are put in it in place, at once
    # (what only the request order reads is let go of first, not reordered); those drawn for
    # another alternative (in the order they arose) are copied.
    if episodes is None:
        drawn = draw_episodes(cfg, calendar, streams, weekly)
        episodes, first_requests = in_request_order(
            drawn, cfg, calendar, in_place=True, drop=last_read["request order"]
        )
        del drawn
    elif isinstance(episodes, SharedEpisodes):
        episodes, first_requests = episodes.in_request_order(cfg, calendar)
    else:
        episodes, first_requests = in_request_order(episodes, cfg, calendar)
    workforce = make_workforce(cfg, calendar, weekly)
    episodes = episodes.without(*last_read["request order"])
    journeys = run_booking_pass(episodes, cfg, calendar, service_books, first_requests)
    del first_requests  # about 50 MB the pass no longer needs
    episodes = episodes.without(*last_read["booking pass"])
    hospital, walk_ins = hospital_stage(cfg, calendar, streams, episodes, journeys)
    episodes = episodes.without(*last_read["hospital"])
    settle_outcomes(journeys, hospital)

    first_day, last_day = 7 * warmup_weeks, 7 * (warmup_weeks + run_weeks)
    inputs = KpiInputs(
        cfg=cfg,
        episodes=episodes,
        journeys=journeys,
        service_books=service_books,
        hospital=hospital,
        workforce=workforce,
        calendar=calendar,
        weekly=weekly,
        first_day=first_day,
        last_day=last_day,
        service_results=walk_ins,
    )
    kpis = system_kpis(inputs)
    years = programme_years(run_weeks)
    kpis_by_year = (
        {
            y: system_kpis(
                dataclasses.replace(
                    inputs,
                    first_day=first_day + (y - 1) * DAYS_PER_PROGRAMME_YEAR,
                    last_day=first_day + y * DAYS_PER_PROGRAMME_YEAR,
                )
            )
            for y in range(1, years + 1)
        }
        if years >= 2
        else {}
    )
    flows = flow_counts(inputs)
    # The ledger of the episodes that arose in the window (every episode arises before the run
    # ends), from the counts the KPIs and flows share: their outcomes, and the flow log's moves
    # into each node.
    counts = ledger.balanced_counts(
        inputs.counts.by_outcome,
        inputs.counts.arose,
        inputs.moves.sum(axis=0),
        FLOW_NODES,
        ledger.reported_states(cfg),
    )
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
        kpis_by_year=kpis_by_year,
    )


Key = TypeVar("Key", bound=Hashable)


def replicate_together(
    models: Mapping[Key, ModelConfig],
    seed: int,
    replication: int,
    warmup_weeks: int,
    run_weeks: int,
) -> dict[Key, ReplicationResult]:
    """Replication ``replication`` of several alternatives (``models``, by any key), each
    exactly as :func:`run_replication` gives it alone, with the work they have in common done
    once: alternatives with the same demand (:func:`sim.core.demand.demand_settings`) and
    the same first requests (:func:`sim.booking.preparation.request_order_inputs`) are the
    same patients, so their episodes are drawn and put in request order once, about a sixth
    of a replication's work each (every shipped option but those that change demand). One
    group's episodes are held at a time. Results come in the order of ``models``."""
    groups: dict[tuple[str, str], list[Key]] = {}
    for key, model in models.items():
        calendar = make_calendar(model, warmup_weeks, run_weeks)
        same = (demand_settings(model), request_order_inputs(model, calendar))
        groups.setdefault(same, []).append(key)
    results: dict[Key, ReplicationResult] = {}
    for keys in groups.values():
        first = models[keys[0]]
        shared, drawing = None, 0.0
        if len(keys) > 1:
            started = time.perf_counter()
            calendar = make_calendar(first, warmup_weeks, run_weeks)
            weekly = weekly_configs(first, calendar)
            drawn = draw_episodes(first, calendar, Streams(seed, replication), weekly)
            # put in order in place, once, as a replication of its own does
            shared = SharedEpisodes(drawn, one_order=True, drop=LAST_READ_BY["request order"])
            del drawn
            drawing = time.perf_counter() - started
        for key in keys:
            result = run_replication(
                models[key], seed, replication, warmup_weeks, run_weeks, episodes=shared
            )
            # the first of the group drew the patients (and put them in order) for all
            result.wall_seconds += drawing
            results[key], drawing = result, 0.0
        del shared  # freed before the next group's are drawn
    return {key: results[key] for key in models}
