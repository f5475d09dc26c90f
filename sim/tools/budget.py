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

**A programme budget.** From a sweep of programme runs (two or more years each, options
phased in as their files or the sweep's overrides say), ``--programme-budget 11700000`` (the
Barnet plan's £11.7m over three years) limits the investment summed over the programme years,
and ``--phasing 2900000,4400000,4400000`` optionally caps each year. Each option's investment
per year comes from the sweep's ``money_comparison.csv``; candidates are simulated with the
sweep's own option settings (start weeks and ramps included) and re-checked year by year.
Results go to ``<sweep>/programme_budget_<objective>_<amount>/``.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import sys
from dataclasses import dataclass
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
from sim.experiments.programme import kpi_table_by_year
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


def investment_by_year(sweep_dir: Path) -> pd.DataFrame:
    """Investment (extra cash out, £) of each single option in each programme year: options
    as rows, years 1, 2, ... as columns, from the sweep's ``money_comparison.csv``."""
    path = sweep_dir / "money_comparison.csv"
    if not path.exists():
        raise BudgetError(f"{sweep_dir}: no money_comparison.csv (re-make it: python -m sim sweep)")
    money = pd.read_csv(path, dtype={"period": str})
    rows = money[(money["measure"] == "investment") & money["period"].str.isdigit()]
    rows = rows[~rows["option"].str.contains("+", regex=False)]
    table = rows.pivot(index="option", columns="period", values="mean")
    table.columns = [int(c) for c in table.columns]
    return table[sorted(table.columns)]


@dataclass(frozen=True)
class ProgrammeBudget:
    """A budget over programme years: a total and, optionally, a cap for each year (£)."""

    total: float
    phasing: tuple[float, ...] = ()

    def fits(self, per_year: np.ndarray) -> bool:
        per_year = np.asarray(per_year, dtype=float)
        if self.phasing and len(self.phasing) != len(per_year):
            raise BudgetError(
                f"--phasing gives {len(self.phasing)} years; the sweep's runs have "
                f"{len(per_year)} programme years"
            )
        within_years = all(v <= cap for v, cap in zip(per_year, self.phasing, strict=False))
        return bool(per_year.sum() <= self.total and within_years)


def programme_sets(
    sets: pd.DataFrame, by_year: pd.DataFrame, budget: ProgrammeBudget
) -> pd.DataFrame:
    """The sets of :func:`affordable_sets` whose summed investment per year fits ``budget``,
    with their estimated investment over the programme."""
    keep, totals = [], []
    for row in sets.itertuples():
        per_year = by_year.loc[list(row.options)].sum(axis=0).to_numpy(dtype=float)
        if budget.fits(per_year):
            keep.append(row.Index)
            totals.append(float(per_year.sum()))
    out = sets.loc[keep].copy()
    out["estimated_programme_investment_gbp"] = totals
    return out


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


def sweep_options(sweep_dir: Path) -> dict[str, dict[str, Any]]:
    """Each single option as the sweep ran it (its job's resolved settings: a start week or
    ramp set for the sweep included)."""
    out = {}
    for name, folder in job_folders(sweep_dir).items():
        if "+" in name:
            continue
        cfg = safe_yaml.load(folder / ".hydra" / "config.yaml", f"{name}'s configuration")
        node = (cfg.get("scenario") or {}).get(name) if isinstance(cfg, dict) else None
        if isinstance(node, dict):
            out[name] = node
    return out


def simulate(
    base: dict[str, Any],
    options: list[str],
    replications: int,
    settings: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Per-replication KPIs of a combination, with the sweep's seed and design; ``settings``
    gives options as the sweep ran them (otherwise their files). Programme runs add a
    ``year`` column (0 = the whole run)."""
    settings = settings or {}

    def option(name: str) -> dict[str, Any]:
        return copy.deepcopy(settings.get(name) or read_option_file(option_file(name)))

    data = copy.deepcopy(base)
    data["scenario"] = (
        {name: option(name) for name in options} if options else {BASELINE: option(BASELINE)}
    )
    data["experiment"]["replications"] = replications
    data["experiment"]["n_jobs"] = -1
    data["experiment"]["target_relative_half_width"] = None
    run_cfg, _ = validate(data)
    results = run_experiment(run_cfg.model, run_cfg.experiment, run_cfg.seed)
    table = kpi_table(results)
    if results and results[0].kpis_by_year:
        table.insert(1, "year", 0)
        table = pd.concat([table, kpi_table_by_year(results)], ignore_index=True)
    return table


def _whole(table: pd.DataFrame) -> pd.DataFrame:
    """The whole-run KPIs of a :func:`simulate` table."""
    return table[table["year"] == 0].drop(columns="year") if "year" in table else table


def _investment_per_year(base: pd.DataFrame, option: pd.DataFrame) -> np.ndarray:
    """Mean simulated investment (£) of ``option`` over ``base`` in each programme year."""
    b = base[base["year"] > 0].pivot_table(
        index=["replication", "year"], columns="kpi", values="value"
    )
    o = option[option["year"] > 0].pivot_table(
        index=["replication", "year"], columns="kpi", values="value"
    )
    diff = (o[INVESTMENT] - b[INVESTMENT]).groupby(level="year").mean()
    return diff.sort_index().to_numpy(dtype=float)


def _paired(base: pd.DataFrame, option: pd.DataFrame, kpi: str, level: float) -> pd.Series:
    table = paired_comparison(_whole(base), _whole(option), level).set_index("kpi")
    return table.loc[kpi]


def find_best(
    sweep_dir: Path,
    budget: float,
    objective: str,
    candidates: int,
    confirm_replications: int,
    programme: ProgrammeBudget | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    effects = option_effects(sweep_dir, objective)
    settings: dict[str, dict[str, Any]] = {}
    if programme is None:
        sets = affordable_sets(effects, budget)
        if sets.empty:
            raise BudgetError(f"no option fits a budget of £{budget:,.0f} a year")
    else:
        # Annual limits are the programme's: each set is checked year by year below.
        sets = programme_sets(
            affordable_sets(effects, float("inf")), investment_by_year(sweep_dir), programme
        )
        if sets.empty:
            raise BudgetError(f"no option fits a programme budget of £{programme.total:,.0f}")
        settings = sweep_options(sweep_dir)
    base = _baseline_data(sweep_dir)
    level = float(base["experiment"].get("ci_level", 0.95))
    reps = int(base["experiment"]["replications"])
    sign = _sign(objective)

    # Stage 2: simulate the best few sets as real combinations.
    base_kpis = simulate(base, [], reps, settings)
    rows = []
    for s in sets.head(candidates).itertuples():
        kpis = simulate(base, s.options, reps, settings)
        gain = _paired(base_kpis, kpis, objective, level)
        cost = _paired(base_kpis, kpis, INVESTMENT, level)
        row = {
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
        if programme is not None:
            per_year = _investment_per_year(base_kpis, kpis)
            row["estimated_programme_investment_gbp"] = s.estimated_programme_investment_gbp
            row["simulated_programme_investment_gbp"] = float(per_year.sum())
            for y, value in enumerate(per_year, start=1):
                row[f"simulated_investment_year_{y}_gbp"] = float(value)
            row["within_budget"] = programme.fits(per_year)
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(
        ["simulated_gain", "simulated_investment_gbp"], ascending=[False, True], kind="stable"
    )
    finalists = table[table["within_budget"]].head(2)
    if finalists.empty:
        raise BudgetError("no simulated candidate stayed within budget")

    # Stage 3: confirm the two best with more replications, paired with each other.
    confirm = max(confirm_replications, reps)
    base_kpis = simulate(base, [], confirm, settings)
    confirmed = {}
    for name in finalists["options"]:
        confirmed[name] = simulate(base, name.split("+"), confirm, settings)
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
        head = paired_comparison(
            _whole(confirmed[runner]), _whole(confirmed[winner]), level
        ).set_index("kpi")
        verdict["runner_up"] = runner
        verdict["probability_winner_better"] = float(head.loc[objective, "prob_option_better"])
    return table, verdict


def _programme_budget(total: float, phasing: str) -> ProgrammeBudget:
    if not (total > 0 and np.isfinite(total)):
        raise BudgetError(f"--programme-budget {total}: must be a positive amount in £")
    caps: tuple[float, ...] = ()
    if phasing:
        try:
            caps = tuple(float(x) for x in phasing.split(","))
        except ValueError as err:
            raise BudgetError(
                f"--phasing {phasing}: must be £ amounts separated by commas"
            ) from err
        if any(not (c >= 0 and np.isfinite(c)) for c in caps):
            raise BudgetError(f"--phasing {phasing}: every year's cap must be an amount >= 0")
    return ProgrammeBudget(total, caps)


def _number(x: float) -> str:
    """A figure to read aloud: thousands separated, a few significant digits when small."""
    if not np.isfinite(x):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def headline(
    objective: str, verdict: dict[str, Any], budget: float, limit: str | None = None
) -> str:
    """The verdict in the objective's own unit and period, with its interval; ``limit``: the
    budget as words (default: ``budget`` a year)."""
    w = verdict["winner"]
    gain, (lo, hi) = verdict[w]["gain"], verdict[w]["gain_ci"]
    definition = KPI_DEFINITIONS[objective]
    unit = definition.unit
    yearly = ""
    if unit.endswith("per week"):  # the same count over a year, for a board's annual figures
        yearly = f"; about {_number(gain * WEEKS_PER_YEAR)} {unit[: -len('per week')]}a year"
    level = float(verdict.get("level", 0.95))
    return (
        f"Best within {limit or f'£{budget:,.0f} a year'} for {definition.label} ({objective}): "
        f"{w}, "
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
    parser.add_argument(
        "--programme-budget",
        type=float,
        default=None,
        help="£ over all programme years of the sweep's runs (e.g. 11700000), instead of --budget",
    )
    parser.add_argument(
        "--phasing", default="", help="£ cap for each programme year, e.g. 2900000,4400000,4400000"
    )
    args = parser.parse_args(argv)
    programme = None
    try:
        if args.phasing and args.programme_budget is None:
            raise BudgetError("--phasing needs --programme-budget")
        if args.programme_budget is not None:
            programme = _programme_budget(args.programme_budget, args.phasing)
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
            args.sweep,
            args.budget,
            args.objective,
            args.candidates,
            args.confirm_replications,
            programme,
        )
    except (BudgetError, ConfigError) as err:
        print(f"Budget error: {err}", file=sys.stderr)
        return 2
    if programme is None:
        target = args.sweep / f"budget_{args.objective}_{args.budget:.0f}"
        limit = f"£{args.budget:,.0f} a year"
    else:
        target = args.sweep / f"programme_budget_{args.objective}_{programme.total:.0f}"
        limit = f"£{programme.total:,.0f} over the programme"
        if programme.phasing:
            limit += " (" + ", ".join(f"£{c:,.0f}" for c in programme.phasing) + " a year)"
    line = headline(args.objective, verdict, args.budget, limit)
    try:
        out = new_folder(target)
        atomic_write_csv(out / "candidates.csv", table)
        atomic_write_json(
            out / "budget.json",
            {
                "status": "complete",
                "budget_gbp": args.budget if programme is None else None,
                "programme_budget_gbp": None if programme is None else programme.total,
                "programme_phasing_gbp": None if programme is None else list(programme.phasing),
                "objective": args.objective,
                "objective_unit": KPI_DEFINITIONS[args.objective].unit,
                "headline": line,
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
    print("\n" + line)
    if "probability_winner_better" in verdict:
        print(
            f"Probability it beats the runner-up ({verdict['runner_up']}): "
            f"{verdict['probability_winner_better']:.2f}"
        )
    print(out)
    return 0
