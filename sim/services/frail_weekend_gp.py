"""The weekend GP service for frail patients and care homes: same-day visits at weekends, one
pooled book per locality sized per 1,000 patients aged 65+. Urgent frail needs arising while
practices are shut try it first (:func:`sim.booking.rules.out_of_hours`)."""

from __future__ import annotations

from sim.config.schema import ModelConfig
from sim.core.calendar import Calendar
from sim.services.hub import HubBooks, build_pooled_books, locality_population
from sim.services.registry import FlowNode, Service


def build_frail_weekend_books(cfg: ModelConfig, calendar: Calendar) -> HubBooks:
    """Same-day visits only: every slot is released on the day, none bookable ahead."""
    svc = cfg.site.frail_weekend_service
    slots = {
        loc: svc.minutes_per_1000_65plus_per_week * n / 1000 / svc.slot_minutes
        for loc, n in locality_population(cfg, older_only=True).items()
    }
    return build_pooled_books(cfg, calendar, slots, svc.opening, svc.slot_minutes, 1.0, 0)


def running_cost(k) -> float:
    """Visits offered over the window x running cost per slot."""
    slots = k.service_books["frail_weekend_gp"].slots_between(k.first_day, k.last_day)
    return slots * k.cfg.site.frail_weekend_service.running_cost_per_slot_gbp


SERVICE = Service(
    name="frail_weekend_gp",
    title="Weekend GP service for frail patients",
    flow_nodes=(FlowNode("frail_weekend_gp", "Frail weekend GP", 2, 4),),
    terminal_states=(
        ("frail_weekend_gp", "seen by the weekend GP service for frail patients and care homes"),
    ),
    build_books=build_frail_weekend_books,
    running_cost=running_cost,
)
