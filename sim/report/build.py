"""Assemble the board paper as a list of blocks, then render it as HTML, Markdown, Word and
PDF.

The paper (docs/report.md): a one-page summary (:mod:`sim.report.summary`), the evidence
(ranking, figures, how sure we are), then appendices for the analyst (every headline measure,
flows, calibration, validation, equity, assumptions, provenance, STRESS-DES).
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.catalogue import BASELINE, option_order
from sim.core.equity import GROUPS, MEASURES
from sim.core.ledger import TERMINAL_STATES
from sim.experiments import outputs
from sim.report import model_doc, uncertainty
from sim.report.document import (
    Block,
    ci,
    fmt,
    fmt_change,
    plus_minus,
    printable,
    scrub_paths,
    shown_path,
)
from sim.report.figures import (
    NODE_NAMES,
    ReportFigure,
    all_figures,
    close_all,
    label,
    summary_png,
    unit,
)
from sim.report.load import ReportData, RunData
from sim.report.stress import MODEL_DOC, SECTIONS, stress_items
from sim.report.style import PLAIN_TEXT
from sim.report.summary import (
    fitness,
    level_text,
    ranking_table,
    reliability_note,
    summary_blocks,
)

MODEL_DOC_LINK = "docs/model.md#assumptions-and-sources"


# ---------------------------------------------------------------- content


def ranking_blocks(data: ReportData) -> list[Block]:
    """The evidence behind the recommendation: every option ranked, with intervals."""
    if data.kind != "sweep" or data.ranking is None or data.ranking.empty:
        return []
    base_cost = data.base.kpi("cost.total_annual_gbp") if BASELINE in data.runs else None
    cost = (
        f" The baseline's total cost is £{fmt(base_cost['mean'])} a year "
        f"({level_text(data)} CI £{ci(base_cost['ci_low'], base_cost['ci_high'])}), 2024/25 "
        "prices."
        if base_cost is not None
        else ""
    )
    blocks = [
        Block("h3", "Options ranked by cost per A&E attendance avoided"),
        Block(
            "p",
            f"{len(data.ranking)} option(s) compared with the baseline using paired "
            "replications (common random numbers): replication r of every option sees the "
            "same patients. Investment is the extra cash out for services; net cash cost is "
            "the investment less cash released (activity paid per use); capacity freed is "
            "urgent and hospital activity avoided under fixed contracts, valued at national "
            "unit costs: it releases no cash and is never netted against the investment. "
            "'Avoided' is the baseline minus the option, a year's worth. Options whose "
            "interval of attendances avoided lies above zero come first, cheapest per "
            "attendance avoided first; the last column says whether the runs can tell each "
            "from the baseline and from the first. Cost per outcome avoided has Fieller's "
            "interval, 'not estimable' when the outcomes avoided cannot be told from zero "
            f"(docs/experiments.md).{cost}{reliability_note(data)} Sources: ranking.csv, "
            "each job's summary.csv.",
        ),
        Block("table", "Options ranked (ranking.csv)", ranking_table(data)),
    ]
    if data.problems:
        blocks.append(Block("p", "Sweep problems: " + "; ".join(data.problems)))
    return blocks


def kpi_comparison(data: ReportData, kpi: str) -> pd.DataFrame:
    """One KPI for every option of a sweep against the baseline, as the paper and the app
    show it: plain names, means, the paired difference with its interval, P(option better)."""
    level = f"{level_text(data)} CI"
    rows = data.comparison[data.comparison.kpi == kpi]
    order = {o: i for i, o in enumerate(option_order(set(rows.option)))}
    rows = rows.assign(_o=rows.option.map(order)).sort_values("_o", kind="stable")
    return pd.DataFrame(
        {
            "option": [data.title(o) for o in rows.option],
            "baseline": [fmt(v) for v in rows.baseline_mean],
            "option mean": [fmt(v) for v in rows.option_mean],
            "difference": [fmt_change(v) for v in rows.diff_mean],
            f"difference {level}": [
                ci(lo, hi) for lo, hi in zip(rows.diff_ci_low, rows.diff_ci_high, strict=True)
            ],
            "P(option better)": [fmt(v) for v in rows.prob_option_better],
        }
    )


def headline_blocks(data: ReportData) -> list[Block]:
    """Every headline KPI: against the baseline for each option (a sweep), or the run's
    means (a single run), each with its interval."""
    note = reliability_note(data)
    blocks = [Block("h2", "Appendix A: every headline measure")]
    comp = data.comparison
    if data.kind == "sweep" and comp is not None and not comp.empty:
        blocks.append(
            Block(
                "p",
                "Each headline measure for every option against the baseline: paired "
                "differences (option minus baseline) with their intervals, and the probability "
                f"that the option is better where one direction is better (comparison.csv).{note}",
            )
        )
        kpis = list(dict.fromkeys(k for k in (data.headline or comp.kpi) if k in set(comp.kpi)))
        for kpi in kpis:
            blocks.append(Block("table", f"{label(kpi)} ({unit(kpi)})", kpi_comparison(data, kpi)))
        return blocks
    blocks.append(
        Block(
            "p",
            f"{data.base.title}: headline measures, means over replications with their "
            f"intervals (summary.csv).{note}",
        )
    )
    blocks.append(Block("table", "Headline KPIs (summary.csv)", headline_table(data)))
    return blocks


def headline_table(data: ReportData) -> pd.DataFrame:
    """The headline KPIs of the folder's run (a sweep's baseline) with their intervals, as the
    paper and the app show them."""
    level = f"{level_text(data)} CI"
    s = data.base.summary
    keep = s[s.kpi.isin(data.headline)] if data.headline else s
    return pd.DataFrame(
        {
            "KPI": [label(k) for k in keep.kpi],
            "mean": [fmt(v) for v in keep["mean"]],
            level: [ci(lo, hi) for lo, hi in zip(keep.ci_low, keep.ci_high, strict=True)],
            "unit": [unit(k) or u for k, u in zip(keep.kpi, keep.unit, strict=True)],
            "replications": [str(n) for n in keep["n"]],
        }
    )


def how_sure_blocks(data: ReportData) -> list[Block]:
    """What the intervals cover and what they do not. The uncertainty analysis (parameter
    uncertainty, robust rankings) adds its section here when its results are present."""
    fit = fitness(data)
    m = data.base.manifest
    psa = uncertainty_blocks(data)
    assumptions = (
        "the probabilistic sensitivity analysis below covers that"
        if psa
        else "see Appendix F for each assumption's source and confidence, and python -m sim "
        "uncertainty for an analysis of it"
    )
    blocks = [
        Block("h3", "How sure are we?"),
        Block(
            "p",
            f"Every interval in this paper is a {level_text(data)} confidence interval over "
            f"{m.get('replications')} replications. It covers the randomness of which "
            "patients arise and what they do, for the assumptions as configured; it does not "
            f"cover uncertainty in the assumptions themselves ({assumptions}). "
            "Intervals are kept within what each quantity "
            "can be (shares between 0 and 1, counts and times not negative), and costs per "
            "outcome avoided have Fieller's interval (docs/experiments.md).",
        ),
    ]
    if not fit.fit:
        blocks.append(
            Block(
                "p",
                "These runs are not fit for a decision: "
                + "; ".join(fit.reasons)
                + ". Every figure carries the same warning.",
            )
        )
    elif fit.replications is not None:
        blocks.append(
            Block(
                "p",
                f"The runs meet the rules for board use: a year measured after the warm-up the "
                f"system needs, and {fit.replications} replications (docs/report.md).",
            )
        )
    # the probabilistic sensitivity analysis, when one ran in this folder (its own heading
    # is this section's)
    return blocks + psa[1:]


# ---------------------------------------------------------------- programme years and money


def _money_cell(m: pd.DataFrame, option: str, measure: str, period: str) -> str:
    r = m[(m.option == option) & (m.measure == measure) & (m.period == period)]
    if r.empty:
        return "-"
    row = r.iloc[0]
    return f"{fmt(row['mean'])} ({ci(row['ci_low'], row['ci_high'])})"


def programme_headline_blocks(data: ReportData) -> list[Block]:
    """The paper's headline for a programme: year 1 and the last year, side by side."""
    if data.years < 2:
        return []
    last = data.years
    level = f"{float(data.base.manifest.get('ci_level', 0.95)):.0%} CI"
    if data.kind == "sweep" and data.money_comparison is not None:
        m = data.money_comparison
        parts = []
        for option in option_order(set(m.option)):

            def mean(measure: str, period: str, option: str = option) -> float:
                r = m[(m.option == option) & (m.measure == measure) & (m.period == period)]
                return float(r["mean"].iloc[0]) if not r.empty else float("nan")

            # Every activity measure, not only A&E: options on the hospital side (IC+, the
            # frailty team, beds) avoid admissions and free bed days without changing who
            # comes to A&E, and a headline of attendances alone would show them as nothing.
            avoided = ", ".join(
                f"{words} {fmt(mean(measure, '1'))} in year 1 and "
                f"{fmt(mean(measure, str(last)))} in year {last}"
                for measure, words in (
                    ("ae_attendances_avoided", "A&E attendances avoided"),
                    ("admissions_avoided", "emergency admissions avoided"),
                    ("bed_days_freed", "bed days freed"),
                )
            )
            parts.append(
                f"{data.title(option)}: invests £{fmt(mean('investment', '1'))} in year 1 and "
                f"£{fmt(mean('investment', str(last)))} in year {last} (net present cost "
                f"£{fmt(mean('net_cash_cost', 'present_value'))}); {avoided}"
            )
        text = (
            f"Headline, year 1 and year {last} of a {last}-year programme (2024/25 prices; "
            f"intervals in the tables below): " + "; ".join(parts) + "."
        )
    else:
        run = data.base
        parts = []
        for kpi in data.headline:
            first, end = run.kpi_in_year(kpi, 1), run.kpi_in_year(kpi, last)
            if first is None or end is None:
                continue
            parts.append(
                f"{label(kpi)} {fmt(first['mean'])} in year 1 "
                f"({level} {ci(first['ci_low'], first['ci_high'])}) and {fmt(end['mean'])} in "
                f"year {last} ({ci(end['ci_low'], end['ci_high'])}) {unit(kpi)}"
            )
        text = f"Headline, year 1 and year {last} ({run.title}): " + "; ".join(parts) + "."
    return [Block("p", text)]


