"""Model your own area: write ``conf/site/NAME.yaml`` from NHS Digital registration files.

    python -m sim site-from-csv --patients FILE [FILE ...] --localities FILE --name NAME
        [--title TEXT] [--overrides FILE] [--open HH:MM] [--close HH:MM]
        [--only-mapped] [--force] [--conf-dir DIR]

Inputs (CSV; column names are matched ignoring case, spaces and hyphens):

* ``--patients``: NHS Digital, *Patients Registered at a GP Practice*, either the five-year file
  (``gp-reg-pat-prac-quin-age.csv``: ``ORG_CODE``, ``SEX``, ``AGE_GROUP_5``,
  ``NUMBER_OF_PATIENTS``) or the single-year files (``gp-reg-pat-prac-sing-age-male.csv`` and
  ``-female.csv``: ``ORG_CODE``, ``SEX``, ``AGE``, ``NUMBER_OF_PATIENTS``), detected by their
  columns. Ages are summed into the model's bands (5-14 = 5_9 + 10_14, ...). ``SEX=ALL`` rows
  are used when a practice has them, otherwise ``MALE`` + ``FEMALE``. ``ALL`` age rows only
  cross-check the totals (a warning when they differ by more than 1%).
* ``--localities``: ``PRACTICE_CODE`` and ``LOCALITY`` (or ``PCN_NAME``), optional
  ``PRACTICE_NAME`` and ``LOCALITY_NAME``; other columns are ignored, so a filtered copy of the
  publication's practice mapping file can be used as it is.
* ``--overrides`` (optional): ``PRACTICE_CODE`` and any of ``GP_FTE``, ``NURSE_FTE``,
  ``PHARMACIST_FTE`` (whole-time equivalents) or ``GP_SESSIONS``, ``NURSE_SESSIONS``,
  ``PHARMACIST_SESSIONS`` (clinical sessions a week, turned into FTE at 9 sessions per FTE);
  a blank cell keeps the default. Opening hours are site-wide in the model: ``--open`` and
  ``--close`` set them.

Capacity is not in the registration files, so it defaults to the North Durham site's values
(``conf/site/north_durham.yaml``, from ``docs/calibration_sources.md``): per-1,000 rates are copied,
absolute ones (A&E clinicians, IC+ places, rapid assessment clinics) are scaled by registered
population. Each value is written with a comment giving its source so a planner can edit it.

A mistake in an input prints one line, ``Input error: <file>: <what> (<rule>)``, and exits 2.
Success prints a summary and, as its last line, the path of the YAML written. The file is
written atomically and validated against the site schema first.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import json
import math
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim.config.schema import AGE_BANDS, FIRST_OLDER_BAND, WEEKDAYS, ConfigError

EXIT_INPUT_ERROR = 2

# --------------------------------------------------------------------------------------------
# The reference site: capacity defaults are read from its YAML, with their source comments
# --------------------------------------------------------------------------------------------

#: Clinical sessions a week of one whole-time equivalent, turning ``*_SESSIONS`` overrides into
#: FTE (the sessions of a 37.5-hour week [D]).
SESSIONS_PER_FTE_WEEK = 9
DEFAULT_OPEN_MINUTE = 480  # 08:00, GMS core hours
DEFAULT_CLOSE_MINUTE = 1110  # 18:30
#: Sections written from the registrations and the options (not copied from the reference).
REGENERATED = ("name", "title", "age_share", "localities", "practices", "core_hours")
#: Absolute capacities of sections that are not (yet) registered services, scaled by
#: registered population; registered services declare theirs (``Service.site_scaled``).
SITE_SCALED = (
    "intermediate_care.places",
    "emergency_department.minors_clinicians_by_hour",
    "emergency_department.majors_clinicians_by_hour",
    "emergency_department.majors_spaces",
    "emergency_department.sdec.spaces",
    "acute_beds.general_and_acute",
    "acute_beds.background_admissions_per_week",
    "acute_beds.escalation_spaces",
    "social_care.places",
)

#: Lower age of each model band after the first (0-4 | 5-14 | 15-24 | ... | 85+).
BAND_STARTS = (5, 15, 25, 45, 65, 75, 85)
STAFF = ("gp", "nurse", "pharmacist")
SEXES = ("ALL", "MALE", "FEMALE")
CODE_COLUMNS = ("ORG_CODE", "CODE", "PRACTICE_CODE")
SHARE_UNITS = 10_000  # age shares are written to 4 decimal places
NAME_RULE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
CODE_RULE = re.compile(r"[A-Z0-9][A-Z0-9_]*")
PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


#: Longest site name: it becomes a file name, and run folders' names include it.
MAX_NAME_LENGTH = 64


class InputError(Exception):
    """A mistake in an input file or option: the file (or option), what is wrong, the rule."""

    def __init__(self, file: str, what: str, rule: str):
        self.file, self.what, self.rule = str(file), what, rule
        super().__init__(f"{self.file}: {what} ({rule})")


# --------------------------------------------------------------------------------------------
# Reading CSV files
# --------------------------------------------------------------------------------------------


def _norm_column(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip()).upper()


def _encoding(path: Path) -> str:
    """UTF-8 (a byte-order mark allowed) if the whole file decodes as UTF-8, else the Windows
    code page spreadsheets on Windows save "CSV" in. Read in chunks: a 100 MB registration
    file is never held in memory."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except FileNotFoundError:
        raise InputError(str(path), "file not found", "check the path") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a folder, not a file", "give the CSV file") from None
    except UnicodeDecodeError:
        return "cp1252"
    except OSError as err:
        raise InputError(str(path), f"cannot be read: {err.strerror}", "check the file") from None
    return "utf-8-sig"


