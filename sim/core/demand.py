"""Episodes of need: when they arise, for whom, and everything about them drawn up front.

Arrivals are an exact non-homogeneous Poisson process with a piecewise-constant rate (hour of
day x weekday x calendar month): a Poisson count for each hour, then uniform times inside it.
Closed hours with zero rate therefore give exactly zero arrivals. Every attribute of an
episode (age band, frailty, urgency, staff need, the uniform draws that later decide DNA and
patient choices) is drawn here, once, from a stream named for the attribute and the practice,
so two scenarios that differ only in capacity see identical patients (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

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
from sim.core.streams import Streams

URGENT, SOON, ROUTINE = (URGENCIES.index(u) for u in ("urgent", "soon", "routine"))
NOT_ASSESSED = -1  # frailty band of an episode for a patient under 65

#: Per-episode uniform draws, each from its own named stream (add names, never reorder).
UNIFORM_ATTRIBUTES: tuple[str, ...] = ("dna", "no_slot_choice", "ooh_choice")
#: The attributes of :class:`Episodes` (a field, or a uniform by name) that only the first
#: stages of a replication read, by the last stage that reads them: a replication lets them go
#: after it (:meth:`Episodes.without`; the KPIs read none of them).
LAST_READ_BY: dict[str, tuple[str, ...]] = {
    "request order": ("ooh_choice",),  # sim.booking.preparation.in_request_order
    "booking pass": ("staff_need", "earliest_offset_days", "uniforms"),
    "hospital": ("key",),  # keyed draws of the patients handed to it
}


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

    def put_in_order(self, order: np.ndarray) -> None:
        """Permute every array alike, in place, one array at a time: only one extra array is
        held at once (for episodes nobody else holds; :meth:`reordered` makes a copy)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dict):  # the uniforms, by attribute
                for name in value:
                    value[name] = value[name].take(order)
            elif value is not None:  # None: let go of (:meth:`drop`)
                setattr(self, f.name, value.take(order))

    def without(self, *names: str) -> Episodes:
        """These episodes without the named attributes (:meth:`drop`), sharing every other
        array: for the stages that no longer read them (the uniforms of two million episodes
        are 48 MB), which this object's holders may then let go of."""
        copy = replace(self, uniforms=dict(self.uniforms))
        copy.drop(*names)
        return copy

    def drop(self, *names: str) -> None:
        """Let go of the named attributes, in place: a field (``None`` then), a uniform by its
        name in :data:`UNIFORM_ATTRIBUTES`, or ``"uniforms"``, all of them (for episodes
        nobody else holds; :meth:`without` makes a copy)."""
        for f in fields(self):
            if f.name in names and f.name != "uniforms":
                setattr(self, f.name, None)
        if "uniforms" in names:
            self.uniforms = {}
        for name in names:
            self.uniforms.pop(name, None)

    def reordered(self, order: np.ndarray) -> Episodes:
        """The same episodes in another order (every array permuted alike), as a copy."""
        copy = replace(self, uniforms=dict(self.uniforms))
        copy.put_in_order(order)
        return copy


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


def population_index_table(cfg: ModelConfig) -> np.ndarray:
    """(practice, year given, age band) registered population relative to year 1: each
    practice's own ``population_index`` where it gives a band, else its locality's, else the
    site's (as the years the site gives; one year means no change)."""
    site = cfg.site
    rows = []
    for p in site.practices.values():
        tables = (p.population_index, site.localities[p.locality].population_index)
        rows.append(
            [
                next((t[b] for t in tables if t is not None and b in t), site.population_index[b])
                for b in AGE_BANDS
            ]
        )
    return np.asarray(rows, dtype=float).transpose(0, 2, 1).reshape(len(rows), -1, len(AGE_BANDS))


