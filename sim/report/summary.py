"""The board paper's first page and its ranking: the question, the options in plain names, the
recommendation the numbers support and how sure we are.

The recommendation follows fixed rules (docs/report.md, "How the recommendation is made"):

1. An option *helps* when its interval of A&E attendances avoided lies wholly above zero; an
   interval that includes zero means the runs cannot tell it from the baseline.
2. Among options that help, the one with the lowest cost per attendance avoided comes first.
3. Another option that helps is *not distinguishable* from the first when their intervals of
   cost per attendance avoided (Fieller's) overlap, or either has no finite interval: the
   paper then names both, never one alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sim.config.catalogue import BASELINE, option_order
from sim.core.statistics import interval_reliable
from sim.report.adequacy import BOARD_PRESET, Fitness, board_fitness
from sim.report.document import Block, ci, fmt, money, money_range
from sim.report.figures import label, unit
from sim.report.load import ReportData

NET_COST_KPI = "cost.total_annual_gbp"


@dataclass
class RankedOption:
    """One option of a sweep against the baseline, as the paper reads it."""

    name: str
    title: str
    investment: float
    net_cost: tuple[float, float, float]  # change in total cost a year: mean, low, high
    ae: tuple[float, float, float]  # A&E attendances avoided a year: mean, low, high
    admissions: tuple[float, float, float]
    per_ae: tuple[float, float, float]  # £ per A&E attendance avoided: estimate, low, high
    per_admission: tuple[float, float, float]
    rank: int = 0
    verdict: str = ""

    @property
    def helps(self) -> bool:
        """Avoids A&E attendances by an amount the runs can tell from zero."""
        return math.isfinite(self.ae[1]) and self.ae[1] > 0

    @property
    def harms(self) -> bool:
        return math.isfinite(self.ae[2]) and self.ae[2] < 0


def _get(row: pd.Series, column: str) -> float:
    value = row.get(column, float("nan"))
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _overlap(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """Whether two intervals overlap; an interval that is not finite overlaps everything."""
    if not all(math.isfinite(v) for v in (*a[1:], *b[1:])):
        return True
    return a[1] <= b[2] and b[1] <= a[2]


def _net_cost(data: ReportData, option: str, mean: float) -> tuple[float, float, float]:
    """The change in total cost a year (services plus activity) with its paired interval, from
    the sweep's comparison of ``cost.total_annual_gbp``."""
    comp = data.comparison
    if comp is not None and not comp.empty:
        row = comp[(comp.option == option) & (comp.kpi == NET_COST_KPI)]
        if not row.empty:
            r = row.iloc[0]
            return float(r.diff_mean), float(r.diff_ci_low), float(r.diff_ci_high)
    return mean, float("nan"), float("nan")


def ranked_options(data: ReportData) -> list[RankedOption]:
    """The sweep's options in the paper's order, each with its verdict (module docstring)."""
    if data.ranking is None or data.ranking.empty:
        return []
    options = []
    for _, r in data.ranking.iterrows():
        name = str(r["option"])
        options.append(
            RankedOption(
                name=name,
                title=data.title(name),
                investment=_get(r, "investment_annual_gbp"),
                net_cost=_net_cost(data, name, _get(r, "net_cost_annual_gbp")),
                ae=tuple(
                    _get(r, c)
                    for c in (
                        "ae_attendances_avoided_per_year",
                        "ae_avoided_ci_low",
                        "ae_avoided_ci_high",
                    )
                ),
                admissions=tuple(
                    _get(r, c)
                    for c in (
                        "admissions_avoided_per_year",
                        "admissions_avoided_ci_low",
                        "admissions_avoided_ci_high",
                    )
                ),
                per_ae=tuple(
                    _get(r, c)
                    for c in (
                        "cost_per_ae_attendance_avoided_gbp",
                        "cost_per_ae_ci_low",
                        "cost_per_ae_ci_high",
                    )
                ),
                per_admission=tuple(
                    _get(r, c)
                    for c in (
                        "cost_per_admission_avoided_gbp",
                        "cost_per_admission_ci_low",
                        "cost_per_admission_ci_high",
                    )
                ),
            )
        )
    catalogue_rank = {n: i for i, n in enumerate(option_order(o.name for o in options))}
    helping = sorted(
        (o for o in options if o.helps), key=lambda o: (o.per_ae[0], catalogue_rank[o.name])
    )
    rest = sorted(
        (o for o in options if not o.helps), key=lambda o: (-o.ae[0], catalogue_rank[o.name])
    )
    best = helping[0] if helping else None
    for i, o in enumerate([*helping, *rest], start=1):
        o.rank = i
        if not o.helps:
            o.verdict = (
                "more A&E attendances than the baseline"
                if o.harms
                else "not distinguishable from the baseline on A&E attendances"
            )
        elif o is best:
            o.verdict = "lowest cost per attendance avoided"
        elif _overlap(o.per_ae, best.per_ae):
            o.verdict = f"not distinguishable from {best.title} on cost per attendance avoided"
        else:
            o.verdict = f"costs more per attendance avoided than {best.title}"
    return [*helping, *rest]


