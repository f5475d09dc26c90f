"""The report's figures. Each is a matplotlib Figure whose title carries its units, whose
confidence intervals are labelled as such, and in which every option is drawn in its fixed
style and named by its title (:mod:`sim.report.style`), so an option looks and reads the same
in every figure of every report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import ArrowStyle, FancyArrowPatch, FancyBboxPatch, Patch  # noqa: E402

from sim.config.catalogue import option_order, option_title  # noqa: E402
from sim.config.schema import URGENCIES  # noqa: E402
from sim.core.flows import ALL_FLOW_NODES  # noqa: E402
from sim.core.kpis import KPI_DEFINITIONS  # noqa: E402
from sim.core.statistics import NON_NEGATIVE, bounded_interval  # noqa: E402
from sim.core.timeseries import LEAD_DAYS_LAST  # noqa: E402
from sim.report.adequacy import board_fitness  # noqa: E402
from sim.report.load import ReportData, RunData  # noqa: E402
from sim.report.style import (  # noqa: E402
    GREY,
    LIGHT_GREY,
    UNMET_COLOUR,
    option_style,
    wrap_label,
)

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Every figure the report can hold, in report order (a figure whose data a folder lacks is
#: left out, e.g. the cost-effectiveness plane of a single run).
FIGURE_KEYS = (
    "summary",
    "comparison",
    "trajectories",
    "cost_effectiveness",
    "demand_capacity",
    "ae_by_hour",
    "lead_times",
    "flows",
    "equity",
)


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


def _pct(data: ReportData) -> str:
    return f"{_level(data):.0%} CI"


def _whisker(lo: float, mean: float, hi: float) -> list[list[float]]:
    ok = np.isfinite(lo) and np.isfinite(hi)
    return [[mean - lo if ok else 0.0], [hi - mean if ok else 0.0]]


def _money_scale(kpi: str) -> tuple[float, str]:
    """£ KPIs are drawn in £ million."""
    u = unit(kpi)
    return (1e6, u.replace("£", "£ million", 1)) if u.startswith("£") else (1.0, u)


def option_gid(name: str) -> str:
    """Tag of every artist drawn for an option (lets the tests check colours figure by
    figure)."""
    return f"option:{name}"


def _point(ax, x: float, y: float, xerr, name: str, **extra) -> None:
    """One option's point with CI whiskers, in its style."""
    drawn = ax.errorbar(
        x,
        y,
        xerr=xerr,
        linestyle="none",
        capsize=3,
        ms=6,
        elinewidth=1.6,
        capthick=1.6,
        **option_style(name).marker_kwargs(),
        **extra,
    )
    for artist in (drawn.lines[0], *drawn.lines[1], *drawn.lines[2]):
        artist.set_gid(option_gid(name))


def _line(ax, x: np.ndarray, y: np.ndarray, name: str, markevery: int, base: str) -> None:
    """One option's line in its style, with its marker every ``markevery`` points so the line
    matches the legend; the baseline is drawn thicker, underneath, so options over it show."""
    style = option_style(name)
    ax.plot(
        x,
        y,
        ls=style.linestyle,
        lw=2.2 if name == base else 1.2,
        ms=4,
        markevery=markevery,
        zorder=2 if name == base else 3,
        gid=option_gid(name),
        **style.marker_kwargs(),
    )


def _legend_handles(names: Iterable[str], titles: dict[str, str], width: int = 34) -> list:
    handles = []
    for name in names:
        style = option_style(name)
        handles.append(
            Line2D(
                [],
                [],
                linestyle=style.linestyle,
                lw=1.3,
                ms=6,
                label=wrap_label(option_title(name, titles), width),
                **style.marker_kwargs(),
            )
        )
    return handles


def _side_legend(fig: Figure, ax, names: Iterable[str], titles: dict[str, str], **kw) -> None:
    """Options' legend to the right of the plot, so long titles never cover the data."""
    handles = _legend_handles(names, titles) + list(kw.pop("extra", []))
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
        frameon=False,
        borderaxespad=0.0,
        **kw,
    )


def _baseline_band(data: ReportData) -> Patch:
    """Legend entry for the shaded interval drawn around the baseline."""
    colour = option_style(data.base.name).colour
    return Patch(color=colour, alpha=0.15, label=f"{data.title(data.base.name)}: {_pct(data)}")


# ---------------------------------------------------------------- option comparison


