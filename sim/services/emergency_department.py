"""The type 1 emergency department (A&E): self-presenting arrivals, streams, rota, admission.

Two parts, kept apart so that the journeys module can add its own arrivals (needs displaced
from primary care, NHS 111 dispositions) before the department runs:

* :func:`generate_self_presenting` draws every self-presenting attendance of the run, with all
  of its attributes and the uniforms that later decide its durations and its admission, once,
  from streams named ``ae.arrivals`` and ``ae.attribute.<field>`` (common random numbers: two
  scenarios see the same patients, whatever else they change).
* :func:`simulate_emergency_department` runs the department as a SimPy model with one process
  per clinician *position* (not per patient), two streams (minors, majors) each with its own
  FIFO queue and hourly rota, and the end-of-shift rule "finish the current patient, then go
  off duty". Nothing random happens inside it: every draw arrives as a uniform.

Time is in minutes from Monday 00:00 of week 0 (see :mod:`sim.core.calendar`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import simpy

from sim.config.schema import (
    AGE_BANDS,
    FIRST_FRAIL_BAND,
    FIRST_OLDER_BAND,
    FRAILTY_BANDS,
    WEEKDAYS,
    ConfigError,
    Lognormal,
    ModelConfig,
)
from sim.core.calendar import (
    HOURS_PER_WEEK,
    MINUTES_PER_DAY,
    MINUTES_PER_HOUR,
    WEEKS_PER_YEAR,
    Calendar,
)
from sim.core.demand import NOT_ASSESSED, practice_age_shares
from sim.core.distributions import exponential_from_uniform, lognormal_from_uniform
from sim.core.streams import Streams

#: Stream indices (the order of ``AccidentEmergency.service_minutes`` keys does not matter).
STREAMS: tuple[str, ...] = ("minors", "majors")
MINORS, MAJORS = 0, 1
#: Admission probability never exceeds this, whatever the multipliers give: some patients in
#: every group go home (and a probability of 1 would make the admission draw meaningless).
MAX_ADMISSION_PROBABILITY = 0.95

#: Per-arrival uniform draws of a self-presenting attendance, each from its own named stream
#: ``ae.attribute.<name>`` (add names, never rename: renaming changes the numbers).
UNIFORM_FIELDS: tuple[str, ...] = ("u_service", "u_after", "u_admit")


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Self-presenting arrivals
# --------------------------------------------------------------------------------------------


@dataclass
class SelfPresenting:
    """Self-presenting type 1 attendances of one replication, sorted by arrival time.

    Every array has one entry per attendance.
    """

    time: np.ndarray  # float64 arrival minute from Monday 00:00 of week 0
    age_band: np.ndarray  # int8 index into AGE_BANDS
    frailty: np.ndarray  # int8 index into FRAILTY_BANDS; NOT_ASSESSED (-1) under 65
    ambulance: np.ndarray  # bool: brought by ambulance
    majors: np.ndarray  # bool: streamed to majors (every ambulance arrival is)
    primary_care_treatable: np.ndarray  # bool: walk-in minors a GP or hub could have seen
    u_service: np.ndarray  # float64 U(0,1): clinician time
    u_after: np.ndarray  # float64 U(0,1): time in department after the clinician
    u_admit: np.ndarray  # float64 U(0,1): admitted when below the admission probability

    def __len__(self) -> int:
        return len(self.time)


def ae_age_band_rates(cfg: ModelConfig) -> np.ndarray:
    """Expected self-presenting attendances per year by age band for the whole site.

    Parameters
    ----------
    cfg
        Validated model configuration.

    Returns
    -------
    numpy.ndarray
        (n_age_bands,) attendances per year: registered patients in each band (list sizes x
        practice, locality or site age shares) x ``self_presenting_per_1000_year`` / 1,000.
    """
    lists = np.array([p.list_size for p in cfg.site.practices.values()], dtype=float)
    people = (lists[:, None] * practice_age_shares(cfg)).sum(axis=0)
    per_1000 = cfg.assumptions.ae.self_presenting_per_1000_year
    return people * np.array([per_1000[b] for b in AGE_BANDS], dtype=float) / 1000.0


def ae_hourly_rate_multiplier(cfg: ModelConfig, calendar: Calendar) -> np.ndarray:
    """Share of a year's attendances expected in each simulated hour.

    Parameters
    ----------
    cfg
        Validated model configuration (``assumptions.ae`` profiles).
    calendar
        Run calendar; its first ``run_days`` days are covered.

    Returns
    -------
    numpy.ndarray
        (run_days * 24,) weekday share x hour-of-day share x month multiplier (normalised to
        mean 1 over the twelve months, month of each day from ``calendar.month``), divided by
        weeks per year. Multiplied by an annual rate it gives the expected count per hour.
    """
    ae = cfg.assumptions.ae
    week = (np.asarray(ae.weekday_share)[:, None] * np.asarray(ae.hour_share)[None, :]).reshape(
        HOURS_PER_WEEK
    )
    month = np.asarray(ae.month_multiplier, dtype=float)
    # Normalised so the multipliers shape the year without changing the annual total.
    month = month / month.mean() if month.mean() > 0 else month
    days = calendar.run_days
    weeks = -(-days // 7)
    week_profile = np.tile(week, weeks)[: days * 24]
    month_of_hour = np.repeat(month[calendar.month[:days]], 24)
    return week_profile * month_of_hour / WEEKS_PER_YEAR


def _categorical(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Inverse-CDF category index of each uniform for one probability vector."""
    cum = np.cumsum(np.asarray(probs, dtype=float))
    cum = cum / cum[-1]
    cum[-1] = 1.0 + 1e-12  # every uniform in [0, 1) lands in some category despite rounding
    return np.searchsorted(cum, u, side="right").astype(np.int8)


