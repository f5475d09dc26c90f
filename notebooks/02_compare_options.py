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
# # 02 Compare investment options
#
# Reads a sweep's summary: `comparison.csv` (every option against the baseline, paired
# replication by replication with common random numbers) and `ranking.csv` (investment, net
# cost, A&E attendances and admissions avoided, cost per outcome avoided). See
# `docs/sweeps.md`.
#
# **Which sweep**: the folder in the environment variable `SIM_SWEEP_DIR`, otherwise the newest
# sweep under `outputs/sweeps/` that has a `comparison.csv` and `ranking.csv` (make one with
# `python -m sim +sweep=all_options`). Every option keeps the same colour, marker and name in
# every figure here and in the board report (`sim.report.style`: colours fixed by the scenario
# catalogue; the baseline is black).

# %%
import matplotlib.pyplot as plt
import numpy as np

from sim import api
from sim.report.style import BASELINE_COLOUR, option_style, wrap_label

api.setup_display()
fmt = api.fmt
sweep = api.load_sweep()
comparison = api.with_labels(sweep.comparison)
ranking = sweep.ranking
options = sweep.options  # catalogue order, as in the board report
titles = sweep.titles
# Each option's colour and marker are fixed by the scenario catalogue (sim.report.style), so
# they match the board report's figures.
styles = {o: option_style(o).marker_kwargs() for o in options}
print(f"Sweep folder: {sweep.folder}")
print(f"Jobs complete: {', '.join(sweep.status.get('jobs_complete', sorted(sweep.jobs)))}")
for problem in sweep.status.get("problems", []):
    print(f"Problem: {problem}")
print("Options compared with the baseline:")
for o in options:
    print(f"  {o}: {titles[o]}")

baseline = api.load_run(sweep.jobs["baseline"], scenario=None) if "baseline" in sweep.jobs else None
level = baseline.ci_level if baseline else 0.95
if baseline is not None:
    bm = baseline.manifest
    print(
        f"Design: {bm.get('replications')} paired replications x {bm.get('run_weeks')} weeks "
        f"after {bm.get('warmup_weeks')} weeks' warm-up, seed {bm.get('seed')}; "
        f"{level:.0%} confidence intervals."
    )

# %% [markdown]
# ## Ranking
#
# `investment_annual_gbp` is the change in the running cost of services, `net_cost_annual_gbp`
# the change in total cost (services plus urgent and hospital activity). "Avoided" counts are a
# year's worth, with confidence intervals; an option that avoids nothing has no cost per
# outcome and ranks last.

# %%
print("Ranking of options")
print(ranking.drop(columns=["title"]).to_string(index=False, float_format=fmt))
print()
print(ranking[["option", "title"]].to_string(index=False))

# %% [markdown]
# ## Differences from the baseline, headline KPIs
#
# One panel per headline KPI: option minus baseline (mean over paired replications) with its
# confidence interval as whiskers. A whisker crossing zero means the difference is not
# distinguishable from zero at this precision.

