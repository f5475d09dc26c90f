"""Assemble the report as a list of blocks, then render it as HTML, Markdown and PDF."""

from __future__ import annotations

import base64
import html
import io
import math
import os
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import outputs
from ..equity import GROUPS, MEASURES
from .figures import ReportFigure, all_figures, close_all, label, unit
from .load import ReportData
from .stress import SECTIONS, stress_items

MODEL_DOC_LINK = "docs/model.md#assumptions-and-sources"


@dataclass
class Block:
    kind: str  # "h1", "h2", "h3", "p", "table", "figure"
    text: str = ""
    table: pd.DataFrame | None = None
    figure: ReportFigure | None = None


def fmt(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return "-" if x is None else ("yes" if x else "NO")
    if isinstance(x, int | float):
        if isinstance(x, float) and not math.isfinite(x):
            return "-"
        if isinstance(x, float) and abs(x) < 5e-4:
            x = 0.0  # no "-0.000"
        ax = abs(x)
        if ax >= 1000:
            return f"{x:,.0f}"
        if ax >= 10:
            return f"{x:.1f}"
        if ax == int(ax) and isinstance(x, int):
            return str(x)
        return f"{x:.3f}"
    return str(x)


def ci(lo: float, hi: float) -> str:
    return f"{fmt(lo)} to {fmt(hi)}"


# ---------------------------------------------------------------- content


def executive_summary(data: ReportData) -> list[Block]:
    level = f"{float(data.base.manifest.get('ci_level', 0.95)):.0%} CI"
    blocks = [Block("h2", "Executive summary")]
    if data.kind == "sweep" and data.ranking is not None:
        titles = {n: (r.scenario.get(n) or {}).get("title", n) for n, r in data.runs.items()}
        base_cost = data.base.kpi("cost.total_annual_gbp")
        rows = []
        if base_cost is not None:
            rows.append(
                {
                    "option": "baseline",
                    "title": titles.get("baseline", "Baseline"),
                    "total cost £/yr": fmt(base_cost["mean"]),
                    "investment £/yr": "-",
                    "net cost £/yr": "-",
                    f"A&E avoided /yr ({level})": "-",
                    f"admissions avoided /yr ({level})": "-",
                    "£ per A&E avoided": "-",
                    "rank (A&E)": "-",
                }
            )
        for r in data.ranking.itertuples():
            run = data.runs.get(r.option)
            total = run.kpi("cost.total_annual_gbp") if run is not None else None
            rows.append(
                {
                    "option": r.option,
                    "title": r.title,
                    "total cost £/yr": fmt(total["mean"]) if total is not None else "-",
                    "investment £/yr": fmt(r.investment_annual_gbp),
                    "net cost £/yr": fmt(r.net_cost_annual_gbp),
                    f"A&E avoided /yr ({level})": f"{fmt(r.ae_attendances_avoided_per_year)} "
                    f"({ci(r.ae_avoided_ci_low, r.ae_avoided_ci_high)})",
                    f"admissions avoided /yr ({level})": f"{fmt(r.admissions_avoided_per_year)} "
                    f"({ci(r.admissions_avoided_ci_low, r.admissions_avoided_ci_high)})",
                    "£ per A&E avoided": fmt(r.cost_per_ae_attendance_avoided_gbp),
                    "rank (A&E)": fmt(int(r.rank_by_ae)),
                }
            )
        blocks.append(
            Block(
                "p",
                f"{len(data.ranking)} option(s) compared with the baseline using paired "
                "replications "
                "(common random numbers). Investment is the change in the running cost of "
                "services; net cost is the change in total cost (services plus activity). "
                "Source: ranking.csv.",
            )
        )
        blocks.append(
            Block("table", "Options ranked by cost per A&E attendance avoided", pd.DataFrame(rows))
        )
        comp = data.comparison
        if comp is not None and not comp.empty:
            keep = comp[comp.kpi.isin(data.headline)] if data.headline else comp
            tab = pd.DataFrame(
                {
                    "option": keep.option,
                    "KPI": [label(k) for k in keep.kpi],
                    "unit": keep.unit,
                    "baseline": [fmt(v) for v in keep.baseline_mean],
                    "option mean": [fmt(v) for v in keep.option_mean],
                    "difference": [fmt(v) for v in keep.diff_mean],
                    f"difference {level}": [
                        ci(lo, hi)
                        for lo, hi in zip(keep.diff_ci_low, keep.diff_ci_high, strict=True)
                    ],
                    "P(option better)": [fmt(v) for v in keep.prob_option_better],
                }
            )
            blocks.append(
                Block(
                    "table",
                    "Headline KPIs: paired differences against baseline (comparison.csv)",
                    tab,
                )
            )
        if data.problems:
            blocks.append(Block("p", "Sweep problems: " + "; ".join(data.problems)))
    else:
        run = data.base
        s = run.summary
        keep = s[s.kpi.isin(data.headline)] if data.headline else s
        tab = pd.DataFrame(
            {
                "KPI": [label(k) for k in keep.kpi],
                "mean": [fmt(v) for v in keep["mean"]],
                level: [ci(lo, hi) for lo, hi in zip(keep.ci_low, keep.ci_high, strict=True)],
                "unit": [unit(k) or u for k, u in zip(keep.kpi, keep.unit, strict=True)],
            }
        )
        cost = run.kpi("cost.total_annual_gbp")
        blocks.append(
            Block(
                "p",
                f"Scenario {run.name}: annual total cost £{fmt(cost['mean'])} "
                f"({level} £{ci(cost['ci_low'], cost['ci_high'])}), 2024/25 prices."
                if cost is not None
                else f"Scenario {run.name}.",
            )
        )
        blocks.append(Block("table", "Headline KPIs (summary.csv)", tab))
    return blocks


def calibration_blocks(data: ReportData) -> list[Block]:
    c = data.base.calibration
    tab = pd.DataFrame(
        {
            "Calibration target": c.target,
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
        Block("h2", "Calibration"),
        Block(
            "p",
            f"Simulated baseline against published targets ({data.base.name} run, "
            "calibration.csv); 'within' when |mean - target| <= tolerance. Short runs do not "
            "reproduce annual figures (seasonality): read with the run length in the "
            "provenance block.",
        ),
        Block("table", "Calibration table", tab),
    ]


def validation_blocks(data: ReportData) -> list[Block]:
    v = data.validation
    if v is None:
        return [
            Block("h2", "Validation"),
            Block(
                "p",
                "No validation folder was given (python -m sim.validate; pass "
                "--validation DIR). See docs/validation.md.",
            ),
        ]
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
    return [
        Block("h2", "Validation"),
        Block("p", f"{n_pass} of {len(v)} checks passed ({data.validation_folder})."),
        Block("table", "Validation summary (validation.csv)", tab),
    ]


def equity_blocks(data: ReportData) -> list[Block]:
    eq = data.base.equity
    blocks = [Block("h2", "Equity")]
    if eq is None or eq.empty:
        return blocks + [
            Block(
                "p", "This run folder has no equity.csv (made before equity breakdowns were added)."
            )
        ]
    blocks.append(
        Block(
            "p",
            f"Measures by group for the {data.base.name} run (equity.csv): mean over "
            "replications with its CI. Rates per 1,000 use the group's population; "
            "self-presenting A&E arrivals are shared between practices by each practice's "
            "share of the age band (see sim/equity.py).",
        )
    )
    for group, title in GROUPS.items():
        g = eq[eq.group == group]
        if g.empty:
            continue
        levels = list(dict.fromkeys(g.level))
        tab = pd.DataFrame({title: levels})
        for measure, (u, lab) in MEASURES.items():
            col = []
            for lev in levels:
                r = g[(g.level == lev) & (g.measure == measure)]
                col.append(
                    "-"
                    if r.empty
                    else f"{fmt(r['mean'].iloc[0])} ({ci(r.ci_low.iloc[0], r.ci_high.iloc[0])})"
                )
            tab[f"{lab} ({u})"] = col
        blocks.append(Block("table", f"Equity by {title.lower()}", tab))
    return blocks


def assumptions_blocks(data: ReportData) -> list[Block]:
    blocks = [
        Block("h2", "Assumptions and sources"),
        Block(
            "p",
            f"Every model assumption and its source is listed in {MODEL_DOC_LINK} "
            "(Assumptions and sources), with limitations in docs/model.md "
            "(Limitations: what the model does not do). Each option in this report:",
        ),
    ]
    seen = set()
    for run in data.runs.values():
        for name, opt in run.scenario.items():
            if name in seen or not isinstance(opt, dict):
                continue
            seen.add(name)
            blocks.append(Block("h3", f"{name}: {opt.get('title', name)}"))
            blocks.append(Block("p", f"Description: {opt.get('description', '-')}"))
            blocks.append(Block("p", f"Cost basis: {opt.get('cost_basis', '-')}"))
            assumptions = opt.get("assumptions") or []
            if isinstance(assumptions, dict):
                assumptions = [f"{k}: {v}" for k, v in assumptions.items()]
            for a in assumptions:
                blocks.append(Block("p", f"- {a}"))
    return blocks


def provenance_blocks(data: ReportData) -> list[Block]:
    rows = []
    for name, run in data.runs.items():
        m = run.manifest
        git = m.get("git", {})
        rows.append(
            {
                "job": name,
                "git commit": str(git.get("commit")),
                "dirty": fmt(git.get("dirty")) if git.get("dirty") is not None else "-",
                "config sha256": str(m.get("config_sha256")),
                "seed": str(m.get("seed")),
                "replications": str(m.get("replications")),
                "warm-up weeks": str(m.get("warmup_weeks")),
                "run weeks": str(m.get("run_weeks")),
                "wall time s": str(m.get("wall_seconds")),
                "finished (UTC)": str(m.get("finished_utc")),
            }
        )
    base = data.base.manifest
    pk = base.get("packages", {})
    mach = base.get("machine", {})
    return [
        Block("h2", "Provenance"),
        Block(
            "p",
            f"Report of {data.kind} folder {data.folder.resolve()}. "
            f"Command: {base.get('command')}.",
        ),
        Block("table", "Run metadata (manifest.json)", pd.DataFrame(rows)),
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
        Block("h2", "Appendix: STRESS-DES checklist"),
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
    return blocks


def build_blocks(data: ReportData, figures: list[ReportFigure]) -> list[Block]:
    m = data.base.manifest
    site = data.base.config.get("site", {}).get("title", m.get("site"))
    what = f"sweep of {len(data.runs)} jobs" if data.kind == "sweep" else f"run '{data.base.name}'"
    blocks = [
        Block("h1", f"Capacity simulation report: {site}"),
        Block(
            "p",
            f"{what}; {m.get('replications')} replications x {m.get('run_weeks')} weeks after "
            f"{m.get('warmup_weeks')} weeks' warm-up; seed {m.get('seed')}; git commit "
            f"{(m.get('git') or {}).get('commit')}.",
        ),
    ]
    blocks += executive_summary(data)
    blocks.append(Block("h2", "Figures"))
    blocks += [Block("figure", figure=f) for f in figures]
    blocks += calibration_blocks(data)
    blocks += validation_blocks(data)
    blocks += equity_blocks(data)
    blocks += assumptions_blocks(data)
    blocks += provenance_blocks(data)
    blocks += stress_blocks(data)
    return blocks


# ---------------------------------------------------------------- rendering


def png_bytes(fig: ReportFigure) -> bytes:
    buf = io.BytesIO()
    fig.figure.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f2}caption{font-weight:bold;text-align:left;padding:4px 0}
img{max-width:100%}figcaption{font-size:12px;color:#444}"""


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
            out.append(f"<p>{e(b.text)}</p>")
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
                f"<figure><h3>{e(b.figure.title)}</h3>"
                f"<img alt='{e(b.figure.title)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{e(b.figure.caption)}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _md_cell(v: Any) -> str:
    return fmt(v).replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: list[Block], figure_dir: str) -> str:
    out = []
    for b in blocks:
        if b.kind.startswith("h"):
            out.append("#" * int(b.kind[1]) + " " + b.text + "\n")
        elif b.kind == "p":
            out.append(b.text + "\n")
        elif b.kind == "table":
            cols = [str(c) for c in b.table.columns]
            out.append(f"**{b.text}**\n")
            out.append("| " + " | ".join(_md_cell(c) for c in cols) + " |")
            out.append("|" + "---|" * len(cols))
            for row in b.table.itertuples(index=False):
                out.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
            out.append("")
        elif b.kind == "figure":
            f = b.figure
            out.append(
                f"### {f.title}\n\n![{f.title}]({figure_dir}/{f.key}.png)\n\n*{f.caption}*\n"
            )
    return "\n".join(out) + "\n"


class _PdfWriter:
    """Text pages via fig.text, tables via ax.table, and the report's figures."""

    WIDTH, HEIGHT = 8.27, 11.69  # A4 portrait, inches
    TOP, BOTTOM, LINE = 0.95, 0.05, 0.0135

    def __init__(self, pdf):
        import matplotlib.pyplot as plt

        self.plt, self.pdf = plt, pdf
        self.fig = None
        self.y = self.TOP

    def _new_page(self):
        self.flush()
        self.fig = self.plt.figure(figsize=(self.WIDTH, self.HEIGHT))
        self.y = self.TOP

    def flush(self):
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.plt.close(self.fig)
            self.fig = None

    def text(self, text: str, size: float = 8.5, weight: str = "normal", width: int = 105):
        lines = textwrap.wrap(text, width=int(width * 8.5 / size)) or [""]
        for line in lines:
            if self.fig is None or self.y < self.BOTTOM + self.LINE:
                self._new_page()
            self.fig.text(0.06, self.y, line, fontsize=size, weight=weight, va="top")
            self.y -= self.LINE * size / 8.5
        self.y -= self.LINE * 0.4

    def table(self, title: str, frame: pd.DataFrame, rows_per_page: int = 30):
        cells = [
            [textwrap.shorten(fmt(v), 70) for v in row] for row in frame.itertuples(index=False)
        ]
        cols = [textwrap.fill(str(c), 16) for c in frame.columns]
        for start in range(0, max(len(cells), 1), rows_per_page):
            chunk = cells[start : start + rows_per_page]
            self.flush()
            fig = self.plt.figure(figsize=(11.69, 8.27))  # landscape for wide tables
            fig.text(
                0.03,
                0.96,
                title + (" (continued)" if start else ""),
                fontsize=10,
                weight="bold",
                va="top",
            )
            ax = fig.add_axes((0.02, 0.03, 0.96, 0.88))
            ax.axis("off")
            if chunk:
                t = ax.table(cellText=chunk, colLabels=cols, loc="upper center", cellLoc="left")
                t.auto_set_font_size(False)
                t.set_fontsize(6 if len(cols) > 6 else 7)
                t.auto_set_column_width(list(range(len(cols))))
                for (r, _), cell in t.get_celld().items():
                    if r == 0:
                        cell.set_height(cell.get_height() * 3.4)
                        cell.set_facecolor("#f2f2f2")
            self.pdf.savefig(fig)
            self.plt.close(fig)

    def figure(self, f: ReportFigure):
        self.flush()
        fig = f.figure
        fig.text(0.01, 0.003, textwrap.shorten(f.caption, 190), fontsize=6, va="bottom")
        self.pdf.savefig(fig)


def render_pdf(blocks: list[Block], path: Path) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    sizes = {"h1": 15, "h2": 12.5, "h3": 10.5, "h4": 9}
    with PdfPages(path, metadata={"Title": blocks[0].text}) as pdf:
        w = _PdfWriter(pdf)
        for b in blocks:
            if b.kind in sizes:
                if b.kind == "h2" and w.fig is not None and w.y < 0.3:
                    w.flush()
                w.text(b.text, size=sizes[b.kind], weight="bold")
            elif b.kind == "p":
                w.text(b.text)
            elif b.kind == "table":
                w.table(b.text, b.table)
            elif b.kind == "figure":
                w.figure(b.figure)
        w.flush()


def _atomic_bytes(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(data: ReportData) -> Path:
    """Write ``report.html``, ``report.md`` (+ ``report_figures/``) and ``report.pdf``."""
    folder = data.folder
    figures = all_figures(data)
    try:
        blocks = build_blocks(data, figures)
        pngs = {f.key: png_bytes(f) for f in figures}
        fig_dir = folder / "report_figures"
        fig_dir.mkdir(exist_ok=True)
        for key, payload in pngs.items():
            _atomic_bytes(fig_dir / f"{key}.png", payload)
        outputs.atomic_write_text(folder / "report.md", render_markdown(blocks, fig_dir.name))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".report.pdf.", suffix=".tmp")
        os.close(fd)
        try:
            render_pdf(blocks, Path(tmp))
            os.replace(tmp, folder / "report.pdf")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        outputs.atomic_write_text(folder / "report.html", render_html(blocks, pngs))
    finally:
        close_all(figures)
    return folder / "report.html"