def option_comparison(data: ReportData) -> ReportFigure:
    """Headline KPIs: paired differences against the baseline (sweep) or means (single run),
    each with its CI whiskers."""
    kpis = [k for k in data.headline if k in set(data.base.summary.kpi)] or list(
        data.base.summary.kpi[:6]
    )
    pct = _pct(data)
    sweep = data.kind == "sweep" and data.comparison is not None and not data.comparison.empty
    names = option_order(set(data.comparison.option)) if sweep else list(data.runs)
    cols = 3
    rows = math.ceil(len(kpis) / cols)
    tick_labels = [wrap_label(data.title(n), 36) for n in names]
    lines = max((t.count("\n") + 1 for t in tick_labels), default=1)
    panel_height = max(1.8, max(0.3, 0.14 * lines) * len(names) + 1.0)
    fig, axes = plt.subplots(
        rows, cols, figsize=(13, panel_height * rows + 1.0), squeeze=False, sharey=True
    )
    y_of = {name: len(names) - 1 - i for i, name in enumerate(names)}  # first on top
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        scale, shown = _money_scale(kpi)
        if sweep:
            rows_k = data.comparison[data.comparison.kpi == kpi]
            for r in rows_k.itertuples():
                mean, lo, hi = r.diff_mean / scale, r.diff_ci_low / scale, r.diff_ci_high / scale
                _point(ax, mean, y_of[r.option], _whisker(lo, mean, hi), r.option)
            ax.axvline(0, color=GREY, lw=0.8)
            ax.set_xlabel(f"change against baseline ({shown})", fontsize=7)
        else:
            for name, run in data.runs.items():
                r = run.kpi(kpi)
                if r is not None:
                    mean = r["mean"] / scale
                    xerr = _whisker(r["ci_low"] / scale, mean, r["ci_high"] / scale)
                    _point(ax, mean, y_of[name], xerr, name)
            ax.set_xlabel(shown, fontsize=7)
        ax.set_title(f"{label(kpi)}\n({shown})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks([y_of[n] for n in names], tick_labels)
    axes[0, 0].set_ylim(-0.7, max(len(names), 1) - 0.3)
    for ax in axes[:, 0]:
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.flat[len(kpis) :]:
        ax.axis("off")
    if sweep:
        what = (
            "Headline KPIs: change against the baseline (units under each panel). "
            f"Points: mean paired difference; whiskers: {pct}"
        )
    else:
        what = f"Headline KPIs (units under each panel). Points: mean; whiskers: {pct}"
    fig.suptitle(what, fontsize=10)
    fig.tight_layout()
    caption = f"Points are means over replications; whiskers are {pct}s" + (
        " of the paired difference against the baseline (common random numbers). A whisker "
        "that crosses zero means the runs cannot tell the option from the baseline."
        if sweep
        else "."
    )
    return ReportFigure("comparison", "Option comparison", caption, fig)


# ---------------------------------------------------------------- programme years


def _year_rows(data: ReportData) -> list[tuple[str, str, pd.DataFrame]]:
    """(key, panel title, rows with year, name, mean, lo, hi) of each trajectory panel."""
    sweep = data.kind == "sweep" and data.comparison_by_year is not None
    panels = []
    if sweep and data.money_comparison is not None:
        m = data.money_comparison
        inv = m[(m.measure == "investment") & m.period.str.isdigit()]
        rows = pd.DataFrame(
            {
                "year": inv.period.astype(int),
                "name": inv.option,
                "mean": inv["mean"] / 1e6,
                "lo": inv.ci_low / 1e6,
                "hi": inv.ci_high / 1e6,
            }
        )
        panels.append(("investment", "Investment, extra cash out\n(£ million a year)", rows))
    kpis = [k for k in data.headline if not k.startswith("cost.")][:5]
    for kpi in kpis:
        scale, shown = _money_scale(kpi)
        if sweep:
            t = data.comparison_by_year[data.comparison_by_year.kpi == kpi]
            rows = pd.DataFrame(
                {
                    "year": t.year,
                    "name": t.option,
                    "mean": t.diff_mean / scale,
                    "lo": t.diff_ci_low / scale,
                    "hi": t.diff_ci_high / scale,
                }
            )
            title = f"{label(kpi)}: change against baseline\n({shown})"
        else:
            frames = []
            for name, run in data.runs.items():
                if run.by_year is None:
                    continue
                t = run.by_year[run.by_year.kpi == kpi]
                frames.append(
                    pd.DataFrame(
                        {
                            "year": t.year,
                            "name": name,
                            "mean": t["mean"] / scale,
                            "lo": t.ci_low / scale,
                            "hi": t.ci_high / scale,
                        }
                    )
                )
            rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            title = f"{label(kpi)}\n({shown})"
        if not rows.empty:
            panels.append((kpi, title, rows))
    return panels


def trajectories(data: ReportData) -> ReportFigure | None:
    """Programme runs: each headline KPI (and a sweep's investment) year by year, with CIs."""
    if data.years < 2:
        return None
    panels = _year_rows(data)
    if not panels:
        return None
    pct = _pct(data)
    cols = min(3, len(panels))
    n_rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(13, 3.4 * n_rows + 0.8), squeeze=False)
    names = option_order({n for _, _, rows in panels for n in rows.name})
    offsets = {
        n: (i - (len(names) - 1) / 2) * 0.5 / max(len(names), 1) for i, n in enumerate(names)
    }
    for ax, (_, title, rows) in zip(axes.flat, panels, strict=False):
        for name in names:
            r = rows[rows.name == name].sort_values("year")
            if r.empty:
                continue
            x = r.year.to_numpy(dtype=float) + offsets[name]
            style = option_style(name)
            ax.plot(
                x, r["mean"], ls=style.linestyle, lw=1.0, color=style.colour, gid=option_gid(name)
            )
            for xi, m, lo, hi in zip(x, r["mean"], r.lo, r.hi, strict=True):
                _point(ax, xi, m, None, name, yerr=_whisker(lo, m, hi))
        if data.kind == "sweep":
            ax.axhline(0, color=GREY, lw=0.8)
        ax.set_title(title, fontsize=8)
        ax.set_xticks(range(1, data.years + 1), [f"year {y}" for y in range(1, data.years + 1)])
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    _side_legend(fig, axes[0, -1], names, data.titles)
    fig.suptitle(
        f"Programme years (units in each panel title). Points: mean; whiskers: {pct}", fontsize=10
    )
    fig.tight_layout()
    caption = (
        f"Each programme year of {data.years} (52 weeks each, year 1 starting after the "
        f"warm-up). Points are means over replications; whiskers are {pct}s"
        + (
            " of the paired difference against the baseline (same patients). The first panel "
            "is the extra cash out for services each year (money_comparison.csv)."
            if data.kind == "sweep"
            else " (summary_by_year.csv)."
        )
    )
    return ReportFigure("trajectories", "Programme years", caption, fig)


