"""Rapid assessment clinics (RAC): weekday clinics for frail older people, booked through a
single point of access that offers the earliest slot at any site."""

from __future__ import annotations

from dataclasses import dataclass

from sim.booking.book import AppointmentBook
from sim.booking.layout import session_slot_times
from sim.config.schema import WEEKDAYS, ModelConfig
from sim.core.calendar import Calendar
from sim.services.registry import FlowNode, Service


@dataclass
class ClinicBooks:
    sites: list[str]
    books: list[AppointmentBook]
    weekly_sessions: int  # clinic sessions a week across all sites

    def appointment_books(self) -> list[AppointmentBook]:
        return list(self.books)


def build_rac_books(cfg: ModelConfig, calendar: Calendar) -> ClinicBooks:
    rac = cfg.site.rapid_assessment
    weekday_of_day = calendar.weekday.tolist()
    books, sessions = [], 0
    for site in rac.sites.values():
        window = [(site.session_start_minute, site.session_end_minute)]
        templates = []
        for name in WEEKDAYS:
            n = site.sessions_per_weekday.get(name, 0)
            sessions += n
            templates.append(tuple(session_slot_times(window, [n], site.slots_per_session)))
        # All clinic slots are bookable by the single point of access up to two weeks ahead.
        empty = [()] * 7
        books.append(AppointmentBook(templates, empty, weekday_of_day, 14, 0))
    return ClinicBooks(list(rac.sites), books, sessions)


def running_cost(k) -> float:
    """Clinic sessions over the window x running cost per session."""
    clinics = k.service_books["rapid_assessment"]
    return (
        clinics.weekly_sessions * k.weeks * k.cfg.site.rapid_assessment.running_cost_per_session_gbp
    )


SERVICE = Service(
    name="rapid_assessment",
    title="Rapid assessment clinics",
    flow_nodes=(FlowNode("rac", "Rapid assessment clinic", 2, 5),),
    terminal_states=(("rac_home", "assessed at a rapid assessment clinic and went home"),),
    build_books=build_rac_books,
    running_cost=running_cost,
    site_scaled=("rapid_assessment.sites.*.sessions_per_weekday",),
)