# %%
headline = (baseline.headline_kpis if baseline is not None else []) or [
    "practice.urgent_same_day_met_rate",
    "ae.attendances_per_week",
    "ae.four_hour_performance",
    "system.admissions_per_week",
    "system.unmet_need_per_week",
    "cost.total_annual_gbp",
]
headline = [k for k in headline if k in set(comparison["kpi"])]
ncols = 3
nrows = -(-len(headline) // ncols)
fig, axes = plt.subplots(
    nrows, ncols, figsize=(14, nrows * (1.4 + 0.45 * len(options))), sharey=True, squeeze=False
)
axes = axes.ravel()
for ax, kpi in zip(axes, headline, strict=False):
    rows = comparison[comparison["kpi"] == kpi].set_index("option").reindex(options)
    unit = api.kpi_unit(kpi)
    scale = 1e6 if unit.startswith("£") else 1.0  # costs in £ million
    unit = unit.replace("£", "£ million", 1) if scale != 1 else unit
    y = np.arange(len(options))[::-1]  # first option on top
    for yi, (opt, r) in zip(y, rows.iterrows(), strict=True):
        mean, lo, hi = (r[c] / scale for c in ("diff_mean", "diff_ci_low", "diff_ci_high"))
        ax.errorbar(
            mean, yi, xerr=[[mean - lo], [hi - mean]], linestyle="none", capsize=3, **styles[opt]
        )
    ax.axvline(0, color=BASELINE_COLOUR, lw=0.8)
    ax.set_title(f"{api.kpi_label(kpi)}\n({unit}, option − baseline)", fontsize=9)
# the panels share the y axis: option names once, on the left
axes[0].set_yticks(np.arange(len(options))[::-1], [wrap_label(titles[o], 30) for o in options])
axes[0].set_ylim(-0.7, len(options) - 0.3)
for ax in axes[::ncols]:
    ax.tick_params(axis="y", labelsize=7)
for ax in axes[len(headline) :]:
    ax.set_visible(False)
fig.suptitle(f"Difference from the baseline (mean, whiskers: {level:.0%} CI, paired)")
fig.tight_layout()
plt.show()

# %%
print("Headline differences (option − baseline)")
view = comparison[comparison["kpi"].isin(headline)][
    [
        "option",
        "label",
        "baseline_mean",
        "option_mean",
        "diff_mean",
        "diff_ci_low",
        "diff_ci_high",
        "prob_option_better",
        "unit",
    ]
]
print(view.to_string(index=False, float_format=fmt))

# %% [markdown]
# ## Every KPI, as a percentage of the baseline
#
# To put KPIs with different units on one axis, each difference (and its interval) is divided
# by the baseline mean. KPIs whose baseline mean is zero are left out.

# %%
rel = comparison[comparison["baseline_mean"].abs() > 0].copy()
for col in ("diff_mean", "diff_ci_low", "diff_ci_high"):
    rel[col] = 100 * rel[col] / rel["baseline_mean"].abs()
kpis = list(dict.fromkeys(rel["kpi"]))
fig, ax = plt.subplots(figsize=(11, 0.32 * len(kpis) + 1.5))
offsets = np.linspace(-0.3, 0.3, len(options)) if len(options) > 1 else [0.0]
for off, opt in zip(offsets, options, strict=True):
    r = rel[rel["option"] == opt].set_index("kpi").reindex(kpis)
    y = np.arange(len(kpis)) + off
    ax.errorbar(
        r["diff_mean"],
        y,
        xerr=[r["diff_mean"] - r["diff_ci_low"], r["diff_ci_high"] - r["diff_mean"]],
        linestyle="none",
        ms=4,
        capsize=2,
        label=wrap_label(titles[opt], 40),
        **styles[opt],
    )
ax.axvline(0, color=BASELINE_COLOUR, lw=0.8)
ax.set_yticks(range(len(kpis)), [api.kpi_label(k) for k in kpis], fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("difference from the baseline (% of the baseline mean)")
ax.set_title(f"All KPIs: option − baseline (% of baseline; whiskers: {level:.0%} CI)")
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Cost-effectiveness plane
#
# Additional annual investment against outcomes avoided a year, with confidence-interval
# whiskers on the outcome (investment in capacity does not vary between replications).
# Options to the right avoid more; lower options cost less.

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
panels = (
    (
        "ae_attendances_avoided_per_year",
        "ae_avoided_ci_low",
        "ae_avoided_ci_high",
        "A&E attendances avoided per year",
    ),
    (
        "admissions_avoided_per_year",
        "admissions_avoided_ci_low",
        "admissions_avoided_ci_high",
        "emergency admissions avoided per year",
    ),
)
for ax, (col, lo, hi, what) in zip(axes, panels, strict=True):
    for r in ranking.itertuples():
        x, y = getattr(r, col), r.investment_annual_gbp / 1e6
        ax.errorbar(
            x,
            y,
            xerr=[[x - getattr(r, lo)], [getattr(r, hi) - x]],
            linestyle="none",
            ms=7,
            capsize=3,
            label=wrap_label(titles[r.option], 40),
            **styles[r.option],
        )
    ax.axvline(0, color="grey", lw=0.8)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(f"{what} (mean, {level:.0%} CI)")
    ax.set_ylabel("additional annual investment (£ million, 2024/25 prices)")
    ax.set_title(f"Investment (£m a year) against {what}", fontsize=10)
axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.suptitle("Cost-effectiveness plane (paired with the baseline)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Cost per outcome avoided is a ratio of two uncertain quantities: its interval is Fieller's,
# empty when the outcomes avoided cannot be told from zero (docs/experiments.md).

# %%
print("Net cost and cost per outcome avoided (£ a year, 2024/25 prices)")
print(
    ranking[
        [
            "option",
            "investment_annual_gbp",
            "net_cost_annual_gbp",
            "cost_per_ae_attendance_avoided_gbp",
            "cost_per_ae_ci_low",
            "cost_per_ae_ci_high",
            "cost_per_admission_avoided_gbp",
            "cost_per_admission_ci_low",
            "cost_per_admission_ci_high",
            "rank_by_ae",
            "rank_by_admissions",
        ]
    ].to_string(index=False, float_format=fmt)
)
