"""Sweeps through the real CLI: summary files, the board report written at the end, resume,
failed jobs, launchers give identical numbers. Slow (several subprocesses), so marked; CI runs
them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.text
import pandas as pd
import paper_files
import pytest
from matplotlib.colors import to_hex

import sim.report.build
import sim.tools.sweep
from sim.config.catalogue import option_title
from sim.experiments.comparison import COMPARISON_COLUMNS
from sim.experiments.run_folder import RUN_FILES
from sim.report import load_folder
from sim.report.build import headline_blocks, ranking_blocks
from sim.report.figures import FIGURE_KEYS, all_figures, close_all, option_gid
from sim.report.style import option_style

pytestmark = pytest.mark.slow

SMALL = [
    "experiment=quick",
    "experiment.replications=2",
    "experiment.warmup_weeks=1",
    "experiment.run_weeks=2",
]
#: The report is tested on the `finished` sweep; other sweeps here leave it out to save time.
NO_REPORT = "hydra.callbacks.sweep_summary.board_report=false"
OPTIONS = ("extended_access_8to8", "ic_expansion")


def sweep(folder: Path, scenarios: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "+sweep=all_options",
        f"hydra.sweeper.params.scenario='choice({scenarios})'",
        f"hydra.sweep.dir={folder}",
        *SMALL,
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=folder.parent)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("sweeps") / "two_options"
    done = sweep(
        folder,
        "baseline,ic_expansion,extended_access_8to8,[extended_access_8to8,enhanced_access_double]",
    )
    return folder, done


def test_sweep_writes_comparison_ranking_and_plot(finished):
    folder, done = finished
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(folder)
    comparison = pd.read_csv(folder / "comparison.csv")
    assert list(comparison.columns) == ["option", *COMPARISON_COLUMNS]
    assert set(comparison["option"]) == set(OPTIONS)
    ranking = pd.read_csv(folder / "ranking.csv")
    row = ranking.set_index("option").loc["ic_expansion"]
    # 30 places x 365 days x £205 a place-day, paired with the baseline
    assert row["investment_annual_gbp"] == pytest.approx(30 * 365.25 * 205, rel=0.01)
    assert (folder / "cost_effectiveness.png").stat().st_size > 10_000


def test_a_failing_job_is_recorded_and_the_sweep_goes_on(finished):
    folder, done = finished
    bad = folder / "extended_access_8to8+enhanced_access_double" / "manifest.json"
    manifest = json.loads(bad.read_text())
    assert manifest["status"] == "invalid_config"
    assert "cannot be combined" in manifest["error"]
    summary = json.loads((folder / "sweep.json").read_text())
    assert sorted(summary["jobs_complete"]) == ["baseline", *OPTIONS]
    assert any("invalid_config" in p for p in summary["problems"])


def test_rerunning_a_sweep_skips_complete_jobs(finished):
    folder, _ = finished
    kpis = folder / "baseline" / "kpis.csv"
    before = kpis.stat().st_mtime_ns
    again = sweep(folder, "baseline,ic_expansion", NO_REPORT)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("already complete, skipped") == 2
    assert kpis.stat().st_mtime_ns == before


def test_launchers_give_byte_identical_files(finished, tmp_path):
    """The local launcher, which runs every job's replications together first (jobs on the
    same patients sharing them), and submitit (local_jobs, as on SLURM: each job runs its own)
    write the same bytes: part of the determinism audit (test_determinism.py)."""
    folder, finished_run = finished
    other = tmp_path / "submitit"
    done = sweep(other, "baseline,ic_expansion", "hydra/launcher=local_jobs", NO_REPORT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (other / ".submitit").is_dir()  # the jobs really went through submitit
    assert "Running the 6 replications of 3 jobs together" in finished_run.stdout
    for job in ("baseline", "ic_expansion"):
        ran_ahead = json.loads((folder / job / "manifest.json").read_text())
        assert ran_ahead["replications_run_ahead"] == [0, 1]
        assert ran_ahead["run_ahead_with"] == ["baseline", "extended_access_8to8", "ic_expansion"]
        assert "replications_run_ahead" not in json.loads(
            (other / job / "manifest.json").read_text()
        )
        for name in RUN_FILES:
            assert (other / job / name).read_bytes() == (folder / job / name).read_bytes(), name


def test_a_local_dask_cluster_gives_byte_identical_files(finished, tmp_path):
    """hydra/launcher=dask on a local cluster of this machine (two single-threaded worker
    processes) writes the same bytes as the local joblib launcher."""
    pytest.importorskip("distributed")
    folder, _ = finished
    other = tmp_path / "dask"
    done = sweep(other, "baseline,ic_expansion", "hydra/launcher=dask", NO_REPORT)
    assert done.returncode == 0, done.stderr[-2000:]
    launched = re.search(r"Dask \((tcp://127\.0\.0\.1:\d+)\) is launching 2 jobs", done.stdout)
    assert launched, done.stdout[-2000:]  # the jobs really went to a local Dask scheduler
    for job in ("baseline", "ic_expansion"):
        for name in RUN_FILES:
            assert (other / job / name).read_bytes() == (folder / job / name).read_bytes(), name


# ------------------------------------------------------------ a plain multirun over scenarios


def plain_multirun(folder: Path, *overrides: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "sim", "-m", *overrides, f"hydra.sweep.dir={folder}", *SMALL]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=folder.parent)


def test_a_plain_multirun_over_scenarios_writes_the_comparison_and_report(finished, tmp_path):
    folder, _ = finished
    plain = tmp_path / "plain"
    done = plain_multirun(plain, "scenario=baseline,ic_expansion,extended_access_8to8")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(plain)
    comparison = pd.read_csv(plain / "comparison.csv")
    assert set(comparison["option"]) == set(OPTIONS)
    # the same numbers as the sweep file's (jobs are numbered here, named there)
    theirs = pd.read_csv(folder / "comparison.csv")
    pd.testing.assert_frame_equal(
        comparison.sort_values(["option", "kpi"]).reset_index(drop=True),
        theirs.sort_values(["option", "kpi"]).reset_index(drop=True),
    )
    assert (plain / "ranking.csv").is_file() and (plain / "cost_effectiveness.png").is_file()
    assert (plain / "report.html").stat().st_size > 1000
    assert f"Board report: {plain / 'report.html'}" in done.stdout


def test_a_multirun_over_something_else_says_why_there_is_no_comparison(tmp_path):
    plain = tmp_path / "seeds"
    done = plain_multirun(plain, "seed=1,2")
    assert done.returncode == 0, done.stderr[-2000:]
    warning = [line for line in done.stderr.splitlines() if line.startswith("warning: jobs")]
    assert len(warning) == 1, done.stderr[-2000:]
    assert "ran the same scenario, baseline" in warning[0]
    assert "python -m sim compare" in warning[0] and "-m scenario=baseline,a,b" in warning[0]
    assert pd.read_csv(plain / "comparison.csv").empty
    assert not (plain / "report.html").exists()


# ------------------------------------------------------------------ the board report


def test_the_sweep_writes_its_board_report(finished):
    folder, done = finished
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"Board report: {folder / 'report.html'}" in done.stdout
    for name in ("report.html", "report.md", "report.pdf", "report.docx"):
        assert (folder / name).stat().st_size > 1000, name
    assert (folder / "report.pdf").read_bytes().startswith(b"%PDF")
    assert not (folder / "report_error.txt").exists()


def test_sweep_report_html_is_self_contained(finished):
    folder, _ = finished
    html = (folder / "report.html").read_text(encoding="utf-8")
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html)
    assert links and all(link.startswith("data:image/png;base64,") for link in links), [
        link[:60] for link in links if not link.startswith("data:")
    ]
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert str(folder) not in "".join(links)  # no file paths, only embedded images


def test_sweep_report_has_every_figure_of_the_brief(finished):
    folder, _ = finished
    html = (folder / "report.html").read_text(encoding="utf-8")
    for key in FIGURE_KEYS:
        if key == "trajectories":  # programme runs only (tests/test_programme_sweep.py)
            continue
        pattern = rf"<figure id='figure-{key}'>.*?src='data:image/png;base64,([A-Za-z0-9+/=]+)"
        match = re.search(pattern, html)
        assert match and len(match.group(1)) > 1000, key
    assert "Where unmet demand goes: flow diagram" in html


def test_ranking_and_headline_tables_have_every_option_with_intervals(finished):
    folder, _ = finished
    data = load_folder(folder)
    tables = {b.text: b.table for b in ranking_blocks(data) if b.kind == "table"}
    ranked = tables["Options ranked (ranking.csv)"].set_index("option")
    assert set(ranked.index) == {option_title(o) for o in OPTIONS}
    ci_cols = [c for c in ranked.columns if "CI" in c]
    assert len(ci_cols) == 5  # net cost, attendances and admissions avoided, and £ per each
    for option in OPTIONS:
        row = ranked.loc[option_title(option)]
        for col in ci_cols:
            assert re.fullmatch(
                r"-?£?-?[\d,.]+ \((?:-?£?-?[\d,.]+ to -?£?-?[\d,.]+|interval not estimable)\)"
                r"|avoids none on average",
                row[col],
            ), (col, row[col])
        assert row["investment £ a year"].startswith("£")
        assert row["can the runs tell it apart?"]
    headline = data.headline
    per_kpi = [b.table for b in headline_blocks(data) if b.kind == "table"]
    assert len(per_kpi) == len(headline)
    for table in per_kpi:
        assert set(table.option) == {option_title(o) for o in OPTIONS}
        assert table["difference 95% CI"].str.contains(" to ").all()
    html = (folder / "report.html").read_text(encoding="utf-8")
    for option in OPTIONS:
        assert option_title(option).replace("&", "&amp;") in html
    # the failed combination is named among the sweep's problems
    assert "invalid_config" in html


def test_ranking_csv_gives_every_cost_per_outcome_an_interval_or_none(finished):
    folder, _ = finished
    ranking = pd.read_csv(folder / "ranking.csv")
    for outcome, per, lo, hi in (
        ("ae_avoided_ci_low", "cost_per_ae_attendance_avoided_gbp", "cost_per_ae_ci_low",
         "cost_per_ae_ci_high"),
        ("admissions_avoided_ci_low", "cost_per_admission_avoided_gbp",
         "cost_per_admission_ci_low", "cost_per_admission_ci_high"),
    ):  # fmt: skip
        for r in ranking.itertuples():
            estimable = getattr(r, outcome) > 0  # outcomes avoided told from zero
            bounds = (getattr(r, lo), getattr(r, hi))
            if estimable and getattr(r, per) > 0:
                assert bounds[0] <= getattr(r, per) <= bounds[1], r.option
            else:
                assert pd.isna(bounds[0]) and pd.isna(bounds[1]), r.option


def test_the_sweep_paper_files_read_back(finished):
    """Word and PDF as a board member receives them: A4, fonts embedded, summary first,
    every option named in full, no local path although the sweep ran in a temporary folder."""
    import docx

    folder, _ = finished
    pdf = folder / "report.pdf"
    for w, h in paper_files.page_sizes(pdf):
        assert sorted((w, h)) == pytest.approx(sorted(paper_files.A4_POINTS), abs=0.5)
    assert all(f["type"] == "TrueType" and f["emb"] == "yes" for f in paper_files.fonts(pdf))
    pages = paper_files.page_texts(pdf)
    first = " ".join(pages[0].split())
    for part in ("The question", "The options", "What the numbers support", "How sure we are"):
        assert part in first, part
    assert "NOT FOR DECISIONS" in first
    document = docx.Document(folder / "report.docx")
    texts = {
        "pdf": " ".join(" ".join(pages).split()),
        "docx": " ".join(paper_files.docx_text(document).split()),
        "html": (folder / "report.html").read_text(encoding="utf-8").replace("&amp;", "&"),
        "md": (folder / "report.md").read_text(encoding="utf-8"),
    }
    for name, text in texts.items():
        assert str(folder) not in text and str(folder.parent) not in text, name
        for option in OPTIONS:  # in full (quotations from docs/model.md may end in "[...]")
            assert option_title(option) in text, (name, option)
    # the sweep's command named the temporary folder; the paper shows its name only
    assert f"hydra.sweep.dir={folder.name}" in texts["html"]


def test_every_option_has_the_same_colour_in_every_figure(finished):
    folder, _ = finished
    data = load_folder(folder)
    figures = all_figures(data)
    tag = option_gid("")
    try:
        seen = {}
        for fig in figures:
            for artist in fig.figure.findobj(lambda a: (a.get_gid() or "").startswith(tag)):
                name = artist.get_gid().removeprefix(tag)
                colour = artist.get_color()
                colour = colour if isinstance(colour, str) else colour[0]
                assert to_hex(colour) == to_hex(option_style(name).colour), (fig.key, name)
                seen.setdefault(fig.key, set()).add(name)
    finally:
        close_all(figures)
    everyone = {"baseline", *OPTIONS}
    assert seen["comparison"] == seen["cost_effectiveness"] == set(OPTIONS)
    for key in ("ae_by_hour", "lead_times", "equity"):
        assert seen[key] == everyone, key


def test_every_figure_has_a_title_with_units_and_labelled_intervals(finished):
    folder, _ = finished
    figures = all_figures(load_folder(folder))
    try:
        for f in figures:
            fig = f.figure
            titles = [fig.get_suptitle()] if fig.get_suptitle() else []
            titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
            assert titles, f.key
            # units in brackets in the figure's title (or each panel's)
            assert re.search(r"\((?:[^()]*(?:per|£|%|patients|share)[^()]*)\)", " ".join(titles)), (
                f.key,
                titles,
            )
            if f.key != "flows":  # the flow diagram shows means; its CIs are in the table
                texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
                assert any("95% CI" in t for t in texts), f.key
    finally:
        close_all(figures)


def test_sweep_report_shows_equity_for_every_option(finished):
    folder, _ = finished
    md = (folder / "report.md").read_text(encoding="utf-8")
    section = md[md.index("\n## Appendix E: equity\n") : md.index("\n## Appendix F")]
    assert "Every option against the baseline" in section
    assert "Spread between practices" in section
    for option in ("baseline", *OPTIONS):
        # one row per option in each of the four measure tables and the spread table
        assert section.count(f"| {option_title(option)} |") == 5, option


def test_a_failing_report_keeps_the_sweep_results(finished, tmp_path, monkeypatch, capsys):
    folder, _ = finished
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    for name in ("report.html", "report.md", "report.pdf"):
        (copy / name).unlink()

    def broken(data):
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(sim.report.build, "write_report", broken)
    sim.tools.sweep.report(copy)
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == str(copy)
    assert "warning: the board report could not be written" in err
    assert f"python -m sim report {copy}" in err
    assert "no fonts today" in (copy / "report_error.txt").read_text()
    assert len(pd.read_csv(copy / "ranking.csv")) == len(OPTIONS)
    assert not (copy / "report.html").exists()
    monkeypatch.undo()
    sim.tools.sweep.report(copy)  # a report that works again clears the error file
    assert (copy / "report.html").is_file() and not (copy / "report_error.txt").exists()
