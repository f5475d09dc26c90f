"""Property-based hostile inputs (hypothesis): random files, tables, settings, windows, text
and interruptions. Whatever is generated, the result is a one-line error of the kind the
command reports (:class:`~sim.config.schema.ConfigError`, ``ReportError``,
``ComparisonError``) or a correct result; never another exception, a hang, or a wrong answer
accepted silently.

``derandomize=True`` gives the same examples on every run (a fixed seed), so the suite stays
reproducible; the numbers of examples keep each test to seconds, except the interruptions,
which run the model (a few examples, marked slow).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import configure, run_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile import DESIGN, TINY, run_folder, signal_in_booking_pass
from test_resume import assert_same_files, interrupt_after, manifest

import sim.report.load
from sim.config.scenarios import read_option_file
from sim.config.schema import ConfigError
from sim.core.replication import run_replication
from sim.experiments.comparison import ComparisonError, compare_runs
from sim.report.build import Block, md_text, render_html, render_markdown
from sim.report.load import ReportError, load_run

QUICK = settings(
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --------------------------------------------------------------------------------------------
# Random YAML as a scenario file
# --------------------------------------------------------------------------------------------

#: Pieces of YAML that matter to an attacker or a mistaken editor: anchors and aliases, tags,
#: interpolations, brackets, indentation, Hydra's code keys, bytes of other encodings.
YAML_PIECES = [
    "title: t\n",
    "description: d\n",
    "changes:\n",
    "  site:\n",
    "    hubs:\n",
    "      minutes_per_1000_per_week: 99\n",
    "a: &a [x, x, x, x, x, x, x, x, x]\n",
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n",
    "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
    "t: !!python/object/apply:os.system ['true']\n",
    "x: ${oc.env:HOME}\n",
    "_target_: os.system\n",
    "- item\n",
    "[[[[[[[[",
    "]]]]",
    "{a: {b: {c: ",
    "  - ",
    ": ",
    "'unclosed\n",
    "£\n",
    "\t",
    "incompatible_with: [baseline]\n",
    "changes_demand: true\n",
]


@st.composite
def yaml_files(draw) -> bytes:
    pieces = draw(st.lists(st.sampled_from(YAML_PIECES), max_size=12))
    text = "".join(pieces).encode(draw(st.sampled_from(["utf-8", "cp1252", "utf-16"])))
    noise = draw(st.binary(max_size=8))
    return text + noise if draw(st.booleans()) else text


@QUICK
@given(data=yaml_files())
def test_any_scenario_file_is_read_or_refused_with_one_error(tmp_path, data):
    path = tmp_path / "option.yaml"
    path.write_bytes(data)
    started = time.monotonic()
    try:
        option = read_option_file(path)
    except ConfigError as err:
        assert "\n" not in str(err) and err.file == str(path)
    else:
        assert isinstance(option, dict)
        text = json.dumps(option, default=str)
        assert "${" not in text and "_target_" not in text  # never let through
    assert time.monotonic() - started < 2.0  # no alias bomb hangs the reader


# --------------------------------------------------------------------------------------------
# Random settings: refused with one error, or a replication that conserves every episode
# --------------------------------------------------------------------------------------------

#: Settings a planner edits, with values from the ordinary to the absurd.
NUMBERS = st.one_of(
    st.integers(-5, 5),
    st.integers(0, 10**6),
    st.sampled_from([1e308, -1e308, 1e13, 10**20, float("nan"), float("inf"), 0.5, 1e-300]),
    st.floats(-10, 1e4, allow_nan=False),
)
SETTINGS = [
    "site.practice_capacity.gp.fte_per_1000",
    "site.practice_capacity.gp.slots_per_session",
    "site.practice_capacity.nurse.sessions_per_fte_week",
    "site.practice_capacity.booking_horizon_days",
    "site.hubs.minutes_per_1000_per_week",
    "site.hubs.slot_minutes",
    "site.intermediate_care.places",
    "site.rapid_assessment.sites.shotley_bridge.slots_per_session",
    "site.rapid_assessment.sites.shotley_bridge.session_end_minute",
    "site.core_hours.close_minute",
    "site.emergency_department.frailty_front_of_house.close_minute",
    "assumptions.demand.scale",
    "assumptions.booking.max_callbacks",
    "assumptions.booking.min_notice_minutes",
    "assumptions.nhs111.minutes_to_ae",
    "assumptions.ae.service_minutes.minors.mean",
    "assumptions.intermediate_care.step_up_max_wait_days",
    "assumptions.unit_costs.bed_day",
]


@settings(
    derandomize=True,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.dictionaries(st.sampled_from(SETTINGS), NUMBERS, min_size=1, max_size=3))
def test_any_settings_are_refused_or_run_and_conserve(small_data, changes):
    try:
        run_cfg = configure(small_data, changes)
    except ConfigError as err:
        assert "\n" not in str(err) and err.key.startswith(("site.", "assumptions."))
        return
    result = run_replication(run_cfg.model, 1, 0, 0, 1)
    counts = result.ledger
    assert sum(v for k, v in counts.items() if k != "generated") == counts["generated"]
    for name, value in result.kpis.items():
        assert not np.isinf(value), name


# --------------------------------------------------------------------------------------------
# Random time windows: accepted exactly when they are sound
# --------------------------------------------------------------------------------------------

minutes = st.integers(-60, 1500)


@QUICK
@given(windows=st.lists(st.tuples(minutes, minutes), min_size=1, max_size=4))
def test_practice_sessions_are_accepted_exactly_when_sound(small_data, windows):
    hours = small_data["site"]["core_hours"]
    sessions = [{"start_minute": a, "end_minute": b} for a, b in windows]
    ordered = sorted(windows)
    sound = (
        all(0 <= a < b <= 1440 for a, b in windows)
        and all(hours["open_minute"] <= a and b <= hours["close_minute"] for a, b in windows)
        and all(
            later[0] >= earlier[1] for earlier, later in zip(ordered, ordered[1:], strict=False)
        )
    )
    try:
        configure(small_data, {"site.practice_capacity.sessions": sessions})
    except ConfigError as err:
        assert not sound, err
        assert err.key.startswith("site.practice_capacity.sessions")
    else:
        assert sound


@QUICK
@given(
    day=st.sampled_from(["mon", "sat", "sun"]),
    windows=st.lists(st.tuples(minutes, minutes), max_size=3),
)
def test_hub_opening_is_accepted_exactly_when_sound(small_data, day, windows):
    opening = [{"start_minute": a, "end_minute": b} for a, b in windows]
    ordered = sorted(windows)
    sound = all(0 <= a < b <= 1440 for a, b in windows) and all(
        later[0] >= earlier[1] for earlier, later in zip(ordered, ordered[1:], strict=False)
    )
    try:
        configure(small_data, {f"site.hubs.opening.{day}": opening})
    except ConfigError as err:
        assert not sound, err
        assert err.key.startswith(f"site.hubs.opening.{day}")
    else:
        assert sound


# --------------------------------------------------------------------------------------------
# Random damage to a run's tables, for the report and compare
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("finished") / "run"
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], monkeypatch) == 0
    return folder


CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "nan", "inf", "-1", "1e400", "TRUE", "12,5", "<script>", "$\\frac{$"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
)


@QUICK
@given(
    file=st.sampled_from(["summary.csv", "flows.csv", "calibration.csv", "equity.csv"]),
    edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 8), CELLS), max_size=4),
    drop=st.lists(st.integers(0, 400), max_size=3),
)
def test_a_damaged_table_is_refused_or_reported(finished_run, tmp_path, file, edits, drop):
    folder = tmp_path / "run"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(finished_run, folder)
    frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
    for row, column, value in edits:
        frame.iat[row % len(frame), column % len(frame.columns)] = str(value)
    frame = frame.drop(index=sorted({d % len(frame) for d in drop}))
    frame.to_csv(folder / file, index=False)
    try:
        run = load_run(folder)
    except ReportError as err:
        assert "\n" not in str(err)
        return
    schema = sim.report.load.TABLES[file]
    table = {
        "summary.csv": run.summary,
        "flows.csv": run.flows,
        "calibration.csv": run.calibration,
        "equity.csv": run.equity,
    }[file]
    for column in schema.numbers + schema.counts:
        assert table[column].dtype == float
    for column in schema.counts:
        values = table[column].dropna()
        assert ((values >= 0) & (values == values.round())).all()


@QUICK
@given(
    rows=st.lists(
        st.tuples(
            CELLS, st.sampled_from(["ae.attendances_per_week", "cost.total_annual_gbp"]), CELLS
        ),
        max_size=6,
    )
)
def test_any_kpis_table_is_compared_or_refused(tmp_path, rows):
    base = tmp_path / "base"
    option = tmp_path / "option"
    for folder in (base, option):
        if folder.exists():
            shutil.rmtree(folder)
    run_folder(base, TINY, [100.0, 110.0, 95.0])
    run_folder(option, TINY, [90.0, 101.0, 84.0])
    pd.DataFrame(rows, columns=["replication", "kpi", "value"]).to_csv(
        option / "kpis.csv", index=False
    )
    try:
        table, notes, _ = compare_runs(base, option)
    except ComparisonError as err:
        assert "\n" not in str(err)
    else:
        assert notes == [] and set(table.kpi) <= {"ae.attendances_per_week"}


# --------------------------------------------------------------------------------------------
# Random text in titles: shown exactly as typed in every format
# --------------------------------------------------------------------------------------------


def md_unescape(text: str) -> str:
    """What a Markdown reader shows for :func:`md_text` output (backslash escapes and the
    three entities undone), written out independently of the escaping code."""
    text = re.sub(r"\\(.)", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@QUICK
@given(text=st.text(max_size=60))
def test_any_title_reads_as_typed_and_never_as_markup(text):
    shown = md_text(text, paragraph=False)
    assert "<" not in shown and ">" not in shown and "\n" not in shown
    assert md_unescape(shown) == " ".join(text.split())
    markdown = render_markdown([Block("h1", text), Block("p", text)], "figures")
    assert "<" not in markdown
    page = render_html([Block("h1", text), Block("p", text)], {})
    body = page.split("<body>", 1)[1]
    assert re.sub(r"</?(h1|p|body|html)>", "", body).count("<") == 0


@QUICK
@given(text=st.text(max_size=40))
def test_any_title_can_be_drawn(text):
    import io
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt

    from sim.report.style import PLAIN_TEXT

    with matplotlib.rc_context(PLAIN_TEXT), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # glyphs the font lacks are drawn as boxes
        fig, ax = plt.subplots()
        try:
            ax.set_title(text)
            ax.set_xticks([0, 1], [text, text[::-1]])
            fig.savefig(io.BytesIO(), format="png")
        finally:
            plt.close(fig)


# --------------------------------------------------------------------------------------------
# Random interruptions: wherever they land, resuming gives the files of a clean run
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@settings(
    derandomize=True,
    deadline=None,
    max_examples=4,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(where=st.sampled_from(["after_save", "booking_pass"]), at=st.integers(1, 2))
def test_any_interruption_resumes_to_the_files_of_a_clean_run(finished_run, tmp_path, where, at):
    import signal

    folder = tmp_path / f"run_{where}_{at}"
    if folder.exists():
        shutil.rmtree(folder)
    with pytest.MonkeyPatch.context() as stopping:
        if where == "after_save":
            interrupt_after(at, stopping)
        else:
            signal_in_booking_pass(stopping, signal.SIGINT, on_call=at)
        code = run_sim([*DESIGN, f"hydra.run.dir={folder}"], stopping)
    if code == 0:  # stopped after the last replication was kept: the run completed
        assert manifest(folder)["status"] == "complete"
    else:
        assert code == 130
        assert manifest(folder)["status"] == "interrupted"
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert run_sim([*DESIGN, f"hydra.run.dir={folder}"], monkeypatch) == 0
    assert_same_files(folder, finished_run)
    assert manifest(folder)["status"] == "complete"


@QUICK
@given(text=st.text(max_size=40))
def test_any_title_makes_a_word_and_a_pdf_paper(text):
    """Any text a hand-edited folder may hold reaches the typeset formats as text: ReportLab's
    markup escaped, and what an XML document cannot hold (U+0001, U+FFFE) shown as U+FFFD."""
    from sim.report.build import _without_paths
    from sim.report.pdf import render_pdf
    from sim.report.word import render_docx

    table = pd.DataFrame({text or "column": [text], "n": [1]})
    blocks = [
        _without_paths(b)
        for b in (
            Block("h1", text),
            Block("banner", text),
            Block("p", text, lead=text),
            Block("list", items=[text, text]),
            Block("table", text, table=table),
        )
    ]
    assert render_docx(blocks, {}).startswith(b"PK")
    assert render_pdf(blocks, {}).startswith(b"%PDF")
