"""Locality hubs (extended access): one pooled appointment book per locality, bookable by
every practice in it and by NHS 111. The builder serves other pooled locality services too
(the frail weekend GP service).

Capacity is set as clinical minutes per 1,000 registered patients per week (the PCN DES
measure) and spread evenly over the slot positions of the hubs' opening windows, so opening
8am-8pm 7 days with the same minutes thins the evenings; adding minutes adds slots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.booking.book import AppointmentBook
from sim.booking.layout import split_on_the_day
from sim.config.schema import FIRST_OLDER_BAND, WEEKDAYS, ModelConfig
from sim.core.calendar import Calendar
from sim.core.programme import weekly_configs
from sim.services.registry import FlowNode, Service


@dataclass
class HubBooks:
    localities: list[str]
    books: list[AppointmentBook]  # one per locality, same order
    weekly_slots: np.ndarray  # slots offered per locality in a week

    def appointment_books(self) -> list[AppointmentBook]:
        return list(self.books)

    def slots_between(self, first_day: int, last_day: int) -> int:
        """Slots offered by every locality on days ``first_day .. last_day - 1``."""
        return sum(b.slots_between(first_day, last_day) for b in self.books)


def weekly_slot_templates(
    windows_by_weekday: dict[str, list[tuple[int, int]]], slots_per_week: float, slot_minutes: int
) -> list[list[int]]:
    """Slot start minutes for each weekday, spreading a week's slots over the window positions."""
    positions = [
        (wd, start + k * slot_minutes)
        for wd, name in enumerate(WEEKDAYS)
        for start, end in windows_by_weekday.get(name, [])
        for k in range((end - start) // slot_minutes)
    ]
    # Evenly spaced: position i gets floor((i+1)T/n) - floor(iT/n) of the T slots, so slots
    # beyond one per position spread over the whole week rather than piling onto Monday.
    total, n = max(int(round(slots_per_week)), 0), len(positions)
    counts = [(i + 1) * total // n - i * total // n for i in range(n)]
    templates: list[list[int]] = [[] for _ in WEEKDAYS]
    for (wd, minute), k in zip(positions, counts, strict=True):
        templates[wd].extend([minute] * k)
    for t in templates:
        t.sort()
    return templates


@dataclass(frozen=True)
class PooledWeek:
    """A pooled service's week as one configuration and population set it."""

    slots_per_week_by_locality: dict[str, float]
    opening: dict
    slot_minutes: int
    on_the_day_share: float


def build_pooled_books(
    cfg: ModelConfig,
    calendar: Calendar,
    week: Callable[[ModelConfig, int], PooledWeek],
    horizon_days: int,
) -> HubBooks:
    """One book per locality whose week of slots is spread over the opening windows.

    ``week(config, year)`` gives the service's week under each configuration in force (options
    phase in, :mod:`sim.core.programme`) and each programme year's population; days take their
    week's and year's templates, and bank holidays an empty one (shut [P])."""
    weekly_cfg = weekly_configs(cfg, calendar)
    days = np.arange(calendar.n_days)
    keys = list(
        zip(weekly_cfg.week_of_day(days).tolist(), calendar.programme_year.tolist(), strict=True)
    )
    distinct: dict[tuple[int, int], int] = {}
    plans: list[PooledWeek] = []
    for w, year in keys:
        key = (id(weekly_cfg.by_week[w]), year)
        if key not in distinct:
            distinct[key] = len(plans)
            plans.append(week(weekly_cfg.by_week[w], year))
    closed = calendar.is_bank_holiday
    notice = cfg.assumptions.booking.min_notice_minutes
    books, weekly = [], []
    for loc in cfg.site.localities:
        pools: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        for plan in plans:
            windows = {
                day: [(w.start_minute, w.end_minute) for w in wins]
                for day, wins in plan.opening.items()
            }
            templates = weekly_slot_templates(
                windows, plan.slots_per_week_by_locality[loc], plan.slot_minutes
            )
            pools += [split_on_the_day(t, plan.on_the_day_share) for t in templates]
        pools.append(((), ()))  # bank holidays
        of_day = [
            len(pools) - 1 if closed[d] else 7 * distinct[(id(weekly_cfg.by_week[w]), y)] + d % 7
            for d, (w, y) in zip(days.tolist(), keys, strict=True)
        ]
        books.append(
            AppointmentBook(
                [p for p, _ in pools], [o for _, o in pools], of_day, horizon_days, notice
            )
        )
        weekly.append(sum(len(p) + len(o) for p, o in pools[:7]))
    return HubBooks(list(cfg.site.localities), books, np.array(weekly, dtype=float))


def locality_population(
    cfg: ModelConfig, older_only: bool = False, year: int = 1
) -> dict[str, float]:
    """Registered patients per locality (only those 65+ when ``older_only``) in programme
    ``year`` (lists change by age band with the practice's population index, see
    :func:`sim.core.demand.population_index_table`)."""
    from sim.core.demand import population_index_table, practice_age_shares

    table = population_index_table(cfg)  # (P, years given, A)
    grown = table[:, min(year, table.shape[1]) - 1, :]
    shares = practice_age_shares(cfg)
    # each list grows with its own age mix (year 1 exactly as given)
    growth = (shares * grown).sum(axis=1) / shares.sum(axis=1)
    older = (shares * grown)[:, FIRST_OLDER_BAND:].sum(axis=1)
    out = {loc: 0.0 for loc in cfg.site.localities}
    for i, p in enumerate(cfg.site.practices.values()):
        out[p.locality] += p.list_size * (older[i] if older_only else growth[i])
    return out


def hub_week(cfg: ModelConfig, year: int) -> PooledWeek:
    """Hub minutes per 1,000 patients of the year's registered population (the enhanced access
    funding is per patient)."""
    hubs = cfg.site.hubs
    slots = {
        loc: hubs.minutes_per_1000_per_week * n / 1000 / hubs.slot_minutes
        for loc, n in locality_population(cfg, year=year).items()
    }
    return PooledWeek(slots, hubs.opening, hubs.slot_minutes, hubs.on_the_day_share)


def build_hub_books(cfg: ModelConfig, calendar: Calendar) -> HubBooks:
    return build_pooled_books(cfg, calendar, hub_week, cfg.site.hubs.booking_horizon_days)


def running_cost(k) -> float:
    """Hub capacity over the window: slots offered x running cost per slot."""
    slots = k.service_books["hub"].slots_between(k.first_day, k.last_day)
    return slots * k.cfg.site.hubs.running_cost_per_slot_gbp


SERVICE = Service(
    name="hub",
    title="Locality hubs (extended access)",
    flow_nodes=(FlowNode("hub", "Locality hub", 2, 1),),
    terminal_states=(("attended_hub", "seen at the locality hub (extended access)"),),
    build_books=build_hub_books,
    running_cost=running_cost,
)
