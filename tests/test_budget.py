"""The budget search's exhaustive stage: every affordable, compatible set, best first."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.tools.budget import BudgetError, affordable_sets, option_effects


def effects(rows):
    return pd.DataFrame(rows, columns=["option", "investment_annual_gbp", "gain"])


# Real option names, so incompatibility comes from the scenario files themselves:
# extended_access_8to8 and enhanced_access_double exclude each other.
OPTIONS = effects(
    [
        ("extended_access_8to8", 2_800_000, 60.0),
        ("enhanced_access_double", 1_900_000, 35.0),
        ("rac_weekend", 900_000, 10.0),
        ("frail_weekend_gp", 550_000, 8.0),
        ("text_reminders", 60_000, 0.0),  # does not improve the objective
        ("ic_expansion", 2_200_000, -1.0),
    ]
)


def test_every_set_is_affordable_compatible_and_improving():
    sets = affordable_sets(OPTIONS, 2_900_000)
    cost = dict(zip(OPTIONS.option, OPTIONS.investment_annual_gbp, strict=True))
    assert len(sets) > 3
    for row in sets.itertuples():
        assert sum(cost[o] for o in row.options) <= 2_900_000
        assert row.estimated_investment_gbp == sum(cost[o] for o in row.options)
        assert not {"extended_access_8to8", "enhanced_access_double"} <= set(row.options)
        assert "text_reminders" not in row.options and "ic_expansion" not in row.options


def test_sets_are_ranked_by_summed_gain_then_cost():
    sets = affordable_sets(OPTIONS, 2_900_000)
    gains = list(sets.estimated_gain)
    assert gains == sorted(gains, reverse=True)
    # enhanced (35) + rac (10) + frail (8) = 53 at £3.35m is over budget; 8-to-8 alone is 60
    assert sets.iloc[0].options == ["extended_access_8to8"]
    # with £3.4m the frail service fits beside extended access (68 beats enhanced+rac+frail 53)
    big = affordable_sets(OPTIONS, 3_400_000)
    assert big.iloc[0].options == ["extended_access_8to8", "frail_weekend_gp"]


def test_nothing_fits_a_tiny_budget():
    assert affordable_sets(OPTIONS, 10_000).empty


def test_option_effects_read_the_sweep_comparison(tmp_path):
    rows = []
    for option, cost, ae in (("a_opt", 100.0, -5.0), ("b_opt", 50.0, 2.0), ("a_opt+b_opt", 1, 1)):
        rows.append((option, "cost.services_annual_gbp", cost))
        rows.append((option, "ae.attendances_per_week", ae))
    table = pd.DataFrame(rows, columns=["option", "kpi", "diff_mean"])
    table.to_csv(tmp_path / "comparison.csv", index=False)
    got = option_effects(tmp_path, "ae.attendances_per_week").set_index("option")
    assert list(got.index) == ["a_opt", "b_opt"]  # combinations are not building blocks
    # fewer attendances is better, so the gain is minus the difference
    assert got.loc["a_opt", "gain"] == 5.0 and got.loc["b_opt", "gain"] == -2.0
    assert got.loc["a_opt", "investment_annual_gbp"] == 100.0
    with pytest.raises(BudgetError):
        option_effects(tmp_path, "system.episodes_per_week")  # no better direction
