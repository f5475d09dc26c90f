"""The report's "How sure are we?" section and its figures, from a PSA folder
(``python -m sim uncertainty``): each option's results over the plausible range of the
assumptions, how often each option is best, acceptability curves, the inputs that move the
results most, and, said plainly, where the ranking of the options flips and why.

Blocks are returned as ``(kind, text, table, figure)`` tuples for ``sim/report/build.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.config.catalogue import option_order, option_title  # noqa: E402
from sim.experiments.psa import PSA_FILES  # noqa: E402
from sim.experiments.psa_analysis import ANALYSIS_TABLES, PsaTables, clear_z  # noqa: E402
from sim.report.figures import ReportFigure  # noqa: E402
from sim.report.load import ReportData, ReportError, Table, check_table  # noqa: E402
from sim.report.style import option_style, wrap_label  # noqa: E402

SECTION = "How sure are we?"
MAIN = "cost per A&E attendance avoided"
HEADLINE = (
    ("ae_attendances_avoided_per_year", "A&E attendances avoided /yr"),
    ("admissions_avoided_per_year", "admissions avoided /yr"),
    ("bed_days_avoided_per_year", "bed days avoided /yr"),
    ("net_cost_annual_gbp", "net cash cost £/yr"),
)
TOP_FACTORS = 6


@dataclass
class PsaResults(PsaTables):
    """A PSA folder as the report reads it: the analysis tables, the design's tables and
    the folder's ``psa.json`` (``info``) and ``uncertainty.json`` (``status``)."""

    folder: Path
    info: dict[str, Any]
    status: dict[str, Any]
    inputs: pd.DataFrame
    factors: pd.DataFrame
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def options(self) -> list[str]:
        return option_order(set(self.summary["option"]) - {"baseline"})

    def title(self, option: str) -> str:
        return option_title(option, self.titles)

    def factor_label(self, factor: str) -> str:
        """``booking.no_slot.urgent: ae share`` from ``no_slot_urgent[ae]``."""
        name, _, entry = factor.partition("[")
        row = self.inputs[self.inputs["input"] == name]
        if row.empty:
            return factor
        r = row.iloc[0]
        setting = str(r["setting"]).removeprefix("assumptions.")
        if setting.startswith("scenario."):  # an option's own effect: "<option>: <setting>"
            _, option, _, _, rest = setting.split(".", 4)
            setting = f"{option}: {rest}"
        what = {
            "scale": " (multiplier)",
            "odds": " (odds ratio)",
            "growth": " (growth multiplier)",
        }.get(str(r["apply"]), "")
        return f"{setting}{': ' + entry.rstrip(']') if entry else ''}{what}"


#: The schema of each table of a PSA folder the report reads (see
#: :class:`sim.report.load.Table`): a hand-edited or damaged table is refused with one line
#: naming the file, the row, the column and the rule, never drawn.
PSA_TABLES = {
    "inputs.csv": Table(text=("input", "setting", "group", "apply")),
    "factors.csv": Table(text=("factor", "input", "group"), numbers=("low", "high")),
    "psa_summary.csv": Table(
        text=("option", "measure"),
        numbers=("central", "mean", "sd", "q025", "median", "q975"),
        shares=("prob_above_zero",),
    ),
    "psa_results.csv": Table(text=("option", "measure"), counts=("set",), numbers=("value",)),
    "rank_probabilities.csv": Table(
        text=("criterion", "option"), counts=("rank",), shares=("probability",)
    ),
    "ceac.csv": Table(
        text=("outcome", "option"),
        numbers=("wtp_gbp", "expected_net_benefit_gbp"),
        shares=("probability_best", "prob_better_than_baseline"),
    ),
    "tornado.csv": Table(
        text=("option", "measure", "factor"), numbers=("result_low", "result_high", "swing")
    ),
    "sensitivity_indices.csv": Table(text=("option", "measure", "factor"), numbers=("S1",)),
    "ranking_flips.csv": Table(
        text=("criterion", "option_central_higher", "option_central_lower"),
        shares=("prob_reversed",),
    ),
    "evppi.csv": Table(text=("outcome", "group"), numbers=("wtp_gbp", "evppi_gbp", "evpi_gbp")),
}


def _csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError, UnicodeDecodeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ReportError(f"{path} cannot be read ({reason})") from None
    return check_table(frame, PSA_TABLES[path.name], path)


