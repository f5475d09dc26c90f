"""Locality hubs (extended access) and other pooled locality services: one appointment book
per locality.

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


@dataclass
class HubBooks:
    localities: list[str]
    books: list[AppointmentBook]  # one per locality, same order
    weekly_slots: np.ndarray  # slots offered per locality in a week


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


def build_frail_weekend_books(cfg: ModelConfig, calendar: Calendar) -> HubBooks:
    """The weekend service for frail patients: same-day visits only."""
    svc = cfg.site.frail_weekend_service
    slots = {
        loc: svc.minutes_per_1000_65plus_per_week * n / 1000 / svc.slot_minutes
        for loc, n in locality_population(cfg, older_only=True).items()
    }
    return build_pooled_books(cfg, calendar, slots, svc.opening, svc.slot_minutes, 1.0, 0)
