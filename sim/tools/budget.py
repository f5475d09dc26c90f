"""Best combination of options within an annual budget.

    python -m sim budget SWEEP_FOLDER [--budget 2900000] [--objective ae.attendances_per_week]
                         [--candidates 4] [--confirm-replications 10]

1. From the sweep (each option paired with the baseline), every set of mutually compatible
   single options whose summed annual investment fits the budget is scored by the sum of its
   options' effects (exhaustive: 11 options give at most 2,048 sets).
2. Effects of options do not simply add (they compete for the same patients), so the best
   few sets are simulated as real combinations, with the sweep's seed and design.
3. Simulation noise can reorder close candidates, so the two best are re-run with more
   replications, paired with each other and the baseline (common random numbers), before
   one is declared the winner; the probability it truly beats the runner-up is reported.

Default budget: £2.9m a year, the Barnet plan's first-year investment. The verdict is stated
in the objective's own unit and period (a KPI per week stays per week, with its yearly
equivalent; a share stays a share), with its confidence interval. Results go to a new folder
``<sweep>/budget_<objective>_<amount>/`` (``..._2`` and so on if that exists: an earlier
analysis is never overwritten); the last line printed is that folder.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import safe_yaml
from sim.config.compose import validate
from sim.config.locations import SOURCE_ROOT, option_file
from sim.config.scenarios import read_option_file
from sim.config.schema import ConfigError
from sim.core.calendar import WEEKS_PER_YEAR
from sim.core.kpis import KPI_DEFINITIONS
from sim.experiments.comparison import paired_comparison
from sim.experiments.outputs import (
    OutputWriteError,
    atomic_write_csv,
    atomic_write_json,
    git_state,
    new_folder,
    now_utc,
    package_versions,
)
from sim.experiments.replications import kpi_table, run_experiment
from sim.tools.sweep import BASELINE, job_folders

DEFAULT_BUDGET_GBP = 2_900_000
#: A budget above this (£ a year) is a typing mistake, not a plan.
LARGEST_BUDGET_GBP = 1e12
INVESTMENT = "cost.services_annual_gbp"


class BudgetError(ValueError):
    pass


def _sign(objective: str) -> float:
    better = KPI_DEFINITIONS[objective].better
    if better is None:
        raise BudgetError(f"--objective {objective}: this KPI has no better direction")
    return 1.0 if better == "higher" else -1.0


def option_effects(sweep_dir: Path, objective: str) -> pd.DataFrame:
    """Per single option: annual investment and objective gain (positive = better)."""
    path = sweep_dir / "comparison.csv"
    try:
        comparison = pd.read_csv(path, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise BudgetError(f"{path} cannot be read ({type(err).__name__})") from None
    missing = [c for c in ("option", "kpi", "diff_mean") if c not in comparison.columns]
    if missing:
        raise BudgetError(f"{path} has no column {missing[0]!r} (not a sweep's comparison)")
    sign = _sign(objective)
    rows = []
    for option, table in comparison.groupby("option", sort=False):
        if "+" in str(option):
            continue  # combinations are evaluated by simulation, not used as building blocks
        t = table.drop_duplicates("kpi").set_index("kpi")["diff_mean"]
        values = {}
        for kpi in (INVESTMENT, objective):
            value = pd.to_numeric(pd.Series([t.get(kpi)]), errors="coerce").iloc[0]
            if not np.isfinite(value):
                raise BudgetError(
                    f"{path}: option {option!r} has no number for {kpi} (diff_mean "
                    f"{t.get(kpi)!r}); re-make the sweep's summary (python -m sim sweep)"
                )
            values[kpi] = float(value)
        rows.append(
            {
                "option": str(option),
                "investment_annual_gbp": values[INVESTMENT],
                "gain": sign * values[objective],
            }
        )
    return pd.DataFrame(rows, columns=["option", "investment_annual_gbp", "gain"])


def incompatible_pairs(options: list[str]) -> set[frozenset[str]]:
    pairs = set()
    for name in options:
        data = read_option_file(option_file(name))
        for other in data.get("incompatible_with") or []:
            pairs.add(frozenset((name, other)))
    return pairs


def affordable_sets(effects: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Every compatible set of options within budget, scored by summed gains. Options that do
    not improve the objective are left out: adding one can only cost money."""
    effects = effects[effects["gain"] > 0]
    names = list(effects["option"])
    cost = dict(zip(names, effects["investment_annual_gbp"], strict=True))
    gain = dict(zip(names, effects["gain"], strict=True))
    banned = incompatible_pairs(names)
    rows = []
    for k in range(1, len(names) + 1):
        for combo in itertools.combinations(names, k):
            total = sum(cost[c] for c in combo)
            if total > budget:
                continue
            if any(frozenset(p) in banned for p in itertools.combinations(combo, 2)):
                continue
            rows.append(
                {
                    "options": list(combo),
                    "estimated_investment_gbp": total,
                    "estimated_gain": sum(gain[c] for c in combo),
                }
            )
    frame = pd.DataFrame(rows, columns=["options", "estimated_investment_gbp", "estimated_gain"])
    return frame.sort_values(
        ["estimated_gain", "estimated_investment_gbp"], ascending=[False, True], kind="stable"
    )


