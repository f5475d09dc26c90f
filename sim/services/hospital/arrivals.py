"""Who arrives at the hospital: A&E attendances, direct admissions and IC+ step-up requests.

* Self-presenting type 1 attendances are drawn here for the whole run, from streams named
  ``ae.arrivals`` and ``ae.attribute.<name>`` (common random numbers: two scenarios see the
  same patients, whatever else they change).
* The booking pass hands over episodes that go to A&E (with why they came), that are admitted
  directly, and that ask for an IC+ step-up; :func:`hospital_arrivals` turns them, with the
  self-presenting attendances, into the hospital's arrivals.

Every later random quantity of an attendance or an admission (durations, admission, patience,
length of stay, discharge needs) is a keyed uniform of the patient's 64-bit key
(:func:`sim.core.streams.keyed_uniforms`), drawn once and the same in every scenario.

Time is in minutes from Monday 00:00 of week 0 (see :mod:`sim.core.calendar`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from sim.booking.codes import (
    AE_VIA_AMBULANCE,
    AE_VIA_DISPLACED,
    AE_VIA_ESCALATION,
    AE_VIA_GP_REFERRAL,
    AE_VIA_RAC_NO_SLOT,
)
from sim.booking.preparation import Handoffs
from sim.config.schema import (
    AGE_BANDS,
    FIRST_OLDER_BAND,
    FRAILTY_BANDS,
    WEEKDAYS,
    ModelConfig,
)
from sim.core.calendar import (
    HOURS_PER_WEEK,
    MINUTES_PER_DAY,
    MINUTES_PER_HOUR,
    WEEKS_PER_YEAR,
    Calendar,
)
from sim.core.demand import (
    NOT_ASSESSED,
    Episodes,
    practice_age_shares,
    practice_population_index,
)
from sim.core.programme import WeeklyConfigs
from sim.core.streams import Streams, keyed_uniforms
from sim.services.hospital.admission import MAX_ADMISSION_PROBABILITY, admission_probability

#: Where an attendance came from (``Attendances.source``).
SELF_PRESENTING, EPISODE = 0, 1


def _column(values: object, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(-1))


# --------------------------------------------------------------------------------------------
# Self-presenting arrivals
# --------------------------------------------------------------------------------------------


@dataclass
class SelfPresenting:
    """Self-presenting type 1 attendances of one replication, sorted by arrival time."""

    time: np.ndarray  # float64 arrival minute
    age_band: np.ndarray  # int8 index into AGE_BANDS
    frailty: np.ndarray  # int8 index into FRAILTY_BANDS; NOT_ASSESSED (-1) under 65
    ambulance: np.ndarray  # bool: brought by ambulance
    majors: np.ndarray  # bool: streamed to majors (every ambulance arrival is)
    primary_care_treatable: np.ndarray  # bool: walk-in minors a GP or hub could have seen
    key: np.ndarray  # uint64: every later draw of this patient is a keyed uniform of it

    def __len__(self) -> int:
        return len(self.time)

    def subset(self, keep: np.ndarray) -> SelfPresenting:
        """The attendances where ``keep`` is true (those a walk-in service did not take)."""
        return SelfPresenting(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})

    def merged(self, other: SelfPresenting) -> SelfPresenting:
        """These attendances and ``other``'s, in arrival order (ties: these first)."""
        both = {
            f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
            for f in fields(self)
        }
        order = np.argsort(both["time"], kind="stable")
        return SelfPresenting(**{name: column[order] for name, column in both.items()})


def ae_age_band_rates(cfg: ModelConfig) -> np.ndarray:
    """Expected self-presenting attendances per year by age band for the whole site.

    Registered patients in each band (list sizes x practice, locality or site age shares) x
    ``self_presenting_per_1000_year`` / 1,000.
    """
    lists = np.array([p.list_size for p in cfg.site.practices.values()], dtype=float)
    people = (lists[:, None] * practice_age_shares(cfg)).sum(axis=0)
    per_1000 = cfg.assumptions.ae.self_presenting_per_1000_year
    return people * np.array([per_1000[b] for b in AGE_BANDS], dtype=float) / 1000.0