def programme_blocks(data: ReportData) -> list[Block]:
    """KPIs by programme year, and money as a board counts it."""
    level = f"{float(data.base.manifest.get('ci_level', 0.95)):.0%} CI"
    blocks: list[Block] = []
    years = data.years
    if years >= 2:
        blocks += [
            Block("h2", "Programme years"),
            Block(
                "p",
                f"The run measured {years} programme years of 52 weeks after the warm-up; "
                "population changes by year (site.population_index) and options phase in as "
                "their start week and ramp say. Each KPI per year, with its interval over "
                "replications (summary_by_year.csv).",
            ),
        ]
        for name, run in data.runs.items():
            if run.by_year is None or (data.kind == "sweep" and name != data.base.name):
                continue
            s = run.by_year
            keep = [k for k in (data.headline or list(dict.fromkeys(s.kpi))) if k in set(s.kpi)]
            rows = []
            for kpi in keep:
                row = {"KPI": label(kpi), "unit": unit(kpi)}
                for y in range(1, years + 1):
                    r = run.kpi_in_year(kpi, y)
                    row[f"year {y} ({level})"] = (
                        "-" if r is None else plus_minus(r["mean"], r["ci_low"], r["ci_high"])
                    )
                rows.append(row)
            blocks.append(Block("table", f"{data.title(name)}: KPIs by year", pd.DataFrame(rows)))
    m = data.money_comparison
    if data.kind == "sweep" and m is not None and not m.empty:
        blocks += [
            Block("h2", "Money as a board counts it"),
            Block(
                "p",
                "Each option against the baseline (money_comparison.csv), £ at 2024/25 prices: "
                "investment is extra cash out for services; cash released is less activity "
                "paid per use; the net present cost is the investment less cash released, "
                "discounted at 3.5% a year (HM Treasury Green Book; year 1 undiscounted). "
                "Capacity freed is NHS 111, out-of-hours, ambulance, A&E and hospital activity "
                "avoided, paid through fixed contracts: valued at national unit costs as an "
                "opportunity cost, it releases no cash and is not netted against the "
                f"investment. Paired differences with {level}s.",
            ),
        ]
        periods = [p for p in dict.fromkeys(m.period) if p.isdigit()]
        rows = []
        for option in option_order(set(m.option)):
            row = {"option": data.title(option)}
            for p in periods:
                row[f"investment year {p}"] = _money_cell(m, option, "investment", p)
            if len(periods) > 1:
                row["investment, total"] = _money_cell(m, option, "investment", "total")
            row["cash released, total"] = _money_cell(m, option, "cash_released", "total")
            row["net present cost"] = _money_cell(m, option, "net_cash_cost", "present_value")
            row["capacity freed, total (not cash)"] = _money_cell(
                m, option, "capacity_freed", "total"
            )
            rows.append(row)
        blocks.append(Block("table", "Investment, cash and capacity freed (£)", pd.DataFrame(rows)))
        rows = []
        for option in option_order(set(m.option)):
            row = {"option": data.title(option)}
            for measure, what in (
                ("ae_attendances_avoided", "A&E attendances avoided"),
                ("admissions_avoided", "admissions avoided"),
                ("bed_days_freed", "bed days freed"),
            ):
                for p in periods:
                    row[f"{what}, year {p}"] = _money_cell(m, option, measure, p)
            rows.append(row)
        blocks.append(Block("table", "Activity avoided a year (counts)", pd.DataFrame(rows)))
    return blocks


