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
# # 03 Validation and calibration
#
# Reads the output of `python -m sim validate` (`validation.csv`): the model against queueing
# theory (M/M/c A&E, the appointment-book backlog recursion), arrival counts against their
# configured rate (chi-square), Little's law, and, in a full (not `--quick`) run, the
# calibration targets. Then the calibration table (`calibration.csv`) of a baseline run.
# What each check means: `docs/validation.md`.
#
# **Which folders**: `SIM_VALIDATION_DIR`, otherwise the newest complete folder under
# `outputs/validation/`; for the calibration, the validation folder's own calibration rows
# when it has them, otherwise the run in `SIM_RUN_DIR` or the newest complete baseline run
# under `outputs/runs/`.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim import api
from sim.report.style import BASELINE_COLOUR, OKABE_ITO

api.setup_display()
PASS_COLOUR, FAIL_COLOUR, BAND_COLOUR = OKABE_ITO[3], OKABE_ITO[6], OKABE_ITO[2]

val = api.load_validation()
vm = val.manifest
print(f"Validation folder: {val.folder}")
print(
    f"Command: {vm.get('command')}; quick={vm.get('quick')}; "
    f"family-wise alpha {vm.get('family_alpha')}, wall time {vm.get('wall_seconds')} s"
)
print(f"Passed: {vm.get('passed')} ({vm.get('n_checks')} checks)")
for failed in vm.get("failed_checks", []):
    print(f"FAILED: {failed}")

# %% [markdown]
# ## The validation table
#
# `theory` is the known answer (for chi-square rows, the degrees of freedom); `ci_low` to
# `ci_high` is the simulation's interval at `level` (for chi-square rows, the acceptance
# region of the statistic).

# %%
table = val.validation
print("Validation checks")
print(
    table[
        ["group", "check", "unit", "theory", "simulated", "ci_low", "ci_high", "n", "passed"]
    ].to_string(index=False, float_format=lambda x: f"{x:,.4g}")
)
print(f"\n{int(table['passed'].sum())} of {len(table)} checks pass")

# %% [markdown]
# ## Simulated against theory
#
# Left: checks against a known value, as simulated ÷ theory with the simulation's confidence
# interval (pass when the whisker covers 1). Right: chi-square checks, the statistic against
# its acceptance region (pass when the point lies in the band).

# %%
theory = val.theory_checks
is_chi = theory["unit"] == "chi-square"
ratio_rows, chi_rows = theory[~is_chi], theory[is_chi]
fig, axes = plt.subplots(
    1,
    2,
    figsize=(14, 0.45 * max(len(ratio_rows), 3) + 2),
    gridspec_kw={"width_ratios": [3, 2]},
)
ax = axes[0]
y = np.arange(len(ratio_rows))
for yi, r in zip(y, ratio_rows.itertuples(), strict=True):
    colour = PASS_COLOUR if r.passed else FAIL_COLOUR
    lo, mid, hi = r.ci_low / r.theory, r.simulated / r.theory, r.ci_high / r.theory
    ax.errorbar(mid, yi, xerr=[[mid - lo], [hi - mid]], fmt="o", color=colour, capsize=3)
