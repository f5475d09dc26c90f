"""Episodes of need: when they arise, for whom, and everything about them drawn up front.

Arrivals are an exact non-homogeneous Poisson process with a piecewise-constant rate (hour of
day x weekday x calendar month): a Poisson count for each hour, then uniform times inside it.
Closed hours with zero rate therefore give exactly zero arrivals. Every attribute of an
episode (age band, frailty, urgency, staff need, the uniform draws that later decide DNA and
patient choices) is drawn here, once, from a stream named for the attribute and the practice,
so two scenarios that differ only in capacity see identical patients (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config.schema import (
    AGE_BANDS,
    FIRST_OLDER_BAND,
    FRAILTY_BANDS,
    STAFF_NEEDS,
    URGENCIES,
    Demand,
    ModelConfig,
    parse_day_band,
)
from sim.core.calendar import (
    HOURS_PER_WEEK,
    MINUTES_PER_DAY,
    MINUTES_PER_HOUR,
    WEEKS_PER_YEAR,
    Calendar,
)
from sim.core.programme import WeeklyConfigs
from sim.core.streams import Streams, keyed_uniforms

URGENT, SOON, ROUTINE = (URGENCIES.index(u) for u in ("urgent", "soon", "routine"))
NOT_ASSESSED = -1  # frailty band of an episode for a patient under 65

#: Per-episode uniform draws, each from its own named stream (add names, never reorder).
UNIFORM_ATTRIBUTES: tuple[str, ...] = ("dna", "no_slot_choice", "ooh_choice")


@dataclass
class Episodes:
    """All episodes of one replication: sorted by the minute the need arises as generated, by
    the minute it reaches its practice in a replication (:func:`sim.booking.preparation.
    in_request_order`)."""

    time: np.ndarray  # float64 minutes from Monday 00:00 of week 0
    practice: np.ndarray  # int32 index into the site's practice list
    age_band: np.ndarray  # int8 index into AGE_BANDS
    frailty: np.ndarray  # int8 index into FRAILTY_BANDS, NOT_ASSESSED under 65
    urgency: np.ndarray  # int8 index into URGENCIES
    staff_need: np.ndarray  # int8 index into STAFF_NEEDS
    earliest_offset_days: np.ndarray  # int16 earliest acceptable day after the request (routine)
    uniforms: dict[str, np.ndarray]  # float64 U(0,1) per attribute in UNIFORM_ATTRIBUTES
    # uint64 key from which rarer decisions' uniforms derive (streams.keyed_uniform)
    key: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    def reordered(self, order: np.ndarray) -> Episodes:
        """The same episodes in another order (every array permuted alike)."""
        return Episodes(
            time=self.time[order],
            practice=self.practice[order],
            age_band=self.age_band[order],
            frailty=self.frailty[order],
            urgency=self.urgency[order],
            staff_need=self.staff_need[order],
            earliest_offset_days=self.earliest_offset_days[order],
            uniforms={name: u[order] for name, u in self.uniforms.items()},
            key=self.key[order],
        )


def hour_of_week_profile(cfg: ModelConfig) -> np.ndarray:
    """Share of a week's needs arising in each of the 168 hours (Monday 00:00 first)."""
    d = cfg.assumptions.demand
    weekday = np.asarray(d.weekday_share)
    hours = np.empty((7, 24))
    for wd in range(7):
        hours[wd] = d.hour_share_weekday if wd < 5 else d.hour_share_weekend
    return (weekday[:, None] * hours).reshape(HOURS_PER_WEEK)


def practice_age_shares(cfg: ModelConfig) -> np.ndarray:
    """(n_practices, n_age_bands) age mix of each registered list."""
    site = cfg.site
    rows = []
    for p in site.practices.values():
        share = p.age_share or site.localities[p.locality].age_share or site.age_share
        rows.append([share[b] for b in AGE_BANDS])
    return np.asarray(rows, dtype=float)


def annual_episode_rates(cfg: ModelConfig) -> np.ndarray:
    """(n_practices, n_age_bands) expected episodes per year."""
    d = cfg.assumptions.demand
    per_person = np.array([d.episodes_per_person_year[b] for b in AGE_BANDS]) * d.scale
    lists = np.array([p.list_size for p in cfg.site.practices.values()], dtype=float)
    return lists[:, None] * practice_age_shares(cfg) * per_person[None, :]


