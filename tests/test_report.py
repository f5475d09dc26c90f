"""The board report (``python -m sim report``) and the equity breakdowns behind it.

One short real run (2 replications x 2 weeks after 1 week's warm-up) is made in a subprocess,
reported on, and deleted afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import paper_files
import pytest
import yaml
from docx.oxml.ns import qn

import sim.config.locations
from sim.core.timeseries import LEAD_DAYS_LAST
from sim.report import model_doc
from sim.report.build import assumptions_blocks, md_text, validation_blocks
from sim.report.figures import ENTRY_TO_PRACTICE, MIN_ARROW_POINTS, close_all, flow_diagram
from sim.report.load import load_folder
from sim.report.stress import QUOTED_SECTION, stress_items

RUNS_DIR = sim.config.locations.OUTPUTS_DIR / "runs"
ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def _report(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", "report", str(folder), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """A finished quick run with its report; removed after the module's tests."""
    cwd = tmp_path_factory.mktemp("report_run")
    out_dir = None
    try:
        ran = subprocess.run(
            [
                sys.executable, "-m", "sim", "experiment=quick", "experiment.replications=2",
                "experiment.run_weeks=2", "experiment.warmup_weeks=1",
            ],
            capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV,
        )  # fmt: skip
        if ran.stdout.strip():
            out_dir = Path(ran.stdout.strip().splitlines()[-1])
        assert ran.returncode == 0, ran.stderr
        assert out_dir.resolve().parent == RUNS_DIR.resolve()
        rep = _report(out_dir)
        assert rep.returncode == 0, rep.stderr
        yield out_dir, rep
    finally:
        if (
            out_dir is not None
            and out_dir.is_dir()
            and out_dir.resolve().parent == RUNS_DIR.resolve()
        ):
            shutil.rmtree(out_dir)


def test_report_files_written_and_last_line_is_html(reported):
    out_dir, rep = reported
    assert rep.stdout.strip().splitlines()[-1] == str(out_dir / "report.html")
    for name in ("report.html", "report.md", "report.pdf", "report.docx"):
        assert (out_dir / name).stat().st_size > 1000, name
    assert (out_dir / "report.pdf").read_bytes().startswith(b"%PDF")


def test_html_is_self_contained_and_complete(reported):
    out_dir, _ = reported
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert html.count("data:image/png;base64,") >= 4  # comparison, hours x2, flows, equity
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["git"]["commit"] and manifest["git"]["commit"] in html
    assert manifest["config_sha256"] in html
    calibration = pd.read_csv(out_dir / "calibration.csv")
    assert "Calibration table" in html
    for target in calibration.target:
        assert target.replace("&", "&amp;") in html
    items = stress_items(load_folder(out_dir))
    assert len(items) >= 20
    for item in items:
        assert f"<h4>{item.heading}</h4>" in html.replace("&amp;", "&"), item.heading
    md = (out_dir / "report.md").read_text(encoding="utf-8")
    for item in items:
        assert f"#### {md_text(item.heading, paragraph=False)}" in md
    for heading in (
        "Summary",
        "Equity by practice",
        "Appendix G: provenance",
        "Appendix F: assumptions and sources",
    ):
        assert heading in html and heading in md


def test_stress_items_filled_from_run_metadata(reported):
    out_dir, _ = reported
    items = {i.number: i.text for i in stress_items(load_folder(out_dir))}
    numbers = {"1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4", "2.5.1", "2.5.2", "2.5.3"}
    numbers |= {"2.5.4", "2.5.5", "3.1", "3.2", "3.3", "4.1", "4.2", "4.3", "5.1", "5.2"}
    numbers |= {"5.3", "5.4", "6.1"}
    assert numbers <= set(items)
    assert "2 week(s) measured after 1 week(s) warm-up" in items["4.2"]
    assert "2 independent replications" in items["4.3"]
    assert "seed=" in items["5.2"]
    assert "Replications in parallel over" in items["5.3"]  # a run that ran its own