# ---------------------------------------------------------------- cost-effectiveness


def cost_effectiveness_plane(
    ranking: pd.DataFrame, level: float, titles: dict[str, str] | None = None
) -> Figure:
    """Annual investment against A&E attendances avoided a year, with CI whiskers (also the
    sweep's ``cost_effectiveness.png``)."""
    titles = titles or {}
    pct = f"{level:.0%} CI"
    fig, ax = plt.subplots(figsize=(11, 5.5))
    by_option = ranking.set_index("option")
    names = option_order(by_option.index)
    for name in names:
        r = by_option.loc[name]
        x, y = r.ae_attendances_avoided_per_year, r.investment_annual_gbp / 1e6
        _point(ax, x, y, _whisker(r.ae_avoided_ci_low, x, r.ae_avoided_ci_high), name)
    ax.axvline(0, color=GREY, lw=0.8)
    ax.axhline(0, color=GREY, lw=0.8)
    ax.grid(alpha=0.3)
    ax.set_xlabel(f"A&E attendances avoided per year (point: mean; whiskers: {pct}, paired)")
    ax.set_ylabel("Annual investment (£ million a year, 2024/25 prices)")
    ax.set_title(
        "Cost-effectiveness plane: annual investment (£ million a year) against\n"
        "A&E attendances avoided (attendances a year); right is better, lower is cheaper",
        fontsize=10,
    )
    _side_legend(fig, ax, names, {n: str(titles.get(n, n)) for n in names})
    fig.tight_layout()
    return fig


def cost_effectiveness(data: ReportData) -> ReportFigure | None:
    """Annual investment against A&E attendances avoided a year (sweep only)."""
    if data.ranking is None or data.ranking.empty:
        return None
    fig = cost_effectiveness_plane(data.ranking, _level(data), data.titles)
    caption = (
        "Each option against the baseline: right is better (fewer A&E attendances), lower is "
        f"cheaper. Whiskers are the {_pct(data)} of attendances avoided; the investment (the "
        "change in the running cost of services) is fixed by the option's capacity, so it has "
        "no interval."
    )
    return ReportFigure("cost_effectiveness", "Cost-effectiveness plane", caption, fig)


# ---------------------------------------------------------------- hour-of-week figures


