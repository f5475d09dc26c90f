"""Conservation through beds: every patient who asked for an acute bed is, at the end,
exactly one of discharged home, transferred to IC+, transferred to social care, still in a
bed, still waiting for one, or (background admissions only) cancelled.

The per-patient records are checked against the bed pool's own counters (free beds, free
escalation spaces, queue length), which the pool keeps independently of them, and against
the order of each patient's times (asked <= bed <= medically optimised <= place <= left).
"""

from __future__ import annotations

import numpy as np

from sim.services.hospital.discharge import HOME, SOCIAL_CARE, STEP_DOWN
from sim.services.hospital.model import HospitalResult

#: Where each patient who asked for a bed was at the end (``bed_ledger`` keys, in order).
BED_STATES: tuple[str, ...] = (
    "discharged_home",
    "to_intermediate_care",
    "to_social_care",
    "in_bed_at_end",
    "waiting_at_end",
    "cancelled",
)


def bed_ledger(h: HospitalResult) -> dict[str, int | bool]:
    """Counts of :data:`BED_STATES` for every patient who asked for a bed, the pool's own
    counts at the end, and ``balanced``: whether they all agree."""
    a = h.admissions
    got = np.isfinite(a.bed_time)
    left = got & np.isfinite(a.leave_time)
    placed = np.isfinite(a.place_time)
    counts = {
        "discharged_home": left & ~placed & (a.pathway == HOME),
        "to_intermediate_care": left & placed & (a.pathway == STEP_DOWN),
        "to_social_care": left & placed & (a.pathway == SOCIAL_CARE),
        "in_bed_at_end": got & ~left,
        "waiting_at_end": ~got & ~a.cancelled,
        "cancelled": ~got & a.cancelled,
    }
    state = np.zeros(len(a), dtype=np.int64)
    for mask in counts.values():
        state += mask
    end = h.end_state
    pool_in_bed = (h.beds - end["beds_free"]) + (
        h.escalation_spaces - end["escalation_spaces_free"]
    )
    opt, place, leave = a.optimised_time, a.place_time, a.leave_time
    ordered = bool(
        np.all(a.bed_time[got] >= a.request_time[got])
        and np.all(opt[np.isfinite(opt)] >= a.bed_time[np.isfinite(opt)])
        and np.all(place[placed] >= opt[placed])
        and np.all(leave[left] >= np.where(placed, place, opt)[left])
    )
    out: dict[str, int | bool] = {"asked": len(a)}
    out.update({name: int(mask.sum()) for name, mask in counts.items()})
    out["pool_in_bed_at_end"] = int(pool_in_bed)
    out["pool_waiting_at_end"] = int(end["bed_queue"])
    out["balanced"] = bool(
        np.all(state == 1)  # every patient in exactly one state
        and out["in_bed_at_end"] == out["pool_in_bed_at_end"]
        and out["waiting_at_end"] == out["pool_waiting_at_end"]
        and ordered
    )
    return out


__all__ = ["BED_STATES", "bed_ledger"]