def generate_self_presenting(
    cfg: ModelConfig, calendar: Calendar, streams: Streams
) -> SelfPresenting:
    """Draw every self-presenting type 1 attendance of the run (warm-up included).

    Arrivals are an exact non-homogeneous Poisson process with a piecewise-constant rate: a
    Poisson count for each hour (annual rate x :func:`ae_hourly_rate_multiplier`), then
    uniform times inside the hour, so an hour with zero rate has exactly zero arrivals.

    Parameters
    ----------
    cfg
        Validated model configuration: the site's registered population and
        ``assumptions.ae``.
    calendar
        Run calendar (``run_days``, month of each day).
    streams
        Named random streams of this replication. Uses ``ae.arrivals`` for counts and times,
        and ``ae.attribute.<field>`` for each attribute, drawn in arrival order.

    Returns
    -------
    SelfPresenting
        Attendances sorted by arrival time (minutes).
    """
    ae = cfg.assumptions.ae
    band_rates = ae_age_band_rates(cfg)
    total = float(band_rates.sum())
    rng = streams.generator("ae.arrivals")
    expected = total * ae_hourly_rate_multiplier(cfg, calendar)
    counts = rng.poisson(expected)
    n = int(counts.sum())
    hour_start = np.arange(len(expected), dtype=float) * MINUTES_PER_HOUR
    times = np.repeat(hour_start, counts) + rng.random(n) * MINUTES_PER_HOUR
    times.sort(kind="stable")

    def u(name: str) -> np.ndarray:
        return streams.generator(f"ae.attribute.{name}").random(n)

    if total > 0:
        age = _categorical(u("age_band"), band_rates)
    else:
        age = np.empty(0, dtype=np.int8)
    # By name, not by the YAML's key order: the index must mean FRAILTY_BANDS[index].
    frail_share = np.array([cfg.site.frailty_share_65plus[b] for b in FRAILTY_BANDS])
    frailty = np.where(
        age >= FIRST_OLDER_BAND, _categorical(u("frailty"), frail_share), NOT_ASSESSED
    ).astype(np.int8)
    ambulance = u("ambulance") < ae.ambulance_share
    majors = ambulance | (u("majors") < ae.majors_share_walk_in)
    treatable = ~majors & (u("primary_care_treatable") < ae.primary_care_treatable_share_walk_in)
    return SelfPresenting(
        time=times,
        age_band=age,
        frailty=frailty,
        ambulance=ambulance,
        majors=majors,
        primary_care_treatable=treatable,
        **{name: u(name) for name in UNIFORM_FIELDS},
    )


# --------------------------------------------------------------------------------------------
# Admission
# --------------------------------------------------------------------------------------------