def calibration_blocks(data: ReportData) -> list[Block]:
    c = data.base.calibration
    tab = pd.DataFrame(
        {
            "Calibration target": c.target,
            "role": [str(r).replace("_", " ") for r in c.get("role", [""] * len(c))],
            "source": c.source,
            "target": [
                f"{fmt(v)} ± {fmt(t)}" for v, t in zip(c.target_value, c.tolerance, strict=True)
            ],
            "simulated": [fmt(v) for v in c.simulated_mean],
            "CI": [ci(lo, hi) for lo, hi in zip(c.ci_low, c.ci_high, strict=True)],
            "within": [fmt(bool(v)) for v in c.within],
        }
    )
    return [
        Block("h2", "Appendix C: calibration"),
        Block(
            "p",
            f"Simulated baseline against published targets ({data.title(data.base.name)} run, "
            "calibration.csv); 'within' when |mean - target| <= tolerance. Role 'fitted': a "
            "setting was tuned to reproduce the target; 'held out': nothing was tuned to it, so "
            "meeting it is a test of the model. Short runs do not reproduce annual figures "
            "(seasonality): read with the run length in the provenance block.",
        ),
        Block("table", "Calibration table", tab),
    ]


# ---------------------------------------------------------------- validation


def ledger_check(run: RunData) -> dict[str, Any]:
    """Conservation in one job: in every replication, do the terminal states add up to the
    episodes generated (each episode counted in exactly one state)?"""
    led = run.ledger
    if led is None or led.empty:
        return {"replications": "-", "balanced": None, "largest gap": "-"}
    states = [c for c in led.columns if c not in ("replication", "generated")]
    gap = (led[states].sum(axis=1) - led["generated"]).abs()
    return {
        "replications": len(led),
        "episodes per replication (mean)": fmt(float(led["generated"].mean())),
        "balanced": bool((gap == 0).all()),
        "largest gap": int(gap.max()),
    }


def _ledger_table(run: RunData) -> pd.DataFrame:
    led = run.ledger
    meaning = dict(TERMINAL_STATES)
    states = [c for c in led.columns if c not in ("replication", "generated")]
    per_rep = led[states].mean()
    share = (led[states].div(led["generated"], axis=0)).mean()
    return pd.DataFrame(
        {
            "terminal state": states,
            "meaning": [meaning.get(s, "") for s in states],
            "episodes (mean per replication)": [fmt(float(v)) for v in per_rep],
            "share of episodes": [f"{100 * v:.2f}%" for v in share],
        }
    )


