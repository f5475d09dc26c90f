"""Key performance indicators of one replication, measured over the measurement window.

Every KPI here is defined for planners in ``docs/kpis.md`` (formula, unit, when measured).
Keys are ``service.measure``; the registry gives each a unit, a label and, where one exists,
the direction that counts as better (used by paired option comparisons).

Counting rules: appointment-type KPIs count events whose time falls in the window
(appointments, contacts, attendances); episode-type KPIs count episodes that arose in the
window; annual costs scale the window's costs to 52.18 weeks (money is counted in
:mod:`sim.core.money`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.config.schema import ModelConfig
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY, WEEKS_PER_YEAR, Calendar
from sim.core.demand import Episodes, population_growth
from sim.core.money import cost_kpis
from sim.core.programme import WeeklyConfigs
from sim.core.statistics import mean_of_defined
from sim.core.window_counts import (
    EpisodeCounts,
    count_episodes,
    count_in_window,
    count_moves,
    percentile_of_counts,
)
from sim.core.workforce import Workforce
from sim.services.catalogue import SERVICES, present_services, service_kpis
from sim.services.hospital.model import HospitalResult
from sim.services.registry import Kpi

if TYPE_CHECKING:  # imported for annotations only: model imports this module
    from sim.booking.preparation import SystemJourneys
    from sim.services.hub import HubBooks
    from sim.services.practice import PracticeBooks
    from sim.services.rapid_assessment import ClinicBooks

#: The definition of a KPI (unit, label, better direction), declared by the model's core here
#: and by each service in its registry entry.
KpiDefinition = Kpi


_PER_WEEK = "per week"
_GBP_YEAR = "£ per year (2024/25 prices)"
KPI_DEFINITIONS: dict[str, KpiDefinition] = {
    "practice.appointments_per_1000_week": KpiDefinition(
        "appointments per 1,000 patients per week", "Practice appointments", None
    ),
    "practice.appointments_per_patient_year": KpiDefinition(
        "appointments per patient per year", "Practice appointments per patient", None
    ),
    "practice.same_day_share": KpiDefinition(
        "share of appointments", "Appointments booked for the same day", None
    ),
    "practice.urgent_same_day_met_rate": KpiDefinition(
        "share of urgent requests", "Urgent requests given a same-day appointment", "higher"
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
    "practice.monday_request_share": KpiDefinition(
        "share of Monday-Friday requests", "Requests to practices made on Mondays", None
    ),
    "practice.monday_8to9_request_share": KpiDefinition(
        "share of the week's requests", "Requests to practices on Monday 08:00-09:00", None
    ),
    "practice.cancelled_ahead_per_week": KpiDefinition(
        "bookings per week", "Bookings cancelled ahead after a reminder (slot re-offered)", None
    ),
    "practice.utilisation": KpiDefinition(
        "share of slots offered", "Practice slot utilisation", None
    ),
    "practice.dna_rate": KpiDefinition(
        "share of appointments", "Did not attend (DNA) rate", "lower"
    ),
    "hub.appointments_per_week": KpiDefinition(
        "appointments per week", "Hub (extended access) appointments", None
    ),
    "hub.utilisation": KpiDefinition("share of slots offered", "Hub slot utilisation", None),
    "nhs111.contacts_per_week": KpiDefinition("contacts per week", "NHS 111 contacts", None),
    "rac.attendances_per_week": KpiDefinition(
        "attendances per week", "Rapid assessment clinic attendances", None
    ),
    "rac.wait_days_mean": KpiDefinition("days", "Rapid assessment wait (mean)", "lower"),
    "system.episodes_per_week": KpiDefinition(
        "episodes per week", "Episodes of need arising", None
    ),
    "system.unmet_need_per_week": KpiDefinition(
        "episodes per week", "Unmet need (gave up without care)", "lower"
    ),
    "cost.practice_staff_annual_gbp": KpiDefinition(
        _GBP_YEAR, "Practice staff in post (salary and on-costs, cash)", "lower"
    ),
    "cost.locums_annual_gbp": KpiDefinition(
        _GBP_YEAR, "Locums covering vacant posts (cash)", "lower"
    ),
    "cost.services_annual_gbp": KpiDefinition(
        _GBP_YEAR, "Running cost of services (cash out)", "lower"
    ),
    "cost.activity_cash_annual_gbp": KpiDefinition(
        _GBP_YEAR, "Activity paid per use (cash)", "lower"
    ),
    "cost.activity_fixed_annual_gbp": KpiDefinition(
        _GBP_YEAR, "Activity under fixed contracts (not cash)", "lower"
    ),
    "cost.activity_annual_gbp": KpiDefinition(
        _GBP_YEAR, "Cost of urgent and hospital activity", "lower"
    ),
    "cost.cash_annual_gbp": KpiDefinition(_GBP_YEAR, "Cash paid out", "lower"),
    "cost.total_annual_gbp": KpiDefinition(
        _GBP_YEAR, "Total cost (cash and capacity used)", "lower"
    ),
    # then every registered service's own KPIs (sim/services/catalogue.py): the hospital's
    # (A&E, SDEC, beds, discharge, IC+) first
    **service_kpis(),
}


@dataclass
class KpiInputs:
    """Everything a replication produced that KPIs and flows are computed from."""

    cfg: ModelConfig
    episodes: Episodes
    journeys: SystemJourneys
    service_books: dict[str, Any]  # each bookable service's books, by service name
    hospital: HospitalResult
    workforce: Workforce
    calendar: Calendar
    weekly: WeeklyConfigs  # the configuration in force each week (options phase in)
    first_day: int
    last_day: int
    #: What services did after the booking pass (walk-ins), by service name.
    service_results: dict[str, Any] = field(default_factory=dict)

    @property
    def practices(self) -> PracticeBooks:
        return self.service_books["practice"]

    @property
    def hubs(self) -> HubBooks:
        return self.service_books["hub"]

    @property
    def clinics(self) -> ClinicBooks:
        return self.service_books["rapid_assessment"]

    @property
    def frail_service(self) -> HubBooks:
        return self.service_books["frail_weekend_gp"]

    def node_code(self, name: str) -> int:
        """The code of flow node ``name`` in the journeys' flow log (for services' KPIs)."""
        from sim.core.flows import NODE

        return NODE[name]

    def state_code(self, name: str) -> int:
        """The code of terminal state ``name`` in the journeys' outcomes."""
        return ledger.STATE_INDEX[name]

    @property
    def weeks(self) -> float:
        return (self.last_day - self.first_day) / 7

    @property
    def registered(self) -> float:
        """Registered patients, averaged over the window's days (lists change by programme
        year with ``site.population_index``)."""
        years = self.calendar.programme_year[self.first_day : self.last_day]
        growth = population_growth(self.cfg, int(years.max(initial=1)))
        return float(self.practices.list_sizes.sum() * growth[years - 1].mean())

    def in_window(self, minutes: np.ndarray) -> np.ndarray:
        """Which ``minutes`` fall in the measurement window; NaN (never happened) in none."""
        lo, hi = self.first_day * MINUTES_PER_DAY, self.last_day * MINUTES_PER_DAY
        return (minutes >= lo) & (minutes < hi)

    @cached_property
    def arose_in_window(self) -> slice | np.ndarray:
        """The episodes that arose in the window, ``in_window(episodes.time)``: as a slice
        found by two binary searches when the episodes come in the order they arose, else
        (put in the order they reach their practice,
        :func:`sim.booking.preparation.in_request_order`) as that mask. Either indexes an
        episode array alike, up to order."""
        time = self.episodes.time
        if len(time) > 1 and np.any(time[1:] < time[:-1]):
            return self.in_window(time)
        lo, hi = self.first_day * MINUTES_PER_DAY, self.last_day * MINUTES_PER_DAY
        return slice(int(np.searchsorted(time, lo)), int(np.searchsorted(time, hi)))

    @cached_property
    def arose_in(self) -> np.ndarray:
        """``in_window(episodes.time)``, once per replication."""
        mask = np.zeros(len(self.episodes), dtype=bool)
        mask[self.arose_in_window] = True
        return mask

    def count_in_window(self, minutes: np.ndarray) -> int:
        """``in_window(minutes).sum()``, without the mask."""
        return count_in_window(minutes, self.first_day, self.last_day)

    @cached_property
    def counts(self) -> EpisodeCounts:
        """What the KPIs, series and equity breakdowns count over the episodes, once per
        window, in one pass (:mod:`sim.core.window_counts`)."""
        return count_episodes(
            self.episodes,
            self.journeys,
            self.first_day,
            self.last_day,
            len(self.cfg.site.practices),
            self.calendar.n_days,
        )

    @cached_property
    def moves(self) -> np.ndarray:
        """(from node, to node) moves in the flow log of the episodes that arose in the
        window (nodes: :data:`sim.core.flows.FLOW_NODES`)."""
        from sim.core.flows import FLOW_NODES

        sj = self.journeys
        return count_moves(
            sj.flow_episode,
            sj.flow_from,
            sj.flow_to,
            self.episodes.time,
            self.first_day,
            self.last_day,
            len(FLOW_NODES),
        )


