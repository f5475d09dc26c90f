"""docs/model.md cannot drift from the configuration.

Three kinds of quoted default are checked against the configuration the model runs with
(``conf/`` composed by Hydra and validated, so settings with code defaults count too):

* every row of the assumptions tables (`` | `setting` | value | ... ``): the numbers in the
  value cell, in order, must be the setting's numbers (a share may be written as a
  percentage; text in brackets is a gloss and is ignored; for a mapping, each comma- or
  semicolon-separated item ends with its number, after its label);
* every number in the text followed by a hidden marker ``<!-- cfg: <setting> -->``;
* every row of the calibration targets table: target, tolerance and role.

A setting named in the docs that the configuration does not have fails too (a stale row).
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import configure

DOC = Path(__file__).resolve().parent.parent / "docs" / "model.md"
TEXT = DOC.read_text(encoding="utf-8")
NUMBER = r"-?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?%?"
#: Settings whose value is a structure of times (sessions, opening windows) written as clock
#: times in the table: not compared number by number.
STRUCTURED = {
    "site.practice_capacity.sessions",
    "site.hubs.opening",
    "site.frail_weekend_service.opening",
    "site.rapid_assessment.sites",
    "site.rapid_assessment.sites.*.sessions_per_weekday",
    "site.rapid_assessment.sites.*.slots_per_session",
    "site.rapid_assessment.sites.*.session_start_minute",
    "site.localities",
    "site.practices.*.list_size",
}


@pytest.fixture(scope="module")
def config(real_data) -> dict[str, Any]:
    run_cfg = configure(real_data)
    return {"site": run_cfg.model.site, "assumptions": run_cfg.model.assumptions}


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def resolve(config: dict[str, Any], key: str) -> Any:
    """The value at a dotted setting (``assumptions.`` may be left out, as in the tables)."""
    if not key.startswith(("site.", "assumptions.")):
        key = "assumptions." + key
    node: Any = config
    for part in key.split("."):
        if dataclasses.is_dataclass(node) and part in {f.name for f in dataclasses.fields(node)}:
            node = getattr(node, part)
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(key)
    return plain(node)


def parse(token: str) -> float:
    value = float(token.rstrip("%").replace(",", ""))
    return value / 100 if token.endswith("%") else value


def flatten(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in flatten(v)]
    if isinstance(value, list):
        return [x for v in value for x in flatten(v)]
    return [value]


def numbers_in_cell(cell: str, per_item: bool) -> list[float]:
    """Numbers of a value cell, glosses in brackets removed; with ``per_item`` only the last
    number of each comma- or semicolon-separated item (its label may hold numbers: "0-4")."""
    cell = re.sub(r"\([^)]*\)", " ", cell)
    cell = re.sub(r"(?<=\d)-(?=\d)", " ", cell)  # a range "480-1200" or a band "0-4"
    if not per_item:
        return [parse(t) for t in re.findall(NUMBER, cell)]
    out = []
    for item in re.split(r"[,;]", cell):
        found = re.findall(NUMBER, item)
        if found:
            out.append(parse(found[-1]))
    return out


def same(a: float, b: Any) -> bool:
    return (
        isinstance(b, (int, float))
        and not isinstance(b, bool)
        and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    )


def table_rows() -> list[tuple[list[str], str]]:
    """(settings, value cell) of every assumptions-table row (the calibration table apart, and
    the table of distributions, which tests/test_uncertainty_config.py checks)."""
    section = TEXT[TEXT.index("## Assumptions and sources") : TEXT.index("### Calibration targets")]
    start = section.find("### Uncertainty")
    if start >= 0:
        end = section.find("\n### ", start + 1)
        section = section[:start] + (section[end:] if end >= 0 else "")
    rows = []
    for line in section.splitlines():
        m = re.match(r"^\| (`[^|]+`) \| ([^|]*) \|", line)
        if not m:
            continue
        keys = re.findall(r"`([^`]+)`", m.group(1))
        if keys and not keys[0].startswith(("site.", "assumptions.")) and "." not in keys[0]:
            continue  # not a setting (the calibration table lists KPIs)
        rows.append((keys, m.group(2).strip()))
    return rows


ROWS = table_rows()


def test_the_tables_are_found():
    assert len(ROWS) > 100


@pytest.mark.parametrize(("keys", "cell"), ROWS, ids=[r[0][0] for r in ROWS])
def test_assumption_rows_quote_the_configuration(config, keys, cell):
    key = keys[0]
    if any(key == s or key.startswith(s + ".") for s in STRUCTURED) or "*" in key:
        return
    # Two settings in one row share a parent: `a.b.open_minute`, `close_minute`.
    parent = key.rsplit(".", 1)[0]
    settings = [key] + [f"{parent}.{k}" for k in keys[1:]]
    try:
        values = [resolve(config, k) for k in settings]
    except KeyError as err:
        pytest.fail(f"docs/model.md quotes {err.args[0]}, which the configuration does not have")
    flat = [x for v in values for x in flatten(v)]
    if any(isinstance(x, str) for x in flat) and any(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat
    ):  # numbers and names (core hours and weekdays): the numbers are checked
        flat = [x for x in flat if not isinstance(x, str)]
        values = flat
    if all(isinstance(x, str) for x in flat):
        words = cell.lower()
        if all(
            len(x) == 3 and x in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") for x in flat
        ):
            expected = f"{flat[0]}-{flat[-1]}" if len(flat) > 1 else flat[0]
            assert expected in words, f"{key}: {cell!r} does not say {expected}"
            return
        for x in flat:
            assert str(x).lower() in words, f"{key}: {cell!r} does not quote {x!r}"
        return
    if all(isinstance(x, bool) for x in flat):
        assert str(flat[0]).lower() in cell.lower(), f"{key}: {cell!r} vs {flat}"
        return
    per_item = any(isinstance(v, dict) for v in values)
    got = numbers_in_cell(cell, per_item)
    assert len(got) == len(flat) and all(same(g, x) for g, x in zip(got, flat, strict=True)), (
        f"docs/model.md quotes {key} as {cell!r}; the configuration says {values}"
    )


MARKERS = re.findall(rf"({NUMBER})\s*<!--\s*cfg:\s*([^\s]+)\s*-->", TEXT)


def test_quoted_defaults_in_the_text_are_marked():
    # The hospital sections quote their defaults with markers; a count guards against losing
    # them wholesale.
    assert len(MARKERS) >= 40


@pytest.mark.parametrize(("number", "key"), MARKERS, ids=[k for _, k in MARKERS])
def test_marked_numbers_in_the_text_quote_the_configuration(config, number, key):
    try:
        value = resolve(config, key)
    except KeyError:
        pytest.fail(f"docs/model.md marks a number with {key}, which the configuration lacks")
    assert same(parse(number), value), f"docs/model.md says {number} for {key}; YAML {value}"


def test_a_wrong_quote_fails(config):
    """The check can fail: a table cell or a marked number that disagrees is caught."""
    assert not same(parse("1.07"), resolve(config, "assumptions.demand.scale"))
    got = numbers_in_cell("0-4 5.5, 5-14 2.5 (a gloss 9)", per_item=True)
    assert got == [5.5, 2.5]
    assert numbers_in_cell("5.0%, 11%", per_item=False) == [0.05, 0.11]


def calibration_rows() -> list[list[str]]:
    section = TEXT[TEXT.index("### Calibration targets") :]
    return [
        [c.strip() for c in line.strip("|").split("|")]
        for line in section.splitlines()
        if re.match(r"^\| `", line)
    ]


def test_the_calibration_table_quotes_the_targets(real_data):
    targets = real_data["calibration"]["targets"]
    rows = calibration_rows()
    assert len(rows) == len(targets)
    for row, t in zip(rows, targets, strict=True):
        assert row[0] == f"`{t['kpi']}`"
        assert same(parse(row[1]), t["value"]) and same(parse(row[2]), t["tolerance"]), row
        assert row[3] == t["role"].replace("_", " "), row
