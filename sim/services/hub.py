"""Locality hubs (extended access): one pooled appointment book per locality.

Capacity is set as clinical minutes per 1,000 registered patients per week (the PCN DES
measure) and spread evenly over the slot positions of the hubs' opening windows, so opening
8am-8pm 7 days with the same minutes thins the evenings; adding minutes adds slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..appointment_book import AppointmentBook, largest_remainder, split_on_the_day
from ..calendar import Calendar
from ..config import WEEKDAYS, ModelConfig


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


def build_hub_books(cfg: ModelConfig, calendar: Calendar) -> HubBooks:
    site = cfg.site
    hubs = site.hubs
    windows = {
        day: [(w.start_minute, w.end_minute) for w in wins] for day, wins in hubs.opening.items()
    }
    weekday_of_day = calendar.weekday.tolist()
    notice = cfg.assumptions.booking.min_notice_minutes
    books, weekly = [], []
    for loc in site.localities:
        patients = sum(p.list_size for p in site.practices.values() if p.locality == loc)
        slots = hubs.minutes_per_1000_per_week * patients / 1000 / hubs.slot_minutes
        templates = weekly_slot_templates(windows, slots, hubs.slot_minutes)
        pools = [split_on_the_day(t, hubs.on_the_day_share) for t in templates]
        books.append(
            AppointmentBook(
                [p for p, _ in pools],
                [o for _, o in pools],
                weekday_of_day,
                hubs.booking_horizon_days,
                notice,
            )
        )
        weekly.append(sum(len(t) for t in templates))
    return HubBooks(list(site.localities), books, np.array(weekly, dtype=float))