def _baseline_data(sweep_dir: Path) -> dict[str, Any]:
    jobs = job_folders(sweep_dir)
    if BASELINE not in jobs:
        raise BudgetError(f"{sweep_dir}: no completed baseline job")
    data = safe_yaml.load(jobs[BASELINE] / ".hydra" / "config.yaml", "baseline configuration")
    if not isinstance(data, dict) or not isinstance(data.get("experiment"), dict):
        raise BudgetError(f"{jobs[BASELINE]}/.hydra/config.yaml is not a run's configuration")
    data.pop("hydra", None)
    return data


def simulate(base: dict[str, Any], options: list[str], replications: int) -> pd.DataFrame:
    """Per-replication KPIs of a combination, with the sweep's seed and design."""
    data = copy.deepcopy(base)
    data["scenario"] = (
        {name: read_option_file(option_file(name)) for name in options}
        if options
        else {BASELINE: read_option_file(option_file(BASELINE))}
    )
    data["experiment"]["replications"] = replications
    data["experiment"]["n_jobs"] = -1
    data["experiment"]["target_relative_half_width"] = None
    run_cfg, _ = validate(data)
    results = run_experiment(run_cfg.model, run_cfg.experiment, run_cfg.seed)
    return kpi_table(results)


def _paired(base: pd.DataFrame, option: pd.DataFrame, kpi: str, level: float) -> pd.Series:
    table = paired_comparison(base, option, level).set_index("kpi")
    return table.loc[kpi]


