"""``python -m sim site-from-csv``: a site built from NHS Digital registration files.

How the written site is validated: the converter writes into a *copy* of ``conf/`` under
``tmp_path`` (``--conf-dir``), and the test composes that copy with Hydra exactly as
``python -m sim site=NAME`` composes the real one (defaults list, ``site`` package, the real
assumptions, experiment and calibration), then runs :func:`sim.config.compose.validate`. Hydra's
``initialize_config_dir`` only sees files inside the folder it is given, and writing into the
real ``conf/site/`` from many tests would leak sites into other tests running at the same
time; only the end-to-end test does that, under a unique name, and removes what it wrote.

Expected values are computed here from the CSV text with the test's own table of age groups,
not with the converter's functions, so a mistake in the converter cannot hide itself.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hypothesis import given
from hypothesis import strategies as st

import sim.config.compose
import sim.config.locations
import sim.data
from sim.config.schema import AGE_BANDS
from sim.tools import site_from_csv

SAMPLES = Path(sim.data.__file__).parent / "samples"
PATIENTS = SAMPLES / "gp_practice_registrations_sample.csv"
LOCALITIES = SAMPLES / "practice_localities_sample.csv"
OVERRIDES = SAMPLES / "practice_overrides_sample.csv"
NORTH_DURHAM = sim.config.locations.CONF_DIR / "site" / "north_durham.yaml"
RUNS_DIR = sim.config.locations.OUTPUTS_DIR / "runs"

#: The model band of every published five-year group, written out by hand.
FIVE_YEAR_BAND = {
    "0_4": "0-4",
    "5_9": "5-14",
    "10_14": "5-14",
    "15_19": "15-24",
    "20_24": "15-24",
    "25_29": "25-44",
    "30_34": "25-44",
    "35_39": "25-44",
    "40_44": "25-44",
    "45_49": "45-64",
    "50_54": "45-64",
    "55_59": "45-64",
    "60_64": "45-64",
    "65_69": "65-74",
    "70_74": "65-74",
    "75_79": "75-84",
    "80_84": "75-84",
    "85_89": "85+",
    "90_94": "85+",
    "95+": "85+",
}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def expected_counts(path: Path = PATIENTS) -> dict[str, dict[str, int]]:
    """Patients by practice and model band from the SEX=ALL rows of a five-year file."""
    out: dict[str, dict[str, int]] = {}
    for row in read_rows(path)[1]:
        if row["SEX"] == "ALL" and row["AGE_GROUP_5"] != "ALL":
            bands = out.setdefault(row["ORG_CODE"], dict.fromkeys(AGE_BANDS, 0))
            bands[FIVE_YEAR_BAND[row["AGE_GROUP_5"]]] += int(row["NUMBER_OF_PATIENTS"])
    return out


def convert(conf: Path, *extra: str, patients=(PATIENTS,), localities=LOCALITIES, name="t_site"):
    """Run the converter's ``main``; returns (exit code, stdout, stderr, YAML data or None)."""
    argv = ["--patients", *map(str, patients), "--localities", str(localities), "--name", name]
    argv += ["--conf-dir", str(conf), *extra]
    return _run_main(argv, conf / "site" / f"{name}.yaml")


def _run_main(argv: list[str], path: Path):
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        try:
            code = site_from_csv.main(argv)
        except SystemExit as exit_:  # argparse usage errors
            code = exit_.code
    finally:
        sys.stdout, sys.stderr = saved
    data = yaml.safe_load(path.read_text()) if code == 0 else None
    return code, out.getvalue(), err.getvalue(), data


@pytest.fixture
def conf(tmp_path) -> Path:
    folder = tmp_path / "conf"
    (folder / "site").mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory) -> dict:
    conf = tmp_path_factory.mktemp("sample") / "conf"
    conf.mkdir()
    code, _, err, data = convert(conf, name="sample")
    assert code == 0, err
    return data


def assert_one_line_error(code, err, *words):
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Input error: "), err
    assert "Traceback" not in err
    for word in words:
        assert str(word) in lines[0], f"{word!r} not in {lines[0]!r}"


# --------------------------------------------------------------------------------------------
# The sample converts into a valid site
# --------------------------------------------------------------------------------------------