def admission_probability(
    age_band: np.ndarray, frailty: np.ndarray, ambulance: np.ndarray, cfg: ModelConfig
) -> np.ndarray:
    """Probability that an attendance ends in admission, before any front-of-house effect.

    Parameters
    ----------
    age_band
        int index into AGE_BANDS per attendance.
    frailty
        int index into FRAILTY_BANDS per attendance; ``NOT_ASSESSED`` (-1, under 65) counts
        as fit.
    ambulance
        bool per attendance: arrived by ambulance.
    cfg
        Validated model configuration (``assumptions.ae``).

    Returns
    -------
    numpy.ndarray
        float64 probability: ``admission_probability_by_age`` x
        ``frailty_admission_multiplier`` x ``ambulance_admission_multiplier`` (ambulance
        arrivals only), capped at :data:`MAX_ADMISSION_PROBABILITY`.
    """
    ae = cfg.assumptions.ae
    by_age = np.array([ae.admission_probability_by_age[b] for b in AGE_BANDS], dtype=float)
    by_frailty = np.array([ae.frailty_admission_multiplier[b] for b in FRAILTY_BANDS], dtype=float)
    frailty = np.asarray(frailty)
    p = by_age[np.asarray(age_band)] * by_frailty[np.where(frailty < 0, 0, frailty)]
    p = np.where(np.asarray(ambulance, dtype=bool), p * ae.ambulance_admission_multiplier, p)
    return np.minimum(p, MAX_ADMISSION_PROBABILITY)


# --------------------------------------------------------------------------------------------
# The department
# --------------------------------------------------------------------------------------------


@dataclass
class AEArrivals:
    """Attendances handed to the department, from any source, in any order.

    Every array has one entry per attendance.
    """

    time: np.ndarray  # float64 arrival minute from Monday 00:00 of week 0
    majors: np.ndarray  # bool: majors stream (else minors)
    frail: np.ndarray  # bool: moderate or severe eFI (front-of-house target group)
    admit_probability: np.ndarray  # float64, before any front-of-house effect
    u_service: np.ndarray  # float64 U(0,1): clinician time
    u_after: np.ndarray  # float64 U(0,1): time after the clinician, before departure
    u_admit: np.ndarray  # float64 U(0,1): admitted when below the admission probability

    def __len__(self) -> int:
        return len(self.time)


def self_presenting_arrivals(sp: SelfPresenting, cfg: ModelConfig) -> AEArrivals:
    """The department's view of self-presenting attendances.

    Parameters
    ----------
    sp
        Attendances from :func:`generate_self_presenting`.
    cfg
        Validated model configuration.

    Returns
    -------
    AEArrivals
        Same order as ``sp``; admission probability from :func:`admission_probability`.
    """
    return AEArrivals(
        time=sp.time,
        majors=sp.majors,
        frail=sp.frailty >= FIRST_FRAIL_BAND,
        admit_probability=admission_probability(sp.age_band, sp.frailty, sp.ambulance, cfg),
        u_service=sp.u_service,
        u_after=sp.u_after,
        u_admit=sp.u_admit,
    )


@dataclass
class AEOutcome:
    """What happened to each attendance, aligned with the :class:`AEArrivals` given."""

    seen_time: np.ndarray  # float64 minute a clinician starts treating
    departure_time: np.ndarray  # float64 minute the patient leaves (home or to a ward)
    admitted: np.ndarray  # bool
    front_of_house: np.ndarray  # bool: admission decided by the frailty front-of-house team
    clinician: np.ndarray  # int16 position (within the patient's stream) that treated them
    # float64 mean number of patients in the department in each hour 0 .. ceil(run/60) - 1,
    # time-weighted (not aligned with the arrivals)
    hourly_occupancy: np.ndarray
    # Patients in the department as the simulation's own count stood at the middle of every
    # hour (not computed from the recorded times: Little's law in sim.tools.validate)
    census_time: np.ndarray
    census_present: np.ndarray

    def __len__(self) -> int:
        return len(self.seen_time)


def hourly_occupancy(arrival: np.ndarray, departure: np.ndarray, n_hours: int) -> np.ndarray:
    """Time-weighted mean number present in each hour.

    Parameters
    ----------
    arrival, departure
        Minutes each patient enters and leaves (``departure >= arrival``), any order.
    n_hours
        Hours 0 .. ``n_hours - 1`` are reported.

    Returns
    -------
    numpy.ndarray
        (n_hours,) patient-minutes present in each hour / 60.

    Notes
    -----
    With ``F(t)`` the patient-minutes accumulated up to ``t``,
    ``F(t) = t (A(t) - D(t)) - S_A(t) + S_D(t)`` where ``A``, ``D`` count arrivals and
    departures before ``t`` and ``S_A``, ``S_D`` sum their times: exact, and vectorised.
    """
    edges = np.arange(n_hours + 1, dtype=float) * MINUTES_PER_HOUR

    def count_and_sum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.sort(np.asarray(x, dtype=float))
        k = np.searchsorted(x, edges, side="left")
        return k, np.concatenate(([0.0], np.cumsum(x)))[k]

    a_count, a_sum = count_and_sum(arrival)
    d_count, d_sum = count_and_sum(departure)
    accumulated = edges * (a_count - d_count) - a_sum + d_sum
    return np.diff(accumulated) / MINUTES_PER_HOUR


