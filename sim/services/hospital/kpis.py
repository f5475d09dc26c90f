"""The hospital's KPIs, costs and time series over a measurement window.

Every KPI here is defined for planners in ``docs/kpis.md``; the hospital's registry entry
(:mod:`sim.services.hospital.service`) declares them with every other service's. ``h`` is
always a :class:`sim.services.hospital.model.HospitalResult`, not imported here: the model
needs the booking pass's codes, and the registry, which the booking pass reads, must not
depend on them. Counting rules: attendances by arrival time, admissions by the time they
asked for a bed, IC+ step-ups by request time; occupancies (beds, no criteria to reside, IC+
and social care places) are time-weighted over the window; each duration belongs to the
event that starts it and counts in full.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.config.schema import FIRST_OLDER_BAND, WEEKDAYS, ModelConfig
from sim.core.calendar import MINUTES_PER_DAY, WEEKS_PER_YEAR, Calendar
from sim.core.occupancy import occupancy_between
from sim.services.hospital.discharge import HOME, SOCIAL_CARE, STEP_DOWN
from sim.services.hospital.intermediate_care import FRONT_DOOR
from sim.services.registry import Kpi

_WEEK = "per week"
#: key -> (unit, label, better): "higher", "lower" or None when neither is better.
_DEFINITIONS: dict[str, tuple[str, str, str | None]] = {
    "ic.occupancy": ("share of places", "Intermediate care (IC+) occupancy", None),
    "ic.step_up_per_week": (
        "people per week",
        "IC+ step-ups started (admissions avoided)",
        "higher",
    ),
    "ic.step_up_wait_days_mean": ("days", "IC+ wait, step-up (mean)", "lower"),
    "ic.step_down_wait_days_mean": ("days", "IC+ wait in hospital, step-down (mean)", "lower"),
    "social_care.wait_days_mean": (
        "days",
        "Wait in hospital for social care / discharge to assess (mean)",
        "lower",
    ),
    "ae.attendances_per_week": ("attendances per week", "A&E attendances", "lower"),
    "ae.attendances_per_1000_year": (
        "attendances per 1,000 patients per year",
        "A&E attendance rate",
        "lower",
    ),
    "ae.primary_care_treatable_per_week": (
        "attendances per week",
        "A&E attendances treatable in primary care",
        "lower",
    ),
    "ae.primary_care_treatable_share": (
        "share of attendances",
        "Share of A&E treatable in primary care",
        "lower",
    ),
    "ae.monday_share": ("share of attendances", "A&E attendances on Mondays", None),
    "ae.four_hour_performance": (
        "share of attendances",
        "A&E 4-hour performance (type 1)",
        "higher",
    ),
    "ae.twelve_hour_share": (
        "share of attendances",
        "A&E attendances over 12 hours from arrival",
        "lower",
    ),
    "ae.time_in_department_mean_min": ("minutes", "A&E time in department (mean)", "lower"),
    "ae.time_in_department_p95_min": (
        "minutes",
        "A&E time in department (95th centile)",
        "lower",
    ),
    "ae.decision_to_admit_wait_mean_min": (
        "minutes",
        "Exit block: wait from decision to admit to a bed (mean)",
        "lower",
    ),
    "ae.decision_to_admit_over_4h_share": (
        "share of A&E admissions to a bed",
        "Waits over 4 hours from decision to admit",
        "lower",
    ),
    "ae.decision_to_admit_over_12h_share": (
        "share of A&E admissions to a bed",
        "Waits over 12 hours from decision to admit",
        "lower",
    ),
    "ae.handover_mean_min": ("minutes", "Ambulance handover (mean)", "lower"),
    "ae.handover_over_30_share": (
        "share of ambulance arrivals",
        "Ambulance handovers over 30 minutes",
        "lower",
    ),
    "ae.handover_over_60_share": (
        "share of ambulance arrivals",
        "Ambulance handovers over 60 minutes",
        "lower",
    ),
    "ae.left_without_being_seen_share": (
        "share of attendances",
        "Left A&E without being seen",
        "lower",
    ),
    "ae.admissions_per_week": (
        "admissions per week",
        "Decisions to admit in A&E (beds and SDEC)",
        "lower",
    ),
    "ae.conversion": ("share of attendances", "A&E admission conversion", None),
    "ae.conversion_65plus": (
        "share of attendances aged 65+",
        "A&E admission conversion, 65+",
        None,
    ),
    "ae.frailty_assessments_per_week": (
        "patients per week",
        "Comprehensive geriatric assessments by the frailty team in A&E",
        None,
    ),
    "ae.frailty_turned_round_per_week": (
        "patients per week",
        "Would-be admissions the frailty team sent home with support",
        "higher",
    ),
    "sdec.patients_per_week": (
        "patients per week",
        "Same-day emergency care (SDEC) patients",
        None,
    ),
    "hospital.bed_occupancy": ("share of beds", "General and acute bed occupancy", "lower"),
    "hospital.bed_occupancy_winter": (
        "share of beds",
        "General and acute bed occupancy, December to February",
        "lower",
    ),
    "hospital.bed_occupancy_summer": (
        "share of beds",
        "General and acute bed occupancy, June to August",
        "lower",
    ),
    "hospital.days_over_92_share": (
        "share of days",
        "Days with bed occupancy above 92%",
        "lower",
    ),
    "hospital.days_over_95_share": (
        "share of days",
        "Days with bed occupancy above 95%",
        "lower",
    ),
    "hospital.escalation_spaces_in_use": (
        "spaces (mean)",
        "Escalation spaces in use (full-capacity protocol)",
        "lower",
    ),
    "hospital.nctr_beds": (
        "beds (mean)",
        "Beds occupied by patients with no criteria to reside",
        "lower",
    ),
    "hospital.nctr_share": (
        "share of beds",
        "Share of beds occupied by patients with no criteria to reside",
        "lower",
    ),
    "hospital.delayed_discharge_bed_days_per_week": (
        "bed days per week",
        "Delayed-discharge bed days (waiting for IC+ or social care)",
        "lower",
    ),
    "system.admissions_per_week": (
        "admissions per week",
        "Emergency admissions to a bed (all routes)",
        "lower",
    ),
    "system.bed_days_per_week": ("bed days per week", "Emergency bed days", "lower"),
}
HOSPITAL_KPIS: dict[str, Kpi] = {key: Kpi(*d) for key, d in _DEFINITIONS.items()}
#: Exit-block and 12-hour thresholds (minutes).
FOUR_HOURS, TWELVE_HOURS = 240.0, 720.0
HANDOVER_THRESHOLDS = (30.0, 60.0)
#: Bed occupancy thresholds of the "share of days" KPIs.
OCCUPANCY_THRESHOLDS = (0.92, 0.95)


def _share(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else float("nan")


class Window:
    """The measurement window ``[first_minute, last_minute)``."""

    def __init__(self, first_day: int, last_day: int):
        self.first_day, self.last_day = first_day, last_day
        self.lo, self.hi = first_day * MINUTES_PER_DAY, last_day * MINUTES_PER_DAY
        self.weeks = (last_day - first_day) / 7

    def holds(self, minutes: np.ndarray) -> np.ndarray:
        """Which ``minutes`` fall in the window; NaN (never happened) in none."""
        m = np.asarray(minutes, dtype=float)
        return (m >= self.lo) & (m < self.hi)

    def day_edges(self) -> np.ndarray:
        return np.arange(self.first_day, self.last_day + 1, dtype=float) * MINUTES_PER_DAY


def _waits_days(start: np.ndarray, end: np.ndarray, stop: float) -> np.ndarray:
    """Waits in days; one not over by ``stop`` counts until then."""
    return (np.where(np.isnan(end), stop, end) - start) / MINUTES_PER_DAY


def ae_kpis(h: Any, cfg: ModelConfig, w: Window, population: float) -> dict[str, float]:
    att, ae = h.attendances, h.ae
    arrive = att.time
    inside = w.holds(arrive)
    n = int(inside.sum())
    # Still in the department when the simulation stopped: longer than any threshold.
    depart = np.where(np.isnan(ae.departure_time), h.end_minutes, ae.departure_time)
    stay = (depart - arrive)[inside]
    admitted = ae.admitted & inside
    older = inside & (att.age_band >= FIRST_OLDER_BAND)
    treatable = att.primary_care_treatable & inside
    to_bed = admitted & ~ae.sdec
    dta_wait = (depart - ae.decision_time)[to_bed]
    amb = inside & att.ambulance & att.majors
    handover = np.where(np.isnan(ae.handover_minutes), depart - arrive, ae.handover_minutes)[amb]
    monday = (arrive[inside] // MINUTES_PER_DAY).astype(np.int64) % 7 == 0  # day 0: a Monday
    return {
        "ae.attendances_per_week": n / w.weeks,
        "ae.attendances_per_1000_year": n / w.weeks * WEEKS_PER_YEAR / (population / 1000),
        "ae.primary_care_treatable_per_week": treatable.sum() / w.weeks,
        "ae.primary_care_treatable_share": _share(treatable.sum(), n),
        "ae.monday_share": _share(monday.sum(), n),
        "ae.four_hour_performance": _share((stay <= cfg.assumptions.ae.four_hour_minutes).sum(), n),
        "ae.twelve_hour_share": _share((stay > TWELVE_HOURS).sum(), n),
        "ae.time_in_department_mean_min": _mean(stay),
        "ae.time_in_department_p95_min": (
            float(np.percentile(stay, 95)) if stay.size else float("nan")
        ),
        "ae.decision_to_admit_wait_mean_min": _mean(dta_wait),
        "ae.decision_to_admit_over_4h_share": _share((dta_wait > FOUR_HOURS).sum(), dta_wait.size),
        "ae.decision_to_admit_over_12h_share": _share(
            (dta_wait > TWELVE_HOURS).sum(), dta_wait.size
        ),
        "ae.handover_mean_min": _mean(handover),
        "ae.handover_over_30_share": _share((handover > HANDOVER_THRESHOLDS[0]).sum(), amb.sum()),
        "ae.handover_over_60_share": _share((handover > HANDOVER_THRESHOLDS[1]).sum(), amb.sum()),
        "ae.left_without_being_seen_share": _share((ae.left_unseen & inside).sum(), n),
        "ae.admissions_per_week": admitted.sum() / w.weeks,
        "ae.conversion": _share(admitted.sum(), n),
        "ae.conversion_65plus": _share((admitted & older).sum(), older.sum()),
        "ae.frailty_assessments_per_week": (ae.front_of_house & inside).sum() / w.weeks,
        "ae.frailty_turned_round_per_week": (ae.turned_round & inside).sum() / w.weeks,
        "sdec.patients_per_week": (ae.sdec & inside).sum() / w.weeks,
    }


def _per_capacity(used: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Share of capacity in use per interval (NaN where there is none)."""
    return np.divide(used, capacity, out=np.full(len(used), np.nan), where=capacity > 0)


