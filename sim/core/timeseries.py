"""Compact time series of one replication, for plots: daily counts over the measurement window,
hour-of-week profiles (168 values, Monday 00:00 first) averaged over its weeks, and the
distribution of practice booking lead times.

Only aggregates are kept (a few thousand numbers a replication), never per-episode records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config.schema import URGENCIES
from sim.core.calendar import HOURS_PER_WEEK, MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.core.kpis import KpiInputs, access_masks
from sim.services.hospital.kpis import hospital_series

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
#: Lead-time distributions count whole days from the first request to the practice appointment
#: (as the routine-wait KPIs do), index 0..LEAD_DAYS_LAST; the last bin holds every longer
#: wait. Six weeks is the default site's booking horizon, so the bins show every wait there.
LEAD_DAYS_LAST = 42


def _daily(k: KpiInputs, minutes: np.ndarray) -> np.ndarray:
    days = np.floor(minutes[np.isfinite(minutes)] / MINUTES_PER_DAY).astype(np.int64) - k.first_day
    days = days[(days >= 0) & (days < k.last_day - k.first_day)]
    return np.bincount(days, minlength=k.last_day - k.first_day).astype(float)


def _hour_of_week(k: KpiInputs, minutes: np.ndarray) -> np.ndarray:
    m = minutes[np.isfinite(minutes)]
    m = m[k.in_window(m)]
    hours = (np.floor(m / MINUTES_PER_HOUR).astype(np.int64)) % HOURS_PER_WEEK
    return np.bincount(hours, minlength=HOURS_PER_WEEK) / k.weeks


def _capacity_by_hour(k: KpiInputs, books) -> np.ndarray:
    """Slots starting in each hour of the week, averaged over the window's weeks. Capacity
    repeats weekly, so one week of each book is counted."""
    profile = np.zeros(HOURS_PER_WEEK)
    for day in range(k.first_day, min(k.first_day + 7, k.last_day)):
        weekday = day % 7
        for book in books:
            for minute in book.slot_times_on(day):
                profile[weekday * 24 + minute // MINUTES_PER_HOUR] += 1
    return profile


def _lead_days(k: KpiInputs) -> dict[str, np.ndarray]:
    """Requests arising in the window and booked at the practice, per week, by urgency and
    whole days from first request to appointment."""
    m = access_masks(k)
    # the routine-wait KPI's episodes: requests made before the run ended, booked
    requested = m["arose_in"] & (k.journeys.first_request_time < k.last_day * MINUTES_PER_DAY)
    booked = requested & (k.journeys.appointment_day >= 0)
    lead = k.journeys.appointment_day - m["request_day"]
    out = {}
    for code, urgency in enumerate(URGENCIES):
        days = lead[booked & (k.episodes.urgency == code)].astype(np.int64)
        counts = np.bincount(np.clip(days, 0, LEAD_DAYS_LAST), minlength=LEAD_DAYS_LAST + 1)
        out[f"practice_lead_days_{urgency}"] = counts / k.weeks
    return out


def replication_series(k: KpiInputs) -> dict[str, np.ndarray]:
    sj = k.journeys
    appt = sj.appointment_day.astype(float) * MINUTES_PER_DAY + sj.appointment_minute
    appt[sj.appointment_day < 0] = np.nan
    hospital = hospital_series(k.hospital, k.first_day, k.last_day)
    window_occ = hospital["ae_hourly_occupancy"]
    n_weeks = len(window_occ) // HOURS_PER_WEEK
    ae_occ_by_hour = (
        window_occ[: n_weeks * HOURS_PER_WEEK].reshape(n_weeks, HOURS_PER_WEEK).mean(axis=0)
        if n_weeks
        else np.full(HOURS_PER_WEEK, np.nan)
    )
    return {
        "episodes_arising": _daily(k, k.episodes.time),
        "practice_appointments": _daily(k, appt),
        "hub_appointments": _daily(k, sj.hub_time),
        "nhs111_contacts": _daily(k, sj.nhs111_calls),
        "ae_attendances": hospital["ae_attendances"],
        "admissions": hospital["admissions"],
        "ic_occupancy": hospital["ic_occupancy"],
        "bed_occupancy": hospital["bed_occupancy"],
        "nctr_beds": hospital["nctr_beds"],
        "demand_by_hour": _hour_of_week(k, k.episodes.time),
        "practice_requests_by_hour": _hour_of_week(k, sj.first_request_time),
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
