"""One replication of the whole system, in three one-way stages.

1. Demand and the booking pass: every episode is routed through practices, hubs, NHS 111 and
   rapid assessment clinics (:mod:`sim.booking.rules`), recording hand-offs to services that
   genuinely make people wait.
2. A&E: self-presenting arrivals plus the hand-offs, through clinicians on a rota (SimPy).
3. Admissions and intermediate care: admissions from A&E and clinics, step-ups from clinics
   and practices, competing for IC+ places; bed days follow.

Nothing downstream feeds back into an earlier stage, so the stages run in order. Pure: takes
validated config objects and a seed, returns plain results. No files, no Hydra.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field, fields

import numpy as np

from sim.booking.codes import (
    AE_VIA_AMBULANCE,
    AE_VIA_DISPLACED,
    AE_VIA_ESCALATION,
    AE_VIA_GP_REFERRAL,
    AE_VIA_RAC_NO_SLOT,
)
from sim.booking.preparation import SystemJourneys, run_booking_pass
from sim.config.schema import FIRST_FRAIL_BAND, WEEKDAYS, ModelConfig
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY, Calendar
from sim.core.demand import Episodes, generate_episodes
from sim.core.equity import replication_equity
from sim.core.flows import FLOW_NODES, NODE
from sim.core.kpis import KpiInputs, flow_counts, system_kpis
from sim.core.streams import Streams, keyed_uniforms
from sim.core.timeseries import replication_series
from sim.services.catalogue import build_books, divert_self_presenting
from sim.services.emergency_department import (
    MAX_ADMISSION_PROBABILITY,
    AEArrivals,
    AEOutcome,
    admission_probability,
    generate_self_presenting,
    simulate_emergency_department,
)
from sim.services.intermediate_care import (
    AdmissionRequests,
    IntermediateCareResult,
    StepUpRequests,
    simulate_admissions_and_ic,
)

# Books cover this many days past the run so late requests can still book ahead.
LOOKAHEAD_PAD_DAYS = 14

# Where A&E arrivals and admissions came from (codes in the combined arrays)
SOURCE_SELF_PRESENTING, SOURCE_EPISODE = 0, 1
ADMIT_SOURCE_AE, ADMIT_SOURCE_RAC = 0, 1


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


@dataclass
class EmergencyStage:
    arrivals: AEArrivals
    outcome: AEOutcome
    source: np.ndarray  # SOURCE_SELF_PRESENTING or SOURCE_EPISODE
    episode: np.ndarray  # episode index for SOURCE_EPISODE rows, -1 otherwise
    via: np.ndarray  # codes.AE_ROUTES for episodes, -1 for self-presenting
    primary_care_treatable: np.ndarray  # bool
    ambulance: np.ndarray  # bool
    age_band: np.ndarray
    frailty: np.ndarray
    key: np.ndarray  # uint64 per arrival, for later draws
    walk_ins: dict = field(default_factory=dict)  # services' walk-ins, by service name


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


def emergency_stage(
    cfg: ModelConfig, calendar: Calendar, streams: Streams, ep: Episodes, sj: SystemJourneys
) -> EmergencyStage:
    """Self-presenting arrivals plus episodes handed to A&E, through the department."""
    ae = cfg.assumptions.ae
    sp = generate_self_presenting(cfg, calendar, streams)
    sp_key = streams.generator("ae.attribute.key").bit_generator.random_raw(len(sp.time))
    # Walk-in services (an urgent treatment centre) take some attendances before A&E does.
    sp_admit = admission_probability(sp.age_band, sp.frailty, sp.ambulance, cfg)
    arrivals = {
        "time": sp.time,
        "walk_in_minor": ~sp.ambulance & ~sp.majors,
        "admitted_at_ae": sp.u_admit < sp_admit,
        "key": sp_key,
    }
    to_ae, walk_ins = divert_self_presenting(cfg, calendar, arrivals, sj)
    if not to_ae.all():
        sp = dataclasses.replace(sp, **{f.name: getattr(sp, f.name)[to_ae] for f in fields(sp)})
        sp_key, sp_admit = sp_key[to_ae], sp_admit[to_ae]
    n_sp = len(sp.time)

    idx = np.asarray(sj.handoffs.ae_episode, dtype=np.int64)
    via = np.asarray(sj.handoffs.ae_via, dtype=np.int64)
    keys = ep.key[idx]
    age, frailty = ep.age_band[idx], ep.frailty[idx]
    ambulance = via == AE_VIA_AMBULANCE
    displaced = via == AE_VIA_DISPLACED
    # Primary-care needs that reach A&E because primary care could not see them are
    # "primary-care treatable": minors, rarely admitted.
    referred = via == AE_VIA_GP_REFERRAL
    majors = ambulance | (via == AE_VIA_RAC_NO_SLOT) | (via == AE_VIA_ESCALATION) | referred
    majors |= (~displaced) & (keyed_uniforms(keys, "ae_majors") < ae.majors_share_walk_in)
    by_age = admission_probability(age, frailty, ambulance, cfg)
    p_admit = np.where(
        displaced,
        ae.displaced_admission_probability,
        np.where(
            referred,
            np.minimum(by_age * ae.gp_referral_admission_multiplier, MAX_ADMISSION_PROBABILITY),
            by_age,
        ),
    )
    arrivals = AEArrivals(
        time=np.concatenate([sp.time, np.asarray(sj.handoffs.ae_time, dtype=float)]),
        majors=np.concatenate([sp.majors, majors]).astype(bool),
        frail=np.concatenate([sp.frailty >= FIRST_FRAIL_BAND, frailty >= FIRST_FRAIL_BAND]),
        admit_probability=np.concatenate([sp_admit, p_admit]),
        u_service=np.concatenate([sp.u_service, keyed_uniforms(keys, "ae_service")]),
        u_after=np.concatenate([sp.u_after, keyed_uniforms(keys, "ae_after")]),
        u_admit=np.concatenate([sp.u_admit, keyed_uniforms(keys, "ae_admit")]),
    )
    outcome = simulate_emergency_department(arrivals, cfg, calendar.run_days * MINUTES_PER_DAY)
    return EmergencyStage(
        arrivals=arrivals,
        outcome=outcome,
        source=np.concatenate(
            [np.full(n_sp, SOURCE_SELF_PRESENTING), np.full(len(idx), SOURCE_EPISODE)]
        ).astype(np.int8),
        episode=np.concatenate([np.full(n_sp, -1), idx]).astype(np.int64),
        via=np.concatenate([np.full(n_sp, -1), via]).astype(np.int8),
        primary_care_treatable=np.concatenate([sp.primary_care_treatable, displaced]).astype(bool),
        ambulance=np.concatenate([sp.ambulance, ambulance]).astype(bool),
        age_band=np.concatenate([sp.age_band, age]).astype(np.int8),
        frailty=np.concatenate([sp.frailty, frailty]).astype(np.int8),
        key=np.concatenate([sp_key, keys]).astype(np.uint64),
        walk_ins=walk_ins,
    )


def admissions_stage(
    cfg: ModelConfig, calendar: Calendar, ep: Episodes, sj: SystemJourneys, ed: EmergencyStage
) -> IntermediateCareResult:
    """Admissions from A&E and clinics, step-ups from clinics and practices, through IC+."""
    admitted = ed.outcome.admitted
    rac_idx = np.asarray(sj.handoffs.admit_episode, dtype=np.int64)
    keys = np.concatenate([ed.key[admitted], ep.key[rac_idx]])
    admissions = AdmissionRequests(
        time=np.concatenate(
            [ed.outcome.departure_time[admitted], np.asarray(sj.handoffs.admit_time, dtype=float)]
        ),
        age_band=np.concatenate([ed.age_band[admitted], ep.age_band[rac_idx]]),
        frailty=np.concatenate([ed.frailty[admitted], ep.frailty[rac_idx]]),
        u_stay=keyed_uniforms(keys, "admission_stay"),
        u_step_down=keyed_uniforms(keys, "step_down"),
        u_ic_stay=keyed_uniforms(keys, "ic_stay"),
        source=np.concatenate(
            [np.full(int(admitted.sum()), ADMIT_SOURCE_AE), np.full(len(rac_idx), ADMIT_SOURCE_RAC)]
        ).astype(np.int8),
    )
    su_idx = np.asarray(sj.handoffs.step_up_episode, dtype=np.int64)
    su_keys = ep.key[su_idx]
    step_ups = StepUpRequests(
        time=np.asarray(sj.handoffs.step_up_time, dtype=float),
        age_band=ep.age_band[su_idx],
        frailty=ep.frailty[su_idx],
        u_ic_stay=keyed_uniforms(su_keys, "ic_stay"),
        u_stay=keyed_uniforms(su_keys, "admission_stay"),
        u_step_down=keyed_uniforms(su_keys, "step_down"),
        source=np.asarray(sj.handoffs.step_up_source, dtype=np.int8),
    )
    return simulate_admissions_and_ic(
        admissions, step_ups, cfg, calendar.run_days * MINUTES_PER_DAY
    )


def settle_outcomes(sj: SystemJourneys, ed: EmergencyStage, ic: IntermediateCareResult) -> None:
    """Give handed-off episodes their terminal state, and record where they went."""
    from_episode = ed.source == SOURCE_EPISODE
    idx = ed.episode[from_episode]
    went_in = ed.outcome.admitted[from_episode]
    sj.outcome[idx] = np.where(went_in, ledger.ADMITTED, ledger.AE_DISCHARGED)
    su_idx = np.asarray(sj.handoffs.step_up_episode, dtype=np.int64)
    sj.outcome[su_idx] = np.where(
        ic.step_ups.admitted_instead, ledger.ADMITTED, ledger.INTERMEDIATE_CARE
    )
    # The booking pass recorded the hop into A&E (or the ambulance); add the rest.
    amb = ed.via[from_episode] == AE_VIA_AMBULANCE
    failed = su_idx[ic.step_ups.admitted_instead]
    hops = [
        (idx[amb], NODE["ambulance"], np.full(int(amb.sum()), NODE["ae"])),
        (idx, NODE["ae"], np.where(went_in, NODE["admission"], NODE["home"])),
        (failed, NODE["intermediate_care"], np.full(len(failed), NODE["admission"])),
    ]
    sj.flow_episode = np.concatenate([sj.flow_episode, *(h[0] for h in hops)]).astype(np.int32)
    sj.flow_from = np.concatenate([sj.flow_from, *(np.full(len(h[0]), h[1]) for h in hops)]).astype(
        np.int8
    )
    sj.flow_to = np.concatenate([sj.flow_to, *(h[2] for h in hops)]).astype(np.int8)


def run_replication(
    cfg: ModelConfig,
    seed: int,
    replication: int,
    warmup_weeks: int,
    run_weeks: int,
    keep_detail: bool = False,
    episodes: Episodes | None = None,
) -> ReplicationResult:
    """Simulate ``warmup_weeks + run_weeks`` and measure the last ``run_weeks``.

    ``episodes``: this replication's episodes if already drawn, for a configuration with the
    same :func:`sim.core.demand.demand_settings` (they are read, never changed)."""
    started = time.perf_counter()
    calendar = make_calendar(cfg, warmup_weeks, run_weeks)
    streams = Streams(seed, replication)
    if episodes is None:
        episodes = generate_episodes(cfg, calendar, streams)
    service_books = build_books(cfg, calendar)
    journeys = run_booking_pass(episodes, cfg, calendar, service_books)
    emergency = emergency_stage(cfg, calendar, streams, episodes, journeys)
    care = admissions_stage(cfg, calendar, episodes, journeys, emergency)
    settle_outcomes(journeys, emergency, care)

    first_day, last_day = 7 * warmup_weeks, 7 * (warmup_weeks + run_weeks)
    inputs = KpiInputs(
        cfg=cfg,
        episodes=episodes,
        journeys=journeys,
        service_books=service_books,
        emergency=emergency,
        care=care,
        first_day=first_day,
        last_day=last_day,
    )
    kpis = system_kpis(inputs)
    in_window = episodes.time >= first_day * MINUTES_PER_DAY
    counts = ledger.ledger_counts(
        journeys.outcome,
        in_window,
        journeys.flow_episode,
        journeys.flow_to,
        FLOW_NODES,
        ledger.reported_states(cfg),
    )
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