class Rows:
    """The data rows of a CSV file as ``(line number, {column: text})``, read from disk each
    time they are iterated rather than held in memory. Blank lines are skipped."""

    def __init__(self, path: Path, columns: list[str], encoding: str):
        self.path, self.columns, self.encoding = path, columns, encoding

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        columns = self.columns
        with open(self.path, encoding=self.encoding, errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            try:
                next(reader, None)  # the header
                for cells in reader:
                    if not any(c.strip() for c in cells):
                        continue  # blank lines left by spreadsheets
                    yield (
                        reader.line_num,
                        {
                            col: (cells[i].strip() if i < len(cells) else "")
                            for i, col in enumerate(columns)
                        },
                    )
            except csv.Error as err:
                raise InputError(
                    str(self.path),
                    f"row {reader.line_num}: not valid CSV ({err})",
                    "save it as CSV",
                ) from None

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None


@dataclass
class Table:
    """A CSV file: its path, normalised column names and data rows with their line numbers."""

    path: Path
    columns: list[str]
    rows: Iterable[tuple[int, dict[str, str]]]

    def need(self, *alternatives: str, what: str | None = None) -> str:
        """The first of ``alternatives`` present, or an error naming the missing column."""
        for name in alternatives:
            if name in self.columns:
                return name
        wanted = what or " or ".join(alternatives)
        raise InputError(
            str(self.path),
            f"missing column {wanted}",
            f"the file's columns are {', '.join(self.columns) or 'none'}",
        )


def read_table(path: Path) -> Table:
    encoding = _encoding(path)
    try:
        with open(path, encoding=encoding, errors="replace", newline="") as fh:
            header = next(csv.reader(fh))
    except StopIteration:
        raise InputError(str(path), "the file is empty", "a CSV file with a header row") from None
    except csv.Error as err:
        raise InputError(str(path), f"not a CSV file ({err})", "save it as CSV") from None
    except OSError as err:
        raise InputError(str(path), f"cannot be read: {err.strerror}", "check the file") from None
    columns = [_norm_column(c) for c in header]
    seen: set[str] = set()
    for c in columns:
        if c and c in seen:
            raise InputError(str(path), f"column {c} appears twice", "each column once")
        seen.add(c)
    return Table(path, columns, Rows(path, columns, encoding))


def _at(line: int, column: str) -> str:
    return f"row {line}, column {column}"


def _count(table: Table, line: int, column: str, text: str) -> int:
    """A patient count: a whole number >= 0."""
    cleaned = text.replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        value = math.nan
    if cleaned == "" or not math.isfinite(value) or not value.is_integer():
        raise InputError(
            str(table.path),
            f"{_at(line, column)}: {text!r} is not a count",
            "counts must be whole numbers >= 0",
        )
    if value < 0:
        raise InputError(
            str(table.path),
            f"{_at(line, column)}: negative count {text}",
            "counts must be whole numbers >= 0",
        )
    return int(value)


def _practice_code(table: Table, line: int, column: str, text: str) -> str:
    code = text.strip().upper()
    if not code:
        raise InputError(str(table.path), f"{_at(line, column)}: empty", "every row needs a code")
    if not CODE_RULE.fullmatch(code):
        raise InputError(
            str(table.path),
            f"{_at(line, column)}: {text!r} is not a practice code",
            "practice codes are letters and digits, e.g. A81001",
        )
    return code


# --------------------------------------------------------------------------------------------
# Registrations: age bands
# --------------------------------------------------------------------------------------------


def _band_of_age(age: int) -> int:
    band = 0
    for start in BAND_STARTS:
        if age >= start:
            band += 1
    return band


def parse_age(label: str, five_year: bool) -> int | None:
    """Model band index of a published age label; None for the ``ALL`` total.

    Five-year labels are ``0_4`` ... ``90_94`` and ``95+`` (``0-4`` is accepted too);
    single-year labels are ``0`` ... ``94`` and ``95+``. Raises ValueError otherwise.
    """
    text = label.strip().upper()
    if text == "ALL":
        return None
    open_ended = re.fullmatch(r"(\d+)\s*\+", text)
    if open_ended:
        lo = int(open_ended.group(1))
        if lo < BAND_STARTS[-1]:
            raise ValueError(label)  # e.g. 60+ would span several model bands
        return _band_of_age(lo)
    if five_year:
        group = re.fullmatch(r"(\d+)\s*[_\-]\s*(\d+)", text)
        if not group:
            raise ValueError(label)
        lo, hi = int(group.group(1)), int(group.group(2))
        if lo % 5 or hi != lo + 4 or _band_of_age(lo) != _band_of_age(hi):
            raise ValueError(label)
        return _band_of_age(lo)
    if not re.fullmatch(r"\d+", text):
        raise ValueError(label)
    return _band_of_age(int(text))


@dataclass
class PracticeCounts:
    bands: dict[str, list[int]] = field(default_factory=dict)  # sex -> 8 band counts
    totals: dict[str, int] = field(default_factory=dict)  # sex -> the ALL age row


@dataclass
class Registrations:
    """Per practice: patients by model age band, and the files they came from."""

    files: list[Path]
    kind: str  # "five-year" or "single-year"
    extract_dates: list[str]
    bands: dict[str, list[int]]  # practice code -> counts by AGE_BANDS
    warnings: list[str]

    @property
    def label(self) -> str:
        return ", ".join(str(f) for f in self.files)


def read_registrations(paths: Sequence[Path], keep: set[str] | None = None) -> Registrations:
    """Read one or more registration files; ``keep`` limits them to these practice codes."""
    raw: dict[str, PracticeCounts] = {}
    # (code, sex, age) -> (file index, line), as one string and one int: a file of every
    # practice in England has over a million rows.
    seen: dict[str, int] = {}
    kinds: dict[str, Path] = {}
    dates: dict[str, Path] = {}
    sexes_seen: set[str] = set()
    given: dict[Path, int] = {}
    for index, path in enumerate(paths):
        if Path(path).resolve() in given:
            raise InputError(str(path), "given twice after --patients", "give each file once")
        given[Path(path).resolve()] = index
        table = read_table(path)
        code_col = table.need(*CODE_COLUMNS, what="ORG_CODE (the practice code)")
        sex_col = table.need("SEX")
        count_col = table.need("NUMBER_OF_PATIENTS")
        age_col = table.need(
            "AGE_GROUP_5", "AGE", what="AGE_GROUP_5 (five-year file) or AGE (single-year file)"
        )
        five_year = age_col == "AGE_GROUP_5"
        kinds.setdefault("five-year" if five_year else "single-year", path)
        if len(kinds) > 1:
            raise InputError(
                str(path),
                "five-year and single-year files given together",
                "use one format: the quin-age file, or both single-year files (male and female)",
            )
        file_dates = {values.get("EXTRACT_DATE", "") for _, values in table.rows} - {""}
        for d in file_dates:
            dates.setdefault(d, path)
        if len(dates) > 1:
            raise InputError(
                str(path),
                f"more than one extract date ({', '.join(sorted(dates))})",
                "use the files of a single month",
            )
        any_age_rows = False
        for line, values in table.rows:
            code = _practice_code(table, line, code_col, values[code_col])
            if keep is not None and code not in keep:
                continue
            sex = values[sex_col].upper()
            if sex not in SEXES:
                raise InputError(
                    str(path),
                    f"{_at(line, sex_col)}: {values[sex_col]!r} is not a sex",
                    "SEX must be MALE, FEMALE or ALL",
                )
            try:
                band = parse_age(values[age_col], five_year)
            except ValueError:
                example = (
                    "0_4, 5_9, ..., 90_94, 95+ or ALL" if five_year else "0 ... 94, 95+ or ALL"
                )
                raise InputError(
                    str(path),
                    f"{_at(line, age_col)}: {values[age_col]!r} is not an age group",
                    f"{age_col} must be one of {example}",
                ) from None
            count = _count(table, line, count_col, values[count_col])
            key = f"{code}|{sex}|{values[age_col].strip().upper().replace('-', '_')}"
            if key in seen:
                first_index, first_line = divmod(seen[key], 1 << 32)
                where = f"row {first_line}"
                if first_index != index:
                    where += f" of {paths[first_index]}"
                raise InputError(
                    str(path),
                    f"row {line} repeats {where} ({code}, SEX {sex}, {age_col} {values[age_col]})",
                    "each practice, sex and age appears once: is a file given twice?",
                )
            seen[key] = (index << 32) + line
            practice = raw.setdefault(code, PracticeCounts())
            if band is None:
                practice.totals[sex] = count
            else:
                any_age_rows = True
                sexes_seen.add(sex)
                practice.bands.setdefault(sex, [0] * len(AGE_BANDS))[band] += count
        if table.rows and not any_age_rows and (keep is None or raw):
            raise InputError(
                str(path),
                "no age breakdown (every row is an ALL age total)",
                "use the five-year file (gp-reg-pat-prac-quin-age.csv) or the single-year files",
            )
    label = ", ".join(str(p) for p in paths)
    bands: dict[str, list[int]] = {}
    warnings: list[str] = []
    for code, practice in raw.items():
        if "ALL" in practice.bands:
            counts, reported = practice.bands["ALL"], practice.totals.get("ALL")
        elif "MALE" in practice.bands and "FEMALE" in practice.bands:
            counts = [
                m + f for m, f in zip(practice.bands["MALE"], practice.bands["FEMALE"], strict=True)
            ]
            both = ("MALE" in practice.totals) and ("FEMALE" in practice.totals)
            reported = practice.totals["MALE"] + practice.totals["FEMALE"] if both else None
        elif practice.bands:
            have = next(iter(practice.bands))
            lacking = "FEMALE" if have == "MALE" else "MALE"
            hint = (
                "the single-year publication has one file per sex: pass both after --patients"
                if sexes_seen <= {have}
                else "each practice needs SEX=ALL rows or both MALE and FEMALE rows"
            )
            raise InputError(label, f"practice {code} has {have} rows but no {lacking} rows", hint)
        else:
            raise InputError(
                label,
                f"practice {code} has only ALL age totals, no age breakdown",
                "each practice needs rows by age group",
            )
        total = sum(counts)
        if reported is not None and abs(total - reported) > 0.01 * max(reported, 1):
            warnings.append(
                f"Warning: {label}: practice {code}: age groups sum to {total:,} but the ALL row "
                f"says {reported:,} ({abs(total - reported) / max(reported, 1):.1%} apart; the "
                "list size uses the age groups)"
            )
        bands[code] = counts
    return Registrations(
        list(paths), next(iter(kinds), "five-year"), sorted(dates), bands, warnings
    )


# --------------------------------------------------------------------------------------------
# Localities and overrides
# --------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """A YAML/Hydra-friendly key: lower case letters, digits and underscores."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if key and key[0].isdigit():
        key = f"loc_{key}"
    return key


@dataclass
class MappedPractice:
    code: str
    name: str
    locality: str  # key
    line: int


@dataclass
class Mapping:
    path: Path
    practices: dict[str, MappedPractice]  # code -> practice, in file order
    localities: dict[str, str]  # key -> title, in order of first appearance


def _printable(ch: str) -> bool:
    """Whether YAML (and so a site file) can hold this character (YAML 1.1, 5.1)."""
    c = ord(ch)
    return (
        ch in "\t\n\r"
        or 0x20 <= c <= 0x7E
        or c == 0x85
        or 0xA0 <= c <= 0xD7FF
        or 0xE000 <= c <= 0xFFFD
        or 0x10000 <= c <= 0x10FFFF
    )


def _check_text(path: Path, what: str, text: str) -> str:
    bad = next((ch for ch in text if not _printable(ch)), None)
    if bad is not None:
        raise InputError(
            str(path),
            f"{what} {text!r} contains the character U+{ord(bad):04X}",
            "names must be printable text; a control character usually means the file was "
            "saved in another encoding (save it as UTF-8 CSV)",
        )
    if "${" in text or text.strip() == "???":
        raise InputError(
            str(path),
            f"{what} {text!r} contains '${{' or is '???'",
            "the configuration reads these as references",
        )
    return text


def read_localities(path: Path) -> Mapping:
    table = read_table(path)
    code_col = table.need("PRACTICE_CODE", "ORG_CODE", "CODE", what="PRACTICE_CODE")
    loc_col = table.need("LOCALITY", "PCN_NAME", what="LOCALITY (or PCN_NAME)")
    name_col = "PRACTICE_NAME" if "PRACTICE_NAME" in table.columns else None
    title_col = "LOCALITY_NAME" if "LOCALITY_NAME" in table.columns else None
    practices: dict[str, MappedPractice] = {}
    raw_of_key: dict[str, str] = {}
    titles: dict[str, str] = {}  # key -> title, in order of first appearance
    named: dict[str, str] = {}  # key -> LOCALITY_NAME given
    for line, values in table.rows:
        code = _practice_code(table, line, code_col, values[code_col])
        if code in practices:
            raise InputError(
                str(path),
                f"row {line}: practice {code} is listed again "
                f"(first at row {practices[code].line})",
                "each practice belongs to one locality",
            )
        raw_loc = values[loc_col]
        if not raw_loc:
            raise InputError(
                str(path),
                f"row {line}: practice {code} has no locality ({loc_col} is empty)",
                "every practice needs a locality or PCN",
            )
        key = slug(raw_loc)
        if not key:
            raise InputError(
                str(path),
                f"row {line}, column {loc_col}: {raw_loc!r} has no letters or digits",
                "name each locality with letters and digits",
            )
        if key in raw_of_key and raw_of_key[key] != raw_loc:
            raise InputError(
                str(path),
                f"row {line}: localities {raw_of_key[key]!r} and {raw_loc!r} both become {key}",
                "locality names must differ by more than case and punctuation",
            )
        raw_of_key[key] = raw_loc
        title = values[title_col] if title_col else ""
        if title:
            if key in named and named[key] != title:
                raise InputError(
                    str(path),
                    f"row {line}: locality {raw_loc!r} is called {named[key]!r} and {title!r}",
                    "give each locality one LOCALITY_NAME",
                )
            named[key] = titles[key] = _check_text(path, "locality name", title)
        elif key not in titles:
            # No name given: the locality as written, or tidied if it is already a key
            titles[key] = raw_loc.replace("_", " ").title() if raw_loc == key else raw_loc
            _check_text(path, "locality", raw_loc)
        name = values[name_col] if name_col and values[name_col] else code
        practices[code] = MappedPractice(code, _check_text(path, "practice name", name), key, line)
    if not practices:
        raise InputError(str(path), "no practices listed", "one row per practice")
    return Mapping(path, practices, titles)


OVERRIDE_COLUMNS = tuple(f"{s.upper()}_{u}" for s in STAFF for u in ("FTE", "SESSIONS"))
IGNORED_OVERRIDE_COLUMNS = ("PRACTICE_NAME", "NOTE", "NOTES", "COMMENT", "COMMENTS")


def read_overrides(path: Path, mapping: Mapping) -> dict[str, dict[str, float]]:
    """Per practice code: ``{"gp_fte": 5.5, ...}`` for the cells filled in; sessions a week
    become FTE at :data:`SESSIONS_PER_FTE_WEEK`."""
    table = read_table(path)
    code_col = table.need("PRACTICE_CODE", "ORG_CODE", "CODE", what="PRACTICE_CODE")
    allowed = {code_col, *OVERRIDE_COLUMNS, *IGNORED_OVERRIDE_COLUMNS}
    for col in table.columns:
        if col in allowed or not col:
            continue
        if re.search(r"OPEN|CLOS|HOUR", col):
            raise InputError(
                str(path),
                f"column {col}: opening hours cannot be set per practice",
                "core hours are site-wide in the model: use --open HH:MM --close HH:MM",
            )
        raise InputError(
            str(path),
            f"unknown column {col}",
            f"expected PRACTICE_CODE and any of {', '.join(OVERRIDE_COLUMNS)}",
        )
    if not any(c in table.columns for c in OVERRIDE_COLUMNS):
        raise InputError(
            str(path),
            "no override columns",
            f"expected PRACTICE_CODE and any of {', '.join(OVERRIDE_COLUMNS)}",
        )
    out: dict[str, dict[str, float]] = {}
    lines: dict[str, int] = {}
    unknown: list[str] = []
    for line, values in table.rows:
        code = _practice_code(table, line, code_col, values[code_col])
        if code in lines:
            raise InputError(
                str(path),
                f"row {line}: practice {code} is listed again (first at row {lines[code]})",
                "one row per practice",
            )
        lines[code] = line
        if code not in mapping.practices:
            unknown.append(code)
            continue
        row: dict[str, float] = {}
        for staff in STAFF:
            given = {}
            for unit in ("FTE", "SESSIONS"):
                col = f"{staff.upper()}_{unit}"
                text = values.get(col, "")
                if text == "":
                    continue
                try:
                    value = float(text)
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    raise InputError(
                        str(path),
                        f"row {line}, column {col}: {text!r} is not a number",
                        "a number >= 0, or blank for the default",
                    )
                if value < 0:
                    raise InputError(
                        str(path),
                        f"row {line}, column {col}: negative value {text}",
                        "a number >= 0, or blank for the default",
                    )
                given[unit] = value
            if len(given) == 2:
                raise InputError(
                    str(path),
                    f"row {line}: both {staff.upper()}_FTE and {staff.upper()}_SESSIONS filled in",
                    "give one of the two for each staff type",
                )
            if "FTE" in given:
                row[f"{staff}_fte"] = given["FTE"]
            elif "SESSIONS" in given:
                row[f"{staff}_fte"] = round(given["SESSIONS"] / SESSIONS_PER_FTE_WEEK, 3)
        if row:
            out[code] = row
    if unknown:
        raise InputError(
            str(path),
            f"unknown practice code{'s' if len(unknown) > 1 else ''} {_list(unknown)}",
            f"every PRACTICE_CODE must be in the locality file {mapping.path}",
        )
    return out


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def _list(codes: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(codes[:limit])
    return shown if len(codes) <= limit else f"{shown} and {len(codes) - limit:,} more"


# --------------------------------------------------------------------------------------------
# Putting the site together
# --------------------------------------------------------------------------------------------


def rounded_shares(counts: Sequence[int]) -> list[int]:
    """Shares of ``counts`` in units of 1/10,000 summing to exactly 10,000 (largest remainder),
    so each written share is within 0.0001 of the exact one and they sum to 1."""
    total = sum(counts)
    exact = [c * SHARE_UNITS / total for c in counts]
    units = [math.floor(x) for x in exact]
    short = SHARE_UNITS - sum(units)
    order = sorted(range(len(counts)), key=lambda i: (units[i] - exact[i], i))
    for i in order[:short]:
        units[i] += 1
    return units


def share_65plus(counts: Sequence[int]) -> float:
    return sum(counts[FIRST_OLDER_BAND:]) / sum(counts)


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


_TOP_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):")


@dataclass
class Reference:
    """The site a new area's capacity defaults are copied from: its YAML text, cut into
    top-level sections (each with the comment lines just above it), and its values."""

    path: Path
    data: dict
    header: list[str]  # comment lines before the first section
    sections: dict[str, list[str]]  # top-level key -> its lines, in file order

    @property
    def list_size(self) -> int:
        return sum(p["list_size"] for p in self.data["practices"].values())

    @property
    def label(self) -> str:
        return self.path.stem


def read_reference(path: Path) -> Reference:
    """Read and cut the reference site file (``conf/site/north_durham.yaml`` by default)."""
    import yaml

    text = path.read_text(encoding="utf-8")
    header: list[str] = []
    sections: dict[str, list[str]] = {}
    pending: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        top = _TOP_KEY.match(line)
        if top:
            current = sections[top.group(1)] = pending + [line]
            pending = []
        elif line.startswith((" ", "\t")) and current is not None:
            current.extend(pending + [line])
            pending = []
        elif current is None and line.startswith("#"):
            header.append(line)
        else:  # a comment or blank line at the margin: it introduces the next section
            pending.append(line)
    return Reference(path, yaml.safe_load(text), header, sections)


def default_reference() -> Reference:
    from sim.config.locations import CONF_DIR

    return read_reference(CONF_DIR / "site" / "north_durham.yaml")


def _scaled_keys() -> tuple[str, ...]:
    from sim.services.catalogue import SERVICES

    return SITE_SCALED + tuple(key for s in SERVICES for key in s.site_scaled)


@dataclass
class SitePlan:
    """Everything the YAML is written from."""

    name: str
    title: str
    registrations: Registrations
    mapping: Mapping
    overrides: dict[str, dict[str, float]]
    overrides_path: Path | None
    open_minute: int
    close_minute: int
    hours_given: bool
    # looked up when a plan is made, so tests can give another reference
    reference: Reference = field(default_factory=lambda: default_reference())

    @property
    def total(self) -> int:
        return sum(sum(self.registrations.bands[c]) for c in self.mapping.practices)

    @property
    def scale(self) -> float:
        return self.total / self.reference.list_size

    def scaled(self, value: int) -> int:
        """An absolute capacity of the reference for this area: scaled by population,
        rounded, at least 1 (a capacity of 0, a service not commissioned, stays 0)."""
        return max(1, _round_half_up(value * self.scale)) if value > 0 else 0

    def locality_counts(self, key: str) -> list[int]:
        out = [0] * len(AGE_BANDS)
        for p in self.mapping.practices.values():
            if p.locality == key:
                out = [a + b for a, b in zip(out, self.registrations.bands[p.code], strict=True)]
        return out

    def site_counts(self) -> list[int]:
        out = [0] * len(AGE_BANDS)
        for key in self.mapping.localities:
            out = [a + b for a, b in zip(out, self.locality_counts(key), strict=True)]
        return out

    def ic_places(self) -> int:
        return self.scaled(self.reference.data["intermediate_care"]["places"])

    def rac_sessions(self) -> int:
        """Clinic sessions a weekday at the one clinic written: the reference's clinics on
        its busiest weekday, scaled."""
        sites = self.reference.data["rapid_assessment"]["sites"].values()
        busiest = max(sum(s["sessions_per_weekday"].get(d, 0) for s in sites) for d in WEEKDAYS)
        return self.scaled(busiest)


def match_practices(registrations: Registrations, mapping: Mapping) -> None:
    """Every registered practice has a locality, and every mapped practice has patients."""
    unmapped = [c for c in registrations.bands if c not in mapping.practices]
    if unmapped:
        raise InputError(
            str(mapping.path),
            f"{len(unmapped):,} practice{'s' if len(unmapped) > 1 else ''} in the patients file "
            f"{'have' if len(unmapped) > 1 else 'has'} no locality: {_list(unmapped)}",
            "every practice in the patients file needs a row here; or pass --only-mapped to keep "
            "just the practices this file lists",
        )
    missing = [c for c in mapping.practices if c not in registrations.bands]
    if missing:
        raise InputError(
            str(mapping.path),
            f"unknown practice code{'s' if len(missing) > 1 else ''} {_list(missing)}: "
            f"no patients in {registrations.label}",
            "every practice listed needs registrations; check the codes and the month",
        )
    empty = [c for c in mapping.practices if sum(registrations.bands[c]) == 0]
    if empty:
        raise InputError(
            registrations.label,
            f"practice{'s' if len(empty) > 1 else ''} {_list(empty)} "
            f"{'have' if len(empty) > 1 else 'has'} no registered patients",
            "remove closed practices from the locality file",
        )


def _key(key: str) -> str:
    return key if PLAIN_KEY.fullmatch(key) and key.lower() not in YAML_WORDS else json.dumps(key)


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _shares(counts: Sequence[int], indent: int) -> str:
    units = rounded_shares(counts)
    items = [f"{band}: {u / SHARE_UNITS:.4f}" for band, u in zip(AGE_BANDS, units, strict=True)]
    return "{" + ", ".join(items[:5]) + ",\n" + " " * indent + ", ".join(items[5:]) + "}"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _pad(text: str, width: int = 35) -> str:
    return text.ljust(width - 1) + " " if len(text) < width else text + "  "


def render(plan: SitePlan) -> str:
    """The site YAML, as text so every value keeps its comment: the population from the
    registrations, every other section copied from the reference site with its source
    comments, absolute capacities scaled to this area's population."""
    ref = plan.reference
    reg = plan.registrations
    total, scale = plan.total, plan.scale
    n_loc, n_prac = len(plan.mapping.localities), len(plan.mapping.practices)
    extract = ", ".join(reg.extract_dates) or "date not given"
    files = ", ".join(Path(f).name for f in reg.files)
    over = Path(plan.overrides_path).name if plan.overrides_path else "none"
    lines = [
        f"# {plan.title}: {_n(n_loc, 'locality', 'localities')}, {_n(n_prac, 'practice')}, "
        f"{total:,} registered patients.",
        f"{MADE_HERE} (docs/own_area.md) from",
        f"#   registrations: {files}",
        f"#                  (NHS Digital, Patients Registered at a GP Practice; {reg.kind} ages;",
        f"#                  extract {extract})",
        f"#   localities:    {Path(plan.mapping.path).name}",
        f"#   overrides:     {over}",
        "# List sizes and age mixes are the registration counts [registrations]. Capacity is not",
        f"# in those files: every capacity value below is a DEFAULT copied from the {ref.label}",
        f"# site (conf/site/{ref.path.name}, with its source comments), rates per 1,000 as they",
        f"# are and absolute numbers scaled by registered population ({total:,} / "
        f"{ref.list_size:,} = {scale:.3f}).",
        "# Edit them to match your area. Source keys refer to docs/sources.md; confidence codes:",
        "# V verified, V2 secondary, D derived, R recalled, P plausible assumption.",
    ]
    written = {
        "name": [f"name: {_key(plan.name)}"],
        "title": [f"title: {_text(plan.title)}"],
        "age_share": _age_share_lines(plan),
        "localities": _locality_lines(plan),
        "practices": _practice_lines(plan),
        "core_hours": _core_hours_lines(plan),
        # The reference's own area only: another area's projections and closures differ.
        "population_index": [
            "",
            "# Registered patients by age band in programme years 1, 2, ... relative to year 1:",
            "# none given (no change). Fill in from the ONS subnational population projections",
            "# for your local authority (docs/data/README.md shows how) [SNPP22]. A locality or",
            "# practice growing differently takes its own population_index under",
            "# localities.<name> or practices.<code> (only the bands that differ, same years)",
            "population_index: {" + ", ".join(f"{b}: [1.0]" for b in AGE_BANDS) + "}",
        ],
        "protected_learning_time": [
            "",
            "# Your practices' monthly training closure, if any, e.g. {weekday: thu,",
            "# week_of_month: 3, closes_minute: 720} (the North Durham plan) [NDPCS]",
            "protected_learning_time: null",
        ],
    }
    scaled = _scaled_keys()
    for key, section in ref.sections.items():
        if key in written:
            lines += written.pop(key)
            continue
        section = list(section)
        if key == "rapid_assessment":
            section = _one_clinic(plan, section)
        for dotted in scaled:
            first, *path = dotted.split(".")
            if first == key:
                section = _scale_value(plan, section, path, dotted)
        lines += [_rename(plan, key, line) for line in section]
    for rest in written.values():  # sections the reference lacks (it has them all)
        lines += [""] + rest
    return "\n".join(lines) + "\n"


def _age_share_lines(plan: SitePlan) -> list[str]:
    counts = plan.site_counts()
    return [
        "",
        f"# Age mix of the registered lists, all practices; 65+ {share_65plus(counts):.1%} "
        "[registrations]",
        f"age_share: {_shares(counts, 12)}",
    ]


def _locality_lines(plan: SitePlan) -> list[str]:
    lines = ["", "localities:"]
    for key, title in plan.mapping.localities.items():
        counts = plan.locality_counts(key)
        n = sum(1 for p in plan.mapping.practices.values() if p.locality == key)
        lines += [
            f"  {_key(key)}:",
            f"    {_pad('title: ' + _text(title), 33)}# {_n(n, 'practice')}, "
            f"{sum(counts):,} patients",
            f"    age_share: {_shares(counts, 16)}   # [registrations]",
        ]
    return lines


def _practice_lines(plan: SitePlan) -> list[str]:
    over = Path(plan.overrides_path).name if plan.overrides_path else "none"
    capacity = plan.reference.data["practice_capacity"]
    lines = [
        "",
        "practices:   # list sizes and age mixes from the registrations; FTE only where overridden",
    ]
    for key in plan.mapping.localities:
        for p in plan.mapping.practices.values():
            if p.locality != key:
                continue
            counts = plan.registrations.bands[p.code]
            lines += [
                f"  {_key(p.code)}:",
                f"    name: {_text(p.name)}",
                f"    locality: {_key(p.locality)}",
                f"    list_size: {sum(counts)}",
                f"    age_share: {_shares(counts, 16)}",
            ]
            for staff in STAFF:
                value = plan.overrides.get(p.code, {}).get(f"{staff}_fte")
                if value is not None:
                    rate = capacity[staff]["fte_per_1000"]
                    default = rate * sum(counts) / 1000
                    lines.append(
                        f"    {_pad(f'{staff}_fte: {value:g}', 31)}# {over} (default "
                        f"{rate:g} per 1,000 = {default:.2f})"
                    )
    return lines


def _core_hours_lines(plan: SitePlan) -> list[str]:
    if plan.hours_given:
        comment = (
            f"set with --open/--close to {_hhmm(plan.open_minute)}-{_hhmm(plan.close_minute)}; "
            "GMS contract core hours are 08:00-18:30 [GMS]"
        )
    else:
        comment = "GMS contract core hours Mon-Fri 08:00-18:30 [GMS]"
    return [
        "",
        f"core_hours:                        # {comment}",
        f"  {_pad(f'open_minute: {plan.open_minute}', 33)}# {_hhmm(plan.open_minute)}",
        f"  {_pad(f'close_minute: {plan.close_minute}', 33)}# {_hhmm(plan.close_minute)}",
        "  weekdays: [mon, tue, wed, thu, fri]",
    ]


_KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):\s*([^#]*?)\s*(#.*)?$")


def _scale_value(plan: SitePlan, section: list[str], path: list[str], dotted: str) -> list[str]:
    """``section`` with the number (or list of numbers) at ``path`` scaled to the area."""
    depth, indent = 0, -1
    out = list(section)
    for n, line in enumerate(section):
        m = _KEY_LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        here = len(m.group(1))
        if here <= indent:  # left the entry matched so far
            return out
        if m.group(2) != path[depth] or here == 0:
            continue
        if depth < len(path) - 1:
            depth, indent = depth + 1, here
            continue
        value = plan.reference.data
        for part in dotted.split("."):
            value = value[part]
        if isinstance(value, list):
            new = "[" + ", ".join(str(plan.scaled(v)) for v in value) + "]"
        else:
            new = str(plan.scaled(value))
        was = m.group(4)[1:].strip() if m.group(4) else ""
        note = (
            f"# {plan.reference.label} {value if not isinstance(value, list) else 'rota'} per "
            f"{plan.reference.list_size:,}, x {plan.scale:.3f}, rounded, at least 1 [D]"
        )
        out[n] = f"{m.group(1)}{m.group(2)}: {new}   {note}" + (f"; there: {was}" if was else "")
        return out
    raise AssertionError(f"{dotted}: not found in the reference site file")


def _one_clinic(plan: SitePlan, section: list[str]) -> list[str]:
    """The reference's named clinic sites become one clinic to rename, with their combined
    weekday sessions scaled; its other settings and comments are the first site's."""
    first_site = next(iter(plan.reference.data["rapid_assessment"]["sites"]))
    out: list[str] = []
    in_sites, in_first = False, False
    for line in section:
        m = _KEY_LINE.match(line)
        indent = len(m.group(1)) if m else None
        if m and indent == 2:
            in_sites = m.group(2) == "sites"
        if in_sites and m and indent == 4:
            in_first = m.group(2) == first_site
            if in_first:
                out.append("    community_hospital:")
            continue
        if in_sites and indent == 4 and not m:
            continue
        if in_sites and not in_first and (m is None or indent > 4):
            continue
        if in_sites and in_first and m and m.group(2) == "title":
            out.append('      title: "Community hospital (rename to your clinic)"')
            continue
        if in_sites and in_first and m and m.group(2) == "sessions_per_weekday":
            k = plan.rac_sessions()
            days = ", ".join(f"{d}: {k if d in WEEKDAYS[:5] else 0}" for d in WEEKDAYS)
            out.append(
                f"      sessions_per_weekday: {{{days}}}   # {plan.reference.label} clinics "
                f"each weekday per {plan.reference.list_size:,}, x {plan.scale:.3f}, rounded, "
                "at least 1 [D]"
            )
            continue
        out.append(line)
    return out


def _rename(plan: SitePlan, section: str, line: str) -> str:
    """A title naming one of the reference's facilities becomes one to rename."""
    m = _KEY_LINE.match(line)
    if m and m.group(2) == "title" and len(m.group(1)) == 2:
        plain = section.replace("_", " ").capitalize()
        return f'  title: "{plain} (rename to yours)"'
    return line


def validate_text(text: str, path: Path) -> None:
    """Load the YAML as Hydra would and check it against the site schema."""
    from omegaconf import OmegaConf

    from sim.config.schema import Site, check_site, from_dict

    try:
        data = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
    except Exception as err:  # noqa: BLE001 - any reason the text is not a loadable site
        raise InputError(
            str(path), f"the site could not be written as YAML ({type(err).__name__})", str(err)
        ) from None
    try:
        check_site(from_dict(Site, data, "site"))
    except ConfigError as err:
        raise InputError(
            str(path), f"the site would be invalid: {err}", "see docs/own_area.md"
        ) from None


def hours_warnings(plan: SitePlan) -> list[str]:
    out = []
    if not plan.hours_given:
        return out
    ref = plan.reference.data
    for start, end in (
        (w["start_minute"], w["end_minute"]) for w in ref["practice_capacity"]["sessions"]
    ):
        if start < plan.open_minute or end > plan.close_minute:
            out.append(
                f"Warning: --open/--close: the practice session {_hhmm(start)}-{_hhmm(end)} lies "
                f"outside core hours {_hhmm(plan.open_minute)}-{_hhmm(plan.close_minute)}; edit "
                "practice_capacity.sessions"
            )
    hub_start = min(
        (w["start_minute"] for d in WEEKDAYS[:5] for w in ref["hubs"]["opening"].get(d) or []),
        default=24 * 60,
    )
    if plan.close_minute > hub_start:
        out.append(
            f"Warning: --close: hubs open at {_hhmm(hub_start)} on weekdays, before "
            f"practices close at {_hhmm(plan.close_minute)}; edit hubs.opening"
        )
    return out


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other input error
        print(
            f"Input error: command line: {message} (see python -m sim site-from-csv --help)",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_INPUT_ERROR)


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m sim site-from-csv",
        description=(
            "Write conf/site/NAME.yaml from NHS Digital 'Patients Registered at a GP Practice' "
            "files and a practice-to-locality mapping (see docs/own_area.md)."
        ),
    )
    parser.add_argument(
        "--patients",
        nargs="+",
        action="extend",
        required=True,
        type=Path,
        metavar="FILE",
        help="registrations by age: gp-reg-pat-prac-quin-age.csv, or both single-year files "
        "(male and female)",
    )
    parser.add_argument(
        "--localities",
        required=True,
        type=Path,
        metavar="FILE",
        help="PRACTICE_CODE, LOCALITY (or PCN_NAME), optional PRACTICE_NAME, LOCALITY_NAME",
    )
    parser.add_argument("--name", required=True, help="site name: letters, digits, underscores")
    parser.add_argument("--title", help="site title (default: from the name)")
    parser.add_argument(
        "--overrides",
        type=Path,
        metavar="FILE",
        help="per-practice GP_FTE, NURSE_FTE, PHARMACIST_FTE or *_SESSIONS (blank = default)",
    )
    parser.add_argument("--open", metavar="HH:MM", help="core hours open, all practices (08:00)")
    parser.add_argument("--close", metavar="HH:MM", help="core hours close, all practices (18:30)")
    parser.add_argument(
        "--only-mapped",
        action="store_true",
        help="keep only the practices in the locality file (for a national patients file)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing site file")
    parser.add_argument(
        "--conf-dir",
        type=Path,
        metavar="DIR",
        help="configuration folder to write site/NAME.yaml into (default: the working "
        "folder's conf/; in a clone, the repository's conf/)",
    )
    return parser


#: The comment render() writes at the top of every site file it makes.
MADE_HERE = "# Written by `python -m sim site-from-csv`"


def written_by_this_command(path: Path) -> bool:
    """Whether ``path`` is a site file this command wrote (its header says so): only such a
    file may be replaced with --force."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = [fh.readline() for _ in range(5)]
    except OSError:
        return False
    return any(line.startswith(MADE_HERE) for line in head)


def parse_time(option: str, text: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    minute = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not match or int(match.group(2)) > 59 or not 0 <= minute <= 1440:
        raise InputError(option, f"{text!r} is not a time of day", "use HH:MM, e.g. 08:00")
    return minute


def run(args: argparse.Namespace) -> tuple[Path, list[str], list[str]]:
    """Do the work; returns the path written, the summary lines and the warnings."""
    if not NAME_RULE.fullmatch(args.name) or len(args.name) > MAX_NAME_LENGTH:
        raise InputError(
            "--name",
            f"{args.name!r} is not a simple name",
            "letters, digits and underscores, starting with a letter, at most "
            f"{MAX_NAME_LENGTH} characters, e.g. my_area",
        )
    from sim.config.locations import CONF_DIR, USER_CONF_DIR

    # default: the working folder's conf/ (a clone's own conf/), never the installed package;
    # made when the file is written
    conf_dir = USER_CONF_DIR if args.conf_dir is None else args.conf_dir
    if args.conf_dir is not None and not conf_dir.is_dir():
        raise InputError("--conf-dir", f"{conf_dir} is not a folder", "give the conf/ folder")
    out_path = conf_dir / "site" / f"{args.name}.yaml"
    shipped = CONF_DIR / "site" / f"{args.name}.yaml"
    if conf_dir.resolve() != CONF_DIR.resolve() and shipped.exists():
        raise InputError(
            "--name", f"{args.name!r} is the name of a shipped site", "choose another --name"
        )
    if out_path.exists() and not args.force:
        raise InputError(
            str(out_path),
            "already exists",
            "pass --force to overwrite it, or choose another --name",
        )
    if out_path.exists() and not written_by_this_command(out_path):
        raise InputError(
            str(out_path),
            "already exists and was not written by this command (a shipped or hand-written site)",
            "it is never overwritten, even with --force: choose another --name",
        )
    open_minute = DEFAULT_OPEN_MINUTE if args.open is None else parse_time("--open", args.open)
    close_minute = DEFAULT_CLOSE_MINUTE if args.close is None else parse_time("--close", args.close)
    if close_minute <= open_minute:
        raise InputError(
            "--close",
            f"{_hhmm(close_minute)} is not after {_hhmm(open_minute)}",
            "practices must close after they open",
        )
    title = args.title if args.title else args.name.replace("_", " ").title()
    _check_text(Path("--title"), "title", title)

    mapping = read_localities(args.localities)
    keep = set(mapping.practices) if args.only_mapped else None
    registrations = read_registrations(args.patients, keep)
    match_practices(registrations, mapping)
    overrides = read_overrides(args.overrides, mapping) if args.overrides else {}
    plan = SitePlan(
        name=args.name,
        title=title,
        registrations=registrations,
        mapping=mapping,
        overrides=overrides,
        overrides_path=args.overrides,
        open_minute=open_minute,
        close_minute=close_minute,
        hours_given=args.open is not None or args.close is not None,
    )
    text = render(plan)
    validate_text(text, out_path)
    from sim.experiments.outputs import atomic_write_text

    try:
        atomic_write_text(out_path, text)
    except OSError as err:
        raise InputError(
            str(out_path), f"cannot be written: {err.strerror}", "check the folder"
        ) from None
    return out_path, summary(plan), registrations.warnings + hours_warnings(plan)


def summary(plan: SitePlan) -> list[str]:
    counts = plan.site_counts()
    lines = [
        f"Site {plan.name} ({plan.title}): {_n(len(plan.mapping.practices), 'practice')} in "
        f"{_n(len(plan.mapping.localities), 'locality', 'localities')}, "
        f"{plan.total:,} registered patients, "
        f"65+ share {share_65plus(counts):.1%}"
    ]
    for key, title in plan.mapping.localities.items():
        loc = plan.locality_counts(key)
        n = sum(1 for p in plan.mapping.practices.values() if p.locality == key)
        lines.append(
            f"  {key} ({title}): {_n(n, 'practice')}, {sum(loc):,} patients, "
            f"65+ {share_65plus(loc):.1%}"
        )
    if plan.overrides:
        lines.append(
            f"Staffing from {plan.overrides_path}: "
            f"{_n(len(plan.overrides), 'practice')} with FTE set"
        )
    ref = plan.reference.data
    lines += [
        f"Capacity defaults from {plan.reference.label}, scaled by {plan.total:,} / "
        f"{plan.reference.list_size:,} = "
        f"{plan.scale:.3f}: IC+ places {plan.ic_places()}, rapid assessment clinics "
        f"{plan.rac_sessions()} a weekday, A&E clinicians by hour, majors spaces "
        f"{plan.scaled(ref['emergency_department']['majors_spaces'])}, G&A beds "
        f"{plan.scaled(ref['acute_beds']['general_and_acute'])}, social care places "
        f"{plan.scaled(ref['social_care']['places'])}; rates per 1,000 copied. "
        "Edit them to match your area.",
        f"Run it: python -m sim site={plan.name}",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        path, lines, warnings = run(args)
    except InputError as err:
        print(f"Input error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    for w in warnings:
        print(w, file=sys.stderr)
    for line in lines:
        print(line)
    print(path.resolve())
    return 0
