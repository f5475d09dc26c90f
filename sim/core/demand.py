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


def _categorical(u: np.ndarray, probs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Map uniforms to category indices (inverse CDF) for one probability vector.

    The index of ``u`` is the number of cumulative shares at or below it, which is what
    ``np.searchsorted(cum, u, side="right")`` returns; counted with one comparison per
    category, a few passes over the array for the handful of categories used here, it is
    several times faster than a binary search per element.
    """
    cum = np.cumsum(probs)
    cum[-1] = 1.0 + 1e-12  # guard against rounding so every uniform lands somewhere
    if out is None:
        out = np.empty(len(u), dtype=np.int8)
    if np.any(np.diff(cum) < 0):  # negative shares are refused by validation; be exact anyway
        out[:] = np.searchsorted(cum, u, side="right")
        return out
    out[:] = 0
    for bound in cum[:-1]:  # u < 1 < cum[-1]: the last bound is never reached
        out += u >= bound
    return out


#: Type of each column of :class:`Episodes` (``u_<name>``: the uniforms).
_COLUMN_TYPES = {
    "time": np.float64,
    "practice": np.int32,
    "age_band": np.int8,
    "frailty": np.int8,
    "urgency": np.int8,
    "staff_need": np.int8,
    "earliest_offset_days": np.int16,
    **{f"u_{name}": np.float64 for name in UNIFORM_ATTRIBUTES},
    "key": np.uint64,
}


def generate_episodes(cfg: ModelConfig, calendar: Calendar, streams: Streams) -> Episodes:
    """Draw every episode of need for the whole run (warm-up included).

    Practice by practice: a Poisson count for every hour, uniform times inside it (stream
    ``arrivals.<practice code>``), and every attribute (:func:`_draw_attributes`). Then the
    episodes of all practices are put in time order; needs at exactly the same time keep
    practice order, then the order their practice generated them.

    For speed, each practice's draws go straight into one column per attribute (practice
    after practice), so nothing is concatenated, and the columns are put in time order once.
    """
    rates = annual_episode_rates(cfg)  # (P, A)
    hour_mult = hourly_rate_multiplier(cfg, calendar)  # (H,)
    hour_start = np.arange(len(hour_mult), dtype=float) * MINUTES_PER_HOUR

    practices = [(p, code) for p, code in enumerate(cfg.site.practices) if rates[p].sum() > 0]
    arrivals = [streams.generator(f"arrivals.{code}") for _, code in practices]
    counts = [
        rng.poisson(rates[p].sum() * hour_mult)
        for rng, (p, _) in zip(arrivals, practices, strict=True)
    ]
    sizes = [int(c.sum()) for c in counts]
    n_total = sum(sizes)
    if n_total == 0:
        return _empty_episodes()
    columns = {name: np.empty(n_total, dtype=dtype) for name, dtype in _COLUMN_TYPES.items()}
    scratch = np.empty(max(sizes))
    start = 0
    for (p_idx, code), rng, hourly, n in zip(practices, arrivals, counts, sizes, strict=True):
        here = slice(start, start + n)
        # np.repeat(hour_start, hourly) + U(0,1) * MINUTES_PER_HOUR, computed in place
        times = rng.random(out=columns["time"][here])
        times *= MINUTES_PER_HOUR
        times += np.repeat(hour_start, hourly)
        columns["practice"][here] = p_idx
        mine = {name: column[here] for name, column in columns.items()}
        _draw_attributes(cfg, streams, code, rates[p_idx], mine, scratch[:n])
        start += n
    del times, mine, scratch  # no view may keep a column alive once it is ordered
    order = _time_order(columns["time"])
    # One column at a time, each freed once ordered: one extra column is ever held.
    ordered = {name: columns.pop(name).take(order) for name in list(columns)}
    return Episodes(
        time=ordered["time"],
        practice=ordered["practice"],
        age_band=ordered["age_band"],
        frailty=ordered["frailty"],
        urgency=ordered["urgency"],
        staff_need=ordered["staff_need"],
        earliest_offset_days=ordered["earliest_offset_days"],
        uniforms={name: ordered[f"u_{name}"] for name in UNIFORM_ATTRIBUTES},
        key=ordered["key"],
    )


def demand_settings(cfg: ModelConfig) -> str:
    """Every setting :func:`generate_episodes` reads, as text: two configurations with the same
    text get identical episodes from the same calendar dates and streams, so alternatives that
    change only capacity or behaviour after the need arises can share them (a PSA set runs
    the baseline and every option on the same patients). Keep it in step with the function:
    a setting read there and missing here would let alternatives share episodes they should
    not (``tests/test_demand.py`` holds the options of the catalogue to it)."""
    site = cfg.site
    practices = [(code, p.locality, p.list_size, p.age_share) for code, p in site.practices.items()]
    localities = [(name, loc.age_share) for name, loc in site.localities.items()]
    return repr(
        (
            site.calendar_start,  # the calendar months of the seasonal profile
            practices,
            localities,
            site.age_share,
            site.frailty_share_65plus,
            cfg.assumptions.demand,
        )
    )


def _time_order(times: np.ndarray) -> np.ndarray:
    """The order that sorts ``times``, equal times kept in the order they come (a stable
    sort). Two needs at exactly the same time, to the last bit, arise about once in a few
    thousand replication-years; without them any sort gives the same order, and numpy's
    default sort is more than twice as fast as its stable one."""
    order = np.argsort(times)
    ordered = times.take(order)
    if np.any(ordered[1:] == ordered[:-1]):
        return np.argsort(times, kind="stable")
    return order


def _draw_attributes(
    cfg: ModelConfig,
    streams: Streams,
    code: str,
    rates: np.ndarray,
    columns: dict[str, np.ndarray],
    scratch: np.ndarray,
) -> None:
    """Draw every attribute of one practice's episodes, in the order it generated them,
    into ``columns`` (the practice's part of each column; ``scratch`` is as long).

    Each attribute comes from its own stream, ``attribute.<name>.<practice code>``, one draw
    per episode: the i-th episode of the practice always gets the i-th number of each stream.
    """
    d = cfg.assumptions.demand

    def u(name: str, out: np.ndarray = scratch) -> np.ndarray:
        return streams.generator(f"attribute.{name}.{code}").random(out=out)

    age = _categorical(u("age_band"), rates / rates.sum(), out=columns["age_band"])
    older = age >= FIRST_OLDER_BAND
    frail_share = np.array([cfg.site.frailty_share_65plus[b] for b in FRAILTY_BANDS])
    frailty = _categorical(u("frailty"), frail_share, out=columns["frailty"])
    frailty[~older] = NOT_ASSESSED

    base = np.array([d.urgency_share[x] for x in URGENCIES])
    older_urgent = min(1.0, base[URGENT] * d.urgent_share_multiplier_65plus)
    rest = base.copy()
    rest[URGENT] = 0
    rest = rest / rest.sum() * (1 - older_urgent) if rest.sum() > 0 else rest
    rest[URGENT] = older_urgent
    u_urgency = u("urgency")
    urgency = _categorical(u_urgency, base, out=columns["urgency"])
    urgency[older] = _categorical(u_urgency[older], rest)

    staff = np.array([d.staff_need_share[x] for x in STAFF_NEEDS])
    _categorical(u("staff_need"), staff, out=columns["staff_need"])
    columns["earliest_offset_days"][:] = _earliest_offsets(
        u("earliest_day"), d.routine_earliest_day_share
    )
    for name in UNIFORM_ATTRIBUTES:
        u(name, out=columns[f"u_{name}"])
    key = streams.generator(f"attribute.key.{code}").bit_generator
    columns["key"][:] = key.random_raw(len(scratch))


def _earliest_offsets(u: np.ndarray, bands: dict[str, float]) -> np.ndarray:
    """One uniform picks the band and, by where it falls inside the band, the day in it."""
    ranges = [parse_day_band(b) for b in bands]
    probs = np.array(list(bands.values()), dtype=float)
    cum = np.cumsum(probs)
    # each band's numbers looked up by ``take`` with a native index (several times faster
    # than indexing with the int8 band numbers, which numpy converts on every lookup)
    idx = _categorical(u, probs).astype(np.intp)
    lo = np.array([r[0] for r in ranges]).take(idx)
    width = np.array([r[1] - r[0] + 1 for r in ranges]).take(idx)
    start = np.concatenate(([0.0], cum[:-1])).take(idx)
    frac = u - start
    frac /= np.maximum(probs, 1e-300).take(idx)
    np.clip(frac, 0, 1 - 1e-12, out=frac)
    frac *= width
    np.floor(frac, out=frac)
    frac += lo
    return frac.astype(np.int16)


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
