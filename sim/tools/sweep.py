"""Sweep summaries: every option paired against the baseline, a cost-effectiveness ranking and
plot, then the board report (``python -m sim report``). Runs automatically at the end of every
multirun (a Hydra callback: a sweep file, or ``python -m sim -m scenario=baseline,a,b``) and on
demand:

    python -m sim sweep outputs/sweeps/all_options

The last line printed is the sweep folder's path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.core.calendar import WEEKS_PER_YEAR
from sim.core.statistics import RatioInterval
from sim.experiments.outputs import atomic_write_csv, atomic_write_json, atomic_write_text, now_utc

if TYPE_CHECKING:
    # Imported where tables are made: Hydra builds the sweep callback below at the start of
    # every run, a single run too, and pandas with scipy.stats (the comparison's intervals)
    # cost that run about a second of CPU before its first replication.
    import pandas as pd

BASELINE = "baseline"
RANKING_COLUMNS = [
    "option",
    "title",
    "investment_annual_gbp",
    "net_cash_cost_annual_gbp",
    "capacity_freed_annual_gbp",
    "ae_attendances_avoided_per_year",
    "ae_avoided_ci_low",
    "ae_avoided_ci_high",
    "admissions_avoided_per_year",
    "admissions_avoided_ci_low",
    "admissions_avoided_ci_high",
    "cost_per_ae_attendance_avoided_gbp",
    "cost_per_ae_ci_low",
    "cost_per_ae_ci_high",
    "cost_per_admission_avoided_gbp",
    "cost_per_admission_ci_low",
    "cost_per_admission_ci_high",
    "rank_by_ae",
    "rank_by_admissions",
]


def completed_jobs(sweep_dir: Path) -> list[tuple[str, Path]]:
    """(scenario label, folder) of every completed job of a sweep, in folder order."""
    jobs = []
    for manifest_path in sorted(Path(sweep_dir).glob("*/manifest.json")):
        manifest = _manifest(manifest_path.parent)
        if manifest.get("status") == "complete" and isinstance(manifest.get("scenario"), str):
            jobs.append((manifest["scenario"], manifest_path.parent))
    return jobs


def job_folders(sweep_dir: Path) -> dict[str, Path]:
    """Completed job folders of a sweep, keyed by scenario label."""
    return dict(completed_jobs(sweep_dir))


def repeated_scenarios(sweep_dir: Path) -> dict[str, list[str]]:
    """Scenarios run by more than one job (a multirun over something other than the scenario,
    e.g. ``-m seed=1,2``), with those jobs' folder names: such a folder has no single
    baseline to compare with."""
    folders: dict[str, list[str]] = {}
    for scenario, folder in completed_jobs(sweep_dir):
        folders.setdefault(scenario, []).append(folder.name)
    return {s: f for s, f in folders.items() if len(f) > 1}


def _manifest(folder: Path) -> dict[str, Any]:
    """A job's manifest; empty when it cannot be read (such a job counts as not complete)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"status": "unreadable manifest.json"}
    return manifest if isinstance(manifest, dict) else {"status": "unreadable manifest.json"}


def _titles(folder: Path) -> str:
    """Option titles from the job's resolved config."""
    from sim.config import safe_yaml
    from sim.config.schema import ConfigError

    try:
        cfg = safe_yaml.load(folder / ".hydra" / "config.yaml", "run configuration")
    except ConfigError:
        cfg = None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("scenario"), dict):
        return folder.name
    return " + ".join(str(o.get("title", name)) for name, o in (cfg.get("scenario") or {}).items())


