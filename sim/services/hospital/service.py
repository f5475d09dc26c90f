"""The hospital as the registry sees it: its KPIs (definitions and values), declared once.

The hospital is not booked: it is the stage after the booking pass
(``hospital_stage`` in :mod:`sim.core.replication`), where patients wait for each other. It
declares only its KPIs here, so :mod:`sim.core.kpis` picks them up like any other service's.
Its running costs and activity costs stay in ``cost_kpis`` with the rest of the system's,
because they are summed with them in a fixed order.
"""

from __future__ import annotations

import numpy as np

from sim.services.hospital.kpis import HOSPITAL_KPIS, hospital_kpis
from sim.services.registry import Service

NAME = "hospital"


def measure(k) -> dict[str, float]:
    """Every hospital KPI over the replication's measurement window (``k`` is its
    :class:`sim.core.kpis.KpiInputs`): IC+ step-up waits start when the booking pass asked
    for the place, and A&E rates are per registered patient."""
    step_up_time = np.asarray(k.journeys.handoffs.step_up_time, dtype=float)
    population = k.registered  # averaged over the window: lists grow by programme year
    return hospital_kpis(k.hospital, step_up_time, k.cfg, k.first_day, k.last_day, population)


SERVICE = Service(
    name=NAME,
    title="Hospital (A&E, same-day emergency care, acute beds, discharge, IC+)",
    kpis=HOSPITAL_KPIS,
    measure=measure,
)

__all__ = ["NAME", "SERVICE", "measure"]
