"""Key performance indicators of one replication, measured over the measurement window.

Every KPI here is defined for planners in ``docs/kpis.md`` (formula, unit, when measured).
Keys are ``service.measure``; the registry gives each a unit, a label and, where one exists,
the direction that counts as better (used by paired option comparisons).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import ledger
from .calendar import MINUTES_PER_DAY
from .demand import ROUTINE, URGENT, Episodes
from .journey import PracticeJourneys
from .services.practice import PracticeBooks


@dataclass(frozen=True)
class KpiDefinition:
    unit: str
    label: str
    better: str | None  # "higher", "lower" or None when neither is better


KPI_DEFINITIONS: dict[str, KpiDefinition] = {
    "practice.appointments_per_1000_week": KpiDefinition(
        "appointments per 1,000 patients per week", "Practice appointments", None
    ),
    "practice.same_day_share": KpiDefinition(
        "share of appointments", "Appointments booked for the same day", None
    ),
    "practice.urgent_same_day_met_rate": KpiDefinition(
        "share of urgent requests", "Urgent requests seen the same day", "higher"
    ),
    "practice.routine_lead_days_mean": KpiDefinition(
        "days", "Routine wait, request to appointment (mean)", "lower"
    ),
    "practice.routine_lead_days_p90": KpiDefinition(
        "days", "Routine wait, request to appointment (90th centile)", "lower"
    ),
    "practice.third_next_available_days": KpiDefinition(
        "days", "Third next available GP appointment", "lower"
    ),
    "practice.utilisation": KpiDefinition("share of slots offered", "Practice slot utilisation", None),
    "practice.dna_rate": KpiDefinition("share of appointments", "Did not attend (DNA) rate", "lower"),
    "system.episodes_per_week": KpiDefinition("episodes per week", "Episodes of need arising", None),
    "system.unmet_need_per_week": KpiDefinition(
        "episodes per week", "Unmet need (gave up without care)", "lower"
    ),
    "system.urgent_out_of_hours_per_week": KpiDefinition(
        "episodes per week", "Urgent needs arising out of hours (not yet routed)", None
    ),
}


def _share(num: int | float, den: int | float) -> float:
    return float(num) / float(den) if den else float("nan")


def practice_kpis(
    ep: Episodes,
    pj: PracticeJourneys,
    books: PracticeBooks,
    first_day: int,
    last_day: int,
) -> dict[str, float]:
    """KPIs over days ``first_day .. last_day - 1`` (the measurement window)."""
    weeks = (last_day - first_day) / 7
    thousands = books.list_sizes.sum() / 1000

    booked = pj.appointment_day >= 0
    appt_in = booked & (pj.appointment_day >= first_day) & (pj.appointment_day < last_day)
    n_appts = int(appt_in.sum())
    booking_day = np.floor(pj.booked_time / MINUTES_PER_DAY)
    same_day = appt_in & (pj.appointment_day == booking_day)
    dna = appt_in & (pj.outcome == ledger.DID_NOT_ATTEND)
    offered = books.offered_between(first_day, last_day).sum()

    arose_in = (ep.time >= first_day * MINUTES_PER_DAY) & (ep.time < last_day * MINUTES_PER_DAY)
    requested = arose_in & ~np.isnan(pj.first_request_time)
    request_day = np.floor(pj.first_request_time / MINUTES_PER_DAY)
    urgent = requested & (ep.urgency == URGENT)
    urgent_met = urgent & (pj.appointment_day == request_day)
    routine_booked = requested & (ep.urgency == ROUTINE) & booked
    lead = (pj.appointment_day - request_day)[routine_booked]

    tna = pj.third_next_available[first_day:last_day]
    tna_mean = float(np.nanmean(tna)) if np.isfinite(tna).any() else float("nan")

    outcome_in = pj.outcome[arose_in]
    return {
        "practice.appointments_per_1000_week": n_appts / thousands / weeks,
        "practice.same_day_share": _share(same_day.sum(), n_appts),
        "practice.urgent_same_day_met_rate": _share(urgent_met.sum(), urgent.sum()),
        "practice.routine_lead_days_mean": float(lead.mean()) if lead.size else float("nan"),
        "practice.routine_lead_days_p90": float(np.percentile(lead, 90)) if lead.size else float("nan"),
        "practice.third_next_available_days": tna_mean,
        "practice.utilisation": _share(n_appts, offered),
        "practice.dna_rate": _share(dna.sum(), n_appts),
        "system.episodes_per_week": arose_in.sum() / weeks,
        "system.unmet_need_per_week": (outcome_in == ledger.GAVE_UP).sum() / weeks,
        "system.urgent_out_of_hours_per_week": (outcome_in == ledger.URGENT_OUT_OF_HOURS).sum()
        / weeks,
    }
