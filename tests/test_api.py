"""The Python API (``sim.api``): a run from Python is the command line's run.

Checked against independent paths: the same overrides through ``python -m sim`` give
byte-identical files, the returned tables are the folder's files as pandas reads them, and
``api.compare``'s paired differences are recomputed here from the two ``kpis.csv`` files.
Also the run folder's log, the Excel-friendly CSV files and the package versions recorded.
"""

from __future__ import annotations

import csv
import json
from importlib import metadata

import numpy as np
import pandas as pd
import pytest
from conftest import run_sim

from sim import api
from sim.experiments.outputs import CSV_BOM, PACKAGES
from sim.experiments.run_folder import RUN_FILES

SMALL = [
    "experiment=quick",
    "experiment.replications=2",
    "experiment.warmup_weeks=1",
    "experiment.run_weeks=2",
    "experiment.n_jobs=1",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, api.RunData]:
    tmp = tmp_path_factory.mktemp("api")
    return {
        "baseline": api.run(SMALL, tmp / "baseline"),
        "option": api.run([*SMALL, "scenario=ic_expansion"], tmp / "option"),
    }


def test_a_run_from_python_writes_the_command_lines_files(runs, tmp_path, monkeypatch):
    cli_folder = tmp_path / "cli"
    assert run_sim([*SMALL, f"hydra.run.dir={cli_folder}"], monkeypatch) == 0
    folder = runs["baseline"].folder
    for name in RUN_FILES:
        assert (folder / name).read_bytes() == (cli_folder / name).read_bytes(), name
    ours, theirs = (json.loads((f / "manifest.json").read_text()) for f in (folder, cli_folder))
    assert ours["status"] == "complete"
    assert ours["config_sha256"] == theirs["config_sha256"]
    assert ours["command"].startswith("sim.api.run(")
    # the resolved configuration is recorded as Hydra records it
    assert (folder / ".hydra" / "config.yaml").read_text() == (
        cli_folder / ".hydra" / "config.yaml"
    ).read_text()


def test_the_tables_returned_are_the_folders_files(runs):
    run = runs["baseline"]
    pd.testing.assert_frame_equal(run.summary, pd.read_csv(run.folder / "summary.csv"))
    pd.testing.assert_frame_equal(run.kpis, pd.read_csv(run.folder / "kpis.csv"))
    assert run.manifest["scenario"] == "baseline"
    assert sorted(run.kpis["replication"].unique()) == [0, 1]


def test_compare_gives_the_paired_differences(runs):
    table = api.compare(runs["baseline"], runs["option"]).set_index("kpi")
    base = pd.read_csv(runs["baseline"].folder / "kpis.csv")
    option = pd.read_csv(runs["option"].folder / "kpis.csv")
    for kpi in ("ae.attendances_per_week", "cost.services_annual_gbp"):
        b = base[base.kpi == kpi].sort_values("replication")["value"].to_numpy()
        o = option[option.kpi == kpi].sort_values("replication")["value"].to_numpy()
        assert table.loc[kpi, "diff_mean"] == pytest.approx(np.mean(o - b), rel=1e-9)
    other_seed = api.run([*SMALL, "seed=1"], runs["option"].folder.parent / "seed1")
    with pytest.raises(api.ComparisonError, match="seed"):
        api.compare(runs["baseline"], other_seed)


def test_a_bad_configuration_raises_before_anything_is_written(tmp_path):
    with pytest.raises(api.ConfigError, match=r"experiment.replications = 0: must be >= 1"):
        api.run(["experiment.replications=0"], tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_the_run_folder_has_a_log_of_the_run(runs, tmp_path, monkeypatch):
    log = (runs["baseline"].folder / "run.log").read_text(encoding="utf-8")
    assert "Replication 0 finished" in log and "Replication 1 finished" in log
    assert "Complete: 2 replications" in log
    cli_folder = tmp_path / "cli"
    assert run_sim([*SMALL, f"hydra.run.dir={cli_folder}"], monkeypatch) == 0
    cli_log = (cli_folder / "run.log").read_text(encoding="utf-8")
    assert "Replication 1 finished" in cli_log and "Complete: 2 replications" in cli_log
    assert not (cli_folder / "cli.log").exists()


def test_csv_files_open_in_excel_with_their_pound_signs(runs, tmp_path):
    for path in runs["baseline"].folder.glob("*.csv"):
        data = path.read_bytes()
        assert data.startswith(CSV_BOM.encode("utf-8")), path.name
        assert "\ufeff" not in pd.read_csv(path).columns[0]
        with open(path, encoding="utf-8-sig", newline="") as fh:
            assert "\ufeff" not in next(csv.reader(fh))[0]
    # "£" survives: the BOM tells Excel the file is UTF-8
    from sim.experiments.outputs import atomic_write_csv

    atomic_write_csv(tmp_path / "money.csv", pd.DataFrame({"unit": ["£ per year"]}))
    raw = (tmp_path / "money.csv").read_bytes()
    assert raw.decode("utf-8-sig").splitlines() == ["unit", "£ per year"]


def test_the_manifest_records_every_package_the_numbers_depend_on(runs):
    packages = runs["baseline"].manifest["packages"]
    assert {"numba", "llvmlite", "numpy", "scipy", "simpy"} <= set(PACKAGES)
    for name in ("numba", "llvmlite", "numpy"):
        assert packages[name] == metadata.version(name)
    import sim

    assert packages["nhs-capacity-sim"] == sim.__version__


def test_a_folder_of_another_configuration_is_refused(runs):
    with pytest.raises(api.ConfigError, match="another configuration|different configuration"):
        api.run([*SMALL, "seed=99"], runs["baseline"].folder)