def practice_population_index(cfg: ModelConfig, years: int) -> np.ndarray:
    """(practice, programme year, age band) registered population relative to year 1, for
    ``years`` programme years (:func:`population_index_table`)."""
    table = population_index_table(cfg)
    if table.shape[1] == 1:
        table = np.repeat(table, years, axis=1)
    if table.shape[1] < years:
        raise ValueError(f"population_index covers {table.shape[1]} years; the run needs {years}")
    return table[:, :years]


def programme_rate_index(cfg: ModelConfig, years: int) -> np.ndarray:
    """(practice, programme year, age band) multiplier of year 1's episode rates: the
    registered population of the band (:func:`practice_population_index`) times the trend in
    needs per person (``assumptions.demand.per_person_trend_per_year``, compounding from year
    2)."""
    trend = (1.0 + cfg.assumptions.demand.per_person_trend_per_year) ** np.arange(years)
    return practice_population_index(cfg, years) * trend[None, :, None]


def population_growth(cfg: ModelConfig, years: int) -> np.ndarray:
    """(programme year,) registered population relative to year 1 (1.0 in year 1): every
    practice's list by age band, grown by its own index."""
    lists = np.array([p.list_size for p in cfg.site.practices.values()], dtype=float)
    people = lists[:, None] * practice_age_shares(cfg)  # (P, A) in year 1
    grown = (practice_population_index(cfg, years) * people[:, None, :]).sum(axis=(0, 2))
    return grown / people.sum()


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


def generate_episodes(
    cfg: ModelConfig, calendar: Calendar, streams: Streams, weekly: WeeklyConfigs | None = None
) -> Episodes:
    """Draw every episode of need for the whole run (warm-up included), in time order;
    ``weekly``: the configuration in force each week, when options phase in.

    The episodes of :func:`draw_episodes`, put in the order they arise: needs at exactly the
    same time keep practice order, then the order their practice generated them.
    """
    episodes = draw_episodes(cfg, calendar, streams, weekly)
    # One column at a time, each freed once ordered: one extra column is ever held.
    episodes.put_in_order(_time_order(episodes.time))
    return episodes


def draw_episodes(
    cfg: ModelConfig, calendar: Calendar, streams: Streams, weekly: WeeklyConfigs | None = None
) -> Episodes:
    """Every episode of need for the whole run, practice by practice in the order drawn
    (:func:`generate_episodes` puts them in time order; a replication puts them in the order
    they reach their practice straight away, :func:`sim.booking.preparation.in_request_order`).

    Practice by practice: a Poisson count for every hour (stream ``arrivals.<practice
    code>``), uniform times inside it (stream ``arrival_time.<practice code>``), and every
    attribute (:func:`_draw_attributes`). For speed, each practice's draws go straight into
    one column per attribute (practice after practice), so nothing is concatenated.
    """
    rates = annual_episode_rates(cfg)  # (P, A)
    hour_mult = hourly_rate_multiplier(cfg, calendar)  # (H,)
    hour_start = np.arange(len(hour_mult), dtype=float) * MINUTES_PER_HOUR
    # Population and needs per person change by programme year; year 1's rates are exactly
    # the static model's, so its episodes are too.
    year_of_hour = np.repeat(calendar.programme_year[: calendar.run_days] - 1, 24)
    index = programme_rate_index(cfg, int(year_of_hour.max(initial=0)) + 1)  # (P, Y, A)
    changing = bool(np.any(index != 1.0))

    practices = [(p, code) for p, code in enumerate(cfg.site.practices) if rates[p].sum() > 0]
    # (programme year, age band) expected episodes of each practice
    by_year = [rates[p][None, :] * index[p] for p, _ in practices]
    counts = []
    for (p, code), rates_by_year in zip(practices, by_year, strict=True):
        expected = rates_by_year.sum(axis=1)[year_of_hour] if changing else rates[p].sum()
        counts.append(streams.generator(f"arrivals.{code}").poisson(expected * hour_mult))
    sizes = [int(c.sum()) for c in counts]
    n_total = sum(sizes)
    if n_total == 0:
        return _empty_episodes()
    columns = {name: np.empty(n_total, dtype=dtype) for name, dtype in _COLUMN_TYPES.items()}
    scratch = np.empty(max(sizes))
    start = 0
    for (p_idx, code), rates_by_year, hourly, n in zip(
        practices, by_year, counts, sizes, strict=True
    ):
        here = slice(start, start + n)
        # np.repeat(hour_start, hourly) + U(0,1) * MINUTES_PER_HOUR, computed in place. Times
        # within the hour come from their own stream: how many numbers the Poisson draws
        # consume depends on later years' rates, and must not move year 1's times.
        times = streams.generator(f"arrival_time.{code}").random(out=columns["time"][here])
        times *= MINUTES_PER_HOUR
        times += np.repeat(hour_start, hourly)
        columns["practice"][here] = p_idx
        mine = {name: column[here] for name, column in columns.items()}
        year = np.repeat(year_of_hour, hourly) if changing else None
        age_rates = rates_by_year if changing else rates[p_idx]
        _draw_attributes(cfg, calendar, weekly, streams, code, age_rates, year, mine, scratch[:n])
        start += n
    del times, mine, scratch  # no view may keep a column alive once it is ordered
    episodes = Episodes(
        time=columns["time"],
        practice=columns["practice"],
        age_band=columns["age_band"],
        frailty=columns["frailty"],
        urgency=columns["urgency"],
        staff_need=columns["staff_need"],
        earliest_offset_days=columns["earliest_offset_days"],
        uniforms={name: columns[f"u_{name}"] for name in UNIFORM_ATTRIBUTES},
        key=columns["key"],
    )
    del columns
    return episodes


