"""Phasing: options that start later in a programme and build up to full effect.

Each option has a ``start_week`` (weeks after the start of programme year 1) and
``ramp_weeks``. Its effect in programme week *w* (measured at the middle of the week) is 0
before the start, rises linearly to 1 over the ramp, and stays 1. During the warm-up every
option has the effect it has at the start of year 1, so an option starting in week 0 with
no ramp is in place throughout, exactly as in a one-year appraisal.

An option at effect *e* changes each setting it names part of the way: a number moves from
its value without the option towards the option's value in proportion to *e* (whole numbers
are rounded half up), a list of numbers of the same length element by element, and anything else
(opening windows, a service switched on) takes the option's value as soon as *e* > 0.
Several options apply in the order chosen, each onto the result of the ones before.
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import math
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from sim.config.scenarios import CHANGEABLE_SECTIONS, child_type
from sim.config.schema import ModelConfig, build_model_config

#: Settings whose change the model follows week by week (shell-style patterns). An option
#: changing anything else can only be in place from the start (start_week 0, ramp_weeks 0).
PHASEABLE = (
    "assumptions.demand.*",  # needs arising each week (sim.core.demand)
    # schemes taking needs before the practice book, by the week a need arises, and their
    # fees (sim.booking.preparation.first_choices, sim.core.money)
    "assumptions.alternatives.*",
    # text reminders, by the day a reminder is sent (sim.booking.preparation.reminder_shares)
    "assumptions.dna.reminder_*",
    "site.practice_capacity.*.fte_per_1000",  # posts funded (sim.core.workforce)
    "site.practices.*.*_fte",
    # pooled locality books, week by week (sim.services.hub)
    "site.hubs.minutes_per_1000_per_week",
    "site.hubs.opening.*",
    "site.hubs.on_the_day_share",
    "site.frail_weekend_service.minutes_per_1000_65plus_per_week",
    "site.frail_weekend_service.opening.*",
    # rapid assessment clinics: each day's sessions at the week's configuration
    # (sim.services.rapid_assessment.build_rac_books; referral shares by the day a patient is
    # referred, sim.booking.preparation.pass_settings)
    "site.rapid_assessment.*",
    "assumptions.rapid_assessment.referral_share_*",
    # the urgent treatment centre: its book, catchment and cost week by week
    # (sim.services.urgent_treatment_centre)
    "site.urgent_treatment_centre.*",
    # the hospital's capacities, changed at the start of a week in the SimPy model
    # (sim.services.hospital.capacity; a cut closes places as they free), and their cost per
    # day at the configuration in force (sim.services.hospital.kpis.hospital_capacity_costs)
    "site.acute_beds.general_and_acute",
    "site.acute_beds.escalation_spaces",
    "site.acute_beds.running_cost_per_bed_day_gbp",
    "site.intermediate_care.*",
    "site.social_care.*",
    "site.emergency_department.sdec.*",
    # the frailty team's opening by the week an attender arrives and by the week a CGA would
    # start (sim.services.hospital.arrivals.front_of_house_open); not its size or effect
    "site.emergency_department.frailty_front_of_house.enabled",
    "site.emergency_department.frailty_front_of_house.open_minute",
    "site.emergency_department.frailty_front_of_house.close_minute",
    "site.emergency_department.frailty_front_of_house.weekdays",
    "site.emergency_department.frailty_front_of_house.running_cost_per_clinician_hour_gbp",
)


def settings_changed(changes: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of every setting an option's ``changes`` set."""
    out = []
    for key, value in changes.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += settings_changed(value, f"{name}.")
        else:
            out.append(name)
    return out


def unphaseable(changes: dict[str, Any]) -> list[str]:
    """Settings in ``changes`` the model cannot yet follow week by week."""
    return [
        k
        for k in settings_changed(changes)
        if not any(fnmatch.fnmatchcase(k, p) for p in PHASEABLE)
    ]


@dataclass(frozen=True)
class OptionPhase:
    """One option's phasing and the changes it makes (plain data, as in its YAML file)."""

    name: str
    start_week: int
    ramp_weeks: int
    changes: dict[str, Any]

    def effect(self, programme_week: int) -> float:
        """Share of full effect in programme week ``programme_week`` (negative = warm-up)."""
        if programme_week < 0:
            t = 0.0
        else:
            t = programme_week + 0.5
        if self.ramp_weeks == 0:
            return 1.0 if t >= self.start_week else 0.0
        return min(max((t - self.start_week) / self.ramp_weeks, 0.0), 1.0)


@dataclass(frozen=True)
class Phasing:
    """What :func:`config_at` needs: the site and assumptions before any option, as plain
    data, and the options in the order chosen."""

    site: dict[str, Any]
    assumptions: dict[str, Any]
    options: tuple[OptionPhase, ...]

    @property
    def gradual(self) -> bool:
        """True when some option starts after week 0 or ramps up (the effect varies)."""
        return any(o.start_week > 0 or o.ramp_weeks > 0 for o in self.options)


def config_at(model: ModelConfig, effects: tuple[float, ...]) -> ModelConfig:
    """``model`` with each phased option at the given share of its full effect."""
    phasing = model.phasing
    if phasing is None or all(e == 1.0 for e in effects):
        return model
    site = copy.deepcopy(phasing.site)
    assumptions = copy.deepcopy(phasing.assumptions)
    merged = {"site": site, "assumptions": assumptions}
    for option, e in zip(phasing.options, effects, strict=True):
        if e <= 0:
            continue
        for section, change in option.changes.items():
            _blend(merged[section], change, e, CHANGEABLE_SECTIONS[section])
    out = build_model_config(site, assumptions, scenario=model.scenario)
    return dataclasses.replace(out, phasing=phasing)


def _blend(base: dict, change: dict, e: float, tp: Any) -> None:
    for key, target in change.items():
        child = child_type(tp, str(key))
        before = base.get(key)
        if isinstance(before, dict) and isinstance(target, dict):
            _blend(before, target, e, child)
        else:
            base[key] = _between(before, target, e, child)


def _between(before: Any, target: Any, e: float, tp: Any) -> Any:
    if e >= 1.0:
        return copy.deepcopy(target)
    if _number(before) and _number(target):
        value = before + e * (target - before)
        return math.floor(value + 0.5) if tp is int else value
    if (
        isinstance(before, list)
        and isinstance(target, list)
        and len(before) == len(target)
        and all(_number(b) and _number(t) for b, t in zip(before, target, strict=True))
    ):
        item = get_args(tp)[0] if get_origin(tp) is list else float
        return [_between(b, t, e, item) for b, t in zip(before, target, strict=True)]
    return copy.deepcopy(target)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