def attending_frailty_shares(cfg: ModelConfig) -> np.ndarray:
    """eFI band shares among self-presenting attenders aged 65+.

    The population's shares (``site.frailty_share_65plus``) weighted by each band's attendance
    rate relative to the fit (``ae.frailty_attendance_ratio``) and renormalised: the age
    band's attendance rate is the average over its frailty mix, so the total is unchanged.
    """
    prevalence = np.array([cfg.site.frailty_share_65plus[b] for b in FRAILTY_BANDS], dtype=float)
    ratio = np.array(
        [cfg.assumptions.ae.frailty_attendance_ratio[b] for b in FRAILTY_BANDS], dtype=float
    )
    weighted = prevalence * ratio
    total = weighted.sum()
    return weighted / total if total > 0 else prevalence


def ae_hourly_rate_multiplier(cfg: ModelConfig, calendar: Calendar) -> np.ndarray:
    """Share of a year's attendances expected in each simulated hour.

    Returns (run_days * 24,) weekday share x hour-of-day share x month multiplier (normalised
    to mean 1 over the twelve months), divided by weeks per year.
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


def categorical(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Inverse-CDF category index of each uniform for one probability vector."""
    cum = np.cumsum(np.asarray(probs, dtype=float))
    cum = cum / cum[-1]
    cum[-1] = 1.0 + 1e-12  # every uniform in [0, 1) lands in some category despite rounding
    return np.searchsorted(cum, u, side="right").astype(np.int8)


def ae_band_index_by_year(cfg: ModelConfig, calendar: Calendar) -> np.ndarray:
    """(programme year, age band) self-presenting attendance rate relative to year 1: each
    band's registered population grown by its practices' indices
    (:func:`sim.core.demand.practice_population_index`), for every programme year of the run.
    Needs per person trend only in primary care (``demand.per_person_trend_per_year``): no
    trend in A&E use per person is assumed [P]."""
    years = int(calendar.programme_year[: calendar.run_days].max(initial=1))
    lists = np.array([p.list_size for p in cfg.site.practices.values()], dtype=float)
    people = lists[:, None] * practice_age_shares(cfg)  # (P, A) in year 1
    grown = (practice_population_index(cfg, years) * people[:, None, :]).sum(axis=0)  # (Y, A)
    base = people.sum(axis=0)
    return np.divide(grown, base, out=np.ones_like(grown), where=base > 0)


def _attendances(
    cfg: ModelConfig, streams: Streams, prefix: str, times: np.ndarray, age: np.ndarray
) -> SelfPresenting:
    """Attendances at ``times`` (sorted) of age bands ``age``: each other attribute from its
    own stream ``<prefix>.<name>``, drawn in arrival order."""
    ae = cfg.assumptions.ae
    n = len(times)

    def u(name: str) -> np.ndarray:
        return streams.generator(f"{prefix}.{name}").random(n)

    age = _column(age, np.int8)
    frailty = np.where(
        age >= FIRST_OLDER_BAND,
        categorical(u("frailty"), attending_frailty_shares(cfg)),
        NOT_ASSESSED,
    ).astype(np.int8)
    ambulance = u("ambulance") < ae.ambulance_share
    majors = ambulance | (u("majors") < ae.majors_share_walk_in)
    treatable = ~majors & (u("primary_care_treatable") < ae.primary_care_treatable_share_walk_in)
    key = streams.generator(f"{prefix}.key").bit_generator.random_raw(n).astype(np.uint64)
    return SelfPresenting(
        time=times,
        age_band=age,
        frailty=frailty,
        ambulance=ambulance,
        majors=majors,
        primary_care_treatable=treatable,
        key=key,
    )


def _poisson_times(rng: np.random.Generator, expected: np.ndarray) -> np.ndarray:
    """Arrival minutes of a Poisson process with ``expected`` arrivals in each hour, sorted."""
    counts = rng.poisson(expected)
    hour_start = np.arange(len(expected), dtype=float) * MINUTES_PER_HOUR
    times = np.repeat(hour_start, counts) + rng.random(int(counts.sum())) * MINUTES_PER_HOUR
    times.sort(kind="stable")
    return times


