"""Compact time series of one replication, for plots: daily counts over the measurement window,
hour-of-week profiles (168 values, Monday 00:00 first) averaged over its weeks, and the
distribution of practice booking lead times.

Only aggregates are kept (a few thousand numbers a replication), never per-episode records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.config.schema import URGENCIES
from sim.core.calendar import HOURS_PER_WEEK, MINUTES_PER_HOUR
from sim.core.kpis import KpiInputs
from sim.core.window_counts import (
    LEAD_DAYS_LAST,
    by_hour_of_week,
    count_by_day,
    week_start_hour,
)
from sim.services.hospital.kpis import hospital_series

if TYPE_CHECKING:  # a replication never builds a table: pandas is imported in series_table
    import pandas as pd

#: name -> (kind, unit): kind is "daily" (index = day of the window), "hour_of_week" or
#: "lead_days" (index = whole days from request to appointment, see LEAD_DAYS_LAST)
SERIES: dict[str, tuple[str, str]] = {
    "episodes_arising": ("daily", "episodes per day"),
    "practice_appointments": ("daily", "appointments per day"),
    "hub_appointments": ("daily", "appointments per day"),
    "nhs111_contacts": ("daily", "contacts per day"),
    "ae_attendances": ("daily", "attendances per day"),
    "admissions": ("daily", "admissions per day"),
    "ic_occupancy": ("daily", "places in use (mean)"),
    "bed_occupancy": ("daily", "share of G&A beds occupied (mean)"),
    "nctr_beds": ("daily", "beds occupied by patients with no criteria to reside (mean)"),
    "demand_by_hour": ("hour_of_week", "episodes arising per hour"),
    "practice_requests_by_hour": ("hour_of_week", "requests per hour"),
    "practice_capacity_by_hour": ("hour_of_week", "slots starting per hour"),
    "hub_capacity_by_hour": ("hour_of_week", "slots starting per hour"),
    "ae_arrivals_by_hour": ("hour_of_week", "arrivals per hour"),
    "ae_occupancy_by_hour": ("hour_of_week", "patients in the department (mean)"),
    **{f"practice_lead_days_{u}": ("lead_days", "requests booked per week") for u in URGENCIES},
}
# LEAD_DAYS_LAST, the lead-time series' last bin, is defined with the counts
# (sim.core.window_counts) and exported here, with the series.
__all__ = ["SERIES", "LEAD_DAYS_LAST", "replication_series", "series_table"]


def _daily(k: KpiInputs, minutes: np.ndarray) -> np.ndarray:
    """Events at times ``minutes`` by day of the window (NaN, never happened, in none)."""
    return count_by_day(minutes, k.first_day, k.last_day).astype(float)


def _hour_of_week(k: KpiInputs, minutes: np.ndarray) -> np.ndarray:
    """Events at times ``minutes`` by hour of the week, averaged over the window's weeks,
    counted as :mod:`sim.core.window_counts` counts the episodes' (with numpy: used for the
    A&E arrivals, a few per cent as many)."""
    m = minutes[k.in_window(minutes)]  # NaN (never happened) is in no window
    hours = (m / MINUTES_PER_HOUR).astype(np.int64)  # the window's minutes are not negative
    hours -= week_start_hour(k.first_day)
    return by_hour_of_week(np.bincount(hours, minlength=HOURS_PER_WEEK)) / k.weeks


def _capacity_by_hour(k: KpiInputs, books) -> np.ndarray:
    """Slots starting in each hour of the week, averaged over the window's weeks. Capacity
    repeats weekly, so one week of each book is counted."""
    profile = np.zeros(HOURS_PER_WEEK)
    for day in range(k.first_day, min(k.first_day + 7, k.last_day)):
        starts = np.array([m for book in books for m in book.slot_times_on(day)], dtype=np.int64)
        hours = (day % 7) * 24 + starts // MINUTES_PER_HOUR
        profile += np.bincount(hours, minlength=HOURS_PER_WEEK)
    return profile


def _lead_days(k: KpiInputs) -> dict[str, np.ndarray]:
    """Requests arising in the window and booked at the practice, per week, by urgency and
    whole days from first request to appointment (the routine-wait KPI's requests, made
    before the run ended, of every urgency)."""
    counts = k.counts.lead_by_urgency
    return {f"practice_lead_days_{u}": counts[code] / k.weeks for code, u in enumerate(URGENCIES)}


def replication_series(k: KpiInputs) -> dict[str, np.ndarray]:
    sj, c = k.journeys, k.counts
    hospital = hospital_series(k.hospital, k.first_day, k.last_day)
    window_occ = hospital["ae_hourly_occupancy"]
    n_weeks = len(window_occ) // HOURS_PER_WEEK
    ae_occ_by_hour = (
        window_occ[: n_weeks * HOURS_PER_WEEK].reshape(n_weeks, HOURS_PER_WEEK).mean(axis=0)
        if n_weeks
        else np.full(HOURS_PER_WEEK, np.nan)
    )
    return {
        "episodes_arising": c.arising_daily.astype(float),
        # an appointment's minute is inside its day, so its day is the appointment day
        "practice_appointments": c.appointments_daily.astype(float),
        "hub_appointments": _daily(k, sj.hub_time),
        "nhs111_contacts": _daily(k, sj.nhs111_calls),
        "ae_attendances": hospital["ae_attendances"],
        "admissions": hospital["admissions"],
        "ic_occupancy": hospital["ic_occupancy"],
        "bed_occupancy": hospital["bed_occupancy"],
        "nctr_beds": hospital["nctr_beds"],
        "demand_by_hour": c.arising_by_hour / k.weeks,
        "practice_requests_by_hour": c.requests_by_hour / k.weeks,
        "practice_capacity_by_hour": _capacity_by_hour(
            k, [book for row in k.practices.books for book in row]
        ),
        "hub_capacity_by_hour": _capacity_by_hour(k, k.hubs.books),
        "ae_arrivals_by_hour": _hour_of_week(k, k.hospital.attendances.time),
        "ae_occupancy_by_hour": ae_occ_by_hour,
        **_lead_days(k),
    }


def series_table(results) -> pd.DataFrame:
    """Long table ``replication, series, kind, index, value`` of every replication's series."""
    import pandas as pd

    frames = []
    for r in results:
        for name, values in r.series.items():
            kind = SERIES[name][0]
            frames.append(
                pd.DataFrame(
                    {
                        "replication": r.replication,
                        "series": name,
                        "kind": kind,
                        "index": np.arange(len(values)),
                        "value": values,
                    }
                )
            )
    if not frames:
        return pd.DataFrame(columns=["replication", "series", "kind", "index", "value"])
    return pd.concat(frames, ignore_index=True)