def check_headline(summary: pd.DataFrame, options: list[str], path: Path) -> None:
    """Every option of the PSA has a finite central value and mean for every headline
    measure: a row missing would silently drop an option's result from the report."""
    if not {"option", "measure"} <= set(summary.columns):
        raise ReportError(
            f"{path} is empty: re-make it with: python -m sim uncertainty {path.parent}"
        )
    have = summary.set_index(["option", "measure"])
    for option in options:
        for measure, _ in HEADLINE:
            if (option, measure) not in have.index:
                raise ReportError(
                    f"{path} has no row for {measure!r} of option {option!r}: the file is "
                    f"incomplete; re-make it with: python -m sim uncertainty {path.parent}"
                )
            row = have.loc[(option, measure)]
            for column in ("central", "mean"):
                value = row[column]
                value = float(value.iloc[0] if isinstance(value, pd.Series) else value)
                if not np.isfinite(value):
                    raise ReportError(
                        f"{path}: {column} of {measure!r} for option {option!r} is {value!r}; "
                        "it must be a finite number"
                    )


def load_results(folder: Path) -> PsaResults:
    """A PSA folder's tables (written by ``python -m sim uncertainty``)."""
    folder = Path(folder)
    try:
        info = json.loads((folder / "psa.json").read_text(encoding="utf-8"))
        status = json.loads((folder / "uncertainty.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportError(f"{folder} holds no finished PSA ({err})") from None
    options = info.get("options") if isinstance(info, dict) else None
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ReportError(f"{folder / 'psa.json'}: options = {options!r}: must be a list of names")
    if not isinstance(status, dict):
        raise ReportError(f"{folder / 'uncertainty.json'} is not a PSA status of this program")
    keys = ("inputs", "factors", *ANALYSIS_TABLES)
    tables = {key: _csv(folder / PSA_FILES[key]) for key in keys}
    check_headline(tables["summary"], options, folder / PSA_FILES["summary"])
    return PsaResults(folder=folder, info=info, status=status, **tables)


def results_for(data: ReportData) -> PsaResults | None:
    """The PSA of a report: the folder itself, or a finished PSA inside a sweep folder."""
    if data.kind == "psa":
        return load_results(data.folder)
    for sub in sorted(data.folder.iterdir()) if data.folder.is_dir() else []:
        if (sub / "psa.json").is_file() and (sub / "uncertainty.json").is_file():
            return load_results(sub)
    return None


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _fig_distributions(r: PsaResults) -> ReportFigure:
    options = r.options
    res = r.results[r.results["set"] != 0]
    central = r.summary.set_index(["option", "measure"])["central"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(options) + 1.8), sharey=True)
    for ax, (measure, what, unit) in zip(
        axes,
        (
            ("ae_attendances_avoided_per_year", "A&E attendances avoided", "per year"),
            ("net_cost_annual_gbp", "Net cash cost", "£m per year"),
        ),
        strict=True,
    ):
        scale = 1e6 if measure.endswith("gbp") else 1.0
        for i, option in enumerate(options):
            v = res[(res["option"] == option) & (res["measure"] == measure)]["value"] / scale
            if v.empty:
                continue
            lo, q1, med, q3, hi = np.quantile(v, [0.025, 0.25, 0.5, 0.75, 0.975])
            colour = option_style(option).colour
            ax.plot([lo, hi], [i, i], color=colour, lw=1.2)
            ax.add_patch(
                plt.Rectangle((q1, i - 0.25), q3 - q1, 0.5, facecolor=colour, alpha=0.35, lw=0)
            )
            ax.plot([med], [i], "|", color=colour, ms=14, mew=2)
            c = central.get((option, measure), np.nan) / scale
            ax.plot([c], [i], **option_style(option).marker_kwargs(), ms=6, ls="none")
        ax.axvline(0, color="grey", lw=0.8, ls=":")
        ax.set_xlabel(f"{what} ({unit})")
        ax.set_title(f"{what} ({unit})", fontsize=10)
    axes[0].set_yticks(
        range(len(options)), [wrap_label(r.title(o), 34) for o in options], fontsize=7
    )
    axes[0].invert_yaxis()
    fig.suptitle(
        "Each option against the baseline over plausible assumptions: middle 50% (box), "
        "95% of parameter sets (line), median (bar), configured values (marker)",
        fontsize=9,
    )
    fig.tight_layout()
    return ReportFigure(
        "psa_distributions",
        "Effects over plausible assumptions (A&E attendances avoided per year; net cash cost £m "
        "per year)",
        "Spread over the drawn parameter sets (95% of sets within the line); the marker is the "
        "result at the configured values. Source: psa_results.csv.",
        fig,
    )


def _fig_ranks(r: PsaResults) -> ReportFigure:
    ranks = r.ranks[r.ranks["criterion"] == MAIN]
    table = ranks.pivot_table(index="option", columns="rank", values="probability")
    options = [o for o in r.options if o in table.index]
    table = table.reindex(options)
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(options) + 1.6))
    ax.imshow(table.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for (i, j), p in np.ndenumerate(table.to_numpy()):
        if p >= 0.005:
            ax.text(
                j,
                i,
                f"{p:.0%}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if p > 0.6 else "black",
            )
    ax.set_xticks(range(table.shape[1]), [str(int(c)) for c in table.columns], fontsize=8)
    ax.set_yticks(range(len(options)), [wrap_label(r.title(o), 34) for o in options], fontsize=7)
    ax.set_xlabel("rank by cost per A&E attendance avoided (1 = best; share of parameter sets)")
    ax.set_title("Rank probabilities (share of parameter sets, %)", fontsize=10)
    fig.tight_layout()
    return ReportFigure(
        "psa_rank_probabilities",
        "Rank probabilities by cost per A&E attendance avoided (share of parameter sets, %)",
        "Share of the drawn parameter sets in which each option takes each rank. Source: "
        "rank_probabilities.csv.",
        fig,
    )


def _fig_ceac(r: PsaResults) -> ReportFigure:
    outcomes = (
        ("ae_attendance", "£ per A&E attendance avoided"),
        ("admission", "£ per admission avoided"),
        ("bed_day", "£ per bed day avoided"),
    )
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    names = ["baseline", *r.options]
    for ax, (outcome, xlabel) in zip(axes, outcomes, strict=True):
        c = r.ceac[r.ceac["outcome"] == outcome]
        for name in names:
            s = c[c["option"] == name].sort_values("wtp_gbp")
            if s.empty:
                continue
            style = option_style(name)
            ax.plot(
                s["wtp_gbp"],
                s["probability_best"],
                ls=style.linestyle,
                lw=2 if name == "baseline" else 1.2,
                ms=4,
                **style.marker_kwargs(),
            )
        ax.set_xlabel(f"willingness to pay ({xlabel})")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"Acceptability: {xlabel}", fontsize=9)
    axes[0].set_ylabel("probability of the highest net benefit")
    handles = [
        plt.Line2D(
            [],
            [],
            ls=option_style(n).linestyle,
            label=wrap_label(r.title(n), 30),
            **option_style(n).marker_kwargs(),
        )
        for n in names
    ]
    axes[-1].legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=6, frameon=False
    )
    fig.tight_layout()
    return ReportFigure(
        "psa_acceptability",
        "Cost-effectiveness acceptability curves (probability of the highest net benefit, by "
        "£ willingness to pay per outcome avoided)",
        "Net benefit = willingness to pay x outcomes avoided - net cash cost (activity avoided "
        "frees capacity, not cash: it is what the willingness to pay values); "
        "the baseline's is 0. Each curve is the share of parameter sets in which that "
        "alternative has the highest. Source: ceac.csv.",
        fig,
    )