def sweep_comparison(sweep_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(comparison, ranking, problems) for every completed option against the baseline."""
    import pandas as pd

    from sim.experiments.comparison import (
        COMPARISON_COLUMNS,
        ComparisonError,
        check_comparable,
        paired_comparison,
        paired_ratio,
        read_kpis,
    )

    jobs = job_folders(sweep_dir)
    problems = []
    repeated = repeated_scenarios(sweep_dir)
    if repeated or BASELINE not in jobs:
        if repeated:
            scenario, folders = next(iter(repeated.items()))
            problem = (
                f"jobs {', '.join(folders)} ran the same scenario, {scenario}: this multirun "
                "varies something other than the scenario, so there is no comparison with the "
                "baseline and no board report; compare two runs with python -m sim compare "
                "BASELINE_RUN OPTION_RUN, or sweep over scenarios (-m scenario=baseline,a,b, or "
                "a file in conf/sweep/)"
            )
        else:
            problem = "no completed baseline job in this sweep: nothing to compare against"
        return (
            pd.DataFrame(columns=["option", *COMPARISON_COLUMNS]),
            pd.DataFrame(columns=RANKING_COLUMNS),
            [problem],
        )
    base_dir = jobs[BASELINE]
    base_manifest = _manifest(base_dir)
    base_kpis = read_kpis(base_dir / "kpis.csv")
    level = float(base_manifest.get("ci_level", 0.95))
    tables, ranking = [], []
    for option, folder in jobs.items():
        if option == BASELINE:
            continue
        manifest = _manifest(folder)
        try:
            check_comparable(base_dir, base_manifest, folder, manifest)
            option_kpis = read_kpis(folder / "kpis.csv")
            table = paired_comparison(base_kpis, option_kpis, level)
        except ComparisonError as err:
            problems.append(f"{option}: not compared with the baseline ({err}); skipped")
            continue
        table.insert(0, "option", option)
        tables.append(table)
        ratios = {
            outcome: paired_ratio(
                base_kpis, option_kpis, INVESTMENT, outcome, level, -WEEKS_PER_YEAR
            )
            for outcome in (AE_ATTENDANCES, ADMISSIONS)
        }
        ranking.append(_ranking_row(option, _titles(folder), table, ratios))
    comparison = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=["option", *COMPARISON_COLUMNS])
    )
    rank = pd.DataFrame(ranking, columns=RANKING_COLUMNS[:-2])
    for col, rank_col in (
        ("cost_per_ae_attendance_avoided_gbp", "rank_by_ae"),
        ("cost_per_admission_avoided_gbp", "rank_by_admissions"),
    ):
        # Options that avoid nothing cost infinitely much per outcome and rank last.
        rank[rank_col] = rank[col].rank(method="min", na_option="bottom").astype(int)
    return comparison, rank.sort_values("rank_by_ae", kind="stable"), problems


INVESTMENT = "cost.services_annual_gbp"
AE_ATTENDANCES = "ae.attendances_per_week"
ADMISSIONS = "system.admissions_per_week"


def _ratio_columns(ratio: RatioInterval, avoided: float) -> list[float]:
    """Cost per outcome avoided and its Fieller interval; NaN when the option avoids nothing
    on average (no cost per outcome avoided) or the outcomes avoided cannot be told from zero
    (no finite interval: docs/sweeps.md)."""
    nan = float("nan")
    if not avoided > 0:
        return [nan, nan, nan]
    return [ratio.estimate, ratio.low, ratio.high]


def _ranking_row(
    option: str, title: str, table: pd.DataFrame, ratios: dict[str, RatioInterval]
) -> list[Any]:
    row = table.set_index("kpi")

    def diff(kpi: str, col: str = "diff_mean") -> float:
        return float(row.loc[kpi, col]) if kpi in row.index else float("nan")

    investment = diff(INVESTMENT)
    # Cash only: activity under fixed contracts avoided frees capacity, not cash, and is kept
    # apart rather than netted against the investment.
    net_cash = diff("cost.cash_annual_gbp")
    freed = -diff("cost.activity_fixed_annual_gbp")
    # avoided per year = -(difference per week) x 52.18; the CI flips with the sign
    ae = -diff(AE_ATTENDANCES) * WEEKS_PER_YEAR
    ae_lo = -diff(AE_ATTENDANCES, "diff_ci_high") * WEEKS_PER_YEAR
    ae_hi = -diff(AE_ATTENDANCES, "diff_ci_low") * WEEKS_PER_YEAR
    adm = -diff(ADMISSIONS) * WEEKS_PER_YEAR
    adm_lo = -diff(ADMISSIONS, "diff_ci_high") * WEEKS_PER_YEAR
    adm_hi = -diff(ADMISSIONS, "diff_ci_low") * WEEKS_PER_YEAR
    return [
        option,
        title,
        investment,
        net_cash,
        freed,
        ae,
        ae_lo,
        ae_hi,
        adm,
        adm_lo,
        adm_hi,
        *_ratio_columns(ratios[AE_ATTENDANCES], ae),
        *_ratio_columns(ratios[ADMISSIONS], adm),
    ]


def plot_cost_effectiveness(
    ranking: pd.DataFrame, path: Path, level: float = 0.95, banner: str = ""
) -> None:
    """Annual investment against A&E attendances avoided, with CI whiskers: the report's
    cost-effectiveness plane, saved on its own (with ``banner`` across the top when the runs
    are not fit for a board)."""
    import matplotlib
    import matplotlib.pyplot as plt

    from sim.config.catalogue import option_title
    from sim.experiments.outputs import atomic_save_figure
    from sim.report.figures import cost_effectiveness_plane, stamp_banner
    from sim.report.style import PLAIN_TEXT

    titles = {o: t for o, t in zip(ranking["option"], ranking["title"], strict=True)}
    with matplotlib.rc_context(PLAIN_TEXT):
        fig = cost_effectiveness_plane(
            ranking, level, {o: option_title(o, titles) for o in ranking["option"]}
        )
        if banner:
            stamp_banner(fig, banner)
        try:
            atomic_save_figure(fig, path, dpi=120)
        finally:
            plt.close(fig)


def sweep_programme(sweep_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(money, comparison by year): every completed option's money against the baseline
    (``money_comparison.csv`` columns, with ``option`` first) and, for programme runs, every
    KPI's paired difference in each programme year (``option, year`` then
    ``comparison.csv``'s columns)."""
    import pandas as pd

    from sim.experiments.comparison import (
        COMPARISON_COLUMNS,
        PAIRING_KEYS,
        load_by_year,
        paired_comparison,
    )
    from sim.experiments.programme import MONEY_COLUMNS, money_comparison, yearly_values

    jobs = job_folders(sweep_dir)
    money_tables, year_tables = [], []
    if BASELINE in jobs:
        base_dir = jobs[BASELINE]
        base_manifest = _manifest(base_dir)
        level = float(base_manifest.get("ci_level", 0.95))
        rate = float(base_manifest.get("discount_rate", 0.035))
        base_years = load_by_year(base_dir)
        base = yearly_values(pd.read_csv(base_dir / "kpis.csv"), base_years)
        for option, folder in jobs.items():
            manifest = _manifest(folder)
            if option == BASELINE or any(
                manifest.get(k) != base_manifest.get(k) for k in PAIRING_KEYS
            ):
                continue
            opt_years = load_by_year(folder)
            opt = yearly_values(pd.read_csv(folder / "kpis.csv"), opt_years)
            money = money_comparison(base, opt, rate, level)
            money.insert(0, "option", option)
            money_tables.append(money)
            if base_years is not None and opt_years is not None:
                for year in sorted(base_years["year"].unique()):
                    table = paired_comparison(
                        base_years[base_years["year"] == year].drop(columns="year"),
                        opt_years[opt_years["year"] == year].drop(columns="year"),
                        level,
                    )
                    table.insert(0, "year", int(year))
                    table.insert(0, "option", option)
                    year_tables.append(table)
    money_all = (
        pd.concat(money_tables, ignore_index=True)
        if money_tables
        else pd.DataFrame(columns=["option", *MONEY_COLUMNS])
    )
    by_year = (
        pd.concat(year_tables, ignore_index=True)
        if year_tables
        else pd.DataFrame(columns=["option", "year", *COMPARISON_COLUMNS])
    )
    return money_all, by_year


def _baseline_level(sweep_dir: Path) -> float:
    jobs = job_folders(sweep_dir)
    return float(_manifest(jobs[BASELINE]).get("ci_level", 0.95)) if BASELINE in jobs else 0.95


def summarise_sweep(sweep_dir: Path) -> list[str]:
    """Write comparison.csv, ranking.csv, cost_effectiveness.png and sweep.json; returns
    any problems found (e.g. failed jobs)."""
    sweep_dir = Path(sweep_dir)
    comparison, ranking, problems = sweep_comparison(sweep_dir)
    failed = []
    for manifest_path in sorted(sweep_dir.glob("*/manifest.json")):
        status = _manifest(manifest_path.parent).get("status")
        if status != "complete":
            failed.append(f"{manifest_path.parent.name}: {status}")
    problems += [f"job {f}" for f in failed]
    atomic_write_csv(sweep_dir / "comparison.csv", comparison)
    atomic_write_csv(sweep_dir / "ranking.csv", ranking)
    money, by_year = sweep_programme(sweep_dir)
    atomic_write_csv(sweep_dir / "money_comparison.csv", money)
    if len(by_year):
        atomic_write_csv(sweep_dir / "comparison_by_year.csv", by_year)
    if len(ranking):
        level = _baseline_level(sweep_dir)
        from sim.report.adequacy import board_fitness

        jobs = job_folders(sweep_dir).values()
        banner = board_fitness(_manifest(folder) for folder in jobs).short_banner
        plot_cost_effectiveness(ranking, sweep_dir / "cost_effectiveness.png", level, banner)
    atomic_write_json(
        sweep_dir / "sweep.json",
        {
            "jobs_complete": sorted(job_folders(sweep_dir)),
            "problems": problems,
            "written_utc": now_utc(),
        },
    )
    return problems


def format_ranking(ranking: pd.DataFrame) -> str:
    def money(x: float) -> str:
        return "-" if not np.isfinite(x) else f"£{x:,.0f}"

    lines = [
        f"{'option':<40} {'investment/yr':>14} {'A&E avoided/yr':>15} {'£ per A&E':>10} "
        f"{'adm. avoided/yr':>15} {'£ per adm.':>11}",
    ]
    for r in ranking.itertuples():
        lines.append(
            f"{r.option:<40} {money(r.investment_annual_gbp):>14} "
            f"{r.ae_attendances_avoided_per_year:>15,.0f} "
            f"{money(r.cost_per_ae_attendance_avoided_gbp):>10} "
            f"{r.admissions_avoided_per_year:>15,.0f} {money(r.cost_per_admission_avoided_gbp):>11}"
        )
    return "\n".join(lines)


def board_report(sweep_dir: Path) -> Path | None:
    """Write the sweep's board report (report.html/.md/.pdf). A report that fails is reported
    as a warning with the command to re-run it, never raised: the sweep's results, already
    written, must not be lost to a problem in the report. The traceback goes to
    ``report_error.txt`` in the sweep folder (removed again once a report succeeds)."""
    error_file = Path(sweep_dir) / "report_error.txt"
    try:
        from sim.report import load_folder
        from sim.report.build import write_report

        written = write_report(load_folder(sweep_dir))
    except Exception as err:  # noqa: BLE001 - any failure here is reported, not raised
        import traceback

        atomic_write_text(error_file, traceback.format_exc())
        print(
            f"warning: the board report could not be written ({type(err).__name__}: {err}; "
            f"details in {error_file}). The sweep's results are complete in {sweep_dir}; "
            f"make the report with: python -m sim report {sweep_dir}",
            file=sys.stderr,
        )
        return None
    error_file.unlink(missing_ok=True)
    return written


def report(sweep_dir: Path, with_board_report: bool = True) -> None:
    """Summarise the sweep, print the ranking and write the board report; the last line
    printed is the sweep folder."""
    import pandas as pd

    problems = summarise_sweep(sweep_dir)
    ranking = pd.read_csv(sweep_dir / "ranking.csv")
    if len(ranking):
        print("\nOptions ranked by investment per A&E attendance avoided (paired with baseline):")
        print(format_ranking(ranking))
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    if with_board_report and not repeated_scenarios(sweep_dir):
        written = board_report(sweep_dir)
        if written is not None:
            print(f"Board report: {written}")
    print(sweep_dir)


try:  # the callback needs Hydra; the summary functions above do not
    from hydra.experimental.callback import Callback

    class SweepSummaryCallback(Callback):
        """Summarise the sweep and write its board report when every job has finished
        (attached to every multirun in conf/config.yaml;
        ``hydra.callbacks.sweep_summary.board_report=false`` leaves the report out)."""

        def __init__(self, board_report: bool = True) -> None:
            self.board_report = board_report

        def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
            if "psa" in config:  # an uncertainty analysis: its own callback summarises it
                return
            report(Path(config.hydra.sweep.dir), with_board_report=self.board_report)

except ImportError:  # pragma: no cover - hydra is a dependency
    pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python -m sim sweep SWEEP_FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    problem = not_a_sweep(folder)
    if problem:
        print(f"Sweep error: {folder}: {problem}; nothing was written", file=sys.stderr)
        return 2
    report(folder)
    return 0


def not_a_sweep(folder: Path) -> str | None:
    """Why ``folder`` is not a sweep folder of this program to summarise (its results would
    be written among someone's files), or None."""
    from sim.experiments.run_folder import FolderRefused, check_sweep_folder_is_ours

    try:
        check_sweep_folder_is_ours(folder, "SWEEP_FOLDER")
    except FolderRefused as err:
        return err.rule
    if not any(p.is_file() for p in folder.glob("*/manifest.json")):
        return "holds no job folder of a sweep (none has a manifest.json)"
    return None