def _share(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


def practice_kpis(k: KpiInputs) -> dict[str, float]:
    pj, c = k.journeys, k.counts
    weeks, first_day, last_day = k.weeks, k.first_day, k.last_day
    thousands = k.registered / 1000

    # appointment-type: by the appointment's day
    n_appts = c.appointments
    offered = k.practices.offered_between(first_day, last_day).sum()
    # episode-type: of the episodes that arose in the window (sim.core.window_counts says
    # which requests are urgent, which met, which routine). Lead days are whole numbers, so
    # their sum, and the mean, are exact in any order.
    routine = int(c.flagged("routine"))
    lead_mean = float(c.routine_lead_sum.sum()) / routine if routine else float("nan")

    tna = pj.third_next_available[first_day:last_day]
    per_1000_week = n_appts / thousands / weeks
    return {
        "practice.appointments_per_1000_week": per_1000_week,
        "practice.appointments_per_patient_year": per_1000_week * WEEKS_PER_YEAR / 1000,
        "practice.same_day_share": _share(c.same_day, n_appts),
        "practice.urgent_same_day_met_rate": _share(c.flagged("urgent_met"), c.flagged("urgent")),
        "practice.routine_lead_days_mean": lead_mean,
        "practice.routine_lead_days_p90": percentile_of_counts(c.routine_lead, 90, c.lead_offset),
        "practice.third_next_available_days": mean_of_defined(tna),
        # when first requests reach practices (day 0 of the run is a Monday)
        "practice.monday_request_share": _share(c.monday_requests, c.weekday_requests),
        "practice.monday_8to9_request_share": _share(c.monday_8to9_requests, c.requests),
        "practice.cancelled_ahead_per_week": k.count_in_window(
            pj.sparse_times["cancelled_time"].minute
        )
        / weeks,
        "practice.utilisation": _share(n_appts, offered),
        "practice.dna_rate": _share(c.did_not_attend, n_appts),
    }


def service_kpis(k: KpiInputs) -> dict[str, float]:
    """Hubs, NHS 111 and rapid assessment (the registered services' own, the hospital's
    among them, come from their ``measure``)."""
    sj = k.journeys
    weeks = k.weeks
    # the times few episodes have, as those episodes' (no array over every episode)
    hub, rac = sj.sparse_times["hub_time"], sj.sparse_times["rac_time"]
    hub_in = k.count_in_window(hub.minute)
    hub_offered = k.hubs.slots_between(k.first_day, k.last_day)
    # Waits of the clinic attendances referred in the window: the few attended, then those
    # referred in it, in episode order (the order numpy's mean adds them in).
    referral = sj.sparse_times["rac_referral_time"].at(rac.episode)
    referred = k.in_window(referral)
    rac_wait = (rac.minute[referred] - referral[referred]) / MINUTES_PER_DAY
    out = {
        "hub.appointments_per_week": hub_in / weeks,
        "hub.utilisation": _share(hub_in, hub_offered),
        "nhs111.contacts_per_week": k.count_in_window(sj.nhs111_calls) / weeks,
        "rac.attendances_per_week": k.count_in_window(rac.minute) / weeks,
        "rac.wait_days_mean": _mean(rac_wait),
    }
    return out


def system_kpis(k: KpiInputs) -> dict[str, float]:
    result = practice_kpis(k)
    result.update(service_kpis(k))
    result["system.episodes_per_week"] = k.counts.arose / k.weeks
    result["system.unmet_need_per_week"] = int(k.counts.by_outcome[ledger.GAVE_UP]) / k.weeks
    # Each registered service's own running cost, in service order (sim.core.money adds IC+,
    # the frailty team and the schemes, and sorts cash from activity).
    running = {
        service.name: service.running_cost(k)
        for service in present_services(k.cfg)
        if service.running_cost is not None
    }
    result.update(cost_kpis(k, running))
    names = list(KPI_DEFINITIONS)
    for service in SERVICES:
        if service.measure is None:
            continue
        if service.present(k.cfg):
            result.update(service.measure(k))
        else:  # an option not taken reports none of its KPIs
            names = [n for n in names if n not in service.kpis]
    return {name: result[name] for name in names}


def flow_counts(k: KpiInputs) -> dict[tuple[str, str], float]:
    """Origin -> destination transitions per week: episodes that arose in the window, plus
    self-presenting A&E arrivals in the window."""
    from sim.core.flows import FLOW_NODES, NODE
    from sim.services.hospital.arrivals import SELF_PRESENTING

    att, ae = k.hospital.attendances, k.hospital.ae
    matrix = k.moves.astype(float)
    sp = (att.source == SELF_PRESENTING) & k.in_window(att.time)
    matrix[NODE["self_presenting"], NODE["ae"]] += sp.sum()
    matrix[NODE["ae"], NODE["admission"]] += (sp & ae.admitted).sum()
    matrix[NODE["ae"], NODE["home"]] += (sp & ~ae.admitted).sum()
    rows = {}
    for i, j in zip(*np.nonzero(matrix), strict=True):
        rows[(FLOW_NODES[i], FLOW_NODES[j])] = float(matrix[i, j] / k.weeks)
    return rows


__all__ = ["KPI_DEFINITIONS", "KpiDefinition", "KpiInputs", "system_kpis", "flow_counts"]