def test_sample_converts_and_validates_through_hydra(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(sim.config.locations.CONF_DIR, conf)
    code, out, err, _ = convert(conf, "--overrides", str(OVERRIDES), name="sample_area")
    assert code == 0, err
    written = conf / "site" / "sample_area.yaml"
    assert out.strip().splitlines()[-1] == str(written.resolve())
    assert "6 practices in 2 localities" in out and "41,589 registered patients" in out
    assert "65+ share" in out

    sim.config.compose.register()
    with initialize_config_dir(config_dir=str(conf), version_base="1.3", job_name="own_area"):
        cfg = compose(config_name="config", overrides=["site=sample_area"])
    run_cfg, _ = sim.config.compose.validate(cfg)
    site = run_cfg.model.site
    assert site.name == "sample_area"
    assert list(site.localities) == ["riverside", "moorland"]
    assert [site.localities[k].title for k in site.localities] == ["Riverside", "Moorland"]
    assert list(site.practices) == [f"X9900{i}" for i in range(1, 7)]
    assert site.practices["X99001"].name == "Riverside Medical Centre"
    assert site.practices["X99001"].gp_fte == 5.5


def test_list_sizes_equal_the_csv_totals_exactly(sample_site):
    expected = expected_counts()
    all_rows = {
        r["ORG_CODE"]: int(r["NUMBER_OF_PATIENTS"])
        for r in read_rows(PATIENTS)[1]
        if r["SEX"] == "ALL" and r["AGE_GROUP_5"] == "ALL"
    }
    practices = sample_site["practices"]
    assert set(practices) == set(expected)
    for code, bands in expected.items():
        assert practices[code]["list_size"] == sum(bands.values()) == all_rows[code]
    assert sum(p["list_size"] for p in practices.values()) == sum(all_rows.values()) == 41_589


def test_age_shares_match_the_csv_within_rounding(sample_site):
    expected = expected_counts()

    def check(share: dict, counts: dict) -> None:
        assert list(share) == list(AGE_BANDS)
        total = sum(counts.values())
        for band in AGE_BANDS:
            assert abs(share[band] - counts[band] / total) < 1e-4, band
            assert round(share[band], 4) == share[band]  # 4 decimal places
        assert abs(sum(share.values()) - 1) <= 1e-6

    for code, counts in expected.items():
        check(sample_site["practices"][code]["age_share"], counts)
    site_counts = {b: sum(c[b] for c in expected.values()) for b in AGE_BANDS}
    check(sample_site["age_share"], site_counts)
    localities = read_rows(LOCALITIES)[1]
    for key in ("riverside", "moorland"):
        codes = [r["PRACTICE_CODE"] for r in localities if r["LOCALITY"] == key]
        counts = {b: sum(expected[c][b] for c in codes) for b in AGE_BANDS}
        check(sample_site["localities"][key]["age_share"], counts)


def test_frailty_calendar_and_copied_capacity_match_north_durham(sample_site):
    """Copied defaults are the North Durham values, read from its YAML."""
    nd = yaml.safe_load(NORTH_DURHAM.read_text())
    for key in ("calendar_start", "frailty_share_65plus", "core_hours", "practice_capacity"):
        assert sample_site[key] == nd[key], key
    for key in ("hubs", "frail_weekend_service"):
        assert sample_site[key] == nd[key], key
    ed, nd_ed = sample_site["emergency_department"], nd["emergency_department"]
    assert ed["frailty_front_of_house"] == nd_ed["frailty_front_of_house"]
    assert (
        sample_site["intermediate_care"]["running_cost_per_place_day_gbp"]
        == (nd["intermediate_care"]["running_cost_per_place_day_gbp"])
    )
    rac, nd_rac = sample_site["rapid_assessment"], nd["rapid_assessment"]
    assert rac["running_cost_per_session_gbp"] == nd_rac["running_cost_per_session_gbp"]
    (clinic,) = rac["sites"].values()
    for nd_clinic in nd_rac["sites"].values():
        for key in ("slots_per_session", "session_start_minute", "session_end_minute"):
            assert clinic[key] == nd_clinic[key]
    # The reference the scaling starts from is the shipped file itself (no copy to drift).
    assert sum(p["list_size"] for p in nd["practices"].values()) == 255_000


def test_every_section_of_the_reference_is_copied_and_its_capacities_scaled(
    conf, tmp_path, monkeypatch
):
    """A section added to the reference site (a new service) reaches a new area's file with
    its comments, without a change to the builder; an absolute capacity declared scaled is
    scaled to the area's population, 0 (not commissioned) staying 0."""
    extra = (
        "\n# A new service [SRC1]\n"
        "new_service:                 # pooled beds [SRC2]\n"
        "  beds: 51                   # staffed beds [SRC3]\n"
        "  spare: 0                   # not commissioned [SRC4]\n"
        "  cost_per_bed_day_gbp: 300  # [SRC5]\n"
    )
    reference = tmp_path / "reference.yaml"
    reference.write_text(NORTH_DURHAM.read_text() + extra)
    monkeypatch.setattr(
        site_from_csv, "default_reference", lambda: site_from_csv.read_reference(reference)
    )
    monkeypatch.setattr(
        site_from_csv,
        "SITE_SCALED",
        (*site_from_csv.SITE_SCALED, "new_service.beds", "new_service.spare"),
    )
    # The site schema has no such service: only the copying is tested here.
    monkeypatch.setattr(site_from_csv, "validate_text", lambda text, path: None)
    code, _, err, data = convert(conf)
    assert code == 0, err
    text = (conf / "site" / "t_site.yaml").read_text()
    for key in ("[SRC1]", "[SRC2]", "[SRC3]", "[SRC4]", "[SRC5]"):
        assert key in text, key
    scale = 41_589 / 255_000
    assert data["new_service"] == {
        "beds": max(1, int(51 * scale + 0.5)),
        "spare": 0,
        "cost_per_bed_day_gbp": 300,
    }


def test_values_are_written_with_their_source_comments(conf):
    code, _, err, _ = convert(conf)
    assert code == 0, err
    text = (conf / "site" / "t_site.yaml").read_text()
    for key in ("[PCNDES22", "[BMA24", "[CLEGG16, R]", "[NAIC15, V2/P]", "[HSCIC15", "[GMS]"):
        assert key in text, key
    assert "Patients Registered at a GP Practice" in text and "extract 01APR2025" in text
    places = next(line for line in text.splitlines() if line.strip().startswith("places:"))
    assert "115 per 255,000" in places


def test_absolute_capacity_scales_with_population(sample_site):
    total = 41_589
    scale = total / 255_000
    nd = yaml.safe_load(NORTH_DURHAM.read_text())["emergency_department"]
    ed = sample_site["emergency_department"]
    for key in ("minors_clinicians_by_hour", "majors_clinicians_by_hour"):
        assert ed[key] == [max(1, int(v * scale + 0.5)) for v in nd[key]]
    assert sample_site["intermediate_care"]["places"] == round(115 * scale) == 19
    # The hospital's absolute capacities (cubicles, SDEC, beds, places); its other settings
    # (costs, hours, the full-capacity protocol's wait) are copied unchanged.
    full = yaml.safe_load(NORTH_DURHAM.read_text())
    assert ed["majors_spaces"] == 5 and ed["sdec"]["spaces"] == 1
    beds = sample_site["acute_beds"]
    # 498 x 0.1631 = 81.2 and 120 x 0.1631 = 19.6, rounded
    assert (beds["general_and_acute"], beds["background_admissions_per_week"]) == (81, 20)
    assert beds["escalation_spaces"] == 3 and sample_site["social_care"]["places"] == 8
    for key in ("running_cost_per_bed_day_gbp", "escalate_after_hours"):
        assert beds[key] == full["acute_beds"][key], key
    assert ed["sdec"]["close_minute"] == full["emergency_department"]["sdec"]["close_minute"]
    (clinic,) = sample_site["rapid_assessment"]["sites"].values()
    assert clinic["sessions_per_weekday"] == {
        "mon": 1, "tue": 1, "wed": 1, "thu": 1, "fri": 1, "sat": 0, "sun": 0
    }  # fmt: skip


def test_a_north_durham_sized_area_gets_north_durham_capacity(conf, tmp_path):
    """255,000 patients scale by exactly 1: the North Durham rota, places and clinics."""
    columns = ["ORG_CODE", "SEX", "AGE_GROUP_5", "NUMBER_OF_PATIENTS"]
    rows = [
        {"ORG_CODE": code, "SEX": "ALL", "AGE_GROUP_5": group, "NUMBER_OF_PATIENTS": str(n)}
        for code, n in (("A00001", 5000), ("A00002", 7750))
        for group in FIVE_YEAR_BAND
    ]  # 20 groups x (5,000 + 7,750) = 255,000
    patients = write_rows(tmp_path / "big.csv", columns, rows)
    mapping = tmp_path / "map.csv"
    mapping.write_text("PRACTICE_CODE,PCN_NAME\nA00001,North PCN\nA00002,North PCN\n")
    code, _, err, data = convert(conf, patients=[patients], localities=mapping)
    assert code == 0, err
    nd = yaml.safe_load(NORTH_DURHAM.read_text())
    assert sum(p["list_size"] for p in data["practices"].values()) == 255_000
    for key in ("minors_clinicians_by_hour", "majors_clinicians_by_hour"):
        assert data["emergency_department"][key] == nd["emergency_department"][key]
    assert data["intermediate_care"]["places"] == nd["intermediate_care"]["places"]
    (clinic,) = data["rapid_assessment"]["sites"].values()
    assert clinic["sessions_per_weekday"]["mon"] == 2
    assert data["localities"] == {
        "north_pcn": {"title": "North PCN", "age_share": data["age_share"]}
    }


# --------------------------------------------------------------------------------------------
# Formats and options
# --------------------------------------------------------------------------------------------


def single_year_files(folder: Path) -> list[Path]:
    """The sample's MALE and FEMALE rows re-published as the two single-year files: each
    five-year count split over its five ages (remainder to the youngest), 95+ kept."""
    header = [
        "PUBLICATION", "EXTRACT_DATE", "TYPE", "CCG_CODE", "ONS_CCG_CODE", "ORG_CODE",
        "POSTCODE", "SEX", "AGE", "NUMBER_OF_PATIENTS",
    ]  # fmt: skip
    out = []
    for sex in ("MALE", "FEMALE"):
        rows = []
        for r in read_rows(PATIENTS)[1]:
            if r["SEX"] != sex:
                continue
            base = {k: r[k] for k in ("PUBLICATION", "EXTRACT_DATE", "TYPE", "ORG_CODE")}
            base |= {"CCG_CODE": "99Z", "ONS_CCG_CODE": "E38999999", "POSTCODE": r["POSTCODE"]}
            base |= {"SEX": sex}
            group, n = r["AGE_GROUP_5"], int(r["NUMBER_OF_PATIENTS"])
            if group in ("ALL", "95+"):
                rows.append(base | {"AGE": group, "NUMBER_OF_PATIENTS": str(n)})
                continue
            lo = int(group.split("_")[0])
            for i in range(5):
                part = n // 5 + (1 if i < n % 5 else 0)
                rows.append(base | {"AGE": str(lo + i), "NUMBER_OF_PATIENTS": str(part)})
        out.append(write_rows(folder / f"sing-age-{sex.lower()}.csv", header, rows))
    return out


def test_single_year_files_give_the_same_bands_as_the_five_year_file(conf, tmp_path, sample_site):
    male, female = single_year_files(tmp_path)
    reg = site_from_csv.read_registrations([male, female])
    assert reg.kind == "single-year" and reg.warnings == []
    expected = expected_counts()
    assert reg.bands == {c: [b[band] for band in AGE_BANDS] for c, b in expected.items()}
    code, _, err, data = convert(conf, patients=[male, female])
    assert code == 0, err
    for key in ("practices", "localities", "age_share"):
        assert data[key] == sample_site[key], key


def test_only_male_single_year_file_is_refused(conf, tmp_path):
    male, _ = single_year_files(tmp_path)
    code, _, err, _ = convert(conf, patients=[male])
    assert_one_line_error(code, err, str(male), "no FEMALE rows", "pass both")


def test_pcn_names_and_only_mapped(conf, tmp_path):
    mapping = tmp_path / "pcn.csv"
    mapping.write_text(
        "PRACTICE_CODE,PRACTICE_NAME,PCN_NAME,PCN_CODE\n"
        "X99001,A,Riverside & Bridge PCN,U00001\nX99002,B,Riverside & Bridge PCN,U00001\n"
        "X99003,C,Moor (North) PCN,U00002\n"
    )
    code, _, err, _ = convert(conf, localities=mapping)
    assert_one_line_error(
        code, err, str(mapping), "3 practices", "X99004", "X99006", "--only-mapped"
    )
    code, out, err, data = convert(conf, "--only-mapped", localities=mapping)
    assert code == 0, err
    assert list(data["localities"]) == ["riverside_bridge_pcn", "moor_north_pcn"]
    assert data["localities"]["moor_north_pcn"]["title"] == "Moor (North) PCN"
    assert list(data["practices"]) == ["X99001", "X99002", "X99003"]
    assert "3 practices in 2 localities" in out


def test_overrides_set_fte_and_sessions(conf):
    code, out, err, data = convert(conf, "--overrides", str(OVERRIDES))
    assert code == 0, err
    p = data["practices"]
    assert p["X99001"]["gp_fte"] == 5.5 and "nurse_fte" not in p["X99001"]
    assert p["X99004"]["nurse_fte"] == 6.2 and p["X99004"]["pharmacist_fte"] == 1.0
    assert p["X99005"]["gp_fte"] == 3.0  # 27 sessions / 9 a week
    assert p["X99005"]["pharmacist_fte"] == 0.5  # 4.5 sessions
    for code_ in ("X99002", "X99003", "X99006"):
        assert not any(k.endswith("_fte") for k in p[code_])
    assert "3 practices with FTE set" in out


def test_core_hours_from_open_and_close(conf):
    code, _, err, data = convert(conf, "--open", "08:30", "--close", "19:00")
    assert code == 0, err
    assert data["core_hours"]["open_minute"] == 510
    assert data["core_hours"]["close_minute"] == 1140
    assert "hubs open at 18:30" in err  # a warning, not an error


def test_totals_that_disagree_by_more_than_1_percent_warn(conf, tmp_path):
    columns, rows = read_rows(PATIENTS)
    for r in rows:
        if (r["ORG_CODE"], r["SEX"], r["AGE_GROUP_5"]) == ("X99003", "ALL", "ALL"):
            r["NUMBER_OF_PATIENTS"] = str(int(r["NUMBER_OF_PATIENTS"]) + 100)  # 2.4% more
    patients = write_rows(tmp_path / "p.csv", columns, rows)
    code, _, err, data = convert(conf, patients=[patients])
    assert code == 0, err
    assert "Warning" in err and "X99003" in err and "4,234" in err
    assert data["practices"]["X99003"]["list_size"] == 4234  # the age groups


@given(st.lists(st.integers(0, 10**6), min_size=8, max_size=8).filter(lambda c: sum(c) > 0))
def test_rounded_shares_sum_to_one_and_stay_within_rounding(counts):
    units = site_from_csv.rounded_shares(counts)
    assert sum(units) == 10_000
    total = sum(counts)
    for c, u in zip(counts, units, strict=True):
        assert abs(u / 10_000 - c / total) < 1e-4


# --------------------------------------------------------------------------------------------
# Malformed inputs: one line naming the file and the problem, exit 2
# --------------------------------------------------------------------------------------------


def _edit_patients(tmp_path, edit) -> Path:
    columns, rows = read_rows(PATIENTS)
    columns, rows = edit(columns, rows)
    return write_rows(tmp_path / "patients.csv", columns, rows)


def _edit_mapping(tmp_path, text: str) -> Path:
    path = tmp_path / "localities.csv"
    path.write_text(text)
    return path


MAPPING = LOCALITIES.read_text()


def test_missing_column(conf, tmp_path):
    patients = _edit_patients(
        tmp_path, lambda c, r: ([x for x in c if x != "NUMBER_OF_PATIENTS"], r)
    )
    code, _, err, _ = convert(conf, patients=[patients])
    assert_one_line_error(code, err, patients, "missing column NUMBER_OF_PATIENTS")
    mapping = _edit_mapping(tmp_path, MAPPING.replace("LOCALITY,", "AREA,"))
    code, _, err, _ = convert(conf, localities=mapping)
    assert_one_line_error(code, err, mapping, "missing column LOCALITY (or PCN_NAME)")


def test_negative_count_names_file_row_and_column(conf, tmp_path):
    def edit(columns, rows):
        rows[10]["NUMBER_OF_PATIENTS"] = "-5"
        return columns, rows

    patients = _edit_patients(tmp_path, edit)
    code, _, err, _ = convert(conf, patients=[patients])
    # Data row 10 (0-based) is line 12 of the file: line 1 is the header.
    assert_one_line_error(code, err, patients, "row 12", "NUMBER_OF_PATIENTS", "negative")


def test_count_that_is_not_a_number(conf, tmp_path):
    def edit(columns, rows):
        rows[0]["NUMBER_OF_PATIENTS"] = "lots"
        return columns, rows

    patients = _edit_patients(tmp_path, edit)
    code, _, err, _ = convert(conf, patients=[patients])
    assert_one_line_error(code, err, patients, "row 2", "'lots' is not a count")


def test_unknown_practice_in_mapping(conf, tmp_path):
    mapping = _edit_mapping(tmp_path, MAPPING + "X99999,Nowhere Surgery,moorland,Moorland\n")
    code, _, err, _ = convert(conf, localities=mapping)
    assert_one_line_error(code, err, mapping, "unknown practice code X99999", "no patients")


def test_practice_with_no_locality(conf, tmp_path):
    blank = _edit_mapping(
        tmp_path,
        MAPPING.replace("X99003,Castle View Practice,riverside", "X99003,Castle View Practice,"),
    )
    code, _, err, _ = convert(conf, localities=blank)
    assert_one_line_error(code, err, blank, "row 4", "X99003 has no locality")
    missing = _edit_mapping(tmp_path, "".join(MAPPING.splitlines(keepends=True)[:-1]))
    code, _, err, _ = convert(conf, localities=missing)
    assert_one_line_error(code, err, missing, "1 practice", "X99006", "has no locality")


@pytest.mark.parametrize("name", ["my area", "../escape", "9lives", "area.yaml", ""])
def test_bad_name(conf, name):
    code, _, err, _ = convert(conf, name=name)
    assert_one_line_error(code, err, "--name", repr(name), "not a simple name")
    assert list((conf / "site").iterdir()) == []


def test_names_yaml_would_misread_are_quoted(conf):
    code, _, err, data = convert(conf, name="yes")
    assert code == 0, err
    assert data["name"] == "yes" and data["title"] == "Yes"


def test_existing_file_needs_force(conf):
    path = conf / "site" / "t_site.yaml"
    made = "# T Site\n# Written by `python -m sim site-from-csv` (docs/own_area.md) from\n# edits\n"
    path.write_text(made)
    code, _, err, _ = convert(conf)
    assert_one_line_error(code, err, path, "already exists", "--force")
    assert path.read_text() == made
    code, _, err, data = convert(conf, "--force")
    assert code == 0, err
    assert data["name"] == "t_site"


@pytest.mark.parametrize("name", ["north_durham", "hand_written"])
def test_force_never_replaces_a_site_this_command_did_not_write(conf, name):
    """The shipped site (refused by its name), or one a planner wrote by hand, is never
    overwritten."""
    path = conf / "site" / f"{name}.yaml"
    text = NORTH_DURHAM.read_text() if name == "north_durham" else "# a planner's site\n"
    path.write_text(text)
    code, _, err, _ = convert(conf, "--force", name=name)
    if name == "north_durham":
        assert_one_line_error(code, err, "'north_durham' is the name of a shipped site", "--name")
    else:
        assert_one_line_error(code, err, path, "was not written by this command", "--name")
    assert path.read_text() == text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("PRACTICE_CODE,GP_FTE\nX99001,5\nX99077,3\n", ["unknown practice code X99077"]),
        ("PRACTICE_CODE,GP_FTE\nX99001,-2\n", ["row 2, column GP_FTE", "negative"]),
        ("PRACTICE_CODE,GP_FTE\nX99001,five\n", ["row 2, column GP_FTE", "not a number"]),
        ("PRACTICE_CODE,GP_FTE,GP_SESSIONS\nX99001,5,45\n", ["row 2", "both GP_FTE"]),
        ("PRACTICE_CODE,OPENING_HOURS\nX99001,08:00-18:30\n", ["OPENING_HOURS", "--open"]),
        ("PRACTICE_CODE,GP FTEs\nX99001,5\n", ["unknown column GP_FTES"]),
        ("PRACTICE_CODE,PRACTICE_NAME\nX99001,A\n", ["no override columns"]),
    ],
    ids=["unknown-code", "negative", "not-number", "fte-and-sessions", "hours", "typo", "none"],
)
def test_bad_overrides(conf, tmp_path, text, words):
    path = tmp_path / "overrides.csv"
    path.write_text(text)
    code, _, err, _ = convert(conf, "--overrides", str(path))
    assert_one_line_error(code, err, path, *words)