def programme_rate_index(cfg: ModelConfig, years: int) -> np.ndarray:
    """(programme year, age band) multiplier of year 1's episode rates: the registered
    population of the band (``site.population_index``) times the trend in needs per person
    (``assumptions.demand.per_person_trend_per_year``, compounding from year 2). A single
    population value means no change in any year."""
    pop = np.array([cfg.site.population_index[b] for b in AGE_BANDS], dtype=float).T  # (Y, A)
    if pop.shape[0] == 1:
        pop = np.repeat(pop, years, axis=0)
    if pop.shape[0] < years:
        raise ValueError(f"population_index covers {pop.shape[0]} years; the run needs {years}")
    trend = (1.0 + cfg.assumptions.demand.per_person_trend_per_year) ** np.arange(years)
    return pop[:years] * trend[:, None]


def population_growth(cfg: ModelConfig, years: int) -> np.ndarray:
    """(programme year,) registered population relative to year 1 (1.0 in year 1)."""
    index = (
        programme_rate_index(cfg, years)
        / ((1.0 + cfg.assumptions.demand.per_person_trend_per_year) ** np.arange(years))[:, None]
    )
    lists = np.array([p.list_size for p in cfg.site.practices.values()], dtype=float)
    weights = (lists[:, None] * practice_age_shares(cfg)).sum(axis=0)  # (A,)
    return (index * weights).sum(axis=1) / weights.sum()


def hourly_rate_multiplier(cfg: ModelConfig, calendar: Calendar) -> np.ndarray:
    """Expected share of a year's episodes in each simulated hour (length run_days * 24)."""
    month = np.asarray(cfg.assumptions.demand.month_multiplier, dtype=float)
    mean = month.mean()
    month = month / mean if mean > 0 else month
    days = calendar.run_days
    weeks = int(np.ceil(days / 7))
    week_profile = np.tile(hour_of_week_profile(cfg), weeks)[: days * 24]
    holidays = calendar.is_bank_holiday[:days]
    if holidays.any():
        # A bank holiday is a Sunday for needs: people put off what can wait, as at a weekend
        # (needs that arise then still wait for the practice or go to NHS 111 or A&E).
        by_day = week_profile.reshape(days, 24).copy()
        by_day[holidays] = hour_of_week_profile(cfg)[6 * 24 :]
        week_profile = by_day.ravel()
    month_of_hour = np.repeat(month[calendar.month[:days]], 24)
    return week_profile * month_of_hour / WEEKS_PER_YEAR


def waiting_request_offsets(d: Demand, key: np.ndarray, day_minutes: int) -> np.ndarray:
    """Minutes after opening at which needs that waited ask their practice: an hour from
    ``waiting_request_hour_share`` and a time within it, from one keyed uniform each (so the
    same patient rings at the same time in every scenario). A profile of one hour means at
    opening, as practices' phone lines open."""
    shares = np.asarray(d.waiting_request_hour_share, dtype=float)
    if len(shares) == 1:
        return np.zeros(len(key))
    u = keyed_uniforms(np.asarray(key, dtype=np.uint64), "waiting_request")
    cum = np.cumsum(shares)
    cum[-1] = 1.0 + 1e-12
    hour = np.searchsorted(cum, u, side="right")
    start = np.concatenate(([0.0], cum[:-1]))[hour]
    within = np.clip((u - start) / np.maximum(shares[hour], 1e-300), 0, 1 - 1e-12)
    # the last hour may be part of one (18:00-18:30)
    width = np.minimum(MINUTES_PER_HOUR, day_minutes - hour * MINUTES_PER_HOUR)
    offset = hour * MINUTES_PER_HOUR + within * width
    return np.minimum(offset, day_minutes - 1e-6)


