"""Locality hubs (extended access): one pooled appointment book per locality, bookable by
every practice in it and by NHS 111. The builder serves other pooled locality services too
(the frail weekend GP service).

Capacity is set as clinical minutes per 1,000 registered patients per week (the PCN DES
measure) and spread evenly over the slot positions of the hubs' opening windows, so opening
8am-8pm 7 days with the same minutes thins the evenings; adding minutes adds slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.booking.book import AppointmentBook
from sim.booking.layout import largest_remainder, split_on_the_day
from sim.config.schema import FIRST_OLDER_BAND, WEEKDAYS, ModelConfig
from sim.core.calendar import Calendar
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
    counts = largest_remainder(slots_per_week, [1.0] * len(positions)) if positions else []
    templates: list[list[int]] = [[] for _ in WEEKDAYS]
    for (wd, minute), k in zip(positions, counts, strict=True):
        templates[wd].extend([minute] * k)
    for t in templates:
        t.sort()
    return templates


def build_pooled_books(
    cfg: ModelConfig,
    calendar: Calendar,
    slots_per_week_by_locality: dict[str, float],
    opening: dict,
    slot_minutes: int,
    on_the_day_share: float,
    horizon_days: int,
) -> HubBooks:
    """One book per locality whose week of slots is spread over the opening windows."""
    windows = {day: [(w.start_minute, w.end_minute) for w in wins] for day, wins in opening.items()}
    weekday_of_day = calendar.weekday.tolist()
    notice = cfg.assumptions.booking.min_notice_minutes
    books, weekly = [], []
    for loc in cfg.site.localities:
        templates = weekly_slot_templates(windows, slots_per_week_by_locality[loc], slot_minutes)
        pools = [split_on_the_day(t, on_the_day_share) for t in templates]
        books.append(
            AppointmentBook(
                [p for p, _ in pools], [o for _, o in pools], weekday_of_day, horizon_days, notice
            )
        )
        weekly.append(sum(len(t) for t in templates))
    return HubBooks(list(cfg.site.localities), books, np.array(weekly, dtype=float))


def locality_population(cfg: ModelConfig, older_only: bool = False) -> dict[str, float]:
    """Registered patients per locality (only those 65+ when ``older_only``)."""
    from sim.core.demand import practice_age_shares

    shares = practice_age_shares(cfg)
    older = shares[:, FIRST_OLDER_BAND:].sum(axis=1)
    out = {loc: 0.0 for loc in cfg.site.localities}
    for i, p in enumerate(cfg.site.practices.values()):
        out[p.locality] += p.list_size * (older[i] if older_only else 1.0)
    return out


def build_hub_books(cfg: ModelConfig, calendar: Calendar) -> HubBooks:
    hubs = cfg.site.hubs
    slots = {
        loc: hubs.minutes_per_1000_per_week * n / 1000 / hubs.slot_minutes
        for loc, n in locality_population(cfg).items()
    }
    return build_pooled_books(
        cfg,
        calendar,
        slots,
        hubs.opening,
        hubs.slot_minutes,
        hubs.on_the_day_share,
        hubs.booking_horizon_days,
    )


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