def validation_blocks(data: ReportData) -> list[Block]:
    """What this run proves itself (ledger, calibration) and the latest validation suite."""
    blocks = [
        Block("h2", "Appendix D: validation"),
        Block("h3", "Checks this run proves"),
    ]
    checks = [{"job": data.title(name), **ledger_check(run)} for name, run in data.runs.items()]
    balanced = [c["balanced"] for c in checks if c["balanced"] is not None]
    if balanced:
        verdict = (
            "every episode that arose in the measurement window ended in exactly one terminal "
            "state, in every replication of every job"
            if all(balanced)
            else "THE LEDGER DOES NOT BALANCE in at least one replication (a modelling bug: do "
            "not use these results)"
        )
        blocks.append(Block("p", f"Conservation (ledger.csv): {verdict}."))
        blocks.append(
            Block(
                "table",
                "Conservation ledger check per job",
                pd.DataFrame(checks).assign(balanced=lambda d: [fmt(b) for b in d.balanced]),
            )
        )
    else:
        blocks.append(Block("p", "Conservation: these run folders have no ledger.csv."))
    if data.base.ledger is not None and not data.base.ledger.empty:
        blocks.append(
            Block(
                "table",
                f"How every episode ended: {data.title(data.base.name)} (ledger.csv)",
                _ledger_table(data.base),
            )
        )
    c = data.base.calibration
    n_within = int(c.within.astype(bool).sum()) if "within" in c else 0
    weeks = data.base.manifest.get("run_weeks")
    # Annual and seasonal figures need a year; a shorter run is shown but read with care.
    caveat = (
        f"; a run of {weeks} week(s) is not expected to reproduce annual figures"
        if isinstance(weeks, int) and weeks < 52
        else ""
    )
    blocks.append(
        Block(
            "p",
            f"Calibration: {n_within} of {len(c)} published targets within tolerance in the "
            f"{data.title(data.base.name)} run (table above{caveat}).",
        )
    )
    blocks.append(Block("h3", "Verification and validation suite (python -m sim validate)"))
    v = data.validation
    if v is None:
        where = data.validation_searched or "outputs/validation/"
        blocks.append(
            Block(
                "p",
                f"No complete python -m sim validate output was found (looked in {where}). "
                "The report does not run it: run python -m sim validate (the model against "
                "queueing theory, arrival counts, Little's law and the calibration targets; "
                "about a minute on 2 cores, or --quick for a short check without the "
                "calibration targets), then re-run python -m sim report "
                f"{shown_path(data.folder)}, or name a folder with --validation DIR. See "
                "docs/validation.md.",
            )
        )
        return blocks
    vm = data.validation_manifest
    vgit = vm.get("git") or {}
    run_git = data.base.manifest.get("git") or {}
    if not vgit.get("commit") or not run_git.get("commit"):
        match = "Its git commit cannot be compared with this run's (not recorded)."
    elif vgit.get("commit") == run_git.get("commit"):
        match = f"It was made from the same git commit as this run ({vgit['commit']})"
        match += (
            ", but from uncommitted changes: re-run it on a clean checkout to be sure."
            if vgit.get("dirty") or run_git.get("dirty")
            else "."
        )
    else:
        match = (
            f"It was made from git commit {vgit.get('commit')}, NOT this run's "
            f"{run_git.get('commit')}: the code may have changed since; re-run "
            "python -m sim validate to validate this version."
        )
    how = "given with --validation" if data.validation_searched is None else "the newest found"
    quick = (
        " It is a --quick validation: shorter designs and no calibration targets."
        if vm.get("quick")
        else ""
    )
    cols = [
        c
        for c in ("group", "check", "unit", "theory", "simulated", "ci_low", "ci_high", "passed")
        if c in v.columns
    ]
    tab = v[cols].copy()
    for c in ("theory", "simulated", "ci_low", "ci_high"):
        if c in tab:
            tab[c] = [fmt(x) for x in tab[c]]
    n_pass = int(v["passed"].astype(bool).sum()) if "passed" in v else 0
    blocks += [
        Block(
            "p",
            f"{n_pass} of {len(v)} checks passed in {shown_path(data.validation_folder)} "
            f"({how}; command '{vm.get('command')}', finished {vm.get('finished_utc')}, wall time "
            f"{vm.get('wall_seconds')} s).{quick} {match}",
        ),
        Block("table", "Validation summary (validation.csv)", tab),
    ]
    return blocks


# ---------------------------------------------------------------- equity


def _first_rows(eq: pd.DataFrame) -> dict[tuple[Any, Any, Any], int]:
    """The position of the first row of each (group, level, measure) in ``eq``: the tables
    below look up every cell, and a boolean filter of the whole frame per cell took most of
    a board report's equity appendix (about 0.9 s of CPU for 13 jobs)."""
    first: dict[tuple[Any, Any, Any], int] = {}
    for pos, key in enumerate(zip(eq.group, eq.level, eq.measure, strict=True)):
        first.setdefault(key, pos)
    return first


def _equity_cell(g: pd.DataFrame, first: dict, group: str, level: str, measure: str) -> str:
    pos = first.get((group, level, measure))
    if pos is None:
        return "-"
    return f"{fmt(g['mean'].iloc[pos])} ({ci(g.ci_low.iloc[pos], g.ci_high.iloc[pos])})"


