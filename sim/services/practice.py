"""GP practices: appointment books built from workforce per 1,000 patients and session times.

The practices' KPIs (appointments, same-day access, waits, third next available, DNA) are in
:mod:`sim.core.kpis`, which predates the service registry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.booking.book import AppointmentBook
from sim.booking.layout import largest_remainder, session_slot_times, split_on_the_day
from sim.config.schema import STAFF_TYPES, WEEKDAYS, ModelConfig
from sim.core.calendar import Calendar
from sim.services.registry import FlowNode, Service


@dataclass
class PracticeBooks:
    """Appointment books of every practice: ``books[practice][staff_type]``."""

    codes: list[str]
    books: list[list[AppointmentBook]]
    list_sizes: np.ndarray  # registered patients per practice
    weekly_slots: np.ndarray  # (practice, staff type) slots offered in a typical week

    def appointment_books(self) -> list[AppointmentBook]:
        """Every book, practice by practice: practice p's staff type s is book p * S + s."""
        return [book for row in self.books for book in row]

    def offered_by_staff(self, first_day: int, last_day: int) -> np.ndarray:
        """(staff type,) slots offered by all practices on days ``first_day .. last_day - 1``."""
        return np.array(
            [
                sum(row[s].slots_between(first_day, last_day) for row in self.books)
                for s in range(len(self.books[0]) if self.books else 0)
            ]
        )

    def offered_between(self, first_day: int, last_day: int) -> np.ndarray:
        """(practice,) slots offered on days ``first_day .. last_day - 1``."""
        return np.array(
            [sum(book.slots_between(first_day, last_day) for book in row) for row in self.books]
        )


def clinicians_per_session(
    sessions_per_week: float, weekday_weight: list[float], working_days: list[int], n_sessions: int
) -> dict[int, list[int]]:
    """Spread a week's clinical sessions over working weekdays and the day's session blocks."""
    blocks = [(wd, s) for wd in working_days for s in range(n_sessions)]
    weights = [weekday_weight[wd] for wd, _ in blocks]
    counts = largest_remainder(sessions_per_week, weights)
    out = {wd: [0] * n_sessions for wd in range(7)}
    for (wd, s), k in zip(blocks, counts, strict=True):
        out[wd][s] = k
    return out


def build_practice_books(cfg: ModelConfig, calendar: Calendar) -> PracticeBooks:
    site = cfg.site
    cap = site.practice_capacity
    notice = cfg.assumptions.booking.min_notice_minutes
    working = [WEEKDAYS.index(w) for w in site.core_hours.weekdays]
    sessions = [(s.start_minute, s.end_minute) for s in cap.sessions]
    weekday_of_day = calendar.weekday.tolist()
    books, weekly = [], []
    for practice in site.practices.values():
        row, row_weekly = [], []
        for staff in STAFF_TYPES:
            staff_cap = getattr(cap, staff)
            override = getattr(practice, f"{staff}_fte")
            fte = (
                override
                if override is not None
                else staff_cap.fte_per_1000 * practice.list_size / 1000
            )
            per_week = (
                fte * staff_cap.sessions_per_fte_week * staff_cap.weeks_available_per_year / 52
            )
            per_session = clinicians_per_session(
                per_week, cap.weekday_weight, working, len(sessions)
            )
            pre_t, otd_t = [], []
            for wd in range(7):
                times = session_slot_times(sessions, per_session[wd], staff_cap.slots_per_session)
                pre, otd = split_on_the_day(times, cap.on_the_day_share)
                pre_t.append(pre)
                otd_t.append(otd)
            row.append(
                AppointmentBook(pre_t, otd_t, weekday_of_day, cap.booking_horizon_days, notice)
            )
            row_weekly.append(sum(len(p) + len(o) for p, o in zip(pre_t, otd_t, strict=True)))
        books.append(row)
        weekly.append(row_weekly)
    return PracticeBooks(
        codes=list(site.practices),
        books=books,
        list_sizes=np.array([p.list_size for p in site.practices.values()], dtype=float),
        weekly_slots=np.array(weekly, dtype=float),
    )


def running_cost(k) -> float:
    """Practice capacity over the window: slots offered by staff type x cost per appointment."""
    costs = k.cfg.assumptions.unit_costs
    staff_cost = {
        "gp": costs.gp_appointment,
        "nurse": costs.nurse_appointment,
        "pharmacist": costs.pharmacist_appointment,
    }
    offered = k.service_books["practice"].offered_by_staff(k.first_day, k.last_day)
    return sum(offered[i] * staff_cost[s] for i, s in enumerate(STAFF_TYPES))


SERVICE = Service(
    name="practice",
    title="GP practices",
    flow_nodes=(FlowNode("practice", "GP practice", 1, 1),),
    terminal_states=(("attended_practice", "seen at the patient's own practice"),),
    build_books=build_practice_books,
    running_cost=running_cost,
)