def _series(run: RunData, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Mean over replications and its interval at each index (counts: never below zero)."""
    if run.timeseries is None:
        return None
    ts = run.timeseries[run.timeseries.series == name]
    if ts.empty:
        return None
    wide = ts.pivot_table(index="index", columns="replication", values="value")
    level = float(run.manifest.get("ci_level", 0.95))
    stats = np.array([bounded_interval(row, level, NON_NEGATIVE) for row in wide.to_numpy()])
    return stats[:, 0], stats[:, 1], stats[:, 2]


def _week_axis(ax) -> None:
    ax.set_xticks(np.arange(0, 168, 24) + 12, DAY_NAMES, fontsize=8)
    for d in range(1, 7):
        ax.axvline(d * 24, color="#dddddd", lw=0.6)
    ax.set_xlim(0, 168)


def demand_capacity(data: ReportData) -> ReportFigure | None:
    """Needs and practice requests (baseline) against appointment slots (each option whose
    capacity differs from the baseline's) by hour of the week."""
    run = data.base
    requests = _series(run, "practice_requests_by_hour")
    arising = _series(run, "demand_by_hour")
    if requests is None or arising is None:
        return None
    capacity = {}
    for name, r in data.runs.items():
        prac, hub = _series(r, "practice_capacity_by_hour"), _series(r, "hub_capacity_by_hour")
        if prac is not None and hub is not None:
            capacity[name] = prac[0] + hub[0]
    base_capacity = capacity.get(run.name)
    drawn = [
        n
        for n in option_order(capacity)
        if n == run.name or base_capacity is None or not np.allclose(capacity[n], base_capacity)
    ]
    same = [n for n in option_order(capacity) if n not in drawn]
    pct = _pct(data)
    fig, ax = plt.subplots(figsize=(12, 4.6))
    hours = np.arange(168)
    ax.plot(hours, arising[0], color=LIGHT_GREY, lw=1.2, label="needs arising (mean)")
    ax.plot(hours, requests[0], color=GREY, lw=1.6, label="practice requests (mean)")
    if np.isfinite(requests[1]).any():
        ax.fill_between(
            hours,
            requests[1],
            requests[2],
            color=GREY,
            alpha=0.25,
            lw=0,
            label=f"practice requests: {pct}",
        )
    for name in drawn:
        style = option_style(name)
        base = name == run.name  # thicker and underneath, as in the other line figures
        ax.step(
            hours,
            capacity[name],
            where="post",
            color=style.colour,
            ls=style.linestyle,
            lw=2.2 if base else 1.3,
            zorder=2 if base else 3,
            gid=option_gid(name),
            label=wrap_label(f"slots, practice + hub: {data.title(name)}", 40),
        )
    _week_axis(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("requests or slots per hour (whole site)")
    ax.set_title(
        "Demand against capacity by hour of the week (requests and appointment slots per hour)",
        fontsize=10,
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    caption = (
        f"Needs arising and practice requests from the {data.title(run.name)} run (shaded: "
        f"{pct} of requests); lines are appointment slots starting each hour, practice plus hub."
    )
    if same:
        caption += " Same capacity as the baseline (not drawn again): " + ", ".join(
            data.title(n) for n in same
        )
        caption += "."
    return ReportFigure("demand_capacity", "Demand and capacity by hour of week", caption, fig)


def ae_by_hour(data: ReportData) -> ReportFigure | None:
    """A&E arrivals and occupancy by hour of the week: the baseline with its interval, every
    option as a line."""
    if _series(data.base, "ae_arrivals_by_hour") is None:
        return None
    fig, axes = plt.subplots(2, 1, figsize=(12, 6.5), sharex=True)
    hours = np.arange(168)
    pct = _pct(data)
    names = option_order(data.runs)
    for ax, series, ylab in (
        (axes[0], "ae_arrivals_by_hour", "arrivals per hour"),
        (axes[1], "ae_occupancy_by_hour", "patients in the department"),
    ):
        for name in names:
            s = _series(data.runs[name], series)
            if s is None:
                continue
            _line(ax, hours, s[0], name, 24, data.base.name)
            if name == data.base.name and np.isfinite(s[1]).any():
                colour = option_style(name).colour
                ax.fill_between(hours, s[1], s[2], color=colour, alpha=0.15, lw=0)
        ax.set_ylabel(ylab)
        ax.set_ylim(bottom=0)
        _week_axis(ax)
    _side_legend(fig, axes[0], names, data.titles, extra=[_baseline_band(data)])
    axes[0].set_title(
        "A&E arrivals (arrivals per hour) and occupancy (patients in the department) "
        "by hour of the week",
        fontsize=10,
    )
    fig.tight_layout()
    caption = (
        "Means over replications and the weeks of the measurement window; shading is the "
        f"baseline's {pct}. Occupancy is the time-weighted mean number of "
        "patients in the department."
    )
    return ReportFigure("ae_by_hour", "A&E arrivals and occupancy by hour of week", caption, fig)


# ---------------------------------------------------------------- booking lead times


URGENCY_TARGETS = {"urgent": "same day", "soon": "{n} working days", "routine": "{n} days"}


def _lead_shares(run: RunData, urgency: str) -> tuple[np.ndarray, ...] | None:
    """% of booked requests at each lead day: mean over replications and its interval
    (within 0 to 100%)."""
    if run.timeseries is None:
        return None
    ts = run.timeseries[run.timeseries.series == f"practice_lead_days_{urgency}"]
    if ts.empty:
        return None
    wide = ts.pivot_table(index="index", columns="replication", values="value")
    totals = wide.sum(axis=0).replace(0, np.nan)
    shares = 100 * wide / totals
    level = float(run.manifest.get("ci_level", 0.95))
    stats = np.array([bounded_interval(row, level, (0.0, 100.0)) for row in shares.to_numpy()])
    return stats[:, 0], stats[:, 1], stats[:, 2]


def lead_times(data: ReportData) -> ReportFigure | None:
    """Distribution of days from first request to practice appointment, by urgency."""
    names = [n for n in option_order(data.runs) if _lead_shares(data.runs[n], "urgent")]
    if not names:
        return None
    pct = _pct(data)
    targets = (data.base.config.get("assumptions") or {}).get("booking", {}).get("target_days")
    fig, axes = plt.subplots(1, len(URGENCIES), figsize=(13, 4.4))
    for ax, urgency in zip(axes, URGENCIES, strict=True):
        last_shown = 7
        for name in names:
            s = _lead_shares(data.runs[name], urgency)
            days = np.arange(len(s[0]))
            _line(ax, days, s[0], name, 7, data.base.name)
            if name == data.base.name and np.isfinite(s[1]).any():
                colour = option_style(name).colour
                ax.fill_between(days, s[1], s[2], color=colour, alpha=0.15, lw=0)
            # show up to the day by which 99.5% of requests were booked
            cumulative = np.nancumsum(s[0])
            reached = np.flatnonzero(cumulative >= 99.5)
            last_shown = max(last_shown, int(reached[0]) + 1 if reached.size else len(days) - 1)
        ax.set_xlim(-0.5, min(last_shown, LEAD_DAYS_LAST) + 0.5)
        ax.set_ylim(bottom=0)
        target = URGENCY_TARGETS[urgency].format(n=(targets or {}).get(urgency, "?"))
        ax.set_title(f"{urgency.capitalize()} requests (target: {target})", fontsize=9)
        ax.set_xlabel("days from first request to practice appointment", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("% of requests booked at the practice")
    _side_legend(fig, axes[-1], names, data.titles, extra=[_baseline_band(data)])
    fig.suptitle(
        "Booking lead time at the practice: share of booked requests (%) by days waited",
        fontsize=10,
    )
    fig.tight_layout()
    caption = (
        "Requests that arose in the measurement window and were booked at the practice, by "
        "whole days from the first request to the appointment (as the routine-wait KPIs). "
        f"Shading: the baseline's {pct}. Waits of {LEAD_DAYS_LAST} days or more are counted "
        f"at {LEAD_DAYS_LAST}. Requests not booked at the practice (hub, NHS 111, A&E, gave up) "
        "are in the flow diagram."
    )
    return ReportFigure("lead_times", "Booking lead-time distributions", caption, fig)


# ---------------------------------------------------------------- flow diagram

#: Plain names of the flow nodes (the system's and the registered services',
#: sim.core.flows).
NODE_NAMES = {node.name: node.label for node in ALL_FLOW_NODES}
#: Columns of the diagram, left to right (each listed top to bottom): where needs start, the
#: first services, where they are sent, hospital front door and step-up, how they leave.
FLOW_COLUMNS = tuple(
    tuple(n.name for n in sorted(ALL_FLOW_NODES, key=lambda n: n.place) if n.column == c)
    for c in range(1 + max(n.column for n in ALL_FLOW_NODES))
)
#: Requests arriving at the practice are shown as the practice's own number, not as arrows:
#: at about 30,000 a week they would make every other flow too thin to see.
ENTRY_TO_PRACTICE = {("need_in_hours", "practice"), ("need_out_of_hours", "practice")}
MAX_ARROW_POINTS = 20.0
MIN_ARROW_POINTS = 0.6
LABEL_MIN_PER_WEEK = 1.0
BOX_WIDTH, BOX_HEIGHT = 0.62, 0.075  # data units: columns are 1 apart, the height is 0 to 1
#: Curvatures tried, gentlest first, for an arrow that would cross another node's box.
ARC_RADS = (0.0, 0.1, -0.1, 0.2, -0.2, 0.3, -0.3, 0.45, -0.45, 0.6, -0.6)


def _flow_layout(nodes: set[str]) -> dict[str, tuple[float, float]]:
    columns = [[n for n in col if n in nodes] for col in FLOW_COLUMNS]
    known = {n for col in FLOW_COLUMNS for n in col}
    columns[2] += sorted(nodes - known)
    pos = {}
    for x, col in enumerate(columns):
        for i, node in enumerate(col):
            pos[node] = (float(x), 1.0 - (i + 0.5) / max(len(col), 1))
    return pos


def _arc(p0: np.ndarray, p2: np.ndarray, rad: float, t: np.ndarray) -> np.ndarray:
    """Points at ``t`` on matplotlib's ``arc3`` connection (a quadratic Bezier in display
    coordinates whose control point is the midpoint moved by ``rad`` x the chord, turned)."""
    d = p2 - p0
    control = (p0 + p2) / 2 + rad * np.array([d[1], -d[0]])
    t = t[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * control + t**2 * p2


def _gentlest_clear_rad(p0: np.ndarray, p2: np.ndarray, boxes: list[np.ndarray]) -> float:
    """The first curvature in ARC_RADS whose arrow crosses no other box (else the fewest)."""
    t = np.linspace(0.05, 0.95, 40)
    best, best_hits = 0.0, None
    for rad in ARC_RADS:
        pts = _arc(p0, p2, rad, t)
        inside = [
            (pts[:, 0] > b[0]) & (pts[:, 0] < b[2]) & (pts[:, 1] > b[1]) & (pts[:, 1] < b[3])
            for b in boxes
        ]
        hits = sum(int(m.any()) for m in inside)
        if hits == 0:
            return rad
        if best_hits is None or hits < best_hits:
            best, best_hits = rad, hits
    return best


def _ports(drawn: pd.DataFrame, pos: dict[str, tuple[float, float]]) -> dict:
    """Height offset, within its box, at which each arrow leaves its origin and meets its
    destination: spread over the box edge in the order of the other end's height, so arrows
    fanning out of (or into) one node neither start at one point nor cross each other there."""
    offsets = {}
    for end, other in (("origin", "destination"), ("destination", "origin")):
        for node, rows in drawn.groupby(end):
            order = sorted(rows[other], key=lambda n: -pos[n][1])
            spread = np.linspace(0.3, -0.3, len(order)) if len(order) > 1 else [0.0]
            for n, off in zip(order, spread, strict=True):
                key = (node, n) if end == "origin" else (n, node)
                offsets[(end, *key)] = off * BOX_HEIGHT
    return offsets


def _ends(
    a: tuple[float, float], b: tuple[float, float], off_a: float, off_b: float
) -> tuple[tuple, tuple]:
    """Where an arrow from node ``a`` to node ``b`` leaves and meets their boxes."""
    (x0, y0), (x1, y1) = a, b
    if x1 > x0:
        return (x0 + BOX_WIDTH / 2, y0 + off_a), (x1 - BOX_WIDTH / 2, y1 + off_b)
    if x1 < x0:
        return (x0 - BOX_WIDTH / 2, y0 + off_a), (x1 + BOX_WIDTH / 2, y1 + off_b)
    # same column (practice and NHS 111 send needs to each other): side by side, vertical
    down = y1 < y0
    dx = 0.1 if down else -0.1
    sign = -1 if down else 1
    return (x0 + dx, y0 + sign * BOX_HEIGHT / 2), (x1 + dx, y1 - sign * BOX_HEIGHT / 2)


def flow_diagram(data: ReportData) -> ReportFigure | None:
    """Node-link diagram of the baseline's flows per week, arrow widths proportional to flow."""
    flows = data.base.flows
    if flows.empty:
        return None
    pairs = list(zip(flows.origin, flows.destination, strict=True))
    entry = np.array([p in ENTRY_TO_PRACTICE for p in pairs])
    into_practice = float(flows.per_week_mean[entry].sum())
    drawn = flows[~entry & (flows.per_week_mean > 0)]
    if drawn.empty:
        return None
    nodes = set(drawn.origin) | set(drawn.destination) | {"practice"}
    pos = _flow_layout(nodes)
    inflow = drawn.groupby("destination").per_week_mean.sum()
    outflow = drawn.groupby("origin").per_week_mean.sum()
    biggest = float(drawn.per_week_mean.max())
    fig, ax = plt.subplots(figsize=(13, 7))
    ax.set_xlim(-0.4, len(FLOW_COLUMNS) - 0.6)
    ax.set_ylim(0.0, 1.0)
    ax.axis("off")
    for node, (x, y) in pos.items():
        through = into_practice if node == "practice" else inflow.get(node, outflow.get(node, 0))
        ax.add_patch(
            FancyBboxPatch(
                (x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2),
                BOX_WIDTH,
                BOX_HEIGHT,
                boxstyle="round,pad=0.005",
                fc="white",
                lw=1.2,
                zorder=3,
                ec=UNMET_COLOUR if node == "gave_up" else GREY,
            )
        )
        ax.text(
            x,
            y,
            f"{NODE_NAMES.get(node, node)}\n{through:,.0f} a week",
            ha="center",
            va="center",
            fontsize=7.5,
            zorder=4,
        )
    # Routing and labels work in display coordinates, where arc3 bends the arrows.
    fig.canvas.draw()
    to_display, to_data = ax.transData.transform, ax.transData.inverted().transform
    margin = np.array([-4.0, -4.0, 4.0, 4.0])
    box_of = {
        n: np.concatenate(
            [
                to_display((x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2)),
                to_display((x + BOX_WIDTH / 2, y + BOX_HEIGHT / 2)),
            ]
        )
        - margin
        for n, (x, y) in pos.items()
    }
    ports = _ports(drawn, pos)
    for r in drawn.sort_values("per_week_mean", ascending=False).itertuples():
        start, end = _ends(
            pos[r.origin],
            pos[r.destination],
            ports[("origin", r.origin, r.destination)],
            ports[("destination", r.origin, r.destination)],
        )
        p0, p2 = to_display(start), to_display(end)
        others = [b for n, b in box_of.items() if n not in (r.origin, r.destination)]
        rad = _gentlest_clear_rad(p0, p2, others)
        width = max(MIN_ARROW_POINTS, MAX_ARROW_POINTS * r.per_week_mean / biggest)
        style = ArrowStyle(
            "simple", tail_width=width, head_width=width + 5, head_length=min(8 + width / 2, 14)
        )
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle=style,
                connectionstyle=f"arc3,rad={rad}",
                color=UNMET_COLOUR if r.origin == "practice" else GREY,
                alpha=0.55,
                lw=0,
                mutation_scale=1,
                zorder=2,
                gid=f"flow:{r.origin}>{r.destination}",
            )
        )
        if r.per_week_mean >= LABEL_MIN_PER_WEEK:
            lx, ly = to_data(_arc(p0, p2, rad, np.array([0.5]))[0])
            ax.text(
                lx,
                ly,
                f"{r.per_week_mean:,.0f}",
                fontsize=6.5,
                ha="center",
                va="center",
                color="#222222",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
            )
    ax.set_title(
        f"Where demand goes: moves between services, {data.title(data.base.name)} "
        "(moves per week; arrow width proportional to the flow)",
        fontsize=10,
    )
    ax.legend(
        handles=[
            Line2D([], [], color=UNMET_COLOUR, lw=6, alpha=0.55, label="moves out of the practice"),
            Line2D([], [], color=GREY, lw=6, alpha=0.55, label="other moves"),
        ],
        loc="lower left",
        fontsize=7.5,
        frameon=False,
    )
    fig.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.01)
    caption = (
        "Mean moves per week over replications (flows.csv, where each has its "
        f"{_pct(data)}). The practice's number is the requests it received "
        f"({into_practice:,.0f} a week), shown as a number rather than arrows so that the "
        "moves out of it stay visible; appointments attended are not moves (see the ledger). "
        "Moves out of the practice are where the demand it did not meet goes, and, for "
        "practice → A&E, rapid assessment or IC+, also patients sent on after being seen. "
        f"Numbers under {LABEL_MIN_PER_WEEK:.0f} a week are not printed."
    )
    return ReportFigure("flows", "Where unmet demand goes: flow diagram", caption, fig)


# ---------------------------------------------------------------- equity

EQUITY_PANELS = (
    ("by_age", "unmet_need_per_1000_week", "Unmet need by age band", "per 1,000 people a week"),
    ("by_frailty", "ae_per_1000_year", "A&E attendances by frailty", "per 1,000 people a year"),
)


def equity_figure(data: ReportData) -> ReportFigure | None:
    """Unmet need by age band and A&E use by frailty, every option, with CI whiskers."""
    names = [n for n in option_order(data.runs) if data.runs[n].equity is not None]
    if not names:
        return None
    pct = _pct(data)
    fig, axes = plt.subplots(1, 2, figsize=(13, min(0.08 * len(names) * 8 + 3.0, 14)))
    step = 0.8 / max(len(names), 1)
    for ax, (group, measure, title, per) in zip(axes, EQUITY_PANELS, strict=True):
        levels = list(
            dict.fromkeys(
                lev
                for n in names
                for lev in data.runs[n].equity.level[data.runs[n].equity.group == group]
            )
        )
        for j, name in enumerate(names):
            eq = data.runs[name].equity
            rows = eq[(eq.group == group) & (eq.measure == measure)].set_index("level")
            for i, lev in enumerate(levels):
                if lev not in rows.index:
                    continue
                r = rows.loc[lev]
                y = len(levels) - 1 - i + 0.4 - (j + 0.5) * step
                _point(ax, r["mean"], y, _whisker(r.ci_low, r["mean"], r.ci_high), name)
        ax.set_yticks(range(len(levels)), levels[::-1], fontsize=8)
        for i in range(1, len(levels)):
            ax.axhline(i - 0.5, color="#eeeeee", lw=0.8)
        ax.set_xlabel(f"{per} (point: mean; whiskers: {pct})", fontsize=8)
        ax.set_title(f"{title} ({per})", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    _side_legend(fig, axes[1], names, data.titles)
    fig.suptitle(
        f"Equity: unmet need by age band and A&E use by frailty, every option ({pct} whiskers)",
        fontsize=10,
    )
    fig.tight_layout()
    caption = (
        f"From each job's equity.csv: means over replications with {pct}s. Frailty bands are "
        "electronic frailty index bands of people aged 65 and over; 'under 65' is everyone "
        "younger."
    )
    return ReportFigure("equity", "Equity: unmet need and A&E use by group", caption, fig)


# ---------------------------------------------------------------- the summary page's figure


def _money_short(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    return f"£{x / 1e6:,.1f}m" if abs(x) >= 1e6 else f"£{x:,.0f}"


def _summary_rows(data: ReportData) -> tuple[list[str], list[str], list[str]]:
    """Options in catalogue order, their names (wrapped, never cut) and, for the right-hand
    side, each one's investment and cost per attendance avoided with its interval."""
    ranking = data.ranking.set_index("option")
    names = option_order(ranking.index)
    left = [wrap_label(data.title(n), SUMMARY_NAME_CHARACTERS) for n in names]
    right = []
    for name in names:
        r = ranking.loc[name]
        per = float(r.cost_per_ae_attendance_avoided_gbp)
        lo = float(r.get("cost_per_ae_ci_low", np.nan))
        hi = float(r.get("cost_per_ae_ci_high", np.nan))
        if not np.isfinite(per):
            each = "avoids none on average"
        elif np.isfinite(lo) and np.isfinite(hi):
            each = f"{_money_short(per)} each ({_money_short(lo)} to {_money_short(hi)})"
        else:
            each = f"{_money_short(per)} each (interval not estimable)"
        # two lines: on one, twelve options' costs left the plot too little of the page
        right.append(f"{_money_short(r.investment_annual_gbp)} a year;\n{each}")
    return names, left, right


#: Option names on the summary figure wrap at this many characters: with the costs on the
#: right, the plot keeps at least a third of the figure's width at the PDF page's width
#: (``tests/test_board_paper.py``).
SUMMARY_NAME_CHARACTERS = 34

#: Height of the summary figure: per line of option names, and for titles and axes (inches).
SUMMARY_LINE_INCHES, SUMMARY_FRAME_INCHES = 0.15, 1.0


def summary_height(data: ReportData) -> float:
    """The height (inches) the summary figure needs for its option names and costs to be
    read (each option's row as tall as the more lines of the two)."""
    _, left, right = _summary_rows(data)
    lines = sum(
        max(a.count("\n") + 1, b.count("\n") + 1, 1.3) for a, b in zip(left, right, strict=True)
    )
    return SUMMARY_LINE_INCHES * lines + SUMMARY_FRAME_INCHES


def summary_figure(
    data: ReportData, size: tuple[float, float] | None = None
) -> ReportFigure | None:
    """The one figure of the summary page: A&E attendances avoided a year by each option
    against the baseline, with its interval, and beside it each option's investment and what
    each attendance avoided costs (a sweep only). ``size`` (inches) draws it for a given
    space, as the PDF does to fill the room left on the summary page."""
    if data.kind != "sweep" or data.ranking is None or data.ranking.empty:
        return None
    ranking = data.ranking.set_index("option")
    names, left, right = _summary_rows(data)
    pct = _pct(data)
    fig, ax = plt.subplots(figsize=size or (8, max(2.4, summary_height(data))))
    y_of = {name: len(names) - 1 - i for i, name in enumerate(names)}
    for name in names:
        r = ranking.loc[name]
        x = float(r.ae_attendances_avoided_per_year)
        _point(ax, x, y_of[name], _whisker(r.ae_avoided_ci_low, x, r.ae_avoided_ci_high), name)
    ax.axvline(0, color=GREY, lw=0.8)
    ax.set_yticks([y_of[n] for n in names], left, fontsize=7)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="x", labelsize=7.5)
    ax.set_xlabel(f"A&E attendances avoided a year (point: mean; whiskers: {pct})", fontsize=8)
    ax.set_title(
        "A&E attendances avoided a year by each option (right of the grey line is better);\n"
        f"beside it, its investment a year and £ per attendance avoided ({pct})",
        fontsize=9,
    )
    ax2 = ax.twinx()
    ax2.set_ylim(ax.get_ylim())
    ax2.set_yticks([y_of[n] for n in names], right, fontsize=7)
    fig.tight_layout()
    _labels_inside(fig, ax, ax2)
    caption = (
        "Each option against the baseline, same patients. A whisker across the grey line: the "
        "runs cannot tell the option from the baseline. Right: investment a year, and per A&E "
        "attendance avoided with Fieller's interval (not estimable when the attendances "
        "avoided cannot be told from zero)."
    )
    return ReportFigure("summary", "What each option does for A&E, and at what cost", caption, fig)


def _labels_inside(fig: Figure, ax, ax2, pad_points: float = 3.0) -> None:
    """Narrow the plot (both of its y axes) until the option names on its left and the costs
    on its right lie inside the figure: ``tight_layout`` leaves a twin axis's labels past
    the figure's edge when they are long (the costs of twelve options were cut off)."""
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    pad = pad_points * fig.dpi / 72
    lefts = [t.get_window_extent(renderer).x0 for t in ax.get_yticklabels()]
    rights = [t.get_window_extent(renderer).x1 for t in ax2.get_yticklabels()]
    over_left = max(0.0, pad - min(lefts, default=pad)) / width
    over_right = max(0.0, max(rights, default=0.0) - (width - pad)) / width
    if over_left or over_right:
        p = ax.get_position()
        box = [p.x0 + over_left, p.y0, p.width - over_left - over_right, p.height]
        ax.set_position(box)
        ax2.set_position(box)


# ---------------------------------------------------------------- banner

BANNER_COLOUR = "#B00020"
BANNER_INCHES = 0.32


def stamp_banner(fig: Figure, text: str) -> None:
    """Add a red strip with ``text`` across the top of ``fig``, above everything drawn: the
    figure grows by the strip's height and its content keeps its size and place."""
    w, h = fig.get_size_inches()
    k = h / (h + BANNER_INCHES)
    fig.set_size_inches(w, h + BANNER_INCHES)
    for ax in fig.axes:
        p = ax.get_position()
        ax.set_position([p.x0, p.y0 * k, p.width, p.height * k])
    for t in fig.texts:  # the suptitle is one of them
        x, y = t.get_position()
        t.set_position((x, y * k))
    fig.text(
        0.5,
        1 - (BANNER_INCHES / 2) / (h + BANNER_INCHES),
        text,
        ha="center",
        va="center",
        fontsize=7.5,
        color="white",
        weight="bold",
        gid="banner",
        bbox={"boxstyle": "square,pad=0.4", "fc": BANNER_COLOUR, "ec": BANNER_COLOUR},
    )


def summary_png(data: ReportData, width: float, height: float, dpi: int) -> bytes | None:
    """The summary figure drawn to fill ``width`` x ``height`` inches, banner included; None
    when that is too little room for its option names to be read."""
    import io

    if data.kind != "sweep" or data.ranking is None or data.ranking.empty:
        return None
    fitness = board_fitness(run.manifest for run in data.runs.values())
    strip = 0.0 if fitness.fit else BANNER_INCHES
    if height - strip < summary_height(data):
        return None
    f = summary_figure(data, (width, height - strip))
    try:
        if strip:
            stamp_banner(f.figure, fitness.short_banner)
        buf = io.BytesIO()
        f.figure.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()
    finally:
        plt.close(f.figure)


def all_figures(data: ReportData) -> list[ReportFigure]:
    """Every figure the folder's data allow, in report order; each carries the banner when
    the runs are not fit for a board (:mod:`sim.report.adequacy`)."""
    makers = (
        summary_figure,
        option_comparison,
        trajectories,
        cost_effectiveness,
        demand_capacity,
        ae_by_hour,
        lead_times,
        flow_diagram,
        equity_figure,
    )
    figures = [f for f in (m(data) for m in makers) if f is not None]
    fitness = board_fitness(run.manifest for run in data.runs.values())
    if not fitness.fit:
        for f in figures:
            stamp_banner(f.figure, fitness.short_banner)
    return figures


def close_all(figures: list[ReportFigure]) -> None:
    for f in figures:
        plt.close(f.figure)


__all__ = [
    "FIGURE_KEYS",
    "option_gid",
    "ReportFigure",
    "all_figures",
    "close_all",
    "cost_effectiveness_plane",
    "stamp_banner",
    "summary_figure",
    "summary_png",
    "label",
    "unit",
]
