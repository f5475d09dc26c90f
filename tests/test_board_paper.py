"""The board paper's rules, on hand-made inputs: the recommendation and the ranking say "not
distinguishable" where intervals overlap zero or each other, results not fit for a board are
flagged, no local path and no cut name reaches the paper, figures carry the banner.

The PDF, Word and HTML files of real runs are read back in tests/test_report.py (a run) and
tests/test_sweeps.py (a sweep).
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sim.config.locations import DOCS_DIR, PROJECT_ROOT  # noqa: E402
from sim.core.statistics import MIN_RELIABLE_REPLICATIONS  # noqa: E402
from sim.report.adequacy import (  # noqa: E402
    BOARD_MIN_RUN_WEEKS,
    BOARD_MIN_WARMUP_WEEKS,
    board_fitness,
)
from sim.report.document import scrub_paths, shown_path  # noqa: E402
from sim.report.figures import BANNER_INCHES, stamp_banner  # noqa: E402
from sim.report.load import ReportData, RunData  # noqa: E402
from sim.report.pdf import column_widths  # noqa: E402
from sim.report.summary import ranked_options, summary_blocks  # noqa: E402

NAN = float("nan")
BOARD = {"replications": 20, "run_weeks": 52, "warmup_weeks": 16, "ci_level": 0.95}


def _row(option, ae, per_ae, investment=1.0e6, admissions=(10.0, -5.0, 25.0)):
    return {
        "option": option,
        "title": f"Option {option.upper()} with a long plain-English title that wraps",
        "investment_annual_gbp": investment,
        # no comparison.csv here: shown without interval
        "net_cash_cost_annual_gbp": investment / 2,
        "ae_attendances_avoided_per_year": ae[0],
        "ae_avoided_ci_low": ae[1],
        "ae_avoided_ci_high": ae[2],
        "admissions_avoided_per_year": admissions[0],
        "admissions_avoided_ci_low": admissions[1],
        "admissions_avoided_ci_high": admissions[2],
        "cost_per_ae_attendance_avoided_gbp": per_ae[0],
        "cost_per_ae_ci_low": per_ae[1],
        "cost_per_ae_ci_high": per_ae[2],
        "cost_per_admission_avoided_gbp": NAN,
        "cost_per_admission_ci_low": NAN,
        "cost_per_admission_ci_high": NAN,
    }


def _data(rows: list[dict], manifest: dict | None = None) -> ReportData:
    base = RunData(
        name="baseline",
        folder=Path("baseline"),
        manifest=dict(manifest or BOARD),
        config={"site": {"title": "Test site"}, "scenario": {"baseline": {"title": "Baseline"}}},
        summary=pd.DataFrame(columns=["kpi", "unit", "mean", "ci_low", "ci_high", "n"]),
        calibration=pd.DataFrame(),
        flows=pd.DataFrame(columns=["origin", "destination", "per_week_mean"]),
        timeseries=None,
        equity=None,
    )
    return ReportData(
        folder=Path("sweep"), kind="sweep", runs={"baseline": base}, ranking=pd.DataFrame(rows)
    )


# Five options, one per rule: A helps and is cheapest; B helps and its cost interval
# overlaps A's; C helps but costs clearly more; D's effect interval includes zero; E makes
# A&E attendances worse.
RULES = [
    _row("c", (900.0, 700.0, 1100.0), (2000.0, 1800.0, 2300.0)),
    _row("d", (400.0, -50.0, 850.0), (2500.0, NAN, NAN)),
    _row("a", (2000.0, 1600.0, 2400.0), (500.0, 400.0, 650.0)),
    _row("e", (-300.0, -500.0, -100.0), (NAN, NAN, NAN)),
    _row("b", (1500.0, 1200.0, 1800.0), (620.0, 560.0, 900.0)),
]


def test_ranking_orders_helpful_options_by_cost_and_says_what_it_cannot_tell_apart():
    ranked = ranked_options(_data(RULES))
    assert [o.name for o in ranked] == ["a", "b", "c", "d", "e"]
    verdicts = {o.name: o.verdict for o in ranked}
    title_a = ranked[0].title
    assert verdicts["a"] == "lowest cost per attendance avoided"
    assert verdicts["b"] == f"not distinguishable from {title_a} on cost per attendance avoided"
    assert verdicts["c"] == f"costs more per attendance avoided than {title_a}"
    assert verdicts["d"] == "not distinguishable from the baseline on A&E attendances"
    assert verdicts["e"] == "more A&E attendances than the baseline"
    assert [o.rank for o in ranked] == [1, 2, 3, 4, 5]


def test_an_option_whose_cost_interval_is_not_finite_is_never_declared_worse():
    rows = [
        _row("a", (2000.0, 1600.0, 2400.0), (500.0, 400.0, 650.0)),
        _row("b", (300.0, 10.0, 590.0), (3000.0, NAN, NAN)),  # helps, ratio not estimable
    ]
    verdicts = {o.name: o.verdict for o in ranked_options(_data(rows))}
    assert verdicts["b"].startswith("not distinguishable from")


def _text(blocks) -> str:
    return "\n".join([b.text for b in blocks] + [i for b in blocks for i in b.items])


def test_the_recommendation_names_every_option_it_cannot_tell_from_the_best():
    data = _data(RULES)
    text = _text(summary_blocks(data, None))
    a, b, c = (data.ranking.set_index("option").loc[x, "title"] for x in "abc")
    assert f"The numbers support {a} or, equally, {b}" in text
    assert "£500 (£400 to £650) per attendance avoided" in text
    recommendation = text[text.index("The numbers support") :]
    assert c not in recommendation.split(".")[0]
    assert "Not a recommendation" not in text  # board-ready runs


def test_with_no_helpful_option_the_paper_supports_none():
    rows = [_row("d", (400.0, -50.0, 850.0), (2500.0, NAN, NAN))]
    text = _text(summary_blocks(_data(rows), None))
    assert "do not support funding any of them" in text
    assert "The numbers support" not in text


def test_quick_results_are_not_a_recommendation_and_say_their_intervals_are_unreliable():
    quick = {"replications": 2, "run_weeks": 4, "warmup_weeks": 1, "ci_level": 0.95}
    text = _text(summary_blocks(_data(RULES, quick), None))
    assert "Not a recommendation: these runs are not fit for a decision" in text
    assert "With 2 replications the intervals themselves are unreliable" in text


# ------------------------------------------------------------------ fitness for a board


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"run_weeks": 51}, "runs of 51 weeks"),
        ({"warmup_weeks": 12}, "a warm-up of 12 weeks"),
        ({"replications": 4}, "4 replications"),
    ],
)
def test_each_rule_alone_makes_runs_unfit(change, reason):
    assert board_fitness([BOARD]).fit
    fitness = board_fitness([BOARD, {**BOARD, **change}])  # the worst job decides
    assert not fitness.fit
    assert len(fitness.reasons) == 1 and fitness.reasons[0].startswith(reason)
    assert fitness.banner.startswith("NOT FOR DECISIONS: ")
    assert "experiment=board" in fitness.banner


def test_the_standard_and_board_presets_are_fit_and_quick_is_not():
    import yaml

    from sim.config.locations import CONF_DIR

    def preset(name: str) -> dict:
        return yaml.safe_load((CONF_DIR / "experiment" / f"{name}.yaml").read_text())

    for name, fit in (("board", True), ("standard", True), ("quick", False)):
        assert board_fitness([preset(name)]).fit is fit, name


def test_docs_quote_the_thresholds():
    text = (DOCS_DIR / "report.md").read_text(encoding="utf-8")
    assert f"`run_weeks` at least {BOARD_MIN_RUN_WEEKS}" in text
    assert f"`warmup_weeks` at least {BOARD_MIN_WARMUP_WEEKS}" in text
    assert f"`replications` at least {MIN_RELIABLE_REPLICATIONS}" in text


# ------------------------------------------------------------------ paths and names


def test_local_paths_are_shown_relative_to_the_project_or_by_name():
    inside = PROJECT_ROOT / "outputs" / "sweeps" / "all_options"
    assert shown_path(inside) == "outputs/sweeps/all_options"
    assert shown_path("/home/analyst/private/sweep_7") == "sweep_7"
    command = f"python -m sim hydra.sweep.dir=/tmp/pytest-1/sweeps/x +sweep=a run={inside}/y"
    scrubbed = scrub_paths(command)
    assert scrubbed == "python -m sim hydra.sweep.dir=x +sweep=a run=outputs/sweeps/all_options/y"
    kept = "£ per year (2024/25 prices), A&E/111 and 8am-8pm; ratio 3/4"
    assert scrub_paths(kept) == kept


def test_table_columns_are_never_narrower_than_their_longest_word():
    from reportlab.pdfbase import pdfmetrics

    from sim.report.pdf import _register_fonts

    _register_fonts()
    job = "extended_access_8to8+enhanced_access_double"
    header = ["job", "configuration sha256"]
    rows = [[job, "f" * 64]]
    widths, size = column_widths(header, rows, 480)
    assert widths[0] >= pdfmetrics.stringWidth(job, "Body", size)
    assert widths[1] >= pdfmetrics.stringWidth("f" * 64, "Body", size)
    assert sum(widths) <= 480 + 1e-6
    # a word that cannot fit at any size is refused, never cut
    assert column_widths(["x"], [["w" * 400]], 480) is None


# ------------------------------------------------------------------ figures


def test_the_banner_goes_above_a_figure_without_moving_what_is_drawn():
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0, 1])
    fig.suptitle("A title (units)")
    fig.canvas.draw()
    before = ax.get_window_extent().bounds, fig.texts[0].get_window_extent().bounds
    stamp_banner(fig, "NOT FOR DECISIONS: test")
    fig.canvas.draw()
    after = ax.get_window_extent().bounds, fig.texts[0].get_window_extent().bounds
    try:
        assert fig.get_size_inches()[1] == pytest.approx(3 + BANNER_INCHES)
        for b, a in zip(before, after, strict=True):
            assert a == pytest.approx(b, abs=1.0)  # same place, in pixels from the bottom
        banner = [t for t in fig.texts if t.get_gid() == "banner"]
        assert len(banner) == 1 and banner[0].get_text() == "NOT FOR DECISIONS: test"
        top = banner[0].get_window_extent()
        assert top.y0 > after[1][1] + after[1][3]  # above the title
    finally:
        plt.close(fig)


@pytest.mark.parametrize("width", [None, 6.85])  # as drawn, and as the PDF's A4 page has it
def test_the_summary_figure_keeps_twelve_options_names_and_costs_inside_it(width):
    """Twelve options with long names and costs in the millions: every option name (left)
    and cost (right) lies inside the figure, and the plot between them keeps a third of its
    width (its costs were once cut off at the right edge)."""
    from sim.report.figures import summary_figure, summary_height

    titles = [
        "Rapid assessment clinics expanded to two sessions a day and weekends",
        "Community pharmacy minor-ailments scheme (Pharmacy First)",
        "Clinical pharmacists and other new roles in practices",
    ]
    rows = []
    for k in range(12):
        row = _row(f"o{k}", (1500.0 + 100 * k, 1200.0, 1800.0 + 100 * k), (1833.0, 1799.0, 1868.0))
        row["title"] = f"{titles[k % 3]} {k}"
        row["investment_annual_gbp"] = 950_000.0 + 1000 * k
        rows.append(row)
    data = _data(rows)
    size = None if width is None else (width, summary_height(data))
    f = summary_figure(data, size)
    try:
        fig = f.figure
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        left_ax, right_ax = fig.axes
        labels = left_ax.get_yticklabels() + right_ax.get_yticklabels()
        assert len(labels) == 24
        for t in labels:
            box = t.get_window_extent(renderer)
            assert 0 <= box.x0 and box.x1 <= fig.bbox.width, t.get_text()
        assert left_ax.get_position().width >= 1 / 3
        assert left_ax.get_position().bounds == right_ax.get_position().bounds
    finally:
        plt.close(f.figure)


def test_the_summary_figure_names_every_option_in_full():
    from sim.report.figures import summary_figure

    data = _data(RULES)
    f = summary_figure(data)
    try:
        labels = " ".join(t.get_text() for t in f.figure.axes[0].get_yticklabels())
        flat = re.sub(r"\s+", " ", labels)
        for title in data.ranking.title:
            assert title in flat
        right = " ".join(t.get_text() for t in f.figure.axes[1].get_yticklabels())
        assert "£500 each (£400 to £650)" in right
        assert "interval not estimable" in right
    finally:
        plt.close(f.figure)