#: Calendar months (0 = January) of the seasonal occupancy KPIs.
WINTER_MONTHS, SUMMER_MONTHS = (11, 0, 1), (5, 6, 7)


def bed_kpis(h: Any, w: Window, month_of_day: np.ndarray) -> dict[str, float]:
    """Occupancy shares are of the beds open over the window (time-weighted when options
    phase beds in: :mod:`sim.services.hospital.capacity`); ``month_of_day``: calendar month
    (0 = January) of each day of the run, for the seasonal occupancies."""
    a = h.admissions
    edges = w.day_edges()
    daily = _per_capacity(h.beds_occupied(edges), h.capacity_between("beds", edges))
    month = np.asarray(month_of_day)[w.first_day : w.last_day]
    whole = np.array([w.lo, w.hi])
    beds = float(h.capacity_between("beds", whole)[0])
    nctr = float(h.nctr_beds(whole)[0])
    # Waiting for IC+ or social care after medically optimised: those pathways' NCTR time.
    waiting = (a.pathway != HOME) & np.isfinite(a.optimised_time)
    leave = np.where(np.isnan(a.leave_time), np.inf, a.leave_time)
    delayed = float(occupancy_between(a.optimised_time[waiting], leave[waiting], whole)[0])
    emergency = a.emergency & w.holds(a.request_time) & np.isfinite(a.bed_time)
    bed_days = (np.where(np.isnan(a.leave_time), h.end_minutes, a.leave_time) - a.bed_time)[
        emergency
    ] / MINUTES_PER_DAY
    return {
        "hospital.bed_occupancy": _share(float(h.beds_occupied(whole)[0]), beds),
        # Every day weighs the same: the mean of time-weighted daily occupancies
        "hospital.bed_occupancy_winter": _mean(daily[np.isin(month, WINTER_MONTHS)]),
        "hospital.bed_occupancy_summer": _mean(daily[np.isin(month, SUMMER_MONTHS)]),
        "hospital.days_over_92_share": float(np.mean(daily > OCCUPANCY_THRESHOLDS[0])),
        "hospital.days_over_95_share": float(np.mean(daily > OCCUPANCY_THRESHOLDS[1])),
        "hospital.escalation_spaces_in_use": float(h.escalation_occupied(whole)[0]),
        "hospital.nctr_beds": nctr,
        "hospital.nctr_share": _share(nctr, beds),
        "hospital.delayed_discharge_bed_days_per_week": delayed * 7,
        "system.admissions_per_week": (a.emergency & w.holds(a.request_time)).sum() / w.weeks,
        "system.bed_days_per_week": bed_days.sum() / w.weeks,
    }


