# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 A programme over several years: trajectories and money
#
# Reads a sweep's money and year-by-year comparisons: `money_comparison.csv` (each option's
# investment, cash released, net cash cost and capacity freed, per programme year, in total and
# as a present value discounted at the Green Book 3.5%) and, for programme sweeps,
# `comparison_by_year.csv` (every KPI's paired difference against the baseline in each year).
# See `docs/kpis.md` ("Money over a programme") and `docs/model.md` ("A programme over several
# years").
#
# **Which sweep**: `SIM_SWEEP_DIR`, otherwise the newest sweep under `outputs/sweeps/` (make a
# three-year one with `python -m sim +sweep=programme`). A one-year sweep shows its money as a
# single year.

# %%
import matplotlib.pyplot as plt
import pandas as pd

from sim import api
from sim.report.style import option_style, wrap_label

api.setup_display()
fmt = api.fmt
sweep = api.load_sweep()
money = sweep.money
if money is None:
    raise api.NoOutputsError(
        f"{sweep.folder} has no money_comparison.csv: re-make it with python -m sim sweep "
        f"{sweep.folder}"
    )
options = [o for o in sweep.options if o in set(money.option)]
titles = sweep.titles
years = sorted(int(p) for p in money.period.unique() if p.isdigit())
print(f"Sweep folder: {sweep.folder}")
print(f"Programme years: {len(years)}; options: {', '.join(options)}")

# %% [markdown]
# ## Money as a board counts it
#
# Cash out (investment) and cash released are cash; capacity freed (NHS 111, out-of-hours,
# ambulance, A&E and hospital activity under fixed contracts, valued at national unit costs)
# is not, and is never netted against the investment. The net present cost is the present value
# of investment less cash released.


# %%
def cell(option: str, measure: str, period: str) -> str:
    r = money[(money.option == option) & (money.measure == measure) & (money.period == period)]
    if r.empty:
        return "-"
    row = r.iloc[0]
    return f"{fmt(row['mean'])} ({fmt(row['ci_low'])} to {fmt(row['ci_high'])})"


rows = []
for o in options:
    row = {"option": o}
    for y in years:
        row[f"investment y{y}"] = cell(o, "investment", str(y))
    row["investment total"] = cell(o, "investment", "total")
    row["net present cost"] = cell(o, "net_cash_cost", "present_value")
    row["capacity freed total (not cash)"] = cell(o, "capacity_freed", "total")
    rows.append(row)
table = pd.DataFrame(rows)
print("Money per option (£, 2024/25 prices; 95% CI in brackets)")
print(table.to_string(index=False))

# %% [markdown]
# ## Trajectories
#
# Investment and A&E attendances avoided in each programme year, per option, with the
# confidence interval of the paired difference. Each option keeps its colour and marker from
# the board report.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, measure, what in (
    (axes[0], "investment", "Investment (£ million a year)"),
    (axes[1], "ae_attendances_avoided", "A&E attendances avoided a year"),
):
    scale = 1e6 if measure == "investment" else 1.0
    for i, o in enumerate(options):
        r = money[(money.option == o) & (money.measure == measure) & money.period.str.isdigit()]
        x = r.period.astype(int).to_numpy() + (i - len(options) / 2) * 0.04
        mean = r["mean"].to_numpy() / scale
        err = [mean - r.ci_low.to_numpy() / scale, r.ci_high.to_numpy() / scale - mean]
        style = option_style(o)
        ax.errorbar(
            x, mean, yerr=err, capsize=3, label=wrap_label(titles[o], 30),
            **style.marker_kwargs(), ls=style.linestyle, lw=1,
        )  # fmt: skip
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(years, [f"year {y}" for y in years])
    ax.set_title(what, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.suptitle("Programme trajectories against the baseline (points: mean; whiskers: 95% CI)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Headline KPIs by year
#
# For programme sweeps: every headline KPI's paired difference against the baseline, year by
# year.

# %%
if sweep.by_year is None or sweep.by_year.empty:
    print("Not a programme sweep (runs of one year): no comparison_by_year.csv.")
else:
    by_year = api.with_labels(sweep.by_year)
    baseline = api.load_run(sweep.jobs["baseline"], scenario=None)
    keep = by_year[by_year.kpi.isin(baseline.headline_kpis)]
    wide = keep.pivot_table(index=["option", "label"], columns="year", values="diff_mean")
    print("Headline differences (option − baseline) by programme year")
    print(wide.to_string(float_format=fmt))
    print(f"Year 1 and year {max(years)} side by side: see the columns above.")