def test_other_malformed_patients_files(conf, tmp_path):
    # The same file twice, or a copy of it (as when two downloads are mixed up).
    code, _, err, _ = convert(conf, patients=[PATIENTS, PATIENTS])
    assert_one_line_error(code, err, PATIENTS, "given twice after --patients")
    copy = Path(shutil.copy(PATIENTS, tmp_path / "copy.csv"))
    code, _, err, _ = convert(conf, patients=[PATIENTS, copy])
    assert_one_line_error(code, err, copy, f"row 2 repeats row 2 of {PATIENTS}", "given twice")
    # The list-size file without ages.
    only_all = _edit_patients(
        tmp_path, lambda c, r: (c, [x for x in r if x["AGE_GROUP_5"] == "ALL"])
    )
    code, _, err, _ = convert(conf, patients=[only_all])
    assert_one_line_error(code, err, only_all, "no age breakdown")

    # An age group the model bands cannot take.
    def edit(columns, rows):
        rows[3]["AGE_GROUP_5"] = "15_24"
        return columns, rows

    bad_age = _edit_patients(tmp_path, edit)
    code, _, err, _ = convert(conf, patients=[bad_age])
    assert_one_line_error(code, err, bad_age, "row 5, column AGE_GROUP_5", "'15_24'")
    # A file that does not exist.
    code, _, err, _ = convert(conf, patients=[tmp_path / "nope.csv"])
    assert_one_line_error(code, err, tmp_path / "nope.csv", "file not found")


