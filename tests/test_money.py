"""Money as a board counts it: per-FTE staff costs, cash against capacity freed, discounting.

Expected values are worked out here by hand from the published inputs (pay points, employer
on-cost rules, the Green Book rate), never by calling the code under test for them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from system_helpers import replicate, run_config

from sim.config.schema import STAFF_TYPES
from sim.core import ledger
from sim.core.calendar import WEEKS_PER_YEAR
from sim.core.money import capacity_costs, cost_per_fte, discount_factors, present_value
from sim.experiments.programme import (
    PRESENT_VALUE,
    TOTAL,
    cost_totals,
    money_comparison,
    net_present_cost,
)

# 2024/25 rules [NI2425, NHSEPENS]: employer NI 13.8% of pay above £9,100; employer pension
# 14.38% of pay (the further 9.4% is paid centrally and is not programme cash).
NI_RATE, NI_THRESHOLD, PENSION = 0.138, 9_100, 0.1438


def by_hand(salary: float) -> float:
    return salary + NI_RATE * (salary - NI_THRESHOLD) + PENSION * salary


@pytest.mark.parametrize(
    ("staff", "low", "high"),
    [
        ("gp", 73_113, 110_330),  # salaried GP range 2024/25 [BMASGP]
        ("nurse", 29_970, 36_483),  # Agenda for Change Band 5 [AFC2425]
        ("pharmacist", 46_148, 52_809),  # Band 7 [AFC2425]
    ],
)
def test_pay_per_fte_is_the_mid_point_plus_on_costs(staff, low, high):
    pay = run_config().model.assumptions.money.staff_pay[staff]
    assert pay.salary_gbp == pytest.approx((low + high) / 2, abs=1)
    assert cost_per_fte(pay) == pytest.approx(by_hand(pay.salary_gbp), abs=15)


def test_docs_quote_the_cost_per_fte_in_the_configuration():
    money = run_config().model.assumptions.money
    # docs/model.md and the YAML comments: £116,313 (GP), £41,334 (nurse), £62,166 (pharmacist)
    for staff, quoted in (("gp", 116_313), ("nurse", 41_334), ("pharmacist", 62_166)):
        assert cost_per_fte(money.staff_pay[staff]) == pytest.approx(quoted, abs=5)


def test_green_book_discount_factors():
    # 1 / 1.035^t, t = 0..4: the research note's table (0.9662, 0.9335, 0.9019, 0.8714)
    assert discount_factors(0.035, 5) == pytest.approx(
        [1.0, 0.9662, 0.9335, 0.9019, 0.8714], abs=5e-5
    )
    # £1m a year for three years: 1 + 0.966184 + 0.933511 = £2.899695m
    assert present_value(np.array([1e6, 1e6, 1e6]), 0.035) == pytest.approx(2_899_695, abs=1)
    assert run_config().model.assumptions.money.discount_rate == 0.035


def _yearly(values: dict[tuple[int, int], dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(r, y, k, v) for (r, y), kpis in values.items() for k, v in kpis.items()],
        columns=["replication", "year", "kpi", "value"],
    )


def test_money_comparison_totals_and_present_values_by_hand():
    """Two replications, three years: every figure worked out by hand."""
    base, option = {}, {}
    invest = {0: [1.0e6, 2.0e6, 3.0e6], 1: [1.2e6, 2.2e6, 3.2e6]}
    for r in (0, 1):
        for y in (1, 2, 3):
            base[(r, y)] = {
                "cost.services_annual_gbp": 10e6,
                "cost.activity_cash_annual_gbp": 1e6,
                "cost.cash_annual_gbp": 11e6,
                "cost.activity_fixed_annual_gbp": 50e6,
                "ae.attendances_per_week": 1500.0,
            }
            option[(r, y)] = {
                "cost.services_annual_gbp": 10e6 + invest[r][y - 1],
                "cost.activity_cash_annual_gbp": 1e6 - 100_000,
                "cost.cash_annual_gbp": 11e6 + invest[r][y - 1] - 100_000,
                "cost.activity_fixed_annual_gbp": 50e6 - 400_000 * y,
                "ae.attendances_per_week": 1500.0 - 10 * y,
            }
    table = money_comparison(_yearly(base), _yearly(option), 0.035, 0.95).set_index(
        ["measure", "period"]
    )
    assert table.loc[("investment", "1"), "mean"] == pytest.approx(1.1e6)
    assert table.loc[("investment", TOTAL), "mean"] == pytest.approx(6.3e6)
    # (1.1 + 2.1 / 1.035 + 3.1 / 1.035^2) million
    pv = 1.1e6 + 2.1e6 / 1.035 + 3.1e6 / 1.035**2
    assert table.loc[("investment", PRESENT_VALUE), "mean"] == pytest.approx(pv)
    assert table.loc[("cash_released", TOTAL), "mean"] == pytest.approx(300_000)
    npc = pv - (100_000 + 100_000 / 1.035 + 100_000 / 1.035**2)
    assert net_present_cost(table.reset_index())[0] == pytest.approx(npc)
    # capacity freed is reported, never netted against cash: 0.4 + 0.8 + 1.2 million
    assert table.loc[("capacity_freed", TOTAL), "mean"] == pytest.approx(2.4e6)
    # 10 attendances a week in year 1 = 521.8 a year
    assert table.loc[("ae_attendances_avoided", "1"), "mean"] == pytest.approx(10 * WEEKS_PER_YEAR)
    # replications differ by exactly 0.2m each year: the interval is t(0.975, 1) x 0.1m
    half = (
        table.loc[("investment", "1"), "ci_high"] - table.loc[("investment", "1"), "ci_low"]
    ) / 2
    assert half == pytest.approx(12.7062 * 0.1e6, rel=1e-4)


def test_cost_totals_sum_and_discount_each_replication():
    yearly = _yearly(
        {(0, y): {"cost.services_annual_gbp": 1e6 * y} for y in (1, 2)}
        | {(1, y): {"cost.services_annual_gbp": 1e6 * y + 2e5} for y in (1, 2)}
    )
    table = cost_totals(yearly, 0.035, 0.95).set_index(["measure", "period"])
    assert table.loc[("cost.services_annual_gbp", TOTAL), "mean"] == pytest.approx(3.2e6)
    assert table.loc[("cost.services_annual_gbp", PRESENT_VALUE), "mean"] == pytest.approx(
        1.1e6 + 2.1e6 / 1.035
    )


# --------------------------------------------------------------------------------------------
# The cost KPIs of a replication
# --------------------------------------------------------------------------------------------


def test_practice_staff_are_costed_per_fte_not_per_slot():
    res = replicate()
    k = res.detail["inputs"]
    cfg = k.cfg
    expected = 0.0
    for p in cfg.site.practices.values():
        for s in STAFF_TYPES:
            fte = getattr(cfg.site.practice_capacity, s).fte_per_1000 * p.list_size / 1000
            expected += fte * by_hand(cfg.assumptions.money.staff_pay[s].salary_gbp)
    assert res.kpis["cost.practice_staff_annual_gbp"] == pytest.approx(expected, rel=1e-4)
    # no vacancies in a steady workforce: no locums
    assert res.kpis["cost.locums_annual_gbp"] == 0


def test_gp_posts_cost_their_pay_whatever_the_slots():
    """Twice the GP slots per session doubles capacity but not pay."""
    base = replicate()
    more = replicate(("site.practice_capacity.gp.slots_per_session=30",))
    assert (
        more.kpis["cost.practice_staff_annual_gbp"] == base.kpis["cost.practice_staff_annual_gbp"]
    )


def test_cash_and_not_cash_add_up_and_do_not_overlap():
    res = replicate(("scenario=[text_reminders,online_consultation]",))
    kp = res.kpis
    assert kp["cost.activity_annual_gbp"] == pytest.approx(
        kp["cost.activity_cash_annual_gbp"] + kp["cost.activity_fixed_annual_gbp"]
    )
    assert kp["cost.cash_annual_gbp"] == pytest.approx(
        kp["cost.services_annual_gbp"] + kp["cost.activity_cash_annual_gbp"]
    )
    assert kp["cost.total_annual_gbp"] == pytest.approx(
        kp["cost.cash_annual_gbp"] + kp["cost.activity_fixed_annual_gbp"]
    )
    # Text messages are counted once, in services: activity is exactly its units x unit costs.
    k = res.detail["inputs"]
    sj, h = k.journeys, k.hospital
    uc = k.cfg.assumptions.unit_costs
    outcome = sj.outcome[k.in_window(k.episodes.time)]
    att, a = h.attendances, h.admissions
    ae_in = k.in_window(att.time)
    minor = att.primary_care_treatable & ae_in
    # emergency admissions that got a bed, counted when they asked for it; tariff by acute stay
    adm = a.emergency & k.in_window(a.request_time) & np.isfinite(a.bed_time)
    short = (a.optimised_time - a.bed_time) / 1440 < uc.short_stay_max_days
    # days from medically fit to leaving (or the end of the run) of those not going home
    delayed = adm & np.isfinite(a.optimised_time) & (a.pathway != 0)
    leave = np.where(np.isnan(a.leave_time), h.end_minutes, a.leave_time)
    delayed_days = ((leave - a.optimised_time)[delayed] / 1440).sum()
    activity = (
        (
            k.in_window(sj.nhs111_calls).sum() * uc.nhs111_contact
            + (outcome == ledger.PHARMACY).sum() * uc.pharmacy_consultation
            + (outcome == ledger.OUT_OF_HOURS_GP).sum() * uc.out_of_hours_gp_case
            + (att.ambulance & ae_in).sum() * uc.ambulance_conveyance
            + minor.sum() * uc.ae_attendance_minor
            + (ae_in & ~minor).sum() * uc.ae_attendance
            + (adm & short).sum() * uc.admission_short_stay
            + (adm & ~short).sum() * uc.admission_long_stay
            + delayed_days * uc.bed_day
            + (h.ae.sdec & ae_in).sum() * uc.sdec_attendance
        )
        * WEEKS_PER_YEAR
        / k.weeks
    )
    assert kp["cost.activity_annual_gbp"] == pytest.approx(activity, rel=1e-12)
    bookings = (
        k.in_window(np.nan_to_num(sj.booked_time, nan=-1.0)).sum()
        + k.in_window(np.nan_to_num(sj.hub_booked_time, nan=-1.0)).sum()
    )
    assert capacity_costs(k, {})["text_reminders"] == pytest.approx(bookings * 0.04)


def test_moving_an_activity_to_cash_moves_its_value_not_the_total():
    base = replicate()
    moved = replicate(
        ("assumptions.money.cash_releasing_activity=[pharmacy_consultation,ae_attendance]",)
    )
    k = base.detail["inputs"]
    att = k.hospital.attendances
    ae_in = k.in_window(att.time)
    full = (ae_in & ~att.primary_care_treatable).sum()
    value = full * k.cfg.assumptions.unit_costs.ae_attendance * WEEKS_PER_YEAR / k.weeks
    assert value > 0
    for kpi, change in (
        ("cost.activity_cash_annual_gbp", value),
        ("cost.activity_fixed_annual_gbp", -value),
        ("cost.total_annual_gbp", 0.0),
    ):
        assert moved.kpis[kpi] - base.kpis[kpi] == pytest.approx(change, abs=1e-3)