def _fig_tornado(r: PsaResults) -> ReportFigure | None:
    t = r.tornado[r.tornado["measure"] == "ae_attendances_avoided_per_year"]
    moved = set(t.loc[t["swing"] > 0, "option"])  # an option that never changes A&E is left out
    options = [o for o in r.options if o in moved]
    if not options:
        return None
    cols = 2
    rows = int(np.ceil(len(options) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(14, 2.6 * rows + 0.6), squeeze=False)
    n_factors = t["factor"].nunique()
    for ax, option in zip(axes.flat, options, strict=False):
        top = t[t["option"] == option].nlargest(TOP_FACTORS, "swing").iloc[::-1]
        mid = (top["result_low"] + top["result_high"]).mean() / 2 if len(top) else 0
        for i, row in enumerate(top.itertuples()):
            lo, hi = sorted((row.result_low, row.result_high))
            clear = row.swing > clear_z(n_factors) * row.swing_se  # else drawn faint
            ax.barh(
                i, hi - lo, left=lo, color=option_style(option).colour, alpha=0.75 if clear else 0.2
            )
        ax.axvline(mid, color="grey", lw=0.8)
        ax.set_yticks(
            range(len(top)), [wrap_label(r.factor_label(f), 48) for f in top["factor"]], fontsize=6
        )
        ax.set_title(wrap_label(r.title(option), 50), fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel("A&E attendances avoided per year", fontsize=7)
    for ax in list(axes.flat)[len(options) :]:
        ax.axis("off")
    fig.suptitle(
        "One-way sensitivity: A&E attendances avoided per year as each input moves from its "
        "5th to 95th centile (largest six)",
        fontsize=10,
    )
    fig.tight_layout()
    return ReportFigure(
        "psa_tornado",
        "Tornado: inputs that move each option's A&E attendances avoided per year most",
        "Each bar: the expected result as one input moves from its 5th to its 95th centile, the "
        "others averaged over (slope on the input's normal score across the parameter sets); "
        "faint bars do not stand out from chance among this many inputs (Bonferroni, 5%). "
        "Source: tornado.csv.",
        fig,
    )


def _fig_sobol(r: PsaResults) -> ReportFigure | None:
    s = (
        r.sobol[r.sobol["measure"] == "ae_attendances_avoided_per_year"]
        if len(r.sobol)
        else r.sobol
    )
    if s is None or s.empty:
        return None
    table = s.pivot_table(index="factor", columns="option", values="S1").clip(lower=0)
    options = [o for o in r.options if o in table.columns]
    top = table[options].max(axis=1).nlargest(12).index
    table = table.loc[top, options]
    fig, ax = plt.subplots(figsize=(12, 0.35 * len(top) + 2.5))
    ax.imshow(
        table.to_numpy(),
        cmap="Oranges",
        vmin=0,
        vmax=max(0.3, float(table.max().max())),
        aspect="auto",
    )
    for (i, j), v in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6)
    ax.set_xticks(range(len(options)), [wrap_label(r.title(o), 16) for o in options], fontsize=6)
    ax.set_yticks(range(len(top)), [r.factor_label(f) for f in top], fontsize=7)
    ax.set_title(
        "Global sensitivity of A&E attendances avoided per year: first-order Sobol' index "
        "(share of variance, 0-1)",
        fontsize=10,
    )
    fig.tight_layout()
    return ReportFigure(
        "psa_sobol",
        "First-order Sobol' indices of A&E attendances avoided per year (share of variance, 0-1)",
        "Share of the variance of each option's result explained by each input alone "
        "(SALib RBD-FAST from the parameter sets). Source: sensitivity_indices.csv.",
        fig,
    )


def psa_figures(r: PsaResults) -> list[ReportFigure]:
    figures = [_fig_distributions(r), _fig_ranks(r), _fig_ceac(r), _fig_tornado(r), _fig_sobol(r)]
    return [f for f in figures if f is not None]


# --------------------------------------------------------------------------------------------
# Text and tables
# --------------------------------------------------------------------------------------------


def _num(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def plain_statement(r: PsaResults) -> list[str]:
    """The board's answer in sentences: who is best how often, and where the order flips."""
    ranks = r.ranks[r.ranks["criterion"] == MAIN]
    best = ranks[ranks["rank"] == 1].sort_values("probability", ascending=False)
    central_best = ranks[(ranks["central_rank"] == 1)]["option"].unique().tolist()
    n = r.status.get("sets_complete", 0)
    lines = []
    if central_best:
        top = central_best[0]
        p = float(best.set_index("option")["probability"].get(top, 0.0))
        others = [
            f"{r.title(o)} in {q:.0%}"
            for o, q in zip(best["option"], best["probability"], strict=True)
            if o != top and q >= 0.05
        ]
        lines.append(
            f"At the configured values, {r.title(top)} ranks first by cost per A&E attendance "
            f"avoided. Across {n} plausible sets of assumptions it is first in {p:.0%} of them"
            + (f"; {', '.join(others[:3])}." if others else ".")
        )
    flips = r.flips
    if flips is None or flips.empty:
        lines.append(
            "No two of the top three options swap places in more than 20% of the parameter sets: "
            "within the plausible ranges of the assumptions the order of the leading options "
            "holds."
        )
        return lines
    for (a, b), g in flips.groupby(["option_central_higher", "option_central_lower"], sort=False):
        p = float(g["prob_reversed"].iloc[0])
        causes = []
        for row in g.itertuples():
            if not isinstance(row.factor, str) or not row.factor:
                causes.append("no single input stands out; several act together")
                continue
            causes.append(
                f"{r.factor_label(row.factor)} (in the upper third of its range {r.title(b)} "
                f"comes first in {row.prob_reversed_input_high_third:.0%} of sets, in the lower "
                f"third in {row.prob_reversed_input_low_third:.0%})"
            )
        lines.append(
            f"THE RANKING FLIPS: {r.title(b)} ranks above {r.title(a)} in {p:.0%} of plausible "
            f"parameter sets, though below it at the configured values. The inputs responsible: "
            + "; ".join(causes)
            + "."
        )
    return lines


def _summary_table(r: PsaResults) -> pd.DataFrame:
    s = r.summary.set_index(["option", "measure"])
    best = r.ranks[(r.ranks["criterion"] == MAIN) & (r.ranks["rank"] == 1)].set_index("option")
    rows = []
    for option in r.options:
        row = {"option": r.title(option)}
        for measure, label in HEADLINE:
            if (option, measure) not in s.index:
                continue
            x = s.loc[(option, measure)]
            scale = 1e6 if measure.endswith("gbp") else 1.0
            unit = "m" if scale > 1 else ""
            row[f"{label}: configured"] = f"{_num(x['central'] / scale)}{unit}"
            row[f"{label}: 95% of sets"] = (
                f"{_num(x['q025'] / scale)}{unit} to {_num(x['q975'] / scale)}{unit}"
            )
        if (option, "ae_attendances_avoided_per_year") in s.index:
            x = s.loc[(option, "ae_attendances_avoided_per_year")]
            row["P(avoids A&E attendances)"] = f"{x['prob_above_zero']:.0%}"
            row["noise share"] = f"{x['noise_share']:.0%}" if np.isfinite(x["noise_share"]) else "-"
        row["P(best, cost per A&E avoided)"] = f"{float(best['probability'].get(option, 0.0)):.0%}"
        rows.append(row)
    return pd.DataFrame(rows)


def _top_inputs(r: PsaResults) -> pd.DataFrame:
    t = r.tornado[r.tornado["measure"] == "ae_attendances_avoided_per_year"]
    if t.empty:
        return pd.DataFrame()
    # effects that stand out from chance among this many inputs (Bonferroni, 5%)
    tests = t["factor"].nunique() * t["option"].nunique()  # the table looks across options
    t = t[t["swing"] > clear_z(tests) * t["swing_se"]]
    if t.empty:
        return pd.DataFrame()
    g = t.groupby("factor")["swing"].max().nlargest(10)
    groups = r.factors.set_index("factor")
    rows = []
    for factor, swing in g.items():
        f = groups.loc[factor] if factor in groups.index else None
        rows.append(
            {
                "input": r.factor_label(str(factor)),
                "group": f["group"] if f is not None else "",
                "5th to 95th centile": f"{f['low']:.3g} to {f['high']:.3g}"
                if f is not None
                else "",
                "largest swing in A&E attendances avoided /yr (any option)": _num(float(swing)),
                "option most affected": r.title(
                    str(t[t["factor"] == factor].nlargest(1, "swing")["option"].iloc[0])
                ),
            }
        )
    return pd.DataFrame(rows)


def _evppi_table(r: PsaResults) -> tuple[str, pd.DataFrame]:
    """Value of information per input group for A&E attendances avoided, at the willingness
    to pay where the decision is most uncertain (the largest EVPI)."""
    e = r.evppi[r.evppi["outcome"] == "ae_attendance"] if len(r.evppi) else r.evppi
    if e is None or e.empty:
        return "", pd.DataFrame()
    lam = float(e.loc[e["evpi_gbp"].idxmax(), "wtp_gbp"])
    at = e[e["wtp_gbp"] == lam].sort_values("evppi_gbp", ascending=False)
    evpi = float(at["evpi_gbp"].iloc[0])
    table = pd.DataFrame(
        {
            "input group": at["group"],
            "EVPPI £ a year": [_num(v) for v in at["evppi_gbp"]],
            "share of EVPI": [f"{v / evpi:.0%}" if evpi > 0 else "-" for v in at["evppi_gbp"]],
        }
    )
    title = (
        f"Which evidence would be worth most: expected value of perfect information on each "
        f"group of inputs, at £{lam:,.0f} per A&E attendance avoided (EVPI £{evpi:,.0f} a year; "
        "evppi.csv)"
    )
    return title, table


def _inputs_table(r: PsaResults) -> pd.DataFrame:
    i = r.inputs
    return pd.DataFrame(
        {
            "setting": i["setting"],
            "group": i["group"],
            "distribution": [
                f"{d}{'' if a == 'value' else f' ({a})'}"
                for d, a in zip(i["distribution"], i["apply"], strict=True)
            ],
            "width": [
                f"CV {c:.2f} ({'code ' + k if w == 'code' else w})"
                for c, k, w in zip(i["cv"], i["code"], i["width_from"], strict=True)
            ],
            "basis": i["basis"],
        }
    )


def section(r: PsaResults, figures: list[ReportFigure] | None = None) -> list[tuple]:
    """The "How sure are we?" blocks: ``(kind, text, table, figure)``."""
    info, status = r.info, r.status
    figures = psa_figures(r) if figures is None else figures
    groups = r.inputs["group"].nunique() if len(r.inputs) else 0
    k = info.get("replications_per_set")
    noise_how = (
        "the spread of each set's own replications"
        if k and int(k) >= 2
        else f"the {info.get('central_replications')} replications of the central set"
    )
    out: list[tuple] = [
        ("h2", SECTION, None, None),
        (
            "p",
            "The intervals elsewhere in this report cover the randomness of patients only. Most "
            "of what decides which option wins is an assumption with a range. Here "
            f"{len(r.inputs)} uncertain inputs in {groups} groups were drawn together, each "
            "from a distribution centred on its configured value and as wide as its source "
            "allows (a published range where there is one, otherwise by confidence code: V "
            "tight to P wide), in "
            f"{status.get('sets_complete')} parameter sets ({info.get('sampler')} design, seed "
            f"{info.get('seed')}). In each set the baseline and every option ran on the same "
            f"patients ({k} replication(s) of {info.get('run_weeks')} weeks after "
            f"{info.get('warmup_weeks')} weeks' warm-up); the patients' own randomness, measured "
            f"from {noise_how}, is separated from the assumptions' by the law of total variance "
            "(the 'noise share' below).",
            None,
            None,
        ),
    ]
    for line in plain_statement(r):
        out.append(("p", line, None, None))
    for flag in status.get("flags", []) + status.get("problems", []):
        out.append(("p", f"Caution: {flag}.", None, None))
    out.append(
        (
            "table",
            "Each option against the baseline: at the configured values and over 95% of "
            "plausible parameter sets (psa_summary.csv, rank_probabilities.csv)",
            _summary_table(r),
            None,
        )
    )
    top = _top_inputs(r)
    if not top.empty:
        out.append(
            (
                "table",
                "The inputs that move the results most: one-way swing from the 5th to the 95th "
                "centile, where it stands out from chance (tornado.csv; "
                "sensitivity_indices.csv has each input's Sobol' index)",
                top,
                None,
            )
        )
    title, evppi = _evppi_table(r)
    if not evppi.empty:
        out.append(("table", title, evppi, None))
    out += [("figure", "", None, f) for f in figures]
    out.append(
        (
            "table",
            f"Distributions of the uncertain inputs ({info.get('uncertainty_title', '')}; "
            "inputs.csv; rules in docs/uncertainty.md)",
            _inputs_table(r),
            None,
        )
    )
    return out


def psa_report(data: ReportData) -> list[tuple]:
    """The whole report of a PSA folder: title, the section, provenance."""
    r = results_for(data)
    if r is None:
        raise ReportError(f"{data.folder} holds no finished PSA")
    info = r.info
    git = info.get("git") or {}
    return [
        (
            "h1",
            f"How sure are we? Probabilistic sensitivity analysis: {info.get('site')}",
            None,
            None,
        ),
        (
            "p",
            f"{len(info.get('options', []))} options against the baseline; "
            f"{info.get('sets')} parameter sets; seed {info.get('seed')}; git commit "
            f"{git.get('commit')}{' (uncommitted changes)' if git.get('dirty') else ''}.",
            None,
            None,
        ),
        *section(r),
        ("h2", "Provenance", None, None),
        (
            "p",
            f"PSA folder {r.folder.resolve()}. Command: {info.get('command')}. Configuration "
            f"sha256 {info.get('config_sha256')}. Each set's folder (set_<n>/) holds its "
            "manifest, KPIs and parameter values. Packages: "
            + ", ".join(f"{k} {v}" for k, v in (info.get("packages") or {}).items())
            + ".",
            None,
            None,
        ),
    ]
