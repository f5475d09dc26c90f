"""Money as a board counts it: cash paid out, cash released, and benefits that release none.

Every pound the model reports is defined here, once, at 2024/25 prices:

* **Running cost of services (cash out).** What the commissioner pays for capacity, used or
  not: practice staff per whole-time equivalent (salary plus employer on-costs), locums
  covering vacant posts, hub slots, clinic sessions, general and acute bed-days, IC+ and
  social care place-days, the frailty team's and SDEC's hours, weekend visit slots, and the
  schemes options pay for (licences, per-use fees, text messages). An option's *investment*
  is the difference in this line against the baseline.
* **Activity paid per use (cash).** Activity the commissioner pays for item by item (by
  default, community pharmacy consultations): less of it releases cash.
* **Activity under fixed contracts (not cash).** NHS 111, out-of-hours GP, ambulance, A&E,
  SDEC, admissions and delayed-discharge bed days are paid through fixed payments (the
  aligned payment and incentive fixed element, block contracts), so avoiding them frees
  capacity but releases no cash in the year. They are valued at national unit costs as an
  opportunity cost and kept apart from cash.

Per programme year and over the programme, costs are summed undiscounted and discounted at
the HM Treasury Green Book rate (3.5% a year): year 1 is undiscounted, year *t* is divided by
1.035 ** (t - 1). Net present cost is the discounted sum of cash out less cash released.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sim.config.schema import ModelConfig
from sim.core import ledger
from sim.core.calendar import DAYS_PER_YEAR, MINUTES_PER_DAY, WEEKS_PER_YEAR
from sim.core.workforce import cost_per_fte, practice_staff_costs
from sim.services.hospital.kpis import hospital_activity, hospital_capacity_costs

#: What the window functions below read: a :class:`sim.core.kpis.KpiInputs` (not imported:
#: the KPI module imports this one).
KpiInputs = Any

#: Cost KPIs, in the registry's order (definitions in sim.core.kpis.KPI_DEFINITIONS).
COST_KPIS: tuple[str, ...] = (
    "cost.practice_staff_annual_gbp",
    "cost.locums_annual_gbp",
    "cost.services_annual_gbp",
    "cost.activity_cash_annual_gbp",
    "cost.activity_fixed_annual_gbp",
    "cost.activity_annual_gbp",
    "cost.cash_annual_gbp",
    "cost.total_annual_gbp",
)


def discount_factors(rate: float, years: int) -> np.ndarray:
    """Green Book factors for programme years 1..``years``: year 1 undiscounted (t = 0)."""
    return 1.0 / (1.0 + rate) ** np.arange(years)


def present_value(per_year: np.ndarray, rate: float) -> float:
    """Discounted sum of a stream of annual amounts (year 1 first)."""
    values = np.asarray(per_year, dtype=float)
    return float((values * discount_factors(rate, len(values))).sum())


# --------------------------------------------------------------------------------------------
# One window's money
# --------------------------------------------------------------------------------------------


def _days_by_config(k: KpiInputs) -> list[tuple[ModelConfig, np.ndarray]]:
    """For each configuration in force in the window: its days, counted by weekday (7,)."""
    days = np.arange(k.first_day, k.last_day)
    weeks = k.weekly.week_of_day(days)
    out: dict[int, tuple[ModelConfig, np.ndarray]] = {}
    for w in np.unique(weeks):
        cfg = k.weekly.by_week[int(w)]
        counts = np.bincount(days[weeks == w] % 7, minlength=7).astype(np.int64)
        if id(cfg) not in out:
            out[id(cfg)] = (cfg, np.zeros(7, np.int64))
        out[id(cfg)][1][:] += counts
    return list(out.values())


def capacity_costs(k: KpiInputs, services: dict[str, float]) -> dict[str, float]:
    """£ paid in the window for each service's capacity and each scheme (cash out):
    ``services``, every registered service's own running cost (:mod:`sim.services.catalogue`;
    practices per FTE), then the hospital's capacity (beds, IC+ and social care places, the
    frailty team and SDEC), and the schemes, each day at the
    configuration then in force (options phase in, :mod:`sim.config.phasing`)."""
    sj = k.journeys
    lines = {name: float(cost) for name, cost in services.items()}
    lines["schemes_running"] = 0.0
    for c, by_weekday in _days_by_config(k):
        for name, cost in hospital_capacity_costs(c, by_weekday).items():
            lines[name] = lines.get(name, 0.0) + cost
        alt = c.assumptions.alternatives
        lines["schemes_running"] += (
            (
                alt.online_consultation.running_cost_annual_gbp
                + alt.pharmacy_first.running_cost_annual_gbp
            )
            * int(by_weekday.sum())
            / DAYS_PER_YEAR
        )
    # Fees per use and per text, at the configuration of the week they are paid: each a sum
    # over the uses of the fee then in force (the same sum, in the same order, when one
    # configuration holds throughout, without finding each use's week).
    varies = k.weekly.varies

    def paid(per: Callable[[ModelConfig], float], days: Callable[[], np.ndarray], n: int):
        if not varies:
            return float(np.full(n, per(k.weekly.by_week[0]), dtype=float).sum())
        by_week = np.array([per(c) for c in k.weekly.by_week], dtype=float)
        return float(by_week[k.weekly.week_of_day(days())].sum())

    def fee(state: int, per_use: Callable[[ModelConfig], float]) -> float:
        """Fees of the episodes that arose in the window and ended in ``state``."""

        def days() -> np.ndarray:
            arose = k.arose_in_window
            used = sj.outcome[arose] == state
            return (k.episodes.time[arose][used] // MINUTES_PER_DAY).astype(np.int64)

        return paid(per_use, days, int(k.counts.by_outcome[state]))

    booked_times = (sj.booked_time, sj.hub_booked_time)

    def booking_days() -> np.ndarray:
        return np.concatenate(
            [
                (times[k.in_window(times)] // MINUTES_PER_DAY).astype(np.int64)
                for times in booked_times
            ]
        )

    lines["online_consultation_uses"] = fee(
        ledger.RESOLVED_ONLINE,
        lambda c: c.assumptions.alternatives.online_consultation.cost_per_use_gbp,
    )
    lines["pharmacy_first_uses"] = fee(
        ledger.PHARMACY_FIRST,
        lambda c: c.assumptions.alternatives.pharmacy_first.cost_per_use_gbp,
    )
    lines["text_reminders"] = paid(
        lambda c: c.assumptions.dna.reminder_cost_per_booking_gbp,
        booking_days,
        sum(k.count_in_window(times) for times in booked_times),
    )
    return lines


def activity_counts(k: KpiInputs) -> dict[str, float]:
    """Units of each costed activity in the window, keyed by its unit-cost name: primary and
    urgent care's here, the hospital's from :func:`sim.services.hospital.kpis.hospital_activity`."""
    by_outcome = k.counts.by_outcome  # of the episodes that arose in the window
    return {
        "nhs111_contact": float(k.count_in_window(k.journeys.nhs111_calls)),
        "pharmacy_consultation": float(by_outcome[ledger.PHARMACY]),
        "out_of_hours_gp_case": float(by_outcome[ledger.OUT_OF_HOURS_GP]),
        **hospital_activity(k.hospital, k.cfg, k.first_day, k.last_day),
    }


def cost_kpis(k: KpiInputs, services: dict[str, float]) -> dict[str, float]:
    """The cost KPIs of one window, £ a year (the window's £ x 52.18 / weeks); ``services``:
    the registered services' running costs over the window (:func:`capacity_costs`)."""
    per_year = WEEKS_PER_YEAR / k.weeks
    capacity = capacity_costs(k, services)
    pay, locums = practice_staff_costs(k)
    costs = k.cfg.assumptions.unit_costs
    cash_lines = set(k.cfg.assumptions.money.cash_releasing_activity)
    counts = activity_counts(k)
    cash = sum(n * getattr(costs, name) for name, n in counts.items() if name in cash_lines)
    fixed = sum(n * getattr(costs, name) for name, n in counts.items() if name not in cash_lines)
    services = sum(capacity.values())
    return {
        "cost.practice_staff_annual_gbp": pay * per_year,
        "cost.locums_annual_gbp": locums * per_year,
        "cost.services_annual_gbp": services * per_year,
        "cost.activity_cash_annual_gbp": cash * per_year,
        "cost.activity_fixed_annual_gbp": fixed * per_year,
        "cost.activity_annual_gbp": (cash + fixed) * per_year,
        "cost.cash_annual_gbp": (services + cash) * per_year,
        "cost.total_annual_gbp": (services + cash + fixed) * per_year,
    }


__all__ = [
    "COST_KPIS",
    "activity_counts",
    "capacity_costs",
    "cost_kpis",
    "cost_per_fte",  # defined with the workforce, whose pay it is
    "discount_factors",
    "practice_staff_costs",
    "present_value",
]
