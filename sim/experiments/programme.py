"""Programme years: KPIs year by year, and an option's money as a board counts it.

A run measuring two or more whole 52-week years reports every KPI for each programme year
(``kpis_by_year.csv``, ``summary_by_year.csv``). Against the baseline, an option's money is
set out per year and over the programme (``money_comparison.csv``):

* **investment**: extra cash out for services' capacity (running cost of services);
* **cash released**: less activity paid per use;
* **net cash cost**: investment less cash released (the change in cash paid out);
* **capacity freed (not cash)**: less activity under fixed contracts, valued at national unit
  costs as an opportunity cost; never netted against cash;
* activity avoided (A&E attendances, emergency admissions, bed days) a year, as counts.

Each is a paired difference, replication by replication (common random numbers), with a
t-based interval; totals sum the programme years, and present values discount year *t* by
``1 / (1 + rate) ** (t - 1)`` before summing (HM Treasury Green Book; year 1 undiscounted).
The net present cost is the present value of the net cash cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.calendar import WEEKS_PER_YEAR
from sim.core.kpis import KPI_DEFINITIONS
from sim.core.money import discount_factors
from sim.core.replication import ReplicationResult
from sim.core.statistics import t_interval

if TYPE_CHECKING:  # the tables import pandas when they are built, after the replications
    import pandas as pd

BY_YEAR_COLUMNS = ["replication", "year", "kpi", "value"]
SUMMARY_BY_YEAR_COLUMNS = ["year", "kpi", "unit", "mean", "ci_low", "ci_high", "n"]
MONEY_COLUMNS = ["measure", "label", "unit", "period", "mean", "ci_low", "ci_high", "n"]
TOTAL, PRESENT_VALUE = "total", "present_value"

_GBP = "£ (2024/25 prices)"
#: Money and activity measures of an option against the baseline: (key, label, unit, KPI,
#: sign, scale). Value per replication and year = sign x (option - baseline) of the KPI x scale.
MONEY_MEASURES: tuple[tuple[str, str, str, str, float, float], ...] = (
    ("investment", "Investment (extra cash out for services)", _GBP,
     "cost.services_annual_gbp", 1.0, 1.0),
    ("cash_released", "Cash released (less activity paid per use)", _GBP,
     "cost.activity_cash_annual_gbp", -1.0, 1.0),
    ("net_cash_cost", "Net cash cost (investment less cash released)", _GBP,
     "cost.cash_annual_gbp", 1.0, 1.0),
    ("capacity_freed", "Capacity freed, not cash (fixed-contract activity avoided)", _GBP,
     "cost.activity_fixed_annual_gbp", -1.0, 1.0),
    ("ae_attendances_avoided", "A&E attendances avoided", "attendances",
     "ae.attendances_per_week", -1.0, WEEKS_PER_YEAR),
    ("admissions_avoided", "Emergency admissions avoided", "admissions",
     "system.admissions_per_week", -1.0, WEEKS_PER_YEAR),
    ("bed_days_freed", "Hospital bed days freed", "bed days",
     "system.bed_days_per_week", -1.0, WEEKS_PER_YEAR),
)  # fmt: skip


def kpi_table_by_year(results: list[ReplicationResult]) -> pd.DataFrame:
    """Tidy per-replication KPIs of each programme year: ``replication, year, kpi, value``."""
    import pandas as pd

    rows = [
        (r.replication, year, k, v)
        for r in results
        for year, kpis in sorted(r.kpis_by_year.items())
        for k, v in kpis.items()
    ]
    return pd.DataFrame(rows, columns=BY_YEAR_COLUMNS)


def summarise_by_year(by_year: pd.DataFrame, level: float) -> pd.DataFrame:
    """Mean and t-based interval of every KPI in every programme year (registry order)."""
    import pandas as pd

    rows = []
    for year in sorted(by_year["year"].unique()):
        here = by_year[by_year["year"] == year]
        for kpi in [k for k in KPI_DEFINITIONS if k in set(here["kpi"])]:
            vals = here.loc[here["kpi"] == kpi, "value"].to_numpy(dtype=float)
            mean, lo, hi = t_interval(vals, level)
            rows.append(
                (
                    int(year),
                    kpi,
                    KPI_DEFINITIONS[kpi].unit,
                    mean,
                    lo,
                    hi,
                    int(np.isfinite(vals).sum()),
                )
            )
    return pd.DataFrame(rows, columns=SUMMARY_BY_YEAR_COLUMNS)


def yearly_values(kpis: pd.DataFrame, by_year: pd.DataFrame | None) -> pd.DataFrame:
    """``replication, year, kpi, value``: the programme years when there are any, otherwise
    the whole measurement window as one year (its annual figures)."""
    if by_year is not None and len(by_year):
        return by_year
    one = kpis.copy()
    one.insert(1, "year", 1)
    return one[BY_YEAR_COLUMNS]


def _periods(
    per_rep: np.ndarray, years: list[int], rate: float, money: bool = True
) -> list[tuple[str, np.ndarray]]:
    """Each year's values, their total and (for money) their present value, per replication."""
    periods = [(str(y), per_rep[:, i]) for i, y in enumerate(years)]
    periods.append((TOTAL, per_rep.sum(axis=1)))
    if money:
        periods.append((PRESENT_VALUE, per_rep @ discount_factors(rate, len(years))))
    return periods


