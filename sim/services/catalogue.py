"""Every service of the model, in order, and what the rest of the model does with all of them.

Adding a service: write its module (``sim/services/<name>.py``, declaring a
:class:`sim.services.registry.Service`) and add it to :data:`SERVICES`. The order is the order
of their books in the booking pass, of their flow nodes and terminal states after the
system's own, and of their KPIs after the core ones: add new services at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.config.schema import ModelConfig
from sim.core.calendar import Calendar
from sim.services import (
    frail_weekend_gp,
    hub,
    practice,
    rapid_assessment,
    urgent_treatment_centre,
)
from sim.services.hospital import service as hospital
from sim.services.registry import Kpi, Service

SERVICES: tuple[Service, ...] = (
    # KPIs only (no books, flow nodes or states): first, so its KPIs come right after the
    # core's, as they always have
    hospital.SERVICE,
    practice.SERVICE,
    hub.SERVICE,
    rapid_assessment.SERVICE,
    frail_weekend_gp.SERVICE,
    urgent_treatment_centre.SERVICE,
)
BY_NAME: dict[str, Service] = {s.name: s for s in SERVICES}
if len(BY_NAME) != len(SERVICES):
    raise AssertionError("two services share a name")


def service_kpis() -> dict[str, Kpi]:
    """Every service's KPI definitions, in service order."""
    out: dict[str, Kpi] = {}
    for service in SERVICES:
        for key, kpi in service.kpis.items():
            if key in out:
                raise AssertionError(f"KPI {key} declared twice")
            out[key] = kpi
    return out


def present_services(cfg: ModelConfig) -> tuple[Service, ...]:
    """The services the site has (an option not taken is absent)."""
    return tuple(s for s in SERVICES if s.present(cfg))


def build_books(cfg: ModelConfig, calendar: Calendar) -> dict[str, Any]:
    """Each bookable service's books, by service name, in service order."""
    return {s.name: s.build_books(cfg, calendar) for s in SERVICES if s.build_books}


def divert_self_presenting(
    cfg: ModelConfig, calendar: Calendar, arrivals: dict[str, Any], journeys: Any
) -> tuple[Any, dict[str, Any]]:
    """Self-presenting A&E attendances that walk into another service instead.

    ``arrivals`` holds one array per attendance: ``time`` (minute of arrival),
    ``walk_in_minor`` (came on foot and would be streamed to minors), ``admitted_at_ae``
    (A&E would admit them: a walk-in service sends them on) and ``key`` (uint64, for keyed
    draws); ``journeys`` is the booking pass's result (its books as the pass left them). Each
    present service declaring ``walk_ins`` takes some, in service order, of those no earlier
    service took. Returns the mask of attendances still going to A&E and each service's
    result.
    """
    going_to_ae = np.ones(len(arrivals["time"]), dtype=bool)
    results: dict[str, Any] = {}
    for service in present_services(cfg):
        if service.walk_ins is None:
            continue
        candidates = dict(arrivals, walk_in_minor=arrivals["walk_in_minor"] & going_to_ae)
        result = service.walk_ins(cfg, calendar, candidates, journeys)
        going_to_ae &= ~result.diverted
        results[service.name] = result
    return going_to_ae, results