def _with_ci(values: tuple[float, float, float]) -> str:
    mean, lo, hi = values
    if not math.isfinite(mean):
        return "-"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return fmt(mean)
    return f"{fmt(mean)} ({ci(lo, hi)})"


def _money_with_ci(values: tuple[float, float, float]) -> str:
    mean, lo, hi = values
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return money(mean)
    return f"{money(mean)} ({money_range(lo, hi)})"


def _cost_per(values: tuple[float, float, float]) -> str:
    est, lo, hi = values
    if not math.isfinite(est):
        return "avoids none on average"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{money(est)} (interval not estimable)"
    return f"{money(est)} ({money_range(lo, hi)})"


def level_text(data: ReportData) -> str:
    return f"{float(data.base.manifest.get('ci_level', 0.95)):.0%}"


def fitness(data: ReportData) -> Fitness:
    return board_fitness(run.manifest for run in data.runs.values())


def reliability_note(data: ReportData) -> str:
    """A sentence for every table of intervals when too few replications stand behind them."""
    reps = fitness(data).replications
    if reps is None or interval_reliable(reps):
        return ""
    return (
        f" Intervals from {reps} replications are unreliable (fewer than the 5 a reliable "
        "interval needs)."
    )


def ranking_table(data: ReportData) -> pd.DataFrame:
    level = level_text(data)
    rows = []
    for o in ranked_options(data):
        rows.append(
            {
                "rank": str(o.rank),
                "option": o.title,
                "investment £ a year": money(o.investment),
                f"net cost £ a year ({level} CI)": _money_with_ci(o.net_cost),
                f"A&E attendances avoided a year ({level} CI)": _with_ci(o.ae),
                f"£ per A&E attendance avoided ({level} CI)": _cost_per(o.per_ae),
                f"admissions avoided a year ({level} CI)": _with_ci(o.admissions),
                f"£ per admission avoided ({level} CI)": _cost_per(o.per_admission),
                "can the runs tell it apart?": o.verdict,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the first page


def _site(data: ReportData) -> str:
    m = data.base.manifest
    return str((data.base.config.get("site") or {}).get("title") or m.get("site") or "the site")


#: Up to this many options are named in the summary's text; more are named in its figure
#: (each with its investment), so the summary stays on one page.
LISTED_OPTIONS = 5


def _options_sentence(data: ReportData, options: list[RankedOption]) -> str:
    base = f"{data.title(BASELINE)} (services as they are today)"
    if len(options) > LISTED_OPTIONS:
        return (
            f"{base} against {len(options)} options, each named in the figure below with its "
            "investment a year and what each A&E attendance avoided costs."
        )
    return (
        f"{base} against "
        + "; ".join(o.title for o in options)
        + ". The figure below gives each one's investment a year and what each A&E attendance "
        "avoided costs."
    )


def _recommendation(data: ReportData, options: list[RankedOption], fit: Fitness) -> list[str]:
    level = level_text(data)
    helping = [o for o in options if o.helps]
    text = []
    if not fit.fit:
        text.append(
            "Not a recommendation: these runs are not fit for a decision (see the warning)."
        )
    if not helping:
        text.append(
            f"None of the {len(options)} options reduces A&E attendances by an amount these "
            f"runs can tell from zero: every {level} interval of attendances avoided includes "
            "zero or lies below it. The numbers do not support funding any of them to reduce "
            "A&E attendances."
        )
    else:
        best = helping[0]
        peers = [o for o in helping[1:] if "not distinguishable" in o.verdict]
        effect = (
            f"avoids about {fmt(best.ae[0])} A&E attendances a year ({level} CI "
            f"{ci(best.ae[1], best.ae[2])}) for {money(best.investment)} a year, "
            f"{_cost_per(best.per_ae)} per attendance avoided."
        )
        if not peers:
            text.append(f"The numbers support {best.title}: it {effect}")
        else:
            text.append(
                f"The numbers support {best.title} or, equally, "
                + ", ".join(o.title for o in peers)
                + ": the runs cannot tell their costs per attendance avoided apart. "
                f"{best.title} {effect}"
            )
    on_admissions = [o.title for o in options if o.admissions[1] > 0]
    if on_admissions:
        text.append(
            "Admissions avoided by an amount the runs can tell from zero: "
            + ", ".join(on_admissions)
            + "."
        )
    return text


def _how_sure(data: ReportData, fit: Fitness) -> list[str]:
    m = data.base.manifest
    level = level_text(data)
    paired = (
        " paired replications" if data.kind == "sweep" and len(data.runs) > 1 else " replications"
    )
    same = ", every option seeing the same patients as the baseline" if "paired" in paired else ""
    items = [
        f"Intervals are {level} confidence intervals over {m.get('replications')}{paired} of "
        f"{m.get('run_weeks')} weeks (after {m.get('warmup_weeks')} weeks' warm-up){same}. "
        "They cover the randomness of patients, not uncertainty in the model's assumptions "
        "('How sure are we?' in the evidence).",
    ]
    if fit.replications is not None and not interval_reliable(fit.replications):
        items.append(
            f"With {fit.replications} replications the intervals themselves are unreliable: "
            "their widths are guesses."
        )
    return items


def summary_blocks(data: ReportData, figure) -> list[Block]:
    """The first page: the question, the options, what the numbers support, how sure we are,
    one figure."""
    fit = fitness(data)
    site = _site(data)
    blocks = [Block("h2", "Summary")]
    if data.kind == "sweep" and data.ranking is not None and not data.ranking.empty:
        options = ranked_options(data)
        by_name = {o.name: o for o in options}
        blocks += [
            Block("h3", "The question"),
            Block(
                "p",
                f"Which of these {len(options)} investment options should {site} fund to "
                "reduce pressure on A&E and hospital beds, and what does each A&E attendance "
                "avoided cost?",
            ),
            Block("h3", "The options"),
            Block("p", _options_sentence(data, [by_name[n] for n in option_order(by_name)])),
        ]
        blocks += [Block("h3", "What the numbers support")]
        blocks += [Block("p", t) for t in _recommendation(data, options, fit)]
    else:
        run = data.base
        blocks += [
            Block("h3", "The question"),
            Block("p", f"How do services in {site} perform as configured in '{run.title}'?"),
            Block("h3", "The option"),
            Block(
                "p",
                f"{run.title}, as described in its scenario file (Appendix F). One "
                "configuration on its own supports no choice between options: compare options "
                f"with a sweep (python -m sim +sweep=all_options {BOARD_PRESET}).",
            ),
            Block("h3", "What the numbers show"),
            Block("list", items=_headline_sentences(data)),
        ]
    blocks += [Block("h3", "How sure we are"), Block("p", " ".join(_how_sure(data, fit)))]
    if figure is not None:
        blocks.append(Block("figure", figure=figure))
    return blocks


def _headline_sentences(data: ReportData) -> list[str]:
    level = level_text(data)
    s = data.base.summary
    keep = [k for k in data.headline if k in set(s.kpi)] or list(s.kpi[:6])
    out = []
    for kpi in keep:
        r = data.base.kpi(kpi)
        out.append(
            f"{label(kpi)}: {fmt(r['mean'])} {unit(kpi)} ({level} CI "
            f"{ci(r['ci_low'], r['ci_high'])})"
        )
    return out