def place_kpis(h: Any, step_up_time: np.ndarray, cfg: ModelConfig, w: Window) -> dict[str, float]:
    """IC+ and social care; ``step_up_time`` is each step-up request's minute."""
    whole = np.array([w.lo, w.hi])
    su = h.step_ups
    asked = w.holds(step_up_time)
    max_wait = cfg.assumptions.intermediate_care.step_up_max_wait_days
    up_wait = np.where(su.started, (su.start_time - step_up_time) / MINUTES_PER_DAY, np.nan)
    up_wait = np.where(su.admitted_instead, max_wait, up_wait)
    up_wait = up_wait[asked & (su.started | su.admitted_instead)]
    a = h.admissions
    optimised_in = w.holds(a.optimised_time)
    down = optimised_in & (a.pathway == STEP_DOWN)
    social = optimised_in & (a.pathway == SOCIAL_CARE)
    started = w.holds(su.start_time) & su.started
    front_door = w.holds(h.ic_stays["start"]) & (h.ic_stays["kind"] == FRONT_DOOR)
    ic_used = float(h.places_used(h.ic_stays, whole)[0])
    ic_places = float(h.capacity_between("ic_places", whole)[0])  # open over the window
    return {
        "ic.occupancy": _share(min(ic_used, ic_places), ic_places),
        "ic.step_up_per_week": (started.sum() + front_door.sum()) / w.weeks,
        "ic.step_up_wait_days_mean": _mean(up_wait),
        "ic.step_down_wait_days_mean": _mean(
            _waits_days(a.optimised_time[down], a.place_time[down], h.end_minutes)
        ),
        "social_care.wait_days_mean": _mean(
            _waits_days(a.optimised_time[social], a.place_time[social], h.end_minutes)
        ),
    }


