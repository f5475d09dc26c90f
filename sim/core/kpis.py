"""Key performance indicators of one replication, measured over the measurement window.

Every KPI here is defined for planners in ``docs/kpis.md`` (formula, unit, when measured).
Keys are ``service.measure``; the registry gives each a unit, a label and, where one exists,
the direction that counts as better (used by paired option comparisons).

Counting rules: appointment-type KPIs count events whose time falls in the window
(appointments, contacts, attendances); episode-type KPIs count episodes that arose in the
window; annual costs scale the window's costs to 52.18 weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.config.schema import FIRST_OLDER_BAND, ModelConfig
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY, WEEKS_PER_YEAR
from sim.core.demand import ROUTINE, URGENT, Episodes
from sim.services.catalogue import SERVICES, present_services, service_kpis
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
    "ic.occupancy": KpiDefinition("share of places", "Intermediate care (IC+) occupancy", None),
    "ic.step_up_per_week": KpiDefinition(
        "people per week", "IC+ step-ups started (admissions avoided)", "higher"
    ),
    "ae.attendances_per_week": KpiDefinition("attendances per week", "A&E attendances", "lower"),
    "ae.attendances_per_1000_year": KpiDefinition(
        "attendances per 1,000 patients per year", "A&E attendance rate", "lower"
    ),
    "ae.primary_care_treatable_per_week": KpiDefinition(
        "attendances per week", "A&E attendances treatable in primary care", "lower"
    ),
    "ae.primary_care_treatable_share": KpiDefinition(
        "share of attendances", "Share of A&E treatable in primary care", "lower"
    ),
    "ae.four_hour_performance": KpiDefinition(
        "share of attendances", "A&E 4-hour performance", "higher"
    ),
    "ae.time_in_department_mean_min": KpiDefinition(
        "minutes", "A&E time in department (mean)", "lower"
    ),
    "ae.time_in_department_p95_min": KpiDefinition(
        "minutes", "A&E time in department (95th centile)", "lower"
    ),
    "ae.admissions_per_week": KpiDefinition("admissions per week", "Admissions via A&E", "lower"),
    "ae.conversion": KpiDefinition("share of attendances", "A&E admission conversion", None),
    "ae.conversion_65plus": KpiDefinition(
        "share of attendances aged 65+", "A&E admission conversion, 65+", None
    ),
    "system.admissions_per_week": KpiDefinition(
        "admissions per week", "Emergency admissions (all routes)", "lower"
    ),
    "system.bed_days_per_week": KpiDefinition("bed days per week", "Hospital bed days", "lower"),
    "system.episodes_per_week": KpiDefinition(
        "episodes per week", "Episodes of need arising", None
    ),
    "system.unmet_need_per_week": KpiDefinition(
        "episodes per week", "Unmet need (gave up without care)", "lower"
    ),
    "cost.services_annual_gbp": KpiDefinition(
        "£ per year (2024/25 prices)", "Running cost of services", "lower"
    ),
    "cost.activity_annual_gbp": KpiDefinition(
        "£ per year (2024/25 prices)", "Cost of urgent and hospital activity", "lower"
    ),
    "cost.total_annual_gbp": KpiDefinition("£ per year (2024/25 prices)", "Total cost", "lower"),
    # then every registered service's own KPIs (sim/services/catalogue.py)
    **service_kpis(),
}


@dataclass
class KpiInputs:
    """Everything a replication produced that KPIs and flows are computed from."""

    cfg: ModelConfig
    episodes: Episodes
    journeys: SystemJourneys
    service_books: dict[str, Any]  # each bookable service's books, by service name
    emergency: Any  # model.EmergencyStage
    care: Any  # services.intermediate_care.IntermediateCareResult
    first_day: int
    last_day: int

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
    def service_results(self) -> dict[str, Any]:
        """What services did after the booking pass (walk-ins), by service name."""
        return getattr(self.emergency, "walk_ins", {})

    @property
    def weeks(self) -> float:
        return (self.last_day - self.first_day) / 7

    def in_window(self, minutes: np.ndarray) -> np.ndarray:
        """Which ``minutes`` fall in the measurement window; NaN (never happened) in none."""
        lo, hi = self.first_day * MINUTES_PER_DAY, self.last_day * MINUTES_PER_DAY
        return (minutes >= lo) & (minutes < hi)

    @cached_property
    def arose_in_window(self) -> slice:
        """The episodes that arose in the window, ``in_window(episodes.time)``, as a slice:
        episodes come in time order, so two binary searches replace a pass over them all."""
        lo, hi = self.first_day * MINUTES_PER_DAY, self.last_day * MINUTES_PER_DAY
        time = self.episodes.time
        return slice(int(np.searchsorted(time, lo)), int(np.searchsorted(time, hi)))

    @cached_property
    def arose_in(self) -> np.ndarray:
        """``in_window(episodes.time)``, once per replication."""
        mask = np.zeros(len(self.episodes), dtype=bool)
        mask[self.arose_in_window] = True
        return mask


def _share(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if x.size else float("nan")


def access_masks(k: KpiInputs) -> dict[str, np.ndarray]:
    """Per-episode masks behind the access KPIs (shared with the equity breakdowns and the
    series). Computed once per replication: each is a pass over every episode."""
    if "_access_masks" in vars(k):
        return vars(k)["_access_masks"]
    ep, pj = k.episodes, k.journeys
    arose_in = k.arose_in
    # Requests made after the run ended (needs arising on its last weekend) are not counted.
    requested = arose_in & (pj.first_request_time < k.last_day * MINUTES_PER_DAY)
    request_day = np.floor(pj.first_request_time / MINUTES_PER_DAY)
    # Needs resolved without an appointment (online, Pharmacy First) needed no slot.
    resolved = (pj.outcome == ledger.RESOLVED_ONLINE) | (pj.outcome == ledger.PHARMACY_FIRST)
    urgent = requested & (ep.urgency == URGENT) & ~resolved
    # An access measure: a same-day appointment given, at the practice or its hub, counts even
    # if the patient then missed it.
    hub_day = np.floor(pj.hub_time / MINUTES_PER_DAY)
    urgent_met = urgent & ((pj.appointment_day == request_day) | (hub_day == request_day))
    routine_booked = requested & (ep.urgency == ROUTINE) & (pj.appointment_day >= 0)
    vars(k)["_access_masks"] = {
        "arose_in": arose_in,
        "requested": requested,
        "request_day": request_day,
        "urgent": urgent,
        "urgent_met": urgent_met,
        "routine_booked": routine_booked,
    }
    return vars(k)["_access_masks"]


def practice_kpis(k: KpiInputs) -> dict[str, float]:
    pj = k.journeys
    weeks, first_day, last_day = k.weeks, k.first_day, k.last_day
    thousands = k.practices.list_sizes.sum() / 1000

    booked = pj.appointment_day >= 0
    appt_in = booked & (pj.appointment_day >= first_day) & (pj.appointment_day < last_day)
    n_appts = int(appt_in.sum())
    booking_day = np.floor(pj.booked_time / MINUTES_PER_DAY)
    same_day = appt_in & (pj.appointment_day == booking_day)
    dna = appt_in & (pj.outcome == ledger.DID_NOT_ATTEND)
    offered = k.practices.offered_between(first_day, last_day).sum()

    m = access_masks(k)
    urgent, urgent_met = m["urgent"], m["urgent_met"]
    lead = (pj.appointment_day - m["request_day"])[m["routine_booked"]]

    tna = pj.third_next_available[first_day:last_day]
    per_1000_week = n_appts / thousands / weeks
    return {
        "practice.appointments_per_1000_week": per_1000_week,
        "practice.appointments_per_patient_year": per_1000_week * WEEKS_PER_YEAR / 1000,
        "practice.same_day_share": _share(same_day.sum(), n_appts),
        "practice.urgent_same_day_met_rate": _share(urgent_met.sum(), urgent.sum()),
        "practice.routine_lead_days_mean": _mean(lead),
        "practice.routine_lead_days_p90": _pct(lead, 90),
        "practice.third_next_available_days": (
            float(np.nanmean(tna)) if np.isfinite(tna).any() else float("nan")
        ),
        "practice.utilisation": _share(n_appts, offered),
        "practice.dna_rate": _share(dna.sum(), n_appts),
    }


def service_kpis(k: KpiInputs) -> dict[str, float]:
    """Hubs, NHS 111, rapid assessment, intermediate care, A&E, admissions."""
    sj, ed, care = k.journeys, k.emergency, k.care
    weeks = k.weeks
    population = k.practices.list_sizes.sum()

    hub_in = k.in_window(sj.hub_time)
    hub_offered = k.hubs.slots_between(k.first_day, k.last_day)
    rac_in = k.in_window(sj.rac_time)
    rac_ref_in = k.in_window(sj.rac_referral_time) & ~np.isnan(sj.rac_time)
    rac_wait = (sj.rac_time - sj.rac_referral_time)[rac_ref_in] / MINUTES_PER_DAY

    arrive = ed.arrivals.time
    ae_in = k.in_window(arrive)
    stay = (ed.outcome.departure_time - arrive)[ae_in]
    admitted_in = ed.outcome.admitted & ae_in
    older_in = ae_in & (ed.age_band >= FIRST_OLDER_BAND)
    n_ae = int(ae_in.sum())

    places = k.cfg.site.intermediate_care.places
    lo, hi = k.first_day * MINUTES_PER_DAY, k.last_day * MINUTES_PER_DAY
    step_up_started = care.step_ups.started & k.in_window(
        np.nan_to_num(care.step_ups.start_time, nan=-1.0)
    )
    admit_in = k.in_window(care.admissions.time)
    return {
        "hub.appointments_per_week": hub_in.sum() / weeks,
        "hub.utilisation": _share(hub_in.sum(), hub_offered),
        "nhs111.contacts_per_week": k.in_window(sj.nhs111_calls).sum() / weeks,
        "rac.attendances_per_week": rac_in.sum() / weeks,
        "rac.wait_days_mean": _mean(rac_wait),
        "ic.occupancy": _share(care.occupancy_mean(lo, hi), places),
        "ic.step_up_per_week": step_up_started.sum() / weeks,
        "ae.attendances_per_week": n_ae / weeks,
        "ae.attendances_per_1000_year": n_ae / weeks * WEEKS_PER_YEAR / (population / 1000),
        "ae.primary_care_treatable_per_week": (ed.primary_care_treatable & ae_in).sum() / weeks,
        "ae.primary_care_treatable_share": _share((ed.primary_care_treatable & ae_in).sum(), n_ae),
        "ae.four_hour_performance": _share(
            (stay <= k.cfg.assumptions.ae.four_hour_minutes).sum(), n_ae
        ),
        "ae.time_in_department_mean_min": _mean(stay),
        "ae.time_in_department_p95_min": _pct(stay, 95),
        "ae.admissions_per_week": admitted_in.sum() / weeks,
        "ae.conversion": _share(admitted_in.sum(), n_ae),
        "ae.conversion_65plus": _share((admitted_in & older_in).sum(), older_in.sum()),
        "system.admissions_per_week": admit_in.sum() / weeks,
        "system.bed_days_per_week": care.admissions.bed_days[admit_in].sum() / weeks,
    }


def cost_kpis(k: KpiInputs) -> dict[str, float]:
    """Annual running cost of the services' capacity, and of the activity they see."""
    cfg, sj, ed, care = k.cfg, k.journeys, k.emergency, k.care
    costs, site = cfg.assumptions.unit_costs, cfg.site
    weeks, first_day, last_day = k.weeks, k.first_day, k.last_day
    per_year = WEEKS_PER_YEAR / weeks

    # Capacity of each registered service, in service order; the hospital's own after the
    # clinics (summed in this order: the totals are byte-identical to earlier versions).
    capacity = {
        service.name: service.running_cost(k)
        for service in present_services(cfg)
        if service.running_cost is not None
    }
    days = last_day - first_day
    ic = (
        site.intermediate_care.places * days * site.intermediate_care.running_cost_per_place_day_gbp
    )
    foh = site.emergency_department.frailty_front_of_house
    foh_cost = 0.0
    if foh.enabled:
        # A session that closes before it opens runs overnight.
        minutes_a_day = (foh.close_minute - foh.open_minute) % 1440 or 1440
        hours_a_week = len(foh.weekdays) * minutes_a_day / 60
        foh_cost = hours_a_week * weeks * foh.running_cost_per_hour_gbp
    # Schemes an option pays for: licences, per-use fees and reminders are its running cost.
    alternatives = cfg.assumptions.alternatives
    outcome = sj.outcome[k.arose_in_window]
    bookings = k.in_window(sj.booked_time).sum() + k.in_window(sj.hub_booked_time).sum()
    schemes = (
        (
            alternatives.online_consultation.running_cost_annual_gbp
            + alternatives.pharmacy_first.running_cost_annual_gbp
        )
        / per_year
        + (outcome == ledger.RESOLVED_ONLINE).sum()
        * alternatives.online_consultation.cost_per_use_gbp
        + (outcome == ledger.PHARMACY_FIRST).sum() * alternatives.pharmacy_first.cost_per_use_gbp
        + bookings * cfg.assumptions.dna.reminder_cost_per_booking_gbp
    )
    before_hospital = ("practice", "hub", "rapid_assessment")
    total = sum(capacity[name] for name in before_hospital) + ic + foh_cost
    total += sum(cost for name, cost in capacity.items() if name not in before_hospital)
    services = (total + schemes) * per_year

    contacts_111 = k.in_window(sj.nhs111_calls).sum()
    ae_in = k.in_window(ed.arrivals.time)
    pct = ed.primary_care_treatable & ae_in
    admit_in = k.in_window(care.admissions.time)
    short = care.admissions.stay_days < costs.short_stay_max_days
    activity = (
        contacts_111 * costs.nhs111_contact
        + (outcome == ledger.PHARMACY).sum() * costs.pharmacy_consultation
        + (outcome == ledger.OUT_OF_HOURS_GP).sum() * costs.out_of_hours_gp_case
        + (ed.ambulance & ae_in).sum() * costs.ambulance_conveyance
        + pct.sum() * costs.ae_attendance_minor
        + (ae_in & ~pct).sum() * costs.ae_attendance
        + (admit_in & short).sum() * costs.admission_short_stay
        + (admit_in & ~short).sum() * costs.admission_long_stay
        + care.admissions.step_down_wait_days[admit_in].sum() * costs.bed_day
    ) * per_year
    return {
        "cost.services_annual_gbp": float(services),
        "cost.activity_annual_gbp": float(activity),
        "cost.total_annual_gbp": float(services + activity),
    }


