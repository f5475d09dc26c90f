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
# # 01 Baseline walkthrough
#
# A tour of one run folder of the simulator: the headline KPIs with their confidence
# intervals, demand against practice capacity over the week, A&E arrivals and occupancy,
# the daily series, where needs went (flows), how every episode ended (the ledger) and the
# calibration against published figures.
#
# **Which run**: the folder in the environment variable `SIM_RUN_DIR`, otherwise the newest
# complete *baseline* run under `outputs/runs/` (make one with `python -m sim` or, for a first
# look, `python -m sim experiment=quick`). This notebook only reads the run's files; every
# number comes from the model (`sim/`). KPI definitions: `docs/kpis.md`.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim import api
from sim.core.statistics import NON_NEGATIVE, bounded_interval
from sim.report.style import BASELINE_COLOUR, OKABE_ITO

api.setup_display()
fmt = api.fmt
run = api.load_run()
m = run.manifest
level = run.ci_level
print(f"Run folder: {run.folder}")
print(
    f"Scenario {m.get('scenario')}, site {m.get('site')}, seed {m.get('seed')}: "
    f"{m.get('replications')} replications x {m.get('run_weeks')} weeks after "
    f"{m.get('warmup_weeks')} weeks' warm-up (experiment {m.get('experiment')}); "
    f"{level:.0%} confidence intervals over replications."
)
if m.get("git"):
    print(f"Code: commit {m['git'].get('commit')}, dirty={m['git'].get('dirty')}")

# %% [markdown]
# ## Headline KPIs
#
# Mean over replications with its confidence interval (`summary.csv`; docs/experiments.md,
# "How intervals are computed"); `±%` is the interval's half-width as a share of the mean.
# Headline KPIs are those the experiment design marks (`experiment.headline_kpis`); the full
# table follows.

# %%
summary = api.with_labels(run.summary)
summary["±%"] = 100 * (summary["ci_high"] - summary["ci_low"]) / 2 / summary["mean"].abs()
headline = run.headline_kpis or list(summary["kpi"])
headline_table = (
    summary.set_index("kpi")
    .loc[[k for k in headline if k in set(summary["kpi"])]]
    .reset_index()[["label", "mean", "ci_low", "ci_high", "±%", "unit", "n"]]
)
print(f"Headline KPIs ({level:.0%} CI over {int(summary['n'].max())} replications)")
print(headline_table.to_string(index=False, float_format=fmt))

# %%
print("All KPIs")
print(
    summary[["kpi", "label", "mean", "ci_low", "ci_high", "unit", "n"]].to_string(
        index=False, float_format=fmt
    )
)

# %% [markdown]
# ## Demand against practice capacity, by hour of the week
#
# From `timeseries.parquet` (hour-of-week profiles averaged over the run's weeks): episodes of
# need arising, first requests reaching practices, and the practice and hub slots starting in
# each hour. Lines are means over replications; shaded bands are their confidence intervals.

# %%
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def mean_ci(name: str) -> pd.DataFrame:
    """Mean and CI over replications of one series, per index (hour of week or day); counts,
    so the interval never goes below zero (the same rule as the report's)."""
    s = run.series(name)
    values = s.groupby("index")["value"]
    rows = [(i, *bounded_interval(g.to_numpy(), level, NON_NEGATIVE)) for i, g in values]
    return pd.DataFrame(rows, columns=["index", "mean", "ci_low", "ci_high"])


def plot_band(ax, name: str, label: str, colour: str) -> None:
    d = mean_ci(name)
    ax.plot(d["index"], d["mean"], color=colour, lw=1.4, label=f"{label} (mean)")
    ax.fill_between(
        d["index"],
        d["ci_low"],
        d["ci_high"],
        color=colour,
        alpha=0.25,
        lw=0,
        label=f"{label}: {level:.0%} CI",
    )


def week_axis(ax) -> None:
    ax.set_xticks(range(0, 168, 24), DAYS)
    ax.set_xlim(0, 167)
    for d in range(24, 168, 24):
        ax.axvline(d, color="grey", lw=0.5)
    ax.set_xlabel("hour of the week (Monday 00:00 first)")


fig, ax = plt.subplots(figsize=(12, 4.5))
plot_band(ax, "demand_by_hour", "episodes arising", BASELINE_COLOUR)
plot_band(ax, "practice_requests_by_hour", "first requests to practices", OKABE_ITO[1])
plot_band(ax, "practice_capacity_by_hour", "practice slots", OKABE_ITO[5])
plot_band(ax, "hub_capacity_by_hour", "hub slots", OKABE_ITO[3])
week_axis(ax)
ax.set_ylabel("per hour (whole site)")
ax.set_title("Demand and practice capacity by hour of week (episodes, requests, slots per hour)")
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## A&E arrivals and occupancy, by hour of the week
#
# All A&E arrivals per hour (self-presenting and sent by other services), and the
# time-weighted mean number of patients in the department.

