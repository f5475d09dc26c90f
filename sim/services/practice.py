"""GP practices: appointment books built from staff in post, session times and the calendar.

The practices' KPIs (appointments, same-day access, waits, third next available, DNA) are in
:mod:`sim.core.kpis`, which predates the service registry; their pay, per FTE employed, in
:mod:`sim.core.workforce`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.booking.book import AppointmentBook
from sim.booking.layout import session_slot_times, split_on_the_day
from sim.config.schema import STAFF_TYPES, WEEKDAYS, ModelConfig
from sim.core.calendar import Calendar
from sim.core.sessions import daily_clinicians, open_sessions, sickness_factor
from sim.core.workforce import make_workforce, practice_staff_costs
from sim.services.registry import FlowNode, Service


@dataclass
class PracticeBooks:
    """Appointment books of every practice: ``books[practice][staff_type]``."""

    codes: list[str]
    books: list[list[AppointmentBook]]
    list_sizes: np.ndarray  # registered patients per practice
    weekly_slots: np.ndarray  # (practice, staff type) slots offered a week, on average

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


def build_practice_books(cfg: ModelConfig, calendar: Calendar) -> PracticeBooks:
    """Each practice's GP, nurse and pharmacist books, day by day: clinicians in post (and
    locums) each week, sessions spread over the days practices are open (bank holidays and
    protected learning afternoons closed), fewer in winter's sickness (:mod:`sim.core.sessions`)."""
    site = cfg.site
    cap = site.practice_capacity
    notice = cfg.assumptions.booking.min_notice_minutes
    working = [WEEKDAYS.index(w) for w in site.core_hours.weekdays]
    sessions = [(s.start_minute, s.end_minute) for s in cap.sessions]
    workforce = make_workforce(cfg, calendar)
    fte = (workforce.in_post + workforce.locum)[np.arange(calendar.n_days) // 7]  # (day, P, S)
    open_ = open_sessions(calendar, [start for start, _ in sessions])
    sickness = sickness_factor(calendar, cfg.assumptions.workforce.sickness_absence_by_month)
    books, weekly = [], []
    # A day's slots by (clinicians per session, slots per session): practices and staff
    # groups often have the same days, laid out once.
    laid_out: dict[tuple[tuple[int, ...], int], tuple[tuple[int, ...], tuple[int, ...]]] = {}
    for p in range(len(site.practices)):
        row, row_weekly = [], []
        for s, staff in enumerate(STAFF_TYPES):
            staff_cap = getattr(cap, staff)
            per_fte = staff_cap.sessions_per_fte_week * staff_cap.weeks_available_per_year / 52
            clinicians = daily_clinicians(
                fte[:, p, s] * per_fte * sickness, cap.weekday_weight, working, open_, calendar
            )
            # Days with the same clinicians share one template (stored once when packed).
            template: dict[tuple[int, ...], int] = {}
            pre_t, otd_t, of_day = [], [], []
            for day in map(tuple, clinicians.tolist()):
                if day not in template:
                    key = (day, staff_cap.slots_per_session)
                    if key not in laid_out:
                        times = session_slot_times(sessions, list(day), key[1])
                        laid_out[key] = split_on_the_day(times, cap.on_the_day_share)
                    pre, otd = laid_out[key]
                    template[day] = len(pre_t)
                    pre_t.append(pre)
                    otd_t.append(otd)
                of_day.append(template[day])
            row.append(AppointmentBook(pre_t, otd_t, of_day, cap.booking_horizon_days, notice))
            slots = clinicians.sum() * staff_cap.slots_per_session
            row_weekly.append(slots / (calendar.n_days / 7))
        books.append(row)
        weekly.append(row_weekly)
    return PracticeBooks(
        codes=list(site.practices),
        books=books,
        list_sizes=np.array([p.list_size for p in site.practices.values()], dtype=float),
        weekly_slots=np.array(weekly, dtype=float),
    )


def running_cost(k) -> float:
    """Practice staff over the window: pay of staff in post and locums covering vacancies,
    per whole-time equivalent (:func:`sim.core.workforce.practice_staff_costs`), whatever the
    slots offered."""
    pay, locums = practice_staff_costs(k)
    return pay + locums


SERVICE = Service(
    name="practice",
    title="GP practices",
    flow_nodes=(FlowNode("practice", "GP practice", 1, 1),),
    terminal_states=(("attended_practice", "seen at the patient's own practice"),),
    build_books=build_practice_books,
    running_cost=running_cost,
)