def _equity_by_group(run: RunData) -> list[Block]:
    """One run's measures by age band, frailty band and practice, each with its CI."""
    eq = run.equity
    first = _first_rows(eq)
    blocks = []
    for group, title in GROUPS.items():
        levels = list(dict.fromkeys(eq.level[eq.group == group]))
        if not levels:
            continue
        tab = pd.DataFrame({title: levels})
        for measure, (u, lab) in MEASURES.items():
            tab[f"{lab} ({u})"] = [_equity_cell(eq, first, group, lev, measure) for lev in levels]
        blocks.append(Block("table", f"Equity by {title.lower()}", tab))
    return blocks


def _equity_options(data: ReportData, names: list[str]) -> list[Block]:
    """Every option against the baseline, compactly: one table per measure with age and
    frailty bands as columns, and the spread between practices."""
    base = data.runs[BASELINE].equity
    blocks = [
        Block(
            "p",
            "Every option against the baseline, by group. Baseline row: mean ± half-width of "
            "its CI; option rows: change in the mean against the baseline (same patients, "
            "paired replications). equity.csv holds each job's means and intervals, not its "
            "replications, so the changes have no interval of their own: read them against the "
            "baseline's ± and each job's equity.csv.",
        )
    ]
    columns = [
        (group, lev)
        for group in ("by_age", "by_frailty")
        for lev in dict.fromkeys(base.level[base.group == group])
    ]

    firsts = {name: _first_rows(data.runs[name].equity) for name in {*names, BASELINE}}

    def mean_of(name: str, group: str, lev: str, measure: str) -> pd.Series | None:
        pos = firsts[name].get((group, lev, measure))
        return None if pos is None else data.runs[name].equity.iloc[pos]

    for measure, (u, lab) in MEASURES.items():
        rows = []
        for name in names:
            row = {"option": data.title(name)}
            for group, lev in columns:
                head = f"{GROUPS[group].split()[0].lower()} {lev}"
                r, b = mean_of(name, group, lev, measure), mean_of(BASELINE, group, lev, measure)
                if r is None or b is None:
                    row[head] = "-"
                elif name == BASELINE:
                    row[head] = plus_minus(r["mean"], r.ci_low, r.ci_high)
                else:
                    row[head] = fmt_change(r["mean"] - b["mean"])
            rows.append(row)
        blocks.append(
            Block(
                "table",
                f"{lab} ({u}) by age and frailty: options against the baseline",
                pd.DataFrame(rows),
            )
        )
    spread = []
    for name in names:
        eq = data.runs[name].equity
        row = {"option": data.title(name)}
        for measure, (u, lab) in MEASURES.items():
            p = eq[(eq.group == "by_practice") & (eq.measure == measure)].dropna(subset=["mean"])
            if p.empty:
                row[f"{lab} ({u})"] = "-"
                continue
            lo, hi = p.loc[p["mean"].idxmin()], p.loc[p["mean"].idxmax()]
            row[f"{lab} ({u})"] = (
                f"{fmt(lo['mean'])} ({lo.level}) to {fmt(hi['mean'])} ({hi.level})"
            )
        spread.append(row)
    blocks.append(
        Block(
            "table",
            "Spread between practices: lowest to highest practice, each option",
            pd.DataFrame(spread),
        )
    )
    return blocks


def equity_blocks(data: ReportData) -> list[Block]:
    blocks = [Block("h2", "Appendix E: equity")]
    base = data.base
    if base.equity is None or base.equity.empty:
        return blocks + [
            Block(
                "p", "This run folder has no equity.csv (made before equity breakdowns were added)."
            )
        ]
    blocks.append(
        Block(
            "p",
            "Measures by group (equity.csv): mean over replications with its CI. Rates per "
            "1,000 use the group's population; self-presenting A&E arrivals are shared between "
            "practices by each practice's share of the age band (see docs/report.md).",
        )
    )
    blocks.append(Block("h3", f"{data.title(base.name)}: by age band, frailty and practice"))
    blocks += _equity_by_group(base)
    names = [n for n in option_order(data.runs) if data.runs[n].equity is not None]
    if data.kind == "sweep" and BASELINE in data.runs and len(names) > 1:
        blocks.append(Block("h3", "Every option against the baseline"))
        blocks += _equity_options(data, names)
    return blocks


# ---------------------------------------------------------------- flows by option


def flows_blocks(data: ReportData) -> list[Block]:
    """Where demand leaving the practice goes, per week, for every job: one row per place
    and option, so long names and intervals fit any page."""
    names = option_order(data.runs)
    dests = list(
        dict.fromkeys(
            d
            for n in names
            for d in data.runs[n].flows.destination[data.runs[n].flows.origin == "practice"]
        )
    )
    if not dests:
        return []
    level = f"{level_text(data)} CI"
    rows = []
    for d in dests:
        for i, name in enumerate(names):
            f = data.runs[name].flows
            f = f[f.origin == "practice"].set_index("destination")
            rows.append(
                {
                    "where it goes": NODE_NAMES.get(d, d) if i == 0 else "",
                    "option": data.title(name),
                    "moves a week": fmt(f.per_week_mean[d]) if d in f.index else "0",
                    level: ci(f.ci_low[d], f.ci_high[d]) if d in f.index else "-",
                }
            )
    return [
        Block("h2", "Appendix B: where demand leaving the practice goes"),
        Block(
            "p",
            "Moves a week from the GP practice to each other place, for every option: means "
            f"over replications with their intervals (flows.csv).{reliability_note(data)}",
        ),
        Block("table", "Moves out of the practice, a week", pd.DataFrame(rows)),
    ]


