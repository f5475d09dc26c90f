"""The report's figures, each a matplotlib Figure with a title (with units) and labelled CIs.

Every option is drawn in its :func:`sim.report_style.option_colour`, so an option has the same
colour in every figure of every report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..kpis import KPI_DEFINITIONS  # noqa: E402
from ..report_style import option_colour  # noqa: E402
from .load import ReportData, RunData  # noqa: E402

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class ReportFigure:
    key: str
    title: str
    caption: str
    figure: Figure


def label(kpi: str) -> str:
    return KPI_DEFINITIONS[kpi].label if kpi in KPI_DEFINITIONS else kpi


def unit(kpi: str) -> str:
    return KPI_DEFINITIONS[kpi].unit if kpi in KPI_DEFINITIONS else ""


def _level(data: ReportData) -> float:
    return float(data.base.manifest.get("ci_level", 0.95))


def _whisker(lo: float, mean: float, hi: float) -> list[list[float]]:
    ok = np.isfinite(lo) and np.isfinite(hi)
    return [[mean - lo if ok else 0.0], [hi - mean if ok else 0.0]]


def option_comparison(data: ReportData) -> ReportFigure:
    """Headline KPIs: differences against baseline (sweep) or means (single run), with CIs."""
    kpis = [k for k in data.headline if k in set(data.base.summary.kpi)] or list(
        data.base.summary.kpi[:6]
    )
    cols = 3
    rows = math.ceil(len(kpis) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.6 * rows + 0.8), squeeze=False)
    pct = f"{_level(data):.0%} CI"
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        if data.kind == "sweep" and data.comparison is not None:
            rows_k = data.comparison[data.comparison.kpi == kpi]
            names = list(rows_k.option)
            scale = 1e6 if unit(kpi).startswith("£") else 1.0
            for i, r in enumerate(rows_k.itertuples()):
                ax.errorbar(
                    r.diff_mean / scale,
                    i,
                    xerr=_whisker(
                        r.diff_ci_low / scale, r.diff_mean / scale, r.diff_ci_high / scale
                    ),
                    fmt="o",
                    color=option_colour(r.option),
                    capsize=4,
                )
            ax.axvline(0, color="#999999", lw=0.8)
            shown = unit(kpi).replace("£", "£ million", 1) if scale != 1 else unit(kpi)
            ax.set_xlabel(f"change vs baseline ({shown})", fontsize=7)
        else:
            names = list(data.runs)
            scale = 1e6 if unit(kpi).startswith("£") else 1.0
            for i, (name, run) in enumerate(data.runs.items()):
                r = run.kpi(kpi)
                if r is None:
                    continue
                ax.errorbar(
                    r["mean"] / scale,
                    i,
                    xerr=_whisker(r["ci_low"] / scale, r["mean"] / scale, r["ci_high"] / scale),
                    fmt="o",
                    color=option_colour(name),
                    capsize=4,
                )
            shown = unit(kpi).replace("£", "£ million", 1) if scale != 1 else unit(kpi)
            ax.set_xlabel(shown, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_ylim(-0.7, max(len(names), 1) - 0.3)
        ax.set_title(label(kpi), fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes.flat[len(kpis) :]:
        ax.axis("off")
    what = "Change against baseline" if data.kind == "sweep" else "Headline KPIs"
    fig.suptitle(f"{what}: mean with {pct} whiskers (units under each panel)", fontsize=10)
    fig.tight_layout()
    caption = f"Points are means over replications; whiskers are {pct}s" + (
        " of the paired difference (common random numbers)." if data.kind == "sweep" else "."
    )
    return ReportFigure("comparison", "Option comparison", caption, fig)


def cost_effectiveness(data: ReportData) -> ReportFigure | None:
    """Annual investment against A&E attendances avoided a year (sweep only)."""
    if data.ranking is None or data.ranking.empty:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in data.ranking.itertuples():
        x, y = r.ae_attendances_avoided_per_year, r.investment_annual_gbp / 1e6
        ax.errorbar(
            x,
            y,
            xerr=_whisker(r.ae_avoided_ci_low, x, r.ae_avoided_ci_high),
            fmt="o",
            color=option_colour(r.option),
            capsize=4,
            label=r.option,
        )
    ax.axvline(0, color="#999999", lw=0.8)
    ax.axhline(0, color="#999999", lw=0.8)
    ax.set_xlabel(f"A&E attendances avoided per year ({_level(data):.0%} CI whiskers)")
    ax.set_ylabel("Annual investment (£ million, 2024/25 prices)")
    ax.set_title("Cost-effectiveness plane: investment (£m/yr) vs A&E attendances avoided (/yr)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    caption = (
        "Each option against the baseline: right is better (fewer A&E attendances), lower is "
        "cheaper. Whiskers are the CI of attendances avoided."
    )
    return ReportFigure("cost_effectiveness", "Cost-effectiveness plane", caption, fig)


def _series(run: RunData, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Mean over replications and a t-interval at each index."""
    from ..experiment import t_interval

    if run.timeseries is None:
        return None
    ts = run.timeseries[run.timeseries.series == name]
    if ts.empty:
        return None
    wide = ts.pivot_table(index="index", columns="replication", values="value")
    level = float(run.manifest.get("ci_level", 0.95))
    stats = np.array([t_interval(row, level) for row in wide.to_numpy()])
    return stats[:, 0], stats[:, 1], stats[:, 2]