def hospital_kpis(
    h: Any,
    step_up_time: np.ndarray,
    cfg: ModelConfig,
    first_day: int,
    last_day: int,
    population: float,
) -> dict[str, float]:
    """Every hospital KPI of :data:`HOSPITAL_KPIS` over days ``[first_day, last_day)``."""
    w = Window(first_day, last_day)
    out = ae_kpis(h, cfg, w, population)
    out.update(bed_kpis(h, w, Calendar(cfg.site.calendar_start, last_day, ()).month))
    out.update(place_kpis(h, step_up_time, cfg, w))
    return {name: out[name] for name in HOSPITAL_KPIS}


def _hours_open(
    open_minute: int, close_minute: int, weekdays: list[str], days: np.ndarray
) -> float:
    """Hours a session is open over days counted by weekday (``days``: (7,), Monday first). A
    session that closes before it opens runs overnight; equal minutes never open."""
    minutes = (close_minute - open_minute) % 1440
    return float(sum(days[WEEKDAYS.index(d)] for d in weekdays)) * minutes / 60


def hospital_capacity_costs(cfg: ModelConfig, days: np.ndarray) -> dict[str, float]:
    """£ the hospital's capacity costs over days counted by weekday (``days``: (7,), Monday
    first), used or not, at the configuration ``cfg``: G&A beds, IC+ places and social care
    places x days x cost per day; the frailty front of house x hours open x clinicians on duty x
    cost per clinician-hour; SDEC x hours open x cost per hour. Cash out (:mod:`sim.core.money`)."""
    site = cfg.site
    n_days = float(np.sum(days))
    ed = site.emergency_department
    foh, sdec = ed.frailty_front_of_house, ed.sdec
    return {
        "acute_beds": site.acute_beds.general_and_acute
        * n_days
        * site.acute_beds.running_cost_per_bed_day_gbp,
        "intermediate_care": site.intermediate_care.places
        * n_days
        * site.intermediate_care.running_cost_per_place_day_gbp,
        "social_care": site.social_care.places
        * n_days
        * site.social_care.running_cost_per_place_day_gbp,
        "frailty_front_of_house": (
            _hours_open(foh.open_minute, foh.close_minute, foh.weekdays, days)
            * foh.clinicians
            * foh.running_cost_per_clinician_hour_gbp
            if foh.enabled
            else 0.0
        ),
        "sdec": (
            _hours_open(sdec.open_minute, sdec.close_minute, sdec.weekdays, days)
            * sdec.running_cost_per_hour_gbp
            if sdec.spaces
            else 0.0
        ),
    }