def _setting_value(config: dict[str, Any], setting: str) -> Any:
    """The run's value of a docs/model.md setting key (``site.hubs.slot_minutes``, or an
    ``assumptions.`` key written without that prefix); None when it does not resolve."""
    for path in (setting, f"assumptions.{setting}"):
        node: Any = config
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                node = None
                break
            node = node[key]
        if node is not None:
            return node
    return None


def _shown(value: Any) -> str:
    """A setting's value as the documentation writes it (0.52, 15; not 0.520, 15.0)."""
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:g}"
    if (
        isinstance(value, list)
        and len(value) <= 8
        and all(isinstance(v, int | float) for v in value)
    ):
        return ", ".join(f"{v:g}" for v in value)
    return "-"  # a nested setting: see the run's .hydra/config.yaml


def _differs(documented: str, value: Any) -> bool:
    try:
        return isinstance(value, int | float) and float(documented) != float(value)
    except ValueError:
        return False


def assumptions_blocks(data: ReportData) -> list[Block]:
    blocks = [
        Block("h2", "Appendix F: assumptions and sources"),
        Block(
            "p",
            "Each option in this report, as written in its scenario file (from the run's "
            "configuration); the model's own assumptions and their sources follow.",
        ),
    ]
    seen = set()
    for run in data.runs.values():
        for name, opt in run.scenario.items():
            if name in seen or not isinstance(opt, dict):
                continue
            seen.add(name)
            blocks.append(Block("h3", f"{opt.get('title', name)} ({name})"))
            blocks.append(Block("p", f"Description: {opt.get('description', '-')}"))
            blocks.append(Block("p", f"Cost basis: {opt.get('cost_basis', '-')}"))
            assumptions = opt.get("assumptions") or []
            if isinstance(assumptions, dict):
                assumptions = [f"{k}: {v}" for k, v in assumptions.items()]
            for a in assumptions:
                blocks.append(Block("p", f"- {a}"))
    doc = model_doc.read()
    tables = model_doc.assumption_tables(doc) if doc else []
    blocks.append(Block("h3", "Model assumptions and their sources"))
    if not tables:
        blocks.append(
            Block("p", f"{MODEL_DOC} was not found: see {MODEL_DOC_LINK} in the repository.")
        )
        return blocks
    ran = (data.base.manifest.get("git") or {}).get("commit")
    changed = model_doc.changed_since(ran)
    if changed is None and model_doc.SOURCE_ROOT is None:
        from sim import __version__

        used = (data.base.manifest.get("packages") or {}).get("nhs-capacity-sim")
        same = f"as shipped with version {__version__} of this package (the run used {used})"
    elif changed is None:
        same = "which cannot be compared with the run's commit (git unavailable)"
    elif changed:
        same = f"which HAS CHANGED since the run's commit {ran}: some values may differ"
    else:
        same = f"unchanged since the run's commit {ran}"
    column = f"in the {data.title(data.base.name)} run"
    blocks.append(
        Block(
            "p",
            f"From {MODEL_DOC} (Assumptions and sources) as it is in this code, {same}. "
            "Source keys are listed in docs/sources.md; confidence codes: V verified, V2 "
            "secondary, D "
            f"derived, R recalled, P plausible assumption. '{column}' is the value the run "
            "used where it is a single number or a short list ('≠': differs from the "
            "documented default, e.g. changed by an option or on the command line).",
        )
    )
    config = data.base.config
    for title, table in tables:
        if "setting" in table.columns and "value" in table.columns:
            values = [_setting_value(config, str(k)) for k in table["setting"]]
            table = table.copy()
            table.insert(
                2,
                column,
                [
                    ("≠ " if _differs(doc_v, v) else "") + _shown(v) if v is not None else "-"
                    for doc_v, v in zip(table["value"], values, strict=True)
                ],
            )
        blocks.append(Block("table", title, table))
    return blocks


def provenance_blocks(data: ReportData) -> list[Block]:
    """What the numbers came from: code version, configuration, seeds, design and machine.
    Folders are shown relative to the project (never where they sat on a machine)."""
    design, identity = [], []
    for name, run in data.runs.items():
        m = run.manifest
        git = m.get("git") or {}
        dirty = git.get("dirty")
        design.append(
            {
                "job": name,
                "seed": str(m.get("seed")),
                "replications": str(m.get("replications")),
                "warm-up weeks": str(m.get("warmup_weeks")),
                "run weeks": str(m.get("run_weeks")),
                "wall time s": str(m.get("wall_seconds")),
                "finished (UTC)": str(m.get("finished_utc")),
            }
        )
        identity.append(
            {
                "job": name,
                "git commit": str(git.get("commit")) + (" (uncommitted changes)" if dirty else ""),
                "configuration sha256": str(m.get("config_sha256")),
            }
        )
    base = data.base.manifest
    pk = base.get("packages", {})
    mach = base.get("machine", {})
    return [
        Block("h2", "Appendix G: provenance"),
        Block(
            "p",
            f"Report of {data.kind} folder {shown_path(data.folder)}. "
            f"Command: {scrub_paths(str(base.get('command')))}.",
        ),
        Block("table", "Run design (manifest.json)", pd.DataFrame(design)),
        Block(
            "table", "Code and configuration of each job (manifest.json)", pd.DataFrame(identity)
        ),
        Block(
            "p",
            "Packages: "
            + ", ".join(f"{k} {v}" for k, v in pk.items())
            + f". Machine: Python {mach.get('python')}, {mach.get('platform')}, "
            f"{mach.get('cpu_count')} CPUs.",
        ),
    ]