def front_of_house_open(time: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """Whether the frailty front-of-house team is working at each minute.

    Parameters
    ----------
    time
        Minutes from Monday 00:00 of week 0.
    cfg
        Validated model configuration (``site.emergency_department.frailty_front_of_house``).

    Returns
    -------
    numpy.ndarray
        bool: enabled, the weekday listed, and ``open_minute <= minute of day < close_minute``.
        A ``close_minute`` before ``open_minute`` is an overnight service (the weekday is that
        of the arrival, not of the evening the session began); equal minutes mean never open.
    """
    foh = cfg.site.emergency_department.frailty_front_of_house
    time = np.asarray(time, dtype=float)
    if not foh.enabled:
        return np.zeros(time.shape, dtype=bool)
    day = np.floor(time / MINUTES_PER_DAY)
    minute = time - day * MINUTES_PER_DAY
    weekday_open = np.isin(day.astype(np.int64) % 7, [WEEKDAYS.index(w) for w in foh.weekdays])
    if foh.open_minute <= foh.close_minute:
        in_hours = (minute >= foh.open_minute) & (minute < foh.close_minute)
    else:
        in_hours = (minute >= foh.open_minute) | (minute < foh.close_minute)
    return weekday_open & in_hours


def shifts_of_position(clinicians_by_hour: Sequence[int], position: int) -> list[tuple[int, float]]:
    """Daily on-duty blocks of one clinician position.

    Position ``k`` is on duty in hour ``h`` when ``k < clinicians_by_hour[h]``; consecutive
    on-duty hours (across midnight too) form one shift, since nothing happens at an hour
    boundary inside a shift.

    Parameters
    ----------
    clinicians_by_hour
        24 numbers of clinicians on duty, hours 00..23, every day.
    position
        0-based position within the stream.

    Returns
    -------
    list of (int, float)
        (start, end) in minutes after midnight, sorted by start; ``end`` exceeds 1,440 for a
        shift running past midnight. ``[(0, inf)]`` for a position on duty all day, ``[]`` for
        one never on duty.
    """
    on = [position < c for c in clinicians_by_hour]
    if all(on):
        return [(0, math.inf)]
    if not any(on):
        return []
    shifts = []
    for h in range(24):
        if on[h] and not on[h - 1]:  # h - 1 = -1 wraps to 23: a shift starting at midnight
            length = 0
            while on[(h + length) % 24]:
                length += 1
            shifts.append((h * MINUTES_PER_HOUR, float((h + length) * MINUTES_PER_HOUR)))
    return shifts


def _current_or_next_shift(shifts: list[tuple[int, float]], now: float) -> tuple[float, float]:
    """Absolute (start, end) of the shift containing ``now``, or else the next one."""
    day = math.floor(now / MINUTES_PER_DAY)
    # Yesterday's overnight shift may still be running; shifts never overlap, so the first
    # (in start order) not yet over is the answer.
    for d in (day - 1, day, day + 1):
        base = d * MINUTES_PER_DAY
        for start, end in shifts:
            if base + end > now:
                return base + start, base + end
    raise AssertionError("a position with shifts always has one within two days")


class _Queue:
    """One stream's FIFO queue: patients sorted by arrival, and pointers into that order.

    Patients ``head .. arrived - 1`` are waiting; FIFO is just "take ``head``".
    """

    __slots__ = ("n", "arrived", "head", "service", "after", "seen", "by", "idle")

    def __init__(self, service: list[float], after: list[float]):
        self.n = len(service)
        self.arrived = 0
        self.head = 0
        self.service = service  # clinician minutes, in arrival order
        self.after = after  # minutes in the department after the clinician
        self.seen = [math.nan] * self.n  # minute treatment starts, in arrival order
        self.by = [-1] * self.n  # position that treated each patient, in arrival order
        self.idle: deque[_Clinician] = deque()  # on duty, waiting for a patient (longest first)


class _Census:
    """Patients in the department, counted as they arrive and leave."""

    __slots__ = ("present",)

    def __init__(self) -> None:
        self.present = 0


def _leave(census: _Census):
    """Callback at a patient's departure."""

    def callback(_event: simpy.Event) -> None:
        census.present -= 1

    return callback


def _take_census(env: simpy.Environment, census: _Census, times: list[float], out: list[int]):
    for k, t in enumerate(times):
        yield env.timeout(t - env.now)
        out[k] = census.present


class _Clinician:
    __slots__ = ("wake",)

    def __init__(self) -> None:
        self.wake: simpy.Event | None = None  # set while idle on duty


def _arrivals(env: simpy.Environment, queue: _Queue, times: list[float], census: _Census):
    """Feed one stream's arrivals; wake an idle clinician for each."""
    for t in times:
        if t > env.now:
            yield env.timeout(t - env.now)
        queue.arrived += 1
        census.present += 1
        if queue.idle:
            queue.idle.popleft().wake.succeed()


def _end_shift_wake(queue: _Queue, clinician: _Clinician):
    """Callback at a shift's end: an idle clinician stops waiting (a busy one finishes first)."""

    def callback(_event: simpy.Event) -> None:
        wake = clinician.wake
        if wake is not None and not wake.triggered:
            queue.idle.remove(clinician)
            wake.succeed()

    return callback


def _clinician(
    env: simpy.Environment,
    queue: _Queue,
    position: int,
    shifts: list[tuple[int, float]],
    census: _Census,
):
    """One clinician position: work each shift, finish the current patient at its end."""
    me = _Clinician()
    service, seen, by, after = queue.service, queue.seen, queue.by, queue.after
    while queue.head < queue.n:
        start, end = _current_or_next_shift(shifts, env.now)
        if start > env.now:
            yield env.timeout(start - env.now)
        if end != math.inf:
            env.timeout(end - env.now).callbacks.append(_end_shift_wake(queue, me))
        while True:
            now = env.now
            if now >= end:
                break  # off duty: never start a patient at or after the shift's end
            i = queue.head
            if i < queue.arrived:
                queue.head = i + 1
                seen[i] = now
                by[i] = position
                # the patient leaves after treatment and the time that follows it
                env.timeout(service[i] + after[i]).callbacks.append(_leave(census))
                yield env.timeout(service[i])  # finish this patient even past the shift's end
            elif i >= queue.n:
                return  # everybody in this stream has been seen
            else:
                me.wake = env.event()
                queue.idle.append(me)
                yield me.wake  # the next arrival to this stream, or the shift's end
                me.wake = None
        # Woken for an arrival at the very minute the shift ended: pass it on.
        if queue.head < queue.arrived and queue.idle:
            queue.idle.popleft().wake.succeed()


def _either(flag: np.ndarray, u: np.ndarray, if_true: Lognormal, if_false: Lognormal) -> np.ndarray:
    """Durations (minutes) from one uniform each, from ``if_true`` where ``flag`` holds."""
    return np.where(
        flag,
        lognormal_from_uniform(u, if_true.median, if_true.mean),
        lognormal_from_uniform(u, if_false.median, if_false.mean),
    )


def simulate_emergency_department(
    arrivals: AEArrivals, cfg: ModelConfig, run_minutes: float
) -> AEOutcome:
    """Run the department over every attendance given.

    Each stream (minors, majors) has a FIFO queue and ``max(clinicians_by_hour)`` clinician
    positions, each a SimPy process; position ``k`` is on duty in hour ``h`` of every day when
    ``k < clinicians_by_hour[h]``. On duty with patients waiting, a clinician takes the
    longest-waiting one; with none, waits for the next arrival or the shift's end (an
    arrival goes to the clinician idle longest). At the shift's end a clinician finishes the
    current patient, then goes off duty without starting another (finishing exactly at the
    end counts as off duty). After the clinician the patient stays
    ``after_treatment_minutes`` (admitted or discharged; holding no clinician) and departs.
    Admission is ``u_admit < admit_probability``, the probability cut by
    ``frailty_front_of_house.admission_reduction`` for frail patients arriving while that
    service is open (those are marked ``front_of_house``).

    Parameters
    ----------
    arrivals
        Attendances, any order.
    cfg
        Validated model configuration: ``site.emergency_department`` (rotas, frailty front of
        house) and ``assumptions.ae`` (durations).
    run_minutes
        Length of the run (minutes); sets the length of ``hourly_occupancy``. Patients still
        present then are followed until they leave.

    Returns
    -------
    AEOutcome
        Aligned with ``arrivals``. Deterministic: every draw comes in as a uniform.

    Raises
    ------
    ConfigError
        If a stream has patients but no clinician in any hour (nobody would ever be seen).
    """
    ae = cfg.assumptions.ae
    ed = cfg.site.emergency_department
    n = len(arrivals)
    lengths = {f.name: len(getattr(arrivals, f.name)) for f in fields(arrivals)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"AEArrivals arrays differ in length: {lengths}")
    time = np.asarray(arrivals.time, dtype=float)
    majors = np.asarray(arrivals.majors, dtype=bool)

    # Admission is decided by the uniforms, not by the queue: vectorised before the run.
    foh = front_of_house_open(time, cfg) & np.asarray(arrivals.frail, dtype=bool)
    foh_factor = 1.0 - ed.frailty_front_of_house.admission_reduction
    p_admit = np.where(foh, arrivals.admit_probability * foh_factor, arrivals.admit_probability)
    admitted = np.asarray(arrivals.u_admit) < p_admit
    times = ae.service_minutes
    if ae.service_distribution == "exponential":
        service = np.where(
            majors,
            exponential_from_uniform(arrivals.u_service, times["majors"].mean),
            exponential_from_uniform(arrivals.u_service, times["minors"].mean),
        )
    else:
        service = _either(majors, arrivals.u_service, times["majors"], times["minors"])
    times = ae.after_treatment_minutes
    after = _either(admitted, arrivals.u_after, times["admitted"], times["discharged"])

    env = simpy.Environment()
    census = _Census()
    seen_time = np.full(n, np.nan)
    rotas = {MINORS: ed.minors_clinicians_by_hour, MAJORS: ed.majors_clinicians_by_hour}
    orders = {}
    queues = {}
    for stream, rota in rotas.items():
        idx = np.flatnonzero(majors == (stream == MAJORS))
        order = idx[np.argsort(time[idx], kind="stable")]  # FIFO: ties keep input order
        orders[stream] = order
        if len(order) == 0:
            continue
        if max(rota) <= 0:
            raise ConfigError(
                f"site.emergency_department.{STREAMS[stream]}_clinicians_by_hour",
                list(rota),
                f"needs a clinician in some hour: {len(order)} {STREAMS[stream]} patients arrive",
            )
        queue = _Queue(service[order].tolist(), after[order].tolist())
        queues[stream] = queue
        env.process(_arrivals(env, queue, time[order].tolist(), census))
        for position in range(max(rota)):
            shifts = shifts_of_position(rota, position)
            env.process(_clinician(env, queue, position, shifts, census))
    census_time = np.arange(MINUTES_PER_HOUR / 2, run_minutes, MINUTES_PER_HOUR)
    present = [0] * len(census_time)
    env.process(_take_census(env, census, census_time.tolist(), present))
    env.run()
    clinician = np.full(n, -1, dtype=np.int16)
    for stream, queue in queues.items():
        seen_time[orders[stream]] = queue.seen
        clinician[orders[stream]] = queue.by

    # The SimPy clock can land one rounding step short of an arrival time; nobody is seen
    # before they arrive.
    seen_time = np.maximum(seen_time, arrivals.time)
    departure = seen_time + service + after
    n_hours = max(0, math.ceil(run_minutes / MINUTES_PER_HOUR))
    return AEOutcome(
        seen_time=seen_time,
        departure_time=departure,
        admitted=admitted,
        front_of_house=foh,
        clinician=clinician,
        hourly_occupancy=hourly_occupancy(time, departure, n_hours),
        census_time=census_time,
        census_present=np.array(present, dtype=np.int64),
    )


__all__ = [
    "AEArrivals",
    "AEOutcome",
    "SelfPresenting",
    "admission_probability",
    "ae_age_band_rates",
    "ae_hourly_rate_multiplier",
    "exponential_from_uniform",
    "front_of_house_open",
    "generate_self_presenting",
    "hourly_occupancy",
    "lognormal_from_uniform",
    "self_presenting_arrivals",
    "shifts_of_position",
    "simulate_emergency_department",
]