def hospital_activity(h: Any, cfg: ModelConfig, first_day: int, last_day: int) -> dict[str, float]:
    """Units of the hospital's costed activity over the window, keyed by unit-cost name
    (``assumptions.unit_costs``): ambulance conveyances and A&E attendances arriving in the
    window; emergency admissions asking for a bed in it (short- or long-stay tariff by their
    acute stay, before any delay); delayed-discharge days of those admissions (bed days); SDEC
    patients."""
    w = Window(first_day, last_day)
    costs = cfg.assumptions.unit_costs
    att, ae = h.attendances, h.ae
    inside = w.holds(att.time)
    treatable = att.primary_care_treatable & inside
    a = h.admissions
    emergency = a.emergency & w.holds(a.request_time) & np.isfinite(a.bed_time)
    acute_days = (a.optimised_time - a.bed_time) / MINUTES_PER_DAY
    short = acute_days < costs.short_stay_max_days
    waiting = emergency & (a.pathway != HOME) & np.isfinite(a.optimised_time)
    delayed_days = (
        np.where(np.isnan(a.leave_time), h.end_minutes, a.leave_time) - a.optimised_time
    )[waiting] / MINUTES_PER_DAY
    return {
        "ambulance_conveyance": float((att.ambulance & inside).sum()),
        "ae_attendance_minor": float(treatable.sum()),
        "ae_attendance": float((inside & ~treatable).sum()),
        "admission_short_stay": float((emergency & short).sum()),
        "admission_long_stay": float((emergency & ~short).sum()),
        "bed_day": float(delayed_days.sum()),
        "sdec_attendance": float((ae.sdec & inside).sum()),
    }


def hospital_series(h: Any, first_day: int, last_day: int) -> dict[str, np.ndarray]:
    """Daily series over the window: beds occupied (share), NCTR beds, IC+ places used, A&E
    attendances and emergency admissions; and A&E occupancy by hour (the whole window)."""
    w = Window(first_day, last_day)
    edges = w.day_edges()
    a = h.admissions
    occupied = h.beds_occupied(edges)
    em = a.emergency

    def per_day(minutes: np.ndarray) -> np.ndarray:
        m = minutes[w.holds(minutes)]
        d = (np.floor(m / MINUTES_PER_DAY) - first_day).astype(np.int64)
        return np.bincount(d, minlength=last_day - first_day).astype(float)

    return {
        "bed_occupancy": _per_capacity(occupied, h.capacity_between("beds", edges)),
        "nctr_beds": h.nctr_beds(edges),
        "ic_occupancy": h.places_used(h.ic_stays, edges),
        "ae_attendances": per_day(h.attendances.time),
        "admissions": per_day(a.request_time[em]),
        "ae_hourly_occupancy": h.ae_hourly_occupancy(last_day * 24)[first_day * 24 :],
    }


__all__ = [
    "HOSPITAL_KPIS",
    "hospital_activity",
    "hospital_capacity_costs",
    "hospital_kpis",
    "hospital_series",
]