def test_stress_says_how_a_sweep_job_run_ahead_was_run():
    """A sweep job whose replications the local launcher ran before it (its manifest's
    ``replications_run_ahead``) is not described as a job that ran them on its own cores in
    its own wall time."""
    from sim.report.stress import _execution

    own = {"n_jobs": 2, "wall_seconds": 30.5}
    assert _execution(own) == "Replications in parallel over 2 job(s); wall time 30.5 s."
    ahead = {
        "n_jobs": 1,
        "wall_seconds": 0.4,
        "replications_run_ahead": [0, 1, 2],
        "replication_wall_seconds": [1.2, 1.3, 1.5],
    }
    text = _execution(ahead)
    assert text.startswith("3 replication(s) run by the sweep's launcher before the job")
    assert "4 s of replications in all" in text and "wrote its files in 0.4 s" in text


def test_equity_sums_reproduce_system_kpis(reported):
    out_dir, _ = reported
    eq = pd.read_csv(out_dir / "equity.csv")
    assert list(eq.columns) == ["group", "level", "measure", "mean", "ci_low", "ci_high", "n"]
    assert set(eq.group) == {"by_age", "by_frailty", "by_practice"}
    assert "under 65" in set(eq[eq.group == "by_frailty"].level)
    assert (eq.n == 2).all()
    summary = pd.read_csv(out_dir / "summary.csv").set_index("kpi")["mean"]
    cfg = yaml.safe_load((out_dir / ".hydra" / "config.yaml").read_text())
    lists = {code: p["list_size"] for code, p in cfg["site"]["practices"].items()}
    prac = eq[eq.group == "by_practice"].set_index(["measure", "level"])["mean"]
    unmet = sum(prac["unmet_need_per_1000_week"][c] * n / 1000 for c, n in lists.items())
    assert unmet == pytest.approx(summary["system.unmet_need_per_week"], rel=1e-6)
    ae = sum(prac["ae_per_1000_year"][c] * n for c, n in lists.items()) / sum(lists.values())
    assert ae == pytest.approx(summary["ae.attendances_per_1000_year"], rel=1e-6)
    rates = eq[eq.measure == "urgent_same_day_rate"]["mean"].dropna()
    assert ((rates >= 0) & (rates <= 1)).all()


def test_equity_cells_are_each_groups_first_row(reported):
    """The equity tables look cells up by position (``_first_rows``): every cell must be the
    first row of its group, level and measure, as a filter of the whole table finds it, and
    a combination the table lacks a dash."""
    from sim.report.build import _equity_cell, _first_rows, ci, fmt

    out_dir, _ = reported
    eq = pd.read_csv(out_dir / "equity.csv")
    # a repeated row after the first must not be the one shown
    eq = pd.concat([eq, eq.iloc[[0]].assign(mean=-1.0)], ignore_index=True)
    first = _first_rows(eq)
    keys = list(dict.fromkeys(zip(eq.group, eq.level, eq.measure, strict=True)))
    assert len(first) == len(keys) < len(eq)
    for group, level, measure in [*keys, ("by_age", "no such band", "ae_per_1000_year")]:
        rows = eq[(eq.group == group) & (eq.level == level) & (eq.measure == measure)]
        expected = (
            "-"
            if rows.empty
            else f"{fmt(rows['mean'].iloc[0])} ({ci(rows.ci_low.iloc[0], rows.ci_high.iloc[0])})"
        )
        assert _equity_cell(eq, first, group, level, measure) == expected, (group, level)


@pytest.mark.parametrize("problem", ["missing", "empty", "running", "lost_file"])
def test_bad_folder_exits_2(tmp_path, problem):
    folder = tmp_path / "run"
    if problem != "missing":
        folder.mkdir()
    if problem in ("running", "lost_file"):
        status = "running" if problem == "running" else "complete"
        manifest = {"status": status, "files": ["summary.csv"]}
        (folder / "manifest.json").write_text(json.dumps(manifest))
    rep = _report(folder)
    assert rep.returncode == 2
    assert len(rep.stderr.strip().splitlines()) == 1
    assert not (folder / "report.html").exists()


# ------------------------------------------------------------------ validation section


def _text(blocks) -> str:
    return "\n".join(b.text for b in blocks)


def _validation_folder(root: Path, name: str, commit: str | None, status: str, age: int) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "validation.csv").write_text(
        "group,check,unit,theory,simulated,ci_low,ci_high,passed\n"
        "mmc_ae,A&E M/M/c: mean wait,minutes,10,10.2,9.5,10.9,True\n"
        "little,Little's law,patients,5,5.1,4.8,5.4,False\n"
    )
    manifest = {"status": status, "command": "python -m sim validate", "quick": False}
    manifest["git"] = {"commit": commit, "dirty": False}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    stamp = time.time() - age
    for f in folder.iterdir():
        os.utime(f, (stamp, stamp))
    return folder