def stress_blocks(data: ReportData) -> list[Block]:
    blocks = [
        Block("h2", "Appendix H: STRESS-DES checklist"),
        Block(
            "p",
            "Strengthening the Reporting of Empirical Simulation Studies (Monks et al. "
            "2019), filled from this run's configuration and manifest.",
        ),
    ]
    section = None
    for item in stress_items(data):
        if item.number[0] != section:
            section = item.number[0]
            blocks.append(Block("h3", f"{section} {SECTIONS[section]}"))
        blocks.append(Block("h4", item.heading))
        blocks.append(Block("p", item.text))
        if item.quoted:
            blocks.append(Block("p", f"From {MODEL_DOC}: {item.quoted}"))
    return blocks


def uncertainty_blocks(data: ReportData) -> list[Block]:
    """ "How sure are we?" from a PSA inside this folder (sim/report/uncertainty.py)."""
    psa = uncertainty.results_for(data)
    return [Block(*b) for b in uncertainty.section(psa)] if psa is not None else []


def title_blocks(data: ReportData) -> list[Block]:
    m = data.base.manifest
    site = (data.base.config.get("site") or {}).get("title", m.get("site"))
    if data.kind == "sweep":
        what = f"a sweep of {len(data.runs)} jobs"
    else:
        what = f"a run of '{data.base.title}'"
    title = (
        f"Investment options for urgent and primary care: {site}"
        if data.kind == "sweep"
        else f"Urgent and primary care capacity, {data.base.title}: {site}"
    )
    blocks = [
        Block("h1", title),
        Block(
            "p",
            f"Board paper from the capacity simulation: {what}, finished "
            f"{str(m.get('finished_utc'))[:10]}.",
        ),
    ]
    banner = fitness(data).banner
    if banner:
        blocks.append(Block("banner", banner))
    return blocks


def build_blocks(data: ReportData, figures: list[ReportFigure]) -> list[Block]:
    """The whole paper: summary page, evidence, appendices (module docstring); a PSA
    folder's report is its "How sure are we?" section and provenance."""
    if data.kind == "psa":
        return [Block(*b) for b in uncertainty.psa_report(data)]
    # a sweep: what each option does and costs; a single run: demand against capacity
    summary_figure = next(
        (f for key in ("summary", "demand_capacity") for f in figures if f.key == key), None
    )
    evidence_figures = [f for f in figures if f is not summary_figure]
    blocks = title_blocks(data)
    blocks += summary_blocks(data, summary_figure)
    blocks += programme_headline_blocks(data)
    blocks.append(Block("pagebreak"))
    blocks.append(Block("h2", "Evidence"))
    blocks += ranking_blocks(data)
    blocks += programme_blocks(data)
    if evidence_figures:
        blocks.append(Block("h3", "Figures"))
        blocks += [Block("figure", figure=f) for f in evidence_figures]
    blocks += how_sure_blocks(data)
    blocks.append(Block("pagebreak"))
    blocks += headline_blocks(data)
    blocks += flows_blocks(data)
    blocks += calibration_blocks(data)
    blocks += validation_blocks(data)
    blocks += equity_blocks(data)
    blocks += assumptions_blocks(data)
    blocks += provenance_blocks(data)
    blocks += stress_blocks(data)
    return [_without_paths(b) for b in blocks]


def _without_paths(block: Block) -> Block:
    """The block with every absolute path made relative (a report is emailed and printed),
    and every character no format can hold shown as U+FFFD (:func:`printable`)."""

    def clean(text: str) -> str:
        return printable(scrub_paths(text))

    block.text = clean(block.text)
    block.lead = clean(block.lead)
    block.items = [clean(i) for i in block.items]
    if block.table is not None:
        block.table = block.table.map(lambda v: clean(v) if isinstance(v, str) else v)
        block.table.columns = [clean(str(c)) for c in block.table.columns]
    if block.figure is not None:
        block.figure.title = printable(block.figure.title)
        block.figure.caption = printable(block.figure.caption)
    return block


# ---------------------------------------------------------------- rendering


#: Figures on screen (HTML, Markdown) and in print (Word, PDF), dots per inch.
SCREEN_DPI, PRINT_DPI = 110, 200


def png_bytes(fig: ReportFigure, dpi: int = SCREEN_DPI) -> bytes:
    buf = io.BytesIO()
    fig.figure.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f2}caption{font-weight:bold;text-align:left;padding:4px 0}