def _week_axis(ax) -> None:
    ax.set_xticks(np.arange(0, 168, 24) + 12, DAY_NAMES, fontsize=8)
    for d in range(1, 7):
        ax.axvline(d * 24, color="#dddddd", lw=0.6)
    ax.set_xlim(0, 168)


def demand_capacity(data: ReportData) -> ReportFigure | None:
    run = data.base
    demand = _series(run, "practice_requests_by_hour")
    arising = _series(run, "demand_by_hour")
    if demand is None or arising is None:
        return None
    fig, ax = plt.subplots(figsize=(11, 4.2))
    hours = np.arange(168)
    ax.plot(hours, arising[0], color="#999999", lw=1, label="needs arising (mean)")
    ax.plot(hours, demand[0], color="#000000", lw=1.4, label="practice requests (mean)")
    if np.isfinite(demand[1]).any():
        ax.fill_between(hours, demand[1], demand[2], color="#000000", alpha=0.15, lw=0)
    for name, r in data.runs.items():
        prac = _series(r, "practice_capacity_by_hour")
        hub = _series(r, "hub_capacity_by_hour")
        if prac is None or hub is None:
            continue
        colour = option_colour(name)
        ax.step(
            hours,
            prac[0] + hub[0],
            where="post",
            color=colour,
            lw=1.2,
            ls="--",
            label=f"capacity, practice + hub: {name}",
        )
    _week_axis(ax)
    ax.set_ylabel("per hour")
    ax.set_title("Demand vs capacity by hour of week (requests and slots per hour)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    caption = (
        f"Requests and needs from the {run.name} run (shaded: {_level(data):.0%} CI of "
        "requests); dashed lines are appointment slots starting each hour, practice plus hub, "
        "for each option."
    )
    return ReportFigure("demand_capacity", "Demand and capacity by hour of week", caption, fig)


def ae_by_hour(data: ReportData) -> ReportFigure | None:
    if _series(data.base, "ae_arrivals_by_hour") is None:
        return None
    fig, axes = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    hours = np.arange(168)
    pct = f"{_level(data):.0%} CI"
    for ax, name, ylab in (
        (axes[0], "ae_arrivals_by_hour", "arrivals per hour"),
        (axes[1], "ae_occupancy_by_hour", "patients in department (mean)"),
    ):
        for opt, run in data.runs.items():
            s = _series(run, name)
            if s is None:
                continue
            colour = option_colour(opt)
            ax.plot(hours, s[0], color=colour, lw=1.2, label=f"{opt} (shaded {pct})")
            if np.isfinite(s[1]).any():
                ax.fill_between(hours, s[1], s[2], color=colour, alpha=0.12, lw=0)
        ax.set_ylabel(ylab)
        _week_axis(ax)
    axes[0].set_title("A&E arrivals (per hour) and occupancy (patients) by hour of week")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    caption = f"Means over replications and weeks of the measurement window; shading is the {pct}."
    return ReportFigure("ae_by_hour", "A&E arrivals and occupancy by hour of week", caption, fig)