def test_validation_section_says_plainly_when_there_is_none(reported, tmp_path):
    out_dir, _ = reported
    text = _text(validation_blocks(load_folder(out_dir, validation_root=tmp_path / "none")))
    assert "No complete python -m sim validate output was found" in text
    assert f"python -m sim report outputs/runs/{out_dir.name}" in text
    # what the run proves on its own is there whatever
    assert "ended in exactly one terminal state, in every replication" in text
    assert re.search(r"Calibration: \d+ of \d+ published targets within tolerance", text)


def test_validation_section_takes_the_newest_complete_and_compares_commits(reported, tmp_path):
    out_dir, _ = reported
    commit = json.loads((out_dir / "manifest.json").read_text())["git"]["commit"]
    _validation_folder(tmp_path, "old", "0" * 40, "complete", age=300)
    newest = _validation_folder(tmp_path, "new", commit, "complete", age=200)
    _validation_folder(tmp_path, "unfinished", commit, "running", age=100)
    data = load_folder(out_dir, validation_root=tmp_path)
    assert data.validation_folder == newest
    text = _text(validation_blocks(data))
    assert f"1 of 2 checks passed in {newest.name}" in text  # never a local path
    assert f"same git commit as this run ({commit})" in text
    other = _validation_folder(tmp_path, "newer_other_code", "f" * 40, "complete", age=50)
    text = _text(validation_blocks(load_folder(out_dir, validation_root=tmp_path)))
    assert f"in {other.name}" in text and f"NOT this run's {commit}" in text


def test_an_unbalanced_ledger_is_reported(reported):
    out_dir, _ = reported
    data = load_folder(out_dir)
    led = data.base.ledger
    led.loc[0, "gave_up"] += 1  # one episode counted twice
    text = _text(validation_blocks(data))
    assert "THE LEDGER DOES NOT BALANCE" in text


def test_a_given_validation_folder_must_be_complete(reported, tmp_path):
    out_dir, _ = reported
    unfinished = _validation_folder(tmp_path, "v", None, "running", age=0)
    rep = _report(out_dir, "--validation", str(unfinished))
    assert rep.returncode == 2 and "did not complete" in rep.stderr


# ------------------------------------------------------------------ figures


def test_flow_diagram_arrows_are_proportional_to_weekly_flows(reported):
    out_dir, _ = reported
    data = load_folder(out_dir)
    fig = flow_diagram(data)
    try:
        arrows = {
            p.get_gid().removeprefix("flow:"): p.get_arrowstyle().tail_width
            for p in fig.figure.findobj(lambda a: (a.get_gid() or "").startswith("flow:"))
        }
    finally:
        close_all([fig])
    flows = data.base.flows
    flows = flows[flows.per_week_mean > 0]
    expected = {
        f"{o}>{d}": m
        for o, d, m in zip(flows.origin, flows.destination, flows.per_week_mean, strict=True)
        if (o, d) not in ENTRY_TO_PRACTICE
    }
    assert set(arrows) == set(expected)
    largest = max(expected, key=expected.get)
    for key, per_week in expected.items():
        scaled = arrows[largest] * per_week / expected[largest]
        assert arrows[key] == pytest.approx(max(scaled, MIN_ARROW_POINTS)), key


def test_lead_time_distribution_matches_the_routine_wait_kpi(reported):
    out_dir, _ = reported
    ts = pd.read_parquet(out_dir / "timeseries.parquet")
    kpis = pd.read_csv(out_dir / "kpis.csv")
    routine = ts[ts.series == "practice_lead_days_routine"]
    assert set(routine["index"]) == set(range(LEAD_DAYS_LAST + 1))
    for rep, g in routine.groupby("replication"):
        assert g.value[g["index"] == LEAD_DAYS_LAST].sum() == 0  # no wait beyond the bins here
        mean = (g["index"] * g.value).sum() / g.value.sum()
        kpi = kpis[(kpis.replication == rep) & (kpis.kpi == "practice.routine_lead_days_mean")]
        assert mean == pytest.approx(float(kpi.value.iloc[0]), rel=1e-9)