def _categorical(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Map uniforms to category indices (inverse CDF) for one probability vector."""
    cum = np.cumsum(probs)
    cum[-1] = 1.0 + 1e-12  # guard against rounding so every uniform lands somewhere
    return np.searchsorted(cum, u, side="right").astype(np.int8)


def generate_episodes(
    cfg: ModelConfig, calendar: Calendar, streams: Streams, weekly: WeeklyConfigs | None = None
) -> Episodes:
    """Draw every episode of need for the whole run (warm-up included); ``weekly``: the
    configuration in force each week, when options phase in."""
    d = cfg.assumptions.demand
    site = cfg.site
    rates = annual_episode_rates(cfg)  # (P, A)
    hour_mult = hourly_rate_multiplier(cfg, calendar)  # (H,)
    hour_start = np.arange(len(hour_mult), dtype=float) * MINUTES_PER_HOUR
    # Population and needs per person change by programme year; year 1's rates are exactly
    # the static model's, so its episodes are too.
    year_of_hour = np.repeat(calendar.programme_year[: calendar.run_days] - 1, 24)
    index = programme_rate_index(cfg, int(year_of_hour.max(initial=0)) + 1)  # (Y, A)
    changing = bool(np.any(index != 1.0))

    pieces: list[dict[str, np.ndarray]] = []
    for p_idx, code in enumerate(site.practices):
        total = rates[p_idx].sum()
        if total <= 0:
            continue
        rng = streams.generator(f"arrivals.{code}")
        by_year = rates[p_idx][None, :] * index  # (Y, A)
        totals = by_year.sum(axis=1)
        counts = rng.poisson((totals[year_of_hour] if changing else total) * hour_mult)
        n = int(counts.sum())
        # Times within the hour from their own stream: how many numbers the Poisson draws
        # consume depends on later years' rates, and must not move year 1's times.
        u_time = streams.generator(f"arrival_time.{code}").random(n)
        times = np.repeat(hour_start, counts) + u_time * MINUTES_PER_HOUR
        attr = {"time": times}

        def u(name: str, code: str = code, n: int = n) -> np.ndarray:
            return streams.generator(f"attribute.{name}.{code}").random(n)

        u_age = u("age_band")
        if changing:
            year = np.repeat(year_of_hour, counts)
            age = np.empty(n, dtype=np.int8)
            for y in np.unique(year):
                here = year == y
                age[here] = _categorical(u_age[here], by_year[y] / totals[y])
        else:
            age = _categorical(u_age, rates[p_idx] / total)
        attr["age_band"] = age
        older = age >= FIRST_OLDER_BAND
        frail_share = np.array([site.frailty_share_65plus[b] for b in FRAILTY_BANDS])
        frailty = _categorical(u("frailty"), frail_share)
        attr["frailty"] = np.where(older, frailty, NOT_ASSESSED).astype(np.int8)

        draws = (u("urgency"), u("staff_need"), u("earliest_day"))
        month = calendar.month[(times // MINUTES_PER_DAY).astype(np.int64)]
        attr["urgency"], attr["staff_need"], attr["earliest_offset_days"] = _needs(
            d, older, month, draws
        )
        if weekly is not None and weekly.varies:
            # Options phasing in may change what needs need: each week's episodes follow the
            # demand settings then in force (same draws, so the same patients).
            week = weekly.week_of_day((times // MINUTES_PER_DAY).astype(np.int64))
            for c in weekly.distinct():
                if c.assumptions.demand == d:
                    continue
                here = np.isin(week, [w for w, x in enumerate(weekly.by_week) if x is c])
                if here.any():
                    parts = _needs(
                        c.assumptions.demand, older[here], month[here], [x[here] for x in draws]
                    )
                    for name, values in zip(
                        ("urgency", "staff_need", "earliest_offset_days"), parts, strict=True
                    ):
                        attr[name][here] = values
        for name in UNIFORM_ATTRIBUTES:
            attr[f"u_{name}"] = u(name)
        attr["key"] = streams.generator(f"attribute.key.{code}").bit_generator.random_raw(n)
        attr["practice"] = np.full(n, p_idx, dtype=np.int32)
        pieces.append(attr)

    if not pieces:
        return _empty_episodes()
    order = np.argsort(np.concatenate([p["time"] for p in pieces]), kind="stable")
    # One attribute at a time, so only one extra copy is ever held.
    merged = {k: np.concatenate([p.pop(k) for p in pieces])[order] for k in list(pieces[0])}
    return Episodes(
        time=merged["time"],
        practice=merged["practice"],
        age_band=merged["age_band"],
        frailty=merged["frailty"],
        urgency=merged["urgency"],
        staff_need=merged["staff_need"],
        earliest_offset_days=merged["earliest_offset_days"],
        uniforms={name: merged[f"u_{name}"] for name in UNIFORM_ATTRIBUTES},
        key=merged["key"].astype(np.uint64),
    )


def urgent_share_by_month(d: Demand) -> np.ndarray:
    """(month,) share of needs that are urgent, Jan..Dec: the annual share times the winter
    acuity profile, scaled so that over a year (months weighted by their demand) the urgent
    share is the configured one."""
    acuity = np.asarray(d.urgent_share_month_multiplier, dtype=float)
    demand = np.asarray(d.month_multiplier, dtype=float)
    weighted = (acuity * demand).sum()
    scale = demand.sum() / weighted if weighted > 0 else 1.0
    return d.urgency_share["urgent"] * acuity * scale


def _urgency_shares(d: Demand, urgent: float) -> tuple[np.ndarray, np.ndarray]:
    """(under 65, 65+) urgency shares when ``urgent`` of needs are urgent: the others keep
    their proportions; 65+ are more often urgent."""
    base = np.array([d.urgency_share[x] for x in URGENCIES])
    if urgent != base[URGENT]:
        others = base.copy()
        others[URGENT] = 0
        base = others / others.sum() * (1 - urgent) if others.sum() > 0 else others
        base[URGENT] = urgent
    older_urgent = min(1.0, base[URGENT] * d.urgent_share_multiplier_65plus)
    rest = base.copy()
    rest[URGENT] = 0
    rest = rest / rest.sum() * (1 - older_urgent) if rest.sum() > 0 else rest
    rest[URGENT] = older_urgent
    return base, rest


def _needs(
    d: Demand,
    older: np.ndarray,
    month: np.ndarray,
    draws: tuple[np.ndarray, ...] | list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Urgency (by the month the need arises: winter acuity), staff need and earliest
    acceptable day (routine) from their uniform draws."""
    u_urgency, u_staff, u_earliest = draws
    urgency = np.empty(len(u_urgency), dtype=np.int8)
    if all(m == 1.0 for m in d.urgent_share_month_multiplier):
        groups = [(np.ones(len(u_urgency), dtype=bool), d.urgency_share["urgent"])]
    else:
        by_month = urgent_share_by_month(d)
        groups = [(month == m, by_month[m]) for m in np.unique(month)]
    for here, urgent in groups:
        base, rest = _urgency_shares(d, float(urgent))
        u = u_urgency[here]
        urgency[here] = np.where(older[here], _categorical(u, rest), _categorical(u, base))
    staff = np.array([d.staff_need_share[x] for x in STAFF_NEEDS])
    return (
        urgency,
        _categorical(u_staff, staff),
        _earliest_offsets(u_earliest, d.routine_earliest_day_share),
    )


def _earliest_offsets(u: np.ndarray, bands: dict[str, float]) -> np.ndarray:
    """One uniform picks the band and, by where it falls inside the band, the day in it."""
    ranges = [parse_day_band(b) for b in bands]
    probs = np.array(list(bands.values()), dtype=float)
    cum = np.cumsum(probs)
    cum[-1] = 1.0 + 1e-12
    idx = np.searchsorted(cum, u, side="right")
    lo = np.array([r[0] for r in ranges])[idx]
    width = np.array([r[1] - r[0] + 1 for r in ranges])[idx]
    start = np.concatenate(([0.0], cum[:-1]))[idx]
    frac = np.clip((u - start) / np.maximum(probs[idx], 1e-300), 0, 1 - 1e-12)
    return (lo + np.floor(frac * width)).astype(np.int16)


def _empty_episodes() -> Episodes:
    e8 = np.empty(0, dtype=np.int8)
    return Episodes(
        time=np.empty(0),
        practice=np.empty(0, dtype=np.int32),
        age_band=e8,
        frailty=e8,
        urgency=e8,
        staff_need=e8,
        earliest_offset_days=np.empty(0, dtype=np.int16),
        uniforms={name: np.empty(0) for name in UNIFORM_ATTRIBUTES},
        key=np.empty(0, dtype=np.uint64),
    )
