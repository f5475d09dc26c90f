"""Rapid assessment clinics (RAC): weekday clinics for frail older people, booked through a
single point of access that offers the earliest slot at any site."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.booking.book import AppointmentBook
from sim.booking.layout import session_slot_times
from sim.config.schema import WEEKDAYS, ModelConfig
from sim.core.calendar import CLOSED, Calendar
from sim.core.programme import weekly_configs
from sim.services.registry import FlowNode, Service


@dataclass
class ClinicBooks:
    sites: list[str]
    books: list[AppointmentBook]
    weekly_sessions: int  # clinic sessions a week across all sites, every option in full

    def appointment_books(self) -> list[AppointmentBook]:
        return list(self.books)


def build_rac_books(cfg: ModelConfig, calendar: Calendar) -> ClinicBooks:
    """One book per site. Each day has the sessions of its weekday at the configuration in
    force that week (options phase in, :mod:`sim.core.programme`; a site an option opens has
    none before it starts), none on bank holidays (clinics shut [P])."""
    weekly = weekly_configs(cfg, calendar)
    plans = weekly.distinct()
    plan_of = {id(c): k for k, c in enumerate(plans)}
    week = weekly.week_of_day(np.arange(calendar.n_days))
    weekday_of_day = calendar.weekday_or_closed()
    closed = 7 * len(plans)  # the bank holiday template, after every plan's week
    of_day = [
        closed if wd == CLOSED else 7 * plan_of[id(weekly.by_week[w])] + wd
        for w, wd in zip(week.tolist(), weekday_of_day, strict=True)
    ]
    books = []
    for name in cfg.site.rapid_assessment.sites:
        templates = []
        for plan in plans:
            site = plan.site.rapid_assessment.sites.get(name)
            for day in WEEKDAYS:
                if site is None:
                    templates.append(())
                    continue
                window = [(site.session_start_minute, site.session_end_minute)]
                n = site.sessions_per_weekday.get(day, 0)
                templates.append(tuple(session_slot_times(window, [n], site.slots_per_session)))
        # All clinic slots are bookable by the single point of access up to two weeks ahead.
        templates.append(())  # bank holidays
        empty = [()] * len(templates)
        books.append(AppointmentBook(templates, empty, of_day, 14, 0))
    sessions = sum(
        sum(s.sessions_per_weekday.values()) for s in cfg.site.rapid_assessment.sites.values()
    )
    return ClinicBooks(list(cfg.site.rapid_assessment.sites), books, sessions)


def running_cost(k) -> float:
    """Clinic sessions held on the window's days (each day's sessions for its weekday, at the
    configuration then in force; none on bank holidays) x running cost per session."""
    cost = 0.0
    for day in range(k.first_day, k.last_day):
        if k.calendar.is_bank_holiday[day]:
            continue
        rac = k.weekly.on_day(day).site.rapid_assessment
        name = WEEKDAYS[k.calendar.weekday[day]]
        sessions = sum(s.sessions_per_weekday.get(name, 0) for s in rac.sites.values())
        cost += sessions * rac.running_cost_per_session_gbp
    return cost


SERVICE = Service(
    name="rapid_assessment",
    title="Rapid assessment clinics",
    flow_nodes=(FlowNode("rac", "Rapid assessment clinic", 2, 5),),
    terminal_states=(("rac_home", "assessed at a rapid assessment clinic and went home"),),
    build_books=build_rac_books,
    running_cost=running_cost,
    site_scaled=("rapid_assessment.sites.*.sessions_per_weekday",),
)
