"""The budget search on a programme budget: investment summed over years, and capped by year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.tools.budget import (
    BudgetError,
    ProgrammeBudget,
    affordable_sets,
    investment_by_year,
    main,
    programme_sets,
)

#: Three options' investment in each programme year (£): a hub option phased in over year 1,
#: a clinic option at full cost throughout, and a cheap scheme.
BY_YEAR = pd.DataFrame(
    {1: [1.5e6, 0.9e6, 0.1e6], 2: [2.8e6, 0.9e6, 0.1e6], 3: [2.8e6, 0.9e6, 0.1e6]},
    index=["extended_access_8to8", "rac_weekend", "frail_weekend_gp"],
)
EFFECTS = pd.DataFrame(
    [
        ("extended_access_8to8", 2.4e6, 60.0),
        ("rac_weekend", 0.9e6, 10.0),
        ("frail_weekend_gp", 0.1e6, 8.0),
    ],
    columns=["option", "investment_annual_gbp", "gain"],
)


def test_a_programme_budget_limits_the_sum_over_years():
    sets = affordable_sets(EFFECTS, float("inf"))
    # 8-to-8 alone costs 1.5 + 2.8 + 2.8 = £7.1m; with clinics £9.8m; all three £10.1m
    fits = programme_sets(sets, BY_YEAR, ProgrammeBudget(10.0e6))
    chosen = {tuple(o) for o in fits.options}
    assert ("extended_access_8to8", "rac_weekend") in chosen
    assert ("extended_access_8to8", "rac_weekend", "frail_weekend_gp") not in chosen
    row = fits[fits.options.apply(tuple) == ("extended_access_8to8", "rac_weekend")].iloc[0]
    assert row.estimated_programme_investment_gbp == pytest.approx(9.8e6)
    # £11.7m over three years (Barnet) buys all three
    assert len(programme_sets(sets, BY_YEAR, ProgrammeBudget(11.7e6))) == len(sets)


def test_phasing_caps_each_year():
    budget = ProgrammeBudget(11.7e6, (2.9e6, 4.4e6, 4.4e6))
    assert budget.fits(np.array([2.5e6, 3.8e6, 3.8e6]))  # 8-to-8 with clinics: 2.4, 3.7, 3.7
    assert not budget.fits(np.array([3.0e6, 3.0e6, 3.0e6]))  # year 1 over its cap
    assert not budget.fits(np.array([2.9e6, 4.4e6, 4.5e6]))  # year 3 over
    with pytest.raises(BudgetError, match="programme years"):
        budget.fits(np.array([1.0, 1.0]))


def test_investment_by_year_reads_the_sweeps_money(tmp_path):
    rows = []
    for option, per_year in (("a_opt", [1.0, 2.0, 3.0]), ("b_opt", [5.0, 5.0, 5.0])):
        for year, value in enumerate(per_year, start=1):
            rows.append((option, "investment", str(year), value))
        rows.append((option, "investment", "total", sum(per_year)))
        rows.append((option, "cash_released", "1", 99.0))
    rows.append(("a_opt+b_opt", "investment", "1", 7.0))
    pd.DataFrame(rows, columns=["option", "measure", "period", "mean"]).to_csv(
        tmp_path / "money_comparison.csv", index=False
    )
    table = investment_by_year(tmp_path)
    assert list(table.index) == ["a_opt", "b_opt"] and list(table.columns) == [1, 2, 3]
    assert table.loc["a_opt"].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--programme-budget", "-5"], "positive amount"),
        (["--programme-budget", "1e7", "--phasing", "1e6,x"], "separated by commas"),
        (["--phasing", "1e6,2e6"], "needs --programme-budget"),
    ],
)
def test_bad_programme_budgets_are_refused_clearly(tmp_path, capsys, argv, message):
    assert main([str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
