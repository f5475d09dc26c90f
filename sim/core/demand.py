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
    ModelConfig,
    parse_day_band,
)
from sim.core.calendar import HOURS_PER_WEEK, MINUTES_PER_HOUR, WEEKS_PER_YEAR, Calendar
from sim.core.streams import Streams

URGENT, SOON, ROUTINE = (URGENCIES.index(u) for u in ("urgent", "soon", "routine"))
NOT_ASSESSED = -1  # frailty band of an episode for a patient under 65

#: Per-episode uniform draws, each from its own named stream (add names, never reorder).
UNIFORM_ATTRIBUTES: tuple[str, ...] = ("dna", "no_slot_choice", "ooh_choice")


@dataclass
class Episodes:
    """All episodes of one replication, sorted by the minute the need arises."""

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


def hourly_rate_multiplier(cfg: ModelConfig, calendar: Calendar) -> np.ndarray:
    """Expected share of a year's episodes in each simulated hour (length run_days * 24)."""
    month = np.asarray(cfg.assumptions.demand.month_multiplier, dtype=float)
    mean = month.mean()
    month = month / mean if mean > 0 else month
    days = calendar.run_days
    weeks = int(np.ceil(days / 7))
    week_profile = np.tile(hour_of_week_profile(cfg), weeks)[: days * 24]
    month_of_hour = np.repeat(month[calendar.month[:days]], 24)
    return week_profile * month_of_hour / WEEKS_PER_YEAR


def _categorical(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Map uniforms to category indices (inverse CDF) for one probability vector."""
    cum = np.cumsum(probs)
    cum[-1] = 1.0 + 1e-12  # guard against rounding so every uniform lands somewhere
    return np.searchsorted(cum, u, side="right").astype(np.int8)


def generate_episodes(cfg: ModelConfig, calendar: Calendar, streams: Streams) -> Episodes:
    """Draw every episode of need for the whole run (warm-up included)."""
    d = cfg.assumptions.demand
    site = cfg.site
    rates = annual_episode_rates(cfg)  # (P, A)
    hour_mult = hourly_rate_multiplier(cfg, calendar)  # (H,)
    hour_start = np.arange(len(hour_mult), dtype=float) * MINUTES_PER_HOUR

    pieces: list[dict[str, np.ndarray]] = []
    for p_idx, code in enumerate(site.practices):
        total = rates[p_idx].sum()
        if total <= 0:
            continue
        rng = streams.generator(f"arrivals.{code}")
        counts = rng.poisson(total * hour_mult)
        n = int(counts.sum())
        times = np.repeat(hour_start, counts) + rng.random(n) * MINUTES_PER_HOUR
        attr = {"time": times}

        def u(name: str, code: str = code, n: int = n) -> np.ndarray:
            return streams.generator(f"attribute.{name}.{code}").random(n)

        age = _categorical(u("age_band"), rates[p_idx] / total)
        attr["age_band"] = age
        older = age >= FIRST_OLDER_BAND
        frail_share = np.array([site.frailty_share_65plus[b] for b in FRAILTY_BANDS])
        frailty = _categorical(u("frailty"), frail_share)
        attr["frailty"] = np.where(older, frailty, NOT_ASSESSED).astype(np.int8)

        base = np.array([d.urgency_share[x] for x in URGENCIES])
        older_urgent = min(1.0, base[URGENT] * d.urgent_share_multiplier_65plus)
        rest = base.copy()
        rest[URGENT] = 0
        rest = rest / rest.sum() * (1 - older_urgent) if rest.sum() > 0 else rest
        rest[URGENT] = older_urgent
        u_urgency = u("urgency")
        attr["urgency"] = np.where(
            older, _categorical(u_urgency, rest), _categorical(u_urgency, base)
        ).astype(np.int8)

        staff = np.array([d.staff_need_share[x] for x in STAFF_NEEDS])
        attr["staff_need"] = _categorical(u("staff_need"), staff)
        attr["earliest_offset_days"] = _earliest_offsets(
            u("earliest_day"), d.routine_earliest_day_share
        )
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