def generate_self_presenting(
    cfg: ModelConfig, calendar: Calendar, streams: Streams
) -> SelfPresenting:
    """Draw every self-presenting type 1 attendance of the run (warm-up included).

    Arrivals are an exact non-homogeneous Poisson process with a piecewise-constant rate: a
    Poisson count for each hour (annual rate x :func:`ae_hourly_rate_multiplier`), then
    uniform times inside the hour, so an hour with zero rate has exactly zero arrivals. Each
    attribute comes from its own stream ``ae.attribute.<name>``, drawn in arrival order; a
    patient 65+ gets an eFI band from :func:`attending_frailty_shares`.

    Over a programme the registered population changes by age band
    (:func:`ae_band_index_by_year`). Year 1's process is drawn as above, for the whole run;
    a band that shrinks loses each of its later attendances with a keyed draw (kept with
    probability index / 1), and a band that grows gains a second, independent Poisson process
    of the excess (streams ``ae.growth.*``). The sum is the Poisson process of the grown
    rates, and year 1 (and every run with no population change) is exactly the static
    model's: the same patients, whatever later years hold.
    """
    band_rates = ae_age_band_rates(cfg)
    total = float(band_rates.sum())
    mult = ae_hourly_rate_multiplier(cfg, calendar)
    times = _poisson_times(streams.generator("ae.arrivals"), total * mult)
    u_age = streams.generator("ae.attribute.age_band").random(len(times))
    # No attendances at all when no band has a rate (and no categories to draw from).
    age = categorical(u_age, band_rates) if total > 0 else np.zeros(0, dtype=np.int8)
    attendances = _attendances(cfg, streams, "ae.attribute", times, age)
    index = ae_band_index_by_year(cfg, calendar)  # (Y, A)
    if total <= 0 or np.all(index == 1.0):
        return attendances
    year_of_hour = np.repeat(calendar.programme_year[: calendar.run_days] - 1, 24)
    day = (attendances.time // MINUTES_PER_DAY).astype(np.int64)
    ratio = index[calendar.programme_year[day] - 1, attendances.age_band]
    kept = attendances.subset(keyed_uniforms(attendances.key, "ae_population") < ratio)
    excess = band_rates[None, :] * np.maximum(index - 1.0, 0.0)  # (Y, A) a year
    extra_rate = excess.sum(axis=1)
    if not np.any(extra_rate > 0):
        return kept
    extra_times = _poisson_times(
        streams.generator("ae.growth.arrivals"), extra_rate[year_of_hour] * mult
    )
    extra_year = calendar.programme_year[(extra_times // MINUTES_PER_DAY).astype(np.int64)] - 1
    u_age = streams.generator("ae.growth.attribute.age_band").random(len(extra_times))
    extra_age = np.zeros(len(extra_times), dtype=np.int8)
    for y in np.unique(extra_year):
        here = extra_year == y
        extra_age[here] = categorical(u_age[here], excess[y])
    return kept.merged(_attendances(cfg, streams, "ae.growth.attribute", extra_times, extra_age))


# --------------------------------------------------------------------------------------------
# Admission probability and the frailty front of house
# --------------------------------------------------------------------------------------------


def in_daily_window(
    time: np.ndarray, open_minute: int, close_minute: int, weekdays: list[str]
) -> np.ndarray:
    """Whether each minute falls in a service's daily opening.

    The weekday listed, and ``open_minute <= minute of day < close_minute``. A ``close_minute``
    before ``open_minute`` is an overnight service (the weekday is that of the minute, not of
    the evening the session began); equal minutes mean never open.
    """
    time = np.asarray(time, dtype=float)
    day = np.floor(time / MINUTES_PER_DAY)
    minute = time - day * MINUTES_PER_DAY
    weekday_open = np.isin(day.astype(np.int64) % 7, [WEEKDAYS.index(w) for w in weekdays])
    if open_minute <= close_minute:
        in_hours = (minute >= open_minute) & (minute < close_minute)
    else:
        in_hours = (minute >= open_minute) | (minute < close_minute)
    return weekday_open & in_hours


def in_daily_window_at(
    time: float, open_minute: int, close_minute: int, weekdays: list[str]
) -> bool:
    """:func:`in_daily_window` for one minute, in plain Python (for a question asked during
    the simulation, where numpy's cost per call would dominate); the same arithmetic."""
    day = math.floor(time / MINUTES_PER_DAY)
    minute = time - float(day) * MINUTES_PER_DAY
    if WEEKDAYS[day % 7] not in weekdays:
        return False
    if open_minute <= close_minute:
        return open_minute <= minute < close_minute
    return minute >= open_minute or minute < close_minute


def front_of_house_open_at(time: float, cfg: ModelConfig) -> bool:
    """:func:`front_of_house_open` at one minute, for the configuration then in force."""
    foh = cfg.site.emergency_department.frailty_front_of_house
    if not foh.enabled:
        return False
    return in_daily_window_at(time, foh.open_minute, foh.close_minute, foh.weekdays)


def front_of_house_open(
    time: np.ndarray, cfg: ModelConfig, weekly: WeeklyConfigs | None = None
) -> np.ndarray:
    """Whether the frailty front-of-house team is working at each minute (never if disabled),
    at the configuration in force that week when ``weekly`` is given (the team may start, or
    change its hours, during a programme)."""
    if weekly is not None and weekly.varies:
        time = np.asarray(time, dtype=float)
        week = weekly.week_of_day((time // MINUTES_PER_DAY).astype(np.int64))
        out = np.zeros(np.shape(time), dtype=bool)
        for c in weekly.distinct():
            here = np.isin(week, [w for w, x in enumerate(weekly.by_week) if x is c])
            out[here] = front_of_house_open(time[here], c)
        return out
    foh = cfg.site.emergency_department.frailty_front_of_house
    if not foh.enabled:
        return np.zeros(np.shape(time), dtype=bool)
    return in_daily_window(time, foh.open_minute, foh.close_minute, foh.weekdays)


# --------------------------------------------------------------------------------------------
# The hospital's arrivals
# --------------------------------------------------------------------------------------------


@dataclass
class Attendances:
    """Every A&E attendance of one replication: self-presenting first, then hand-offs.

    Arrays have one entry per attendance; ``episode`` and ``via`` say which episode of the
    booking pass it was and why it came (``-1`` for self-presenting patients).
    """

    time: np.ndarray  # float64 arrival minute
    age_band: np.ndarray  # int8
    frailty: np.ndarray  # int8, NOT_ASSESSED under 65
    ambulance: np.ndarray  # bool: brought by ambulance (handover applies)
    majors: np.ndarray  # bool: majors stream (a space is needed), else minors
    primary_care_treatable: np.ndarray  # bool
    # bool: a walk-in who may leave before being seen (not referred by a clinician, young
    # enough: assumptions.ae.left_without_being_seen)
    may_leave: np.ndarray
    admit_probability: np.ndarray  # float64, before any front-of-house effect
    key: np.ndarray  # uint64
    source: np.ndarray  # int8 SELF_PRESENTING or EPISODE
    episode: np.ndarray  # int64 episode index, -1 for self-presenting patients
    via: np.ndarray  # int8 journey.AE_VIA_*, -1 for self-presenting patients

    def __post_init__(self) -> None:
        lengths = {f.name: len(getattr(self, f.name)) for f in fields(self)}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Attendances arrays differ in length: {lengths}")

    def __len__(self) -> int:
        return len(self.time)


@dataclass
class Requests:
    """Direct admissions or IC+ step-up requests from the booking pass, one per row."""

    time: np.ndarray  # float64 minute
    age_band: np.ndarray  # int8
    frailty: np.ndarray  # int8
    key: np.ndarray  # uint64
    episode: np.ndarray  # int64 episode index
    source: np.ndarray  # int8 who asked (journey codes), passed through

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls) -> Requests:
        return cls(
            *(np.empty(0, dtype=t) for t in (float, np.int8, np.int8, np.uint64, np.int64, np.int8))
        )


@dataclass
class HospitalArrivals:
    attendances: Attendances
    direct_admissions: Requests  # admitted from a clinic (outcome, or no slot in time)
    step_ups: Requests  # IC+ step-up requests from practices, hubs and clinics


def may_leave_before_seen(
    age_band: np.ndarray, ambulance: np.ndarray, referred: np.ndarray, cfg: ModelConfig
) -> np.ndarray:
    """Walk-ins not sent by a clinician, no older than ``oldest_age_band``
    (``assumptions.ae.left_without_being_seen``)."""
    oldest = AGE_BANDS.index(cfg.assumptions.ae.left_without_being_seen.oldest_age_band)
    return ~np.asarray(ambulance, bool) & ~np.asarray(referred, bool) & (age_band <= oldest)


def _requests(ep: Episodes, idx: list[int], time: list[float], source: list[int]) -> Requests:
    i = np.asarray(idx, dtype=np.int64)
    return Requests(
        time=np.asarray(time, dtype=float),
        age_band=ep.age_band[i].astype(np.int8),
        frailty=ep.frailty[i].astype(np.int8),
        key=ep.key[i].astype(np.uint64),
        episode=i,
        source=np.asarray(source, dtype=np.int8),
    )


def hospital_arrivals(
    cfg: ModelConfig, sp: SelfPresenting, ep: Episodes, handoffs: Handoffs
) -> HospitalArrivals:
    """Self-presenting attendances (``sp``, see :func:`generate_self_presenting`) plus the
    booking pass's hand-offs.

    How a handed-off episode is streamed and admitted depends on why it came: a primary-care
    need displaced to A&E is a primary-care-treatable minor with
    ``displaced_admission_probability``; a GP referral, a clinic referral with no slot in time
    and an escalation go to majors; a GP referral is admitted
    ``gp_referral_admission_multiplier`` times as often; NHS 111 dispositions are streamed
    like walk-ins (ambulances always to majors).
    """

    ae = cfg.assumptions.ae
    idx = np.asarray(handoffs.ae_episode, dtype=np.int64)
    via = np.asarray(handoffs.ae_via, dtype=np.int64)
    keys = ep.key[idx].astype(np.uint64)
    age, frailty = ep.age_band[idx].astype(np.int8), ep.frailty[idx].astype(np.int8)
    ambulance = via == AE_VIA_AMBULANCE
    displaced = via == AE_VIA_DISPLACED
    referred = (
        (via == AE_VIA_GP_REFERRAL) | (via == AE_VIA_RAC_NO_SLOT) | (via == AE_VIA_ESCALATION)
    )
    majors = ambulance | referred
    majors |= (~displaced) & (keyed_uniforms(keys, "ae_majors") < ae.majors_share_walk_in)
    by_age = admission_probability(age, frailty, ambulance, cfg)
    p_admit = np.where(
        displaced,
        ae.displaced_admission_probability,
        np.where(
            via == AE_VIA_GP_REFERRAL,
            np.minimum(by_age * ae.gp_referral_admission_multiplier, MAX_ADMISSION_PROBABILITY),
            by_age,
        ),
    )
    n_sp = len(sp)
    attendances = Attendances(
        time=np.concatenate([sp.time, np.asarray(handoffs.ae_time, dtype=float)]),
        age_band=np.concatenate([sp.age_band, age]).astype(np.int8),
        frailty=np.concatenate([sp.frailty, frailty]).astype(np.int8),
        ambulance=np.concatenate([sp.ambulance, ambulance]).astype(bool),
        majors=np.concatenate([sp.majors, majors]).astype(bool),
        primary_care_treatable=np.concatenate([sp.primary_care_treatable, displaced]).astype(bool),
        may_leave=np.concatenate(
            [
                may_leave_before_seen(sp.age_band, sp.ambulance, np.zeros(n_sp, bool), cfg),
                may_leave_before_seen(age, ambulance, referred, cfg),
            ]
        ),
        admit_probability=np.concatenate(
            [admission_probability(sp.age_band, sp.frailty, sp.ambulance, cfg), p_admit]
        ),
        key=np.concatenate([sp.key, keys]).astype(np.uint64),
        source=np.concatenate([np.full(n_sp, SELF_PRESENTING), np.full(len(idx), EPISODE)]).astype(
            np.int8
        ),
        episode=np.concatenate([np.full(n_sp, -1), idx]).astype(np.int64),
        via=np.concatenate([np.full(n_sp, -1), via]).astype(np.int8),
    )
    return HospitalArrivals(
        attendances=attendances,
        direct_admissions=_requests(
            ep, handoffs.admit_episode, handoffs.admit_time, handoffs.admit_source
        ),
        step_ups=_requests(
            ep, handoffs.step_up_episode, handoffs.step_up_time, handoffs.step_up_source
        ),
    )


__all__ = [
    "EPISODE",
    "SELF_PRESENTING",
    "Attendances",
    "HospitalArrivals",
    "Requests",
    "SelfPresenting",
    "ae_age_band_rates",
    "ae_hourly_rate_multiplier",
    "attending_frailty_shares",
    "categorical",
    "front_of_house_open",
    "front_of_house_open_at",
    "ae_band_index_by_year",
    "generate_self_presenting",
    "hospital_arrivals",
    "in_daily_window",
    "in_daily_window_at",
    "may_leave_before_seen",
]