def largest_flows(data: ReportData, top: int = 14) -> ReportFigure | None:
    flows = data.base.flows
    if flows.empty:
        return None
    f = flows.sort_values("per_week_mean", ascending=False).head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(f) + 1.4))
    y = np.arange(len(f))
    lo = (f.per_week_mean - f.ci_low).clip(lower=0).fillna(0)
    hi = (f.ci_high - f.per_week_mean).clip(lower=0).fillna(0)
    ax.barh(y, f.per_week_mean, color=option_colour(data.base.name), alpha=0.75)
    ax.errorbar(
        f.per_week_mean,
        y,
        xerr=[lo, hi],
        fmt="none",
        color="#D55E00",
        capsize=3,
        label=f"{_level(data):.0%} CI",
    )
    ax.set_yticks(
        y, [f"{o} → {d}" for o, d in zip(f.origin, f.destination, strict=True)], fontsize=8
    )
    ax.set_xlabel("episodes per week")
    ax.set_title(f"Where demand goes: the {len(f)} largest flows (episodes per week)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    caption = (
        f"Origin → destination transitions per week in the {data.base.name} run (flows.csv). "
        "Flows out of the practice to NHS 111, A&E, the hub or 'gave up' are where unmet "
        "practice demand goes."
    )
    return ReportFigure("flows", "Where unmet demand goes", caption, fig)


def equity_figure(data: ReportData) -> ReportFigure | None:
    eq = data.base.equity
    if eq is None or eq.empty:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    pct = f"{_level(data):.0%} CI"
    for ax, group, measure, xlab in (
        (axes[0], "by_age", "unmet_need_per_1000_week", "unmet need per 1,000 per week"),
        (axes[1], "by_frailty", "ae_per_1000_year", "A&E attendances per 1,000 per year"),
    ):
        rows = eq[(eq.group == group) & (eq.measure == measure)]
        y = np.arange(len(rows))
        m = rows["mean"].to_numpy()
        err = [
            np.nan_to_num(m - rows.ci_low.to_numpy()),
            np.nan_to_num(rows.ci_high.to_numpy() - m),
        ]
        ax.barh(y, m, color=option_colour(data.base.name), alpha=0.7)
        ax.errorbar(m, y, xerr=err, fmt="none", color="#D55E00", capsize=3, label=pct)
        ax.set_yticks(y, list(rows.level), fontsize=8)
        ax.set_xlabel(xlab)
        ax.legend(fontsize=7)
    axes[0].set_title("Unmet need by age band (per 1,000 per week)", fontsize=9)
    axes[1].set_title("A&E attendances by frailty (per 1,000 per year)", fontsize=9)
    fig.tight_layout()
    caption = f"Equity breakdowns of the {data.base.name} run (equity.csv), with {pct}s."
    return ReportFigure("equity", "Equity: unmet need and A&E use by group", caption, fig)


def all_figures(data: ReportData) -> list[ReportFigure]:
    makers = (
        option_comparison,
        cost_effectiveness,
        demand_capacity,
        ae_by_hour,
        largest_flows,
        equity_figure,
    )
    return [f for f in (m(data) for m in makers) if f is not None]


def close_all(figures: list[ReportFigure]) -> None:
    for f in figures:
        plt.close(f.figure)


__all__ = ["ReportFigure", "all_figures", "close_all", "label", "unit"]