def find_best(
    sweep_dir: Path,
    budget: float,
    objective: str,
    candidates: int,
    confirm_replications: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    effects = option_effects(sweep_dir, objective)
    sets = affordable_sets(effects, budget)
    if sets.empty:
        raise BudgetError(f"no option fits a budget of £{budget:,.0f} a year")
    base = _baseline_data(sweep_dir)
    level = float(base["experiment"].get("ci_level", 0.95))
    reps = int(base["experiment"]["replications"])
    sign = _sign(objective)

    # Stage 2: simulate the best few sets as real combinations.
    base_kpis = simulate(base, [], reps)
    rows = []
    for s in sets.head(candidates).itertuples():
        kpis = simulate(base, s.options, reps)
        gain = _paired(base_kpis, kpis, objective, level)
        cost = _paired(base_kpis, kpis, INVESTMENT, level)
        rows.append(
            {
                "options": "+".join(s.options),
                "estimated_investment_gbp": s.estimated_investment_gbp,
                "estimated_gain": s.estimated_gain,
                "simulated_investment_gbp": float(cost["diff_mean"]),
                "simulated_gain": sign * float(gain["diff_mean"]),
                "gain_ci_low": sign * float(gain["diff_ci_high" if sign < 0 else "diff_ci_low"]),
                "gain_ci_high": sign * float(gain["diff_ci_low" if sign < 0 else "diff_ci_high"]),
                "within_budget": float(cost["diff_mean"]) <= budget,
                "replications": reps,
            }
        )
    table = pd.DataFrame(rows).sort_values(
        ["simulated_gain", "simulated_investment_gbp"], ascending=[False, True], kind="stable"
    )
    finalists = table[table["within_budget"]].head(2)
    if finalists.empty:
        raise BudgetError("no simulated candidate stayed within budget")

    # Stage 3: confirm the two best with more replications, paired with each other.
    confirm = max(confirm_replications, reps)
    base_kpis = simulate(base, [], confirm)
    confirmed = {}
    for name in finalists["options"]:
        confirmed[name] = simulate(base, name.split("+"), confirm)
    names = list(confirmed)
    verdict: dict[str, Any] = {"confirm_replications": confirm}
    for name in names:
        g = _paired(base_kpis, confirmed[name], objective, level)
        ends = sorted((sign * float(g["diff_ci_low"]), sign * float(g["diff_ci_high"])))
        verdict[name] = {"gain": sign * float(g["diff_mean"]), "gain_ci": ends}
    verdict["level"] = level
    # Equal gains: the cheaper set wins (finalists are already in order of cost on ties).
    winner = max(names, key=lambda n: verdict[n]["gain"])
    verdict["winner"] = winner
    if len(names) == 2:
        runner = next(n for n in names if n != winner)
        head = paired_comparison(confirmed[runner], confirmed[winner], level).set_index("kpi")
        verdict["runner_up"] = runner
        verdict["probability_winner_better"] = float(head.loc[objective, "prob_option_better"])
    return table, verdict


def _number(x: float) -> str:
    """A figure to read aloud: thousands separated, a few significant digits when small."""
    if not np.isfinite(x):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def headline(objective: str, verdict: dict[str, Any], budget: float) -> str:
    """The verdict in the objective's own unit and period, with its interval."""
    w = verdict["winner"]
    gain, (lo, hi) = verdict[w]["gain"], verdict[w]["gain_ci"]
    definition = KPI_DEFINITIONS[objective]
    unit = definition.unit
    yearly = ""
    if unit.endswith("per week"):  # the same count over a year, for a board's annual figures
        yearly = f"; about {_number(gain * WEEKS_PER_YEAR)} {unit[: -len('per week')]}a year"
    level = float(verdict.get("level", 0.95))
    return (
        f"Best within £{budget:,.0f} a year for {definition.label} ({objective}): {w}, "
        f"{_number(gain)} {unit} better than the baseline ({level:.0%} CI {_number(lo)} to "
        f"{_number(hi)}; {verdict['confirm_replications']} paired replications{yearly})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim budget", description=__doc__.split("\n")[0]
    )
    parser.add_argument("sweep", type=Path, help="a finished sweep folder (with comparison.csv)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_GBP, help="£ a year")
    parser.add_argument("--objective", default="ae.attendances_per_week", help="KPI to improve")
    parser.add_argument("--candidates", type=int, default=4, help="sets simulated as combinations")
    parser.add_argument("--confirm-replications", type=int, default=10)
    args = parser.parse_args(argv)
    try:
        if args.objective not in KPI_DEFINITIONS:
            raise BudgetError(f"--objective {args.objective}: not a KPI of the model")
        if not (0 < args.budget <= LARGEST_BUDGET_GBP and np.isfinite(args.budget)):
            raise BudgetError(
                f"--budget {args.budget:g}: must be a positive amount in £ a year, at most "
                f"{LARGEST_BUDGET_GBP:g}"
            )
        if not 1 <= args.candidates <= 100 or not 2 <= args.confirm_replications <= 10_000:
            raise BudgetError(
                "--candidates must be 1 to 100 and --confirm-replications 2 to 10,000"
            )
        if not (args.sweep / "comparison.csv").is_file():
            raise BudgetError(f"{args.sweep}: no comparison.csv (run the sweep first)")
        table, verdict = find_best(
            args.sweep, args.budget, args.objective, args.candidates, args.confirm_replications
        )
    except (BudgetError, ConfigError) as err:
        print(f"Budget error: {err}", file=sys.stderr)
        return 2
    target = args.sweep / f"budget_{args.objective}_{args.budget:.0f}"
    try:
        out = new_folder(target)
        atomic_write_csv(out / "candidates.csv", table)
        atomic_write_json(
            out / "budget.json",
            {
                "status": "complete",
                "budget_gbp": args.budget,
                "objective": args.objective,
                "objective_unit": KPI_DEFINITIONS[args.objective].unit,
                "headline": headline(args.objective, verdict, args.budget),
                **verdict,
                "git": git_state(SOURCE_ROOT),
                "packages": package_versions(),
                "finished_utc": now_utc(),
            },
        )
    except OutputWriteError as err:
        print(f"Output error: {err.path}: {err.reason}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"Output error: {target}: {err.strerror or err}", file=sys.stderr)
        return 1
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:,.1f}"))
    print("\n" + headline(args.objective, verdict, args.budget))
    if "probability_winner_better" in verdict:
        print(
            f"Probability it beats the runner-up ({verdict['runner_up']}): "
            f"{verdict['probability_winner_better']:.2f}"
        )
    print(out)
    return 0