def test_bad_times(conf):
    code, _, err, _ = convert(conf, "--open", "8am")
    assert_one_line_error(code, err, "--open", "'8am' is not a time")
    code, _, err, _ = convert(conf, "--open", "19:00")
    assert_one_line_error(code, err, "--close", "18:30 is not after 19:00")


def test_the_command_line_reports_one_line_without_traceback(tmp_path):
    mapping = _edit_mapping(tmp_path, MAPPING + "X99999,Nowhere Surgery,moorland,Moorland\n")
    done = subprocess.run(
        [
            sys.executable, "-m", "sim", "site-from-csv", "--patients", str(PATIENTS),
            "--localities", str(mapping), "--name", "cli_site", "--conf-dir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(done.returncode, done.stderr, mapping, "X99999")
    assert done.stdout == ""
    assert not (tmp_path / "site").exists()
    done = subprocess.run(
        [sys.executable, "-m", "sim", "site-from-csv", "--name", "x"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(done.returncode, done.stderr, "command line", "--patients")


# --------------------------------------------------------------------------------------------
# End to end: the written site runs through `python -m sim`
# --------------------------------------------------------------------------------------------


def test_end_to_end_the_written_site_runs(tmp_path):
    name = f"zz_test_own_area_{uuid.uuid4().hex[:8]}"
    site_file = sim.config.locations.CONF_DIR / "site" / f"{name}.yaml"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    out_dir = None
    try:
        made = subprocess.run(
            [
                sys.executable, "-m", "sim", "site-from-csv", "--patients", str(PATIENTS),
                "--localities", str(LOCALITIES), "--overrides", str(OVERRIDES), "--name", name,
            ],
            capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert made.stdout.strip().splitlines()[-1] == str(site_file.resolve())
        ran = subprocess.run(
            [
                sys.executable, "-m", "sim", f"site={name}", "experiment=quick",
                "experiment.replications=1", "experiment.run_weeks=2",
                "experiment.warmup_weeks=1",
            ],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
        )  # fmt: skip
        if ran.stdout.strip():
            out_dir = Path(ran.stdout.strip().splitlines()[-1])
        assert ran.returncode == 0, ran.stderr
        assert out_dir is not None and out_dir.resolve().parent == RUNS_DIR.resolve()
        manifest = json.loads((out_dir / "manifest.json").read_text())
        assert manifest["status"] == "complete"
        assert manifest["site"] == name
        assert manifest["replications"] == 1 and manifest["run_weeks"] == 2
        for file in manifest["files"]:
            assert (out_dir / file).is_file(), file
        assert manifest["episodes"] > 0
    finally:
        site_file.unlink(missing_ok=True)
        if (
            out_dir is not None
            and out_dir.is_dir()
            and out_dir.resolve().parent == RUNS_DIR.resolve()
        ):
            shutil.rmtree(out_dir)