# ------------------------------------------------------------------ text from docs/model.md


def test_every_model_doc_section_the_report_cites_exists():
    text = model_doc.read()
    anchors = {s.anchor for s in model_doc.sections(text)}
    stress_source = Path(sim.report.stress.__file__).read_text(encoding="utf-8")
    cited = set(re.findall(r'_doc\(\s*"([^"]+)"', stress_source)) | set(QUOTED_SECTION.values())
    assert cited and cited <= anchors, cited - anchors
    for anchor in QUOTED_SECTION.values():
        quoted = model_doc.excerpt(text, anchor)
        assert quoted and len(quoted) <= model_doc.EXCERPT_CHARACTERS + 6, anchor
        assert "```" not in quoted and "](" not in quoted and "|---" not in quoted


def test_stress_items_quote_model_doc_where_metadata_cannot_fill_them(reported):
    out_dir, _ = reported
    items = {i.number: i for i in stress_items(load_folder(out_dir))}
    assert set(QUOTED_SECTION) <= set(items)
    for number in QUOTED_SECTION:
        assert items[number].quoted, number
    assert not items["4.2"].quoted  # filled from the manifest
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "From docs/model.md: Requests are handled one at a time" in html  # 2.4 Algorithms


def test_assumption_tables_carry_sources_and_the_runs_values(reported):
    out_dir, _ = reported
    data = load_folder(out_dir)
    data.base.config["site"]["practice_capacity"]["gp"]["fte_per_1000"] = 0.61
    tables = {b.text: b.table for b in assumptions_blocks(data) if b.kind == "table"}
    assert len(tables) >= 8
    capacity = tables["Site: practice capacity"].set_index("setting")
    assert {"value", "unit", "source", "conf."} <= set(capacity.columns)
    run_column = next(c for c in capacity.columns if c.startswith("in the "))
    assert capacity.loc["site.practice_capacity.gp.fte_per_1000", run_column] == "≠ 0.61"
    nurse = capacity.loc["site.practice_capacity.nurse.fte_per_1000"]
    assert nurse[run_column] == nurse["value"]  # as documented, no mark
    assert all(not set(r) <= set("-:| ") for r in capacity.index)  # no Markdown rule rows


# ------------------------------------------------------------------ the paper's files read back


def _headings(out_dir: Path) -> list[str]:
    from sim.report.build import build_blocks

    data = load_folder(out_dir)
    return [b.text for b in build_blocks(data, []) if b.kind in ("h1", "h2", "h3", "h4")]


def test_pdf_pages_are_a4_with_embedded_truetype_fonts(reported):
    out_dir, _ = reported
    pdf = out_dir / "report.pdf"
    sizes = paper_files.page_sizes(pdf)
    assert len(sizes) == paper_files.page_count(pdf) > 5
    for w, h in sizes:
        assert sorted((w, h)) == pytest.approx(sorted(paper_files.A4_POINTS), abs=0.5)
    fonts = paper_files.fonts(pdf)
    assert fonts
    for font in fonts:
        assert font["type"] == "TrueType" and font["emb"] == "yes", font


def test_the_first_page_is_the_summary(reported):
    out_dir, _ = reported
    first = paper_files.page_texts(out_dir / "report.pdf")[0]
    flat = " ".join(first.split())
    for part in ("The question", "The option", "What the numbers show", "How sure we are"):
        assert part in flat, part
    assert "NOT FOR DECISIONS" in flat  # 2 replications of 2 weeks
    assert "Evidence" not in flat


def test_no_page_ends_with_a_heading(reported):
    out_dir, _ = reported
    headings = [" ".join(h.split()) for h in _headings(out_dir)]
    for number, text in enumerate(paper_files.page_texts(out_dir / "report.pdf"), start=1):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        body = [ln for ln in lines if not re.search(r"Page \d+$", ln)]  # the footer
        tail = " ".join(" ".join(body[-3:]).split())
        for h in headings:
            assert not tail.endswith(h), (number, h)


