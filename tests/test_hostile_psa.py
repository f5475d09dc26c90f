"""Hostile inputs and interruptions for ``python -m sim uncertainty`` (issue 19): a parameter
set is the unit a PSA resumes by, as a replication is a run's, so it gets a run's protections.
Its files carry checksums (an edited set is left out and run again), Ctrl-C inside a set leaves
it interrupted (never failed), a set folder holding someone's files is refused and left as it
was while the other sets run, and a PSA folder holding the analysis of another configuration
is refused before anything runs (never redone over).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import run_sim, run_sim_in_subprocess

import sim.cli
from sim.experiments import psa


@dataclass
class FakePlan:
    """What :func:`psa.run_set_into_folder` reads of a plan (the set itself is replaced)."""

    fingerprint: str = "f" * 64
    alternatives: list[str] = field(default_factory=lambda: ["baseline", "rac_weekend"])
    run: SimpleNamespace = field(
        default_factory=lambda: SimpleNamespace(
            seed=7, experiment=SimpleNamespace(warmup_weeks=0, run_weeks=1)
        )
    )

    def seed(self, number: int) -> int:
        return 100 + number

    def replications(self, number: int) -> int:
        return 1


KPIS = pd.DataFrame(
    {"option": ["baseline", "rac_weekend"], "replication": [0, 0], "kpi": ["ae", "ae"]}
).assign(value=[1417.0, 1380.5])
PARAMETERS = pd.DataFrame(
    {"factor": ["x"], "input": ["x"], "group": ["g"], "uniform": [0.3], "value": [1.1]}
)


def finished_set(monkeypatch: pytest.MonkeyPatch, folder: Path, number: int = 1) -> FakePlan:
    """Set ``number`` written into ``folder`` by the real writer, from known tables."""
    monkeypatch.setattr(psa, "run_set", lambda plan, n: (KPIS, PARAMETERS, {"wall_seconds": 1}))
    plan = FakePlan()
    assert psa.run_set_into_folder(plan, number, folder)
    return plan


def test_a_set_edited_after_it_was_written_is_left_out_and_run_again(tmp_path, monkeypatch):
    folder = tmp_path / "psa" / "set_1"
    plan = finished_set(monkeypatch, folder)
    assert psa.set_complete(folder, plan.fingerprint)
    assert psa.collect_sets(folder.parent, plan.fingerprint).manifests.keys() == {1}

    # a hand edit of one result: the manifest still says complete
    kpis = (folder / "kpis.csv").read_text(encoding="utf-8")
    assert ",1417\n" in kpis
    (folder / "kpis.csv").write_text(kpis.replace(",1417\n", ",1835\n"), encoding="utf-8")
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"
    assert not psa.set_complete(folder, plan.fingerprint)  # a resumed PSA runs it again
    sets = psa.collect_sets(folder.parent, plan.fingerprint)
    assert sets.kpis.empty and not sets.manifests
    assert sets.problems == [
        "set_1: kpis.csv changed after it was written (checksum mismatch); left out, and run "
        "again when the PSA is resumed"
    ]
    # a file gone is a problem named, not a traceback
    (folder / "kpis.csv").write_text(kpis, encoding="utf-8")
    assert psa.set_complete(folder, plan.fingerprint)
    (folder / "parameters.csv").unlink()
    [problem] = psa.collect_sets(folder.parent, plan.fingerprint).problems
    assert problem.startswith("set_1: a file cannot be read") and "parameters.csv" in problem


@pytest.mark.parametrize("where", ["python", "compiled"])
def test_ctrl_c_inside_a_set_leaves_it_interrupted_never_failed(tmp_path, monkeypatch, where):
    def interrupted(plan, number):
        if where == "python":
            raise KeyboardInterrupt
        try:  # inside the compiled booking pass Ctrl-C surfaces as another error
            raise KeyboardInterrupt
        except KeyboardInterrupt as err:
            raise SystemError("<built-in function book> returned a result with an error") from err

    monkeypatch.setattr(psa, "run_set", interrupted)
    folder = tmp_path / "set_2"
    with pytest.raises(KeyboardInterrupt):
        psa.run_set_into_folder(FakePlan(), 2, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "interrupted"
    assert "error" not in manifest
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json"]


@pytest.mark.parametrize("when", ["before", "after"])
def test_ctrl_c_at_a_sets_complete_manifest(tmp_path, monkeypatch, when):
    """Ctrl-C as the manifest saying complete is written: before it is in place the set is
    interrupted (never left "running", nor carrying a finished set's fields); once it is in
    place the set is complete and kept. Either way the PSA stops (KeyboardInterrupt)."""
    real = psa.outputs.atomic_write_json

    def write(path, data):
        last = Path(path).name == "manifest.json" and data.get("status") == "complete"
        if last and when == "before":
            raise KeyboardInterrupt
        real(path, data)
        if last and when == "after":
            raise KeyboardInterrupt

    monkeypatch.setattr(psa.outputs, "atomic_write_json", write)
    monkeypatch.setattr(psa, "run_set", lambda plan, n: (KPIS, PARAMETERS, {"wall_seconds": 1}))
    folder, plan = tmp_path / "set_1", FakePlan()
    with pytest.raises(KeyboardInterrupt):
        psa.run_set_into_folder(plan, 1, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if when == "before":
        assert manifest["status"] == "interrupted"
        assert not {"finished_utc", "sha256", "files"} & set(manifest)
        assert not psa.set_complete(folder, plan.fingerprint)  # a resumed PSA runs it again
    else:
        assert manifest["status"] == "complete"
        assert psa.set_complete(folder, plan.fingerprint)  # a resumed PSA skips it


def test_a_set_that_fails_says_failed_with_its_error(tmp_path, monkeypatch):
    def broken(plan, number):
        raise ValueError("a bug")

    monkeypatch.setattr(psa, "run_set", broken)
    folder = tmp_path / "set_3"
    with pytest.raises(ValueError):
        psa.run_set_into_folder(FakePlan(), 3, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["status"], manifest["error"]) == ("failed", "ValueError: a bug")


#: The smallest PSA: the central set and one drawn set, one option, one week, in-process jobs.
TINY_PSA = [
    "uncertainty",
    "psa=quick",
    "psa.sets=1",
    "psa.options=[rac_weekend]",
    "experiment.run_weeks=1",
    "experiment.warmup_weeks=0",
    "experiment.replications=1",
    "psa.central_replications=1",
    "hydra/launcher=basic",
]


@pytest.mark.parametrize(
    "psa_json, rule",
    [
        (
            json.dumps({"config_sha256": "0" * 64}),
            "holds an uncertainty analysis of a different configuration (psa.json has "
            "config_sha256 000000000000..., this one",
        ),
        ("{ not json", "its psa.json cannot be read"),
    ],
    ids=["another configuration", "unreadable"],
)
def test_a_psa_folder_of_another_analysis_is_refused_and_kept(
    tmp_path, monkeypatch, capsys, psa_json, rule
):
    folder = tmp_path / "psa"
    (folder / "set_0").mkdir(parents=True)
    (folder / "psa.json").write_text(psa_json, encoding="utf-8")
    (folder / "set_0" / "manifest.json").write_text('{"status": "complete"}', encoding="utf-8")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    code = run_sim([*TINY_PSA, f"hydra.sweep.dir={folder}"], monkeypatch)

    err = capsys.readouterr().err
    assert code == sim.cli.EXIT_CONFIG_ERROR, err
    [line] = [x for x in err.splitlines() if x.strip()]
    assert line.startswith(f"Configuration error: hydra.sweep.dir = '{folder}': {rule}"), line
    assert "psa.name=..." in line
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def _psa(folder: Path) -> subprocess.CompletedProcess:
    return run_sim_in_subprocess([*TINY_PSA, f"hydra.sweep.dir={folder}"], timeout=1200)


@pytest.mark.slow
def test_a_set_folder_of_someone_elses_files_is_refused_and_an_edited_set_run_again(tmp_path):
    folder = tmp_path / "psa"
    first = _psa(folder)
    assert first.returncode == 0, first.stderr[-3000:]
    central = (folder / "set_0" / "kpis.csv").read_bytes()

    # set 0 edited by hand; set 1's folder emptied and given someone's file
    edited = central.replace(b"0,", b"9,", 1)
    assert edited != central
    (folder / "set_0" / "kpis.csv").write_bytes(edited)
    for p in (folder / "set_1").iterdir():
        p.unlink()
    (folder / "set_1" / "notes.txt").write_text("mine\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    refused = _psa(folder)

    assert refused.returncode == sim.cli.EXIT_CONFIG_ERROR, refused.stderr[-3000:]
    [line] = [x for x in refused.stderr.splitlines() if x.strip()]
    assert line.startswith(
        f"Configuration error: hydra.sweep.dir = '{folder / 'set_1'}': is not a run folder of "
        "this program (it holds notes.txt) and is left untouched"
    ), line
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before

    # the user's file gone: the edited set runs again, giving exactly the numbers it had
    (folder / "set_1" / "notes.txt").unlink()
    again = _psa(folder)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr
    assert "set 0: complete" in again.stdout and "set 1: complete" in again.stdout
    assert (folder / "set_0" / "kpis.csv").read_bytes() == central


def test_ctrl_c_during_an_analysis_says_what_is_kept_and_how_to_resume(
    tmp_path, monkeypatch, capsys
):
    def interrupted(plan, number):
        raise KeyboardInterrupt

    monkeypatch.setattr(psa, "run_set", interrupted)
    folder = tmp_path / "psa"

    code = run_sim([*TINY_PSA, f"hydra.sweep.dir={folder}"], monkeypatch)

    assert code == sim.cli.EXIT_INTERRUPTED
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert line == (
        "Interrupted: parameter sets that finished are kept (set_*/ in the analysis folder); "
        "resume by running the same command again"
    )
    manifest = json.loads((folder / "set_0" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "interrupted"


# --------------------------------------------------------------------------------------------
# The report of a PSA folder checks every table it reads
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_psa(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("psa") / "psa"
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert run_sim([*TINY_PSA, f"hydra.sweep.dir={folder}"], monkeypatch) == 0
    return folder


def _edit_csv(name: str, column: str, value: str):
    def edit(folder: Path) -> None:
        path = folder / name
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        frame[column] = value
        frame.to_csv(path, index=False)

    return edit


def _drop_rows(folder: Path) -> None:
    path = folder / "psa_summary.csv"
    frame = pd.read_csv(path, encoding="utf-8-sig")
    frame[frame["measure"] != "ae_attendances_avoided_per_year"].to_csv(path, index=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    "edit, message",
    [
        (
            _edit_csv("psa_summary.csv", "mean", "lots"),
            "psa_summary.csv, row 2, column 'mean': 'lots' must be a number",
        ),
        (
            _edit_csv("psa_summary.csv", "mean", "inf"),
            "psa_summary.csv: mean of 'ae_attendances_avoided_per_year' for option "
            "'rac_weekend' is inf; it must be a finite number",
        ),
        (
            _edit_csv("rank_probabilities.csv", "probability", "1.5"),
            "rank_probabilities.csv, row 2, column 'probability': 1.5 must lie in [0, 1]",
        ),
        (
            _edit_csv("ceac.csv", "option", ""),
            "ceac.csv, row 2, column 'option': nan must not be empty",
        ),
        (
            _drop_rows,
            "psa_summary.csv has no row for 'ae_attendances_avoided_per_year' of option "
            "'rac_weekend': the file is incomplete",
        ),
        (
            lambda f: (f / "tornado.csv").unlink(),
            "tornado.csv cannot be read ([Errno 2] No such file or directory",
        ),
        (
            lambda f: (f / "psa.json").write_text('{"options": "rac_weekend"}'),
            "psa.json: options = 'rac_weekend': must be a list of names",
        ),
    ],
    ids=["text", "infinite", "probability", "blank option", "row dropped", "gone", "psa.json"],
)
def test_the_report_of_a_psa_refuses_a_damaged_table_with_one_line(
    finished_psa, tmp_path, capsys, edit, message
):
    import shutil

    import sim.report

    folder = tmp_path / "psa"
    shutil.copytree(finished_psa, folder)
    assert sim.report.main([str(folder)]) == 0  # the copy, unedited, is reported
    capsys.readouterr()
    report = (folder / "report.md").read_bytes()
    edit(folder)

    code = sim.report.main([str(folder)])

    err = capsys.readouterr().err
    assert code == 2, err
    [line] = [x for x in err.splitlines() if x.strip()]
    assert line.startswith(f"error: {folder}") and message in line, line
    assert (folder / "report.md").read_bytes() == report  # the last good report stays


@pytest.mark.slow
def test_psa_figures_draw_an_options_title_as_written(finished_psa, tmp_path, monkeypatch):
    """A title with "$...$" (matplotlib's mathematics) is drawn as text, not parsed (where
    "$\\frac{$" stopped the figures, and so the report)."""
    import shutil

    import sim.report.uncertainty
    from sim.tools import uncertainty

    folder = tmp_path / "psa"
    shutil.copytree(finished_psa, folder)
    monkeypatch.setattr(
        sim.report.uncertainty, "option_title", lambda name, titles: f"$\\frac{{$ {name}"
    )
    uncertainty.write_figures(folder)
    assert (folder / "figures" / "psa_acceptability.png").stat().st_size > 0


@pytest.mark.parametrize(
    "command, message",
    [
        (
            "sweep",
            "Sweep error: {folder}: is not a sweep folder of this program (it holds notes.txt) "
            "and is left untouched",
        ),
        (
            "uncertainty",
            "error: {folder}: is not an uncertainty analysis folder (it has no psa.json); "
            "nothing was written",
        ),
    ],
)
def test_re_making_tables_in_a_folder_of_someone_elses_files_writes_nothing(
    tmp_path, monkeypatch, capsys, command, message
):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n", encoding="utf-8")

    code = run_sim([command, str(folder)], monkeypatch)

    assert code == 2
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert line.startswith(message.format(folder=folder)), line
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "setting, value, rule",
    [
        ("sets", "200", "must be a whole number >= 1"),
        ("wtp_gbp", {"ae_attendance": ["free"]}, "must map each outcome to a list of amounts"),
        ("config_sha256", None, "must be a SHA-256"),
    ],
)
def test_re_making_a_psa_with_an_edited_design_stops_with_one_line(
    finished_psa, tmp_path, monkeypatch, capsys, setting, value, rule
):
    import shutil

    folder = tmp_path / "psa"
    shutil.copytree(finished_psa, folder)
    info = json.loads((folder / "psa.json").read_text(encoding="utf-8"))
    (folder / "psa.json").write_text(json.dumps({**info, setting: value}), encoding="utf-8")
    tables = {p: p.read_bytes() for p in folder.glob("*.csv")}

    code = run_sim(["uncertainty", str(folder)], monkeypatch)

    assert code == 1
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert line == f"error: {folder / 'psa.json'}: {setting} = {value!r}: {rule}"
    assert {p: p.read_bytes() for p in folder.glob("*.csv")} == tables


def test_a_set_that_fails_is_recorded_and_the_other_sets_run(tmp_path, monkeypatch, capsys):
    real = psa.run_set

    def second_fails(plan, number):
        if number == 1:
            raise ValueError("a bug")
        return real(plan, number)

    monkeypatch.setattr(psa, "run_set", second_fails)
    folder = tmp_path / "psa"

    run_sim([*TINY_PSA, "psa.sets=2", f"hydra.sweep.dir={folder}"], monkeypatch)

    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"set 1: FAILED (ValueError('a bug')); see {folder / 'set_1' / 'error.txt'}" in err
    assert "ValueError: a bug" in (folder / "set_1" / "error.txt").read_text(encoding="utf-8")
    statuses = {
        n: json.loads((folder / f"set_{n}" / "manifest.json").read_text())["status"]
        for n in (0, 1, 2)
    }
    assert statuses == {0: "complete", 1: "failed", 2: "complete"}  # set 2 ran after set 1
    status = json.loads((folder / "uncertainty.json").read_text(encoding="utf-8"))
    assert status["sets_complete"] == 1
    assert "1 of 2 drawn sets are not complete (re-run to resume)" in status["problems"]