# %%
fig, axes = plt.subplots(2, 1, figsize=(12, 6.5), sharex=True)
plot_band(axes[0], "ae_arrivals_by_hour", "A&E arrivals", OKABE_ITO[6])
axes[0].set_ylabel("arrivals per hour")
axes[0].set_title("A&E arrivals by hour of week (arrivals per hour)")
plot_band(axes[1], "ae_occupancy_by_hour", "patients in A&E", OKABE_ITO[5])
axes[1].set_ylabel("patients (time-weighted mean)")
axes[1].set_title("A&E occupancy by hour of week (patients in the department)")
for ax in axes:
    week_axis(ax)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
by_hour = pd.DataFrame(
    {
        "A&E arrivals per hour": mean_ci("ae_arrivals_by_hour")["mean"],
        "patients in A&E": mean_ci("ae_occupancy_by_hour")["mean"],
    }
)
by_hour["hour of day"] = np.arange(len(by_hour)) % 24
print("A&E by hour of day (mean over the 7 days of the week and replications)")
print(by_hour.groupby("hour of day").mean().round(2).T.to_string())

# %% [markdown]
# ## Daily series over the measurement window
#
# Day 0 is the first day after the warm-up. Means over replications, with confidence bands.

# %%
from sim.core.timeseries import SERIES  # noqa: E402  (the series' units)

daily = [name for name, (kind, _) in SERIES.items() if kind == "daily"]
ncols = 2
nrows = -(-len(daily) // ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(12, 2.6 * nrows), sharex=True)
for i, (ax, name) in enumerate(zip(axes.flat, daily, strict=False)):
    unit = SERIES[name][1]
    plot_band(ax, name, name.replace("_", " "), OKABE_ITO[1 + i % (len(OKABE_ITO) - 1)])
    ax.set_title(f"{name.replace('_', ' ')} ({unit})", fontsize=10)
    ax.set_ylabel(unit, fontsize=8)
    ax.legend(fontsize=7)
for ax in axes.flat[len(daily) :]:
    ax.set_visible(False)
for ax in axes[-1]:
    ax.set_xlabel("day of the measurement window")
fig.suptitle("Daily series (per day; shaded: confidence interval over replications)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Flows: where needs went
#
# Moves per week between services (`flows.csv`), mean and confidence interval over
# replications. One episode can make several moves, so these do not add up to episodes: the
# ledger below says how each episode ended.

# %%
flows = run.flows.sort_values("per_week_mean", ascending=False).reset_index(drop=True)
print("Flows (moves per week)")
print(flows.to_string(index=False, float_format=lambda x: f"{x:,.1f}"))

top = flows.head(15).iloc[::-1]
fig, ax = plt.subplots(figsize=(10, 5.5))
names = top["origin"] + " → " + top["destination"]
err = np.vstack([top["per_week_mean"] - top["ci_low"], top["ci_high"] - top["per_week_mean"]])
ax.barh(names, top["per_week_mean"], color=OKABE_ITO[2], label="mean")
ax.errorbar(
    top["per_week_mean"],
    names,
    xerr=err,
    fmt="none",
    color=BASELINE_COLOUR,
    capsize=3,
    label=f"{level:.0%} CI",
)
ax.set_xscale("symlog", linthresh=10)
ax.set_xlabel("moves per week (symmetric log scale)")
ax.set_title("Largest flows between services (moves per week, with CIs)")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Ledger: how every episode ended
#
# Each episode arising in the measurement window ends in exactly one state (`ledger.csv`, one
# row per replication). `waiting_at_end` is large in short runs: needs booked beyond the run's
# last day.

# %%
ledger = run.ledger.set_index("replication")
states = [c for c in ledger.columns if c != "generated"]
check = ledger[states].sum(axis=1) == ledger["generated"]
print(f"Ledger adds up to episodes generated in every replication: {bool(check.all())}")
shares = ledger[states].div(ledger["generated"], axis=0)
ledger_view = pd.DataFrame(
    {"episodes (mean per replication)": ledger[states].mean(), "share": shares.mean()}
).sort_values("share", ascending=False)
print(ledger_view.to_string(float_format=fmt))

fig, ax = plt.subplots(figsize=(10, 4))
shown = ledger_view[ledger_view["share"] > 0]
ax.barh(shown.index[::-1], 100 * shown["share"][::-1], color=OKABE_ITO[3])
ax.set_xscale("log")
ax.set_xlabel("% of episodes arising in the window (log scale)")
ax.set_title("How episodes ended (% of episodes, mean over replications)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Calibration against published figures
#
# `calibration.csv`: the simulated mean against each published target and its tolerance;
# `within` compares the mean only. A short run (`experiment=quick`) is not expected to match
# annual figures; a changed scenario is not expected to match at all. Notebook 03 plots these.

# %%
if run.calibration is not None:
    print("Calibration")
    print(run.calibration.drop(columns=["source"]).to_string(index=False, float_format=fmt))
    print(f"Within tolerance: {int(run.calibration['within'].sum())} of {len(run.calibration)}")
else:
    print("This run has no calibration.csv")
