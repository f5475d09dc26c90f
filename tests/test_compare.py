"""Paired comparisons (python -m sim compare) and the automatic precision mode."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import configure
from scipy import stats

from sim.config.schema import Experiment
from sim.core.replication import ReplicationResult
from sim.experiments.comparison import COMPARISON_COLUMNS, paired_comparison, probability_better
from sim.experiments.replications import (
    kpi_table,
    more_replications_needed,
    relative_half_widths,
    run_experiment,
    summarise,
)
from sim.tools.compare import main as compare_main


def _kpis(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(r, k, v) for k, vals in values.items() for r, v in enumerate(vals)]
    return pd.DataFrame(rows, columns=["replication", "kpi", "value"])


#: The parts of a run's configuration that say which patients it simulated (a tiny site).
CONFIG = {
    "site": {
        "name": "tiny",
        "calendar_start": "2024-04-01",
        "practices": {"A01": {"locality": "a", "list_size": 1000}},
        "localities": {"a": {"title": "A"}},
    },
    "assumptions": {"demand": {"scale": 1.0}},
    "scenario": {"baseline": {"title": "Baseline", "description": "d"}},
}


def _run_folder(path, seed, values, status="complete", config=None):
    path.mkdir()
    manifest = {
        "status": status,
        "seed": seed,
        "site": "tiny",
        "replications": len(next(iter(values.values()))),
        "warmup_weeks": 1,
        "run_weeks": 4,
        "ci_level": 0.95,
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / ".hydra").mkdir()
    (path / ".hydra" / "config.yaml").write_text(
        yaml.safe_dump({"seed": seed, **(config or CONFIG)})
    )
    _kpis(values).to_csv(path / "kpis.csv", index=False)
    return path


BASE = {"ae.attendances_per_week": [100.0, 110.0, 95.0, 105.0]}
OPTION = {"ae.attendances_per_week": [90.0, 101.0, 84.0, 97.0]}


def test_paired_difference_and_ci_match_a_t_interval_on_the_differences():
    table = paired_comparison(_kpis(BASE), _kpis(OPTION), 0.95).set_index("kpi")
    row = table.loc["ae.attendances_per_week"]
    d = np.array(OPTION["ae.attendances_per_week"]) - np.array(BASE["ae.attendances_per_week"])
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert row["diff_mean"] == pytest.approx(d.mean())
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((lo, hi))
    assert row["n"] == 4
    # fewer attendances is better, and every replication improved
    assert row["prob_option_better"] > 0.99


def test_probability_better_follows_the_kpi_direction():
    assert probability_better(2.0, 1.0, 10, "higher") > 0.9
    assert probability_better(2.0, 1.0, 10, "lower") < 0.1
    assert np.isnan(probability_better(2.0, 1.0, 10, None))


def test_compare_writes_a_new_comparison_folder_in_the_option_folder(tmp_path, capsys):
    base = _run_folder(tmp_path / "base", 7, BASE)
    option = _run_folder(tmp_path / "option", 7, OPTION)
    assert compare_main([str(base), str(option)]) == 0
    first = option / "comparisons" / "vs_base" / "comparison.csv"
    table = pd.read_csv(first)
    assert list(table.columns) == COMPARISON_COLUMNS
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(first)
    # A second comparison (here at another level) never overwrites the first.
    before = first.read_bytes()
    assert compare_main([str(base), str(option), "--level", "0.8"]) == 0
    second = option / "comparisons" / "vs_base_2" / "comparison.csv"
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(second)
    assert first.read_bytes() == before
    assert second.read_bytes() != before


@pytest.mark.parametrize(
    ("seed", "status", "message"),
    [(8, "complete", "seed differs"), (7, "running", "not 'complete'")],
)
def test_compare_refuses_unpaired_or_unfinished_runs(tmp_path, capsys, seed, status, message):
    base = _run_folder(tmp_path / "base", 7, BASE)
    option = _run_folder(tmp_path / "option", seed, OPTION, status)
    assert compare_main([str(base), str(option)]) == 2
    assert message in capsys.readouterr().err
    assert not (option / "comparisons").exists()


def _results(values: list[float]) -> list[ReplicationResult]:
    return [
        ReplicationResult(r, {"ae.attendances_per_week": v}, {}, {}, 0, 0.0)
        for r, v in enumerate(values)
    ]


def test_more_replications_follow_the_half_width_rule_and_the_cap():
    results = _results([100.0, 120.0, 80.0, 110.0, 90.0])
    exp = Experiment(5, 0, 1, 1, 0.95, headline_kpis=["ae.attendances_per_week"])
    exp.target_relative_half_width = 0.05
    exp.max_replications = 1000
    table = summarise(kpi_table(results), 0.95)
    h = float(relative_half_widths(table, exp.headline_kpis).iloc[0])
    expected = int(np.ceil(5 * (h / 0.05) ** 2))
    assert more_replications_needed(results, exp) == list(range(5, expected))
    exp.max_replications = 12
    assert more_replications_needed(results, exp) == list(range(5, 12))
    exp.target_relative_half_width = 0.9  # already precise enough
    assert more_replications_needed(results, exp) == []


def test_automatic_mode_reaches_the_target_or_the_cap(small_data):
    # Tight enough that 2 replications (t = 12.7) cannot reach it but by a fluke of equal
    # values, so the mode must add replications.
    target = 0.005
    run_cfg = configure(
        small_data,
        {
            "experiment.replications": 2,
            "experiment.warmup_weeks": 1,
            "experiment.run_weeks": 2,
            "experiment.n_jobs": 1,
            "experiment.headline_kpis": ["system.unmet_need_per_week"],
            "experiment.target_relative_half_width": target,
            "experiment.max_replications": 8,
        },
    )
    results = run_experiment(run_cfg.model, run_cfg.experiment, run_cfg.seed, False)
    assert [r.replication for r in results] == list(range(len(results)))
    table = summarise(kpi_table(results), 0.95)
    h = float(relative_half_widths(table, ["system.unmet_need_per_week"]).iloc[0])
    assert len(results) > 2
    assert h <= target or len(results) == 8