def demand_settings(cfg: ModelConfig) -> str:
    """Every setting :func:`generate_episodes` reads, as text: two configurations with the same
    text get identical episodes from the same calendar dates and streams, so alternatives that
    change only capacity or behaviour after the need arises can share them (a PSA set runs
    the baseline and every option on the same patients). Keep it in step with the function:
    a setting read there and missing here would let alternatives share episodes they should
    not (``tests/test_demand.py`` holds the options of the catalogue to it)."""
    site = cfg.site
    practices = [
        (code, p.locality, p.list_size, p.age_share, p.population_index)
        for code, p in site.practices.items()
    ]
    localities = [
        (name, loc.age_share, loc.population_index) for name, loc in site.localities.items()
    ]
    # Options phasing in change the demand settings week by week (generate_episodes' weekly):
    # the demand before any option and each demand-changing option's start and ramp, in the
    # order they apply. Without gradual phasing every week has cfg.assumptions.demand.
    phasing = cfg.phasing
    phased_demand = None
    if phasing is not None and phasing.gradual:
        phased_demand = (
            phasing.assumptions.get("demand"),
            [
                (o.start_week, o.ramp_weeks, o.changes["assumptions"]["demand"])
                for o in phasing.options
                if "demand" in o.changes.get("assumptions", {})
            ],
        )
    return repr(
        (
            site.calendar_start,  # the calendar months of the seasonal profile
            site.bank_holidays,  # a bank holiday's needs arise as on a Sunday
            practices,
            localities,
            site.age_share,
            site.population_index,  # the registered population year by year
            site.frailty_share_65plus,
            cfg.assumptions.demand,
            phased_demand,
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
    calendar: Calendar,
    weekly: WeeklyConfigs | None,
    streams: Streams,
    code: str,
    rates: np.ndarray,
    year: np.ndarray | None,
    columns: dict[str, np.ndarray],
    scratch: np.ndarray,
) -> None:
    """Draw every attribute of one practice's episodes, in the order it generated them,
    into ``columns`` (the practice's part of each column; ``scratch`` is as long). ``rates``:
    the practice's expected episodes by age band, or by (programme year, age band) when they
    change from year to year, ``year`` then giving each episode's programme year (from 0).

    Each attribute comes from its own stream, ``attribute.<name>.<practice code>``, one draw
    per episode: the i-th episode of the practice always gets the i-th number of each stream.
    """
    d = cfg.assumptions.demand

    def u(name: str, out: np.ndarray | None = scratch) -> np.ndarray:
        return streams.generator(f"attribute.{name}.{code}").random(len(scratch), out=out)

    u_age = u("age_band")
    if year is None:
        age = _categorical(u_age, rates / rates.sum(), out=columns["age_band"])
    else:
        age = columns["age_band"]
        totals = rates.sum(axis=1)
        for y in np.unique(year):
            here = year == y
            age[here] = _categorical(u_age[here], rates[y] / totals[y])
    older = age >= FIRST_OLDER_BAND
    frail_share = np.array([cfg.site.frailty_share_65plus[b] for b in FRAILTY_BANDS])
    frailty = _categorical(u("frailty"), frail_share, out=columns["frailty"])
    frailty[~older] = NOT_ASSESSED

    day = (columns["time"] // MINUTES_PER_DAY).astype(np.int64)
    month = calendar.month[day]
    draws = (u("urgency", None), u("staff_need", None), u("earliest_day", None))
    needs = ("urgency", "staff_need", "earliest_offset_days")
    for name, values in zip(needs, _needs(d, older, month, draws), strict=True):
        columns[name][:] = values
    if weekly is not None and weekly.varies:
        # Options phasing in may change what needs need: each week's episodes follow the
        # demand settings then in force (same draws, so the same patients).
        week = weekly.week_of_day(day)
        for c in weekly.distinct():
            if c.assumptions.demand == d:
                continue
            here = np.isin(week, [w for w, x in enumerate(weekly.by_week) if x is c])
            if here.any():
                parts = _needs(
                    c.assumptions.demand, older[here], month[here], [x[here] for x in draws]
                )
                for name, values in zip(needs, parts, strict=True):
                    columns[name][here] = values
    for name in UNIFORM_ATTRIBUTES:
        u(name, out=columns[f"u_{name}"])
    key = streams.generator(f"attribute.key.{code}").bit_generator
    columns["key"][:] = key.random_raw(len(scratch))


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
    staff = np.array([d.staff_need_share[x] for x in STAFF_NEEDS])
    return (
        _urgencies(d, older, month, u_urgency),
        _categorical(u_staff, staff),
        _earliest_offsets(u_earliest, d.routine_earliest_day_share),
    )


def _urgencies(d: Demand, older: np.ndarray, month: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Urgency of each need from its uniform, by the month it arises (winter acuity) and
    whether the patient is 65 or over: :func:`_categorical` with each need's own shares. Its
    cumulative shares are looked up per need from a (month, 65+) table, so one pass over the
    needs serves every month, instead of one per month and age group."""
    if all(m == 1.0 for m in d.urgent_share_month_multiplier):
        urgent_by_month = np.full(12, d.urgency_share["urgent"])
    else:
        urgent_by_month = urgent_share_by_month(d)
    # shares[month, 65+], and the cumulative shares _categorical uses (the last made certain)
    shares = np.array([_urgency_shares(d, float(urgent)) for urgent in urgent_by_month])
    bounds = np.cumsum(shares, axis=-1)
    bounds[..., -1] = 1.0 + 1e-12
    group = month.astype(np.int64) * 2 + older
    if np.any(np.diff(bounds, axis=-1) < 0):  # refused by validation; be exact anyway
        urgency = np.empty(len(u), dtype=np.int8)
        for g in np.unique(group):
            here = group == g
            urgency[here] = _categorical(u[here], shares[g // 2, g % 2])
        return urgency
    urgency = np.zeros(len(u), dtype=np.int8)
    for k in range(len(URGENCIES) - 1):  # u < 1 < the last bound: it is never reached
        urgency += u >= bounds[:, :, k].ravel().take(group)
    return urgency


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