def cost_totals(yearly: pd.DataFrame, rate: float, level: float) -> pd.DataFrame:
    """Every cost KPI of one run per programme year, in total and as a present value (£)."""
    import pandas as pd

    table = yearly.pivot_table(index="replication", columns=["kpi", "year"], values="value")
    years = sorted(yearly["year"].unique())
    rows = []
    for kpi in [k for k in KPI_DEFINITIONS if k.startswith("cost.") and k in set(yearly["kpi"])]:
        per_rep = table[kpi][years].to_numpy(dtype=float)
        for period, values in _periods(per_rep, years, rate):
            mean, lo, hi = t_interval(values, level)
            label = KPI_DEFINITIONS[kpi].label
            rows.append((kpi, label, _GBP, period, mean, lo, hi, int(np.isfinite(values).sum())))
    return pd.DataFrame(rows, columns=MONEY_COLUMNS)


def money_comparison(
    baseline: pd.DataFrame, option: pd.DataFrame, rate: float, level: float
) -> pd.DataFrame:
    """An option's money and activity against the baseline, per programme year, in total and
    as present values. ``baseline`` and ``option``: :func:`yearly_values` tables of the same
    replications and years."""
    import pandas as pd

    b = baseline.pivot_table(index=["replication", "year"], columns="kpi", values="value")
    o = option.pivot_table(index=["replication", "year"], columns="kpi", values="value")
    if list(b.index) != list(o.index):
        raise ValueError("the two runs do not have the same replications and programme years")
    years = sorted({y for _, y in b.index})
    reps = sorted({r for r, _ in b.index})
    rows = []
    for key, label, unit, kpi, sign, scale in MONEY_MEASURES:
        if kpi not in b.columns or kpi not in o.columns:
            continue
        diff = (sign * (o[kpi] - b[kpi]) * scale).unstack("year").reindex(index=reps)
        per_rep = diff[years].to_numpy(dtype=float)  # (replication, year)
        for period, values in _periods(per_rep, years, rate, money=unit == _GBP):
            mean, lo, hi = t_interval(values, level)
            rows.append((key, label, unit, period, mean, lo, hi, int(np.isfinite(values).sum())))
    return pd.DataFrame(rows, columns=MONEY_COLUMNS)


def net_present_cost(money: pd.DataFrame) -> tuple[float, float, float]:
    """(mean, ci_low, ci_high) of the net present cost in a :func:`money_comparison` table."""
    row = money[(money["measure"] == "net_cash_cost") & (money["period"] == PRESENT_VALUE)]
    if row.empty:
        return float("nan"), float("nan"), float("nan")
    r = row.iloc[0]
    return float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])
