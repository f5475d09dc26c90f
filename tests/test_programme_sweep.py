"""A programme sweep end to end: two programme years of the baseline and an option on a small
site, its money and year-by-year tables, the report's headline and trajectory figure, and the
budget search on a programme budget."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from system_helpers import ONE_PER_LOCALITY, keep_practices

from sim.experiments.programme import PRESENT_VALUE, TOTAL
from sim.report import load_folder
from sim.report.build import programme_headline_blocks

pytestmark = pytest.mark.slow

DESIGN = [
    "experiment.replications=2",
    "experiment.warmup_weeks=1",
    "experiment.run_weeks=104",
    *keep_practices(ONE_PER_LOCALITY),
]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=1200, cwd=cwd
    )


@pytest.fixture(scope="module")
def programme(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("programme") / "sweep"
    done = run(
        [
            "+sweep=programme",
            "hydra.sweeper.params.scenario='choice(baseline,extended_access_8to8)'",
            f"hydra.sweep.dir={folder}",
            *DESIGN,
        ],
        folder.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def test_each_job_reports_every_kpi_per_year(programme):
    for job in ("baseline", "extended_access_8to8"):
        by_year = pd.read_csv(programme / job / "summary_by_year.csv")
        assert sorted(by_year.year.unique()) == [1, 2]
        money = pd.read_csv(programme / job / "money.csv", dtype={"period": str})
        assert {"1", "2", TOTAL, PRESENT_VALUE} <= set(money.period)


def test_money_comparison_splits_cash_from_capacity_and_discounts(programme):
    money = pd.read_csv(programme / "money_comparison.csv", dtype={"period": str})
    m = money[money.option == "extended_access_8to8"].set_index(["measure", "period"])["mean"]
    # hub capacity is paid per slot offered: the same investment each year
    assert m[("investment", "1")] > 0
    assert m[("investment", TOTAL)] == pytest.approx(
        m[("investment", "1")] + m[("investment", "2")]
    )
    assert m[("investment", PRESENT_VALUE)] == pytest.approx(
        m[("investment", "1")] + m[("investment", "2")] / 1.035
    )
    # net cash cost is investment less cash released; capacity freed stays apart
    assert m[("net_cash_cost", "1")] == pytest.approx(
        m[("investment", "1")] - m[("cash_released", "1")], rel=1e-7
    )
    assert ("capacity_freed", TOTAL) in m.index
    by_year = pd.read_csv(programme / "comparison_by_year.csv")
    assert set(by_year.year) == {1, 2} and set(by_year.option) == {"extended_access_8to8"}


def test_report_headline_states_year_1_and_the_last_year_and_draws_trajectories(programme):
    text = " ".join(b.text for b in programme_headline_blocks(load_folder(programme)))
    assert "in year 1" in text and "in year 2" in text and "net present cost" in text
    # every activity measure, so hospital-side options are not shown as avoiding nothing
    for words in ("A&E attendances avoided", "emergency admissions avoided", "bed days freed"):
        assert words in text, words
    html = (programme / "report.html").read_text(encoding="utf-8")
    match = re.search(
        r"<figure id='figure-trajectories'>.*?src='data:image/png;base64,([A-Za-z0-9+/=]+)", html
    )
    assert match and len(match.group(1)) > 1000
    assert "Money as a board counts it" in html and "KPIs by year" in html


def test_budget_search_on_a_programme_budget(programme):
    money = pd.read_csv(programme / "money_comparison.csv", dtype={"period": str})
    inv = money[(money.measure == "investment") & (money.period == TOTAL)]["mean"].iloc[0]
    done = run(
        [
            "budget",
            str(programme),
            "--programme-budget",
            str(int(inv * 1.01)),
            "--candidates",
            "1",
            "--confirm-replications",
            "2",
        ],
        programme.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = Path(done.stdout.strip().splitlines()[-1])
    assert out.name == f"programme_budget_ae.attendances_per_week_{int(inv * 1.01)}"
    table = pd.read_csv(out / "candidates.csv")
    assert table.loc[0, "within_budget"]
    assert table.loc[0, "simulated_programme_investment_gbp"] == pytest.approx(inv, rel=1e-6)
    # a budget below the option's two-year investment leaves nothing to choose
    too_small = run(
        ["budget", str(programme), "--programme-budget", str(int(inv * 0.9))], programme.parent
    )
    assert too_small.returncode == 2 and "no option fits a programme budget" in too_small.stderr