def system_kpis(k: KpiInputs) -> dict[str, float]:
    outcome = k.journeys.outcome[k.arose_in_window]
    result = practice_kpis(k)
    result.update(service_kpis(k))
    result["system.episodes_per_week"] = len(outcome) / k.weeks
    result["system.unmet_need_per_week"] = (outcome == ledger.GAVE_UP).sum() / k.weeks
    result.update(cost_kpis(k))
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

    sj, ed = k.journeys, k.emergency
    keep = k.arose_in[sj.flow_episode]
    n = len(FLOW_NODES)
    pair = sj.flow_from[keep].astype(np.int64) * n + sj.flow_to[keep]
    matrix = np.bincount(pair, minlength=n * n).reshape(n, n).astype(float)
    sp = (ed.source == 0) & k.in_window(ed.arrivals.time)
    matrix[NODE["self_presenting"], NODE["ae"]] += sp.sum()
    matrix[NODE["ae"], NODE["admission"]] += (sp & ed.outcome.admitted).sum()
    matrix[NODE["ae"], NODE["home"]] += (sp & ~ed.outcome.admitted).sum()
    rows = {}
    for i, j in zip(*np.nonzero(matrix), strict=True):
        rows[(FLOW_NODES[i], FLOW_NODES[j])] = float(matrix[i, j] / k.weeks)
    return rows


__all__ = ["KPI_DEFINITIONS", "KpiDefinition", "KpiInputs", "system_kpis", "flow_counts"]
