"""``python -m sim uncertainty`` end to end through Hydra (joblib launcher): the sets, the tidy
tables, the report with its "How sure are we?" section, and resuming (complete sets are
skipped and the tables come out identical). Plus the analysis on synthetic sets whose answers
are known."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_sim_in_subprocess, run_small_psa
from scipy import stats

from sim.core.calendar import WEEKS_PER_YEAR
from sim.experiments import psa_analysis as pa

TABLES = (
    "psa_results.csv",
    "psa_summary.csv",
    "rank_probabilities.csv",
    "ceac.csv",
    "tornado.csv",
    "ranking_flips.csv",
    "parameters.csv",
    "inputs.csv",
    "factors.csv",
)


def _psa(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_small_psa(folder, *extra)


@pytest.mark.slow
def test_the_command_writes_sets_tables_and_report_and_resumes(tmp_path):
    folder = tmp_path / "psa"
    first = _psa(folder)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.strip().splitlines()[-1] == str(folder)
    sets = sorted(p.name for p in folder.glob("set_*"))
    assert sets == ["set_0", "set_1", "set_2", "set_3"]
    for s in sets:
        assert json.loads((folder / s / "manifest.json").read_text())["status"] == "complete"
    before = {name: (folder / name).read_bytes() for name in TABLES}
    summary = pd.read_csv(folder / "psa_summary.csv")
    assert {"frailty_front_of_house", "rac_weekend"} <= set(summary["option"])
    ranks = pd.read_csv(folder / "rank_probabilities.csv")
    # every criterion's rank probabilities of an option sum to 1 over the ranks
    sums = ranks.groupby(["criterion", "option"])["probability"].sum()
    assert np.allclose(sums, 1.0)
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "## How sure are we?" in report
    assert "only 3 parameter sets" in report  # an underpowered PSA says so
    assert (folder / "report.html").is_file() and (folder / "report.pdf").is_file()
    assert (folder / "figures" / "psa_acceptability.png").is_file()

    # resume: every set is skipped, the tables are identical
    (folder / "psa_summary.csv").unlink()
    second = _psa(folder)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.count("already complete, skipped") == 4
    for name, content in before.items():
        assert (folder / name).read_bytes() == content, name

    # a set cut short is run again; its folder's other sets stay
    manifest = folder / "set_2" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "status": "running"}))
    third = _psa(folder)
    assert third.stdout.count("already complete, skipped") == 3
    assert (folder / "psa_results.csv").read_bytes() == before["psa_results.csv"]

    # the report command makes the same report of the folder
    again = run_sim_in_subprocess(["report", str(folder)], timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]


# --------------------------------------------------------------------------------------------
# The analysis on synthetic sets with known answers
# --------------------------------------------------------------------------------------------

KPIS = {
    "cost.services_annual_gbp": 1e6,
    "cost.cash_annual_gbp": 5e6,
    "ae.attendances_per_week": 1000.0,
    "system.admissions_per_week": 300.0,
    "system.bed_days_per_week": 2000.0,
}


def _synthetic(n: int = 400, reps: int = 2, noise: float = 0.0, seed: int = 3):
    """Option A avoids 10 + 5 z A&E attendances a week (z the normal score of factor x);
    option B avoids 12 a week whatever the draw; both cost 100,000 a year more to run and
    nothing else changes. Returns kpis, parameters, factor ranges."""
    rng = np.random.default_rng(seed)
    u = (np.arange(n) + 0.5) / n
    rng.shuffle(u)
    z = stats.norm.ppf(u)
    rows, params = [], []
    for s in range(n + 1):
        zs = 0.0 if s == 0 else z[s - 1]
        for r in range(reps):
            e = rng.normal(0, noise) if noise else 0.0
            for option, avoided in (("baseline", 0.0), ("A", 10 + 5 * zs), ("B", 12.0)):
                for kpi, value in KPIS.items():
                    v = value
                    if kpi == "ae.attendances_per_week":
                        v = value - avoided + e
                    if kpi.startswith("cost.") and option != "baseline":
                        v = value + 1e5
                    rows.append((s, option, r, kpi, v))
        params.append((s, "x", "x", "g", np.nan if s == 0 else u[s - 1], zs))
        params.append((s, "y", "y", "g", np.nan if s == 0 else rng.random(), 0.0))
    kpis = pd.DataFrame(rows, columns=["set", "option", "replication", "kpi", "value"])
    parameters = pd.DataFrame(
        params, columns=["set", "factor", "input", "group", "uniform", "value"]
    )
    ranges = pd.DataFrame(
        {
            "factor": ["x", "y"],
            "input": ["x", "y"],
            "group": ["gx", "gy"],
            "low": [-1.645, 0],
            "high": [1.645, 1],
        }
    )
    return kpis, parameters, ranges, z


def test_synthetic_rank_probabilities_acceptability_and_tornado_match_their_known_values():
    kpis, params, ranges, z = _synthetic()
    out = pa.analyse(
        kpis, params, ranges, ["ae.attendances_per_week"], {"ae_attendance": [0, 1000]}, 1, 52
    )
    p_a_best = float((10 + 5 * z > 12).mean())  # A avoids more, at the same cost
    ranks = out.ranks.set_index(["criterion", "option", "rank"])["probability"]
    assert ranks[("A&E attendances avoided", "A", 1)] == pytest.approx(p_a_best)
    assert ranks[("cost per A&E attendance avoided", "A", 1)] == pytest.approx(p_a_best)
    assert ranks[("cost per A&E attendance avoided", "B", 1)] == pytest.approx(1 - p_a_best)
    ceac = out.ceac.set_index(["wtp_gbp", "option"])["probability_best"]
    assert ceac[(0.0, "baseline")] == 1.0  # nothing is worth paying for at 0
    # at £1,000 per attendance: NB_A = 1000 x 52.18 x (10 + 5z) - 1e5 > NB_B <=> z > 0.4
    assert ceac[(1000.0, "A")] == pytest.approx(p_a_best)
    t = out.tornado
    a = t[(t.option == "A") & (t.measure == "ae_attendances_avoided_per_year") & (t.factor == "x")]
    expected_swing = 5 * WEEKS_PER_YEAR * (stats.norm.ppf(0.95) - stats.norm.ppf(0.05))
    assert float(a["swing"].iloc[0]) == pytest.approx(expected_swing, rel=1e-6)
    y = t[(t.option == "A") & (t.measure == "ae_attendances_avoided_per_year") & (t.factor == "y")]
    assert float(y["swing"].iloc[0]) < 4 * float(y["swing_se"].iloc[0])  # an idle input: noise
    # the order of A and B flips about half the time, and x is the input responsible
    flips = out.flips
    assert set(flips["factor"].head(1)) == {"x"}
    assert float(flips["prob_reversed"].iloc[0]) == pytest.approx(min(p_a_best, 1 - p_a_best))


def test_noise_is_separated_from_parameter_variance_by_the_law_of_total_variance():
    noise, reps = 3.0, 4
    kpis, params, ranges, z = _synthetic(n=400, reps=reps, noise=noise, seed=5)
    out = pa.analyse(kpis, params, ranges, ["ae.attendances_per_week"], {}, 1, 52)
    row = out.summary.set_index(["option", "measure"]).loc[("A", "ae_attendances_avoided_per_year")]
    # paired differences: the noise term e is shared by baseline and option in a replication,
    # so the option's effect has none...
    assert row["noise_variance"] == pytest.approx(0.0, abs=1e-9)
    # ...while the baseline's level carries it: per replication variance noise^2, per set / k
    base = out.summary.set_index(["option", "measure"]).loc[
        ("baseline", "level:ae.attendances_per_week")
    ]
    assert base["noise_variance"] == pytest.approx(noise**2 / reps, rel=0.15)
    assert base["parameter_variance"] == pytest.approx(0.0, abs=0.5)
    assert row["parameter_variance"] == pytest.approx((5 * WEEKS_PER_YEAR) ** 2, rel=0.05)


def test_evppi_of_the_input_that_decides_equals_the_evpi_and_an_idle_one_is_worth_nothing():
    from scipy import integrate

    kpis, params, ranges, z = _synthetic()
    lam = 1000.0
    out = pa.analyse(
        kpis, params, ranges, ["ae.attendances_per_week"], {"ae_attendance": [lam]}, 1, 52
    )
    ev = out.evppi.set_index("group")
    w = WEEKS_PER_YEAR * lam

    def best(x: float) -> float:  # the best net benefit knowing z = x
        return max(0.0, w * (10 + 5 * x) - 1e5, w * 12 - 1e5)

    expected = integrate.quad(lambda x: best(x) * stats.norm.pdf(x), -12, 12, points=[0.4])[0]
    evpi = expected - max(w * 10 - 1e5, w * 12 - 1e5)
    assert ev.loc["gx", "evpi_gbp"] == pytest.approx(evpi, rel=0.01)
    assert ev.loc["gx", "evppi_gbp"] == pytest.approx(evpi, rel=0.01)
    assert ev.loc["gy", "evppi_gbp"] < 0.02 * evpi


def test_net_cost_is_cash_only_capacity_freed_is_not_netted():
    """An option that costs £100,000 a year more to run and avoids £400,000 of A&E activity
    under fixed contracts has a net cost of £100,000, not -£300,000: the activity avoided
    releases no cash (issue 18), and what it is worth is the willingness to pay."""
    from sim.experiments.psa_analysis import replication_measures

    rows = []
    for option, services, fixed in (("baseline", 1e6, 5e6), ("A", 1.1e6, 4.6e6)):
        values = {
            "cost.services_annual_gbp": services,
            "cost.activity_cash_annual_gbp": 0.0,
            "cost.cash_annual_gbp": services,
            "cost.activity_fixed_annual_gbp": fixed,
            "cost.total_annual_gbp": services + fixed,
            "ae.attendances_per_week": 1000.0,
            "system.admissions_per_week": 300.0,
            "system.bed_days_per_week": 2000.0,
        }
        rows += [(1, option, 0, k, v) for k, v in values.items()]
    kpis = pd.DataFrame(rows, columns=["set", "option", "replication", "kpi", "value"])
    m = replication_measures(kpis, []).set_index("measure")["value"]
    assert m["net_cost_annual_gbp"] == pytest.approx(1e5)
    assert m["investment_annual_gbp"] == pytest.approx(1e5)


def test_a_psa_of_two_sets_is_analysed_without_an_input_in_each_third():
    """With very few sets an input may have no set in its lower or upper third: the ranking
    flips leave that input out rather than divide by zero (the whole analysis of two sets,
    as `python -m sim uncertainty psa.sets=2` runs it, once stopped with a traceback)."""
    kpis, params, ranges, z = _synthetic(n=2)
    params.loc[(params["factor"] == "y") & (params["set"] > 0), "uniform"] = 0.5  # middle third
    out = pa.analyse(
        kpis, params, ranges, ["ae.attendances_per_week"], {"ae_attendance": [0, 1000]}, 1, 52
    )
    # A is best in one set and B in the other: the order flips in half the sets; only x,
    # which has a set in each third, can be examined (with two sets, nothing stands out)
    assert float(out.flips["prob_reversed"].iloc[0]) == pytest.approx(0.5)
    assert "y" not in set(out.flips["factor"])
    assert any("only 2 parameter sets" in flag for flag in out.flags)