ax.axvline(1, color=BASELINE_COLOUR, lw=1, label="theory (ratio 1)")
ax.set_yticks(y, ratio_rows["check"], fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("simulated ÷ theory (ratio)")
ax.set_title(f"Simulated ÷ theory (ratio; whiskers: {ratio_rows['level'].max():.2%} CI)")
ax.plot([], [], "o", color=PASS_COLOUR, label="pass")
ax.plot([], [], "o", color=FAIL_COLOUR, label="fail")
ax.legend(fontsize=8)

ax = axes[1]
if len(chi_rows):
    y = np.arange(len(chi_rows))
    for yi, r in zip(y, chi_rows.itertuples(), strict=True):
        ax.fill_betweenx([yi - 0.3, yi + 0.3], r.ci_low, r.ci_high, color=BAND_COLOUR, alpha=0.35)
        ax.plot(r.simulated, yi, "o", color=PASS_COLOUR if r.passed else FAIL_COLOUR)
        ax.plot(r.theory, yi, "|", color=BASELINE_COLOUR, ms=14)
    ax.set_yticks(y, chi_rows["check"], fontsize=8)
    ax.invert_yaxis()
    ax.fill_between([], [], color=BAND_COLOUR, alpha=0.35, label="acceptance region")
    ax.plot([], [], "|", color=BASELINE_COLOUR, ms=10, label="degrees of freedom")
    ax.legend(fontsize=8)
ax.set_xlabel("chi-square statistic")
ax.set_title("Arrivals by hour of week: chi-square statistic (dimensionless)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Calibration against published figures
#
# Each target's published value with its tolerance (`within` = the simulated **mean** lies
# within target ± tolerance; the confidence interval is shown for reading).

# %%
calib_source = None
if len(val.calibration_checks):
    c = val.calibration_checks
    calibration = pd.DataFrame(
        {
            "target": c["check"],
            "source": c["note"],
            "target_value": c["theory"],
            "tolerance": c["tolerance"],
            "simulated_mean": c["simulated"],
            "ci_low": c["ci_low"],
            "ci_high": c["ci_high"],
            "within": c["passed"],
        }
    )
    calib_source = f"validation folder {val.folder}"
else:
    try:
        run = api.load_run()
        calibration = run.calibration
        calib_source = (
            f"run folder {run.folder} ({run.manifest.get('replications')} x "
            f"{run.manifest.get('run_weeks')} weeks)"
        )
    except api.NoOutputsError as err:
        calibration = None
        print(f"No calibration to show: this validation run is --quick and {err}")

if calibration is not None:
    print(f"Calibration (from the {calib_source})")
    print(
        calibration.drop(columns=["source"]).to_string(
            index=False, float_format=lambda x: f"{x:,.4g}"
        )
    )
    print(f"Within tolerance: {int(calibration['within'].sum())} of {len(calibration)}")

# %% [markdown]
# ### Simulated against target, with tolerance bands
#
# Everything is divided by the published value so that targets with different units share
# one axis: the band is target ± tolerance, the point the simulated mean, the whisker its
# confidence interval.

# %%
if calibration is not None:
    cal = calibration.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(cal) + 1.8))
    for yi, r in cal.iterrows():
        t = r["target_value"]
        ax.fill_betweenx(
            [yi - 0.35, yi + 0.35],
            (t - r["tolerance"]) / t,
            (t + r["tolerance"]) / t,
            color=BAND_COLOUR,
            alpha=0.35,
            lw=0,
        )
        mid = r["simulated_mean"] / t
        err = [[mid - r["ci_low"] / t], [r["ci_high"] / t - mid]]
        ax.errorbar(
            mid,
            yi,
            xerr=err,
            fmt="o",
            capsize=3,
            color=PASS_COLOUR if r["within"] else FAIL_COLOUR,
        )
    ax.axvline(1, color=BASELINE_COLOUR, lw=1)
    ax.set_yticks(range(len(cal)), cal["target"], fontsize=8)
    ax.invert_yaxis()
    ax.fill_between([], [], color=BAND_COLOUR, alpha=0.35, label="target ± tolerance")
    ax.errorbar(
        [],
        [],
        xerr=[],
        fmt="o",
        color=PASS_COLOUR,
        capsize=3,
        label="simulated mean, 95% CI: within",
    )
    ax.errorbar(
        [],
        [],
        xerr=[],
        fmt="o",
        color=FAIL_COLOUR,
        capsize=3,
        label="simulated mean, 95% CI: outside",
    )
    ax.set_xlabel("value ÷ published target (ratio; 1 = the target)")
    ax.set_title("Calibration: simulated ÷ published target (ratio, with tolerance bands)")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    plt.show()