def test_word_document_is_styled_editable_and_a4(reported):
    docx = pytest.importorskip("docx")
    out_dir, _ = reported
    doc = docx.Document(out_dir / "report.docx")
    styles = [p.style.name for p in doc.paragraphs if p.text.strip()]
    assert styles[0] == "Title"
    assert {"Heading 1", "Heading 2", "Heading 3", "Caption"} <= set(styles)
    first_page = " ".join(paper_files.docx_paragraphs_before_first_page_break(doc))
    for part in ("The question", "What the numbers show", "How sure we are", "NOT FOR DECISIONS"):
        assert part in first_page, part
    assert "Evidence" not in first_page
    headed = 0
    for table in doc.tables:
        assert table.style.name == "Light Grid Accent 1"
        header = table.rows[0]._tr.trPr
        headed += header is not None and header.find(qn("w:tblHeader")) is not None
    assert headed == len(doc.tables) >= 10  # every table repeats its header row
    assert len(doc.inline_shapes) >= 5  # the figures
    for section in doc.sections:
        size = sorted((section.page_width.cm, section.page_height.cm))
        assert size == pytest.approx([21.0, 29.7], abs=0.05)


def test_no_local_path_in_any_format(reported):
    docx = pytest.importorskip("docx")
    out_dir, _ = reported
    texts = {
        "html": (out_dir / "report.html").read_text(encoding="utf-8"),
        # as a reader sees it: Markdown's escapes (report.md writes "run\\_weeks") dropped
        "md": re.sub(r"\\(.)", r"\1", (out_dir / "report.md").read_text(encoding="utf-8")),
        "docx": paper_files.docx_text(docx.Document(out_dir / "report.docx")),
        "pdf": "\n".join(paper_files.page_texts(out_dir / "report.pdf")),
    }
    root = str(sim.config.locations.PROJECT_ROOT)
    for name, text in texts.items():
        assert root not in text, name
        assert not re.search(r"(?<![\w.])/(?:tmp|home|root|Users|work)/", text), name
        assert f"outputs/runs/{out_dir.name}" in " ".join(text.split()), name


@pytest.mark.slow
def test_every_pdf_page_renders(reported, tmp_path):
    """pdftoppm draws every page as a reader's viewer would; each has ink, and the first
    carries the red banner of results not fit for a board."""
    from PIL import Image

    out_dir, _ = reported
    pdf = out_dir / "report.pdf"
    paper_files.run(paper_files.need("pdftoppm"), "-r", "40", "-png", str(pdf), str(tmp_path / "p"))
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == paper_files.page_count(pdf)
    for page in pages:
        with Image.open(page) as im:
            grey = im.convert("L")
            assert grey.getextrema()[0] < 128, page.name  # something is printed on it
    with Image.open(pages[0]) as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 60) & (rgb[..., 2] < 70)
    assert red.mean() > 0.02  # the banner


def test_the_paper_measured_without_its_images_lays_out_as_with_them(reported):
    """render_pdf measures the summary figure's room on a paper set without its images (each
    image's room left empty): the same pages and the same room as the paper with them."""
    from reportlab.pdfbase.pdfdoc import PDFImageXObject

    from sim.report.build import PRINT_DPI, all_figures, build_blocks, png_bytes
    from sim.report.pdf import _register_fonts, _styles, _typeset

    out_dir, _ = reported
    data = load_folder(out_dir)
    figures = all_figures(data)
    try:
        blocks = build_blocks(data, figures)
        pngs = {f.key: png_bytes(f, PRINT_DPI) for f in figures}
    finally:
        close_all(figures)
    _register_fonts()
    styles = _styles()
    drawn = []
    original = PDFImageXObject.__init__

    def counting(self, *args, **kwargs):
        drawn.append(1)
        original(self, *args, **kwargs)

    PDFImageXObject.__init__ = counting
    try:
        with_images = _typeset(blocks, pngs, styles, 0.0)
        images_drawn = len(drawn)
        without = _typeset(blocks, pngs, styles, 0.0, images=False)
    finally:
        PDFImageXObject.__init__ = original
    # every figure drawn with its images (and their transparency masks), none without
    assert images_drawn >= len(pngs) > 3 and len(drawn) == images_drawn
    (pdf_with, fitted_with), (pdf_without, fitted_without) = with_images, without
    assert fitted_with.room == fitted_without.room
    assert pdf_with.count(b"/Type /Page\n") == pdf_without.count(b"/Type /Page\n") > 5