img{max-width:100%}figcaption{font-size:12px;color:#444}
.banner{background:#B00020;color:#fff;font-weight:bold;padding:0.6em 1em;margin:1em 0}
.pagebreak{break-after:page;border:0;border-top:1px solid #ddd;margin:2em 0}"""


def render_html(blocks: list[Block], pngs: dict[str, bytes]) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(blocks[0].text)}</title><style>{CSS}</style></head><body>",
    ]
    for b in blocks:
        if b.kind in ("h1", "h2", "h3", "h4"):
            out.append(f"<{b.kind}>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            lead = f"<strong>{e(b.lead)}</strong> " if b.lead else ""
            out.append(f"<p>{lead}{e(b.text)}</p>")
        elif b.kind == "list":
            out.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "banner":
            out.append(f"<div class='banner' role='alert'>{e(b.text)}</div>")
        elif b.kind == "pagebreak":
            out.append("<hr class='pagebreak'>")
        elif b.kind == "table":
            out.append(
                f"<table><caption>{e(b.text)}</caption><tr>"
                + "".join(f"<th>{e(str(c))}</th>" for c in b.table.columns)
                + "</tr>"
            )
            for row in b.table.itertuples(index=False):
                out.append("<tr>" + "".join(f"<td>{e(fmt(v))}</td>" for v in row) + "</tr>")
            out.append("</table>")
        elif b.kind == "figure":
            data = base64.b64encode(pngs[b.figure.key]).decode("ascii")
            out.append(
                f"<figure id='figure-{e(b.figure.key)}'><h3>{e(b.figure.title)}</h3>"
                f"<img alt='{e(b.figure.title)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{e(b.figure.caption)}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


#: Characters Markdown reads as markup anywhere in a line: each is written with a backslash
#: before it, so text from users (option titles, descriptions, site names) reads exactly as
#: typed and cannot add links or images ("[", "]"), emphasis, code, a table column ("|") or
#: mathematics ("$"). "<" and ">" are written as HTML entities, so no user text becomes HTML
#: (a "<script>" in a title shows as text), and so is an "&" that would start an entity.
_MARKDOWN_SPECIALS = "\\`*_[]#|~$"


def md_text(text: Any, paragraph: bool = True) -> str:
    """``text`` as Markdown that renders as exactly that text, on one line (a ``paragraph``
    also never starts a list)."""
    folded = re.sub(r"&(?=#?\w+;)", "&amp;", " ".join(str(text).split()))
    out = []
    for ch in folded:
        if ch in "<>":
            out.append("&lt;" if ch == "<" else "&gt;")
        else:
            out.append(f"\\{ch}" if ch in _MARKDOWN_SPECIALS else ch)
    escaped = "".join(out)
    if not paragraph:
        return escaped
    # A paragraph starting "-", "+" or "1." would become a list item.
    if escaped[:1] in "-+":
        escaped = "\\" + escaped
    return re.sub(r"^(\d+)\.", r"\1\\.", escaped)


def _md_cell(v: Any) -> str:
    return md_text(fmt(v))


def render_markdown(blocks: list[Block], figure_dir: str) -> str:
    out = []
    for b in blocks:
        if b.kind.startswith("h"):
            out.append("#" * int(b.kind[1]) + " " + md_text(b.text, paragraph=False) + "\n")
        elif b.kind == "p":
            lead = f"**{md_text(b.lead, paragraph=False)}** " if b.lead else ""
            out.append(lead + md_text(b.text, paragraph=not lead) + "\n")
        elif b.kind == "list":
            out.append("\n".join(f"- {md_text(i)}" for i in b.items) + "\n")
        elif b.kind == "banner":
            out.append(f"> **{md_text(b.text, paragraph=False)}**\n")
        elif b.kind == "pagebreak":
            out.append("---\n")
        elif b.kind == "table":
            cols = [str(c) for c in b.table.columns]
            out.append(f"**{md_text(b.text)}**\n")
            out.append("| " + " | ".join(_md_cell(c) for c in cols) + " |")
            out.append("|" + "---|" * len(cols))
            for row in b.table.itertuples(index=False):
                out.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
            out.append("")
        elif b.kind == "figure":
            f = b.figure
            title = md_text(f.title, paragraph=False)
            out.append(
                f"### {title}\n\n![{title}]({figure_dir}/{f.key}.png)\n\n*{md_text(f.caption)}*\n"
            )
    return "\n".join(out) + "\n"


def write_report(data: ReportData) -> Path:
    """Write ``report.html``, ``report.md`` (+ ``report_figures/``), ``report.docx`` and
    ``report.pdf``.

    Every format is rendered in memory first, so a failure leaves the previous report (if
    any) untouched rather than a mixture; each file is then written atomically, the HTML last.
    """
    import matplotlib

    from sim.report.pdf import render_pdf
    from sim.report.word import render_docx

    folder = data.folder
    # users' text (option titles, site names) reaches the figures: drawn as written
    with matplotlib.rc_context(PLAIN_TEXT):
        figures = [] if data.kind == "psa" else all_figures(data)
        try:
            blocks = build_blocks(data, figures)
            # every figure in the report, the PSA section's included
            known = {id(f) for f in figures}
            figures += [
                b.figure for b in blocks if b.kind == "figure" and id(b.figure) not in known
            ]
            pngs = {f.key: png_bytes(f) for f in figures}
            print_pngs = {f.key: png_bytes(f, PRINT_DPI) for f in figures}
            fig_dir = folder / "report_figures"
            markdown = render_markdown(blocks, fig_dir.name)
            pdf = render_pdf(blocks, print_pngs, lambda w, h: summary_png(data, w, h, PRINT_DPI))
            docx = render_docx(blocks, print_pngs)
            page = render_html(blocks, pngs)
        finally:
            close_all(figures)
    try:
        fig_dir.mkdir(exist_ok=True)
    except OSError as err:
        raise outputs.OutputWriteError(fig_dir, err) from None
    for key, payload in pngs.items():
        outputs.atomic_write_bytes(fig_dir / f"{key}.png", payload)
    for stale in fig_dir.glob("*.png"):  # figures an earlier report had and this one has not
        if stale.stem not in pngs:
            stale.unlink()
    outputs.atomic_write_text(folder / "report.md", markdown)
    outputs.atomic_write_bytes(folder / "report.pdf", pdf)
    outputs.atomic_write_bytes(folder / "report.docx", docx)
    outputs.atomic_write_text(folder / "report.html", page)
    return folder / "report.html"
